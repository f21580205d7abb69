/* Reset by mail: request, check, complete (see reset.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account.h"
#include "chpass.h"
#include "escape.h"
#include "i18n.h"
#include "log.h"
#include "mail.h"
#include "message.h"
#include "policy.h"
#include "pwhash.h"
#include "reset.h"
#include "token.h"

/* Temporary passwords: 16 characters from an alphabet without look-alikes
 * (no 0/O, 1/l/I), in four groups, so every class appears. */
#define TEMP_LEN 16

static void outcome_init(struct mailotp_reset_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->status = MAILOTP_RESET_OK;
}

static void form_error(struct mailotp_reset_outcome *o, enum mailotp_reset_field field,
                       const char *lang, enum mailotp_text_id id, const char *why)
{
	o->status = MAILOTP_RESET_FORM_ERROR;
	o->field = field;
	mailotp_textf(o->message, sizeof(o->message), lang, id);
	snprintf(o->reason, sizeof(o->reason), "%s", why);
}

static void unavailable(struct mailotp_reset_outcome *o, const char *lang, int r)
{
	o->status = MAILOTP_RESET_UNAVAILABLE;
	mailotp_textf(o->message, sizeof(o->message), lang, MAILOTP_TXT_RESET_UNAVAILABLE);
	snprintf(o->reason, sizeof(o->reason), "directory: %s", mailotp_strerror(r));
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* The request as copied for the background job. */
struct job {
	char *email, *realm, *user, *client;
};

static void job_free(void *arg)
{
	struct job *j = arg;

	if (j == NULL)
		return;
	free(j->email);
	free(j->realm);
	free(j->user);
	free(j->client);
	free(j);
}

static void temp_password(char *out)
{
	static const char *const sets[4] = {"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz",
	                                    "23456789", "#%+-=?@"};
	for (size_t i = 0; i < TEMP_LEN; i++) {
		/* Positions 0, 5, 10, 15 carry upper, lower, digit, symbol for
		 * sure; every other one is drawn from letters and digits. */
		const char *set;
		if (i % 5 == 0)
			set = sets[i / 5];
		else
			set = sets[randombytes_uniform(3)];
		out[i] = set[randombytes_uniform((uint32_t)strlen(set))];
	}
	out[TEMP_LEN] = '\0';
}

static void minutes_str(int seconds, char *buf, size_t len)
{
	snprintf(buf, len, "%d", (seconds + 59) / 60);
}

/* Mails a single-use link. Returns 0 or an error (logged by the caller). */
static int issue_link(const struct mailotp_services *s, struct mailotp_account *a, time_t now,
                      enum mailotp_token_purpose purpose, int ttl, const char *tmpl, char *err,
                      size_t errlen)
{
	const struct mailotp_config *cfg = s->cfg;
	char token[MAILOTP_TOKEN_LEN + 1], hex[MAILOTP_TOKEN_HASH_HEX],
	    info[MAILOTP_TOKEN_INFO_LEN];
	char url[512], minutes[16], hours[16];
	const char *to[1] = {a->mail};
	int r;

	if ((r = mailotp_token_new(token, hex)) != 0)
		return r;
	mailotp_token_info(purpose, now + ttl, info);
	/* The link is built from reset_public_url only, never from the request. */
	snprintf(url, sizeof(url), "%s/%s?token=%s", cfg->reset_public_url,
	         purpose == MAILOTP_TOKEN_INVITE ? "invite" : "reset", token);
	sodium_memzero(token, sizeof(token));
	if ((r = mailotp_account_set_token(s->ldap, a, hex, info)) != 0) {
		snprintf(err, errlen, "cannot store the token: %s", mailotp_strerror(r));
		goto out;
	}
	minutes_str(ttl, minutes, sizeof(minutes));
	snprintf(hours, sizeof(hours), "%d", (ttl + 3599) / 3600);
	{
		const struct mailotp_tvar vars[] = {
		    {"url", url},
		    {"minutes", minutes},
		    {"hours", hours},
		    {"user", a->login != NULL ? a->login : ""},
		    {"name", a->name != NULL ? a->name : (a->login != NULL ? a->login : "")},
		};
		r = mailotp_mail_send_template(cfg, s->smtp_password, s->templates, a->lang, tmpl,
		                               to, 1, vars, sizeof(vars) / sizeof(vars[0]), NULL,
		                               err, errlen);
	}
out:
	sodium_memzero(url, sizeof(url));
	return r;
}

/*
 * Mails a temporary password, then sets it. The mail goes first: if it
 * cannot be sent, the account keeps its password; if the directory then
 * refuses the write, the mailed password simply does not work.
 */
static int issue_temporary(const struct mailotp_services *s, struct mailotp_account *a, time_t now,
                           char *err, size_t errlen)
{
	const struct mailotp_config *cfg = s->cfg;
	char pw[TEMP_LEN + 1], minutes[16], *hash = NULL;
	const char *to[1] = {a->mail};
	int r;

	temp_password(pw);
	if ((r = mailotp_pwhash(pw, cfg->password_hash_opslimit, cfg->password_hash_memlimit,
	                        &hash)) != 0) {
		snprintf(err, errlen, "cannot hash: %s", mailotp_strerror(r));
		goto out;
	}
	minutes_str(cfg->reset_ttl, minutes, sizeof(minutes));
	{
		const struct mailotp_tvar vars[] = {
		    {"password", pw},
		    {"minutes", minutes},
		    {"user", a->login != NULL ? a->login : ""},
		    {"name", a->name != NULL ? a->name : (a->login != NULL ? a->login : "")},
		};
		r = mailotp_mail_send_template(cfg, s->smtp_password, s->templates, a->lang,
		                               MAILOTP_TMPL_RESET_TEMPORARY, to, 1, vars,
		                               sizeof(vars) / sizeof(vars[0]), NULL, err, errlen);
	}
	if (r != 0)
		goto out;
	if ((r = mailotp_account_set_temporary(s->ldap, a, hash, now + cfg->reset_ttl)) != 0)
		snprintf(err, errlen, "mailed, but the directory refused it: %s",
		         mailotp_strerror(r));
out:
	sodium_memzero(pw, sizeof(pw));
	if (hash != NULL) {
		sodium_memzero(hash, strlen(hash));
		free(hash);
	}
	return r;
}

int mailotp_reset_issue(const struct mailotp_services *s, struct mailotp_account *a,
                        enum mailotp_issue_kind kind, char *err, size_t errlen)
{
	time_t now = s->now();

	if (a->mail == NULL) {
		snprintf(err, errlen, "the account has no valid mail address");
		return MAILOTP_ERR_NO_MAIL;
	}
	switch (kind) {
	case MAILOTP_ISSUE_RESET_LINK:
		return issue_link(s, a, now, MAILOTP_TOKEN_RESET, s->cfg->reset_ttl,
		                  MAILOTP_TMPL_RESET_LINK, err, errlen);
	case MAILOTP_ISSUE_INVITE:
		return issue_link(s, a, now, MAILOTP_TOKEN_INVITE, s->cfg->invite_ttl,
		                  MAILOTP_TMPL_INVITE, err, errlen);
	case MAILOTP_ISSUE_TEMPORARY:
		return issue_temporary(s, a, now, err, errlen);
	}
	snprintf(err, errlen, "unknown kind of issue");
	return MAILOTP_ERR_INVALID;
}

/* The background half of a request: lookup, issue, mail. Logs every decision. */
static void request_job(const struct mailotp_services *s, void *arg)
{
	const struct mailotp_config *cfg = s->cfg;
	struct job *j = arg;
	struct mailotp_account *a = NULL;
	char who[96], client[64], dn[256], err[256];
	time_t now = s->now();
	int r, wait;

	mailotp_log_escape(j->user != NULL ? j->user : j->email, who, sizeof(who));
	mailotp_log_escape(j->client, client, sizeof(client));
	if (cfg->reset_request_fields == MAILOTP_FIELDS_EMAIL) {
		r = mailotp_account_find_by_mail(s->ldap, cfg, j->email, &a);
	} else {
		r = mailotp_account_find(s->ldap, cfg, j->user, &a);
		/* Realm and address must agree too; which one did not is not told. */
		if (r == 0 && (a->realm == NULL || strcmp(a->realm, j->realm) != 0 ||
		               a->mail == NULL || strcasecmp(a->mail, j->email) != 0)) {
			mailotp_account_free(a);
			a = NULL;
			r = MAILOTP_ERR_NOT_FOUND;
		}
	}
	if (r != 0) {
		mailotp_log(
		    LOG_NOTICE, "reset-request: for=\"%s\" client=\"%s\" result=no-mail: %s", who,
		    client,
		    r == MAILOTP_ERR_NOT_FOUND ? "no matching account" : mailotp_strerror(r));
		goto out;
	}
	if (a->mail == NULL) {
		mailotp_log(LOG_NOTICE,
		            "reset-request: for=\"%s\" client=\"%s\" result=no-mail: the account "
		            "has no valid mail address",
		            who, client);
		goto out;
	}
	if ((r = mailotp_account_claim_reset(s->ldap, a, now, MAILOTP_RESET_MIN_INTERVAL, &wait)) !=
	    0) {
		mailotp_log(LOG_NOTICE,
		            "reset-request: for=\"%s\" client=\"%s\" result=no-mail: %s", who,
		            client,
		            r == MAILOTP_ERR_THROTTLED ? "asked again too soon (mail bombing guard)"
		                                       : mailotp_strerror(r));
		goto out;
	}
	r = mailotp_reset_issue(s, a,
	                        cfg->reset_mode == MAILOTP_RESET_TEMPORARY
	                            ? MAILOTP_ISSUE_TEMPORARY
	                            : MAILOTP_ISSUE_RESET_LINK,
	                        err, sizeof(err));
	mailotp_log_escape(a->dn, dn, sizeof(dn));
	if (r != 0)
		mailotp_log(LOG_ERR,
		            "reset-request: for=\"%s\" dn=\"%s\" client=\"%s\" result=failed: %s",
		            who, dn, client, err);
	else
		mailotp_log(LOG_NOTICE,
		            "reset-request: for=\"%s\" dn=\"%s\" client=\"%s\" result=mailed: %s",
		            who, dn, client,
		            cfg->reset_mode == MAILOTP_RESET_TEMPORARY ? "temporary password"
		                                                       : "reset link");
out:
	mailotp_account_free(a);
}

void mailotp_reset_request(const struct mailotp_services *s,
                           const struct mailotp_reset_request *req, struct mailotp_reset_outcome *o)
{
	const struct mailotp_config *cfg = s->cfg;
	const char *lang = mailotp_lang_pick(req->lang);
	struct job *j;
	int r;

	outcome_init(o);
	if (cfg->reset_request_fields == MAILOTP_FIELDS_EMAIL) {
		if (empty(req->email))
			return form_error(o, MAILOTP_FIELD_EMAIL, lang, MAILOTP_TXT_RESET_MISSING,
			                  "e-mail missing");
		if (empty(req->email_confirm))
			return form_error(o, MAILOTP_FIELD_EMAIL_CONFIRM, lang,
			                  MAILOTP_TXT_RESET_MISSING, "confirmation missing");
		if (!mailotp_addr_valid(req->email))
			return form_error(o, MAILOTP_FIELD_EMAIL, lang, MAILOTP_TXT_RESET_BAD_EMAIL,
			                  "not an e-mail address");
		if (strcasecmp(req->email, req->email_confirm) != 0)
			return form_error(o, MAILOTP_FIELD_EMAIL_CONFIRM, lang,
			                  MAILOTP_TXT_RESET_EMAIL_MISMATCH,
			                  "e-mail and confirmation differ");
	} else {
		if (empty(req->realm))
			return form_error(o, MAILOTP_FIELD_REALM, lang, MAILOTP_TXT_RESET_MISSING,
			                  "realm missing");
		if (empty(req->user))
			return form_error(o, MAILOTP_FIELD_USER, lang, MAILOTP_TXT_RESET_MISSING,
			                  "user missing");
		if (empty(req->email))
			return form_error(o, MAILOTP_FIELD_EMAIL, lang, MAILOTP_TXT_RESET_MISSING,
			                  "e-mail missing");
		if (!mailotp_addr_valid(req->email))
			return form_error(o, MAILOTP_FIELD_EMAIL, lang, MAILOTP_TXT_RESET_BAD_EMAIL,
			                  "not an e-mail address");
	}
	/* The answer must not depend on the account: only the directory's
	 * health is checked now, everything else happens in the background. */
	if ((r = mailotp_ldap_ping(s->ldap)) != 0)
		return unavailable(o, lang, r);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return unavailable(o, lang, MAILOTP_ERR_NOMEM);
	j->email = strdup(req->email);
	j->realm = req->realm != NULL ? strdup(req->realm) : NULL;
	j->user = req->user != NULL ? strdup(req->user) : NULL;
	j->client = strdup(req->client != NULL ? req->client : "");
	if (j->email == NULL || j->client == NULL || (req->realm != NULL && j->realm == NULL) ||
	    (req->user != NULL && j->user == NULL)) {
		job_free(j);
		return unavailable(o, lang, MAILOTP_ERR_NOMEM);
	}
	if (s->defer == NULL) {
		request_job(s, j);
		job_free(j);
	} else if ((r = s->defer(s, request_job, j, job_free)) != 0) {
		/* Overload: dropped, and said so in the log only (the page must not
		 * differ for existing accounts). */
		mailotp_log(LOG_WARNING, "reset-request: queue full, request dropped");
	}
	mailotp_textf(o->message, sizeof(o->message), lang,
	              cfg->reset_mode == MAILOTP_RESET_TEMPORARY ? MAILOTP_TXT_RESET_SENT_TEMP
	                                                         : MAILOTP_TXT_RESET_SENT_LINK,
	              (cfg->reset_ttl + 59) / 60);
	snprintf(o->reason, sizeof(o->reason), "request accepted");
}

/* Finds the live token's account; BAD_TOKEN for anything else. */
static int find_live(const struct mailotp_services *s, const char *token,
                     enum mailotp_token_purpose want, char *hex, struct mailotp_account **out,
                     struct mailotp_reset_outcome *o, const char *lang)
{
	enum mailotp_token_purpose purpose;
	time_t expires;
	int r;

	*out = NULL;
	if (mailotp_token_hash(token, hex) != 0) {
		snprintf(o->reason, sizeof(o->reason), "malformed token");
		goto bad;
	}
	r = mailotp_account_find_by_token(s->ldap, s->cfg, hex, out);
	if (r != 0 && r != MAILOTP_ERR_NOT_FOUND) {
		unavailable(o, lang, r);
		return r;
	}
	if (r != 0) {
		snprintf(o->reason, sizeof(o->reason), "unknown or used token");
		goto bad;
	}
	if (mailotp_token_info_parse((*out)->token_info, &purpose, &expires) != 0) {
		snprintf(o->reason, sizeof(o->reason), "token without valid info");
		goto bad;
	}
	if (purpose != want) {
		snprintf(o->reason, sizeof(o->reason), "token of another purpose (%s)",
		         purpose == MAILOTP_TOKEN_INVITE ? "invite" : "reset");
		goto bad;
	}
	if (s->now() >= expires) {
		snprintf(o->reason, sizeof(o->reason), "token expired");
		goto bad;
	}
	return 0;
bad:
	mailotp_account_free(*out);
	*out = NULL;
	o->status = MAILOTP_RESET_BAD_TOKEN;
	mailotp_textf(o->message, sizeof(o->message), lang, MAILOTP_TXT_RESET_BAD_TOKEN);
	return MAILOTP_ERR_INVALID;
}

void mailotp_reset_check(const struct mailotp_services *s, const char *token,
                         enum mailotp_token_purpose purpose, struct mailotp_reset_outcome *o)
{
	struct mailotp_account *a = NULL;
	char hex[MAILOTP_TOKEN_HASH_HEX];

	outcome_init(o);
	if (find_live(s, token, purpose, hex, &a, o, "en") == 0)
		snprintf(o->reason, sizeof(o->reason), "token valid");
	mailotp_account_free(a);
}

void mailotp_reset_complete(const struct mailotp_services *s, const char *token,
                            enum mailotp_token_purpose purpose, const char *password,
                            const char *password_confirm, const char *lang, const char *client,
                            struct mailotp_reset_outcome *o)
{
	const struct mailotp_config *cfg = s->cfg;
	struct mailotp_account *a = NULL;
	char hex[MAILOTP_TOKEN_HASH_HEX], *hash = NULL, local[256];
	unsigned failed = 0;
	int r;

	outcome_init(o);
	lang = mailotp_lang_pick(lang);
	if (find_live(s, token, purpose, hex, &a, o, lang) != 0)
		goto out;
	if (empty(password) || empty(password_confirm)) {
		form_error(
		    o, empty(password) ? MAILOTP_FIELD_PASSWORD : MAILOTP_FIELD_PASSWORD_CONFIRM,
		    lang, MAILOTP_TXT_RESET_MISSING, "password missing");
		goto out;
	}
	if (strcmp(password, password_confirm) != 0) {
		form_error(o, MAILOTP_FIELD_PASSWORD_CONFIRM, lang, MAILOTP_TXT_RESET_PW_MISMATCH,
		           "passwords differ");
		goto out;
	}
	if (mailotp_password_check(s, a, password, lang, o->message, sizeof(o->message), &failed) !=
	    0) {
		o->status = MAILOTP_RESET_POLICY;
		o->field = MAILOTP_FIELD_PASSWORD;
		snprintf(o->reason, sizeof(o->reason), "password refused by the policy (0x%x)",
		         failed);
		goto out;
	}
	if ((r = mailotp_pwhash(password, cfg->password_hash_opslimit, cfg->password_hash_memlimit,
	                        &hash)) != 0) {
		unavailable(o, lang, r);
		goto out;
	}
	r = mailotp_account_use_token(s->ldap, a, hex, hash, s->now());
	if (r == MAILOTP_ERR_CONFLICT) {
		o->status = MAILOTP_RESET_BAD_TOKEN;
		mailotp_textf(o->message, sizeof(o->message), lang, MAILOTP_TXT_RESET_BAD_TOKEN);
		snprintf(o->reason, sizeof(o->reason),
		         "token used concurrently by another request");
		goto out;
	}
	if (r != 0) {
		unavailable(o, lang, r);
		goto out;
	}
	mailotp_textf(o->message, sizeof(o->message), lang, MAILOTP_TXT_RESET_DONE);
	snprintf(o->reason, sizeof(o->reason), "password set (argon2id), token used up");
	mailotp_log_escape(a->dn, local, sizeof(local));
	mailotp_log(LOG_NOTICE, "reset: dn=\"%s\" result=password-set", local);
	mailotp_notify_changed(s, a, client);
out:
	if (hash != NULL) {
		sodium_memzero(hash, strlen(hash));
		free(hash);
	}
	mailotp_account_free(a);
}
