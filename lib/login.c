/* The login: password bind, mailed code, code check (see login.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "log.h"
#include "login.h"
#include "mail.h"
#include "pending.h"

static void outcome_reset(struct mailotp_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->status = MAILOTP_ST_DENIED;
}

static void set_reason(struct mailotp_outcome *o, const char *why)
{
	snprintf(o->reason, sizeof(o->reason), "%s", why);
}

void mailotp_login_init(struct mailotp_login *lg)
{
	memset(lg, 0, sizeof(*lg));
}

void mailotp_login_clear(struct mailotp_login *lg)
{
	mailotp_otp_wipe(&lg->otp);
	mailotp_account_free(lg->acct);
	lg->acct = NULL;
	lg->code_pending = false;
}

/*
 * The clock of the codes kept in memory: a monotonic one when the daemon
 * gives it, so that setting the wall clock back cannot lengthen a code's
 * life. Times stored in the directory stay on the wall clock (s->now).
 */
static time_t code_clock(const struct mailotp_services *s)
{
	return s->code_now != NULL ? s->code_now() : s->now();
}

/* Maps a directory error to the outcome: down is "unavailable", never a pass. */
static void directory_failed(struct mailotp_outcome *o, int r, const char *what)
{
	o->status = MAILOTP_ST_UNAVAIL;
	snprintf(o->reason, sizeof(o->reason), "%s: %s", what, mailotp_strerror(r));
}

static const char *bind_reason(const struct mailotp_bind_result *br)
{
	switch (br->ppolicy_error) {
	case PP_accountLocked:
		return "password refused (account locked by ppolicy)";
	case PP_passwordExpired:
		return "password refused (password expired)";
	case PP_changeAfterReset:
		return "password refused (must change after reset)";
	default:
		return "wrong password";
	}
}

/* The claim of the send time, answered before the code may leave (mail.h's gate). */
struct claim_gate {
	const struct mailotp_services *s;
	struct mailotp_account *a;
	struct mailotp_claim claim;
	int wait;
};

static int claim_answered(void *arg)
{
	struct claim_gate *g = arg;

	return mailotp_account_claim_send_end(g->s->ldap, g->a, &g->claim, &g->wait);
}

/* While the mail server talks: the directory connection goes back as soon as it answered. */
static void claim_tick(void *arg)
{
	struct claim_gate *g = arg;

	mailotp_account_claim_send_poll(g->s->ldap, g->a, &g->claim);
}

/* The claim failed: throttled, or the directory could not record it. */
static void claim_refused(const struct mailotp_account *a, int r, int wait,
                          struct mailotp_outcome *o)
{
	if (r == MAILOTP_ERR_THROTTLED) {
		o->status = MAILOTP_ST_DENIED;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_THROTTLED,
		              wait > 0 ? wait : 1);
		snprintf(o->reason, sizeof(o->reason), "code asked again too soon (%d s left)",
		         wait);
		return;
	}
	directory_failed(o, r, "cannot record the code");
}

/*
 * Mails a fresh code; fills the outcome either way. The send time is
 * written (the claim that keeps otp_resend_interval across hosts) while
 * the mail server takes the envelope; the code itself goes only once the
 * directory said yes, else the message is withheld and nothing delivered.
 */
static void send_code(const struct mailotp_services *s, const struct mailotp_login_request *req,
                      struct mailotp_login *lg, struct mailotp_outcome *o)
{
	const struct mailotp_config *cfg = s->cfg;
	struct mailotp_account *a = lg->acct;
	char code[MAILOTP_OTP_MAX_DIGITS + 1], minutes[16], masked[320], err[256];
	const char *to[1] = {a->mail};
	struct claim_gate g = {.s = s, .a = a};
	const struct mailotp_mail_gate gate = {.ask = claim_answered, .tick = claim_tick, .arg = &g};
	time_t now = s->now();
	int r, rc, wait;

	if (mailotp_account_code_locked(a, now, cfg->otp_lockout_failures, cfg->otp_lockout_time,
	                                &wait)) {
		o->status = MAILOTP_ST_MAXTRIES;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_LOCKED);
		snprintf(o->reason, sizeof(o->reason),
		         "too many wrong codes in a row (%ld), locked for %d s more",
		         a->otp_failures, wait);
		return;
	}
	r = mailotp_account_claim_send_begin(s->ldap, a, now, cfg->otp_resend_interval, &wait,
	                                     &g.claim);
	if (r != 0) {
		claim_refused(a, r, wait, o);
		return;
	}
	if ((r = mailotp_otp_new(&lg->otp, code, sizeof(code), cfg->otp_digits, cfg->otp_ttl,
	                         cfg->otp_max_attempts, code_clock(s))) != 0) {
		if (claim_answered(&g) == 0)
			mailotp_account_release_send(s->ldap, a);
		o->status = MAILOTP_ST_UNAVAIL;
		set_reason(o, "cannot make a code");
		return;
	}
	snprintf(minutes, sizeof(minutes), "%d", (cfg->otp_ttl + 59) / 60);
	{
		const struct mailotp_tvar vars[] = {
		    {"code", code},
		    {"minutes", minutes},
		    {"user", req->user},
		    {"name", a->name != NULL ? a->name : req->user},
		    {"service", req->service != NULL ? req->service : ""},
		    /* Said in the mail, so an unexpected code shows where it came from. */
		    {"rhost", req->rhost != NULL && req->rhost[0] != '\0' ? req->rhost : "local"},
		};
		r = mailotp_mail_send_template(cfg, s->smtp_password, s->templates, a->lang,
		                               MAILOTP_TMPL_OTP, to, 1, vars,
		                               sizeof(vars) / sizeof(vars[0]), &gate, err,
		                               sizeof(err));
	}
	sodium_memzero(code, sizeof(code));
	/* The claim's answer, whether or not the mail got as far as asking for it. */
	rc = claim_answered(&g);
	if (rc != 0) {
		mailotp_otp_wipe(&lg->otp);
		claim_refused(a, rc, g.wait, o);
		return;
	}
	if (r != 0) {
		mailotp_otp_wipe(&lg->otp);
		mailotp_account_release_send(s->ldap, a);
		o->status = MAILOTP_ST_MAIL_FAILED;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_MAIL_FAILED);
		snprintf(o->reason, sizeof(o->reason), "code not mailed: %.130s", err);
		return;
	}
	lg->code_pending = true;
	(void)mailotp_mask_address(a->mail, masked, sizeof(masked));
	o->status = MAILOTP_ST_OK;
	mailotp_textf(o->info, sizeof(o->info), a->lang, MAILOTP_TXT_CODE_SENT, masked);
	mailotp_textf(o->prompt, sizeof(o->prompt), a->lang, MAILOTP_TXT_CODE_PROMPT);
	set_reason(o, "password accepted, code mailed");
}

/* How a password check ended. */
enum pw_check { PW_OK, PW_REFUSE, PW_DONE };

/*
 * Checks the password by binding as the account. PW_REFUSE: wrong (the
 * reason is set; the caller refuses like an unknown account); PW_DONE:
 * the outcome is final (directory down, password expired); PW_OK: *grace
 * is the grace logins left (-1: none used).
 */
static enum pw_check check_password(const struct mailotp_services *s, struct mailotp_login *lg,
                                    const char *password, uint64_t start, int *grace,
                                    struct mailotp_outcome *o)
{
	struct mailotp_bind_result br;
	int r;

	r = mailotp_ldap_check_password(s->ldap, lg->acct->dn, password, &br);
	if (r == MAILOTP_ERR_BAD_PASSWORD) {
		mailotp_timing_note(s->timing, mailotp_now_ns() - start);
		/* ppolicy says passwordExpired only after the password matched:
		 * telling the user reveals nothing to someone without it. */
		if (br.ppolicy_error == PP_passwordExpired) {
			o->status = MAILOTP_ST_DENIED;
			mailotp_textf(o->error, sizeof(o->error), lg->acct->lang,
			              MAILOTP_TXT_PW_EXPIRED);
			set_reason(o, "password expired (ppolicy), no grace logins left");
			return PW_DONE;
		}
		set_reason(o, bind_reason(&br));
		return PW_REFUSE;
	}
	if (r != 0) {
		directory_failed(o, r, "password check failed");
		return PW_DONE;
	}
	mailotp_timing_note(s->timing, mailotp_now_ns() - start);
	*grace = br.grace;
	return PW_OK;
}

/*
 * What a right password still needs before a code is mailed: a temporary
 * password not yet expired, an address to mail to. Returns false with
 * the outcome set when the login ends here.
 */
static bool may_mail_code(const struct mailotp_services *s, struct mailotp_login *lg,
                          struct mailotp_outcome *o)
{
	/* A temporary password (reset_mode temporary) works only until it expires. */
	if (lg->acct->temp_expiry != 0 && s->now() >= lg->acct->temp_expiry) {
		o->status = MAILOTP_ST_DENIED;
		mailotp_textf(o->error, sizeof(o->error), lg->acct->lang, MAILOTP_TXT_TEMP_EXPIRED);
		set_reason(o, "temporary password expired");
		return false;
	}
	if (lg->acct->mail == NULL) {
		o->status = MAILOTP_ST_DENIED;
		mailotp_textf(o->error, sizeof(o->error), lg->acct->lang, MAILOTP_TXT_NO_MAIL);
		set_reason(o, "no valid mail address on the account");
		return false;
	}
	return true;
}

/* An expired password still in its grace logins: said with the code
 * notice, changed at the account stage (NEW_AUTHTOK_REQD). */
static void note_grace(const struct mailotp_login *lg, int grace, struct mailotp_outcome *o)
{
	char note[256], sent[sizeof(o->info)];

	if (grace < 0)
		return;
	mailotp_textf(note, sizeof(note), lg->acct->lang, MAILOTP_TXT_PW_GRACE, grace);
	snprintf(sent, sizeof(sent), "%s", o->info);
	snprintf(o->info, sizeof(o->info), "%.250s\n%.250s", note, sent);
}

/* Looks the account up; false with the outcome set when the directory failed. */
static bool lookup(const struct mailotp_services *s, const char *user, struct mailotp_login *lg,
                   int *found, struct mailotp_outcome *o)
{
	int r = mailotp_account_find(s->ldap, s->cfg, user, &lg->acct);

	if (r == MAILOTP_ERR_LDAP_DOWN || r == MAILOTP_ERR_LDAP || r == MAILOTP_ERR_NOMEM) {
		directory_failed(o, r, "account lookup failed");
		return false;
	}
	*found = r == 0;
	return true;
}

/* Same status, no text, same time: unknown, empty and wrong look alike. */
static void refuse(const struct mailotp_services *s, struct mailotp_login *lg, uint64_t start,
                   struct mailotp_outcome *o)
{
	o->status = MAILOTP_ST_DENIED;
	o->info[0] = o->error[0] = o->prompt[0] = '\0';
	mailotp_account_free(lg->acct);
	lg->acct = NULL;
	mailotp_timing_pad(s->timing, start);
}

void mailotp_login_begin(const struct mailotp_services *s, const struct mailotp_login_request *req,
                         struct mailotp_login *lg, struct mailotp_outcome *o)
{
	bool otp_only = (req->flags & MAILOTP_FLAG_OTP_ONLY) != 0;
	int grace = -1, found;
	uint64_t start = mailotp_now_ns();

	outcome_reset(o);
	mailotp_login_clear(lg);

	/* The password is refused before anything else when it is empty, but
	 * the account is still looked up so that the time spent is the same. */
	if (!lookup(s, req->user, lg, &found, o))
		return;
	if (!otp_only && (req->password == NULL || req->password[0] == '\0')) {
		set_reason(o, found ? "empty password" : "empty password, unknown account");
		refuse(s, lg, start, o);
		return;
	}
	if (!found) {
		set_reason(o, "unknown account");
		refuse(s, lg, start, o);
		return;
	}
	if (!otp_only) {
		switch (check_password(s, lg, req->password, start, &grace, o)) {
		case PW_OK:
			break;
		case PW_REFUSE:
			refuse(s, lg, start, o);
			return;
		case PW_DONE:
			return;
		}
	}
	if (!may_mail_code(s, lg, o))
		return;
	send_code(s, req, lg, o);
	if (o->status == MAILOTP_ST_OK)
		note_grace(lg, grace, o);
}

/* True when s[0..n) are all ASCII digits. */
static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A right code: the wrong-code count on the entry starts again. */
static void code_accepted(const struct mailotp_services *s, struct mailotp_account *a,
                          const char *why, struct mailotp_outcome *o)
{
	int r;

	if ((r = mailotp_account_reset_failures(s->ldap, a)) != 0)
		mailotp_log(LOG_WARNING, "auth: could not clear the wrong-code count: %s",
		            mailotp_strerror(r));
	o->status = MAILOTP_ST_OK;
	set_reason(o, why);
}

/*
 * A wrong code, with tries_left answers still allowed for it: counted in
 * the directory first, so that no host, no session and no restart gives
 * an attacker more guesses. Returns true with the error text set when
 * the code may be tried again; false with the outcome final (the count
 * could not be written, the account is now locked, or no tries are left).
 */
static bool code_wrong(const struct mailotp_services *s, struct mailotp_account *a, int tries_left,
                       struct mailotp_outcome *o)
{
	const struct mailotp_config *cfg = s->cfg;
	time_t now = s->now();
	int r, wait;

	if ((r = mailotp_account_record_failure(s->ldap, a, now, cfg->otp_lockout_time)) != 0) {
		directory_failed(o, r, "cannot count a wrong code");
		return false;
	}
	if (mailotp_account_code_locked(a, now, cfg->otp_lockout_failures, cfg->otp_lockout_time,
	                                &wait)) {
		o->status = MAILOTP_ST_MAXTRIES;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_LOCKED);
		snprintf(o->reason, sizeof(o->reason),
		         "wrong code; %ld wrong codes in a row, account locked for %d s",
		         a->otp_failures, wait);
		return false;
	}
	if (tries_left <= 0) {
		o->status = MAILOTP_ST_MAXTRIES;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_MAXTRIES);
		set_reason(o, "wrong code, no tries left");
		return false;
	}
	mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_CODE_WRONG, tries_left);
	snprintf(o->reason, sizeof(o->reason), "wrong code, %d tries left", tries_left);
	return true;
}

/*
 * Checks the head of a combined answer (all but the last n characters)
 * as the password, in a copy wiped at once. The caller's timing start is
 * kept for the padding; the bind is timed on its own.
 */
static enum pw_check check_head(const struct mailotp_services *s, struct mailotp_login *lg,
                                const char *secret, size_t pwlen, int *grace,
                                struct mailotp_outcome *o)
{
	enum pw_check pc;
	char *pw;

	if ((pw = malloc(pwlen + 1)) == NULL) {
		o->status = MAILOTP_ST_UNAVAIL;
		set_reason(o, "out of memory");
		return PW_DONE;
	}
	memcpy(pw, secret, pwlen);
	pw[pwlen] = '\0';
	pc = check_password(s, lg, pw, mailotp_now_ns(), grace, o);
	sodium_memzero(pw, pwlen);
	free(pw);
	return pc;
}

/*
 * The right password was followed by digits: they are the pending code,
 * or a wrong one (counted on the entry like any wrong code, so guesses
 * spread over many requests gain nothing), or a stale one (used, expired,
 * or never mailed: a browser re-sending old credentials), which is
 * refused without counting anything. Nothing here fails a bind, so old
 * credentials re-sent by a browser never feed the directory's lockout.
 */
static void combined_code(const struct mailotp_services *s, struct mailotp_login *lg,
                          const char *digits, struct mailotp_outcome *o)
{
	struct mailotp_account *a = lg->acct;
	int r, tries = 0;

	r = mailotp_pending_check(s->pending, a->dn, digits, code_clock(s), &tries);
	if (r == 0) {
		if (a->temp_expiry != 0 && s->now() >= a->temp_expiry) {
			mailotp_textf(o->error, sizeof(o->error), a->lang,
			              MAILOTP_TXT_TEMP_EXPIRED);
			set_reason(o, "temporary password expired");
			return;
		}
		code_accepted(s, a, "password and code accepted", o);
		return;
	}
	if (r != MAILOTP_ERR_BAD_CODE && r != MAILOTP_ERR_MAXTRIES) {
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_CODE_STALE);
		set_reason(o, r == MAILOTP_ERR_EXPIRED ? "right password, code expired"
		                                       : "right password, no code pending (used "
		                                         "or never mailed)");
		return;
	}
	/* No follow-up request: the status stays DENIED even with tries left. */
	if (!code_wrong(s, a, tries, o))
		mailotp_pending_drop(s->pending, a->dn);
}

void mailotp_login_combined(const struct mailotp_services *s,
                            const struct mailotp_login_request *req, struct mailotp_outcome *o)
{
	const char *secret = req->password != NULL ? req->password : "";
	size_t len = strlen(secret), n = (size_t)s->cfg->otp_digits;
	bool tail = len > n && all_digits(secret + len - n, n);
	struct mailotp_login lg;
	uint64_t start = mailotp_now_ns();
	int grace = -1, found, r;

	outcome_reset(o);
	mailotp_login_init(&lg);
	if (s->pending == NULL) {
		o->status = MAILOTP_ST_BAD_REQUEST;
		set_reason(o, "combined logins are not served here");
		return;
	}
	if (!lookup(s, req->user, &lg, &found, o))
		return;
	if (len == 0 || !found) {
		set_reason(o, len == 0 ? "empty password" : "unknown account");
		refuse(s, &lg, start, o);
		/* A known account's answer ending in digits may take two binds. */
		if (tail)
			mailotp_timing_pad(s->timing, mailotp_now_ns());
		return;
	}
	/* Password and code? The head is tried as the password first. */
	if (tail) {
		switch (check_head(s, &lg, secret, len - n, &grace, o)) {
		case PW_OK:
			combined_code(s, &lg, secret + len - n, o);
			goto out;
		case PW_DONE:
			goto out;
		case PW_REFUSE:
			break;
		}
	}
	/* The whole answer as the password (it may end in digits of its own). */
	switch (check_password(s, &lg, secret, mailotp_now_ns(), &grace, o)) {
	case PW_OK:
		break;
	case PW_DONE:
		goto out;
	case PW_REFUSE:
		refuse(s, &lg, start, o);
		goto out;
	}
	if (!may_mail_code(s, &lg, o))
		goto out;
	send_code(s, req, &lg, o);
	if (o->status != MAILOTP_ST_OK)
		goto out;
	{
		char masked[320];

		lg.code_pending = false;
		if ((r = mailotp_pending_put(s->pending, lg.acct->dn, &lg.otp, code_clock(s))) !=
		    0) {
			directory_failed(o, r, "cannot keep the code");
			goto out;
		}
		(void)mailotp_mask_address(lg.acct->mail, masked, sizeof(masked));
		/* This request fails; the next one, with the code, passes. */
		o->status = MAILOTP_ST_DENIED;
		o->prompt[0] = '\0';
		mailotp_textf(o->info, sizeof(o->info), lg.acct->lang,
		              MAILOTP_TXT_CODE_SENT_COMBINED, masked);
		note_grace(&lg, grace, o);
		set_reason(o, "password accepted, code mailed for the next sign-in");
	}
out:
	mailotp_login_clear(&lg);
}

void mailotp_login_code(const struct mailotp_services *s, struct mailotp_login *lg,
                        const char *answer, struct mailotp_outcome *o)
{
	struct mailotp_account *a = lg->acct;
	int r;

	outcome_reset(o);
	if (!lg->code_pending || a == NULL) {
		o->status = MAILOTP_ST_BAD_REQUEST;
		set_reason(o, "code sent before a code was asked");
		return;
	}
	r = mailotp_otp_check(&lg->otp, answer != NULL ? answer : "", code_clock(s));
	if (r == 0) {
		lg->code_pending = false;
		code_accepted(s, a, "code accepted", o);
		return;
	}
	if (r == MAILOTP_ERR_EXPIRED) {
		lg->code_pending = false;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_CODE_EXPIRED);
		set_reason(o, "code expired");
		return;
	}
	if (!code_wrong(s, a, r == MAILOTP_ERR_MAXTRIES ? 0 : lg->otp.tries_left, o)) {
		lg->code_pending = false;
		return;
	}
	o->status = MAILOTP_ST_RETRY;
	o->remaining = lg->otp.tries_left;
	mailotp_textf(o->prompt, sizeof(o->prompt), a->lang, MAILOTP_TXT_CODE_PROMPT);
}
