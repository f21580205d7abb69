/*
 * One-time codes: generation, storage as a keyed hash, expiry and tries.
 * Pure logic over libsodium; the clock is passed in so tests can move it.
 */
#ifndef MAILOTP_OTP_H
#define MAILOTP_OTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mailotp/error.h"

#define MAILOTP_OTP_MIN_DIGITS 6
#define MAILOTP_OTP_MAX_DIGITS 10

/*
 * The daemon's record of one code. Only a BLAKE2b hash of the code, keyed
 * with a random per-record key, is kept: the code itself is wiped as soon
 * as it is mailed.
 */
struct mailotp_otp {
	unsigned char key[32];
	unsigned char hash[32];
	time_t expires;       /* the code is refused at or after this time */
	int tries_left;       /* wrong answers still allowed */
	int digits;
};

/*
 * Draws a uniformly random code of `digits` decimal digits (6..10) with
 * libsodium's randombytes_uniform (no modulo bias; leading zeros kept)
 * into code[digits + 1] (NUL-terminated), and fills *otp: fresh key, hash
 * of the code, expires = now + ttl, tries_left = max_tries.
 * Returns 0 or MAILOTP_ERR_INVALID.
 */
int mailotp_otp_new(struct mailotp_otp *otp, char *code, size_t codelen, int digits, int ttl,
		    int max_tries, time_t now) MAILOTP_MUST_CHECK;

/*
 * Checks an answer. Blanks (space, tab) around and inside the answer are
 * ignored, as people copy codes as "123 456"; anything else that is not
 * a digit makes the answer wrong. The comparison of hashes is constant
 * time (sodium_memcmp).
 * Returns 0 when the code matches and has not expired (the record is then
 * used up: tries_left = 0), MAILOTP_ERR_EXPIRED when now >= expires,
 * MAILOTP_ERR_MAXTRIES when no tries are left (before or after this
 * answer), MAILOTP_ERR_BAD_CODE for a wrong answer with tries left.
 */
int mailotp_otp_check(struct mailotp_otp *otp, const char *answer, time_t now) MAILOTP_MUST_CHECK;

/* Wipes a record. NULL-safe. */
void mailotp_otp_wipe(struct mailotp_otp *otp);

/*
 * Masks a mail address for display: the first character of the local part,
 * then "***", then "@" and the domain ("alice@example.org" ->
 * "a***@example.org"). A value without '@' gives "***". out is always
 * NUL-terminated; returns MAILOTP_ERR_TOOBIG when cut.
 */
int mailotp_mask_address(const char *addr, char *out, size_t outlen);

#endif /* MAILOTP_OTP_H */
