/*
 * Reset by mail: the two flows of the seeds, over the directory, with no
 * HTTP in sight (resetd/http_*.c is the thin shell).
 *
 *   request:  the form's fields (e-mail + confirmation, or realm + user +
 *             e-mail) -> if exactly one account matches, a mail: a
 *             single-use link (reset_mode link) or a temporary password
 *             valid reset_ttl (reset_mode temporary). The answer never
 *             says whether an account matched.
 *   complete: token + new password (+ confirmation) -> the policy, the
 *             argon2id hash written, the token used up, a notice mailed.
 *
 * Tokens: 256 random bits from libsodium, given to the user base64url
 * encoded; only their BLAKE2b hash is stored, on the account's entry
 * (mailotpTokenHash, with purpose and expiry in mailotpTokenInfo), so any
 * mailotpd instance can finish a reset another started. A token is used
 * up by one LDAP modify that deletes exactly its hash value and writes
 * the password: of concurrent uses, exactly one succeeds. A newer token
 * replaces the older one; a password change removes it.
 */
#ifndef MAILOTP_RESET_H
#define MAILOTP_RESET_H

#include <stdbool.h>
#include <stddef.h>

#include "account.h"
#include "login.h"
#include "token.h"

/* The public outcome of a step; the same for existing and unknown accounts. */
enum mailotp_reset_status {
	MAILOTP_RESET_OK = 0, /* request: "if it matched, a mail is on its way"; complete: done */
	MAILOTP_RESET_FORM_ERROR, /* the form is wrong (missing field, e-mails differ, passwords
	                             differ) */
	MAILOTP_RESET_POLICY, /* complete: the new password breaks the policy (message says why) */
	MAILOTP_RESET_BAD_TOKEN,   /* unknown, used, expired, altered, wrong purpose: all alike */
	MAILOTP_RESET_UNAVAILABLE, /* the directory is down: try later; nothing was changed */
};

/* Which field a form error is about, for the page to mark it. */
enum mailotp_reset_field {
	MAILOTP_FIELD_NONE = 0,
	MAILOTP_FIELD_EMAIL,
	MAILOTP_FIELD_EMAIL_CONFIRM,
	MAILOTP_FIELD_REALM,
	MAILOTP_FIELD_USER,
	MAILOTP_FIELD_PASSWORD,
	MAILOTP_FIELD_PASSWORD_CONFIRM,
};

struct mailotp_reset_outcome {
	enum mailotp_reset_status status;
	enum mailotp_reset_field field; /* with FORM_ERROR / POLICY */
	char message[512];              /* for the person, in the page's language */
	char reason[160];               /* for the log; never a secret */
};

/* What the form sent; NULL for fields not on the form. */
struct mailotp_reset_request {
	const char *email;
	const char *email_confirm;
	const char *realm;
	const char *user;
	const char *client; /* the client's address, for the log and the notice */
	const char *lang;   /* the page's language: "en" or "ja" */
};

/*
 * Step 1. Checks the form (per reset_request_fields), then looks the
 * account up and, when exactly one matches (and realm, user and e-mail all
 * agree), issues a token or a temporary password and mails it in the
 * account's language. At most one mail per account per
 * MAILOTP_RESET_MIN_INTERVAL seconds (the others are dropped silently,
 * logged). The outcome is OK for a match and for no match alike.
 */
void mailotp_reset_request(const struct mailotp_services *s,
                           const struct mailotp_reset_request *req,
                           struct mailotp_reset_outcome *o);

/*
 * Whether token (as given in the link) is a live token of this purpose
 * today (an invite token is not a reset token: each has its own page).
 * Does not use it up (mail scanners open links). OK or BAD_TOKEN
 * (or UNAVAILABLE).
 */
void mailotp_reset_check(const struct mailotp_services *s, const char *token,
                         enum mailotp_token_purpose purpose, struct mailotp_reset_outcome *o);

/*
 * Step 2. Checks that the two passwords agree and meet the policy, then
 * uses the token up and writes the new argon2id hash in one modify, then
 * mails the "password changed" notice (to notify recipients too).
 */
void mailotp_reset_complete(const struct mailotp_services *s, const char *token,
                            enum mailotp_token_purpose purpose, const char *password,
                            const char *password_confirm, const char *lang, const char *client,
                            struct mailotp_reset_outcome *o);

/* What an administrator (mailotpctl) or a request hands out. */
enum mailotp_issue_kind {
	MAILOTP_ISSUE_RESET_LINK = 1, /* reset token, valid reset_ttl, template reset_link */
	MAILOTP_ISSUE_INVITE,         /* invite token, valid invite_ttl, template invite */
	MAILOTP_ISSUE_TEMPORARY, /* temporary password, valid reset_ttl, template reset_temporary */
};

/*
 * Issues and mails a link or a temporary password for account a now (no
 * throttling: the caller decides). For a temporary password the mail goes
 * out before the password is replaced, so a mail failure changes nothing.
 * Returns 0 or an error with the reason in err.
 */
int mailotp_reset_issue(const struct mailotp_services *s, struct mailotp_account *a,
                        enum mailotp_issue_kind kind, char *err, size_t errlen) MAILOTP_MUST_CHECK;

#define MAILOTP_RESET_MIN_INTERVAL 60

#endif /* MAILOTP_RESET_H */
