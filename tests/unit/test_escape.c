/*
 * Tests of lib/escape.c: RFC 4515 filter values, RFC 4514 DN values,
 * log-line escaping and the strict UTF-8 check.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

/* A fixed-seed generator keeps the property tests reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * RFC 4515 value unescape, strict: fails (returns -1) on a bare special
 * character or a backslash not followed by two hex digits, so a sloppy
 * escaper cannot pass the round trip by accident.
 */
static long filter_unescape(const char *s, unsigned char *out)
{
	long n = 0;

	while (*s != '\0') {
		if (*s == '*' || *s == '(' || *s == ')' || (unsigned char)*s >= 0x80 ||
		    (unsigned char)*s < 0x20)
			return -1;
		if (*s == '\\') {
			if (hexval(s[1]) < 0 || hexval(s[2]) < 0)
				return -1;
			out[n++] = (unsigned char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 3;
		} else {
			out[n++] = (unsigned char)*s++;
		}
	}
	return n;
}

/* RFC 4514 value unescape: \XX or \<special>; fails on an unescaped special. */
static long dn_unescape(const char *s, unsigned char *out)
{
	const char *start = s;
	long n = 0;

	while (*s != '\0') {
		if (strchr("\"+,;<>", *s) != NULL)
			return -1;
		if ((s == start && (*s == '#' || *s == ' ')) || (s[1] == '\0' && *s == ' '))
			return -1;
		if (*s == '\\') {
			if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
				out[n++] = (unsigned char)(hexval(s[1]) << 4 | hexval(s[2]));
				s += 3;
			} else if (s[1] != '\0' && strchr("\"+,;<>\\# =", s[1]) != NULL) {
				out[n++] = (unsigned char)s[1];
				s += 2;
			} else {
				return -1;
			}
		} else {
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				return -1;
			out[n++] = (unsigned char)*s++;
		}
	}
	return n;
}

static void check_filter(const char *in, size_t len, const char *want)
{
	char *out = NULL;

	assert_int_equal(mailotp_ldap_filter_escape(in, len, &out), 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_filter_rfc4515_examples(void **state)
{
	(void)state;
	/* The value examples of RFC 4515 section 4. */
	check_filter("Parens R Us (for all your parenthetical needs)", 46,
	             "Parens R Us \\28for all your parenthetical needs\\29");
	check_filter("*", 1, "\\2a");
	check_filter("C:\\MyFile", 9, "C:\\5cMyFile");
	check_filter("\x00\x00\x00\x04", 4, "\\00\\00\\00\\04");
	check_filter("Lu\xc4\x8di\xc4\x87", 7, "Lu\\c4\\8di\\c4\\87");
	check_filter("\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", 9,
	             "\\e3\\83\\86\\e3\\82\\b9\\e3\\83\\88");
}

static void test_filter_specials(void **state)
{
	(void)state;
	check_filter("alice", 5, "alice");
	check_filter("", 0, "");
	check_filter("*)(uid=*", 8, "\\2a\\29\\28uid=\\2a");
	check_filter("a\0b", 3, "a\\00b");
	check_filter("x\n\r\x7f", 4, "x\\0a\\0d\\7f");
	/* '=' '&' '|' '!' are harmless inside a value. */
	check_filter("a=b&c|d!e", 9, "a=b&c|d!e");
}

static void test_filter_round_trip(void **state)
{
	unsigned char in[64], back[64];
	char *out;
	size_t len, k;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		len = rng_next() % sizeof(in);
		for (k = 0; k < len; k++)
			in[k] = (unsigned char)rng_next();
		out = NULL;
		assert_int_equal(mailotp_ldap_filter_escape((const char *)in, len, &out), 0);
		assert_non_null(out);
		assert_int_equal(filter_unescape(out, back), (long)len);
		assert_memory_equal(back, in, len);
		free(out);
	}
}

static void test_filter_build(void **state)
{
	char *out = (char *)1;

	(void)state;
	assert_int_equal(
	    mailotp_ldap_filter_build("(&(objectClass=inetOrgPerson)(uid=%u))", "alice", 5, &out),
	    0);
	assert_string_equal(out, "(&(objectClass=inetOrgPerson)(uid=alice))");
	free(out);

	assert_int_equal(mailotp_ldap_filter_build("(uid=%u)", "*)(uid=*", 8, &out), 0);
	assert_string_equal(out, "(uid=\\2a\\29\\28uid=\\2a)");
	free(out);

	assert_int_equal(mailotp_ldap_filter_build("(|(uid=%u)(mail=%u))", "a(b", 3, &out), 0);
	assert_string_equal(out, "(|(uid=a\\28b)(mail=a\\28b))");
	free(out);

	assert_int_equal(mailotp_ldap_filter_build("(&(q=100%%)(uid=%u))", "x", 1, &out), 0);
	assert_string_equal(out, "(&(q=100%)(uid=x))");
	free(out);

	/* "%%u" is a literal "%u", not a substitution. */
	assert_int_equal(mailotp_ldap_filter_build("(a=%%u)", "x", 1, &out), 0);
	assert_string_equal(out, "(a=%u)");
	free(out);

	assert_int_equal(mailotp_ldap_filter_build("(uid=%u)", "a\0b", 3, &out), 0);
	assert_string_equal(out, "(uid=a\\00b)");
	free(out);

	assert_int_equal(mailotp_ldap_filter_build("(uid=%u)", "", 0, &out), 0);
	assert_string_equal(out, "(uid=)");
	free(out);

	out = (char *)1;
	assert_int_equal(mailotp_ldap_filter_build("(uid=%x)", "a", 1, &out), MAILOTP_ERR_INVALID);
	assert_null(out);
	out = (char *)1;
	assert_int_equal(mailotp_ldap_filter_build("(uid=%s)", "a", 1, &out), MAILOTP_ERR_INVALID);
	assert_null(out);
	out = (char *)1;
	assert_int_equal(mailotp_ldap_filter_build("(uid=a)%", "a", 1, &out), MAILOTP_ERR_INVALID);
	assert_null(out);
	out = (char *)1;
	assert_int_equal(mailotp_ldap_filter_build("(uid=%U)", "a", 1, &out), MAILOTP_ERR_INVALID);
	assert_null(out);
}

static void check_dn(const char *in, size_t len, const char *want)
{
	char *out = NULL;

	assert_int_equal(mailotp_ldap_dn_escape(in, len, &out), 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_dn_escape(void **state)
{
	char *out = (char *)1;

	(void)state;
	/* RFC 4514 section 4 examples. */
	check_dn("Sue, Grabbit and Runn", 21, "Sue\\, Grabbit and Runn");
	check_dn("Before\rAfter", 12, "Before\\0dAfter");
	check_dn("Lu\xc4\x8di\xc4\x87", 7, "Lu\xc4\x8di\xc4\x87");
	check_dn("James \"Jim\" Smith, III", 22, "James \\\"Jim\\\" Smith\\, III");

	check_dn("alice", 5, "alice");
	check_dn("#abc", 4, "\\#abc");
	check_dn("a#b", 3, "a#b");
	check_dn(" abc", 4, "\\ abc");
	check_dn("abc ", 4, "abc\\ ");
	check_dn(" ", 1, "\\ ");
	check_dn("  ", 2, "\\ \\ ");
	check_dn("a b", 3, "a b");
	check_dn("a+b;c<d>e\\f", 11, "a\\+b\\;c\\<d\\>e\\\\f");
	check_dn("a\0b", 3, "a\\00b");
	check_dn("a=b", 3, "a=b");

	assert_int_equal(mailotp_ldap_dn_escape("", 0, &out), MAILOTP_ERR_INVALID);
	assert_null(out);
}

static void test_dn_round_trip(void **state)
{
	unsigned char in[48], back[48];
	/* Bias the bytes toward the interesting ones. */
	static const char pick[] = "\"+,;<>\\# =\0\r\nab";
	char *out;
	size_t len, k;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		len = 1 + rng_next() % (sizeof(in) - 1);
		for (k = 0; k < len; k++)
			in[k] = (rng_next() & 1)
			            ? (unsigned char)pick[rng_next() % (sizeof(pick) - 1)]
			            : (unsigned char)rng_next();
		out = NULL;
		assert_int_equal(mailotp_ldap_dn_escape((const char *)in, len, &out), 0);
		assert_non_null(out);
		assert_int_equal(strlen(out) >= len, 1);
		assert_int_equal(dn_unescape(out, back), (long)len);
		assert_memory_equal(back, in, len);
		free(out);
	}
}

static void check_log(const char *in, const char *want)
{
	char out[256];

	assert_ptr_equal(mailotp_log_escape(in, out, sizeof(out)), out);
	assert_string_equal(out, want);
}

static void test_log_escape(void **state)
{
	(void)state;
	check_log("alice", "alice");
	check_log("a\nb", "a\\x0ab");
	check_log("a\r\nFeb 1 sshd: Accepted", "a\\x0d\\x0aFeb 1 sshd: Accepted");
	check_log("back\\slash", "back\\\\slash");
	check_log("\\x0a", "\\\\x0a"); /* a literal "\x0a" cannot pose as an escape */
	check_log("tab\there", "tab\\x09here");
	check_log("del\x7f", "del\\x7f");
	check_log("\x1b[31mred", "\\x1b[31mred");
	check_log(NULL, "(null)");
	check_log("", "");
	/* Valid UTF-8 is kept. */
	check_log("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	check_log("Lu\xc4\x8di\xc4\x87", "Lu\xc4\x8di\xc4\x87");
	/* Invalid UTF-8 is escaped byte by byte. */
	check_log("\xff", "\\xff");
	check_log("a\xe6\x97", "a\\xe6\\x97");
	check_log("\xc0\xaf", "\\xc0\\xaf");
	check_log("\xed\xa0\x80", "\\xed\\xa0\\x80");
	check_log("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	/* C1 controls, line separators and bidi overrides are escaped too. */
	check_log("\xc2\x85", "\\xc2\\x85");
	check_log("\xe2\x80\xa8", "\\xe2\\x80\\xa8");
	check_log("\xe2\x80\xae", "\\xe2\\x80\\xae");
}

/*
 * Truncation: for every buffer size, the result fits, ends with "..." when
 * cut, and the kept part is the longest whole-token prefix of the full
 * escape that leaves room for "...".
 */
static void test_log_truncation(void **state)
{
	static const char *const inputs[] = {
	    "ab\ncd\\ef\xe6\x97\xa5gh\xffij\r",
	    "\n\n\n\n\n\n",
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac",
	    "\\\\\\\\\\",
	    "plain ascii text",
	};
	char full[256], out[256], pre[256], prefix_in[64];
	size_t boundaries[256], nb, i, k, outlen, kept, best;
	const char *in;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		in = inputs[i];
		mailotp_log_escape(in, full, sizeof(full));
		/* Token boundaries: escapes of input prefixes that are prefixes of full. */
		nb = 0;
		for (k = 0; k <= strlen(in); k++) {
			memcpy(prefix_in, in, k);
			prefix_in[k] = '\0';
			mailotp_log_escape(prefix_in, pre, sizeof(pre));
			if (strncmp(full, pre, strlen(pre)) == 0)
				boundaries[nb++] = strlen(pre);
		}
		for (outlen = 1; outlen <= strlen(full) + 2; outlen++) {
			memset(out, 'Z', sizeof(out));
			mailotp_log_escape(in, out, outlen);
			assert_true(strlen(out) <= outlen - 1);
			if (strlen(full) <= outlen - 1) {
				assert_string_equal(out, full);
				continue;
			}
			/* Cut: the ellipsis, or as many dots as fit. */
			if (outlen - 1 < 3) {
				assert_int_equal(strlen(out), outlen - 1);
				assert_int_equal(strspn(out, "."), outlen - 1);
				continue;
			}
			kept = strlen(out) - 3;
			assert_string_equal(out + kept, "...");
			assert_memory_equal(out, full, kept);
			best = 0;
			for (k = 0; k < nb; k++) {
				if (boundaries[k] + 3 <= outlen - 1 && boundaries[k] > best)
					best = boundaries[k];
			}
			assert_int_equal(kept, best);
		}
	}
}

static void test_utf8_clean(void **state)
{
	(void)state;
	assert_true(mailotp_utf8_is_clean("hello", 5));
	assert_true(mailotp_utf8_is_clean("", 0));
	assert_true(mailotp_utf8_is_clean("\xe6\x97\xa5\xe6\x9c\xac", 6));
	assert_true(mailotp_utf8_is_clean("\xc2\xa0", 2));         /* U+00A0 */
	assert_true(mailotp_utf8_is_clean("\xed\x9f\xbf", 3));     /* U+D7FF */
	assert_true(mailotp_utf8_is_clean("\xee\x80\x80", 3));     /* U+E000 */
	assert_true(mailotp_utf8_is_clean("\xf0\x90\x80\x80", 4)); /* U+10000 */
	assert_true(mailotp_utf8_is_clean("\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */

	/* Overlongs. */
	assert_false(mailotp_utf8_is_clean("\xc0\xaf", 2));
	assert_false(mailotp_utf8_is_clean("\xc1\xbf", 2));
	assert_false(mailotp_utf8_is_clean("\xe0\x80\xaf", 3));
	assert_false(mailotp_utf8_is_clean("\xe0\x9f\xbf", 3));
	assert_false(mailotp_utf8_is_clean("\xf0\x80\x80\xaf", 4));
	assert_false(mailotp_utf8_is_clean("\xf0\x8f\xbf\xbf", 4));
	/* Surrogates. */
	assert_false(mailotp_utf8_is_clean("\xed\xa0\x80", 3));
	assert_false(mailotp_utf8_is_clean("\xed\xbf\xbf", 3));
	/* Past U+10FFFF. */
	assert_false(mailotp_utf8_is_clean("\xf4\x90\x80\x80", 4));
	assert_false(mailotp_utf8_is_clean("\xf5\x80\x80\x80", 4));
	assert_false(mailotp_utf8_is_clean("\xff", 1));
	/* Broken sequences. */
	assert_false(mailotp_utf8_is_clean("\x80", 1));
	assert_false(mailotp_utf8_is_clean("\xe6\x97", 2));
	assert_false(mailotp_utf8_is_clean("\xe6\x97\xa5", 2)); /* len cuts it */
	assert_false(mailotp_utf8_is_clean("\xe6\x41\xa5", 3));
	/* Controls: C0, DEL, C1, and NUL inside the length. */
	assert_false(mailotp_utf8_is_clean("a\nb", 3));
	assert_false(mailotp_utf8_is_clean("\t", 1));
	assert_false(mailotp_utf8_is_clean("\x7f", 1));
	assert_false(mailotp_utf8_is_clean("\xc2\x80", 2));
	assert_false(mailotp_utf8_is_clean("\xc2\x9f", 2));
	assert_false(mailotp_utf8_is_clean("a\0b", 3));
}

/* Every code point, encoded by the book, is accepted exactly when it should be. */
static void test_utf8_all_code_points(void **state)
{
	unsigned char b[4];
	uint32_t cp;
	size_t n;
	bool want;

	(void)state;
	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp < 0x80) {
			b[0] = (unsigned char)cp;
			n = 1;
		} else if (cp < 0x800) {
			b[0] = (unsigned char)(0xc0 | cp >> 6);
			b[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (unsigned char)(0xe0 | cp >> 12);
			b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			b[0] = (unsigned char)(0xf0 | cp >> 18);
			b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
			b[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		want = !(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff));
		if (mailotp_utf8_is_clean((const char *)b, n) != want)
			fail_msg("U+%04X: expected %s", (unsigned)cp, want ? "clean" : "refused");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_rfc4515_examples),
	    cmocka_unit_test(test_filter_specials),
	    cmocka_unit_test(test_filter_round_trip),
	    cmocka_unit_test(test_filter_build),
	    cmocka_unit_test(test_dn_escape),
	    cmocka_unit_test(test_dn_round_trip),
	    cmocka_unit_test(test_log_escape),
	    cmocka_unit_test(test_log_truncation),
	    cmocka_unit_test(test_utf8_clean),
	    cmocka_unit_test(test_utf8_all_code_points),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
