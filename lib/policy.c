/*
 * The password policy: see policy.h.
 *
 * Not libpwquality/cracklib: its dictionary is whatever words files the
 * host had when update-cracklib last ran (two mailotpd instances of one
 * cluster would judge the same password differently), its "simplistic"
 * rule refuses 002's own example "Abcdefgh12" while it accepts
 * "Sakura2024x", it looks the daemon's own account up through NSS at
 * every check, and its reasons come in English only.
 */
#include "autoconfig.h" /* _GNU_SOURCE (memmem), first */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "i18n.h"
#include "policy.h"
#include "pwhash.h"

/* What the policy lets through, the hasher must take. */
_Static_assert(MAILOTP_PASSWORD_MAX_BYTES == MAILOTP_PWHASH_PASSWORD_MAX, "password bound");

/* A part of a personal string shorter than this (in code points) is not used. */
#define PERSONAL_MIN 3
#define PERSONAL_MIN_NON_ASCII 2
/* A padded word ("Sakura2024!") is compared when at least this long. */
#define CORE_MIN 4
#define DENY_POOL_START (64 * 1024)

struct mailotp_policy {
	int min_length;
	int min_classes;
	char *pool;  /* the folded denylist entries, each NUL-terminated */
	char **deny; /* sorted, distinct, pointing into pool */
	size_t ndeny;
};

/*
 * Passwords everybody tries first: the heads of the public top lists
 * (SplashData, NordPass, NCSC "100k most common") and the romaji words
 * and names that top Japanese leaked lists. Folded (lower-case ASCII).
 * Besides the exact value, a password that is one of these padded with
 * digits and symbols is refused, which is how people meet composition
 * rules ("Password1!", "Sakura2024!").
 */
static const char *const builtin[] = {
    /* digits and keyboard walks */
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "0123456789",
    "0987654321",
    "987654321",
    "654321",
    "111111",
    "11111111",
    "000000",
    "00000000",
    "123123",
    "121212",
    "112233",
    "666666",
    "7777777",
    "88888888",
    "123321",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "1qaz2wsx3edc",
    "zaq12wsx",
    "qazwsx",
    "qwerty",
    "qwerty123",
    "qwertyuiop",
    "asdfgh",
    "asdfghjkl",
    "zxcvbnm",
    "abc123",
    "abcd1234",
    "a1b2c3d4",
    "aaaaaa",
    /* words */
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "administrator",
    "changeme",
    "default",
    "secret",
    "master",
    "access",
    "login",
    "guest",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "soccer",
    "sunshine",
    "princess",
    "superman",
    "batman",
    "starwars",
    "shadow",
    "michael",
    "jennifer",
    "charlie",
    "freedom",
    "whatever",
    "trustno1",
    "hello",
    "computer",
    "internet",
    "mustang",
    "pokemon",
    "summer",
    "winter",
    "flower",
    "killer",
    "ninja",
    /* romaji */
    "pasuwado",
    "pasuwaado",
    "sakura",
    "doraemon",
    "pikachu",
    "naruto",
    "anpanman",
    "hellokitty",
    "totoro",
    "gundam",
    "tokyo",
    "osaka",
    "kyoto",
    "nihon",
    "nippon",
    "japan",
    "yamato",
    "fujisan",
    "aishiteru",
    "daisuki",
    "arigatou",
    "arigato",
    "himitsu",
    "kawaii",
    "ohayou",
    "konnichiwa",
    "sayonara",
    "hikari",
    "tsubasa",
    "tanaka",
    "suzuki",
    "satou",
    "takahashi",
    "watanabe",
    "yamada",
    "hanako",
    "tarou",
};

/*
 * Decodes the UTF-8 sequence at s (n > 0 bytes left) into *cp. Returns its
 * length, or 0 when it is malformed: truncated, overlong, a surrogate or
 * beyond U+10FFFF (each of these has been used to smuggle a byte past a
 * filter that decodes loosely).
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xC2 && c <= 0xDF) {
		len = 2, c &= 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, c &= 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

static bool is_ascii_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ascii_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Folds src[0..n) into dst (room for n + 1 bytes; folding never grows):
 * ASCII to lower case, full-width ASCII U+FF01..U+FF5E to its ASCII form,
 * U+3000 (ideographic space) to ' '. Malformed bytes are copied as they
 * are. Returns the folded length; dst is NUL-terminated.
 */
static size_t fold(const char *src, size_t n, char *dst)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, k;
	uint32_t cp;

	while (i < n) {
		k = utf8_next(s + i, n - i, &cp);
		if (k == 0) {
			dst[o++] = (char)s[i++];
			continue;
		}
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		else if (cp == 0x3000)
			cp = ' ';
		if (cp < 0x80) {
			dst[o++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp);
		} else {
			memcpy(dst + o, s + i, k);
			o += k;
		}
		i += k;
	}
	dst[o] = '\0';
	return o;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool only_blanks(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Reads the denylist file into p->pool / p->deny (sorted, distinct). */
static int deny_load(struct mailotp_policy *p, const char *path, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *line = NULL, *pool = NULL, *np;
	size_t cap = 0, len, poollen = 0, poolcap = 0, noff = 0, offcap = 0, i, j;
	size_t *off = NULL, *no;
	ssize_t got;
	int r;

	if ((f = fopen(path, "re")) == NULL) {
		mailotp_errf(err, errlen, "password_denylist %s: %s", path, strerror(errno));
		r = MAILOTP_ERR_IO;
		goto out;
	}
	while ((got = getline(&line, &cap, f)) != -1) {
		len = (size_t)got;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || len > MAILOTP_PASSWORD_MAX_BYTES || only_blanks(line, len) ||
		    memchr(line, '\0', len) != NULL)
			continue;
		if (poolcap - poollen < len + 1) {
			/* len <= 1024, so doubling until it fits is a handful of steps */
			size_t ncap = poolcap == 0 ? DENY_POOL_START : poolcap;
			while (ncap - poollen < len + 1) {
				if (ncap > SIZE_MAX / 2)
					goto nomem;
				ncap *= 2;
			}
			if ((np = realloc(pool, ncap)) == NULL)
				goto nomem;
			pool = np;
			poolcap = ncap;
		}
		if (noff == offcap) {
			size_t ncap = offcap == 0 ? 1024 : offcap * 2;
			if (ncap > SIZE_MAX / sizeof(*off) / 2 ||
			    (no = realloc(off, ncap * sizeof(*off))) == NULL)
				goto nomem;
			off = no;
			offcap = ncap;
		}
		off[noff++] = poollen;
		poollen += fold(line, len, pool + poollen) + 1;
	}
	if (ferror(f)) {
		mailotp_errf(err, errlen, "password_denylist %s: %s", path, strerror(errno));
		r = MAILOTP_ERR_IO;
		goto out;
	}
	if (noff > 0) {
		/* Offsets while reading, as realloc moves the pool; pointers once it stays. */
		if ((p->deny = calloc(noff, sizeof(*p->deny))) == NULL)
			goto nomem;
		for (i = 0; i < noff; i++)
			p->deny[i] = pool + off[i];
		qsort(p->deny, noff, sizeof(*p->deny), cmp_str);
		for (i = 1, j = 1; i < noff; i++)
			if (strcmp(p->deny[i], p->deny[j - 1]) != 0)
				p->deny[j++] = p->deny[i];
		p->ndeny = j;
		p->pool = pool;
		pool = NULL;
	}
	r = 0;
	goto out;
nomem:
	mailotp_errf(err, errlen, "password_denylist %s: out of memory", path);
	r = MAILOTP_ERR_NOMEM;
out:
	free(off);
	free(pool);
	free(line);
	if (f != NULL)
		fclose(f);
	return r;
}

int mailotp_policy_new(const struct mailotp_config *cfg, struct mailotp_policy **out, char *err,
                       size_t errlen)
{
	struct mailotp_policy *p = NULL;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL) {
		mailotp_errf(err, errlen, "password policy: no configuration");
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		mailotp_errf(err, errlen, "password policy: out of memory");
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	p->min_length = cfg->password_min_length;
	p->min_classes = cfg->password_min_classes;
	if (cfg->password_denylist != NULL &&
	    (r = deny_load(p, cfg->password_denylist, err, errlen)) != 0)
		goto out;
	*out = p;
	p = NULL;
	r = 0;
out:
	mailotp_policy_free(p);
	return r;
}

void mailotp_policy_free(struct mailotp_policy *p)
{
	if (p == NULL)
		return;
	free(p->deny);
	free(p->pool);
	free(p);
}

size_t mailotp_policy_denylist_size(const struct mailotp_policy *p)
{
	return p == NULL ? 0 : p->ndeny;
}

static bool builtin_has(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strlen(builtin[i]) == n && memcmp(builtin[i], s, n) == 0)
			return true;
	return false;
}

/* pw is folded and NUL-terminated. */
static bool denylisted(const struct mailotp_policy *p, const char *pw, size_t n)
{
	size_t b = 0, e = n;

	if (p->ndeny > 0 && bsearch(&pw, p->deny, p->ndeny, sizeof(*p->deny), cmp_str) != NULL)
		return true;
	if (builtin_has(pw, n))
		return true;
	/* The word inside the padding: ASCII digits, punctuation and blanks. */
	while (b < e && (unsigned char)pw[b] < 0x80 && !is_ascii_alpha((unsigned char)pw[b]))
		b++;
	while (e > b && (unsigned char)pw[e - 1] < 0x80 &&
	       !is_ascii_alpha((unsigned char)pw[e - 1]))
		e--;
	return e - b >= CORE_MIN && e - b < n && builtin_has(pw + b, e - b);
}

/* Whether the folded part s[0..n) is long enough to be compared. */
static bool part_counts(const char *s, size_t n)
{
	size_t i, cps = 0;
	bool ascii = false;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			cps++;
		if ((unsigned char)s[i] < 0x80)
			ascii = true;
	}
	return cps >= (ascii ? PERSONAL_MIN : PERSONAL_MIN_NON_ASCII);
}

/* Length of the separator at s (n > 0 bytes left), 0 when s is not one. */
static size_t separator_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];

	if (c < 0x80)
		return is_ascii_alnum(c) ? 0 : 1;
	/* U+30FB KATAKANA MIDDLE DOT, between the parts of names written in kana */
	if (n >= 3 && memcmp(s, "\xE3\x83\xBB", 3) == 0)
		return 3;
	return 0;
}

/* Sets *hit when the folded password pw contains a personal string or a part of one. */
static int personal_hit(const char *pw, size_t pwlen, const char *const *personal, size_t npersonal,
                        bool *hit)
{
	char *buf = NULL;
	const char *at;
	size_t i, slen, flen, pos, start, k;
	int r;

	*hit = false;
	for (i = 0; i < npersonal && !*hit; i++) {
		if (personal == NULL || personal[i] == NULL)
			continue;
		slen = strlen(personal[i]);
		/* A mail address: the local part is personal, the domain is not. */
		if ((at = memrchr(personal[i], '@', slen)) != NULL)
			slen = (size_t)(at - personal[i]);
		free(buf);
		if ((buf = malloc(slen + 1)) == NULL) {
			r = MAILOTP_ERR_NOMEM;
			goto out;
		}
		flen = fold(personal[i], slen, buf);
		if (part_counts(buf, flen) && memmem(pw, pwlen, buf, flen) != NULL) {
			*hit = true;
			break;
		}
		for (pos = 0, start = 0; pos <= flen && !*hit; pos += k) {
			k = pos < flen ? separator_len(buf + pos, flen - pos) : 1;
			if (pos < flen && k == 0) {
				k = 1;
				continue;
			}
			if (pos > start && part_counts(buf + start, pos - start) &&
			    memmem(pw, pwlen, buf + start, pos - start) != NULL)
				*hit = true;
			start = pos + k;
		}
	}
	r = 0;
out:
	free(buf);
	return r;
}

int mailotp_policy_check(const struct mailotp_policy *p, const char *password,
                         const char *const *personal, size_t npersonal, unsigned *failed)
{
	char folded[MAILOTP_PASSWORD_MAX_BYTES + 1];
	const unsigned char *s = (const unsigned char *)password;
	size_t len, i, k, cps = 0, flen = 0;
	unsigned f = 0, classes = 0, nclasses;
	uint32_t cp;
	bool hit;
	int r;

	if (p == NULL || password == NULL || failed == NULL) {
		r = MAILOTP_ERR_INVALID;
		goto out;
	}
	/* strnlen: a huge input is not even scanned to its end. */
	if ((len = strnlen(password, MAILOTP_PASSWORD_MAX_BYTES + 1)) >
	    MAILOTP_PASSWORD_MAX_BYTES) {
		f = MAILOTP_POLICY_TOO_LONG;
		goto done;
	}
	for (i = 0; i < len; i += k, cps++) {
		if ((k = utf8_next(s + i, len - i, &cp)) == 0 || cp < 0x20 || cp == 0x7F ||
		    (cp >= 0x80 && cp < 0xA0)) {
			f = MAILOTP_POLICY_INVALID;
			goto done;
		}
		if (cp >= 'A' && cp <= 'Z')
			classes |= 1u;
		else if (cp >= 'a' && cp <= 'z')
			classes |= 2u;
		else if (cp >= '0' && cp <= '9')
			classes |= 4u;
		else
			classes |= 8u; /* punctuation, space, and every non-ASCII character */
	}
	nclasses = (classes & 1u) + ((classes >> 1) & 1u) + ((classes >> 2) & 1u) + (classes >> 3);
	if (cps < (size_t)p->min_length)
		f |= MAILOTP_POLICY_TOO_SHORT;
	if (nclasses < (unsigned)p->min_classes)
		f |= MAILOTP_POLICY_FEW_CLASSES;
	flen = fold(password, len, folded);
	if (denylisted(p, folded, flen))
		f |= MAILOTP_POLICY_DENYLISTED;
	if ((r = personal_hit(folded, flen, personal, npersonal, &hit)) != 0)
		goto out;
	if (hit)
		f |= MAILOTP_POLICY_PERSONAL;
done:
	*failed = f;
	r = f != 0 ? MAILOTP_ERR_POLICY : 0;
out:
	sodium_memzero(folded, sizeof(folded));
	return r;
}

/* ---------------------------------------------------------------------- */
/* explanations */

enum arg { ARG_NONE, ARG_MIN_LENGTH, ARG_MIN_CLASSES, ARG_MAX_BYTES };

struct reason {
	unsigned bit;
	enum arg arg; /* what the one %d of the texts is */
	const char *en;
	const char *ja;
};

/* In the order the user should fix things. */
static const struct reason reasons[] = {
    {MAILOTP_POLICY_INVALID, ARG_NONE,
     "The password contains characters that cannot be used (such as control characters).",
     "パスワードに使用できない文字（制御文字など）が含まれています。"},
    {MAILOTP_POLICY_TOO_LONG, ARG_MAX_BYTES,
     "The password is too long: use at most %d bytes (a Japanese character takes 3).",
     "パスワードが長すぎます。%dバイト（全角文字は1文字3バイト）以内にしてください。"},
    {MAILOTP_POLICY_TOO_SHORT, ARG_MIN_LENGTH, "Use at least %d characters.",
     "パスワードは%d文字以上にしてください。"},
    {MAILOTP_POLICY_FEW_CLASSES, ARG_MIN_CLASSES,
     "Use at least %d of: upper-case letters, lower-case letters, digits, symbols.",
     "英大文字・英小文字・数字・記号のうち%d種類以上を組み合わせてください。"},
    {MAILOTP_POLICY_DENYLISTED, ARG_NONE,
     "This password is too common and easy to guess; choose another one.",
     "このパスワードはよく使われていて推測されやすいため、使用できません。別のパスワードにし"
     "てください。"},
    {MAILOTP_POLICY_PERSONAL, ARG_NONE,
     "Do not use your user name, e-mail address or name in the password.",
     "パスワードにユーザーID、メールアドレス、氏名を含めないでください。"},
};

struct sink {
	char *buf;
	size_t len;    /* size of buf */
	size_t at;     /* bytes written so far */
	size_t needed; /* bytes the whole text needs */
	bool cut;
};

/* Appends s; once something did not fit nothing more is written, so the text never skips. */
static void sink_put(struct sink *o, const char *s)
{
	size_t n = strlen(s), k;

	o->needed += n;
	if (o->cut || o->len == 0)
		return;
	k = o->len - 1 - o->at;
	if (n > k) {
		/* back to the start of the sequence that does not fit */
		while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
			k--;
		o->cut = true;
	} else {
		k = n;
	}
	memcpy(o->buf + o->at, s, k);
	o->at += k;
	o->buf[o->at] = '\0';
}

size_t mailotp_policy_explain(unsigned failed, const struct mailotp_config *cfg, const char *lang,
                              char *buf, size_t len)
{
	struct sink o = {buf, len, 0, 0, false};
	bool ja = strcmp(mailotp_lang_pick(lang), "ja") == 0, first = true;
	char one[512];
	const char *fmt;
	size_t i;
	int v;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	else
		o.len = 0;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (!(failed & reasons[i].bit))
			continue;
		switch (reasons[i].arg) {
		case ARG_MIN_LENGTH:
			v = cfg != NULL ? cfg->password_min_length : 10;
			break;
		case ARG_MIN_CLASSES:
			v = cfg != NULL ? cfg->password_min_classes : 3;
			break;
		case ARG_MAX_BYTES:
			v = MAILOTP_PASSWORD_MAX_BYTES;
			break;
		default:
			v = 0;
			break;
		}
		fmt = ja ? reasons[i].ja : reasons[i].en;
		/* The formats are the constants above, each with at most one %d
		 * (pinned by the unit test). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(one, sizeof(one), fmt, v);
#pragma GCC diagnostic pop
		if (!first && !ja)
			sink_put(&o, " ");
		sink_put(&o, one);
		first = false;
	}
	return o.needed;
}
