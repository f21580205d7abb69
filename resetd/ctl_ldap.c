/* The directory operations of mailotpctl (see ctl_ldap.h). */
#include "autoconfig.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl_ldap.h"
#include "escape.h"

#define AT_LOCKED "pwdAccountLockedTime"
#define AT_PWD_FAILURES "pwdFailureTime"
#define AT_FAILURES "mailotpOtpFailures"
#define AT_FAILTIME "mailotpOtpFailTime"
#define AT_CONSENT_VERSION "mailotpConsentVersion"
#define AT_CONSENT_TIME "mailotpConsentTime"
#define AT_CHANGED "mailotpPasswordChangedTime"

/* The LDAP result code when no operation ran (no connection could be had). */
#define NO_RC (-1000)

/* What one try of an operation needs; op runs it on a service connection. */
typedef int (*ldap_op)(LDAP *ld, void *arg);

/*
 * Runs op on a pooled service connection, once more on a fresh one when
 * the pooled one turns out dropped (slapd restarted since it was opened).
 * Returns op's LDAP result code in *ldap_rc and the mailotp error.
 */
static int run(struct mailotp_ldap *l, ldap_op op, void *arg, int *ldap_rc)
{
	LDAP *ld;
	int r, rc = LDAP_OTHER;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = mailotp_ldap_get(l, &ld)) != 0) {
			*ldap_rc = NO_RC;
			return r;
		}
		rc = op(ld, arg);
		mailotp_ldap_put(l, ld, mailotp_ldap_rc_broken(rc));
		if (rc == LDAP_SERVER_DOWN && attempt == 0)
			continue;
		break;
	}
	*ldap_rc = rc;
	return mailotp_ldap_err(rc);
}

/* The server's words when it answered, ours when it could not be reached. */
static const char *reason(int r, int rc)
{
	return rc == NO_RC ? mailotp_strerror(r) : ldap_err2string(rc);
}

/* ---- add ---------------------------------------------------------------- */

struct add_arg {
	const char *dn;
	LDAPMod **mods;
};

static int add_op(LDAP *ld, void *arg)
{
	struct add_arg *a = arg;

	return ldap_add_ext_s(ld, a->dn, a->mods, NULL, NULL);
}

int mailotpctl_ldap_add(struct mailotp_ldap *l, const struct mailotp_config *cfg, const char *user,
                        const char *mail, const char *name, char **dn_out, char *err, size_t errlen)
{
	char *esc = NULL, *dn = NULL;
	const char *cn = name != NULL ? name : user;
	char *oc[] = {"inetOrgPerson", "mailotpAccount", NULL};
	char *uid_v[] = {(char *)user, NULL}, *cn_v[] = {(char *)cn, NULL};
	char *mail_v[] = {(char *)mail, NULL};
	LDAPMod m_oc = {.mod_op = LDAP_MOD_ADD, .mod_type = "objectClass", .mod_values = oc};
	LDAPMod m_uid = {.mod_op = LDAP_MOD_ADD, .mod_type = "uid", .mod_values = uid_v};
	LDAPMod m_cn = {.mod_op = LDAP_MOD_ADD, .mod_type = "cn", .mod_values = cn_v};
	LDAPMod m_sn = {.mod_op = LDAP_MOD_ADD, .mod_type = "sn", .mod_values = cn_v};
	LDAPMod m_mail = {
	    .mod_op = LDAP_MOD_ADD, .mod_type = cfg->ldap_mail_attr, .mod_values = mail_v};
	LDAPMod m_name = {
	    .mod_op = LDAP_MOD_ADD, .mod_type = cfg->ldap_name_attr, .mod_values = cn_v};
	LDAPMod *mods[7] = {&m_oc, &m_uid, &m_cn, &m_sn, &m_mail, NULL, NULL};
	struct add_arg arg;
	size_t n;
	int r, rc;

	*dn_out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	/* The display name goes where the mails read it, when that is not cn or sn already. */
	if (cfg->ldap_name_attr != NULL && strcasecmp(cfg->ldap_name_attr, "cn") != 0 &&
	    strcasecmp(cfg->ldap_name_attr, "sn") != 0)
		mods[5] = &m_name;
	if ((r = mailotp_ldap_dn_escape(user, strlen(user), &esc)) != 0)
		goto out;
	n = strlen("uid=,") + strlen(esc) + strlen(cfg->ldap_base) + 1;
	r = MAILOTP_ERR_NOMEM;
	if ((dn = malloc(n)) == NULL)
		goto out;
	snprintf(dn, n, "uid=%s,%s", esc, cfg->ldap_base);
	arg.dn = dn;
	arg.mods = mods;
	r = run(l, add_op, &arg, &rc);
	if (rc == LDAP_ALREADY_EXISTS) {
		snprintf(err, errlen, "already exists (%s)", dn);
		r = MAILOTP_ERR_CONFLICT;
	} else if (r != 0) {
		snprintf(err, errlen, "cannot create %s: %s", dn, reason(r, rc));
	}
	*dn_out = dn;
	dn = NULL;
out:
	free(esc);
	free(dn);
	return r;
}

/* ---- reading the extra attributes -------------------------------------- */

struct read_arg {
	const struct mailotp_config *cfg;
	const char *dn;
	struct mailotpctl_extra *x;
};

static char *first_value(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v;
	char *s = NULL;

	if ((v = ldap_get_values_len(ld, e, attr)) == NULL)
		return NULL;
	/* Values are printed and compared as strings: no NUL, no monsters. */
	if (v[0] != NULL && v[0]->bv_len > 0 && v[0]->bv_len < 1024 &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL)
		s = strndup(v[0]->bv_val, v[0]->bv_len);
	ldap_value_free_len(v);
	return s;
}

static int read_op(LDAP *ld, void *arg)
{
	struct read_arg *a = arg;
	struct mailotpctl_extra *x = a->x;
	/* pwdAccountLockedTime and pwdFailureTime are operational: asked for by name. */
	char *attrs[] = {AT_LOCKED,          AT_PWD_FAILURES, AT_FAILURES, AT_FAILTIME,
	                 AT_CONSENT_VERSION, AT_CONSENT_TIME, AT_CHANGED,  NULL};
	struct timeval tv = {.tv_sec = a->cfg->ldap_timeout, .tv_usec = 0};
	LDAPMessage *msg = NULL, *e;
	struct berval **v;
	int rc;

	mailotpctl_extra_clear(x);
	rc = ldap_search_ext_s(ld, a->dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
	                       &tv, 1, &msg);
	if (rc != LDAP_SUCCESS)
		goto out;
	if ((e = ldap_first_entry(ld, msg)) == NULL) {
		rc = LDAP_NO_SUCH_OBJECT;
		goto out;
	}
	x->locked_time = first_value(ld, e, AT_LOCKED);
	if ((v = ldap_get_values_len(ld, e, AT_PWD_FAILURES)) != NULL) {
		x->n_pwd_failures = (size_t)ldap_count_values_len(v);
		ldap_value_free_len(v);
	}
	x->otp_failures = first_value(ld, e, AT_FAILURES);
	x->otp_fail_time = first_value(ld, e, AT_FAILTIME);
	x->consent_version = first_value(ld, e, AT_CONSENT_VERSION);
	x->consent_time = first_value(ld, e, AT_CONSENT_TIME);
	x->changed_time = first_value(ld, e, AT_CHANGED);
out:
	ldap_msgfree(msg);
	return rc;
}

void mailotpctl_extra_clear(struct mailotpctl_extra *x)
{
	if (x == NULL)
		return;
	free(x->locked_time);
	free(x->otp_failures);
	free(x->otp_fail_time);
	free(x->consent_version);
	free(x->consent_time);
	free(x->changed_time);
	memset(x, 0, sizeof(*x));
}

int mailotpctl_ldap_read_extra(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                               const char *dn, struct mailotpctl_extra *x)
{
	struct read_arg arg = {.cfg = cfg, .dn = dn, .x = x};
	int r, rc;

	memset(x, 0, sizeof(*x));
	r = run(l, read_op, &arg, &rc);
	/* On failure the caller gets nothing to free. */
	if (r != 0)
		mailotpctl_extra_clear(x);
	if (rc == LDAP_NO_SUCH_OBJECT)
		return MAILOTP_ERR_NOT_FOUND;
	return r;
}

/* ---- unlock ------------------------------------------------------------- */

struct modify_arg {
	const char *dn;
	LDAPMod **mods;
};

static int modify_op(LDAP *ld, void *arg)
{
	struct modify_arg *a = arg;

	return ldap_modify_ext_s(ld, a->dn, a->mods, NULL, NULL);
}

int mailotpctl_ldap_unlock(struct mailotp_ldap *l, const struct mailotp_config *cfg, const char *dn,
                           struct mailotpctl_unlocked *u, char *err, size_t errlen)
{
	struct mailotpctl_extra x;
	LDAPMod m_locked = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_LOCKED};
	LDAPMod m_failures = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_FAILURES};
	LDAPMod m_failtime = {.mod_op = LDAP_MOD_DELETE, .mod_type = AT_FAILTIME};
	int r = 0, rc = NO_RC;

	memset(u, 0, sizeof(*u));
	if (errlen > 0)
		err[0] = '\0';
	/*
	 * A daemon may add or clear a wrong-code count between our read and our
	 * write; the delete of an attribute that just went away fails with
	 * noSuchAttribute, and then a fresh read decides again.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		LDAPMod *mods[4] = {NULL, NULL, NULL, NULL};
		struct modify_arg arg = {.dn = dn, .mods = mods};
		size_t n = 0;

		memset(u, 0, sizeof(*u));
		if ((r = mailotpctl_ldap_read_extra(l, cfg, dn, &x)) != 0) {
			snprintf(err, errlen, "%s", mailotp_strerror(r));
			return r;
		}
		if (x.locked_time != NULL) {
			mods[n++] = &m_locked;
			snprintf(u->locked_time, sizeof(u->locked_time), "%s", x.locked_time);
		}
		if (x.otp_failures != NULL) {
			mods[n++] = &m_failures;
			snprintf(u->otp_failures, sizeof(u->otp_failures), "%s", x.otp_failures);
		}
		if (x.otp_fail_time != NULL) {
			mods[n++] = &m_failtime;
			u->otp_fail_time = true;
		}
		mailotpctl_extra_clear(&x);
		if (n == 0)
			return 0;
		r = run(l, modify_op, &arg, &rc);
		if (rc == LDAP_NO_SUCH_ATTRIBUTE && attempt == 0)
			continue;
		break;
	}
	if (r != 0) {
		memset(u, 0, sizeof(*u));
		snprintf(err, errlen, "%s", reason(r, rc));
	}
	return r;
}
