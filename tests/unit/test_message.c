/*
 * Unit tests for lib/message.c: address checks, RFC 2047 encoding (round
 * trip through our own decoder), folding, header injection and the whole
 * message (CRLF, base64 body, the secret line).
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "message.h"

/* 2023-11-14 22:13:20 UTC, a Tuesday. */
#define T_NOW ((time_t)1700000000)

static void test_addr_valid(void **state)
{
	static const char *const good[] = {
	    "user@example.org",     "a.b+tag@sub.example.co.jp", "x@localhost",
	    "o'brien@ex-ample.com", "1234567890@a1.b2",
	};
	static const char *const bad[] = {
	    "",
	    "no-at",
	    "a@@b.org",
	    "a@b@c.org",
	    "@b.org",
	    "a@",
	    "a b@c.org",
	    "a@b..org",
	    "a@.b.org",
	    "a@b.org.",
	    "a\r\n@b.org",
	    "a@b.org\r\nBcc: x@y.org",
	    "a@b.org\n",
	    "<a@b.org>",
	    "a@b_c.org",
	    "a\"b@c.org",
	    "a,b@c.org",
	    "a;b@c.org",
	    "a\\b@c.org",
	    "a(b)@c.org",
	    "\xc3\xbc@b.org",
	    "a@b\xc3\xbc.org",
	    "a\x7f@b.org",
	    "a\t@b.org",
	};
	char longaddr[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!mailotp_addr_valid(good[i]))
			fail_msg("should be valid: %s", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mailotp_addr_valid(bad[i]))
			fail_msg("should be invalid: bad[%zu]", i);
	}
	assert_false(mailotp_addr_valid(NULL));

	/* 254 bytes pass, 255 do not. */
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 254 - 6, "@b.org", 7);
	assert_int_equal(strlen(longaddr), 254);
	assert_true(mailotp_addr_valid(longaddr));
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr + 255 - 6, "@b.org", 7);
	assert_false(mailotp_addr_valid(longaddr));
	/* A domain label over 63 characters. */
	snprintf(longaddr, sizeof(longaddr), "a@%0*d.org", 64, 0);
	assert_false(mailotp_addr_valid(longaddr));
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x80)
			n = 1;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			return false;
		if (i + n > len)
			return false;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

/*
 * Decodes an encoded header value: each "=?UTF-8?B?...?=" word decoded
 * with sodium_base642bin, the folding between words dropped. Checks on
 * the way that every line, with "Name: " on the first, is at most 76
 * characters and that every word is valid UTF-8 on its own (no character
 * split across words).
 */
static char *decode_header(const char *name, const char *enc)
{
	static char out[4096];
	const char *p = enc, *end;
	size_t o = 0, bin_len, col = strlen(name) + 2;
	const char *line = enc;

	/* Line lengths. */
	for (p = enc;; p++) {
		if (*p == '\r' || *p == '\0') {
			if (col + (size_t)(p - line) > 76)
				fail_msg("line over 76: %.*s", (int)(p - line), line);
			if (*p == '\0')
				break;
			assert_int_equal(p[1], '\n');
			assert_int_equal(p[2], ' ');
			line = p + 2;
			col = 0;
			p++;
		} else {
			assert_int_not_equal(*p, '\n');
		}
	}
	p = enc;
	while (*p != '\0') {
		if (strncmp(p, "\r\n ", 3) == 0) {
			p += 3;
			continue;
		}
		if (strncmp(p, "=?UTF-8?B?", 10) != 0)
			fail_msg("not an encoded word at: %s", p);
		p += 10;
		end = strstr(p, "?=");
		assert_non_null(end);
		if (sodium_base642bin((unsigned char *)out + o, sizeof(out) - o - 1, p,
		                      (size_t)(end - p), NULL, &bin_len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0)
			fail_msg("bad base64 in %.*s", (int)(end - p), p);
		assert_true(utf8_valid((unsigned char *)out + o, bin_len));
		o += bin_len;
		p = end + 2;
	}
	out[o] = '\0';
	return out;
}

static void test_header_ascii(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(mailotp_header_encode("Subject", "Your code", &out), 0);
	assert_string_equal(out, "Your code");
	free(out);

	/* Injection in an ASCII value: the CR/LF become spaces. */
	assert_int_equal(mailotp_header_encode("Subject", "a\r\nBcc: x@evil.org", &out), 0);
	assert_string_equal(out, "a  Bcc: x@evil.org");
	free(out);
	assert_int_equal(mailotp_header_encode("Subject", "tab\there\x01\x7f", &out), 0);
	assert_string_equal(out, "tab here  ");
	free(out);
}

static void test_header_japanese(void **state)
{
	static const char *const subjects[] = {
	    "ワンタイムパスワードのお知らせ",
	    "パスワードリセットのご案内",
	    "a",
	    "é",
	    /* Long enough to fold several times, with 4-byte characters in it. */
	    "【重要】アカウント発行のお知らせ（政府統計オンライン調査総合窓口）😀😀😀 "
	    "市町村の保育施設予約システムからのご連絡です。パスワードを設定してください。",
	};
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		if (i == 2)
			continue; /* ASCII: tested above */
		assert_int_equal(mailotp_header_encode("Subject", subjects[i], &out), 0);
		assert_non_null(strstr(out, "=?UTF-8?B?"));
		assert_string_equal(decode_header("Subject", out), subjects[i]);
		free(out);
	}
	/* The long one really folds. */
	assert_int_equal(mailotp_header_encode("Subject", subjects[4], &out), 0);
	assert_non_null(strstr(out, "\r\n "));
	free(out);

	/* A longer header name leaves less room on the first line. */
	assert_int_equal(mailotp_header_encode("X-Some-Rather-Long-Header-Name", subjects[4], &out),
	                 0);
	assert_string_equal(decode_header("X-Some-Rather-Long-Header-Name", out), subjects[4]);
	free(out);

	/* So long that no encoded word fits: refused, not a broken line. */
	assert_int_equal(
	    mailotp_header_encode("X-Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	                          subjects[0], &out),
	    MAILOTP_ERR_INVALID);
	assert_null(out);
}

static void test_header_injection_japanese(void **state)
{
	char *out = NULL;
	const char *dec;

	(void)state;
	assert_int_equal(
	    mailotp_header_encode("Subject", "お知らせ\r\nBcc: x@evil.org\n\xc2\x85z", &out), 0);
	/* The only CR/LF left are the folds "\r\n ". */
	dec = decode_header("Subject", out);
	assert_string_equal(dec, "お知らせ  Bcc: x@evil.org   z");
	free(out);
}

static void test_header_invalid_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xff", "abc\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	};
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mailotp_header_encode("Subject", bad[i], &out),
		                 MAILOTP_ERR_INVALID);
		assert_null(out);
	}
}

/* Every CR is followed by LF and every LF preceded by CR. */
static void assert_crlf_only(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++) {
		if (m[i] == '\r' && m[i + 1] != '\n')
			fail_msg("bare CR at %zu", i);
		if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			fail_msg("bare LF at %zu", i);
	}
	assert_true(i >= 2 && m[i - 2] == '\r' && m[i - 1] == '\n');
}

/* Copies the value of header name (folds kept) into val and returns val, or NULL. */
static const char *find_header(const char *m, const char *name, char *val, size_t vlen)
{
	const char *end = strstr(m, "\r\n\r\n"), *p = m, *e;
	size_t n = strlen(name);

	while (p < end) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 2;
			/* Folded lines (starting with a space) belong to the value. */
			for (e = strstr(p, "\r\n"); e[2] == ' '; e = strstr(e + 2, "\r\n"))
				;
			snprintf(val, vlen, "%.*s", (int)(e - p), p);
			return val;
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

static void test_message_ascii(void **state)
{
	const char *to[] = {"taro@example.jp", "proxy@example.jp"};
	char *m = NULL, v[256];
	const char *body;

	(void)state;
	assert_int_equal(mailotp_message_build("noreply@example.org", to, 2, "Your code",
	                                       "Hello,\nyour code is:\n\n123456\n\nBye\rx", T_NOW,
	                                       &m),
	                 0);
	assert_crlf_only(m);
	assert_non_null(find_header(m, "Date", v, sizeof(v)));
	assert_string_equal(v, "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_non_null(find_header(m, "From", v, sizeof(v)));
	assert_string_equal(v, "noreply@example.org");
	assert_non_null(find_header(m, "To", v, sizeof(v)));
	assert_string_equal(v, "taro@example.jp, proxy@example.jp");
	assert_non_null(find_header(m, "Subject", v, sizeof(v)));
	assert_string_equal(v, "Your code");
	assert_non_null(find_header(m, "Message-ID", v, sizeof(v)));
	assert_int_equal(strlen(v), 1 + 32 + strlen("@example.org") + 1);
	assert_true(v[0] == '<' && strcmp(v + 33, "@example.org>") == 0);
	assert_non_null(find_header(m, "MIME-Version", v, sizeof(v)));
	assert_string_equal(v, "1.0");
	assert_non_null(find_header(m, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=UTF-8");
	assert_non_null(find_header(m, "Content-Transfer-Encoding", v, sizeof(v)));
	assert_string_equal(v, "7bit");
	assert_non_null(find_header(m, "Auto-Submitted", v, sizeof(v)));
	assert_string_equal(v, "auto-generated");
	body = strstr(m, "\r\n\r\n") + 4;
	assert_string_equal(body, "Hello,\r\nyour code is:\r\n\r\n123456\r\n\r\nBye\r\nx\r\n");
	sodium_memzero(m, strlen(m));
	free(m);
}

static void test_message_ids_differ(void **state)
{
	const char *to[] = {"a@example.org"};
	char *m1 = NULL, *m2 = NULL, v1[128], v2[128];

	(void)state;
	assert_int_equal(mailotp_message_build("f@example.org", to, 1, "s", "b", T_NOW, &m1), 0);
	assert_int_equal(mailotp_message_build("f@example.org", to, 1, "s", "b", T_NOW, &m2), 0);
	assert_non_null(find_header(m1, "Message-ID", v1, sizeof(v1)));
	assert_non_null(find_header(m2, "Message-ID", v2, sizeof(v2)));
	assert_string_not_equal(v1, v2);
	free(m1);
	free(m2);
}

static void test_message_japanese(void **state)
{
	const char *to[] = {"hanako@example.jp"};
	const char *subject = "ワンタイムパスワードのお知らせ";
	const char *body_in =
	    "山田 花子 様\n\nログイン用のワンタイムパスワードをお知らせします。\n\n"
	    "482913\n\nこのパスワードの有効期限は5分です。"
	    "このメールにお心当たりがない場合は、管理者にご連絡ください。"
	    "長い行がbase64で折り返されることを確かめるための文です。\n";
	const char *expect =
	    "山田 花子 様\r\n\r\nログイン用のワンタイムパスワードをお知らせします。\r\n\r\n"
	    "482913\r\n\r\nこのパスワードの有効期限は5分です。"
	    "このメールにお心当たりがない場合は、管理者にご連絡ください。"
	    "長い行がbase64で折り返されることを確かめるための文です。\r\n";
	char *m = NULL, v[512], b64[4096], dec[4096];
	const char *p, *e;
	size_t n = 0, dlen, lines = 0;

	(void)state;
	assert_int_equal(
	    mailotp_message_build("noreply@example.org", to, 1, subject, body_in, T_NOW, &m), 0);
	assert_crlf_only(m);
	assert_non_null(find_header(m, "Subject", v, sizeof(v)));
	assert_string_equal(decode_header("Subject", v), subject);
	assert_non_null(find_header(m, "Content-Transfer-Encoding", v, sizeof(v)));
	assert_string_equal(v, "base64");
	/* The secret is not in clear text anywhere. */
	assert_null(strstr(m, "482913"));

	for (p = strstr(m, "\r\n\r\n") + 4; *p != '\0'; p = e + 2) {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 76);
		assert_true(n + (size_t)(e - p) < sizeof(b64));
		memcpy(b64 + n, p, (size_t)(e - p));
		n += (size_t)(e - p);
		lines++;
	}
	assert_true(lines > 1);
	assert_int_equal(sodium_base642bin((unsigned char *)dec, sizeof(dec) - 1, b64, n, NULL,
	                                   &dlen, NULL, sodium_base64_VARIANT_ORIGINAL),
	                 0);
	dec[dlen] = '\0';
	assert_string_equal(dec, expect);
	/* The secret line survives, alone. */
	assert_non_null(strstr(dec, "\r\n482913\r\n"));
	sodium_memzero(m, strlen(m));
	free(m);
}

static void test_message_long_ascii_line(void **state)
{
	const char *to[] = {"a@example.org"};
	char body[1200], *m = NULL, v[64];

	(void)state;
	/* An ASCII line over 998 octets cannot go as 7bit. */
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	assert_int_equal(mailotp_message_build("f@example.org", to, 1, "s", body, T_NOW, &m), 0);
	assert_non_null(find_header(m, "Content-Transfer-Encoding", v, sizeof(v)));
	assert_string_equal(v, "base64");
	assert_crlf_only(m);
	free(m);
}

static void test_message_injection(void **state)
{
	const char *bad_to[] = {"a@example.org\r\nBcc: x@evil.org"};
	const char *to[] = {"a@example.org"};
	const char *two[] = {"a@example.org", "b@ex\nample.org"};
	char *m = NULL, *hdr_end;
	const char *p;

	(void)state;
	assert_int_equal(mailotp_message_build("f@example.org", bad_to, 1, "s", "b", T_NOW, &m),
	                 MAILOTP_ERR_INVALID);
	assert_null(m);
	assert_int_equal(mailotp_message_build("f@example.org", two, 2, "s", "b", T_NOW, &m),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(
	    mailotp_message_build("f@example.org\r\nBcc: x@evil.org", to, 1, "s", "b", T_NOW, &m),
	    MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_message_build("f@example.org", to, 0, "s", "b", T_NOW, &m),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_message_build("f@example.org", to, 1, "s", "bad \xff", T_NOW, &m),
	                 MAILOTP_ERR_INVALID);

	/* A subject trying to add a header stays in the Subject line. */
	assert_int_equal(mailotp_message_build("f@example.org", to, 1,
	                                       "hi\r\nBcc: x@evil.org\r\n\r\nfake body", "b", T_NOW,
	                                       &m),
	                 0);
	hdr_end = strstr(m, "\r\n\r\n");
	assert_non_null(hdr_end);
	*hdr_end = '\0';
	for (p = m; p != NULL; p = strstr(p, "\r\n")) {
		if (*p == '\r')
			p += 2;
		assert_true(strncmp(p, "Bcc", 3) != 0);
	}
	assert_non_null(strstr(m, "Subject: hi  Bcc: x@evil.org    fake body"));
	free(m);
}

static void test_message_many_recipients(void **state)
{
	const char *to[] = {"first.recipient@example.org", "second.recipient@example.org",
	                    "third.recipient@example.org", "fourth@example.org"};
	char *m = NULL;
	const char *p, *e;

	(void)state;
	assert_int_equal(mailotp_message_build("f@example.org", to, 4, "s", "b", T_NOW, &m), 0);
	assert_crlf_only(m);
	/* Header lines stay within 76, folded after commas. */
	for (p = m; strncmp(p, "\r\n", 2) != 0; p = e + 2) {
		e = strstr(p, "\r\n");
		assert_true(e - p <= 76);
	}
	assert_non_null(strstr(m,
	                       "To: first.recipient@example.org, second.recipient@example.org,\r\n "
	                       "third.recipient@example.org, fourth@example.org\r\n"));
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_valid),
	    cmocka_unit_test(test_header_ascii),
	    cmocka_unit_test(test_header_japanese),
	    cmocka_unit_test(test_header_injection_japanese),
	    cmocka_unit_test(test_header_invalid_utf8),
	    cmocka_unit_test(test_message_ascii),
	    cmocka_unit_test(test_message_ids_differ),
	    cmocka_unit_test(test_message_japanese),
	    cmocka_unit_test(test_message_long_ascii_line),
	    cmocka_unit_test(test_message_injection),
	    cmocka_unit_test(test_message_many_recipients),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
