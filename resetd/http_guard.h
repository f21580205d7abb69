/*
 * The reset web service's defences that need no directory: who the client
 * is (socket peer, or the last X-Forwarded-For hop when the peer is a
 * trusted proxy), per-address throttling (token buckets in memory), and
 * the stateless CSRF tokens of the two forms.
 *
 * All of it is cheap and runs on libmicrohttpd's polling thread.
 */
#ifndef MAILOTPD_HTTP_GUARD_H
#define MAILOTPD_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "mailotp/error.h"

/* Base64url of 8 bytes of issue time and a 32-byte HMAC-SHA-256. */
#define MAILOTPD_CSRF_LEN 54
#define MAILOTPD_CSRF_MAX_AGE 3600
#define MAILOTPD_ADDR_LEN 64

/* A client as seen by the throttle and the log. */
struct mailotpd_client {
	char text[MAILOTPD_ADDR_LEN]; /* "192.0.2.7", "2001:db8::1", "unix" */
	unsigned char key[16];        /* IPv4 mapped into IPv6; IPv6 cut to its /64 */
};

/*
 * Works out the client of a connection: peer is the socket peer (NULL or
 * AF_UNIX for the unix: listener), xff the X-Forwarded-For header or NULL,
 * trusted the reset_trusted_proxies value or NULL. The last hop of xff is
 * believed only when the peer is one of trusted, or a unix socket peer
 * (only a local proxy can reach that socket); an unparsable last hop is
 * ignored and the peer used, so a bad header never spreads a client over
 * many buckets.
 */
void mailotpd_client_identify(const struct sockaddr *peer, const char *xff, const char *trusted,
                              struct mailotpd_client *out);

/* The throttled actions, each with its own bucket per client. */
enum mailotpd_bucket {
	MAILOTPD_BUCKET_REQUEST, /* POST /request: mails go out, so the tightest */
	MAILOTPD_BUCKET_RESET,   /* POST /reset: argon2id and LDAP writes */
	MAILOTPD_BUCKET_COUNT
};

/* Sets up the throttle table and its hash key. Returns 0 or MAILOTP_ERR_CRYPTO. */
int mailotpd_throttle_init(void) MAILOTP_MUST_CHECK;

/*
 * Takes one token from the client's bucket b. Returns true when the action
 * may go ahead. Buckets refill continuously (REQUEST: 10 per 10 minutes,
 * RESET: 30 per 10 minutes). Thread-safe.
 */
bool mailotpd_throttle_take(const struct mailotpd_client *c, enum mailotpd_bucket b);

/*
 * Sets the CSRF key, derived from secret (the service account's bind
 * password) and context (reset_public_url), so that every instance of a
 * site and every restart share it. Returns 0, MAILOTP_ERR_INVALID or
 * MAILOTP_ERR_NOMEM.
 */
int mailotpd_csrf_init(const char *secret, const char *context) MAILOTP_MUST_CHECK;

/* Wipes and frees the CSRF key; NULL-safe to call twice. */
void mailotpd_csrf_free(void);

/*
 * Writes a CSRF token for form ("request" or "reset") issued at now into
 * out (at least MAILOTPD_CSRF_LEN + 1 bytes). Returns 0 or MAILOTP_ERR_INVALID.
 */
int mailotpd_csrf_issue(const char *form, time_t now, char *out, size_t outlen) MAILOTP_MUST_CHECK;

/*
 * True when field (the hidden form field) and cookie (the mailotp_csrf
 * cookie) are both present and equal, and carry a valid MAC for form that
 * is less than MAILOTPD_CSRF_MAX_AGE seconds old at now.
 */
bool mailotpd_csrf_check(const char *form, const char *field, const char *cookie, time_t now);

#endif /* MAILOTPD_HTTP_GUARD_H */
