/*
 * The SMTP client (RFC 5321): smtp:// with STARTTLS per smtp_starttls
 * (no, auto, yes), smtps://, AUTH PLAIN or LOGIN when smtp_user is set,
 * certificate checks against smtp_ca_file or the system's store, one
 * smtp_timeout for the whole dialogue. Commands are pipelined (RFC 2920)
 * when the server offers it, and idle connections are kept for the next
 * mail.
 */
#ifndef MAILOTP_SMTP_H
#define MAILOTP_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "mailotp/error.h"

/* Initialises the TLS library once; call before any thread starts. Returns 0 or
 * MAILOTP_ERR_INTERNAL. */
int mailotp_mail_global_init(void) MAILOTP_MUST_CHECK;

/*
 * smtp_url's form: smtp://HOST[:PORT][/EHLO-NAME] or smtps://..., HOST a
 * name, an IPv4 address or a bracketed IPv6 address; the path, if any, is
 * the name given in EHLO (the local host name without one). On false, why
 * says what is wrong.
 */
bool mailotp_smtp_url_valid(const char *url, char *why, size_t whylen);

/*
 * Asked once, when the server has taken the envelope and waits for the
 * message (its 354 to DATA), before a byte of the message is sent. A
 * nonzero answer withholds the message: the connection is dropped
 * without the final ".", so nothing is delivered, and the send returns
 * that answer. Not asked when the conversation fails earlier: the caller
 * learns that from the send's own return.
 */
struct mailotp_mail_gate {
	int (*ask)(void *arg);
	/* Optional: called now and then while the conversation waits for the
	 * server (at least every 100 ms), to collect the answer early. */
	void (*tick)(void *arg);
	void *arg;
};

/*
 * Sends message (a complete RFC 5322 text with CRLF line ends and lines
 * of at most 998 octets) from cfg->mail_from to the nrcpt addresses.
 * smtp_password is the content of smtp_password_file or NULL. Returns 0;
 * MAILOTP_ERR_INVALID (an invalid address, or a message with a bare CR
 * or LF, a NUL or an overlong line: nothing is sent, so no text can end
 * the DATA early); MAILOTP_ERR_SMTP (could not connect, TLS failed,
 * STARTTLS required and not offered, no usable AUTH, timed out, closed,
 * a malformed reply); MAILOTP_ERR_SMTP_REFUSED (the server answered 4xx
 * or 5xx: greeting, AUTH, sender, any recipient, or the message); or
 * what gate (may be NULL) answered. err gets the reason, with the
 * server's reply where there is one; never the message or a password.
 */
int mailotp_smtp_send(const struct mailotp_config *cfg, const char *smtp_password,
                      const char *const *rcpt, size_t nrcpt, const char *message,
                      const struct mailotp_mail_gate *gate, char *err,
                      size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Connects to the SMTP server, does the greeting, STARTTLS and AUTH as
 * configured, sends NOOP and QUIT (for mailotpctl check). Returns as
 * mailotp_smtp_send.
 */
int mailotp_smtp_probe(const struct mailotp_config *cfg, const char *smtp_password, char *err,
                       size_t errlen) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_SMTP_H */
