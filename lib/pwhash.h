/*
 * Password hashes for userPassword: argon2id by libsodium, written in the
 * form OpenLDAP's argon2 module (pw-argon2, "{ARGON2}") verifies:
 *
 *	{ARGON2}$argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt>$<hash>
 *
 * The caller (the daemon, mailotpctl, a test's main) has called
 * sodium_init() before any of this runs.
 */
#ifndef MAILOTP_PWHASH_H
#define MAILOTP_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

#include "mailotp/error.h"

#define MAILOTP_PWHASH_PREFIX "{ARGON2}"
/* The bounds of password_hash_opslimit / password_hash_memlimit (bytes). */
#define MAILOTP_PWHASH_OPSLIMIT_MIN 1ULL
#define MAILOTP_PWHASH_OPSLIMIT_MAX 10ULL
#define MAILOTP_PWHASH_MEMLIMIT_MIN (8ULL * 1024 * 1024)
#define MAILOTP_PWHASH_MEMLIMIT_MAX (4ULL * 1024 * 1024 * 1024)
/* Longest password hashed or verified (as MAILOTP_PASSWORD_MAX_BYTES). */
#define MAILOTP_PWHASH_PASSWORD_MAX 1024

/*
 * Caps the argon2id computations (hashes and verifications) that run at
 * once in this process at n; more callers wait their turn. 0, the
 * default, sets no cap. Each computation takes a core and its memlimit
 * for tens of milliseconds: the daemon sets this below its number of
 * CPUs, so that hashing new passwords (the web service, PAM password
 * changes, temporary passwords) cannot take every core from the answers
 * that wait for one. Thread-safe; a new cap applies to the next callers.
 */
void mailotp_pwhash_set_limit(unsigned n);

/* The most computations that ran at once since the last set_limit. */
unsigned mailotp_pwhash_peak(void);

/*
 * Hashes password (1..MAILOTP_PWHASH_PASSWORD_MAX bytes) with argon2id13,
 * opslimit passes (1..10) over memlimit bytes (8 MiB..4 GiB; libsodium
 * uses whole KiB), a fresh random salt, one lane. *out is a malloc'd
 * "{ARGON2}$argon2id$v=19$m=...": free() it.
 * Returns 0, MAILOTP_ERR_INVALID (NULL argument, empty password: an empty
 * userPassword would only ever meet an anonymous bind; limits out of
 * range), MAILOTP_ERR_TOOBIG (password too long), MAILOTP_ERR_NOMEM, or
 * MAILOTP_ERR_CRYPTO when libsodium fails (nearly always: the argon2
 * memory could not be allocated).
 */
int mailotp_pwhash(const char *password, unsigned long long opslimit, size_t memlimit,
                   char **out) MAILOTP_MUST_CHECK;

/*
 * True when a userPassword value is an argon2id hash this file can verify:
 * it starts with "{ARGON2}" (scheme name in any case, as slapd reads it)
 * followed by "$argon2id$". NULL gives false.
 */
bool mailotp_pwhash_is_argon2id(const char *userpassword_value);

/*
 * Verifies password against a stored "{ARGON2}$argon2id$..." value, in
 * constant time (libsodium). Values whose cost is over the limits above
 * (m > 4 GiB, t > 10) are refused without hashing: a stored value is not
 * a licence to make the daemon allocate without bound.
 * Returns 0 on a match, MAILOTP_ERR_BAD_PASSWORD when the password is
 * wrong or longer than MAILOTP_PWHASH_PASSWORD_MAX, MAILOTP_ERR_INVALID
 * for a NULL argument or a value that is not such a hash or whose header
 * (version, m, t, p) is malformed or over the limits. libsodium does not
 * tell a mismatch from a bad salt or hash encoding or a failed allocation:
 * those also give MAILOTP_ERR_BAD_PASSWORD.
 */
int mailotp_pwhash_verify(const char *stored, const char *password) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_PWHASH_H */
