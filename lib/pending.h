/*
 * Codes waiting for the next login of the same account, for the
 * `combined` login (login.h): a gateway such as HTTP Basic auth can pass
 * only one secret per request, so the code mailed after one request is
 * checked in a later one, on another connection.
 *
 * The table lives in the daemon's memory for the daemon's life (a reload
 * keeps it, a restart forgets it: the user asks for a new code). Entries
 * are found by a keyed BLAKE2b hash of the account's DN folded to lower
 * case (the key is random per table), so the table holds no name, and a
 * code only as the otp record does (a keyed hash). It is bounded: when
 * full, an expired entry, else the one that expires first, makes room.
 * Thread-safe.
 */
#ifndef MAILOTP_PENDING_H
#define MAILOTP_PENDING_H

#include <stddef.h>
#include <time.h>

#include "otp.h"
#include "mailotp/error.h"

#define MAILOTP_PENDING_DEFAULT_SLOTS 4096

struct mailotp_pending;

/* Makes a table of `slots` entries (1..1048576). Returns 0 or an error. */
int mailotp_pending_new(size_t slots, struct mailotp_pending **out) MAILOTP_MUST_CHECK;

/* Wipes and frees the table. NULL-safe. */
void mailotp_pending_free(struct mailotp_pending *p);

/*
 * Keeps *otp as the code pending for dn (replacing an older one); *otp
 * is wiped. Returns 0, or MAILOTP_ERR_INVALID for an empty dn.
 */
int mailotp_pending_put(struct mailotp_pending *p, const char *dn, struct mailotp_otp *otp,
                        time_t now) MAILOTP_MUST_CHECK;

/*
 * Checks answer against the code pending for dn (mailotp_otp_check).
 * Returns 0 when it matches (the entry is then gone: a code is used once),
 * MAILOTP_ERR_NOT_FOUND when no code is pending, MAILOTP_ERR_EXPIRED
 * (entry gone), MAILOTP_ERR_BAD_CODE (a try used; *tries_left is what is
 * left) or MAILOTP_ERR_MAXTRIES (no tries left: entry gone).
 */
int mailotp_pending_check(struct mailotp_pending *p, const char *dn, const char *answer, time_t now,
                          int *tries_left) MAILOTP_MUST_CHECK;

/* Forgets the code pending for dn, if any. */
void mailotp_pending_drop(struct mailotp_pending *p, const char *dn);

/* Number of entries in use (expired ones included until reused). */
size_t mailotp_pending_count(struct mailotp_pending *p);

#endif /* MAILOTP_PENDING_H */
