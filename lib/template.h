/*
 * Mail templates per language: template_dir/LANG/NAME.txt, LANG one of
 * "en", "ja". A template file is UTF-8:
 *
 *	Subject: text of the subject, may hold {{placeholders}}
 *	<blank line>
 *	body lines, may hold {{placeholders}}
 *
 * Placeholders are {{name}} with name from the set allowed for that
 * template (see template.c); any other {{...}} is an error at load time,
 * so `mailotpd -t` finds it. Values are inserted with CR, LF and other
 * control characters replaced by a space, so neither LDAP data nor user
 * input can add lines or headers.
 */
#ifndef MAILOTP_TEMPLATE_H
#define MAILOTP_TEMPLATE_H

#include <stddef.h>

#include "mailotp/error.h"

/* Template names. */
#define MAILOTP_TMPL_OTP "otp"                       /* {{code}} {{minutes}} {{user}} {{name}} {{service}} {{rhost}} */
#define MAILOTP_TMPL_RESET_LINK "reset_link"         /* {{url}} {{minutes}} {{user}} {{name}} */
#define MAILOTP_TMPL_RESET_TEMPORARY "reset_temporary" /* {{password}} {{minutes}} {{user}} {{name}} */
#define MAILOTP_TMPL_INVITE "invite"                 /* {{url}} {{hours}} {{user}} {{name}} */
#define MAILOTP_TMPL_PASSWORD_CHANGED "password_changed" /* {{user}} {{name}} {{time}} {{rhost}} */

struct mailotp_templates;

struct mailotp_tvar {
	const char *name;
	const char *value;
};

/*
 * Loads every template of every language from dir. Returns 0,
 * MAILOTP_ERR_TEMPLATE (missing file, no "Subject:" line, no blank line
 * after it, invalid UTF-8, unknown placeholder, the secret placeholder
 * {{code}}, {{url}} or {{password}} missing or not alone on a body line)
 * or MAILOTP_ERR_NOMEM, with the file and the reason in err.
 */
int mailotp_templates_load(const char *dir, struct mailotp_templates **out, char *err,
			   size_t errlen) MAILOTP_MUST_CHECK;

void mailotp_templates_free(struct mailotp_templates *t);

/*
 * Renders template name in lang ("en" or "ja"; anything else falls back
 * to "en"). Placeholders missing from vars render as the empty string.
 * *subject and *body are malloc'd (the body may hold a secret: the caller
 * wipes it). Returns 0, MAILOTP_ERR_TEMPLATE (no such template) or
 * MAILOTP_ERR_NOMEM.
 */
int mailotp_template_render(const struct mailotp_templates *t, const char *lang, const char *name,
			    const struct mailotp_tvar *vars, size_t nvars, char **subject,
			    char **body) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_TEMPLATE_H */
