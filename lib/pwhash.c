/*
 * argon2id password hashes for userPassword: see pwhash.h.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "pwhash.h"

#define ARGON2ID_TAG "$argon2id$"
#define PREFIX_LEN (sizeof(MAILOTP_PWHASH_PREFIX) - 1)
/* memlimit is given in bytes, the encoded m= in KiB. */
#define M_KIB_MAX (MAILOTP_PWHASH_MEMLIMIT_MAX / 1024)

/* The cap of mailotp_pwhash_set_limit(): computations running, and the most allowed. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static unsigned gate_limit, gate_busy, gate_peak;

void mailotp_pwhash_set_limit(unsigned n)
{
	pthread_mutex_lock(&gate_mu);
	gate_limit = n;
	gate_peak = gate_busy;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

unsigned mailotp_pwhash_peak(void)
{
	unsigned n;

	pthread_mutex_lock(&gate_mu);
	n = gate_peak;
	pthread_mutex_unlock(&gate_mu);
	return n;
}

static void gate_enter(void)
{
	pthread_mutex_lock(&gate_mu);
	while (gate_limit != 0 && gate_busy >= gate_limit)
		pthread_cond_wait(&gate_cv, &gate_mu);
	if (++gate_busy > gate_peak)
		gate_peak = gate_busy;
	pthread_mutex_unlock(&gate_mu);
}

static void gate_leave(void)
{
	pthread_mutex_lock(&gate_mu);
	gate_busy--;
	pthread_cond_signal(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

int mailotp_pwhash(const char *password, unsigned long long opslimit, size_t memlimit, char **out)
{
	char str[crypto_pwhash_STRBYTES];
	size_t plen, slen;
	int r;

	if (out != NULL)
		*out = NULL;
	if (password == NULL || out == NULL || opslimit < MAILOTP_PWHASH_OPSLIMIT_MIN ||
	    opslimit > MAILOTP_PWHASH_OPSLIMIT_MAX ||
	    (unsigned long long)memlimit < MAILOTP_PWHASH_MEMLIMIT_MIN ||
	    (unsigned long long)memlimit > MAILOTP_PWHASH_MEMLIMIT_MAX) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	if ((plen = strnlen(password, MAILOTP_PWHASH_PASSWORD_MAX + 1)) == 0) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	if (plen > MAILOTP_PWHASH_PASSWORD_MAX) {
		r = MAILOTP_ERR_TOOBIG;
		goto out;
	}
	/* -1 here is argon2 failing to get memlimit bytes (or a thread). */
	gate_enter();
	r = crypto_pwhash_str_alg(str, password, plen, opslimit, memlimit,
	                          crypto_pwhash_ALG_ARGON2ID13);
	gate_leave();
	if (r != 0) {
		r = MAILOTP_ERR_CRYPTO;
		goto out;
	}
	slen = strnlen(str, sizeof(str));
	if ((*out = malloc(PREFIX_LEN + slen + 1)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, MAILOTP_PWHASH_PREFIX, PREFIX_LEN);
	memcpy(*out + PREFIX_LEN, str, slen + 1);
	r = 0;
out:
	sodium_memzero(str, sizeof(str));
	return r;
}

bool mailotp_pwhash_is_argon2id(const char *userpassword_value)
{
	return userpassword_value != NULL &&
	       strncasecmp(userpassword_value, MAILOTP_PWHASH_PREFIX, PREFIX_LEN) == 0 &&
	       strncmp(userpassword_value + PREFIX_LEN, ARGON2ID_TAG, sizeof(ARGON2ID_TAG) - 1) ==
	           0;
}

/* Reads a decimal number of at most 10 digits at *s; advances *s. */
static bool read_num(const char **s, unsigned long long *v)
{
	const char *p = *s;

	*v = 0;
	while (*p >= '0' && *p <= '9' && p - *s < 10)
		*v = *v * 10 + (unsigned long long)(*p++ - '0');
	if (p == *s || (*p >= '0' && *p <= '9'))
		return false;
	*s = p;
	return true;
}

/* The cost of "$argon2id$v=19$m=M,t=T,p=P$...", bounded before anything is allocated. */
static bool cost_ok(const char *h)
{
	static const char head[] = ARGON2ID_TAG "v=19$m=";
	unsigned long long m, t, par;

	if (strncmp(h, head, sizeof(head) - 1) != 0)
		return false;
	h += sizeof(head) - 1;
	if (!read_num(&h, &m) || strncmp(h, ",t=", 3) != 0)
		return false;
	h += 3;
	if (!read_num(&h, &t) || strncmp(h, ",p=", 3) != 0)
		return false;
	h += 3;
	if (!read_num(&h, &par) || *h != '$')
		return false;
	return m >= 1 && m <= M_KIB_MAX && t >= 1 && t <= MAILOTP_PWHASH_OPSLIMIT_MAX && par >= 1 &&
	       par <= 16;
}

int mailotp_pwhash_verify(const char *stored, const char *password)
{
	const char *h;
	size_t plen;
	int r;

	if (stored == NULL || password == NULL || !mailotp_pwhash_is_argon2id(stored))
		return MAILOTP_ERR_INVALID;
	h = stored + PREFIX_LEN;
	/* libsodium takes the string as char[crypto_pwhash_STRBYTES]. */
	if (strnlen(h, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES || !cost_ok(h))
		return MAILOTP_ERR_INVALID;
	if ((plen = strnlen(password, MAILOTP_PWHASH_PASSWORD_MAX + 1)) >
	    MAILOTP_PWHASH_PASSWORD_MAX)
		return MAILOTP_ERR_BAD_PASSWORD;
	gate_enter();
	r = crypto_pwhash_str_verify(h, password, plen);
	gate_leave();
	return r != 0 ? MAILOTP_ERR_BAD_PASSWORD : 0;
}
