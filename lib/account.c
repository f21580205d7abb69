/* Accounts and their per-account state in the directory (see account.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "account.h"
#include "escape.h"
#include "i18n.h"
#include "log.h"
#include "message.h"

#define OC_AUX "mailotpAccount"
#define AT_SENT "mailotpOtpSentTime"
#define AT_FAILURES "mailotpOtpFailures"
#define AT_FAILTIME "mailotpOtpFailTime"
#define AT_TOKEN "mailotpTokenHash"
#define AT_TOKEN_INFO "mailotpTokenInfo"
#define AT_TEMP "mailotpTempPasswordExpiry"
#define AT_MUST "mailotpMustChange"
#define AT_RESET_SENT "mailotpResetSentTime"
#define AT_CHANGED "mailotpPasswordChangedTime"
#define AT_CONSENT "mailotpConsentVersion"
#define AT_CONSENT_TIME "mailotpConsentTime"
#define AT_CONSENT_FROM "mailotpConsentFrom"

void mailotp_gentime_format(time_t t, char buf[16])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	if (strftime(buf, 16, "%Y%m%d%H%M%SZ", &tm) != 15)
		buf[0] = '\0';
}

time_t mailotp_gentime_parse(const char *s)
{
	struct tm tm;
	const char *end;

	/* Exactly 14 digits first: strptime alone also takes blanks and short
	 * fields ("2025 1 1 1 1 1Z"), and years before 1000. */
	if (s == NULL || strlen(s) < 15 || strspn(s, "0123456789") != 14 || s[0] == '0')
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y%m%d%H%M%S", &tm);
	if (end == NULL || end != s + 14)
		return 0;
	if (*end == '.' || *end == ',') {
		/* A fraction has at least one digit (RFC 4517 3.3.13). */
		if (end[1] < '0' || end[1] > '9')
			return 0;
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	}
	if (strcmp(end, "Z") != 0)
		return 0;
	return timegm(&tm);
}

void mailotp_account_free(struct mailotp_account *a)
{
	if (a == NULL)
		return;
	free(a->dn);
	free(a->mail);
	for (size_t i = 0; i < a->n_notify; i++)
		free(a->notify[i]);
	free(a->name);
	free(a->lang);
	free(a->login);
	free(a->realm);
	free(a->token_hash);
	free(a->token_info);
	free(a->reset_sent_raw);
	free(a->consent_version);
	free(a->otp_sent_raw);
	free(a);
}

/* Runs one modify on a service connection, retrying once on a dropped connection. */
static int modify(struct mailotp_ldap *l, const char *dn, LDAPMod **mods, int *ldap_rc)
{
	LDAP *ld;
	int r, rc = LDAP_OTHER;

	/* Set on every path: callers read it to tell a lost race from an error. */
	*ldap_rc = LDAP_OTHER;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = mailotp_ldap_get(l, &ld)) != 0)
			return r;
		rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
		mailotp_ldap_put(l, ld, mailotp_ldap_rc_broken(rc));
		if (rc == LDAP_SERVER_DOWN && attempt == 0)
			continue;
		break;
	}
	*ldap_rc = rc;
	if (rc != LDAP_SUCCESS && mailotp_ldap_err(rc) == MAILOTP_ERR_LDAP_DOWN)
		return MAILOTP_ERR_LDAP_DOWN;
	return rc == LDAP_SUCCESS ? 0 : MAILOTP_ERR_LDAP;
}

/* modify() on the account's entry, logging a failure as "cannot WHAT DN". */
static int change(struct mailotp_ldap *l, const struct mailotp_account *a, LDAPMod **mods,
                  const char *what)
{
	int r, rc;

	if ((r = modify(l, a->dn, mods, &rc)) != 0)
		mailotp_log(LOG_ERR, "ldap: cannot %s %s: %s", what, a->dn, ldap_err2string(rc));
	return r;
}

/* Adds the auxiliary class on entries made before mailotp was installed. */
static int ensure_aux(struct mailotp_ldap *l, struct mailotp_account *a)
{
	char *vals[] = {OC_AUX, NULL};
	LDAPMod m = {.mod_op = LDAP_MOD_ADD, .mod_type = "objectClass", .mod_values = vals};
	LDAPMod *mods[] = {&m, NULL};
	int r, rc;

	if (a->has_aux)
		return 0;
	r = modify(l, a->dn, mods, &rc);
	if (r != 0 && rc != LDAP_TYPE_OR_VALUE_EXISTS) {
		mailotp_log(LOG_ERR, "ldap: cannot add objectClass %s to %s: %s", OC_AUX, a->dn,
		            ldap_err2string(rc));
		return r;
	}
	a->has_aux = true;
	return 0;
}

static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v;
	char *s = NULL;

	if (attr == NULL || (v = ldap_get_values_len(ld, e, attr)) == NULL)
		return NULL;
	if (v[0] != NULL && v[0]->bv_len > 0 && v[0]->bv_len < 4096 &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL)
		s = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return s;
}

static int fill_account(LDAP *ld, LDAPMessage *e, const struct mailotp_config *cfg,
                        const char *lattr, struct mailotp_account *a)
{
	struct berval **v;
	char *dn, *s;

	if ((dn = ldap_get_dn(ld, e)) == NULL)
		return MAILOTP_ERR_LDAP;
	a->dn = strdup(dn);
	ldap_memfree(dn);
	if (a->dn == NULL)
		return MAILOTP_ERR_NOMEM;

	/* Only addresses that pass the strict check ever reach a mail header. */
	if ((v = ldap_get_values_len(ld, e, cfg->ldap_mail_attr)) != NULL) {
		for (size_t i = 0; v[i] != NULL && a->mail == NULL; i++) {
			char *m = strndup(v[i]->bv_val, v[i]->bv_len);
			if (m != NULL && strlen(m) == v[i]->bv_len && mailotp_addr_valid(m))
				a->mail = m;
			else
				free(m);
		}
		ldap_value_free_len(v);
	}
	if (cfg->ldap_notify_attr != NULL &&
	    (v = ldap_get_values_len(ld, e, cfg->ldap_notify_attr)) != NULL) {
		for (size_t i = 0; v[i] != NULL && a->n_notify < MAILOTP_MAX_NOTIFY; i++) {
			char *m = strndup(v[i]->bv_val, v[i]->bv_len);
			if (m != NULL && strlen(m) == v[i]->bv_len && mailotp_addr_valid(m))
				a->notify[a->n_notify++] = m;
			else
				free(m);
		}
		ldap_value_free_len(v);
	}
	a->name = first_value(ld, e, cfg->ldap_name_attr);
	if (a->name != NULL && !mailotp_utf8_is_clean(a->name, strlen(a->name))) {
		free(a->name);
		a->name = NULL;
	}
	/* The entry's language when it is one we speak, else the configured one. */
	s = first_value(ld, e, cfg->ldap_lang_attr);
	if (s != NULL && strncasecmp(s, "ja", 2) != 0 && strncasecmp(s, "en", 2) != 0) {
		free(s);
		s = NULL;
	}
	a->lang = strdup(mailotp_lang_pick(s != NULL ? s : cfg->language));
	free(s);
	if (a->lang == NULL)
		return MAILOTP_ERR_NOMEM;

	if ((v = ldap_get_values_len(ld, e, "objectClass")) != NULL) {
		for (size_t i = 0; v[i] != NULL; i++)
			if (v[i]->bv_len == strlen(OC_AUX) &&
			    strncasecmp(v[i]->bv_val, OC_AUX, v[i]->bv_len) == 0)
				a->has_aux = true;
		ldap_value_free_len(v);
	}
	a->otp_sent_raw = first_value(ld, e, AT_SENT);
	a->otp_sent = mailotp_gentime_parse(a->otp_sent_raw);
	if ((s = first_value(ld, e, AT_FAILURES)) != NULL) {
		a->otp_failures = strtol(s, NULL, 10);
		if (a->otp_failures < 0)
			a->otp_failures = 0;
		free(s);
	}
	if ((s = first_value(ld, e, AT_FAILTIME)) != NULL) {
		a->otp_fail_time = mailotp_gentime_parse(s);
		free(s);
	}
	if (lattr != NULL && lattr[0] != '\0')
		a->login = first_value(ld, e, lattr);
	if (cfg->reset_realm_attr != NULL)
		a->realm = first_value(ld, e, cfg->reset_realm_attr);
	a->token_hash = first_value(ld, e, AT_TOKEN);
	a->token_info = first_value(ld, e, AT_TOKEN_INFO);
	if ((s = first_value(ld, e, AT_TEMP)) != NULL) {
		a->temp_expiry = mailotp_gentime_parse(s);
		free(s);
	}
	if ((s = first_value(ld, e, AT_MUST)) != NULL) {
		a->must_change = strcmp(s, "TRUE") == 0;
		free(s);
	}
	a->reset_sent_raw = first_value(ld, e, AT_RESET_SENT);
	a->reset_sent = mailotp_gentime_parse(a->reset_sent_raw);
	a->consent_version = first_value(ld, e, AT_CONSENT);
	if ((s = first_value(ld, e, "pwdReset")) != NULL) {
		a->pw_reset = strcmp(s, "TRUE") == 0;
		free(s);
	}
	if ((s = first_value(ld, e, "pwdGraceUseTime")) != NULL) {
		a->grace_used = true;
		free(s);
	}
	return 0;
}

/*
 * The attribute the login name is matched against: the ATTR of the first
 * "(ATTR=%u)" in the filter, or "" when the filter has no such item.
 */
static void login_attr(const char *filter, char *out, size_t outlen)
{
	const char *p = strstr(filter, "=%u)"), *b;

	out[0] = '\0';
	if (p == NULL)
		return;
	for (b = p; b > filter && b[-1] != '('; b--)
		;
	if (b == filter || (size_t)(p - b) >= outlen || p == b)
		return;
	memcpy(out, b, (size_t)(p - b));
	out[p - b] = '\0';
}

/*
 * Directory matching rules ignore case and leading, trailing and repeated
 * blanks (uid and mail are caseIgnore), so " alice" finds alice's entry.
 * As nslcd does, the entry must carry the name itself: one value of the
 * login attribute equal to it, apart from ASCII case.
 */
static bool login_matches(LDAP *ld, LDAPMessage *e, const char *attr, const char *login)
{
	struct berval **v;
	size_t len = strlen(login);
	bool found = false;

	if (attr[0] == '\0')
		return true;
	if ((v = ldap_get_values_len(ld, e, attr)) == NULL)
		return false;
	for (size_t i = 0; v[i] != NULL && !found; i++)
		found = v[i]->bv_len == len && strncasecmp(v[i]->bv_val, login, len) == 0;
	ldap_value_free_len(v);
	return found;
}

/*
 * Searches ldap_base for filter and fills *out from the one entry found,
 * which must carry `value` in `attr` (apart from ASCII case) when attr is
 * not empty.
 */
static int find_one(struct mailotp_ldap *l, const struct mailotp_config *cfg, const char *filter,
                    const char *attr, const char *value, struct mailotp_account **out)
{
	char lattr[64];
	char *attrs[24];
	size_t na = 0;
	LDAPMessage *res = NULL;
	LDAP *ld = NULL;
	struct mailotp_account *a = NULL;
	struct timeval tv = {.tv_sec = cfg->ldap_timeout, .tv_usec = 0};
	int r, rc = LDAP_OTHER, count;

	*out = NULL;
	login_attr(cfg->ldap_user_filter, lattr, sizeof(lattr));
	attrs[na++] = "objectClass";
	attrs[na++] = cfg->ldap_mail_attr;
	if (cfg->ldap_notify_attr != NULL)
		attrs[na++] = cfg->ldap_notify_attr;
	attrs[na++] = cfg->ldap_name_attr;
	attrs[na++] = cfg->ldap_lang_attr;
	if (cfg->reset_realm_attr != NULL)
		attrs[na++] = cfg->reset_realm_attr;
	if (lattr[0] != '\0')
		attrs[na++] = lattr;
	if (attr[0] != '\0')
		attrs[na++] = (char *)attr;
	attrs[na++] = AT_SENT;
	attrs[na++] = AT_FAILURES;
	attrs[na++] = AT_FAILTIME;
	attrs[na++] = AT_TOKEN;
	attrs[na++] = AT_TOKEN_INFO;
	attrs[na++] = AT_TEMP;
	attrs[na++] = AT_MUST;
	attrs[na++] = AT_RESET_SENT;
	attrs[na++] = AT_CONSENT;
	/* ppolicy's operational attributes (ignored where ppolicy is not loaded). */
	attrs[na++] = "pwdReset";
	attrs[na++] = "pwdGraceUseTime";
	attrs[na] = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = mailotp_ldap_get(l, &ld)) != 0)
			goto out;
		/* Size limit 2: one is the answer, two means "not exactly one". */
		rc = ldap_search_ext_s(ld, cfg->ldap_base, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
		                       NULL, NULL, &tv, 2, &res);
		if (rc == LDAP_SERVER_DOWN && attempt == 0) {
			ldap_msgfree(res);
			res = NULL;
			mailotp_ldap_put(l, ld, true);
			ld = NULL;
			continue;
		}
		break;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		mailotp_log(LOG_ERR, "ldap: search under %s failed: %s", cfg->ldap_base,
		            ldap_err2string(rc));
		r = mailotp_ldap_err(rc);
		goto out;
	}
	count = ldap_count_entries(ld, res);
	if (count != 1 || rc == LDAP_SIZELIMIT_EXCEEDED) {
		if (count > 1 || rc == LDAP_SIZELIMIT_EXCEEDED)
			mailotp_log(LOG_WARNING,
			            "ldap: a search matches more than one entry; refusing");
		r = MAILOTP_ERR_NOT_FOUND;
		goto out;
	}
	if (!login_matches(ld, ldap_first_entry(ld, res), attr, value)) {
		r = MAILOTP_ERR_NOT_FOUND;
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	if ((r = fill_account(ld, ldap_first_entry(ld, res), cfg, lattr, a)) != 0)
		goto out;
	*out = a;
	a = NULL;
out:
	if (ld != NULL)
		mailotp_ldap_put(l, ld, mailotp_ldap_rc_broken(rc));
	ldap_msgfree(res);
	mailotp_account_free(a);
	return r;
}

static bool value_ok(const char *v)
{
	size_t len = v != NULL ? strlen(v) : 0;

	return len > 0 && len <= MAILOTP_MAX_LOGIN && mailotp_utf8_is_clean(v, len);
}

int mailotp_account_find(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                         const char *login, struct mailotp_account **out)
{
	char lattr[64], *filter = NULL;
	int r;

	*out = NULL;
	if (!value_ok(login))
		return MAILOTP_ERR_NOT_FOUND;
	if ((r = mailotp_ldap_filter_build(cfg->ldap_user_filter, login, strlen(login), &filter)) !=
	    0)
		return r;
	login_attr(cfg->ldap_user_filter, lattr, sizeof(lattr));
	r = find_one(l, cfg, filter, lattr, login, out);
	free(filter);
	return r;
}

int mailotp_account_find_by_mail(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                                 const char *addr, struct mailotp_account **out)
{
	char *esc = NULL, *filter = NULL;
	int r;

	*out = NULL;
	if (!value_ok(addr) || !mailotp_addr_valid(addr))
		return MAILOTP_ERR_NOT_FOUND;
	if ((r = mailotp_ldap_filter_escape(addr, strlen(addr), &esc)) != 0)
		return r;
	if (asprintf(&filter, "(%s=%s)", cfg->ldap_mail_attr, esc) < 0) {
		free(esc);
		return MAILOTP_ERR_NOMEM;
	}
	r = find_one(l, cfg, filter, cfg->ldap_mail_attr, addr, out);
	free(filter);
	free(esc);
	return r;
}

int mailotp_account_find_by_token(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                                  const char *hash_hex, struct mailotp_account **out)
{
	char filter[128];

	*out = NULL;
	/* The hash is 64 hex digits made here: nothing to escape. */
	if (strspn(hash_hex, "0123456789abcdef") != 64 || hash_hex[64] != '\0')
		return MAILOTP_ERR_NOT_FOUND;
	snprintf(filter, sizeof(filter), "(%s=%s)", AT_TOKEN, hash_hex);
	return find_one(l, cfg, filter, AT_TOKEN, hash_hex, out);
}

/*
 * A claim puts "now" in a single-valued time attribute whose value was
 * raw (parsed: when) when read, unless that is less than interval seconds
 * ago. A compare-and-swap: of concurrent claimers (on any host) exactly
 * one succeeds. struct claim_mods is its modify, built in the caller's
 * frame (read only while it is sent).
 */
struct claim_mods {
	char *newv[2], *oldv[2];
	LDAPMod del, add, rep;
	LDAPMod *mods[3];
};

/*
 * The part of a claim before the directory is asked: refused here when the
 * value read is younger than interval; else the modify that claims, into
 * m: a compare-and-swap of the value read, or a replace when there is no
 * interval to keep.
 */
static int claim_prepare(struct mailotp_ldap *l, struct mailotp_account *a, const char *attr,
                         const char *raw, time_t when, time_t now, int interval, int *wait,
                         char stamp[16], struct claim_mods *m)
{
	int r;

	*wait = 0;
	if (interval > 0 && when != 0 && now >= when && now - when < interval) {
		*wait = (int)(interval - (now - when));
		return MAILOTP_ERR_THROTTLED;
	}
	if ((r = ensure_aux(l, a)) != 0)
		return r;
	mailotp_gentime_format(now, stamp);
	m->newv[0] = stamp;
	m->newv[1] = NULL;
	m->oldv[0] = (char *)raw;
	m->oldv[1] = NULL;
	m->del = (LDAPMod){.mod_op = LDAP_MOD_DELETE, .mod_type = (char *)attr, .mod_values = m->oldv};
	m->add = (LDAPMod){.mod_op = LDAP_MOD_ADD, .mod_type = (char *)attr, .mod_values = m->newv};
	m->rep = (LDAPMod){.mod_op = LDAP_MOD_REPLACE, .mod_type = (char *)attr, .mod_values = m->newv};
	memset(m->mods, 0, sizeof(m->mods));
	if (interval == 0) {
		m->mods[0] = &m->rep;
	} else if (raw != NULL) {
		/* Compare-and-swap: fails as a whole if another host changed it. */
		m->mods[0] = &m->del;
		m->mods[1] = &m->add;
	} else {
		/* Single-valued: a second concurrent add fails. */
		m->mods[0] = &m->add;
	}
	return 0;
}

/* What the directory said to a claim: a lost race is THROTTLED, a success kept in a. */
static int claim_settle(struct mailotp_account *a, const char *attr, char **raw, time_t *when,
                        time_t now, int interval, const char *stamp, int r, int rc, int *wait)
{
	if (r != 0) {
		if (rc == LDAP_NO_SUCH_ATTRIBUTE || rc == LDAP_TYPE_OR_VALUE_EXISTS ||
		    rc == LDAP_CONSTRAINT_VIOLATION) {
			*wait = interval;
			return MAILOTP_ERR_THROTTLED;
		}
		mailotp_log(LOG_ERR, "ldap: cannot write %s of %s: %s", attr, a->dn,
		            ldap_err2string(rc));
		return r;
	}
	free(*raw);
	*raw = strdup(stamp);
	*when = now;
	return 0;
}

/* A claim in one blocking modify (the reset's: nothing to overlap it with). */
static int claim_time(struct mailotp_ldap *l, struct mailotp_account *a, const char *attr,
                      char **raw, time_t *when, time_t now, int interval, int *wait)
{
	struct claim_mods m;
	char stamp[16];
	int r, rc = LDAP_OTHER;

	if ((r = claim_prepare(l, a, attr, *raw, *when, now, interval, wait, stamp, &m)) != 0)
		return r;
	r = modify(l, a->dn, m.mods, &rc);
	return claim_settle(a, attr, raw, when, now, interval, stamp, r, rc, wait);
}

int mailotp_account_claim_send_begin(struct mailotp_ldap *l, struct mailotp_account *a,
                                     time_t now, int interval, int *wait,
                                     struct mailotp_claim *c)
{
	struct claim_mods m;
	int r, rc;

	memset(c, 0, sizeof(*c));
	c->now = now;
	c->interval = interval;
	if ((r = claim_prepare(l, a, AT_SENT, a->otp_sent_raw, a->otp_sent, now, interval, wait,
	                       c->stamp, &m)) != 0)
		return r;
	/* The request is encoded and sent here; m is not read after. */
	r = mailotp_ldap_modify_begin(l, a->dn, m.mods, &c->ld, &c->msgid);
	if (r == 0)
		return 0;
	if (r != MAILOTP_ERR_IO)
		return r; /* no connection at all: as modify() would have said */
	/* The pooled connection failed: the blocking modify, on a new one. */
	r = modify(l, a->dn, m.mods, &rc);
	c->done = true;
	c->result = claim_settle(a, AT_SENT, &a->otp_sent_raw, &a->otp_sent, now, interval,
	                         c->stamp, r, rc, &c->wait);
	*wait = c->wait;
	return c->result;
}

/* The answer to a claim in flight, waited for or only taken when there. */
static void claim_collect(struct mailotp_ldap *l, struct mailotp_account *a,
                          struct mailotp_claim *c, bool wait)
{
	struct claim_mods m;
	int r, rc;

	if (c->done || !mailotp_ldap_modify_end(l, c->ld, c->msgid, wait, &rc))
		return;
	c->ld = NULL;
	if (rc == LDAP_SUCCESS)
		r = 0;
	else
		r = mailotp_ldap_err(rc) == MAILOTP_ERR_LDAP_DOWN ? MAILOTP_ERR_LDAP_DOWN
		                                                  : MAILOTP_ERR_LDAP;
	/* As modify() does: once more on a new connection when it dropped. */
	if (rc == LDAP_SERVER_DOWN &&
	    claim_prepare(l, a, AT_SENT, a->otp_sent_raw, a->otp_sent, c->now, c->interval,
	                  &c->wait, c->stamp, &m) == 0)
		r = modify(l, a->dn, m.mods, &rc);
	c->done = true;
	c->result = claim_settle(a, AT_SENT, &a->otp_sent_raw, &a->otp_sent, c->now, c->interval,
	                         c->stamp, r, rc, &c->wait);
}

void mailotp_account_claim_send_poll(struct mailotp_ldap *l, struct mailotp_account *a,
                                     struct mailotp_claim *c)
{
	claim_collect(l, a, c, false);
}

int mailotp_account_claim_send_end(struct mailotp_ldap *l, struct mailotp_account *a,
                                   struct mailotp_claim *c, int *wait)
{
	claim_collect(l, a, c, true);
	*wait = c->wait;
	return c->result;
}

int mailotp_account_claim_reset(struct mailotp_ldap *l, struct mailotp_account *a, time_t now,
                                int interval, int *wait)
{
	return claim_time(l, a, AT_RESET_SENT, &a->reset_sent_raw, &a->reset_sent, now, interval,
	                  wait);
}

int mailotp_account_set_token(struct mailotp_ldap *l, struct mailotp_account *a,
                              const char *hash_hex, const char *info)
{
	char *hv[] = {(char *)hash_hex, NULL}, *iv[] = {(char *)info, NULL};
	LDAPMod m1 = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_TOKEN, .mod_values = hv};
	LDAPMod m2 = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_TOKEN_INFO, .mod_values = iv};
	LDAPMod *mods[] = {&m1, &m2, NULL};
	int r;

	if ((r = ensure_aux(l, a)) != 0)
		return r;
	if ((r = change(l, a, mods, "store a token for")) != 0)
		return r;
	free(a->token_hash);
	free(a->token_info);
	a->token_hash = strdup(hash_hex);
	a->token_info = strdup(info);
	return 0;
}

int mailotp_account_use_token(struct mailotp_ldap *l, struct mailotp_account *a,
                              const char *hash_hex, const char *userpassword, time_t now)
{
	char stamp[16], *hv[] = {(char *)hash_hex, NULL}, *pv[] = {(char *)userpassword, NULL},
	                *tv[] = {stamp, NULL};
	LDAPMod use = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN, .mod_values = hv};
	LDAPMod info = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN_INFO, .mod_values = NULL};
	LDAPMod pw = {.mod_op = LDAP_MOD_REPLACE, .mod_type = "userPassword", .mod_values = pv};
	LDAPMod when = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_CHANGED, .mod_values = tv};
	LDAPMod temp = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TEMP, .mod_values = NULL};
	LDAPMod must = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_MUST, .mod_values = NULL};
	LDAPMod *mods[8];
	size_t n = 0;
	int r, rc;

	mailotp_gentime_format(now, stamp);
	/* Deleting the one value we were given is what makes this single-use:
	 * the second of two concurrent uses finds it gone and changes nothing. */
	mods[n++] = &use;
	if (a->token_info != NULL)
		mods[n++] = &info;
	mods[n++] = &pw;
	mods[n++] = &when;
	if (a->temp_expiry != 0)
		mods[n++] = &temp;
	if (a->must_change)
		mods[n++] = &must;
	mods[n] = NULL;
	r = modify(l, a->dn, mods, &rc);
	if (r != 0 && (rc == LDAP_NO_SUCH_ATTRIBUTE || rc == LDAP_NO_SUCH_OBJECT))
		return MAILOTP_ERR_CONFLICT;
	if (r != 0) {
		mailotp_log(LOG_ERR, "ldap: cannot set the password of %s: %s", a->dn,
		            ldap_err2string(rc));
		return r;
	}
	a->temp_expiry = 0;
	a->must_change = false;
	return 0;
}

int mailotp_account_set_temporary(struct mailotp_ldap *l, struct mailotp_account *a,
                                  const char *userpassword, time_t expires)
{
	char stamp[16], *pv[] = {(char *)userpassword, NULL}, *ev[] = {stamp, NULL}, tru[] = "TRUE",
	                *mv[] = {tru, NULL};
	LDAPMod pw = {.mod_op = LDAP_MOD_REPLACE, .mod_type = "userPassword", .mod_values = pv};
	LDAPMod exp = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_TEMP, .mod_values = ev};
	LDAPMod must = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_MUST, .mod_values = mv};
	LDAPMod tok = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN, .mod_values = NULL};
	LDAPMod info = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN_INFO, .mod_values = NULL};
	LDAPMod *mods[6];
	size_t n = 0;
	int r;

	if ((r = ensure_aux(l, a)) != 0)
		return r;
	mailotp_gentime_format(expires, stamp);
	mods[n++] = &pw;
	mods[n++] = &exp;
	mods[n++] = &must;
	if (a->token_hash != NULL)
		mods[n++] = &tok;
	if (a->token_info != NULL)
		mods[n++] = &info;
	mods[n] = NULL;
	if ((r = change(l, a, mods, "set a temporary password for")) != 0)
		return r;
	a->temp_expiry = expires;
	a->must_change = true;
	return 0;
}

void mailotp_account_release_send(struct mailotp_ldap *l, struct mailotp_account *a)
{
	char *vals[] = {a->otp_sent_raw, NULL};
	LDAPMod del = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_SENT, .mod_values = vals};
	LDAPMod *mods[] = {&del, NULL};
	int rc;

	if (a->otp_sent_raw == NULL)
		return;
	/* Deleting our own value only: a newer claim by another host stays. */
	if (modify(l, a->dn, mods, &rc) == 0) {
		free(a->otp_sent_raw);
		a->otp_sent_raw = NULL;
		a->otp_sent = 0;
	}
}

bool mailotp_account_code_locked(const struct mailotp_account *a, time_t now, int limit,
                                 int lockout, int *wait)
{
	*wait = 0;
	if (a->otp_failures < limit)
		return false;
	if (a->otp_fail_time != 0 && now >= a->otp_fail_time && now - a->otp_fail_time >= lockout)
		return false;
	*wait = a->otp_fail_time != 0 && now >= a->otp_fail_time
	            ? (int)(lockout - (now - a->otp_fail_time))
	            : lockout;
	return true;
}

int mailotp_account_record_failure(struct mailotp_ldap *l, struct mailotp_account *a, time_t now,
                                   int window)
{
	char stamp[16], one[] = "1", *onev[] = {one, NULL}, *tv[] = {stamp, NULL};
	LDAPMod inc = {.mod_op = LDAP_MOD_INCREMENT, .mod_type = AT_FAILURES, .mod_values = onev};
	LDAPMod add = {.mod_op = LDAP_MOD_ADD, .mod_type = AT_FAILURES, .mod_values = onev};
	LDAPMod when = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_FAILTIME, .mod_values = tv};
	LDAPMod *mods[3] = {&inc, &when, NULL};
	int r, rc;

	if ((r = ensure_aux(l, a)) != 0)
		return r;
	mailotp_gentime_format(now, stamp);
	/* Wrong codes further apart than the lockout window start the count again. */
	if (a->otp_failures > 0 && a->otp_fail_time != 0 && now - a->otp_fail_time >= window) {
		LDAPMod rep = {
		    .mod_op = LDAP_MOD_REPLACE, .mod_type = AT_FAILURES, .mod_values = onev};
		mods[0] = &rep;
		r = modify(l, a->dn, mods, &rc);
		if (r == 0) {
			a->otp_failures = 1;
			a->otp_fail_time = now;
		}
		return r;
	}
	for (int attempt = 0; attempt < 3; attempt++) {
		mods[0] = &inc;
		if ((r = modify(l, a->dn, mods, &rc)) == 0)
			break;
		if (rc != LDAP_NO_SUCH_ATTRIBUTE && rc != LDAP_CONSTRAINT_VIOLATION &&
		    rc != LDAP_UNWILLING_TO_PERFORM)
			break;
		/* No counter yet: create it; if another host just did, increment again. */
		mods[0] = &add;
		if ((r = modify(l, a->dn, mods, &rc)) == 0)
			break;
		if (rc != LDAP_TYPE_OR_VALUE_EXISTS && rc != LDAP_CONSTRAINT_VIOLATION)
			break;
	}
	if (r != 0) {
		mailotp_log(LOG_ERR, "ldap: cannot count a wrong code for %s: %s", a->dn,
		            ldap_err2string(rc));
		return r;
	}
	a->otp_failures++;
	a->otp_fail_time = now;
	return 0;
}

int mailotp_account_reset_failures(struct mailotp_ldap *l, struct mailotp_account *a)
{
	LDAPMod d1 = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_FAILURES, .mod_values = NULL};
	LDAPMod d2 = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_FAILTIME, .mod_values = NULL};
	LDAPMod *mods[] = {&d1, &d2, NULL};
	int r, rc;

	if (a->otp_failures == 0 && a->otp_fail_time == 0)
		return 0;
	r = modify(l, a->dn, mods, &rc);
	if (r != 0 && rc != LDAP_NO_SUCH_ATTRIBUTE) {
		mailotp_log(LOG_ERR, "ldap: cannot clear wrong codes of %s: %s", a->dn,
		            ldap_err2string(rc));
		return r;
	}
	a->otp_failures = 0;
	a->otp_fail_time = 0;
	return 0;
}

int mailotp_account_set_password(struct mailotp_ldap *l, struct mailotp_account *a,
                                 const char *userpassword, time_t now)
{
	char stamp[16], *pv[] = {(char *)userpassword, NULL}, *tv[] = {stamp, NULL};
	LDAPMod pw = {.mod_op = LDAP_MOD_REPLACE, .mod_type = "userPassword", .mod_values = pv};
	LDAPMod when = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_CHANGED, .mod_values = tv};
	LDAPMod temp = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TEMP, .mod_values = NULL};
	LDAPMod must = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_MUST, .mod_values = NULL};
	LDAPMod tok = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN, .mod_values = NULL};
	LDAPMod info = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_TOKEN_INFO, .mod_values = NULL};
	LDAPMod ppreset = {.mod_op = LDAP_MOD_DELETE, .mod_type = "pwdReset", .mod_values = NULL};
	LDAPMod *mods[8], *pp[] = {&ppreset, NULL};
	size_t n = 0;
	int r, rc;

	if ((r = ensure_aux(l, a)) != 0)
		return r;
	mailotp_gentime_format(now, stamp);
	mods[n++] = &pw;
	mods[n++] = &when;
	/* Only what is there: deleting an absent attribute fails the whole modify. */
	if (a->temp_expiry != 0)
		mods[n++] = &temp;
	if (a->must_change)
		mods[n++] = &must;
	if (a->token_hash != NULL)
		mods[n++] = &tok;
	if (a->token_info != NULL)
		mods[n++] = &info;
	mods[n] = NULL;
	if ((r = change(l, a, mods, "set the password of")) != 0)
		return r;
	/* ppolicy's forced change (an administrator's reset) is done: ppolicy
	 * itself drops pwdReset on most changes; where it did not, do it here
	 * (best effort: gone already is fine). */
	if (a->pw_reset && modify(l, a->dn, pp, &rc) != 0 && rc != LDAP_NO_SUCH_ATTRIBUTE)
		mailotp_log(LOG_WARNING, "ldap: cannot clear pwdReset of %s: %s", a->dn,
		            ldap_err2string(rc));
	a->pw_reset = false;
	a->temp_expiry = 0;
	a->must_change = false;
	return 0;
}

int mailotp_account_set_consent(struct mailotp_ldap *l, struct mailotp_account *a,
                                const char *version, time_t now, const char *from)
{
	char stamp[16], *vv[] = {(char *)version, NULL}, *tv[] = {stamp, NULL},
	                *fv[] = {(char *)from, NULL};
	LDAPMod m1 = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_CONSENT, .mod_values = vv};
	LDAPMod m2 = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_CONSENT_TIME, .mod_values = tv};
	LDAPMod m3 = {.mod_op = LDAP_MOD_REPLACE, .mod_type = AT_CONSENT_FROM, .mod_values = fv};
	LDAPMod *mods[] = {&m1, &m2, &m3, NULL};
	int r;

	if ((r = ensure_aux(l, a)) != 0)
		return r;
	mailotp_gentime_format(now, stamp);
	/* An empty "from" is not a valid directoryString: say "local". */
	if (from == NULL || from[0] == '\0')
		fv[0] = "local";
	if ((r = change(l, a, mods, "store the consent of")) != 0)
		return r;
	free(a->consent_version);
	a->consent_version = strdup(version);
	return 0;
}
