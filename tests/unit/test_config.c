/*
 * Unit tests of lib/config.c: the mailotp.conf parser, the secret file
 * reader and the pam_allow check. Every file lives in a mkdtemp directory
 * removed at the end.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char dir[64];

/* The required keys; error cases put their own lines before these. */
static const char *const base_lines[] = {
    "ldap_uri ldap://ldap.example.org",
    "ldap_base dc=example,dc=org",
    "ldap_bind_dn cn=mailotp,ou=services,dc=example,dc=org",
    "ldap_bind_pw_file /etc/mailotp/ldap.pw",
    "mail_from noreply@example.org",
    "reset_public_url https://reset.example.org/",
};

static char *path_of(const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	assert_non_null(p);
	snprintf(p, len, "%s/%s", dir, name);
	return p;
}

static char *write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	char *p = path_of(name);
	FILE *fp;

	unlink(p);
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	/* chmod, not the umask: the mode is what is under test */
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* extra lines first (so their line numbers are 1, 2, ...), then base_lines minus skip */
static char *make_conf(const char *extra, const char *skip)
{
	size_t i, cap = strlen(extra) + 1024, used;
	char *s = malloc(cap);

	assert_non_null(s);
	used = (size_t)snprintf(s, cap, "%s", extra);
	for (i = 0; i < sizeof(base_lines) / sizeof(base_lines[0]); i++) {
		if (skip != NULL && strncmp(base_lines[i], skip, strlen(skip)) == 0 &&
		    base_lines[i][strlen(skip)] == ' ')
			continue;
		used += (size_t)snprintf(s + used, cap - used, "%s\n", base_lines[i]);
	}
	return s;
}

static int load_text(const char *text, struct mailotp_config **cfg, char *err, size_t errlen,
                     char **pathp)
{
	char *p = write_file("mailotp.conf", text, strlen(text), 0640);
	int r = mailotp_config_load(p, cfg, err, errlen);

	if (pathp != NULL)
		*pathp = p;
	else
		free(p);
	return r;
}

/* Loads extra+base and checks rc and that the message starts "PATH:LINE: KEY:". */
static void expect_error(const char *extra, const char *skip, unsigned line, const char *key,
                         int rc)
{
	struct mailotp_config *cfg = (struct mailotp_config *)(uintptr_t)1;
	char err[512], want[512], *text = make_conf(extra, skip), *p = NULL;
	int r = load_text(text, &cfg, err, sizeof(err), &p);

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%u: %s: ", p, line, key);
	else
		snprintf(want, sizeof(want), "%s: %s: required key missing", p, key);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not begin with \"%s\"", err, want);
	if (r != rc)
		fail_msg("%s: returned %d, want %d", extra, r, rc);
	assert_null(cfg);
	free(p);
	free(text);
}

static int rm_tree(void **state)
{
	char cmd[128];

	(void)state;
	/* the names are all ours and the directory is from mkdtemp */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int make_tree(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_config.XXXXXX",
	         tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static void test_full(void **state)
{
	struct mailotp_config *cfg = NULL;
	char err[512], *p = NULL;
	const char *text =
	    "# a full file\n"
	    "ldap_uri ldaps://ldap1.example.org:636 ldap://ldap2.example.org ldapi:///\n"
	    "ldap_starttls yes\n"
	    "ldap_ca_file /etc/ssl/certs/ca.pem\n"
	    "ldap_timeout 7\n"
	    "ldap_base ou=people,dc=example,dc=org\n"
	    "ldap_user_filter (&(objectClass=inetOrgPerson)(mail=%u)(x=100%%))\n"
	    "ldap_bind_dn cn=mailotp,ou=services,dc=example,dc=org\n"
	    "ldap_bind_pw_file /etc/mailotp/ldap.pw\n"
	    "ldap_mail_attr mail\n"
	    "ldap_notify_attr proxyMail\n"
	    "ldap_name_attr displayName\n"
	    "ldap_lang_attr preferredLanguage\n"
	    "smtp_url smtps://mail.example.org:465\n"
	    "smtp_starttls yes\n"
	    "smtp_user mailotp\n"
	    "smtp_password_file /etc/mailotp/smtp.pw\n"
	    "smtp_ca_file /etc/ssl/certs/smtp-ca.pem\n"
	    "smtp_timeout 20\n"
	    "mail_from no-reply@example.org\n"
	    "otp_digits 8\n"
	    "otp_ttl 600\n"
	    "otp_max_attempts 5\n"
	    "otp_resend_interval 0\n"
	    "otp_lockout_failures 20\n"
	    "otp_lockout_time 1800\n"
	    "reset_mode temporary\n"
	    "reset_ttl 7200\n"
	    "invite_ttl 86400\n"
	    "reset_public_url https://www.example.org/mailotp//\n"
	    "reset_listen [::1]:8443\n"
	    "reset_request_fields realm,user,email\n"
	    "reset_realm_attr surveyCode\n"
	    "reset_trusted_proxies 127.0.0.1 ::1\n"
	    "user mailotp\n"
	    "pam_socket /run/mailotp/other.sock\n"
	    "pam_allow root 4242 @0\n"
	    "pam_max_clients 128\n"
	    "password_min_length 12\n"
	    "password_min_classes 4\n"
	    "password_denylist /etc/mailotp/denylist.txt\n"
	    "password_hash_opslimit 3\n"
	    "password_hash_memlimit 65536\n"
	    "terms_file /etc/mailotp/terms.txt\n"
	    "terms_version 2024-04 \xe5\x88\xa9\xe7\x94\xa8\xe8\xa6\x8f\xe7\xb4\x84\n"
	    "language ja\n"
	    "template_dir /srv/mailotp/templates\n";

	(void)state;
	assert_int_equal(load_text(text, &cfg, err, sizeof(err), &p), 0);
	assert_non_null(cfg);
	assert_string_equal(cfg->path, p);
	assert_int_equal(cfg->n_ldap_uri, 3);
	assert_string_equal(cfg->ldap_uri[0], "ldaps://ldap1.example.org:636");
	assert_string_equal(cfg->ldap_uri[1], "ldap://ldap2.example.org");
	assert_string_equal(cfg->ldap_uri[2], "ldapi:///");
	assert_true(cfg->ldap_starttls);
	assert_string_equal(cfg->ldap_ca_file, "/etc/ssl/certs/ca.pem");
	assert_int_equal(cfg->ldap_timeout, 7);
	assert_string_equal(cfg->ldap_base, "ou=people,dc=example,dc=org");
	assert_string_equal(cfg->ldap_user_filter,
	                    "(&(objectClass=inetOrgPerson)(mail=%u)(x=100%%))");
	assert_string_equal(cfg->ldap_bind_dn, "cn=mailotp,ou=services,dc=example,dc=org");
	assert_string_equal(cfg->ldap_bind_pw_file, "/etc/mailotp/ldap.pw");
	assert_string_equal(cfg->ldap_mail_attr, "mail");
	assert_string_equal(cfg->ldap_notify_attr, "proxyMail");
	assert_string_equal(cfg->ldap_name_attr, "displayName");
	assert_string_equal(cfg->ldap_lang_attr, "preferredLanguage");
	assert_string_equal(cfg->smtp_url, "smtps://mail.example.org:465");
	assert_int_equal(cfg->smtp_starttls, MAILOTP_TLS_YES);
	assert_string_equal(cfg->smtp_user, "mailotp");
	assert_string_equal(cfg->smtp_password_file, "/etc/mailotp/smtp.pw");
	assert_string_equal(cfg->smtp_ca_file, "/etc/ssl/certs/smtp-ca.pem");
	assert_int_equal(cfg->smtp_timeout, 20);
	assert_string_equal(cfg->mail_from, "no-reply@example.org");
	assert_int_equal(cfg->otp_digits, 8);
	assert_int_equal(cfg->otp_ttl, 600);
	assert_int_equal(cfg->otp_max_attempts, 5);
	assert_int_equal(cfg->otp_resend_interval, 0);
	assert_int_equal(cfg->otp_lockout_failures, 20);
	assert_int_equal(cfg->otp_lockout_time, 1800);
	assert_int_equal(cfg->reset_mode, MAILOTP_RESET_TEMPORARY);
	assert_int_equal(cfg->reset_ttl, 7200);
	assert_int_equal(cfg->invite_ttl, 86400);
	/* every trailing '/' goes */
	assert_string_equal(cfg->reset_public_url, "https://www.example.org/mailotp");
	assert_string_equal(cfg->reset_listen, "[::1]:8443");
	assert_int_equal(cfg->reset_request_fields, MAILOTP_FIELDS_REALM_USER_EMAIL);
	assert_string_equal(cfg->reset_realm_attr, "surveyCode");
	assert_string_equal(cfg->reset_trusted_proxies, "127.0.0.1 ::1");
	assert_string_equal(cfg->user, "mailotp");
	assert_string_equal(cfg->pam_socket, "/run/mailotp/other.sock");
	assert_string_equal(cfg->pam_allow, "root 4242 @0");
	assert_int_equal(cfg->n_pam_allow_uid, 2);
	assert_int_equal(cfg->pam_allow_uid[0], 0);
	assert_int_equal(cfg->pam_allow_uid[1], 4242);
	assert_int_equal(cfg->n_pam_allow_gid, 1);
	assert_int_equal(cfg->pam_allow_gid[0], 0);
	assert_int_equal(cfg->pam_max_clients, 128);
	assert_int_equal(cfg->password_min_length, 12);
	assert_int_equal(cfg->password_min_classes, 4);
	assert_string_equal(cfg->password_denylist, "/etc/mailotp/denylist.txt");
	assert_true(cfg->password_hash_opslimit == 3);
	/* KiB in the file, bytes in the struct */
	assert_true(cfg->password_hash_memlimit == (size_t)65536 * 1024);
	assert_string_equal(cfg->terms_file, "/etc/mailotp/terms.txt");
	assert_string_equal(cfg->terms_version,
	                    "2024-04 \xe5\x88\xa9\xe7\x94\xa8\xe8\xa6\x8f\xe7\xb4\x84");
	assert_string_equal(cfg->language, "ja");
	assert_string_equal(cfg->template_dir, "/srv/mailotp/templates");
	mailotp_config_free(cfg);
	free(p);
}

static void test_defaults(void **state)
{
	struct mailotp_config *cfg = NULL;
	char err[512], *text = make_conf("", NULL);

	(void)state;
	assert_int_equal(load_text(text, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->n_ldap_uri, 1);
	assert_string_equal(cfg->ldap_uri[0], "ldap://ldap.example.org");
	assert_false(cfg->ldap_starttls);
	assert_null(cfg->ldap_ca_file);
	assert_int_equal(cfg->ldap_timeout, 5);
	assert_string_equal(cfg->ldap_user_filter, "(&(objectClass=inetOrgPerson)(uid=%u))");
	assert_string_equal(cfg->ldap_mail_attr, "mail");
	assert_null(cfg->ldap_notify_attr);
	assert_string_equal(cfg->ldap_name_attr, "cn");
	assert_string_equal(cfg->ldap_lang_attr, "preferredLanguage");
	assert_string_equal(cfg->smtp_url, "smtp://127.0.0.1:25");
	assert_int_equal(cfg->smtp_starttls, MAILOTP_TLS_AUTO);
	assert_null(cfg->smtp_user);
	assert_null(cfg->smtp_password_file);
	assert_null(cfg->smtp_ca_file);
	assert_int_equal(cfg->smtp_timeout, 10);
	assert_int_equal(cfg->otp_digits, 6);
	assert_int_equal(cfg->otp_ttl, 300);
	assert_int_equal(cfg->otp_max_attempts, 3);
	assert_int_equal(cfg->otp_resend_interval, 60);
	assert_int_equal(cfg->otp_lockout_failures, 10);
	assert_int_equal(cfg->otp_lockout_time, 900);
	assert_int_equal(cfg->reset_mode, MAILOTP_RESET_LINK);
	assert_int_equal(cfg->reset_ttl, 3600);
	assert_int_equal(cfg->invite_ttl, 604800);
	assert_string_equal(cfg->reset_public_url, "https://reset.example.org");
	assert_string_equal(cfg->reset_listen, "127.0.0.1:8080");
	assert_int_equal(cfg->reset_request_fields, MAILOTP_FIELDS_EMAIL);
	assert_null(cfg->reset_realm_attr);
	assert_null(cfg->reset_trusted_proxies);
	assert_string_equal(cfg->user, "mailotp");
	assert_string_equal(cfg->pam_socket, "/run/mailotp/pam.sock");
	assert_string_equal(cfg->pam_allow, "root");
	assert_int_equal(cfg->n_pam_allow_uid, 1);
	assert_int_equal(cfg->pam_allow_uid[0], 0);
	assert_int_equal(cfg->n_pam_allow_gid, 0);
	assert_int_equal(cfg->pam_max_clients, 64);
	assert_int_equal(cfg->password_min_length, 10);
	assert_int_equal(cfg->password_min_classes, 3);
	assert_null(cfg->password_denylist);
	assert_true(cfg->password_hash_opslimit == 2);
	assert_true(cfg->password_hash_memlimit == (size_t)19456 * 1024);
	assert_null(cfg->terms_file);
	assert_null(cfg->terms_version);
	assert_string_equal(cfg->language, "en");
	assert_string_equal(cfg->template_dir, DATADIR "/templates");
	mailotp_config_free(cfg);
	free(text);
}

/* reset_public_url is only required while the web service listens. */
static void test_listen_none(void **state)
{
	struct mailotp_config *cfg = NULL;
	char err[512], *text = make_conf("reset_listen none\n", "reset_public_url");

	(void)state;
	assert_int_equal(load_text(text, &cfg, err, sizeof(err), NULL), 0);
	assert_null(cfg->reset_public_url);
	assert_string_equal(cfg->reset_listen, "none");
	mailotp_config_free(cfg);
	free(text);
}

/* Comments, blank lines, tabs, trailing blanks, CRLF and a last line without "\n" are fine. */
static void test_layout(void **state)
{
	struct mailotp_config *cfg = NULL;
	char err[512];
	const char *text = "# comment\r\n"
	                   "\r\n"
	                   "   \t\r\n"
	                   "\t# indented comment\n"
	                   "ldap_uri\tldap://a.example.org  ldap://b.example.org \t\r\n"
	                   "  ldap_base   dc=example,dc=org   \r\n"
	                   "ldap_bind_dn cn=x,dc=example,dc=org\r\n"
	                   "ldap_bind_pw_file /etc/mailotp/ldap.pw\r\n"
	                   "mail_from a@example.org\r\n"
	                   "ldap_starttls On\r\n"
	                   "language en\r\n"
	                   "reset_public_url http://localhost:8080";

	(void)state;
	assert_int_equal(load_text(text, &cfg, err, sizeof(err), NULL), 0);
	assert_int_equal(cfg->n_ldap_uri, 2);
	assert_string_equal(cfg->ldap_uri[1], "ldap://b.example.org");
	assert_string_equal(cfg->ldap_base, "dc=example,dc=org");
	assert_string_equal(cfg->mail_from, "a@example.org");
	assert_true(cfg->ldap_starttls);
	assert_string_equal(cfg->language, "en");
	assert_string_equal(cfg->reset_public_url, "http://localhost:8080");
	mailotp_config_free(cfg);
}

static void test_bools(void **state)
{
	static const char *const yes[] = {"yes", "true", "on", "1", "YES"};
	static const char *const no[] = {"no", "false", "off", "0"};
	struct mailotp_config *cfg = NULL;
	char err[512], line[64], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]) + sizeof(no) / sizeof(no[0]); i++) {
		bool want = i < sizeof(yes) / sizeof(yes[0]);

		snprintf(line, sizeof(line), "ldap_starttls %s\n",
		         want ? yes[i] : no[i - sizeof(yes) / sizeof(yes[0])]);
		text = make_conf(line, NULL);
		assert_int_equal(load_text(text, &cfg, err, sizeof(err), NULL), 0);
		assert_int_equal(cfg->ldap_starttls, want);
		mailotp_config_free(cfg);
		free(text);
	}
}

static void test_good_values(void **state)
{
	static const char *const lines[] = {
	    "reset_listen 0.0.0.0:80\n",
	    "reset_listen localhost:8080\n",
	    "reset_listen unix:/run/mailotp/reset.sock\n",
	    "smtp_url smtp://[::1]:2525\n",
	    "ldap_uri ldap://[::1]:389 ldapi://%2Frun%2Fslapd%2Fldapi\n",
	    "pam_allow root @root\n",
	    "pam_allow 0\n",
	    "password_hash_memlimit 8192\n",
	    "password_hash_memlimit 4194304\n",
	    "otp_digits 10\n",
	    "otp_resend_interval 0\n",
	    "reset_realm_attr 2.5.4.3\n",
	};
	struct mailotp_config *cfg = NULL;
	char err[512], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		text =
		    make_conf(lines[i], strncmp(lines[i], "ldap_uri", 8) == 0 ? "ldap_uri" : NULL);
		if (load_text(text, &cfg, err, sizeof(err), NULL) != 0)
			fail_msg("%s refused: %s", lines[i], err);
		mailotp_config_free(cfg);
		free(text);
	}
}

/* Each row: lines put before the base, the base key to leave out, the line and key of the error. */
struct bad {
	const char *extra;
	const char *skip;
	unsigned line;
	const char *key;
};

static const struct bad bads[] = {
    {"frobnicate 1\n", NULL, 1, "frobnicate"},
    {"# c\n\nOtp_digits 6\n", NULL, 3, "Otp_digits"},
    {"otp_digits 6\n# x\notp_digits 7\n", NULL, 3, "otp_digits"},
    {"ldap_uri ldap://x.example.org\n", NULL, 2, "ldap_uri"}, /* the base's comes next */
    {"otp_ttl 12abc\n", NULL, 1, "otp_ttl"},
    {"otp_ttl 0x10\n", NULL, 1, "otp_ttl"},
    {"otp_ttl  +5\n", NULL, 1, "otp_ttl"},
    {"otp_ttl 99999999999999999999\n", NULL, 1, "otp_ttl"},
    {"otp_digits 11\n", NULL, 1, "otp_digits"},
    {"otp_digits 5\n", NULL, 1, "otp_digits"},
    {"otp_resend_interval -1\n", NULL, 1, "otp_resend_interval"},
    {"password_hash_memlimit 8191\n", NULL, 1, "password_hash_memlimit"},
    {"password_min_length 7\n", NULL, 1, "password_min_length"},
    {"ldap_starttls maybe\n", NULL, 1, "ldap_starttls"},
    {"smtp_starttls always\n", NULL, 1, "smtp_starttls"},
    {"reset_mode email\n", NULL, 1, "reset_mode"},
    {"language fr\n", NULL, 1, "language"},
    {"otp_digits\n", NULL, 1, "otp_digits"},
    {"ldap_uri http://ldap.example.org\n", "ldap_uri", 1, "ldap_uri"},
    {"ldap_uri ldap://a.example.org ldpa://b.example.org\n", "ldap_uri", 1, "ldap_uri"},
    {"ldap_uri ldap://a.example.org/dc=example,dc=org\n", "ldap_uri", 1, "ldap_uri"},
    {"ldap_uri ldap://a ldap://b ldap://c ldap://d ldap://e ldap://f ldap://g ldap://h "
     "ldap://i\n",
     "ldap_uri", 1, "ldap_uri"},
    {"ldap_user_filter (uid=foo)\n", NULL, 1, "ldap_user_filter"},
    {"ldap_user_filter (&(uid=%u)\n", NULL, 1, "ldap_user_filter"},
    {"ldap_user_filter (uid=%u))(x=1)\n", NULL, 1, "ldap_user_filter"},
    {"ldap_user_filter (uid=%s)\n", NULL, 1, "ldap_user_filter"},
    {"ldap_user_filter uid=%u\n", NULL, 1, "ldap_user_filter"},
    {"ldap_ca_file certs/ca.pem\n", NULL, 1, "ldap_ca_file"},
    {"template_dir templates\n", NULL, 1, "template_dir"},
    {"ldap_bind_pw_file ldap.pw\n", "ldap_bind_pw_file", 1, "ldap_bind_pw_file"},
    {"pam_socket run/pam.sock\n", NULL, 1, "pam_socket"},
    {"terms_version v\xc3\x28\n", NULL, 1, "terms_version"},
    {"terms_version \xc0\xafx\n", NULL, 1, "terms_version"},
    {"terms_version \xed\xa0\x80\n", NULL, 1, "terms_version"},
    {"terms_version a\x01b\n", NULL, 1, "terms_version"},
    {"terms_version a\xc2\x85z\n", NULL, 1, "terms_version"},
    {"terms_version a\rb\n", NULL, 1, "terms_version"},
    {"pam_allow root nosuchuser-mailotp-test\n", NULL, 1, "pam_allow"},
    {"pam_allow root @nosuchgroup-mailotp-test\n", NULL, 1, "pam_allow"},
    {"pam_allow root @\n", NULL, 1, "pam_allow"},
    {"reset_request_fields realm,user,email\n", NULL, 1, "reset_request_fields"},
    {"reset_request_fields user,email\n", NULL, 1, "reset_request_fields"},
    {"\nsmtp_user mailotp\n", NULL, 2, "smtp_user"},
    {"smtp_url http://mail.example.org\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://mail.example.org:0\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://mail.example.org:65536\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://mail.example.org:25x\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://user@mail.example.org\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://[::1:25\n", NULL, 1, "smtp_url"},
    {"smtp_url smtp://mail.example.org/bad?name\n", NULL, 1, "smtp_url"},
    {"mail_from Mail OTP <noreply@example.org>\n", "mail_from", 1, "mail_from"},
    {"mail_from noreply\n", "mail_from", 1, "mail_from"},
    {"mail_from a@b@example.org\n", "mail_from", 1, "mail_from"},
    {"reset_public_url https://x.example.org/?a=1\n", "reset_public_url", 1, "reset_public_url"},
    {"reset_public_url https://x.example.org/#top\n", "reset_public_url", 1, "reset_public_url"},
    {"reset_public_url ftp://x.example.org/\n", "reset_public_url", 1, "reset_public_url"},
    {"reset_listen 8080\n", NULL, 1, "reset_listen"},
    {"reset_listen ::1:8080\n", NULL, 1, "reset_listen"},
    {"reset_listen 127.0.0.1:70000\n", NULL, 1, "reset_listen"},
    {"reset_listen unix:relative.sock\n", NULL, 1, "reset_listen"},
    {"reset_trusted_proxies 10.0.0.1 proxy.example.org\n", NULL, 1, "reset_trusted_proxies"},
    {"ldap_mail_attr mail;binary\n", NULL, 1, "ldap_mail_attr"},
    {"ldap_base not a dn\n", "ldap_base", 1, "ldap_base"},
    {"user bad user\n", NULL, 1, "user"},
    /* required keys: line 0 means "PATH: KEY: required key missing" */
    {"", "ldap_uri", 0, "ldap_uri"},
    {"", "ldap_base", 0, "ldap_base"},
    {"", "ldap_bind_dn", 0, "ldap_bind_dn"},
    {"", "ldap_bind_pw_file", 0, "ldap_bind_pw_file"},
    {"", "mail_from", 0, "mail_from"},
    {"", "reset_public_url", 0, "reset_public_url"},
};

static void test_bad_values(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		expect_error(bads[i].extra, bads[i].skip, bads[i].line, bads[i].key,
		             MAILOTP_ERR_CONFIG);
	}
}

static void test_long_line(void **state)
{
	char *line = malloc(5000), *text;
	size_t n;

	(void)state;
	assert_non_null(line);
	/* exactly 4096 bytes is fine */
	n = (size_t)snprintf(line, 5000, "terms_version ");
	memset(line + n, 'a', 4096 - n);
	memcpy(line + 4096, "\n", 2);
	text = make_conf(line, NULL);
	{
		struct mailotp_config *cfg = NULL;
		char err[512];

		if (load_text(text, &cfg, err, sizeof(err), NULL) != 0)
			fail_msg("4096-byte line refused: %s", err);
		assert_int_equal(strlen(cfg->terms_version), 4096 - n);
		mailotp_config_free(cfg);
	}
	free(text);
	/* one more is not */
	memset(line + n, 'a', 4097 - n);
	memcpy(line + 4097, "\n", 2);
	expect_error(line, NULL, 1, "terms_version", MAILOTP_ERR_CONFIG);
	/* nor is a much longer one, even on the last line without "\n" */
	text = make_conf("", NULL);
	line = realloc(line, strlen(text) + 20000);
	assert_non_null(line);
	n = (size_t)sprintf(line, "%sterms_version ", text);
	memset(line + n, 'b', 10000);
	line[n + 10000] = '\0';
	{
		struct mailotp_config *cfg = NULL;
		char err[512], want[256], *p = NULL;

		assert_int_equal(load_text(line, &cfg, err, sizeof(err), &p), MAILOTP_ERR_CONFIG);
		snprintf(want, sizeof(want), "%s:7: terms_version: ", p);
		assert_memory_equal(err, want, strlen(want));
		free(p);
	}
	free(text);
	free(line);
}

static void test_nul_byte(void **state)
{
	struct mailotp_config *cfg = NULL;
	static const char data[] = "otp_ttl 3\0000\n";
	char err[512], want[256], *p = write_file("nul.conf", data, sizeof(data) - 1, 0600);

	(void)state;
	assert_int_equal(mailotp_config_load(p, &cfg, err, sizeof(err)), MAILOTP_ERR_CONFIG);
	snprintf(want, sizeof(want), "%s:1: otp_ttl: ", p);
	assert_memory_equal(err, want, strlen(want));
	assert_null(cfg);
	free(p);
}

static void test_unreadable(void **state)
{
	struct mailotp_config *cfg = NULL;
	char err[512], *p = path_of("missing.conf");

	(void)state;
	assert_int_equal(mailotp_config_load(p, &cfg, err, sizeof(err)), MAILOTP_ERR_IO);
	assert_non_null(strstr(err, p));
	assert_null(cfg);
	assert_int_equal(mailotp_config_load(dir, &cfg, err, sizeof(err)), MAILOTP_ERR_IO);
	assert_non_null(strstr(err, "not a regular file"));
	free(p);
	mailotp_config_free(NULL);
}

/* rc and, for refusals, that the message names the file (and the mode when asked). */
static void secret_case(const char *data, size_t len, mode_t mode, int rc, const char *want,
                        const char *in_err)
{
	char err[512], *out = (char *)(uintptr_t)1;
	char *p = write_file("secret", data, len, mode);
	int r = mailotp_config_read_secret(p, &out, err, sizeof(err));

	if (r != rc)
		fail_msg("mode %04o, %zu bytes: got %d (%s), want %d", (unsigned)mode, len, r, err,
		         rc);
	if (rc == 0) {
		assert_string_equal(out, want);
	} else {
		assert_null(out);
		assert_non_null(strstr(err, p));
		if (in_err != NULL)
			assert_non_null(strstr(err, in_err));
	}
	mailotp_secret_free(r == 0 ? out : NULL);
	free(p);
}

static void test_secret(void **state)
{
	char big[4099];

	(void)state;
	secret_case("s3cret\n", 7, 0600, 0, "s3cret", NULL);
	secret_case("s3cret\n", 7, 0640, 0, "s3cret", NULL);
	secret_case("s3cret\n", 7, 0400, 0, "s3cret", NULL);
	secret_case("s3cret", 6, 0600, 0, "s3cret", NULL);
	secret_case("pass word ", 10, 0600, 0, "pass word ", NULL);
	secret_case("s3cret\n", 7, 0644, MAILOTP_ERR_CONFIG, NULL, "0644");
	secret_case("s3cret\n", 7, 0660, MAILOTP_ERR_CONFIG, NULL, "0660");
	secret_case("s3cret\n", 7, 0602, MAILOTP_ERR_CONFIG, NULL, "0602");
	secret_case("s3cret\n", 7, 0601, MAILOTP_ERR_CONFIG, NULL, "0601");
	secret_case("", 0, 0600, MAILOTP_ERR_CONFIG, NULL, "empty");
	secret_case("\n", 1, 0600, MAILOTP_ERR_CONFIG, NULL, "empty");
	secret_case("s3cret\n\n", 8, 0600, MAILOTP_ERR_CONFIG, NULL, NULL);
	secret_case("s3cret\r\n", 8, 0600, MAILOTP_ERR_CONFIG, NULL, NULL);
	secret_case("a\nb", 3, 0600, MAILOTP_ERR_CONFIG, NULL, NULL);
	secret_case("a\0b", 3, 0600, MAILOTP_ERR_CONFIG, NULL, NULL);
	memset(big, 'x', sizeof(big));
	big[4096] = '\0';
	secret_case(big, 4096, 0600, 0, big, NULL); /* 4096 bytes, no newline */
	big[4096] = 'x';
	big[4097] = '\0';
	secret_case(big, 4097, 0600, MAILOTP_ERR_CONFIG, NULL, "4096");
}

static void test_secret_symlink(void **state)
{
	char err[512], *out = NULL;
	char *target = write_file("real-secret", "s3cret\n", 7, 0600);
	char *link = path_of("link-secret"), *missing = path_of("no-secret");

	(void)state;
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(mailotp_config_read_secret(link, &out, err, sizeof(err)),
	                 MAILOTP_ERR_CONFIG);
	assert_null(out);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, "symbolic link"));
	/* the target itself is fine */
	assert_int_equal(mailotp_config_read_secret(target, &out, err, sizeof(err)), 0);
	assert_string_equal(out, "s3cret");
	mailotp_secret_free(out);
	mailotp_secret_free(NULL);
	/* a directory and a missing file */
	assert_int_equal(mailotp_config_read_secret(dir, &out, err, sizeof(err)),
	                 MAILOTP_ERR_CONFIG);
	assert_int_equal(mailotp_config_read_secret(missing, &out, err, sizeof(err)),
	                 MAILOTP_ERR_IO);
	assert_non_null(strstr(err, missing));
	free(target);
	free(link);
	free(missing);
}

static struct mailotp_config *load_allow(const char *allow)
{
	struct mailotp_config *cfg = NULL;
	char err[512], line[256], *text;

	snprintf(line, sizeof(line), "pam_allow %s\n", allow);
	text = make_conf(line, NULL);
	if (load_text(text, &cfg, err, sizeof(err), NULL) != 0)
		fail_msg("pam_allow %s: %s", allow, err);
	free(text);
	return cfg;
}

static void test_peer_allowed(void **state)
{
	struct mailotp_config *cfg;
	struct passwd *pw;
	struct group *gr;
	char allow[256];
	gid_t g;
	uid_t u;

	(void)state;
	assert_false(mailotp_config_peer_allowed(NULL, 0, 0));

	/* the default: root only */
	cfg = load_allow("root");
	assert_true(mailotp_config_peer_allowed(cfg, 0, 0));
	assert_true(mailotp_config_peer_allowed(cfg, 0, 4321));
	assert_false(mailotp_config_peer_allowed(cfg, 4321, 0));
	assert_false(mailotp_config_peer_allowed(cfg, 1, 1));
	mailotp_config_free(cfg);

	/* a numeric uid and a numeric gid that name no account */
	cfg = load_allow("root 64999 @64998");
	assert_true(mailotp_config_peer_allowed(cfg, 64999, 64999));
	assert_true(mailotp_config_peer_allowed(cfg, 64997, 64998));
	assert_false(mailotp_config_peer_allowed(cfg, 64997, 64997));
	mailotp_config_free(cfg);

	/* a group by name: its gid is allowed, other ids are not */
	gr = getgrgid(0);
	assert_non_null(gr);
	snprintf(allow, sizeof(allow), "@%s", gr->gr_name);
	cfg = load_allow(allow);
	assert_int_equal(cfg->n_pam_allow_uid, 0);
	assert_true(mailotp_config_peer_allowed(cfg, 64999, 0));
	assert_false(mailotp_config_peer_allowed(cfg, 64999, 64999));
	mailotp_config_free(cfg);

	/*
	 * A user that is a listed group's member only through the group file
	 * (not its primary group) is allowed with any process gid.
	 */
	setgrent();
	u = 0;
	g = 0;
	while ((gr = getgrent()) != NULL) {
		if (gr->gr_mem[0] == NULL || (pw = getpwnam(gr->gr_mem[0])) == NULL ||
		    pw->pw_gid == gr->gr_gid || pw->pw_uid == 0)
			continue;
		u = pw->pw_uid;
		g = gr->gr_gid;
		snprintf(allow, sizeof(allow), "root @%s", gr->gr_name);
		break;
	}
	endgrent();
	if (u == 0) {
		print_message("# no group with a supplementary member here; skipped that part\n");
		return;
	}
	cfg = load_allow(allow);
	assert_true(mailotp_config_peer_allowed(cfg, u, 64999));
	assert_true(mailotp_config_peer_allowed(cfg, 64999, g));
	assert_false(mailotp_config_peer_allowed(cfg, 64999, 64999));
	mailotp_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),         cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_listen_none),  cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_bools),        cmocka_unit_test(test_good_values),
	    cmocka_unit_test(test_bad_values),   cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_nul_byte),     cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_secret),       cmocka_unit_test(test_secret_symlink),
	    cmocka_unit_test(test_peer_allowed),
	};

	return cmocka_run_group_tests(tests, make_tree, rm_tree);
}
