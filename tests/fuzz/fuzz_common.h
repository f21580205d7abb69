/*
 * Shared helpers of the libFuzzer targets in tests/fuzz/: a check that
 * aborts (so libFuzzer records the input), a strict reference UTF-8
 * decoder written independently of the ones in lib/ (used as an oracle),
 * and input splitting. Header-only: every target is one .c file.
 */
#ifndef MAILOTP_FUZZ_COMMON_H
#define MAILOTP_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken property: print why and abort, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                              \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "FUZZ PROPERTY FAILED at %s:%d: %s\n  ", __FILE__, \
			        __LINE__, #cond);                                          \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/*
 * Reference decoder (RFC 3629, table 3-7 of Unicode): returns the length
 * of the well-formed sequence at s (left > 0 bytes), 0 when ill-formed.
 * Written from the table, not copied from lib/, so it can disagree.
 */
static inline size_t ref_utf8(const unsigned char *s, size_t left, uint32_t *cp)
{
	static const struct {
		unsigned char lo0, hi0; /* lead range */
		unsigned char lo1, hi1; /* second byte range */
		size_t n;
	} rows[] = {
	    {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
	    {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
	    {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	size_t r, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
			continue;
		if (left < rows[r].n || s[1] < rows[r].lo1 || s[1] > rows[r].hi1)
			return 0;
		v = s[0] & (rows[r].n == 2 ? 0x1f : rows[r].n == 3 ? 0x0f : 0x07);
		for (i = 1; i < rows[r].n; i++) {
			if (i > 1 && (s[i] < 0x80 || s[i] > 0xbf))
				return 0;
			v = v << 6 | (s[i] & 0x3f);
		}
		*cp = v;
		return rows[r].n;
	}
	return 0;
}

static inline bool ref_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Valid UTF-8 (len bytes). */
static inline bool ref_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = ref_utf8(u + i, len - i, &cp)) == 0)
			return false;
		i += n;
	}
	return true;
}

/* Valid UTF-8 without C0, DEL or C1 (what mailotp_utf8_is_clean promises). */
static inline bool ref_utf8_clean(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		if ((n = ref_utf8(u + i, len - i, &cp)) == 0 || ref_is_control(cp))
			return false;
		i += n;
	}
	return true;
}

/* A NUL-terminated copy of data[0..n) (malloc'd; aborts without memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	if (n != 0)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/*
 * Splits data at NUL bytes into at most max C strings (the last one takes
 * the rest, NULs and all, cut at its first NUL). Returns the count; the
 * strings point into *store (malloc'd, free it).
 */
static inline size_t fuzz_split_nul(const uint8_t *data, size_t size, char **parts, size_t max,
                                    char **store)
{
	size_t n = 0, i, start = 0;
	char *s = fuzz_strndup(data, size);

	*store = s;
	if (max == 0)
		return 0;
	for (i = 0; i <= size && n < max; i++) {
		if (i == size || s[i] == '\0') {
			parts[n++] = s + start;
			start = i + 1;
		}
	}
	return n;
}

#endif /* MAILOTP_FUZZ_COMMON_H */
