/*
 * The reset web service of mailotpd: libmicrohttpd on reset_listen, the
 * routes of the spec (GET /, POST /request, GET and POST /reset, GET
 * /healthz), HTML for people and JSON for portals.
 *
 * One polling thread parses and answers; the slow work of a request
 * (LDAP, argon2id, SMTP) runs on a few worker threads while its connection
 * is suspended, so a slow directory never stalls other clients.
 *
 * Limits: 1024 connections, 32 per client address (only when no proxy is
 * trusted and the listener is not a unix socket: behind a proxy every
 * connection comes from the proxy), 10 s of silence closes a connection,
 * 64 KiB of memory per connection (request line and headers included, so
 * a 100 kB request line is refused), bodies of 16 KiB and 32 fields.
 *
 * reset_listen is read at start only; a SIGHUP reload changes everything
 * else (pages, trusted proxies, texts), not the listener.
 */
#ifndef MAILOTPD_HTTP_SERVER_H
#define MAILOTPD_HTTP_SERVER_H

#include "config.h"
#include "mailotp/error.h"

/*
 * Opens the listening socket of cfg->reset_listen: "HOST:PORT",
 * "[V6]:PORT", "unix:PATH" (created here, mode 0666 like the PAM socket:
 * the permissions of its directory decide who reaches it; a stale socket
 * is replaced), or, under systemd socket activation, the second socket
 * passed (the first is the PAM socket). "none": nothing. Call it before
 * privileges are dropped, so that a port below 1024 can be bound; no
 * thread is started. Returns 0 or a negative MAILOTP_ERR_* (logged).
 */
int mailotpd_http_listen(const struct mailotp_config *cfg) MAILOTP_MUST_CHECK;

/*
 * Starts the service (threads: call it after daemon() and after the
 * current context is set with mailotpd_ctx_set_current), opening the
 * socket first if mailotpd_http_listen() was not called. "none" does
 * nothing and returns 0. Returns 0, or a negative MAILOTP_ERR_* with the
 * reason logged.
 */
int mailotpd_http_start(const struct mailotp_config *cfg) MAILOTP_MUST_CHECK;

/*
 * Stops accepting, lets the requests in flight finish (the workers drain
 * their queue), then stops the server. NULL-safe: does nothing when the
 * service did not start.
 */
void mailotpd_http_stop(void);

#endif /* MAILOTPD_HTTP_SERVER_H */
