/* Client identity, per-address throttling and CSRF tokens (see http_guard.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_guard.h"

/* --- who the client is */

/* Parses an IPv4 or IPv6 address into the 16-byte form (IPv4 mapped). */
static bool parse_addr(const char *s, unsigned char out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET6, s, out) == 1)
		return true;
	if (inet_pton(AF_INET, s, &a4) != 1)
		return false;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &a4, 4);
	return true;
}

static bool is_v4_mapped(const unsigned char a[16])
{
	static const unsigned char prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* The text and throttle key of a 16-byte address. */
static void client_set(struct mailotpd_client *c, const unsigned char a[16])
{
	if (is_v4_mapped(a)) {
		inet_ntop(AF_INET, a + 12, c->text, sizeof(c->text));
		memcpy(c->key, a, 16);
	} else {
		inet_ntop(AF_INET6, a, c->text, sizeof(c->text));
		/* One IPv6 host usually owns a whole /64: throttle the /64. */
		memcpy(c->key, a, 8);
		memset(c->key + 8, 0, 8);
	}
}

static bool trusted_proxy(const unsigned char peer[16], const char *trusted)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char a[16];
	const char *p = trusted;

	while (p != NULL && *p != '\0') {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n > 0 && n < sizeof(buf)) {
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (parse_addr(buf, a) && memcmp(a, peer, 16) == 0)
				return true;
		}
		p += n;
	}
	return false;
}

/* The last comma-separated element of an X-Forwarded-For value, parsed. */
static bool last_hop(const char *xff, unsigned char out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *start = strrchr(xff, ',');
	size_t n;

	start = start != NULL ? start + 1 : xff;
	start += strspn(start, " \t");
	n = strcspn(start, " \t");
	if (n == 0 || n >= sizeof(buf) || start[n + strspn(start + n, " \t")] != '\0')
		return false;
	memcpy(buf, start, n);
	buf[n] = '\0';
	return parse_addr(buf, out);
}

void mailotpd_client_identify(const struct sockaddr *peer, const char *xff, const char *trusted,
                              struct mailotpd_client *out)
{
	unsigned char a[16], hop[16];
	bool believe_xff = false;

	memset(out, 0, sizeof(*out));
	if (peer != NULL && peer->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)peer;

		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &s4->sin_addr, 4);
		believe_xff = trusted_proxy(a, trusted);
	} else if (peer != NULL && peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)peer;

		memcpy(a, &s6->sin6_addr, 16);
		believe_xff = trusted_proxy(a, trusted);
	} else {
		/* The unix: listener: only a local reverse proxy can connect. */
		snprintf(out->text, sizeof(out->text), "unix");
		memset(out->key, 0xff, sizeof(out->key));
		believe_xff = true;
		if (xff == NULL || !last_hop(xff, hop))
			return;
		client_set(out, hop);
		return;
	}
	if (believe_xff && xff != NULL && last_hop(xff, hop))
		memcpy(a, hop, 16);
	client_set(out, a);
}

/* --- throttling */

#define SETS 4096
#define WAYS 8
#define WINDOW_MS 600000ull

static const uint32_t bucket_capacity[MAILOTPD_BUCKET_COUNT] = {
    [MAILOTPD_BUCKET_REQUEST] = 10,
    [MAILOTPD_BUCKET_RESET] = 30,
};

struct slot {
	unsigned char key[16];
	bool used;
	uint64_t seen_ms; /* for eviction: the least recently seen slot of a set goes */
	uint64_t last_ms[MAILOTPD_BUCKET_COUNT];
	uint32_t milli[MAILOTPD_BUCKET_COUNT]; /* tokens x 1000 */
};

/*
 * 1.8 MiB, in BSS: a page becomes resident only when a slot on it is
 * first used, so an idle daemon does not carry the whole table.
 */
static struct slot table[SETS][WAYS];
static bool table_dirty; /* a slot was written since the last clear */
static pthread_mutex_t throttle_mu = PTHREAD_MUTEX_INITIALIZER;
/* Keyed, so nobody can aim many addresses at one set to evict a victim. */
static unsigned char hash_key[crypto_shorthash_KEYBYTES];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int mailotpd_throttle_init(void)
{
	pthread_mutex_lock(&throttle_mu);
	crypto_shorthash_keygen(hash_key);
	/* Clearing a table that is still zero would touch (and keep) every page. */
	if (table_dirty)
		memset(table, 0, sizeof(table));
	table_dirty = false;
	pthread_mutex_unlock(&throttle_mu);
	return 0;
}

static struct slot *slot_find(const unsigned char key[16], uint64_t now)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct slot *set, *victim = NULL;
	uint64_t idx;

	crypto_shorthash(h, key, 16, hash_key);
	memcpy(&idx, h, sizeof(idx));
	set = table[idx % SETS];
	for (int i = 0; i < WAYS; i++) {
		if (set[i].used && memcmp(set[i].key, key, 16) == 0)
			return &set[i];
		if (victim == NULL || !set[i].used ||
		    (victim->used && set[i].seen_ms < victim->seen_ms))
			victim = &set[i];
	}
	memset(victim, 0, sizeof(*victim));
	table_dirty = true;
	victim->used = true;
	memcpy(victim->key, key, 16);
	for (int b = 0; b < MAILOTPD_BUCKET_COUNT; b++) {
		victim->milli[b] = bucket_capacity[b] * 1000u;
		victim->last_ms[b] = now;
	}
	return victim;
}

bool mailotpd_throttle_take(const struct mailotpd_client *c, enum mailotpd_bucket b)
{
	uint64_t now = now_ms(), add, full;
	struct slot *s;
	bool ok;

	if ((unsigned)b >= MAILOTPD_BUCKET_COUNT)
		return false;
	full = (uint64_t)bucket_capacity[b] * 1000u;
	pthread_mutex_lock(&throttle_mu);
	s = slot_find(c->key, now);
	s->seen_ms = now;
	/* capacity tokens per window: capacity * 1000 milli-tokens per WINDOW_MS. */
	add = (now - s->last_ms[b]) * full / WINDOW_MS;
	if (add > 0) {
		s->milli[b] = (uint32_t)(s->milli[b] + add > full ? full : s->milli[b] + add);
		s->last_ms[b] = now;
	}
	ok = s->milli[b] >= 1000u;
	if (ok)
		s->milli[b] -= 1000u;
	pthread_mutex_unlock(&throttle_mu);
	return ok;
}

/* --- CSRF */

#define CSRF_RAW (8 + crypto_auth_hmacsha256_BYTES)
#define CSRF_FUTURE_SLACK 60 /* seconds; clock steps must not void fresh forms */

static unsigned char *csrf_key; /* sodium_malloc'd */

/*
 * The key is derived from the service account's bind password (keyed
 * BLAKE2b, one way), not drawn at random: every mailotpd instance behind a
 * load balancer, and the same instance after a restart, accepts the forms
 * the others served, with no state kept anywhere but in the configuration
 * they already share. Changing the bind password rotates it.
 */
int mailotpd_csrf_init(const char *secret, const char *context)
{
	static const char label[] = "mailotp csrf key v1";
	crypto_generichash_state st;

	if (secret == NULL || *secret == '\0')
		return MAILOTP_ERR_INVALID;
	if (csrf_key == NULL && (csrf_key = sodium_malloc(crypto_auth_hmacsha256_KEYBYTES)) == NULL)
		return MAILOTP_ERR_NOMEM;
	if (strlen(secret) > crypto_generichash_KEYBYTES_MAX) {
		/* A long secret is first hashed down to a key. */
		unsigned char k[crypto_generichash_KEYBYTES];
		crypto_generichash(k, sizeof(k), (const unsigned char *)secret, strlen(secret),
		                   NULL, 0);
		crypto_generichash_init(&st, k, sizeof(k), crypto_auth_hmacsha256_KEYBYTES);
		sodium_memzero(k, sizeof(k));
	} else {
		crypto_generichash_init(&st, (const unsigned char *)secret, strlen(secret),
		                        crypto_auth_hmacsha256_KEYBYTES);
	}
	crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label));
	if (context != NULL)
		crypto_generichash_update(&st, (const unsigned char *)context, strlen(context));
	crypto_generichash_final(&st, csrf_key, crypto_auth_hmacsha256_KEYBYTES);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

void mailotpd_csrf_free(void)
{
	sodium_free(csrf_key);
	csrf_key = NULL;
}

/* MAC over "mailotp-csrf", the form name and the issue time. */
static int csrf_mac(const char *form, const unsigned char when[8],
                    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	static const unsigned char label[] = "mailotp-csrf";

	if (csrf_key == NULL)
		return MAILOTP_ERR_INVALID;
	/* HMAC-SHA-256; the streaming form keeps the parts apart (NUL after the name). */
	crypto_auth_hmacsha256_init(&st, csrf_key, crypto_auth_hmacsha256_KEYBYTES);
	crypto_auth_hmacsha256_update(&st, label, sizeof(label));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)form, strlen(form) + 1);
	crypto_auth_hmacsha256_update(&st, when, 8);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int mailotpd_csrf_issue(const char *form, time_t now, char *out, size_t outlen)
{
	unsigned char raw[CSRF_RAW];
	uint64_t t = (uint64_t)now;

	if (outlen < MAILOTPD_CSRF_LEN + 1)
		return MAILOTP_ERR_INVALID;
	for (int i = 7; i >= 0; i--, t >>= 8)
		raw[i] = (unsigned char)(t & 0xff);
	if (csrf_mac(form, raw, raw + 8) != 0)
		return MAILOTP_ERR_INVALID;
	sodium_bin2base64(out, outlen, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

bool mailotpd_csrf_check(const char *form, const char *field, const char *cookie, time_t now)
{
	unsigned char raw[CSRF_RAW], mac[crypto_auth_hmacsha256_BYTES];
	size_t len = 0;
	uint64_t t = 0;

	if (field == NULL || cookie == NULL || strlen(field) != MAILOTPD_CSRF_LEN ||
	    strlen(cookie) != MAILOTPD_CSRF_LEN ||
	    sodium_memcmp(field, cookie, MAILOTPD_CSRF_LEN) != 0)
		return false;
	if (sodium_base642bin(raw, sizeof(raw), field, MAILOTPD_CSRF_LEN, NULL, &len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    len != sizeof(raw))
		return false;
	if (csrf_mac(form, raw, mac) != 0 || sodium_memcmp(mac, raw + 8, sizeof(mac)) != 0)
		return false;
	for (int i = 0; i < 8; i++)
		t = (t << 8) | raw[i];
	return (int64_t)t <= (int64_t)now + CSRF_FUTURE_SLACK &&
	       (int64_t)now - (int64_t)t < MAILOTPD_CSRF_MAX_AGE;
}
