/*
 * Mails built from templates: renders one, builds the RFC 5322 message
 * and hands it to the SMTP client (smtp.h).
 */
#ifndef MAILOTP_MAIL_H
#define MAILOTP_MAIL_H

#include <stddef.h>

#include "config.h"
#include "smtp.h"
#include "template.h"
#include "mailotp/error.h"

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

#endif /* MAILOTP_MAIL_H */
