/*
 * The account stage and the password change of the PAM module, as pure
 * logic over the directory (the daemon only moves frames):
 *
 *   account: a live temporary password or an administrator's forced
 *            change -> NEW_AUTHTOK_REQD; an expired temporary password ->
 *            ACCT_EXPIRED; unknown -> USER_UNKNOWN.
 *   change:  the current password checked by binding as the account, the
 *            new one checked against the policy and against the current
 *            one, its argon2id hash written, temporary and forced-change
 *            state cleared, a "password changed" notice mailed (to notify
 *            recipients too).
 */
#ifndef MAILOTP_CHPASS_H
#define MAILOTP_CHPASS_H

#include "login.h"

/*
 * The account stage for user. With terms configured and not yet accepted
 * in their current version, the status is CONSENT_REQUIRED: info holds
 * the terms, prompt the question; the answer goes to mailotp_acct_consent.
 */
void mailotp_acct_check(const struct mailotp_services *s, const char *user,
                        struct mailotp_outcome *o);

/*
 * The answer to the consent question: exactly "yes" or "はい" accepts
 * (stored on the entry: version, time, from), anything else refuses
 * (PERM_DENIED). After acceptance the rest of the account stage runs.
 */
void mailotp_acct_consent(const struct mailotp_services *s, const char *user, const char *answer,
                          const char *from, struct mailotp_outcome *o);

/*
 * Changes user's password from old_password to new_password. With
 * prelim_only, checks old_password only, or, when old_password is NULL,
 * only that the account is in the directory (OK or USER_UNKNOWN). Status OK, AUTHTOK_RECOVERY_ERR
 * (current password wrong), AUTHTOK_ERR (new password refused: error says
 * why), USER_UNKNOWN, UNAVAIL.
 */
void mailotp_chpass(const struct mailotp_services *s, const char *user, const char *old_password,
                    const char *new_password, bool prelim_only, const char *rhost,
                    struct mailotp_outcome *o);

/*
 * The policy for a new password of account a, with the account's own
 * strings (login, the mail's local part, the name) as the personal ones.
 * Returns 0, or MAILOTP_ERR_POLICY with the explanation in lang in msg
 * and the failed rules in *failed.
 */
int mailotp_password_check(const struct mailotp_services *s, const struct mailotp_account *a,
                           const char *password, const char *lang, char *msg, size_t msglen,
                           unsigned *failed) MAILOTP_MUST_CHECK;

/* Mails the "password changed" notice to a and its notify recipients (errors logged). */
void mailotp_notify_changed(const struct mailotp_services *s, const struct mailotp_account *a,
                            const char *from_where);

#endif /* MAILOTP_CHPASS_H */
