/*
 * Connections to the directory: a pool of connections bound as the
 * service account (searches and writes) and a pool of connections used
 * only to check users' passwords by binding as them.
 *
 * Every connection is set up from mailotp.conf alone: LDAPNOINIT keeps
 * libldap from reading ldap.conf, .ldaprc and LDAP* variables
 * (mailotp_ldap_global_init), and every option that matters is set
 * explicitly. New connections try the ldap_uri list in order, so the
 * first server that answers is used (failover); connect and every
 * operation are bounded by ldap_timeout. A pooled connection that the
 * server dropped (e.g. it restarted) is replaced once, transparently.
 */
#ifndef MAILOTP_LDAP_POOL_H
#define MAILOTP_LDAP_POOL_H

#include <ldap.h>
#include <stdbool.h>

#include "config.h"
#include "mailotp/error.h"

struct mailotp_ldap;

/* What a password bind said beyond yes or no (from the ppolicy control). */
struct mailotp_bind_result {
	int ldap_rc;       /* the bind's LDAP result code, -1 when none */
	int ppolicy_error; /* LDAPPasswordPolicyError, or -1 when no control came back */
	int grace;         /* grace logins left, -1 when not said */
	int expire;        /* seconds until the password expires, -1 when not said */
};

/*
 * Sets LDAPNOINIT so libldap reads no configuration of its own. Call once
 * in main() before any thread starts and before any other libldap call.
 */
void mailotp_ldap_global_init(void);

/*
 * Creates a pool for cfg, binding as ldap_bind_dn with bind_pw. Both are
 * borrowed and must outlive the pool. Connects lazily: this does no I/O.
 */
int mailotp_ldap_new(const struct mailotp_config *cfg, const char *bind_pw,
                     struct mailotp_ldap **out) MAILOTP_MUST_CHECK;

/* Closes every connection and frees the pool; NULL-safe. */
void mailotp_ldap_free(struct mailotp_ldap *l);

/*
 * Borrows a connection bound as the service account, opening one if none
 * is idle. Returns 0, MAILOTP_ERR_LDAP_DOWN (no server answered) or
 * MAILOTP_ERR_LDAP (e.g. the service bind was refused: wrong bind
 * password, logged with the reason).
 */
int mailotp_ldap_get(struct mailotp_ldap *l, LDAP **ld) MAILOTP_MUST_CHECK;

/* Gives a connection back; broken discards it (after a server-down error). */
void mailotp_ldap_put(struct mailotp_ldap *l, LDAP *ld, bool broken);

/*
 * A modify sent on a borrowed service connection without waiting for its
 * answer, so that other work (the mail) goes on meanwhile. begin returns
 * 0 (*ld is borrowed and *msgid in flight), what mailotp_ldap_get returned
 * when no connection could be had, or MAILOTP_ERR_IO when sending failed
 * on the one it had (a new connection may do); on error nothing is held.
 * end collects the answer: with
 * wait, at most ldap_timeout; without, only if it is already there. It
 * returns false (without wait, nothing yet: ld stays borrowed) or true:
 * the connection is given back (discarded when it broke or timed out)
 * and *rc is the server's result code (LDAP_TIMEOUT, LDAP_SERVER_DOWN,
 * ... when there was none).
 */
int mailotp_ldap_modify_begin(struct mailotp_ldap *l, const char *dn, LDAPMod **mods, LDAP **ld,
                              int *msgid) MAILOTP_MUST_CHECK;
bool mailotp_ldap_modify_end(struct mailotp_ldap *l, LDAP *ld, int msgid, bool wait, int *rc);

/*
 * Maps an LDAP result code to a mailotp error: server down, connect
 * error, timeout, busy and unavailable give MAILOTP_ERR_LDAP_DOWN; 0 gives
 * 0; everything else MAILOTP_ERR_LDAP.
 */
int mailotp_ldap_err(int ldap_rc);

/* True when ldap_rc means the connection is unusable and must be dropped. */
bool mailotp_ldap_rc_broken(int ldap_rc);

/*
 * Checks a password by a simple bind as dn, with the password policy
 * request control. An empty dn or password is refused before any bind
 * (an empty simple bind is an anonymous "success").
 * Returns 0 (bound), MAILOTP_ERR_BAD_PASSWORD (invalid credentials: wrong
 * password, locked, expired — *res says which when the server told),
 * MAILOTP_ERR_LDAP_DOWN or MAILOTP_ERR_LDAP.
 */
int mailotp_ldap_check_password(struct mailotp_ldap *l, const char *dn, const char *password,
                                struct mailotp_bind_result *res) MAILOTP_MUST_CHECK;

/* Opens (or borrows) a service connection and does a root DSE read. For /healthz and `check`. */
int mailotp_ldap_ping(struct mailotp_ldap *l) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_LDAP_POOL_H */
