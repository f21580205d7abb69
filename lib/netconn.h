/*
 * A client connection for a line protocol (SMTP): TCP to a host and port,
 * optionally inside TLS (GnuTLS, from the start or later, for STARTTLS),
 * with reads buffered and every wait bounded by a deadline on the
 * monotonic clock (mailotp_conn_now_ms() + a budget).
 *
 * Errors: MAILOTP_ERR_TIMEOUT (the deadline passed), MAILOTP_ERR_CLOSED
 * (the peer closed), MAILOTP_ERR_IO (socket or TLS failure),
 * MAILOTP_ERR_TOOBIG (a line longer than the caller's buffer),
 * MAILOTP_ERR_CONFIG (a CA file that cannot be used), MAILOTP_ERR_NOMEM;
 * each with a one-line reason in err.
 */
#ifndef MAILOTP_NETCONN_H
#define MAILOTP_NETCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailotp/error.h"

struct mailotp_conn;

/* Called before each wait and at least every MAILOTP_CONN_TICK_MS while it lasts. */
struct mailotp_conn_tick {
	void (*fn)(void *arg);
	void *arg;
};
#define MAILOTP_CONN_TICK_MS 100

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t mailotp_conn_now_ms(void);

/*
 * Resolves host (a name, an IPv4 address, or an IPv6 address without
 * brackets) and connects to the first address that answers before the
 * deadline. The name lookup itself is bounded by the resolver's own
 * timeouts, not by the deadline.
 */
int mailotp_conn_open(const char *host, const char *port, int64_t deadline,
                      struct mailotp_conn **out, char *err, size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Runs a TLS handshake on the connection, verifying the server's
 * certificate against ca_file (PEM; NULL: the system's trust store) and
 * the host given to mailotp_conn_open (a DNS name, or an IP address
 * matched against the certificate's IP addresses). Fails if bytes are
 * already buffered: they came in clear before the handshake.
 */
int mailotp_conn_start_tls(struct mailotp_conn *c, const char *ca_file, int64_t deadline, char *err,
                           size_t errlen) MAILOTP_MUST_CHECK;

/* Sends all len bytes. tick may be NULL. */
int mailotp_conn_write(struct mailotp_conn *c, const void *buf, size_t len, int64_t deadline,
                       const struct mailotp_conn_tick *tick, char *err,
                       size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Reads one line into line (NUL-terminated, without its CR LF; the line
 * must fit in cap - 1 bytes) and its length into *len. tick may be NULL.
 */
int mailotp_conn_read_line(struct mailotp_conn *c, char *line, size_t cap, size_t *len,
                           int64_t deadline, const struct mailotp_conn_tick *tick, char *err,
                           size_t errlen) MAILOTP_MUST_CHECK;

/* Bytes received and not yet returned by mailotp_conn_read_line. */
size_t mailotp_conn_buffered(const struct mailotp_conn *c);

bool mailotp_conn_is_tls(const struct mailotp_conn *c);

/* The connected address is 127.0.0.0/8 or ::1. */
bool mailotp_conn_is_loopback(const struct mailotp_conn *c);

/*
 * For reusing an idle connection: true when nothing is waiting to be read
 * and the peer has not closed (a server that timed the connection out has
 * closed it or sent a 421 that nobody asked for).
 */
bool mailotp_conn_idle_ok(struct mailotp_conn *c);

/* Closes (a TLS connection with a close_notify, sent without waiting) and frees. NULL is fine. */
void mailotp_conn_free(struct mailotp_conn *c);

#endif /* MAILOTP_NETCONN_H */
