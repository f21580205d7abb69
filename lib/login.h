/*
 * The login: password checked by binding as the account, then a one-time
 * code mailed and checked. Knows nothing of PAM or sockets: it takes a
 * request and fills an outcome (a protocol status, the texts to show and
 * the reason to log), so the daemon only moves frames.
 *
 * Refusals before a code is mailed (unknown account, empty or wrong
 * password, invalid login name) all give the same status and no text,
 * and are held back to the time a real password check takes (timing.h).
 */
#ifndef MAILOTP_LOGIN_H
#define MAILOTP_LOGIN_H

#include <stdbool.h>
#include <time.h>

#include "account.h"
#include "config.h"
#include "ldap_pool.h"
#include "otp.h"
#include "template.h"
#include "timing.h"
#include "mailotp/protocol.h"

struct mailotp_pending;
struct mailotp_policy;
struct mailotp_services;

/* Work handed to the daemon's background queue (see `defer`). */
typedef void (*mailotp_job_fn)(const struct mailotp_services *s, void *arg);

/* What a login needs from the daemon; all borrowed. */
struct mailotp_services {
	const struct mailotp_config *cfg;
	struct mailotp_ldap *ldap;
	const struct mailotp_templates *templates;
	const char *smtp_password; /* NULL when no SMTP AUTH */
	struct mailotp_timing *timing;
	time_t (*now)(void); /* wall clock; tests may replace it */
	/* Seconds on a clock that never goes back (the codes held in memory
	 * expire by it); NULL: use now. */
	time_t (*code_now)(void);
	const struct mailotp_policy *policy;
	const char *terms_text;    /* terms_file's text, NULL when no consent is asked */
	const char *terms_version; /* terms_version, or a hash of the text */
	/* Codes kept for the next combined login; NULL: combined logins refused. */
	struct mailotp_pending *pending;
	/*
	 * Runs fn(s, arg) later on a background thread, then free_arg(arg);
	 * returns 0, or an error when the queue is full (then nothing runs
	 * and arg is freed). NULL: run at once, in the caller's thread.
	 */
	int (*defer)(const struct mailotp_services *s, mailotp_job_fn fn, void *arg,
	             void (*free_arg)(void *));
};

struct mailotp_login_request {
	const char *user;
	const char *password; /* NULL with MAILOTP_FLAG_OTP_ONLY */
	const char *service;
	const char *rhost;
	const char *ruser;
	const char *tty;
	unsigned flags;
};

struct mailotp_outcome {
	enum mailotp_status status;
	char info[512];   /* PAM_TEXT_INFO, "" for none */
	char error[512];  /* PAM_ERROR_MSG, "" for none */
	char prompt[128]; /* the question to ask next, "" for none */
	int remaining;    /* tries left after a wrong code */
	char reason[160]; /* for the log: why, never a secret */
};

/* One login transaction (one connection). */
struct mailotp_login {
	struct mailotp_account *acct;
	struct mailotp_otp otp;
	bool code_pending;
};

void mailotp_login_init(struct mailotp_login *lg);
/* Wipes the code record and frees the account. */
void mailotp_login_clear(struct mailotp_login *lg);

/* Step 1: check the password (unless OTP_ONLY) and mail a code. */
void mailotp_login_begin(const struct mailotp_services *s, const struct mailotp_login_request *req,
                         struct mailotp_login *lg, struct mailotp_outcome *o);

/*
 * The combined login, for gateways that pass one secret per request
 * (HTTP Basic auth): req->password is the password alone, or the password
 * followed directly by the otp_digits-digit code mailed after an earlier
 * request. The password alone mails a code and is refused (DENIED, with
 * INFO saying where the code went); the password and the pending code
 * give OK. The code is kept in s->pending between the two. Anything else
 * is refused like a wrong password, and a wrong code is counted.
 */
void mailotp_login_combined(const struct mailotp_services *s,
                            const struct mailotp_login_request *req, struct mailotp_outcome *o);

/* Step 2: check a code answer. */
void mailotp_login_code(const struct mailotp_services *s, struct mailotp_login *lg,
                        const char *answer, struct mailotp_outcome *o);

#endif /* MAILOTP_LOGIN_H */
