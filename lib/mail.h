/*
 * Sending mail over SMTP with libcurl: smtp:// with STARTTLS per
 * smtp_starttls (no, auto, yes), smtps://, optional AUTH, CA file,
 * connect and transfer timeouts. libcurl is told to use no proxy and to
 * read no .netrc, whatever the environment says.
 */
#ifndef MAILOTP_MAIL_H
#define MAILOTP_MAIL_H

#include <stddef.h>

#include "config.h"
#include "template.h"
#include "mailotp/error.h"

/* Calls curl_global_init once; call before any thread starts. Returns 0 or MAILOTP_ERR_INTERNAL. */
int mailotp_mail_global_init(void) MAILOTP_MUST_CHECK;

/*
 * Asked once, when the server has taken the envelope and waits for the
 * message (its 354 to DATA), before a byte of the message is sent. A
 * nonzero answer withholds the message: the transfer is abandoned and
 * the connection dropped without the final ".", so nothing is delivered,
 * and the send returns that answer. Not asked when the conversation fails
 * earlier: the caller learns that from the send's own return.
 */
struct mailotp_mail_gate {
	int (*ask)(void *arg);
	/* Optional: called now and then while the conversation runs (at
	 * least once a second), to collect the answer early without waiting. */
	void (*tick)(void *arg);
	void *arg;
};

/*
 * Sends message (a complete RFC 5322 text with CRLF line ends) from
 * cfg->mail_from to the nrcpt addresses. smtp_password is the content of
 * smtp_password_file or NULL. Returns 0, MAILOTP_ERR_SMTP (could not
 * connect, TLS failed, timed out) or MAILOTP_ERR_SMTP_REFUSED (the server
 * answered with a refusal: recipient, sender or data rejected), with
 * libcurl's reason in err; or what gate (may be NULL) answered.
 */
int mailotp_smtp_send(const struct mailotp_config *cfg, const char *smtp_password,
		      const char *const *rcpt, size_t nrcpt, const char *message,
		      const struct mailotp_mail_gate *gate, char *err,
		      size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Renders template `name` in lang with vars, builds the message and sends
 * it to the nto addresses. The rendered body and message are wiped before
 * they are freed; gate as for mailotp_smtp_send. Returns what the steps
 * return.
 */
int mailotp_mail_send_template(const struct mailotp_config *cfg, const char *smtp_password,
			       const struct mailotp_templates *t, const char *lang,
			       const char *name, const char *const *to, size_t nto,
			       const struct mailotp_tvar *vars, size_t nvars,
			       const struct mailotp_mail_gate *gate, char *err,
			       size_t errlen) MAILOTP_MUST_CHECK;

/*
 * Connects to the SMTP server, does the greeting and STARTTLS as
 * configured, and quits without sending (for mailotpctl check).
 */
int mailotp_smtp_probe(const struct mailotp_config *cfg, const char *smtp_password, char *err,
		       size_t errlen) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_MAIL_H */
