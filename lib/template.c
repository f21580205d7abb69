/*
 * Mail templates: DIR/LANG/NAME.txt, checked whole at load time so that
 * `mailotpd -t` finds every mistake before a user waits for a mail, and
 * rendered by plain substitution of {{name}} placeholders.
 *
 * The table below is the only place that knows which templates exist and
 * which placeholders each one takes.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "escape.h"
#include "template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define NLANG 2
#define NTMPL 5
#define MAX_VARS 6
#define TMPL_FILE_MAX (64 * 1024)
#define VAR_NAME_MAX 32

static const char *const langs[NLANG] = {"en", "ja"};

/*
 * secret: the placeholder that carries the code, password or link. It
 * must be in the body, alone on its line (the spec wants it easy to copy
 * and never in a subject that lock screens show), so a template without
 * it, or with it elsewhere, is refused.
 */
static const struct tmpl_def {
	const char *name;
	const char *secret;
	const char *vars[MAX_VARS + 1];
} defs[NTMPL] = {
    {MAILOTP_TMPL_OTP, "code", {"code", "minutes", "user", "name", "service", "rhost", NULL}},
    {MAILOTP_TMPL_RESET_LINK, "url", {"url", "minutes", "user", "name", NULL}},
    {MAILOTP_TMPL_RESET_TEMPORARY, "password", {"password", "minutes", "user", "name", NULL}},
    {MAILOTP_TMPL_INVITE, "url", {"url", "hours", "user", "name", NULL}},
    {MAILOTP_TMPL_PASSWORD_CHANGED, NULL, {"user", "name", "time", "rhost", NULL}},
};

struct tmpl {
	char *subject;
	char *body;
};

struct mailotp_templates {
	struct tmpl t[NLANG][NTMPL];
};

static bool var_allowed(const struct tmpl_def *d, const char *name, size_t len)
{
	size_t i;

	for (i = 0; d->vars[i] != NULL; i++)
		if (strlen(d->vars[i]) == len && memcmp(d->vars[i], name, len) == 0)
			return true;
	return false;
}

static bool var_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > VAR_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

/* True when line (len bytes) is only blanks around a single "{{secret}}". */
static bool alone_on_line(const char *line, size_t len, const char *secret)
{
	size_t n = strlen(secret);

	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r'))
		len--;
	return len == n + 4 && memcmp(line, "{{", 2) == 0 && memcmp(line + 2, secret, n) == 0 &&
	       memcmp(line + 2 + n, "}}", 2) == 0;
}

/*
 * Checks one line: UTF-8, then every "{{" opens a placeholder of this
 * template that closes on the same line. in_subject refuses the secret.
 * *secret_seen is set when the line is the secret alone.
 */
static int check_line(const char *path, unsigned lineno, const char *line, size_t len,
                      const struct tmpl_def *d, bool in_subject, bool *secret_seen, char *err,
                      size_t errlen)
{
	const char *p = line, *end = line + len, *close;
	size_t i, n, nlen;

	for (i = 0; i < len; i += n) {
		if (line[i] == '\0' ||
		    (n = mailotp_utf8_seq_len((const unsigned char *)line + i, len - i)) == 0) {
			snprintf(err, errlen, "%s:%u: invalid UTF-8", path, lineno);
			return MAILOTP_ERR_TEMPLATE;
		}
	}
	while ((p = memmem(p, (size_t)(end - p), "{{", 2)) != NULL) {
		close = memmem(p + 2, (size_t)(end - p - 2), "}}", 2);
		if (close == NULL) {
			snprintf(err, errlen, "%s:%u: '{{' without '}}'", path, lineno);
			return MAILOTP_ERR_TEMPLATE;
		}
		nlen = (size_t)(close - p - 2);
		if (!var_name_ok(p + 2, nlen)) {
			snprintf(err, errlen,
			         "%s:%u: malformed placeholder (a {{name}} of a-z and _)", path,
			         lineno);
			return MAILOTP_ERR_TEMPLATE;
		}
		if (!var_allowed(d, p + 2, nlen)) {
			snprintf(err, errlen, "%s:%u: unknown placeholder {{%.*s}} for template %s",
			         path, lineno, (int)nlen, p + 2, d->name);
			return MAILOTP_ERR_TEMPLATE;
		}
		if (d->secret != NULL && strlen(d->secret) == nlen &&
		    memcmp(d->secret, p + 2, nlen) == 0) {
			if (in_subject || !alone_on_line(line, len, d->secret)) {
				snprintf(err, errlen, "%s:%u: {{%s}} must be alone on a body line",
				         path, lineno, d->secret);
				return MAILOTP_ERR_TEMPLATE;
			}
			*secret_seen = true;
		}
		p = close + 2;
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *data = NULL;
	size_t n;
	int r = MAILOTP_ERR_TEMPLATE;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if ((data = malloc(TMPL_FILE_MAX + 1)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	n = fread(data, 1, TMPL_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	if (n > TMPL_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, TMPL_FILE_MAX);
		goto out;
	}
	data[n] = '\0';
	*out = data;
	*outlen = n;
	data = NULL;
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	free(data);
	return r;
}

/* Parses and checks one file into t. */
static int load_one(const char *dir, const char *lang, const struct tmpl_def *d, struct tmpl *t,
                    char *err, size_t errlen)
{
	char path[4096];
	char *data = NULL, *p, *nl, *subj;
	size_t len, l;
	unsigned lineno;
	bool secret_seen = false;
	int r, n;

	n = snprintf(path, sizeof(path), "%s/%s/%s.txt", dir, lang, d->name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: template path too long", dir);
		return MAILOTP_ERR_TEMPLATE;
	}
	if ((r = read_file(path, &data, &len, err, errlen)) != 0)
		goto out;
	r = MAILOTP_ERR_TEMPLATE;
	p = data;
	/* Editors on some systems start UTF-8 files with a BOM; it is not text. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;

	/* Line 1: the subject. */
	nl = strchr(p, '\n');
	l = nl != NULL ? (size_t)(nl - p) : strlen(p);
	if (l > 0 && p[l - 1] == '\r')
		l--;
	if (l < 8 || strncasecmp(p, "Subject:", 8) != 0) {
		snprintf(err, errlen, "%s:1: the first line must be \"Subject: ...\"", path);
		goto out;
	}
	subj = p + 8;
	while (*subj == ' ' || *subj == '\t')
		subj++;
	l -= (size_t)(subj - p);
	if (l == 0) {
		snprintf(err, errlen, "%s:1: empty subject", path);
		goto out;
	}
	if ((r = check_line(path, 1, subj, l, d, true, &secret_seen, err, errlen)) != 0)
		goto out;
	r = MAILOTP_ERR_TEMPLATE;
	if (memchr(subj, '\r', l) != NULL) { /* a lone CR would end the header line early */
		snprintf(err, errlen, "%s:1: a CR inside the subject", path);
		goto out;
	}
	if ((t->subject = strndup(subj, l)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}

	/* Line 2: blank, so a body line can never be taken for a header. */
	if (nl == NULL || !(nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))) {
		snprintf(err, errlen, "%s:2: a blank line must follow the Subject line", path);
		goto out;
	}
	p = nl + (nl[1] == '\n' ? 2 : 3);
	if ((t->body = strdup(p)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}

	/* The body, line by line; a NUL byte in the file ends the string early, so look at len. */
	if ((size_t)(p - data) + strlen(p) != len) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto out;
	}
	for (lineno = 3; *p != '\0'; lineno++) {
		nl = strchr(p, '\n');
		l = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((r = check_line(path, lineno, p, l, d, false, &secret_seen, err, errlen)) != 0)
			goto out;
		p += l + (nl != NULL ? 1 : 0);
	}
	r = 0;
	if (d->secret != NULL && !secret_seen) {
		snprintf(err, errlen, "%s: the body lacks a line with {{%s}}", path, d->secret);
		r = MAILOTP_ERR_TEMPLATE;
	}
out:
	free(data);
	return r;
}

void mailotp_templates_free(struct mailotp_templates *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < NLANG; i++) {
		for (j = 0; j < NTMPL; j++) {
			free(t->t[i][j].subject);
			free(t->t[i][j].body);
		}
	}
	free(t);
}

int mailotp_templates_load(const char *dir, struct mailotp_templates **out, char *err,
                           size_t errlen)
{
	struct mailotp_templates *t;
	size_t i, j;
	int r = 0;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return MAILOTP_ERR_NOMEM;
	for (i = 0; i < NLANG && r == 0; i++)
		for (j = 0; j < NTMPL && r == 0; j++)
			r = load_one(dir, langs[i], &defs[j], &t->t[i][j], err, errlen);
	if (r != 0)
		goto out;
	*out = t;
	t = NULL;
out:
	mailotp_templates_free(t);
	return r;
}

static const char *var_value(const struct mailotp_tvar *vars, size_t nvars, const char *name,
                             size_t len)
{
	size_t i;

	for (i = 0; i < nvars; i++)
		if (vars[i].name != NULL && strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, name, len) == 0)
			return vars[i].value != NULL ? vars[i].value : "";
	return "";
}

/*
 * Copies a value so that it cannot add lines or headers: C0 controls
 * (CR, LF, TAB...), DEL and C1 controls become spaces, bytes that are not
 * UTF-8 become '?'. The length never changes, which lets render() size
 * its output in a first pass. out may be NULL (counting only).
 */
static size_t put_value(const char *v, char *out)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t len = strlen(v), i = 0, n;

	while (out != NULL && i < len) {
		n = mailotp_utf8_seq_len(s + i, len - i);
		if (n == 0) {
			out[i] = '?';
			n = 1;
		} else if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			out[i] = ' ';
		} else if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			out[i] = out[i + 1] = ' ';
		} else {
			memcpy(out + i, s + i, n);
		}
		i += n;
	}
	return len;
}

/* Substitutes text (validated at load) into out, or only counts when out is NULL. */
static size_t render(const char *text, const struct mailotp_tvar *vars, size_t nvars, char *out)
{
	const char *p = text, *open, *close;
	size_t o = 0;

	while ((open = strstr(p, "{{")) != NULL && (close = strstr(open + 2, "}}")) != NULL) {
		if (out != NULL)
			memcpy(out + o, p, (size_t)(open - p));
		o += (size_t)(open - p);
		o += put_value(var_value(vars, nvars, open + 2, (size_t)(close - open - 2)),
		               out != NULL ? out + o : NULL);
		p = close + 2;
	}
	if (out != NULL)
		memcpy(out + o, p, strlen(p) + 1);
	return o + strlen(p);
}

static char *render_alloc(const char *text, const struct mailotp_tvar *vars, size_t nvars)
{
	size_t n = render(text, vars, nvars, NULL);
	char *out;

	if ((out = malloc(n + 1)) == NULL)
		return NULL;
	render(text, vars, nvars, out);
	return out;
}

int mailotp_template_render(const struct mailotp_templates *t, const char *lang, const char *name,
                            const struct mailotp_tvar *vars, size_t nvars, char **subject,
                            char **body)
{
	const struct tmpl *tp = NULL;
	size_t li = 0, j;
	char *s = NULL, *b = NULL;
	int r = MAILOTP_ERR_TEMPLATE;

	*subject = *body = NULL;
	if (t == NULL || name == NULL)
		goto out;
	/* "ja", "ja-JP", "ja_JP.UTF-8" are Japanese; everything else is English. */
	if (lang != NULL && strncasecmp(lang, "ja", 2) == 0 &&
	    (lang[2] == '\0' || lang[2] == '-' || lang[2] == '_'))
		li = 1;
	for (j = 0; j < NTMPL; j++)
		if (strcmp(defs[j].name, name) == 0)
			tp = &t->t[li][j];
	if (tp == NULL)
		goto out;
	r = MAILOTP_ERR_NOMEM;
	if ((s = render_alloc(tp->subject, vars, nvars)) == NULL ||
	    (b = render_alloc(tp->body, vars, nvars)) == NULL)
		goto out;
	*subject = s;
	*body = b;
	s = b = NULL;
	r = 0;
out:
	free(s); /* only ever set here when the body failed: a subject holds no secret */
	return r;
}
