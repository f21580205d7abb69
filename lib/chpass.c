/* The account stage and the password change (see chpass.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "account.h"
#include "chpass.h"
#include "escape.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "policy.h"
#include "pwhash.h"

static void reset_outcome(struct mailotp_outcome *o, enum mailotp_status st)
{
	memset(o, 0, sizeof(*o));
	o->status = st;
}

static void lookup_failed(struct mailotp_outcome *o, int r)
{
	if (r == MAILOTP_ERR_NOT_FOUND) {
		o->status = MAILOTP_ST_USER_UNKNOWN;
		snprintf(o->reason, sizeof(o->reason), "unknown account");
	} else {
		o->status = MAILOTP_ST_UNAVAIL;
		snprintf(o->reason, sizeof(o->reason), "account lookup failed: %s",
		         mailotp_strerror(r));
	}
}

/* The account stage after consent: forced change and temporary passwords. */
static void acct_state(const struct mailotp_services *s, const struct mailotp_account *a,
                       struct mailotp_outcome *o)
{
	if (a->temp_expiry != 0 && s->now() >= a->temp_expiry) {
		/* Whatever authenticated the user (an SSH key, another module),
		 * the expired temporary password cannot be changed from: a new
		 * one must be asked for. */
		o->status = MAILOTP_ST_ACCT_EXPIRED;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_TEMP_EXPIRED);
		snprintf(o->reason, sizeof(o->reason), "temporary password expired");
	} else if (a->pw_reset || a->grace_used) {
		/* ppolicy: changeAfterReset, or an expired password in its grace logins. */
		o->status = MAILOTP_ST_NEW_AUTHTOK_REQD;
		mailotp_textf(o->info, sizeof(o->info), a->lang,
		              a->pw_reset ? MAILOTP_TXT_PW_ADMIN_RESET : MAILOTP_TXT_MUST_CHANGE);
		snprintf(o->reason, sizeof(o->reason), "%s",
		         a->pw_reset ? "ppolicy: change after reset"
		                     : "ppolicy: password expired, grace logins in use");
	} else if (a->temp_expiry != 0 || a->must_change) {
		o->status = MAILOTP_ST_NEW_AUTHTOK_REQD;
		mailotp_textf(o->info, sizeof(o->info), a->lang, MAILOTP_TXT_MUST_CHANGE);
		snprintf(o->reason, sizeof(o->reason), "%s",
		         a->temp_expiry != 0 ? "temporary password: change required"
		                             : "password change required");
	} else {
		o->status = MAILOTP_ST_OK;
		snprintf(o->reason, sizeof(o->reason), "account in good standing");
	}
}

static bool consent_needed(const struct mailotp_services *s, const struct mailotp_account *a)
{
	return s->terms_text != NULL &&
	       (a->consent_version == NULL || strcmp(a->consent_version, s->terms_version) != 0);
}

void mailotp_acct_check(const struct mailotp_services *s, const char *user,
                        struct mailotp_outcome *o)
{
	struct mailotp_account *a = NULL;
	int r;

	reset_outcome(o, MAILOTP_ST_DENIED);
	if ((r = mailotp_account_find(s->ldap, s->cfg, user, &a)) != 0) {
		lookup_failed(o, r);
		return;
	}
	if (consent_needed(s, a)) {
		o->status = MAILOTP_ST_CONSENT_REQUIRED;
		/* The whole text travels in the reply's own field (INFO of the
		 * outcome is too small): the daemon sends s->terms_text. */
		mailotp_textf(o->prompt, sizeof(o->prompt), a->lang, MAILOTP_TXT_CONSENT_PROMPT);
		snprintf(o->reason, sizeof(o->reason),
		         "terms version %.40s not yet accepted (has %.40s)", s->terms_version,
		         a->consent_version != NULL ? a->consent_version : "none");
	} else {
		acct_state(s, a, o);
	}
	mailotp_account_free(a);
}

void mailotp_acct_consent(const struct mailotp_services *s, const char *user, const char *answer,
                          const char *from, struct mailotp_outcome *o)
{
	struct mailotp_account *a = NULL;
	int r;

	reset_outcome(o, MAILOTP_ST_PERM_DENIED);
	if ((r = mailotp_account_find(s->ldap, s->cfg, user, &a)) != 0) {
		lookup_failed(o, r);
		return;
	}
	/* Exactly the word: not "y", not "YES ", not an empty line. */
	if (answer == NULL || (strcmp(answer, "yes") != 0 && strcmp(answer, "はい") != 0)) {
		o->status = MAILOTP_ST_PERM_DENIED;
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_CONSENT_REFUSED);
		snprintf(o->reason, sizeof(o->reason), "terms version %s refused",
		         s->terms_version);
		goto out;
	}
	if ((r = mailotp_account_set_consent(s->ldap, a, s->terms_version, s->now(), from)) != 0) {
		o->status = MAILOTP_ST_UNAVAIL;
		snprintf(o->reason, sizeof(o->reason), "cannot store the consent: %s",
		         mailotp_strerror(r));
		goto out;
	}
	acct_state(s, a, o);
	{
		char why[200];
		snprintf(why, sizeof(why), "terms version %.40s accepted; %.100s", s->terms_version,
		         o->reason);
		snprintf(o->reason, sizeof(o->reason), "%.159s", why);
	}
out:
	mailotp_account_free(a);
}

int mailotp_password_check(const struct mailotp_services *s, const struct mailotp_account *a,
                           const char *password, const char *lang, char *msg, size_t msglen,
                           unsigned *failed)
{
	const char *personal[3];
	char local[256];
	size_t np = 0;

	if (a->login != NULL)
		personal[np++] = a->login;
	if (a->mail != NULL) {
		snprintf(local, sizeof(local), "%.*s", (int)strcspn(a->mail, "@"), a->mail);
		personal[np++] = local;
	}
	if (a->name != NULL)
		personal[np++] = a->name;
	*failed = 0;
	if (mailotp_policy_check(s->policy, password, personal, np, failed) == 0)
		return 0;
	mailotp_policy_explain(*failed, s->cfg, lang, msg, msglen);
	return MAILOTP_ERR_POLICY;
}

void mailotp_chpass(const struct mailotp_services *s, const char *user, const char *old_password,
                    const char *new_password, bool prelim_only, const char *rhost,
                    struct mailotp_outcome *o)
{
	const struct mailotp_config *cfg = s->cfg;
	struct mailotp_account *a = NULL;
	struct mailotp_bind_result br;
	char *hash = NULL;
	unsigned failed = 0;
	int r;

	reset_outcome(o, MAILOTP_ST_AUTHTOK_ERR);
	if ((r = mailotp_account_find(s->ldap, cfg, user, &a)) != 0) {
		lookup_failed(o, r);
		goto out;
	}
	/* Asked before the current password is: is this a directory account at
	 * all? (A local account goes on to the next module without being asked
	 * for its password twice.) */
	if (old_password == NULL) {
		o->status = MAILOTP_ST_OK;
		snprintf(o->reason, sizeof(o->reason), "directory account");
		goto out;
	}
	/* The current password, checked by the directory itself. */
	r = mailotp_ldap_check_password(s->ldap, a->dn, old_password, &br);
	/* ppolicy answers passwordExpired only when the password matched: an
	 * expired current password is the very one this change replaces. */
	if (r == MAILOTP_ERR_BAD_PASSWORD && br.ppolicy_error == PP_passwordExpired)
		r = 0;
	if (r == MAILOTP_ERR_BAD_PASSWORD ||
	    (r == 0 && a->temp_expiry != 0 && s->now() >= a->temp_expiry)) {
		o->status = MAILOTP_ST_AUTHTOK_RECOVERY_ERR;
		mailotp_textf(o->error, sizeof(o->error), a->lang,
		              r == 0 ? MAILOTP_TXT_TEMP_EXPIRED : MAILOTP_TXT_OLD_WRONG);
		snprintf(o->reason, sizeof(o->reason), "%s",
		         r == 0 ? "temporary password expired" : "current password wrong");
		goto out;
	}
	if (r != 0) {
		lookup_failed(o, r);
		goto out;
	}
	if (prelim_only) {
		o->status = MAILOTP_ST_OK;
		snprintf(o->reason, sizeof(o->reason), "current password accepted");
		goto out;
	}
	if (new_password == NULL || strcmp(new_password, old_password) == 0) {
		mailotp_textf(o->error, sizeof(o->error), a->lang, MAILOTP_TXT_SAME_PASSWORD);
		snprintf(o->reason, sizeof(o->reason), "new password equals the current one");
		goto out;
	}
	if (mailotp_password_check(s, a, new_password, a->lang, o->error, sizeof(o->error),
	                           &failed) != 0) {
		snprintf(o->reason, sizeof(o->reason), "new password refused by the policy (0x%x)",
		         failed);
		goto out;
	}
	if ((r = mailotp_pwhash(new_password, cfg->password_hash_opslimit,
	                        cfg->password_hash_memlimit, &hash)) != 0 ||
	    (r = mailotp_account_set_password(s->ldap, a, hash, s->now())) != 0) {
		o->status = MAILOTP_ST_UNAVAIL;
		snprintf(o->reason, sizeof(o->reason), "cannot store the new password: %s",
		         mailotp_strerror(r));
		goto out;
	}
	o->status = MAILOTP_ST_OK;
	mailotp_textf(o->info, sizeof(o->info), a->lang, MAILOTP_TXT_PASSWORD_CHANGED);
	snprintf(o->reason, sizeof(o->reason), "password changed (argon2id)");
	mailotp_notify_changed(s, a, rhost);
out:
	if (hash != NULL) {
		sodium_memzero(hash, strlen(hash));
		free(hash);
	}
	mailotp_account_free(a);
}

/* Mails the "password changed" notice to the account and its notify recipients. */
/* A notice to mail, copied out of the account so it can wait in the queue. */
struct notice {
	char *to[1 + MAILOTP_MAX_NOTIFY];
	size_t n;
	char *lang, *login, *name, *client, *dn;
	time_t when;
};

static void notice_free(void *arg)
{
	struct notice *nt = arg;

	if (nt == NULL)
		return;
	for (size_t i = 0; i < nt->n; i++)
		free(nt->to[i]);
	free(nt->lang);
	free(nt->login);
	free(nt->name);
	free(nt->client);
	free(nt->dn);
	free(nt);
}

static void notice_send(const struct mailotp_services *s, void *arg)
{
	const struct notice *nt = arg;
	const char *to[1 + MAILOTP_MAX_NOTIFY];
	char when[32], err[256];
	struct tm tm;
	int r;

	for (size_t i = 0; i < nt->n; i++)
		to[i] = nt->to[i];
	gmtime_r(&nt->when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	{
		const struct mailotp_tvar vars[] = {
		    {"user", nt->login != NULL ? nt->login : ""},
		    {"name", nt->name != NULL ? nt->name : (nt->login != NULL ? nt->login : "")},
		    {"time", when},
		    {"rhost", nt->client != NULL && nt->client[0] != '\0' ? nt->client : "local"},
		};
		r = mailotp_mail_send_template(s->cfg, s->smtp_password, s->templates, nt->lang,
		                               MAILOTP_TMPL_PASSWORD_CHANGED, to, nt->n, vars,
		                               sizeof(vars) / sizeof(vars[0]), NULL, err,
		                               sizeof(err));
	}
	if (r != 0) {
		char dn[256];
		mailotp_log_escape(nt->dn, dn, sizeof(dn));
		mailotp_log(LOG_ERR, "notice: dn=\"%s\" result=failed: %s", dn, err);
	}
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void mailotp_notify_changed(const struct mailotp_services *s, const struct mailotp_account *a,
                            const char *client)
{
	struct notice *nt;

	if ((nt = calloc(1, sizeof(*nt))) == NULL)
		goto nomem;
	if (a->mail != NULL && (nt->to[nt->n++] = strdup(a->mail)) == NULL)
		goto nomem;
	for (size_t i = 0; i < a->n_notify; i++)
		if ((nt->to[nt->n++] = strdup(a->notify[i])) == NULL)
			goto nomem;
	if (nt->n == 0) {
		notice_free(nt);
		return;
	}
	nt->lang = dup_or_null(a->lang);
	nt->login = dup_or_null(a->login);
	nt->name = dup_or_null(a->name);
	nt->client = dup_or_null(client);
	nt->dn = dup_or_null(a->dn);
	nt->when = s->now();
	/* From the queue, so neither a web answer nor a PAM password change
	 * waits for the mail server (the change itself is already done). */
	if (s->defer == NULL) {
		notice_send(s, nt);
		notice_free(nt);
	} else if (s->defer(s, notice_send, nt, notice_free) != 0) {
		mailotp_log(LOG_WARNING,
		            "notice: queue full, the password-changed notice was dropped");
	}
	return;
nomem:
	notice_free(nt);
	mailotp_log(LOG_ERR, "notice: out of memory, not sent");
}
