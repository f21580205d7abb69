/*
 * One-time codes: see otp.h. The caller (the daemon, or a test's main)
 * has called sodium_init() before any of this runs.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <limits.h>
#include <string.h>

#include <sodium.h>

#include "otp.h"

/* Hashes digits bytes of code with the record's key into out. */
static int otp_hash(const struct mailotp_otp *otp, const char *code, size_t digits,
                    unsigned char out[32])
{
	if (crypto_generichash(out, 32, (const unsigned char *)code, digits, otp->key,
	                       sizeof(otp->key)) != 0)
		return MAILOTP_ERR_CRYPTO;
	return 0;
}

int mailotp_otp_new(struct mailotp_otp *otp, char *code, size_t codelen, int digits, int ttl,
                    int max_tries, time_t now)
{
	int i, r;

	if (otp == NULL || code == NULL || digits < MAILOTP_OTP_MIN_DIGITS ||
	    digits > MAILOTP_OTP_MAX_DIGITS || codelen < (size_t)digits + 1 || ttl <= 0 ||
	    max_tries <= 0) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	/* A time_t overflow would make the code expire in the past or never. */
	if (now > (time_t)(((unsigned long long)1 << (sizeof(time_t) * CHAR_BIT - 1)) - 1) - ttl) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	/* One uniform draw per digit: randombytes_uniform rejects, so no modulo bias. */
	for (i = 0; i < digits; i++)
		code[i] = (char)('0' + randombytes_uniform(10));
	code[digits] = '\0';
	randombytes_buf(otp->key, sizeof(otp->key));
	if ((r = otp_hash(otp, code, (size_t)digits, otp->hash)) != 0)
		goto out;
	otp->expires = now + ttl;
	otp->tries_left = max_tries;
	otp->digits = digits;
	r = 0;
out:
	if (r != 0) {
		if (otp != NULL)
			mailotp_otp_wipe(otp);
		if (code != NULL && codelen > 0)
			sodium_memzero(code, codelen);
	}
	return r;
}

int mailotp_otp_check(struct mailotp_otp *otp, const char *answer, time_t now)
{
	char norm[MAILOTP_OTP_MAX_DIGITS + 1];
	unsigned char h[32];
	size_t n = 0;
	bool wellformed = true;
	const char *p;
	int r;

	if (otp == NULL || answer == NULL) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	if (otp->tries_left <= 0) {
		r = MAILOTP_ERR_MAXTRIES;
		goto out;
	}
	if (now >= otp->expires) {
		r = MAILOTP_ERR_EXPIRED;
		goto out;
	}
	if (otp->digits < MAILOTP_OTP_MIN_DIGITS || otp->digits > MAILOTP_OTP_MAX_DIGITS) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	for (p = answer; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (*p < '0' || *p > '9' || n >= (size_t)otp->digits) {
			wellformed = false;
			break;
		}
		norm[n++] = *p;
	}
	if (n != (size_t)otp->digits)
		wellformed = false;
	if (wellformed) {
		if ((r = otp_hash(otp, norm, n, h)) != 0)
			goto out;
		if (sodium_memcmp(h, otp->hash, sizeof(h)) == 0) {
			/* Used up: the same code must not open a second session. */
			otp->tries_left = 0;
			r = 0;
			goto out;
		}
	}
	otp->tries_left--;
	r = otp->tries_left > 0 ? MAILOTP_ERR_BAD_CODE : MAILOTP_ERR_MAXTRIES;
out:
	sodium_memzero(norm, sizeof(norm));
	sodium_memzero(h, sizeof(h));
	return r;
}

void mailotp_otp_wipe(struct mailotp_otp *otp)
{
	if (otp == NULL)
		return;
	sodium_memzero(otp, sizeof(*otp));
}

/* Length of the UTF-8 sequence that starts with c, so a cut never splits one. */
static size_t utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	if (c >= 0xe0)
		return c <= 0xef ? 3 : 1;
	if (c >= 0xc2)
		return 2;
	return 1;
}

/* Appends what fits of s[0..n) to out, leaving room for the NUL. */
static void append(char *out, size_t outlen, size_t *pos, const char *s, size_t n, bool *cut)
{
	size_t room = outlen - 1 - *pos;

	if (n > room) {
		n = room;
		*cut = true;
	}
	memcpy(out + *pos, s, n);
	*pos += n;
}

int mailotp_mask_address(const char *addr, char *out, size_t outlen)
{
	const char *at;
	size_t first = 0, pos = 0, i;
	bool cut = false;

	if (out == NULL || outlen == 0)
		return MAILOTP_ERR_TOOBIG;
	/* The last '@': a quoted local part may hold one, a domain never does. */
	at = addr != NULL ? strrchr(addr, '@') : NULL;
	if (at != NULL && at != addr) {
		first = utf8_seq_len((unsigned char)addr[0]);
		/* A sequence broken before its claimed length: show one byte only. */
		for (i = 1; i < first; i++) {
			if (addr + i >= at || ((unsigned char)addr[i] & 0xc0) != 0x80) {
				first = 1;
				break;
			}
		}
		append(out, outlen, &pos, addr, first, &cut);
	}
	append(out, outlen, &pos, "***", 3, &cut);
	if (at != NULL)
		append(out, outlen, &pos, at, strlen(at), &cut);
	if (cut) {
		/* Drop a trailing character that lost some of its bytes. */
		i = pos;
		while (i > 0 && ((unsigned char)out[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0 && (unsigned char)out[i - 1] >= 0xc0 &&
		    i - 1 + utf8_seq_len((unsigned char)out[i - 1]) > pos)
			pos = i - 1;
	}
	out[pos] = '\0';
	return cut ? MAILOTP_ERR_TOOBIG : 0;
}
