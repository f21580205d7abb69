/* Pooled, failover-aware LDAP connections (see ldap_pool.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "ldap_pool.h"
#include "log.h"

/* Idle connections kept per pool; more may be open while borrowed. */
#define POOL_IDLE_MAX 16
/*
 * A pooled connection older than this is closed instead of reused, so that
 * after a failover new connections go back to the first ldap_uri that
 * answers (failback) within this many seconds.
 */
#define POOL_MAX_AGE 60
/* Service connections borrowed at once whose age is tracked (more still work: they are
 * then taken as new when given back). */
#define LENT_MAX 256

struct pool {
	LDAP *idle[POOL_IDLE_MAX];
	time_t born[POOL_IDLE_MAX];
	size_t n;
};

struct mailotp_ldap {
	const struct mailotp_config *cfg;
	const char *bind_pw;
	pthread_mutex_t mu;
	struct pool service; /* bound as ldap_bind_dn */
	struct pool users;   /* used for users' password binds only */
	/* When each borrowed service connection was opened (for POOL_MAX_AGE). */
	struct {
		LDAP *ld;
		time_t born;
	} lent[LENT_MAX];
};

void mailotp_ldap_global_init(void)
{
	/* libldap reads ldap.conf, ~/.ldaprc and LDAP* variables at its first
	 * call unless LDAPNOINIT is set: nothing the caller controls may steer
	 * where we connect or how we check certificates. */
	setenv("LDAPNOINIT", "1", 1);
}

int mailotp_ldap_err(int rc)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
		return MAILOTP_ERR_LDAP_DOWN;
	default:
		return MAILOTP_ERR_LDAP;
	}
}

bool mailotp_ldap_rc_broken(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_LOCAL_ERROR || rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

int mailotp_ldap_new(const struct mailotp_config *cfg, const char *bind_pw,
                     struct mailotp_ldap **out)
{
	struct mailotp_ldap *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return MAILOTP_ERR_NOMEM;
	l->cfg = cfg;
	l->bind_pw = bind_pw;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		free(l);
		return MAILOTP_ERR_INTERNAL;
	}
	*out = l;
	return 0;
}

static void pool_close(struct pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		ldap_unbind_ext_s(p->idle[i], NULL, NULL);
	p->n = 0;
}

void mailotp_ldap_free(struct mailotp_ldap *l)
{
	if (l == NULL)
		return;
	pool_close(&l->service);
	pool_close(&l->users);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* Sets every option a connection needs; returns an LDAP result code. */
static int conn_options(const struct mailotp_config *cfg, LDAP *ld)
{
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;
	struct timeval tv = {.tv_sec = cfg->ldap_timeout, .tv_usec = 0};

	if ((rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &cfg->ldap_timeout)) !=
	        LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_DEREF, &zero)) != LDAP_OPT_SUCCESS ||
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)) != LDAP_OPT_SUCCESS)
		return rc;
	if (cfg->ldap_ca_file != NULL &&
	    (rc = ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap_ca_file)) !=
	        LDAP_OPT_SUCCESS)
		return rc;
	/* A fresh TLS context per connection, so the options above apply. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
}

/*
 * Opens a connection to the first URI that answers, with StartTLS where
 * configured, bound as bind_dn (or not bound at all when bind_dn is NULL).
 * Returns an LDAP result code; the reason is logged.
 */
static int conn_open(const struct mailotp_config *cfg, const char *bind_dn, const char *bind_pw,
                     LDAP **out)
{
	int rc = LDAP_SERVER_DOWN;

	*out = NULL;
	for (size_t i = 0; i < cfg->n_ldap_uri; i++) {
		const char *uri = cfg->ldap_uri[i];
		LDAP *ld = NULL;

		if ((rc = ldap_initialize(&ld, uri)) != LDAP_SUCCESS) {
			mailotp_log(LOG_ERR, "ldap: %s: %s", uri, ldap_err2string(rc));
			continue;
		}
		if ((rc = conn_options(cfg, ld)) != LDAP_OPT_SUCCESS) {
			mailotp_log(LOG_ERR, "ldap: %s: cannot set options: %s", uri,
			            ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			return LDAP_LOCAL_ERROR;
		}
		if (cfg->ldap_starttls && strncmp(uri, "ldap://", 7) == 0 &&
		    (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
			mailotp_log(LOG_ERR, "ldap: %s: StartTLS failed: %s", uri,
			            ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			/* A TLS failure is not "down": try the next server all the same. */
			continue;
		}
		if (bind_dn != NULL) {
			struct berval cred = {.bv_val = (char *)bind_pw,
			                      .bv_len = bind_pw != NULL ? strlen(bind_pw) : 0};
			rc = ldap_sasl_bind_s(ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			                      NULL);
		} else {
			/* Connect now, so that failover happens here. */
			rc = ldap_connect(ld);
		}
		if (rc == LDAP_SUCCESS) {
			*out = ld;
			return LDAP_SUCCESS;
		}
		ldap_unbind_ext_s(ld, NULL, NULL);
		if (mailotp_ldap_err(rc) == MAILOTP_ERR_LDAP_DOWN) {
			mailotp_log(LOG_WARNING, "ldap: %s: %s, trying the next server", uri,
			            ldap_err2string(rc));
			continue;
		}
		/* The server answered and refused: another server will say the same. */
		mailotp_log(LOG_ERR, "ldap: %s: bind as %s refused: %s", uri,
		            bind_dn != NULL ? bind_dn : "(none)", ldap_err2string(rc));
		return rc;
	}
	return rc;
}

/* Borrows an idle connection young enough to reuse; *born is when it was opened. */
static LDAP *pool_take(struct mailotp_ldap *l, struct pool *p, time_t *born)
{
	LDAP *ld = NULL, *old[POOL_IDLE_MAX];
	size_t nold = 0;
	time_t now = time(NULL);

	pthread_mutex_lock(&l->mu);
	while (p->n > 0 && ld == NULL) {
		p->n--;
		if (now - p->born[p->n] < POOL_MAX_AGE && now >= p->born[p->n]) {
			ld = p->idle[p->n];
			*born = p->born[p->n];
		} else {
			old[nold++] = p->idle[p->n];
		}
	}
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < nold; i++)
		ldap_unbind_ext_s(old[i], NULL, NULL);
	return ld;
}

static void pool_give(struct mailotp_ldap *l, struct pool *p, LDAP *ld, time_t born)
{
	pthread_mutex_lock(&l->mu);
	if (p->n < POOL_IDLE_MAX) {
		p->idle[p->n] = ld;
		p->born[p->n] = born;
		p->n++;
		ld = NULL;
	}
	pthread_mutex_unlock(&l->mu);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

/*
 * Closes every idle connection of p. Called when one connection turned out
 * broken: the server restarted, went away or timed its clients out, so the
 * others opened to it are almost surely broken too, and the retry must
 * open a fresh connection (to the first server that answers) instead of
 * taking the next dead one.
 */
static void pool_flush(struct mailotp_ldap *l, struct pool *p)
{
	LDAP *old[POOL_IDLE_MAX];
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = p->n;
	for (size_t i = 0; i < n; i++)
		old[i] = p->idle[i];
	p->n = 0;
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < n; i++)
		ldap_unbind_ext_s(old[i], NULL, NULL);
}

static void lent_note(struct mailotp_ldap *l, LDAP *ld, time_t born)
{
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < LENT_MAX; i++)
		if (l->lent[i].ld == NULL) {
			l->lent[i].ld = ld;
			l->lent[i].born = born;
			break;
		}
	pthread_mutex_unlock(&l->mu);
}

static time_t lent_forget(struct mailotp_ldap *l, LDAP *ld)
{
	time_t born = time(NULL);

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < LENT_MAX; i++)
		if (l->lent[i].ld == ld) {
			born = l->lent[i].born;
			l->lent[i].ld = NULL;
			break;
		}
	pthread_mutex_unlock(&l->mu);
	return born;
}

int mailotp_ldap_get(struct mailotp_ldap *l, LDAP **ld)
{
	time_t born;
	int rc;

	if ((*ld = pool_take(l, &l->service, &born)) == NULL) {
		born = time(NULL);
		if ((rc = conn_open(l->cfg, l->cfg->ldap_bind_dn, l->bind_pw, ld)) != LDAP_SUCCESS)
			return mailotp_ldap_err(rc);
	}
	lent_note(l, *ld, born);
	return 0;
}

void mailotp_ldap_put(struct mailotp_ldap *l, LDAP *ld, bool broken)
{
	time_t born;

	if (ld == NULL)
		return;
	born = lent_forget(l, ld);
	if (broken) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		pool_flush(l, &l->service);
		return;
	}
	pool_give(l, &l->service, ld, born);
}

int mailotp_ldap_modify_begin(struct mailotp_ldap *l, const char *dn, LDAPMod **mods, LDAP **ld,
                              int *msgid)
{
	int r;

	if ((r = mailotp_ldap_get(l, ld)) != 0)
		return r;
	if (ldap_modify_ext(*ld, dn, mods, NULL, NULL, msgid) != LDAP_SUCCESS) {
		mailotp_ldap_put(l, *ld, true);
		*ld = NULL;
		return MAILOTP_ERR_IO;
	}
	return 0;
}

bool mailotp_ldap_modify_end(struct mailotp_ldap *l, LDAP *ld, int msgid, bool wait, int *rc)
{
	struct timeval tv = {.tv_sec = wait ? l->cfg->ldap_timeout : 0, .tv_usec = 0};
	LDAPMessage *res = NULL;
	int r;

	*rc = LDAP_OTHER;
	r = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
	if (r == 0 && !wait)
		return false;
	if (r == 0) {
		(void)ldap_abandon_ext(ld, msgid, NULL, NULL);
		*rc = LDAP_TIMEOUT;
	} else if (r == LDAP_RES_MODIFY) {
		if (ldap_parse_result(ld, res, rc, NULL, NULL, NULL, NULL, 0) != LDAP_SUCCESS)
			*rc = LDAP_OTHER;
	} else if (r < 0) {
		/* The connection failed: its own code says how. */
		if (ldap_get_option(ld, LDAP_OPT_RESULT_CODE, rc) != LDAP_OPT_SUCCESS ||
		    *rc == LDAP_SUCCESS)
			*rc = LDAP_SERVER_DOWN;
	}
	ldap_msgfree(res);
	/* Anything but an answer to this modify leaves the connection in doubt. */
	mailotp_ldap_put(l, ld, r != LDAP_RES_MODIFY || mailotp_ldap_rc_broken(*rc));
	return true;
}

/* One bind attempt on ld with the ppolicy request control. */
static int bind_once(const struct mailotp_config *cfg, LDAP *ld, const char *dn,
                     const char *password, struct mailotp_bind_result *res)
{
	struct berval cred = {.bv_val = (char *)password, .bv_len = strlen(password)};
	LDAPControl *req = NULL, *sctrls[2] = {NULL, NULL}, **ctrls = NULL;
	LDAPMessage *msg = NULL;
	struct timeval tv = {.tv_sec = cfg->ldap_timeout, .tv_usec = 0};
	int msgid, rc, err = LDAP_OTHER;

	if ((rc = ldap_control_create(LDAP_CONTROL_PASSWORDPOLICYREQUEST, 0, NULL, 0, &req)) !=
	    LDAP_SUCCESS)
		return rc;
	sctrls[0] = req;
	rc = ldap_sasl_bind(ld, dn, LDAP_SASL_SIMPLE, &cred, sctrls, NULL, &msgid);
	if (rc != LDAP_SUCCESS)
		goto out;
	rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &msg);
	if (rc == 0) {
		rc = LDAP_TIMEOUT;
		goto out;
	}
	if (rc < 0) {
		(void)ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &rc);
		if (rc == LDAP_SUCCESS)
			rc = LDAP_SERVER_DOWN;
		goto out;
	}
	rc = ldap_parse_result(ld, msg, &err, NULL, NULL, NULL, &ctrls, 1);
	msg = NULL; /* freed by ldap_parse_result */
	if (rc != LDAP_SUCCESS)
		goto out;
	rc = err;
	if (ctrls != NULL) {
		LDAPControl *pp =
		    ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, NULL);
		LDAPPasswordPolicyError pperr = PP_noError;
		ber_int_t expire = -1, grace = -1;

		if (pp != NULL && ldap_parse_passwordpolicy_control(ld, pp, &expire, &grace,
		                                                    &pperr) == LDAP_SUCCESS) {
			res->ppolicy_error = pperr == PP_noError ? -1 : (int)pperr;
			res->expire = expire;
			res->grace = grace;
		}
	}
out:
	if (msg != NULL)
		ldap_msgfree(msg);
	ldap_controls_free(ctrls);
	ldap_control_free(req);
	return rc;
}

int mailotp_ldap_check_password(struct mailotp_ldap *l, const char *dn, const char *password,
                                struct mailotp_bind_result *res)
{
	LDAP *ld;
	int rc = LDAP_SERVER_DOWN;

	res->ldap_rc = -1;
	res->ppolicy_error = -1;
	res->grace = -1;
	res->expire = -1;
	/* RFC 4513 5.1.2: a simple bind with an empty password is an
	 * unauthenticated bind that many servers answer with success. */
	if (dn == NULL || *dn == '\0' || password == NULL || *password == '\0')
		return MAILOTP_ERR_BAD_PASSWORD;

	/* A pooled connection may have been dropped by the server since its
	 * last use: on a broken-connection error, try once more on a new one. */
	for (int attempt = 0; attempt < 2; attempt++) {
		bool pooled = true;
		time_t born;

		if ((ld = pool_take(l, &l->users, &born)) == NULL) {
			pooled = false;
			born = time(NULL);
			if ((rc = conn_open(l->cfg, NULL, NULL, &ld)) != LDAP_SUCCESS)
				break;
		}
		rc = bind_once(l->cfg, ld, dn, password, res);
		if (mailotp_ldap_rc_broken(rc)) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			/* The others are likely dead too: the retry opens a new one. */
			pool_flush(l, &l->users);
			if (pooled && rc != LDAP_TIMEOUT)
				continue;
			break;
		}
		pool_give(l, &l->users, ld, born);
		break;
	}
	res->ldap_rc = rc;
	if (rc == LDAP_SUCCESS)
		return 0;
	if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
	    rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INVALID_DN_SYNTAX)
		return MAILOTP_ERR_BAD_PASSWORD;
	return mailotp_ldap_err(rc);
}

int mailotp_ldap_ping(struct mailotp_ldap *l)
{
	LDAP *ld;
	LDAPMessage *msg = NULL;
	char *attrs[] = {"namingContexts", NULL};
	struct timeval tv = {.tv_sec = l->cfg->ldap_timeout, .tv_usec = 0};
	int r, rc;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = mailotp_ldap_get(l, &ld)) != 0)
			return r;
		rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL,
		                       NULL, &tv, 1, &msg);
		ldap_msgfree(msg);
		msg = NULL;
		mailotp_ldap_put(l, ld, mailotp_ldap_rc_broken(rc));
		if (rc == LDAP_SERVER_DOWN && attempt == 0)
			continue;
		return mailotp_ldap_err(rc);
	}
	return MAILOTP_ERR_LDAP_DOWN;
}
