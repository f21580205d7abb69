/*
 * lib/message.h: mailotp_message_build, the whole text that goes to SMTP.
 *
 * Input: 8 bytes of time (big-endian, signed), then NUL-separated
 * strings: from, subject, body, to_1 .. to_4 (at least one).
 *
 * Properties:
 *  - MAILOTP_ERR_INVALID when any address fails mailotp_addr_valid, the
 *    subject or the body is not valid UTF-8;
 *  - on success: every LF is preceded by CR and every CR followed by LF
 *    (no bare LF, no bare CR: no smuggled SMTP or header lines), no NUL,
 *    no line over 998 characters, the header holds exactly one each of
 *    Date, From, To, Subject, Message-ID, MIME-Version, Content-Type,
 *    Content-Transfer-Encoding and Auto-Submitted and only folded
 *    continuation lines besides; the body decodes (7bit as is, base64
 *    in lines of at most 76) to the input body with line ends made CRLF
 *    and a final CRLF.
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

/* CRLF-normalised body as message_build promises it. */
static char *ref_body(const char *b, size_t *outlen)
{
	size_t len = strlen(b), i, o = 0;
	char *out = malloc(len * 2 + 3);

	for (i = 0; i < len; i++) {
		if (b[i] == '\r' || b[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			if (b[i] == '\r' && b[i + 1] == '\n')
				i++;
		} else {
			out[o++] = b[i];
		}
	}
	if (o < 2 || out[o - 2] != '\r' || out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static size_t count_headers(const char *hdr, size_t hlen, const char *name)
{
	size_t n = 0, nl = strlen(name), i;

	for (i = 0; i + nl <= hlen; i++)
		if ((i == 0 || hdr[i - 1] == '\n') && strncmp(hdr + i, name, nl) == 0)
			n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"Date: ", "From: ", "To: ", "Subject: ",
	                                    "Message-ID: <", "MIME-Version: 1.0\r\n",
	                                    "Content-Type: text/plain; charset=UTF-8\r\n",
	                                    "Content-Transfer-Encoding: ",
	                                    "Auto-Submitted: auto-generated\r\n"};
	char *parts[7], *store, *out = NULL, *sep, *want;
	const char *to[4];
	size_t n, nto, i, line, hlen, wlen, bodylen;
	int64_t t = 0;
	bool valid = true;
	int r;

	if (size < 8)
		return 0;
	for (i = 0; i < 8; i++)
		t = (int64_t)((uint64_t)t << 8 | data[i]);
	n = fuzz_split_nul(data + 8, size - 8, parts, 7, &store);
	if (n < 4) {
		free(store);
		return 0;
	}
	nto = n - 3;
	for (i = 0; i < nto; i++) {
		to[i] = parts[3 + i];
		valid &= mailotp_addr_valid(to[i]);
	}
	valid &= mailotp_addr_valid(parts[0]);
	valid &= ref_utf8_valid(parts[1], strlen(parts[1])) && ref_utf8_valid(parts[2], strlen(parts[2]));

	r = mailotp_message_build(parts[0], to, nto, parts[1], parts[2], (time_t)t, &out);
	if (!valid) {
		FUZZ_CHECK(r == MAILOTP_ERR_INVALID && out == NULL, "bad input accepted (r=%d)", r);
		goto done;
	}
	if (r == MAILOTP_ERR_INVALID && (t < -62135596800LL || t > 253402300799LL)) {
		goto done; /* a date outside years 1..9999 is refused; fine */
	}
	FUZZ_CHECK(r == 0 && out != NULL, "valid message refused (r=%d, t=%lld)", r, (long long)t);

	line = 0;
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == '\n') {
			FUZZ_CHECK(i > 0 && out[i - 1] == '\r', "bare LF at offset %zu", i);
			line = 0;
			continue;
		}
		if (out[i] == '\r')
			FUZZ_CHECK(out[i + 1] == '\n', "bare CR at offset %zu", i);
		else
			FUZZ_CHECK(++line <= 998, "line over 998 characters at offset %zu", i);
	}
	sep = strstr(out, "\r\n\r\n");
	FUZZ_CHECK(sep != NULL, "no end of header");
	hlen = (size_t)(sep - out) + 2;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		FUZZ_CHECK(count_headers(out, hlen, names[i]) == 1, "header %s not there exactly once",
		           names[i]);
	/* every header line is one of ours or a continuation */
	for (i = 0; i < hlen; i++) {
		if (i == 0 || out[i - 1] == '\n') {
			size_t k;
			bool known = out[i] == ' ';

			for (k = 0; k < sizeof(names) / sizeof(names[0]) && !known; k++)
				known = strncmp(out + i, names[k], strlen(names[k])) == 0;
			FUZZ_CHECK(known, "unexpected header line at offset %zu: %.40s", i, out + i);
		}
	}
	want = ref_body(parts[2], &wlen);
	if (strstr(out, "Content-Transfer-Encoding: 7bit\r\n") != NULL &&
	    strstr(out, "Content-Transfer-Encoding: 7bit\r\n") < sep) {
		FUZZ_CHECK(strcmp(sep + 4, want) == 0, "7bit body differs from the normalised input");
	} else {
		char *b = sep + 4, *dec = malloc(strlen(b) + 1);
		size_t got, off = 0;

		while (*b != '\0') {
			char *e = strstr(b, "\r\n");

			FUZZ_CHECK(e != NULL && e - b <= 76, "base64 line too long or unterminated");
			FUZZ_CHECK(sodium_base642bin((unsigned char *)dec + off, strlen(sep + 4) - off, b,
			                             (size_t)(e - b), NULL, &got, NULL,
			                             sodium_base64_VARIANT_ORIGINAL) == 0,
			           "body line is not base64");
			off += got;
			b = e + 2;
		}
		bodylen = off;
		FUZZ_CHECK(bodylen == wlen && memcmp(dec, want, wlen) == 0,
		           "base64 body differs from the normalised input");
		free(dec);
	}
	free(want);
done:
	free(out);
	free(store);
	return 0;
}
