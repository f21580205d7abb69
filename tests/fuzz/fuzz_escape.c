/*
 * lib/escape.h: RFC 4515 filter escaping and building, RFC 4514 DN
 * escaping, log escaping and the clean-UTF-8 check.
 *
 * Input: byte 0 picks the log buffer size (0..255) and whether the
 * filter template comes from the input; the rest is the value (all
 * bytes, NUL included, for the length-taking functions). With bit 7 of
 * byte 0 set, the value is "TEMPLATE\0VALUE".
 *
 * Properties:
 *  - filter escape: only printable ASCII out, no raw * ( ) and every '\'
 *    starts \XX; unescape(escape(x)) == x;
 *  - filter build: equals the template with %u -> escape(value), %% -> %;
 *    MAILOTP_ERR_INVALID exactly for a template with another '%' use;
 *  - DN escape: no raw control byte, no unescaped special, no raw leading
 *    '#'/' ' or trailing ' '; unescape(escape(x)) == x; empty is invalid;
 *  - log escape: fits in outlen, never CR, LF, other controls or '"' raw,
 *    every '\' starts "\\" or "\xNN", valid UTF-8; uncut: unescapes to the
 *    input; cut: ends with "..." (when there is room for it);
 *  - mailotp_utf8_is_clean agrees with the reference decoder.
 */
#include <sodium.h>

#include "escape.h"
#include "fuzz_common.h"

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

/* RFC 4515 unescape; checks the escaped form while at it. Returns the length. */
static size_t filter_unescape(const char *e, char *out)
{
	size_t o = 0;

	for (; *e != '\0'; e++) {
		unsigned char c = (unsigned char)*e;

		FUZZ_CHECK(c >= 0x20 && c < 0x7f, "filter escape let byte 0x%02x through", c);
		FUZZ_CHECK(c != '*' && c != '(' && c != ')', "raw '%c' in escaped filter value", c);
		if (c == '\\') {
			FUZZ_CHECK(hexval(e[1]) >= 0 && hexval(e[2]) >= 0, "'\\' not followed by 2 hex");
			out[o++] = (char)(hexval(e[1]) << 4 | hexval(e[2]));
			e += 2;
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

static bool dn_special(unsigned char c)
{
	return c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\';
}

/* RFC 4514 unescape (\XX and \<special>), checking the escaped form. */
static size_t dn_unescape(const char *e, char *out)
{
	size_t o = 0, n = strlen(e), i;
	bool last_raw_space = false;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e[i];

		last_raw_space = false;
		if (c == '\\') {
			FUZZ_CHECK(i + 1 < n, "DN escape ends in a lone '\\'");
			if (hexval(e[i + 1]) >= 0) {
				FUZZ_CHECK(i + 2 < n && hexval(e[i + 2]) >= 0, "DN '\\' + one hex digit");
				out[o++] = (char)(hexval(e[i + 1]) << 4 | hexval(e[i + 2]));
				i += 2;
			} else {
				c = (unsigned char)e[i + 1];
				FUZZ_CHECK(dn_special(c) || c == ' ' || c == '#' || c == '=',
				           "DN escapes a non-special 0x%02x", c);
				out[o++] = (char)c;
				i++;
			}
			continue;
		}
		FUZZ_CHECK(c >= 0x20 && c != 0x7f, "raw control 0x%02x in escaped DN value", c);
		FUZZ_CHECK(!dn_special(c), "raw special '%c' in escaped DN value", c);
		FUZZ_CHECK(!(i == 0 && (c == '#' || c == ' ')), "raw leading '%c' in DN value", c);
		last_raw_space = c == ' ';
		out[o++] = (char)c;
	}
	FUZZ_CHECK(!last_raw_space, "raw trailing space in DN value");
	return o;
}

/* Checks a log-escaped string; returns the unescaped length (up to the cut). */
static size_t log_unescape(const char *e, size_t elen, char *out)
{
	size_t o = 0, i;

	for (i = 0; i < elen; i++) {
		unsigned char c = (unsigned char)e[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '"', "log escape let 0x%02x through raw", c);
		if (c == '\\') {
			FUZZ_CHECK(i + 1 < elen, "log escape ends in a lone '\\'");
			if (e[i + 1] == '\\') {
				out[o++] = '\\';
				i++;
			} else {
				FUZZ_CHECK(e[i + 1] == 'x' && i + 3 < elen && hexval(e[i + 2]) >= 0 &&
				               hexval(e[i + 3]) >= 0,
				           "log '\\' not followed by '\\' or xNN");
				out[o++] = (char)(hexval(e[i + 2]) << 4 | hexval(e[i + 3]));
				i += 3;
			}
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0;
}

static void check_filter(const char *v, size_t len)
{
	char *esc = NULL, *back;
	size_t n;

	FUZZ_CHECK(mailotp_ldap_filter_escape(v, len, &esc) == 0 && esc != NULL, "filter escape failed");
	back = malloc(strlen(esc) + 1);
	n = filter_unescape(esc, back);
	FUZZ_CHECK(n == len && memcmp(back, v, len) == 0, "filter unescape(escape(x)) != x");
	free(back);
	free(esc);
}

static void check_filter_build(const char *tmpl, const char *v, size_t len)
{
	char *out = NULL, *esc = NULL, *want;
	size_t w = 0, tl = strlen(tmpl), el, i;
	bool bad = false;
	int r;

	if (mailotp_ldap_filter_escape(v, len, &esc) != 0)
		abort();
	el = strlen(esc);
	want = malloc(tl * (el + 1) + 1);
	for (i = 0; i < tl; i++) {
		if (tmpl[i] != '%') {
			want[w++] = tmpl[i];
		} else if (tmpl[i + 1] == 'u') {
			memcpy(want + w, esc, el);
			w += el;
			i++;
		} else if (tmpl[i + 1] == '%') {
			want[w++] = '%';
			i++;
		} else {
			bad = true;
			break;
		}
	}
	want[w] = '\0';
	r = mailotp_ldap_filter_build(tmpl, v, len, &out);
	if (bad) {
		FUZZ_CHECK(r == MAILOTP_ERR_INVALID && out == NULL, "bad template accepted (r=%d)", r);
	} else {
		FUZZ_CHECK(r == 0 && out != NULL, "good template refused (r=%d)", r);
		FUZZ_CHECK(strcmp(out, want) == 0, "filter build differs:\n got  %s\n want %s", out, want);
	}
	free(out);
	free(want);
	free(esc);
}

static void check_dn(const char *v, size_t len)
{
	char *esc = NULL, *back;
	size_t n;
	int r = mailotp_ldap_dn_escape(v, len, &esc);

	if (len == 0) {
		FUZZ_CHECK(r == MAILOTP_ERR_INVALID && esc == NULL, "empty DN value accepted");
		return;
	}
	FUZZ_CHECK(r == 0 && esc != NULL, "DN escape failed (r=%d)", r);
	back = malloc(strlen(esc) + 1);
	n = dn_unescape(esc, back);
	FUZZ_CHECK(n == len && memcmp(back, v, len) == 0, "DN unescape(escape(x)) != x");
	free(back);
	free(esc);
}

static void check_log(const char *v, size_t outlen)
{
	/* a canary past outlen catches writes beyond it even inside the array */
	char *buf = malloc(outlen + 16), *back;
	size_t len = strlen(v), el, n, i;

	memset(buf, 0x5a, outlen + 16);
	FUZZ_CHECK(mailotp_log_escape(v, buf, outlen) == buf, "log escape returned another pointer");
	for (i = outlen; i < outlen + 16; i++)
		FUZZ_CHECK(buf[i] == 0x5a, "log escape wrote past outlen %zu", outlen);
	if (outlen == 0) {
		free(buf);
		return;
	}
	el = strnlen(buf, outlen);
	FUZZ_CHECK(el < outlen, "log escape: no NUL within outlen");
	FUZZ_CHECK(ref_utf8_valid(buf, el), "log escape output is not valid UTF-8");
	back = malloc(el + 1);
	/* an ellipsis cut: strip it before unescaping */
	n = log_unescape(buf, el, back);
	if (n == len && memcmp(back, v, len) == 0) {
		/* whole */
	} else {
		FUZZ_CHECK(el >= 3 || outlen - 1 < 3, "cut output without an ellipsis");
		if (outlen - 1 >= 3) {
			FUZZ_CHECK(memcmp(buf + el - 3, "...", 3) == 0, "cut output without an ellipsis");
			n = log_unescape(buf, el - 3, back);
			FUZZ_CHECK(n <= len && memcmp(back, v, n) == 0,
			           "cut log output is not a prefix of the input");
		}
	}
	free(back);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v, *tmpl = "(&(objectClass=inetOrgPerson)(uid=%u))";
	char *copy, *sep;
	size_t len, outlen;

	if (size < 1)
		return 0;
	outlen = data[0] & 0x7f ? (size_t)(data[0] & 0x7f) * 2 : 0;
	copy = fuzz_strndup(data + 1, size - 1);
	v = copy;
	len = size - 1;
	if ((data[0] & 0x80) && (sep = memchr(copy, '\0', len)) != NULL) {
		tmpl = copy;
		v = sep + 1;
		len -= (size_t)(v - copy);
	}

	check_filter(v, len);
	check_filter_build(tmpl, v, len);
	check_dn(v, len);
	check_log(v, outlen);
	check_log(v, 4096);
	FUZZ_CHECK(mailotp_utf8_is_clean(v, len) == ref_utf8_clean(v, len),
	           "mailotp_utf8_is_clean disagrees with the reference");
	free(copy);
	return 0;
}
