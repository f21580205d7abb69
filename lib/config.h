/*
 * mailotp.conf: the one configuration file of mailotpd and mailotpctl.
 *
 * Format: "key value" lines; '#' starts a comment line; blank lines are
 * ignored; the value is the rest of the line with surrounding blanks
 * removed. Every key is known (an unknown key is an error), may appear at
 * most once, and is validated when the file is read. Errors name the file,
 * the line and the key: "/etc/mailotp/mailotp.conf:12: otp_digits: must be
 * an integer from 6 to 10".
 *
 * Secrets never sit in this file: *_file keys name files that are read
 * with mailotp_config_read_secret(), which refuses files that others can
 * read or write or that the group can write.
 */
#ifndef MAILOTP_CONFIG_H
#define MAILOTP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "mailotp/error.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef DATADIR
#define DATADIR "/usr/share/mailotp"
#endif

#define MAILOTP_CONFIG_PATH SYSCONFDIR "/mailotp/mailotp.conf"
#define MAILOTP_MAX_LDAP_URIS 8
#define MAILOTP_MAX_ALLOW 32

enum mailotp_tls_mode { MAILOTP_TLS_NO = 0, MAILOTP_TLS_AUTO, MAILOTP_TLS_YES };
enum mailotp_reset_mode { MAILOTP_RESET_LINK = 0, MAILOTP_RESET_TEMPORARY };
enum mailotp_request_fields { MAILOTP_FIELDS_EMAIL = 0, MAILOTP_FIELDS_REALM_USER_EMAIL };

struct mailotp_config {
	char *path; /* the file this was read from */

	/* LDAP */
	char *ldap_uri[MAILOTP_MAX_LDAP_URIS]; /* split on blanks, tried in order */
	size_t n_ldap_uri;
	bool ldap_starttls;     /* default no */
	char *ldap_ca_file;     /* NULL: system default */
	int ldap_timeout;       /* seconds, default 5, 1..300 */
	char *ldap_base;        /* required */
	char *ldap_user_filter; /* default "(&(objectClass=inetOrgPerson)(uid=%u))"; must contain %u */
	char *ldap_bind_dn;     /* required */
	char *ldap_bind_pw_file; /* required */
	char *ldap_mail_attr;   /* default "mail" */
	char *ldap_notify_attr; /* NULL: none */
	char *ldap_name_attr;   /* default "cn": the display name in mails and the policy */
	char *ldap_lang_attr;   /* default "preferredLanguage" */

	/* SMTP */
	char *smtp_url;         /* default "smtp://127.0.0.1:25"; smtp:// or smtps:// */
	enum mailotp_tls_mode smtp_starttls; /* default auto */
	char *smtp_user;        /* NULL: no AUTH */
	char *smtp_password_file; /* required when smtp_user is set */
	char *smtp_ca_file;     /* NULL: system default */
	int smtp_timeout;       /* seconds, default 10, 1..300 */
	char *mail_from;        /* required; an addr-spec */

	/* one-time codes */
	int otp_digits;          /* default 6, 6..10 */
	int otp_ttl;             /* seconds, default 300, 1..86400 */
	int otp_max_attempts;    /* default 3, 1..10 */
	int otp_resend_interval; /* seconds, default 60, 0..86400 */
	int otp_lockout_failures; /* default 10, 1..1000: wrong codes in a row, all hosts */
	int otp_lockout_time;    /* seconds, default 900, 1..604800 */

	/* reset */
	enum mailotp_reset_mode reset_mode; /* default link */
	int reset_ttl;           /* seconds, default 3600, 60..604800 */
	int invite_ttl;          /* seconds, default 604800, 60..2592000 */
		char *reset_public_url;  /* required when reset_listen is not "none"; http(s)://, no query/fragment */
	char *reset_login_url;   /* NULL: none; the login page the completion page links back to */
	char *reset_listen;      /* default "127.0.0.1:8080"; "HOST:PORT", "unix:PATH" or "none" */
	enum mailotp_request_fields reset_request_fields; /* default email */
	char *reset_realm_attr;  /* NULL: none; required when fields are realm,user,email */
	char *reset_trusted_proxies; /* NULL: none; blank-separated addresses whose X-Forwarded-For is believed */

	/* daemon */
	char *user;              /* default "mailotp" */
	char *pam_socket;        /* default "/run/mailotp/pam.sock"; absolute */
	uid_t pam_allow_uid[MAILOTP_MAX_ALLOW]; /* resolved at load */
	size_t n_pam_allow_uid;
	gid_t pam_allow_gid[MAILOTP_MAX_ALLOW];
	size_t n_pam_allow_gid;
	char *pam_allow;         /* the raw value, default "root" */
	int pam_max_clients;     /* default 64, 1..4096 */

	/* passwords */
	int password_min_length;  /* default 10, 8..1024 */
	int password_min_classes; /* default 3, 1..4 */
	char *password_denylist;  /* NULL: none; a readable file */
	unsigned long long password_hash_opslimit; /* argon2id t, default 2, 1..10 */
	size_t password_hash_memlimit;             /* bytes, key in KiB, default 19456 KiB, 8192..4194304 KiB */

	/* consent, language, templates */
	char *terms_file;         /* NULL: no consent step */
	char *terms_version;      /* NULL: the hash of terms_file is used */
	char *language;           /* default "en"; "en" or "ja" */
	char *template_dir;       /* default DATADIR "/templates" */
};

/*
 * Reads and validates the file at path. On success *out is a new config
 * (free with mailotp_config_free) and 0 is returned. On failure returns
 * MAILOTP_ERR_CONFIG (or MAILOTP_ERR_IO when the file cannot be read,
 * MAILOTP_ERR_NOMEM) and writes one line saying file, line, key and what
 * is wrong into err (always NUL-terminated when errlen > 0).
 * Checks done here: syntax, unknown and repeated keys, value ranges and
 * forms, required keys, keys that need each other, pam_allow names that
 * resolve. Not done here: the secret files (see mailotp_config_read_secret)
 * and the templates.
 */
int mailotp_config_load(const char *path, struct mailotp_config **out, char *err,
			size_t errlen) MAILOTP_MUST_CHECK;

/* Frees a config; NULL-safe. */
void mailotp_config_free(struct mailotp_config *cfg);

/*
 * Reads a secret file: the file must be a regular file that is not
 * readable or writable by others and not writable by its group, and at
 * most 4096 bytes. One trailing newline is dropped. *out is allocated with
 * sodium_malloc and must be released with mailotp_secret_free(). Returns 0,
 * MAILOTP_ERR_CONFIG (mode, size, empty, contains NUL/CR/LF inside) or
 * MAILOTP_ERR_IO, with the reason in err.
 */
int mailotp_config_read_secret(const char *path, char **out, char *err,
			       size_t errlen) MAILOTP_MUST_CHECK;

/* Wipes and frees a secret from mailotp_config_read_secret(); NULL-safe. */
void mailotp_secret_free(char *secret);

/* True when uid, or gid / one of the supplementary groups of uid, is allowed by pam_allow. */
bool mailotp_config_peer_allowed(const struct mailotp_config *cfg, uid_t uid, gid_t gid);

#endif /* MAILOTP_CONFIG_H */
