/*
 * Template mails: render, build the message, hand it to the SMTP client.
 * Every intermediate text may hold a code, a token or a temporary
 * password, so each is wiped before it is freed.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "mail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "message.h"

static void wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int mailotp_mail_send_template(const struct mailotp_config *cfg, const char *smtp_password,
                               const struct mailotp_templates *t, const char *lang,
                               const char *name, const char *const *to, size_t nto,
                               const struct mailotp_tvar *vars, size_t nvars,
                               const struct mailotp_mail_gate *gate, char *err, size_t errlen)
{
	char *subject = NULL, *body = NULL, *msg = NULL;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (cfg == NULL)
		return MAILOTP_ERR_INVALID;
	if ((r = mailotp_template_render(t, lang, name, vars, nvars, &subject, &body)) != 0) {
		snprintf(err, errlen, "mail template %s: %s", name != NULL ? name : "(null)",
		         r == MAILOTP_ERR_NOMEM ? "out of memory" : "no such template");
		goto out;
	}
	if ((r = mailotp_message_build(cfg->mail_from, to, nto, subject, body, time(NULL), &msg)) !=
	    0) {
		snprintf(err, errlen, "mail %s: %s", name,
		         r == MAILOTP_ERR_NOMEM ? "out of memory"
		                                : "invalid address or text, message not built");
		goto out;
	}
	r = mailotp_smtp_send(cfg, smtp_password, to, nto, msg, gate, err, errlen);
out:
	wipe_free(subject);
	wipe_free(body);
	wipe_free(msg);
	return r;
}
