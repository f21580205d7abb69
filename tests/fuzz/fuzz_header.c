/*
 * lib/message.h: mailotp_header_encode (RFC 2047 subjects).
 *
 * Input: byte 0 picks the header name ("Subject", or N 'X's with
 * N = byte 0 % 80 for byte 0 >= 128); the rest is the value (up to its
 * first NUL).
 *
 * Properties:
 *  - invalid UTF-8 is MAILOTP_ERR_INVALID (reference decoder);
 *  - a value that is ASCII once controls are replaced comes back as that
 *    replaced value when "Name: value" fits in 998 characters (RFC 5322's
 *    hard line limit);
 *  - otherwise (non-ASCII, or ASCII too long for one line) the output is encoded words "=?UTF-8?B?...?=" joined by
 *    CRLF SPACE, no CR or LF anywhere else, each word at most 75
 *    characters and holding whole UTF-8 characters, the first line with
 *    "Name: " and every folded line at most 76 characters, and the
 *    decoded words give back the value with C0, DEL and C1 replaced by
 *    spaces (a C1 character, 2 bytes, by 2 spaces);
 *  - MAILOTP_ERR_INVALID for a non-ASCII value only when the name leaves
 *    no room for an encoded word.
 */
#include <sodium.h>

#include "fuzz_common.h"
#include "message.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0;
}

/* The value as the encoder must see it after replacing controls; NULL if invalid. */
static char *ref_sanitise(const char *v, bool *ascii)
{
	const unsigned char *u = (const unsigned char *)v;
	size_t len = strlen(v), i = 0, n, k;
	char *o = malloc(len + 1);
	uint32_t cp;

	*ascii = true;
	while (i < len) {
		if ((n = ref_utf8(u + i, len - i, &cp)) == 0) {
			free(o);
			return NULL;
		}
		if (ref_is_control(cp)) {
			for (k = 0; k < n; k++)
				o[i + k] = ' ';
		} else {
			memcpy(o + i, u + i, n);
			if (n > 1)
				*ascii = false;
		}
		i += n;
	}
	o[len] = '\0';
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[96], *value, *out = NULL, *want, *dec, *p;
	size_t namelen, declen = 0, line, wi = 0;
	bool ascii;
	int r;

	if (size < 1)
		return 0;
	if (data[0] < 128) {
		strcpy(name, "Subject");
	} else {
		memset(name, 'X', data[0] % 80);
		name[data[0] % 80] = '\0';
	}
	namelen = strlen(name);
	value = fuzz_strndup(data + 1, size - 1);
	want = ref_sanitise(value, &ascii);
	r = mailotp_header_encode(name, value, &out);
	if (want == NULL) {
		FUZZ_CHECK(r == MAILOTP_ERR_INVALID && out == NULL, "invalid UTF-8 accepted (r=%d)", r);
		goto done;
	}
	if (ascii && namelen + 2 + strlen(want) <= 998) {
		FUZZ_CHECK(r == 0 && out != NULL && strcmp(out, want) == 0,
		           "ASCII value not returned as sanitised (r=%d)", r);
		goto done;
	}
	if (namelen + 2 + 12 + 8 > 76) {
		/* 12: "=?UTF-8?B??=", 8: one 4-byte character; a caller's bug */
		FUZZ_CHECK(r == MAILOTP_ERR_INVALID || r == 0, "long name: r=%d", r);
		if (r != 0)
			goto done;
	}
	FUZZ_CHECK(r == 0 && out != NULL, "valid value refused (r=%d)", r);

	dec = malloc(strlen(out) + 1);
	line = namelen + 2; /* "Name: " */
	p = out;
	for (;;) {
		const char *end;
		size_t wlen, b64len, got = 0;

		FUZZ_CHECK(strncmp(p, "=?UTF-8?B?", 10) == 0, "word %zu does not start =?UTF-8?B?", wi);
		end = strstr(p + 10, "?=");
		FUZZ_CHECK(end != NULL, "word %zu not closed", wi);
		wlen = (size_t)(end + 2 - p);
		b64len = (size_t)(end - (p + 10));
		FUZZ_CHECK(wlen <= 75, "encoded word of %zu characters", wlen);
		FUZZ_CHECK(line + wlen <= 76, "line of %zu characters", line + wlen);
		FUZZ_CHECK(sodium_base642bin((unsigned char *)dec + declen, strlen(out) - declen, p + 10,
		                             b64len, NULL, &got, NULL,
		                             sodium_base64_VARIANT_ORIGINAL) == 0,
		           "word %zu is not base64", wi);
		FUZZ_CHECK(got > 0 && ref_utf8_valid(dec + declen, got),
		           "word %zu splits a UTF-8 character or is empty", wi);
		declen += got;
		p = (char *)end + 2;
		wi++;
		if (*p == '\0')
			break;
		FUZZ_CHECK(strncmp(p, "\r\n ", 3) == 0, "words not joined by CRLF SPACE");
		p += 3;
		line = 1;
	}
	FUZZ_CHECK(declen == strlen(want) && memcmp(dec, want, declen) == 0,
	           "decoded words differ from the sanitised value");
	free(dec);
done:
	free(out);
	free(want);
	free(value);
	return 0;
}
