/*
 * lib/template.h: loading mail templates and rendering them with
 * untrusted values, and the subject/body handed on to the mail builder.
 *
 * Input: sections separated by the line "@@\n" ("\n@@\n" between them):
 *   sections 0..9: the files en/{otp,reset_link,reset_temporary,invite,
 *   password_changed}.txt then ja/ the same; a missing section gets a
 *   valid default, so the fuzzer can vary one file at a time;
 *   section 10: the values: byte 0 picks the language ("en", "ja",
 *   "ja-JP", "xx", NULL) and the template; the rest, split at 0x1f, are
 *   code, minutes, user, name, service, rhost, url, password, hours, time
 *   (embedded CR, LF, NUL-free controls, invalid UTF-8 all welcome).
 * The files go to a private temporary directory made once (under
 * /dev/shm when there is one), rewritten at every run.
 *
 * Properties:
 *  - a refusal names the reason in err (non-empty, one line);
 *  - a rendered subject holds no CR or LF (nor any other control byte
 *    that came from a value), a rendered body no control byte from a
 *    value; both are valid UTF-8 when the template is;
 *  - the body always carries the secret value (for templates that have
 *    one) on a line of its own when the value is clean;
 *  - mailotp_header_encode of the subject and mailotp_message_build of
 *    subject and body succeed (no bare LF), as lib/mail.c calls them.
 */
#include <errno.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "message.h"
#include "template.h"

static const char *const langs[2] = {"en", "ja"};
static const char *const names[5] = {"otp", "reset_link", "reset_temporary", "invite",
                                     "password_changed"};
static const char *const defaults[5] = {
    "Subject: Your code for {{service}} ({{user}})\n\nHello {{name}},\n\n{{code}}\n\n"
    "Valid {{minutes}} minutes, from {{rhost}}.\n",
    "Subject: Reset for {{user}}\n\nDear {{name}},\n\n{{url}}\n\n{{minutes}} minutes.\n",
    "Subject: Temporary password\n\nDear {{name}} ({{user}}),\n\n  {{password}}\t\n\n"
    "{{minutes}} minutes.\n",
    "Subject: Welcome {{name}}\r\n\r\nAccount {{user}}:\r\n{{url}}\r\n{{hours}} hours.\r\n",
    "Subject: パスワード変更 {{user}}\n\n{{name}} 様\n{{time}} {{rhost}}\n",
};
static const char *const var_names[10] = {"code", "minutes", "user", "name",     "service",
                                          "rhost", "url",   "password", "hours", "time"};

static char dir[128];

static void rm_tree(void)
{
	char p[256];

	for (int l = 0; l < 2; l++) {
		for (int t = 0; t < 5; t++) {
			snprintf(p, sizeof(p), "%s/%s/%s.txt", dir, langs[l], names[t]);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/%s", dir, langs[l]);
		rmdir(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[256];
	struct stat st;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/mailotp-fuzz-tmpl.XXXXXX",
	         stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		return 1;
	for (int l = 0; l < 2; l++) {
		snprintf(p, sizeof(p), "%s/%s", dir, langs[l]);
		if (mkdir(p, 0700) != 0)
			return 1;
	}
	atexit(rm_tree);
	return 0;
}

static void write_file(int l, int t, const char *data, size_t len)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s/%s.txt", dir, langs[l], names[t]);
	if ((f = fopen(p, "we")) == NULL || (len != 0 && fwrite(data, 1, len, f) != len) ||
	    fclose(f) != 0)
		abort();
}

/* True when value v (as given) renders into the output unchanged. */
static bool value_clean(const char *v)
{
	return ref_utf8_clean(v, strlen(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lang_pick[5] = {"en", "ja", "ja-JP", "xx", NULL};
	const char *sec[11] = {0};
	size_t seclen[11] = {0}, nsec = 0, i, nvals = 0;
	struct mailotp_templates *t = NULL;
	struct mailotp_tvar vars[10];
	char *copy = fuzz_strndup(data, size), *p = copy, *end = copy + size, *vals, *subject, *body;
	char err[1024];
	const char *lang, *name, *secret_var = NULL;
	int r;

	/* split into sections */
	while (nsec < 11) {
		char *m = memmem(p, (size_t)(end - p), "\n@@\n", 4);

		sec[nsec] = p;
		seclen[nsec] = m != NULL ? (size_t)(m - p) + 1 : (size_t)(end - p); /* keep its \n */
		nsec++;
		if (m == NULL)
			break;
		p = m + 4;
	}
	for (i = 0; i < 10; i++) {
		int l = (int)(i / 5), tt = (int)(i % 5);

		if (i < nsec && i != nsec - 1 && seclen[i] > 1)
			write_file(l, tt, sec[i], seclen[i]);
		else if (i < nsec && nsec <= 10 && i == nsec - 1 && seclen[i] > 0)
			write_file(l, tt, sec[i], seclen[i]); /* the last file section */
		else
			write_file(l, tt, defaults[tt], strlen(defaults[tt]));
	}
	err[0] = 'Z';
	r = mailotp_templates_load(dir, &t, err, sizeof(err));
	if (getenv("MAILOTP_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "templates: r=%d %s\n", r, r != 0 ? err : "loaded");
	if (r != 0) {
		FUZZ_CHECK(t == NULL, "refusal left templates");
		FUZZ_CHECK(r == MAILOTP_ERR_TEMPLATE || r == MAILOTP_ERR_NOMEM, "load r=%d", r);
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL,
		           "refused without a reason");
		FUZZ_CHECK(strpbrk(err, "\r\n") == NULL, "reason is not one line: %s", err);
		free(copy);
		return 0;
	}

	/* the values */
	if (nsec == 11) {
		vals = (char *)sec[10];
		vals[seclen[10]] = '\0'; /* the end of the input; cut at a NUL below */
	} else {
		vals = (char *)"";
	}
	lang = lang_pick[vals[0] == '\0' ? 0 : (unsigned char)vals[0] % 5];
	name = names[vals[0] == '\0' ? 0 : ((unsigned char)vals[0] / 5) % 5];
	p = vals[0] == '\0' ? vals : vals + 1;
	while (nvals < 10) {
		char *s = strchr(p, '\x1f');

		vars[nvals].name = var_names[nvals];
		vars[nvals].value = p;
		nvals++;
		if (s == NULL)
			break;
		*s = '\0';
		p = s + 1;
	}
	if (strcmp(name, "otp") == 0)
		secret_var = "code";
	else if (strcmp(name, "reset_link") == 0 || strcmp(name, "invite") == 0)
		secret_var = "url";
	else if (strcmp(name, "reset_temporary") == 0)
		secret_var = "password";

	r = mailotp_template_render(t, lang, name, vars, nvals, &subject, &body);
	FUZZ_CHECK(r == 0 && subject != NULL && body != NULL, "render %s/%s: r=%d", lang, name, r);
	FUZZ_CHECK(strpbrk(subject, "\r\n") == NULL, "CR or LF in the rendered subject: %s", subject);
	FUZZ_CHECK(ref_utf8_valid(subject, strlen(subject)) && ref_utf8_valid(body, strlen(body)),
	           "rendered text is not valid UTF-8");
	if (secret_var != NULL) {
		const char *v = NULL;

		for (i = 0; i < nvals; i++)
			if (strcmp(vars[i].name, secret_var) == 0)
				v = vars[i].value;
		if (v != NULL && v[0] != '\0' && value_clean(v)) {
			/* alone on a line: only blanks (and a CR) around it */
			const char *hit = body;
			bool alone = false;

			while (!alone && (hit = strstr(hit, v)) != NULL) {
				const char *b = hit, *e = hit + strlen(v);

				while (b > body && (b[-1] == ' ' || b[-1] == '\t'))
					b--;
				while (*e == ' ' || *e == '\t' || *e == '\r')
					e++;
				alone = (b == body || b[-1] == '\n') && (*e == '\n' || *e == '\0');
				hit++;
			}
			FUZZ_CHECK(alone, "the secret is not alone on a body line");
		}
	}
	{
		/* as lib/mail.c does it */
		const char *to[1] = {"alice@example.org"};
		char *enc = NULL, *msg = NULL;

		r = mailotp_header_encode("Subject", subject, &enc);
		FUZZ_CHECK(r == 0 && enc != NULL, "subject does not encode (r=%d)", r);
		FUZZ_CHECK(strstr(enc, "\n") == NULL || strstr(enc, "=?UTF-8?B?") != NULL,
		           "LF in an unencoded subject");
		r = mailotp_message_build("mailotp@example.org", to, 1, subject, body, 1700000000, &msg);
		FUZZ_CHECK(r == 0 && msg != NULL, "message does not build (r=%d)", r);
		for (i = 0; msg[i] != '\0'; i++)
			FUZZ_CHECK(msg[i] != '\n' || (i > 0 && msg[i - 1] == '\r'), "bare LF in the mail");
		free(enc);
		free(msg);
	}
	sodium_memzero(body, strlen(body));
	free(subject);
	free(body);
	mailotp_templates_free(t);
	free(copy);
	return 0;
}
