/*
 * Escaping of untrusted values for LDAP filters (RFC 4515), DNs (RFC 4514)
 * and log lines, and the strict UTF-8 check. See escape.h.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static const char hexdigits[] = "0123456789abcdef";

/*
 * Decodes one UTF-8 sequence at s (len > 0 bytes available). Returns its
 * length and the code point, or 0 when the bytes are not well-formed UTF-8
 * (RFC 3629 table: no overlongs, no surrogates, nothing past U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* below is overlong */
		else if (c == 0xed)
			hi = 0x9f; /* above is a surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* below is overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above is past U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char b = s[i];

		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return 0;
		v = v << 6 | (b & 0x3f);
	}
	*cp = v;
	return n;
}

static bool cp_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * Code points that are printable in the Unicode sense but can still
 * make a log line lie: line/paragraph separators start a new line in
 * some viewers, and bidirectional overrides reorder what the reader sees.
 */
static bool cp_is_log_unsafe(uint32_t cp)
{
	return cp_is_control(cp) || cp == 0x2028 || cp == 0x2029 || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

static bool filter_needs_escape(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f;
}

/* Escaped length of a filter value; SIZE_MAX if it would overflow. */
static size_t filter_escaped_len(const unsigned char *in, size_t len)
{
	size_t i, n = 0;

	if (len > (SIZE_MAX - 1) / 3)
		return SIZE_MAX;
	for (i = 0; i < len; i++)
		n += filter_needs_escape(in[i]) ? 3 : 1;
	return n;
}

/* Writes the escaped value at out (room checked by the caller); returns the end. */
static char *filter_escape_into(char *out, const unsigned char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (filter_needs_escape(in[i])) {
			*out++ = '\\';
			*out++ = hexdigits[in[i] >> 4];
			*out++ = hexdigits[in[i] & 0x0f];
		} else {
			*out++ = (char)in[i];
		}
	}
	return out;
}

int mailotp_ldap_filter_escape(const char *in, size_t len, char **out)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t n;
	char *res, *end;

	*out = NULL;
	if (in == NULL && len != 0)
		return MAILOTP_ERR_INVALID;
	if ((n = filter_escaped_len(u, len)) == SIZE_MAX)
		return MAILOTP_ERR_NOMEM;
	if ((res = malloc(n + 1)) == NULL)
		return MAILOTP_ERR_NOMEM;
	end = filter_escape_into(res, u, len);
	*end = '\0';
	*out = res;
	return 0;
}

int mailotp_ldap_filter_build(const char *tmpl, const char *value, size_t value_len, char **out)
{
	const unsigned char *u = (const unsigned char *)value;
	size_t vlen, total = 0;
	const char *t;
	char *res = NULL, *w;
	int r;

	*out = NULL;
	if (tmpl == NULL || (value == NULL && value_len != 0)) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	if ((vlen = filter_escaped_len(u, value_len)) == SIZE_MAX) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	/* First pass: validate and size, so nothing is written on a bad template. */
	for (t = tmpl; *t != '\0'; t++) {
		if (*t != '%') {
			total++;
			continue;
		}
		t++;
		if (*t == 'u' && total <= SIZE_MAX - 1 - vlen) {
			total += vlen;
		} else if (*t == 'u') {
			r = MAILOTP_ERR_NOMEM;
			goto out;
		} else if (*t == '%') {
			total++;
		} else {
			/* Also a lone '%' at the end: t points at the NUL. */
			r = MAILOTP_ERR_INVALID;
			goto out;
		}
	}
	if ((res = malloc(total + 1)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	w = res;
	for (t = tmpl; *t != '\0'; t++) {
		if (*t != '%') {
			*w++ = *t;
			continue;
		}
		t++;
		if (*t == 'u')
			w = filter_escape_into(w, u, value_len);
		else
			*w++ = '%';
	}
	*w = '\0';
	*out = res;
	res = NULL;
	r = 0;
out:
	free(res);
	return r;
}

int mailotp_ldap_dn_escape(const char *in, size_t len, char **out)
{
	const unsigned char *u = (const unsigned char *)in;
	char *res, *w;
	size_t i;

	*out = NULL;
	if (in == NULL || len == 0)
		return MAILOTP_ERR_INVALID;
	if (len > (SIZE_MAX - 1) / 3)
		return MAILOTP_ERR_NOMEM;
	/* Worst case every byte becomes \XX. */
	if ((res = malloc(len * 3 + 1)) == NULL)
		return MAILOTP_ERR_NOMEM;
	w = res;
	for (i = 0; i < len; i++) {
		unsigned char c = u[i];

		if (c < 0x20 || c == 0x7f) {
			*w++ = '\\';
			*w++ = hexdigits[c >> 4];
			*w++ = hexdigits[c & 0x0f];
		} else if (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
		           c == '\\' || (i == 0 && (c == '#' || c == ' ')) ||
		           (i == len - 1 && c == ' ')) {
			*w++ = '\\';
			*w++ = (char)c;
		} else {
			/* UTF-8 stays as is: RFC 4514 strings are UTF-8. */
			*w++ = (char)c;
		}
	}
	*w = '\0';
	*out = res;
	return 0;
}

/*
 * Length of the log token at s: how many input bytes it consumes (*in_n)
 * and how many output bytes it produces (returned). A token is one kept
 * character or one escape, the unit truncation never splits.
 */
static size_t log_token(const unsigned char *s, size_t len, size_t *in_n, bool *escape)
{
	uint32_t cp;
	size_t n;

	if (s[0] == '\\') {
		*in_n = 1;
		*escape = true;
		return 2;
	}
	n = utf8_decode(s, len, &cp);
	/* '"' too: log lines quote user strings (user="..."), and a quote
	 * inside would let a name forge the fields after it. */
	if (n == 0 || cp_is_log_unsafe(cp) || cp == '"') {
		/* Escape byte by byte so the reader sees exactly what came in. */
		*in_n = 1;
		*escape = true;
		return 4;
	}
	*in_n = n;
	*escape = false;
	return n;
}

static char *log_put_token(char *w, const unsigned char *s, size_t in_n, bool escape)
{
	if (!escape) {
		memcpy(w, s, in_n);
		return w + in_n;
	}
	if (s[0] == '\\') {
		*w++ = '\\';
		*w++ = '\\';
		return w;
	}
	*w++ = '\\';
	*w++ = 'x';
	*w++ = hexdigits[s[0] >> 4];
	*w++ = hexdigits[s[0] & 0x0f];
	return w;
}

char *mailotp_log_escape(const char *in, char *out, size_t outlen)
{
	static const char ellipsis[] = "...";
	const unsigned char *s;
	size_t len, i, in_n, tl, total = 0, room, pos = 0;
	bool esc;

	if (out == NULL || outlen == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	s = (const unsigned char *)in;
	len = strlen(in);
	room = outlen - 1;

	for (i = 0; i < len && total <= room; i += in_n)
		total += log_token(s + i, len - i, &in_n, &esc);
	if (total <= room) {
		for (i = 0; i < len; i += in_n) {
			tl = log_token(s + i, len - i, &in_n, &esc);
			log_put_token(out + pos, s + i, in_n, esc);
			pos += tl;
		}
		out[pos] = '\0';
		return out;
	}

	/* Cut: keep whole tokens that leave room for the ellipsis. */
	for (i = 0; i < len; i += in_n) {
		tl = log_token(s + i, len - i, &in_n, &esc);
		if (room < sizeof(ellipsis) - 1 || pos + tl > room - (sizeof(ellipsis) - 1))
			break;
		log_put_token(out + pos, s + i, in_n, esc);
		pos += tl;
	}
	for (i = 0; i < sizeof(ellipsis) - 1 && pos < room; i++)
		out[pos++] = '.';
	out[pos] = '\0';
	return out;
}

size_t mailotp_utf8_seq_len(const unsigned char *s, size_t left)
{
	uint32_t cp;

	return left == 0 ? 0 : utf8_decode(s, left, &cp);
}

bool mailotp_utf8_is_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;
	size_t i = 0, n;

	if (s == NULL)
		return len == 0;
	while (i < len) {
		if ((n = utf8_decode(u + i, len - i, &cp)) == 0)
			return false;
		if (cp_is_control(cp))
			return false;
		i += n;
	}
	return true;
}
