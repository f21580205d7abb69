/* Codes pending for a later login of the same account (see pending.h). */
#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define MAX_SLOTS 1048576u

struct entry {
	unsigned char id[32]; /* keyed hash of the lower-cased DN */
	struct mailotp_otp otp;
};

struct mailotp_pending {
	pthread_mutex_t mu;
	unsigned char key[crypto_generichash_KEYBYTES];
	size_t max; /* entries at most */
	size_t n;   /* entries in use: e[0..n) */
	size_t cap; /* entries allocated; grows up to max */
	struct entry *e;
};

int mailotp_pending_new(size_t slots, struct mailotp_pending **out)
{
	struct mailotp_pending *p;

	*out = NULL;
	if (slots == 0 || slots > MAX_SLOTS)
		return MAILOTP_ERR_INVALID;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return MAILOTP_ERR_NOMEM;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return MAILOTP_ERR_INTERNAL;
	}
	randombytes_buf(p->key, sizeof(p->key));
	p->max = slots;
	*out = p;
	return 0;
}

void mailotp_pending_free(struct mailotp_pending *p)
{
	if (p == NULL)
		return;
	if (p->e != NULL) {
		sodium_memzero(p->e, p->cap * sizeof(p->e[0]));
		free(p->e);
	}
	pthread_mutex_destroy(&p->mu);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

/* The entry id of a DN: DNs compare without regard to ASCII case. */
static int dn_id(const struct mailotp_pending *p, const char *dn, unsigned char id[32])
{
	crypto_generichash_state st;
	size_t len = dn != NULL ? strlen(dn) : 0;

	if (len == 0)
		return MAILOTP_ERR_INVALID;
	if (crypto_generichash_init(&st, p->key, sizeof(p->key), 32) != 0)
		return MAILOTP_ERR_CRYPTO;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)dn[i];

		c = (unsigned char)(c < 0x80 ? tolower(c) : c);
		(void)crypto_generichash_update(&st, &c, 1);
	}
	(void)crypto_generichash_final(&st, id, 32);
	return 0;
}

/* Index of the entry with this id, or p->n. Called with the lock held. */
static size_t find(const struct mailotp_pending *p, const unsigned char id[32])
{
	for (size_t i = 0; i < p->n; i++)
		if (sodium_memcmp(p->e[i].id, id, 32) == 0)
			return i;
	return p->n;
}

/* Removes entry i (the last one takes its place). Lock held. */
static void remove_at(struct mailotp_pending *p, size_t i)
{
	if (i + 1 != p->n)
		p->e[i] = p->e[p->n - 1];
	p->n--;
	sodium_memzero(&p->e[p->n], sizeof(p->e[0]));
}

/* A free slot: a new one, else an expired one, else the one that expires first. */
static struct entry *make_room(struct mailotp_pending *p, time_t now)
{
	size_t victim = 0;

	if (p->n < p->cap)
		return &p->e[p->n++];
	if (p->cap < p->max) {
		size_t cap = p->cap == 0 ? 16 : p->cap * 2;
		struct entry *e;

		if (cap > p->max)
			cap = p->max;
		if ((e = calloc(cap, sizeof(*e))) != NULL) {
			if (p->e != NULL) {
				memcpy(e, p->e, p->n * sizeof(*e));
				sodium_memzero(p->e, p->cap * sizeof(*e));
				free(p->e);
			}
			p->e = e;
			p->cap = cap;
			return &p->e[p->n++];
		}
		if (p->n == 0)
			return NULL;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].otp.expires <= now)
			return &p->e[i];
		if (p->e[i].otp.expires < p->e[victim].otp.expires)
			victim = i;
	}
	return &p->e[victim];
}

int mailotp_pending_put(struct mailotp_pending *p, const char *dn, struct mailotp_otp *otp,
                        time_t now)
{
	unsigned char id[32];
	struct entry *e;
	size_t i;
	int r;

	if ((r = dn_id(p, dn, id)) != 0) {
		mailotp_otp_wipe(otp);
		return r;
	}
	pthread_mutex_lock(&p->mu);
	i = find(p, id);
	e = i < p->n ? &p->e[i] : make_room(p, now);
	if (e == NULL) {
		pthread_mutex_unlock(&p->mu);
		mailotp_otp_wipe(otp);
		return MAILOTP_ERR_NOMEM;
	}
	memcpy(e->id, id, sizeof(id));
	e->otp = *otp;
	pthread_mutex_unlock(&p->mu);
	mailotp_otp_wipe(otp);
	sodium_memzero(id, sizeof(id));
	return 0;
}

int mailotp_pending_check(struct mailotp_pending *p, const char *dn, const char *answer, time_t now,
                          int *tries_left)
{
	unsigned char id[32];
	size_t i;
	int r;

	*tries_left = 0;
	if ((r = dn_id(p, dn, id)) != 0)
		return r;
	pthread_mutex_lock(&p->mu);
	i = find(p, id);
	if (i == p->n) {
		r = MAILOTP_ERR_NOT_FOUND;
	} else {
		r = mailotp_otp_check(&p->e[i].otp, answer, now);
		*tries_left = p->e[i].otp.tries_left;
		if (r == 0 || r == MAILOTP_ERR_EXPIRED || r == MAILOTP_ERR_MAXTRIES ||
		    p->e[i].otp.tries_left <= 0) {
			remove_at(p, i);
			if (r == MAILOTP_ERR_BAD_CODE)
				r = MAILOTP_ERR_MAXTRIES;
		}
	}
	pthread_mutex_unlock(&p->mu);
	sodium_memzero(id, sizeof(id));
	return r;
}

void mailotp_pending_drop(struct mailotp_pending *p, const char *dn)
{
	unsigned char id[32];
	size_t i;

	if (dn_id(p, dn, id) != 0)
		return;
	pthread_mutex_lock(&p->mu);
	if ((i = find(p, id)) < p->n)
		remove_at(p, i);
	pthread_mutex_unlock(&p->mu);
	sodium_memzero(id, sizeof(id));
}

size_t mailotp_pending_count(struct mailotp_pending *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n;
	pthread_mutex_unlock(&p->mu);
	return n;
}
