/*
 * Accounts in the directory: finding one by login name, and the
 * per-account state mailotp keeps on the entry (objectClass
 * mailotpAccount, examples/ldap/mailotp.ldif) so that limits hold across
 * every host and daemon restart:
 *
 *   mailotpOtpSentTime   when the last code was mailed (resend interval)
 *   mailotpOtpFailures   wrong codes in a row, all hosts and sessions
 *   mailotpOtpFailTime   when the last wrong code was entered
 *
 * Changes that must not race (claiming the right to mail a code) are a
 * single LDAP modify that deletes the value read and adds the new one: of
 * concurrent claimers exactly one succeeds, the others get
 * noSuchAttribute / typeOrValueExists and lose. Counters use the modify
 * increment extension (RFC 4525), atomic in the server.
 */
#ifndef MAILOTP_ACCOUNT_H
#define MAILOTP_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ldap_pool.h"
#include "mailotp/error.h"

#define MAILOTP_MAX_NOTIFY 8
#define MAILOTP_MAX_LOGIN 256 /* bytes; longer names are never searched */

struct mailotp_account {
	char *dn;
	char *mail;                       /* first valid ldap_mail_attr value, or NULL */
	char *notify[MAILOTP_MAX_NOTIFY]; /* valid ldap_notify_attr values */
	size_t n_notify;
	char *name;   /* ldap_name_attr (display name), or NULL */
	char *lang;   /* "en" or "ja": entry's language, else config */
	bool has_aux; /* objectClass includes mailotpAccount */

	char *login;           /* the value of the login attribute (e.g. uid), or NULL */
	char *realm;           /* reset_realm_attr's value, or NULL */
	char *token_hash;      /* mailotpTokenHash, or NULL */
	char *token_info;      /* mailotpTokenInfo, or NULL */
	time_t temp_expiry;    /* mailotpTempPasswordExpiry, 0 when none */
	bool must_change;      /* mailotpMustChange TRUE */
	char *reset_sent_raw;  /* mailotpResetSentTime as stored, or NULL */
		char *consent_version; /* mailotpConsentVersion, or NULL */
	bool pw_reset;         /* ppolicy pwdReset TRUE: changeAfterReset */
	bool grace_used;       /* ppolicy pwdGraceUseTime present: expired, in grace */
	time_t reset_sent;

	char *otp_sent_raw;   /* mailotpOtpSentTime as stored, or NULL */
	time_t otp_sent;      /* 0 when absent */
	long otp_failures;    /* 0 when absent */
	time_t otp_fail_time; /* 0 when absent */
};

/*
 * Finds the one account whose entry matches ldap_user_filter with %u =
 * login (RFC 4515-escaped) under ldap_base. A login that is empty, longer
 * than MAILOTP_MAX_LOGIN, not clean UTF-8 (escape.h) is never searched.
 * Returns 0, MAILOTP_ERR_NOT_FOUND (none, not exactly one, or an invalid
 * login), MAILOTP_ERR_LDAP_DOWN, MAILOTP_ERR_LDAP or MAILOTP_ERR_NOMEM.
 */
int mailotp_account_find(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                         const char *login, struct mailotp_account **out) MAILOTP_MUST_CHECK;

void mailotp_account_free(struct mailotp_account *a);

/*
 * Claims the right to mail a code now (mailotpOtpSentTime), in two halves
 * so that the mail is handed over while the directory writes. The claim
 * is refused with MAILOTP_ERR_THROTTLED (and *wait set to the seconds
 * left) when the last code went out less than interval seconds ago, here
 * or on any other host. begin checks the interval and sends the modify:
 * it returns THROTTLED or an LDAP error at once when it can tell, else 0
 * with the request in flight. end waits for the answer and returns 0
 * (claimed), MAILOTP_ERR_THROTTLED (another host claimed first) or an
 * LDAP error. The message must not be given to the mail server before
 * end said 0 (mail.h's gate does that). Every begin that returned 0
 * needs its end, which gives the connection back (if poll has not).
 */
struct mailotp_claim {
	LDAP *ld;   /* the service connection carrying the modify */
	int msgid;
	bool done;  /* result and wait are known */
	int result;
	int wait;
	time_t now;
	int interval;
	char stamp[16]; /* the value written */
};

int mailotp_account_claim_send_begin(struct mailotp_ldap *l, struct mailotp_account *a,
                                     time_t now, int interval, int *wait,
                                     struct mailotp_claim *c) MAILOTP_MUST_CHECK;
int mailotp_account_claim_send_end(struct mailotp_ldap *l, struct mailotp_account *a,
                                   struct mailotp_claim *c, int *wait) MAILOTP_MUST_CHECK;
/*
 * Takes the answer if it has come, without waiting: the connection goes
 * back to the pool then, instead of staying borrowed until end (a slow
 * mail server must not hold a directory connection per login).
 */
void mailotp_account_claim_send_poll(struct mailotp_ldap *l, struct mailotp_account *a,
                                     struct mailotp_claim *c);

/* Undoes a claim after the mail could not be sent (best effort). */
void mailotp_account_release_send(struct mailotp_ldap *l, struct mailotp_account *a);

/*
 * True when the account has had `limit` or more wrong codes in a row and
 * the last one is less than `lockout` seconds old; *wait is set to the
 * seconds left.
 */
bool mailotp_account_code_locked(const struct mailotp_account *a, time_t now, int limit,
                                 int lockout, int *wait);

/*
 * Adds one wrong code to the account's counter (atomically, whichever
 * host counts) and notes the time. A wrong code more than `window`
 * seconds after the previous one starts the count again at 1.
 */
int mailotp_account_record_failure(struct mailotp_ldap *l, struct mailotp_account *a, time_t now,
                                   int window) MAILOTP_MUST_CHECK;

/* Clears the wrong-code counter after a right code. */
int mailotp_account_reset_failures(struct mailotp_ldap *l,
                                   struct mailotp_account *a) MAILOTP_MUST_CHECK;

/*
 * Finds the one account whose ldap_mail_attr equals addr (apart from
 * ASCII case), for the e-mail-only reset form. Same returns as _find.
 */
int mailotp_account_find_by_mail(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                                 const char *addr, struct mailotp_account **out) MAILOTP_MUST_CHECK;

/* Finds the one account holding token hash hex (mailotpTokenHash). */
int mailotp_account_find_by_token(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                                  const char *hash_hex,
                                  struct mailotp_account **out) MAILOTP_MUST_CHECK;

/*
 * Claims the right to mail a reset now (mailotpResetSentTime) by the
 * rules of the code's claim above, in one blocking modify: returns 0,
 * MAILOTP_ERR_THROTTLED or an LDAP error.
 */
int mailotp_account_claim_reset(struct mailotp_ldap *l, struct mailotp_account *a, time_t now,
                                int interval, int *wait) MAILOTP_MUST_CHECK;

/* Stores a new token (replacing any older one: a newer link kills the older). */
int mailotp_account_set_token(struct mailotp_ldap *l, struct mailotp_account *a,
                              const char *hash_hex, const char *info) MAILOTP_MUST_CHECK;

/*
 * Uses the token up and sets the password in one modify: deletes exactly
 * the value hash_hex (so of concurrent uses one wins; the others get
 * MAILOTP_ERR_CONFLICT), writes userpassword, clears any temporary
 * password and forced change, notes the time.
 */
int mailotp_account_use_token(struct mailotp_ldap *l, struct mailotp_account *a,
                              const char *hash_hex, const char *userpassword,
                              time_t now) MAILOTP_MUST_CHECK;

/*
 * Sets a temporary password (its {ARGON2} hash) valid until expires, with
 * a forced change at the next login; removes a pending token.
 */
int mailotp_account_set_temporary(struct mailotp_ldap *l, struct mailotp_account *a,
                                  const char *userpassword, time_t expires) MAILOTP_MUST_CHECK;

/*
 * Sets a new password chosen by the user (its {ARGON2} hash): clears any
 * temporary password, forced change and pending token, notes the time.
 */
int mailotp_account_set_password(struct mailotp_ldap *l, struct mailotp_account *a,
                                 const char *userpassword, time_t now) MAILOTP_MUST_CHECK;

/* Stores the consent to terms version, with the time and where from. */
int mailotp_account_set_consent(struct mailotp_ldap *l, struct mailotp_account *a,
                                const char *version, time_t now,
                                const char *from) MAILOTP_MUST_CHECK;

/* Formats t as GeneralizedTime "YYYYMMDDHHMMSSZ" into buf[16]. */
void mailotp_gentime_format(time_t t, char buf[16]);

/* Parses GeneralizedTime (seconds and 'Z' required, fractions ignored); 0 on error. */
time_t mailotp_gentime_parse(const char *s);

#endif /* MAILOTP_ACCOUNT_H */
