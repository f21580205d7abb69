/*
 * RFC 5322 / MIME message building. Everything here is pure: the clock
 * and the recipients come in as arguments, only the Message-ID draws from
 * libsodium's RNG.
 *
 * The body of most of our mails holds a secret (a code, a temporary
 * password, a link with a token), so every intermediate buffer is wiped
 * before it is freed, and a buffer is never realloc()ed: realloc may move
 * the data and leave the old copy behind unwiped.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "escape.h"
#include "message.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ADDR_MAX 254
#define LABEL_MAX 63
#define LINE_MAX_FOLD 76  /* RFC 2047 and RFC 2045 line length */
#define LINE_MAX_HARD 998 /* RFC 5322 hard limit, without CRLF */
#define EW_PREFIX "=?UTF-8?B?"
#define EW_SUFFIX "?="
#define EW_OVERHEAD (sizeof(EW_PREFIX) - 1 + sizeof(EW_SUFFIX) - 1)
#define EW_MAX 75 /* RFC 2047: an encoded word is at most 75 characters */

/* A growable byte buffer that never leaves a copy of its contents behind. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};

static void buf_wipe_free(struct buf *b)
{
	if (b->p != NULL) {
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

static int buf_reserve(struct buf *b, size_t more)
{
	size_t need, ncap;
	char *np;

	if (more > SIZE_MAX - b->len - 1)
		return MAILOTP_ERR_NOMEM;
	need = b->len + more + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap != 0 ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if ((np = malloc(ncap)) == NULL)
		return MAILOTP_ERR_NOMEM;
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = ncap;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
	int r;

	if ((r = buf_reserve(b, n)) != 0)
		return r;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static bool addr_special(unsigned char c)
{
	return strchr(" \"(),:;<>[]\\", c) != NULL;
}

bool mailotp_addr_valid(const char *addr)
{
	const char *at, *p;
	size_t len, label = 0;

	if (addr == NULL)
		return false;
	len = strlen(addr);
	if (len == 0 || len > ADDR_MAX)
		return false;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return false;
	if (at == addr || at[1] == '\0')
		return false;
	for (p = addr; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		/* Printable ASCII without space; this also keeps CR and LF out. */
		if (c <= 0x20 || c >= 0x7f || addr_special(c))
			return false;
	}
	/* The domain: LDH labels separated by single dots. */
	for (p = at + 1; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (++label > LABEL_MAX)
			return false;
	}
	return label != 0;
}

/*
 * Copies value with control characters (C0, DEL and C1) replaced by a
 * space, after checking that it is valid UTF-8. *ascii tells whether the
 * result is printable ASCII only.
 */
static int header_sanitise(const char *value, char **out, bool *ascii)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t len = strlen(value), i = 0, n;
	char *o;

	*ascii = true;
	if ((o = malloc(len + 1)) == NULL)
		return MAILOTP_ERR_NOMEM;
	while (i < len) {
		if ((n = mailotp_utf8_seq_len(s + i, len - i)) == 0) {
			free(o);
			return MAILOTP_ERR_INVALID;
		}
		if (n == 1) {
			o[i] = (s[i] < 0x20 || s[i] == 0x7f) ? ' ' : (char)s[i];
		} else if (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			/* A C1 control (U+0080..U+009F): two spaces keep the length. */
			o[i] = o[i + 1] = ' ';
		} else {
			memcpy(o + i, s + i, n);
			*ascii = false;
		}
		i += n;
	}
	o[len] = '\0';
	*out = o;
	return 0;
}

int mailotp_header_encode(const char *name, const char *value, char **out)
{
	struct buf b = {0};
	char *clean = NULL;
	char b64[EW_MAX + 1];
	const unsigned char *s;
	size_t len, i = 0, first_room, room, take, n;
	bool ascii;
	int r;

	*out = NULL;
	if (name == NULL || value == NULL)
		return MAILOTP_ERR_INVALID;
	if ((r = header_sanitise(value, &clean, &ascii)) != 0)
		goto out;
	/* As is only while "Name: value" fits RFC 5322's hard limit; longer is folded below. */
	if (ascii && strlen(name) + 2 + strlen(clean) <= LINE_MAX_HARD) {
		*out = clean;
		clean = NULL;
		goto out;
	}
	/*
	 * Room (in encoded words) on the first line after "Name: ", and on
	 * every folded line after the leading space. A name so long that not
	 * even one 4-byte character fits is a caller's bug.
	 */
	first_room = strlen(name) + 2 < LINE_MAX_FOLD ? LINE_MAX_FOLD - strlen(name) - 2 : 0;
	if (first_room > EW_MAX)
		first_room = EW_MAX;
	if (first_room < EW_OVERHEAD + 8) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	room = first_room;
	s = (const unsigned char *)clean;
	len = strlen(clean);
	while (i < len) {
		/* Whole bytes that fit: 3 bytes per 4 base64 characters. */
		size_t max_bytes = (room - EW_OVERHEAD) / 4 * 3;

		take = 0;
		while (i + take < len) {
			n = mailotp_utf8_seq_len(s + i + take, len - i - take);
			if (take + n > max_bytes)
				break;
			take += n;
		}
		sodium_bin2base64(b64, sizeof(b64), s + i, take, sodium_base64_VARIANT_ORIGINAL);
		if (i != 0 && (r = buf_adds(&b, "\r\n ")) != 0)
			goto out;
		if ((r = buf_adds(&b, EW_PREFIX)) != 0 || (r = buf_adds(&b, b64)) != 0 ||
		    (r = buf_adds(&b, EW_SUFFIX)) != 0)
			goto out;
		i += take;
		room = LINE_MAX_FOLD - 1 < EW_MAX ? LINE_MAX_FOLD - 1 : EW_MAX;
	}
	*out = b.p;
	b.p = NULL;
out:
	buf_wipe_free(&b);
	free(clean);
	return r;
}

/*
 * RFC 5322 date in UTC. Names come from our own tables: strftime's %a and
 * %b follow LC_TIME, and a Japanese locale would put 火 into the header.
 */
static int format_date(time_t now, char *out, size_t outlen)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	int n;

	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11)
		return MAILOTP_ERR_INVALID;
	n = snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	             tm.tm_sec);
	if (n < 0 || (size_t)n >= outlen)
		return MAILOTP_ERR_INVALID;
	return 0;
}

/*
 * Copies body with every line end (CRLF, lone CR, lone LF) made CRLF and
 * a final CRLF added when missing. Checks UTF-8 and tells whether the
 * result can go as 7bit: ASCII only and no line over 998 octets.
 */
static int body_normalise(const char *body, struct buf *o, bool *sevenbit)
{
	const unsigned char *s = (const unsigned char *)body;
	size_t len = strlen(body), i = 0, n, line = 0;
	int r;

	*sevenbit = true;
	while (i < len) {
		if (s[i] == '\r' || s[i] == '\n') {
			if ((r = buf_add(o, "\r\n", 2)) != 0)
				return r;
			i += (s[i] == '\r' && s[i + 1] == '\n') ? 2 : 1;
			line = 0;
			continue;
		}
		if ((n = mailotp_utf8_seq_len(s + i, len - i)) == 0)
			return MAILOTP_ERR_INVALID;
		if (n > 1)
			*sevenbit = false;
		if ((r = buf_add(o, body + i, n)) != 0)
			return r;
		i += n;
		line += n;
		if (line > LINE_MAX_HARD)
			*sevenbit = false;
	}
	if (o->len < 2 || memcmp(o->p + o->len - 2, "\r\n", 2) != 0)
		return buf_add(o, "\r\n", 2);
	return 0;
}

/* Appends the body as base64 in lines of 76 characters. */
static int body_base64(const struct buf *in, struct buf *o)
{
	const size_t chunk = LINE_MAX_FOLD / 4 * 3; /* 57 bytes make 76 characters */
	char line[LINE_MAX_FOLD + 1];
	size_t i;
	int r = 0;

	for (i = 0; i < in->len; i += chunk) {
		size_t n = in->len - i < chunk ? in->len - i : chunk;

		sodium_bin2base64(line, sizeof(line), (const unsigned char *)in->p + i, n,
		                  sodium_base64_VARIANT_ORIGINAL);
		if ((r = buf_adds(o, line)) != 0 || (r = buf_add(o, "\r\n", 2)) != 0)
			break;
	}
	sodium_memzero(line, sizeof(line));
	return r;
}

/* "To: a@x, b@y", folded after a comma when the line would pass 76. */
static int add_to_header(struct buf *o, const char *const *to, size_t nto)
{
	size_t i, col = 4;
	int r;

	if ((r = buf_adds(o, "To: ")) != 0)
		return r;
	for (i = 0; i < nto; i++) {
		size_t n = strlen(to[i]);

		if (i != 0) {
			if (col + 2 + n + 1 > LINE_MAX_FOLD) {
				r = buf_adds(o, ",\r\n ");
				col = 1;
			} else {
				r = buf_adds(o, ", ");
				col += 2;
			}
			if (r != 0)
				return r;
		}
		if ((r = buf_add(o, to[i], n)) != 0)
			return r;
		col += n;
	}
	return buf_add(o, "\r\n", 2);
}

int mailotp_message_build(const char *from, const char *const *to, size_t nto, const char *subject,
                          const char *body, time_t now, char **out)
{
	struct buf o = {0}, nb = {0};
	unsigned char rnd[16];
	char idhex[sizeof(rnd) * 2 + 1], date[64];
	char *subj = NULL;
	bool sevenbit;
	size_t i;
	int r;

	*out = NULL;
	if (from == NULL || to == NULL || nto == 0 || subject == NULL || body == NULL ||
	    !mailotp_addr_valid(from)) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	for (i = 0; i < nto; i++) {
		if (!mailotp_addr_valid(to[i])) {
			r = MAILOTP_ERR_INVALID;
			goto out;
		}
	}
	if ((r = format_date(now, date, sizeof(date))) != 0)
		goto out;
	if ((r = mailotp_header_encode("Subject", subject, &subj)) != 0)
		goto out;
	if ((r = body_normalise(body, &nb, &sevenbit)) != 0)
		goto out;
	/* 128 random bits: unique without a counter or a host name. */
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(idhex, sizeof(idhex), rnd, sizeof(rnd));

	if ((r = buf_adds(&o, "Date: ")) != 0 || (r = buf_adds(&o, date)) != 0 ||
	    (r = buf_adds(&o, "\r\nFrom: ")) != 0 || (r = buf_adds(&o, from)) != 0 ||
	    (r = buf_adds(&o, "\r\n")) != 0 || (r = add_to_header(&o, to, nto)) != 0 ||
	    (r = buf_adds(&o, "Subject: ")) != 0 || (r = buf_adds(&o, subj)) != 0 ||
	    (r = buf_adds(&o, "\r\nMessage-ID: <")) != 0 || (r = buf_adds(&o, idhex)) != 0 ||
	    (r = buf_adds(&o, strchr(from, '@'))) != 0 ||
	    (r = buf_adds(&o, ">\r\nMIME-Version: 1.0\r\n"
	                      "Content-Type: text/plain; charset=UTF-8\r\n"
	                      "Content-Transfer-Encoding: ")) != 0 ||
	    (r = buf_adds(&o, sevenbit ? "7bit" : "base64")) != 0 ||
	    (r = buf_adds(&o, "\r\nAuto-Submitted: auto-generated\r\n\r\n")) != 0)
		goto out;
	if (sevenbit)
		r = buf_add(&o, nb.p, nb.len);
	else
		r = body_base64(&nb, &o);
	if (r != 0)
		goto out;
	*out = o.p;
	o.p = NULL;
out:
	buf_wipe_free(&o);
	buf_wipe_free(&nb);
	if (subj != NULL) {
		/* Templates keep secrets out of subjects, but a caller might not. */
		sodium_memzero(subj, strlen(subj));
		free(subj);
	}
	return r;
}
