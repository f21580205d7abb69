/*
 * The reset web form, at lib level.
 *
 * resetd's own form code (on_field in resetd/http_server.c: field count,
 * duplicates, 16 KiB limit, the NUL-terminated copies; unclean_field,
 * token_shaped and form_ok in resetd/http_routes.c) is static and only
 * ever driven by libmicrohttpd's MHD_PostProcessor, which cannot be made
 * without an MHD_Connection, i.e. without a running daemon. So this
 * target decodes an application/x-www-form-urlencoded body itself
 * ('&'-separated, '+' is a space, %XX; a bad % escape is kept as is, as
 * libmicrohttpd does) and runs every field through the lib functions the
 * routes rely on:
 *   every field: mailotp_utf8_is_clean (the route's clean-text gate,
 *     after its strlen == len test for an embedded NUL) against the
 *     reference decoder, and mailotp_log_escape (reasons are logged);
 *   email, email_confirm: mailotp_addr_valid; an accepted one has no
 *     control byte or space;
 *   email, user, realm: mailotp_ldap_filter_build into the lookup
 *     filters: the result has balanced parentheses and exactly the
 *     template's own '*', so a value cannot widen or break the filter;
 *   token: mailotp_token_hash;
 *   password (if clean): mailotp_policy_check with the user, realm and
 *     email as personal strings.
 * Input: the body.
 */
#include <sodium.h>

#include "config.h"
#include "escape.h"
#include "fuzz_common.h"
#include "message.h"
#include "policy.h"
#include "token.h"

#define MAX_FIELDS 32
#define MAX_VALUE (16 * 1024)

static struct mailotp_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mailotp_config cfg;
	char err[256];

	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		return 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.password_min_length = 10;
	cfg.password_min_classes = 3;
	return mailotp_policy_new(&cfg, &policy, err, sizeof(err)) != 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into out (room for n + 1); returns the length (NULs may be inside). */
static size_t url_decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		           hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

static void check_filter(const char *tmpl, const char *v, size_t len)
{
	char *f = NULL;
	size_t i, stars = 0, tstars = 0;
	int depth = 0;

	FUZZ_CHECK(mailotp_ldap_filter_build(tmpl, v, len, &f) == 0, "filter build failed");
	for (i = 0; tmpl[i] != '\0'; i++)
		tstars += tmpl[i] == '*';
	for (i = 0; f[i] != '\0'; i++) {
		if (f[i] == '(')
			depth++;
		else if (f[i] == ')')
			FUZZ_CHECK(--depth >= 0, "value closes the filter early: %s", f);
		stars += f[i] == '*';
		FUZZ_CHECK((unsigned char)f[i] >= 0x20 && (unsigned char)f[i] < 0x7f,
		           "raw byte 0x%02x in filter", (unsigned char)f[i]);
	}
	FUZZ_CHECK(depth == 0, "unbalanced filter: %s", f);
	FUZZ_CHECK(stars == tstars, "value added a wildcard: %s", f);
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"csrf",  "email", "email_confirm", "realm", "user",
	                                    "token", "password", "password_confirm"};
	char *val[8] = {0};
	size_t len[8] = {0};
	char *body = fuzz_strndup(data, size), *p = body, *end = body + size;
	unsigned nfields = 0;
	size_t i;

	while (p < end && nfields < MAX_FIELDS) {
		char *amp = memchr(p, '&', (size_t)(end - p)), *eq, *key, *v;
		size_t plen = amp != NULL ? (size_t)(amp - p) : (size_t)(end - p), klen, vlen;

		nfields++;
		eq = memchr(p, '=', plen);
		klen = eq != NULL ? (size_t)(eq - p) : plen;
		key = malloc(klen + 1);
		url_decode(p, klen, key);
		v = malloc(plen + 1);
		vlen = eq != NULL ? url_decode(eq + 1, plen - klen - 1, v) : (v[0] = '\0', 0);
		for (i = 0; i < 8; i++)
			if (strcmp(key, known[i]) == 0 && val[i] == NULL && vlen <= MAX_VALUE)
				break;
		if (i < 8) {
			val[i] = v;
			len[i] = vlen;
		} else {
			free(v);
		}
		free(key);
		p += plen + 1;
	}

	for (i = 0; i < 8; i++) {
		char logbuf[256];
		bool clean;

		if (val[i] == NULL)
			continue;
		/* the route: strlen(val) != len (a NUL inside), then the clean-text check */
		clean = strlen(val[i]) == len[i] && mailotp_utf8_is_clean(val[i], len[i]);
		FUZZ_CHECK(clean == (ref_utf8_clean(val[i], len[i])),
		           "field %s: clean check disagrees with the reference", known[i]);
		mailotp_log_escape(val[i], logbuf, sizeof(logbuf));
		FUZZ_CHECK(strpbrk(logbuf, "\r\n\"") == NULL, "log escape let CR/LF/quote through");
		if (!clean)
			continue;
		if (i == 1 || i == 2) {
			if (mailotp_addr_valid(val[i]))
				for (size_t k = 0; k < len[i]; k++)
					FUZZ_CHECK((unsigned char)val[i][k] > 0x20 &&
					               (unsigned char)val[i][k] < 0x7f,
					           "accepted e-mail holds byte 0x%02x", (unsigned char)val[i][k]);
			check_filter("(&(objectClass=inetOrgPerson)(mail=%u))", val[i], len[i]);
		}
		if (i == 3 || i == 4)
			check_filter("(&(objectClass=inetOrgPerson)(|(uid=%u)(cn=*%u*)))", val[i], len[i]);
		if (i == 5) {
			char hex[MAILOTP_TOKEN_HASH_HEX];
			int r = mailotp_token_hash(val[i], hex);

			FUZZ_CHECK((r == 0) == (len[i] == 43 &&
			                        strspn(val[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
			                                       "tuvwxyz0123456789-_") == 43),
			           "token_hash verdict wrong");
		}
		if (i == 6) {
			const char *personal[3] = {val[4], val[3], val[1]};
			unsigned failed = 0;
			int r = mailotp_policy_check(policy, val[i], personal, 3, &failed);

			FUZZ_CHECK((r == 0) == (failed == 0), "policy r=%d failed=0x%x", r, failed);
			FUZZ_CHECK(!(failed & MAILOTP_POLICY_INVALID), "clean password called invalid");
		}
	}
	for (i = 0; i < 8; i++) {
		if (val[i] != NULL)
			sodium_memzero(val[i], len[i]);
		free(val[i]);
	}
	free(body);
	return 0;
}
