/*
 * The directory operations only mailotpctl(8) does: creating an account
 * entry (002: staff issue the account), reading the state that lib/account
 * does not need for a login (ppolicy lock, consent), and clearing locks.
 *
 * Everything goes through the service account's pool (ldap_pool.h), so the
 * CLI needs exactly the rights the daemon has, plus "add" on the accounts'
 * parent entry. A connection the server dropped is replaced once.
 */
#ifndef MAILOTPCTL_LDAP_H
#define MAILOTPCTL_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "ldap_pool.h"
#include "mailotp/error.h"

/* The attributes of an entry that `show` and `unlock` read besides struct mailotp_account. */
struct mailotpctl_extra {
	char *locked_time;     /* pwdAccountLockedTime (operational), or NULL */
	size_t n_pwd_failures; /* values of pwdFailureTime: wrong passwords counted by ppolicy */
	char *otp_failures;    /* mailotpOtpFailures as stored, or NULL */
	char *otp_fail_time;   /* mailotpOtpFailTime as stored, or NULL */
	char *consent_version; /* mailotpConsentVersion, or NULL */
	char *consent_time;    /* mailotpConsentTime, or NULL */
	char *changed_time;    /* mailotpPasswordChangedTime, or NULL */
};

/*
 * Creates uid=<user, RFC 4514-escaped>,<ldap_base> with the object classes
 * inetOrgPerson and mailotpAccount, uid, cn and sn (name, or user when
 * name is NULL), ldap_name_attr when it is another attribute, and mail
 * (in ldap_mail_attr), and no userPassword: nothing logs in until the
 * invite is used. *dn_out (malloc'd) is the new DN, also on failure when
 * it could be built. Returns 0, MAILOTP_ERR_CONFLICT (an entry with that
 * DN exists), MAILOTP_ERR_LDAP_DOWN, MAILOTP_ERR_LDAP (refused: err says
 * the server's reason), MAILOTP_ERR_INVALID or MAILOTP_ERR_NOMEM.
 */
int mailotpctl_ldap_add(struct mailotp_ldap *l, const struct mailotp_config *cfg, const char *user,
                        const char *mail, const char *name, char **dn_out, char *err,
                        size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Reads the extra attributes of entry dn into *x (zeroed first; release
 * with mailotpctl_extra_clear). Returns 0, MAILOTP_ERR_NOT_FOUND (the entry
 * is gone), MAILOTP_ERR_LDAP_DOWN or MAILOTP_ERR_LDAP.
 */
int mailotpctl_ldap_read_extra(struct mailotp_ldap *l, const struct mailotp_config *cfg,
                               const char *dn, struct mailotpctl_extra *x) MAILOTP_MUST_CHECK;

void mailotpctl_extra_clear(struct mailotpctl_extra *x);

/* What mailotpctl_ldap_unlock removed. */
struct mailotpctl_unlocked {
	char locked_time[64];  /* the pwdAccountLockedTime removed, "" when none */
	char otp_failures[32]; /* the mailotpOtpFailures removed, "" when none */
	bool otp_fail_time;    /* mailotpOtpFailTime removed */
};

/*
 * Removes pwdAccountLockedTime (ppolicy's lock; slapd then also forgets
 * pwdFailureTime), mailotpOtpFailures and mailotpOtpFailTime from dn, each
 * only if present (a modify that deletes an absent attribute fails as a
 * whole), in one modify. When another host changed the entry between the
 * read and the write, reads and tries once more. *u says what was removed
 * (all empty: nothing to clear). Returns 0, MAILOTP_ERR_NOT_FOUND,
 * MAILOTP_ERR_LDAP_DOWN or MAILOTP_ERR_LDAP (err: the server's reason).
 */
int mailotpctl_ldap_unlock(struct mailotp_ldap *l, const struct mailotp_config *cfg, const char *dn,
                           struct mailotpctl_unlocked *u, char *err,
                           size_t errlen) MAILOTP_MUST_CHECK;

#endif /* MAILOTPCTL_LDAP_H */
