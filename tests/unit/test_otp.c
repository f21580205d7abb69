/*
 * Tests of lib/otp.c: code shape and distribution, checking, expiry,
 * tries, and address masking.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "otp.h"

#define T0 ((time_t)1700000000)

/*
 * Critical values at p = 1e-6 (upper tail), so the tests below fail
 * by chance about once in a million runs per statistic, while a real
 * bias such as `byte % 10` lands far beyond them (see the self-check).
 */
#define CHI2_DF9_P1E6 44.81
#define CHI2_DF99_P1E6 180.79
#define Z_P1E6 5.3 /* two-sided normal, p ~ 1.2e-7 */
#define Z2_P1E6 (Z_P1E6 * Z_P1E6)

static double chi2_stat(const unsigned long *counts, size_t bins, unsigned long n)
{
	double expect = (double)n / (double)bins, d, sum = 0;
	size_t i;

	for (i = 0; i < bins; i++) {
		d = (double)counts[i] - expect;
		sum += d * d / expect;
	}
	return sum;
}

static void test_code_shape(void **state)
{
	struct mailotp_otp otp;
	char code[MAILOTP_OTP_MAX_DIGITS + 1];
	int digits, i, k;

	(void)state;
	for (digits = MAILOTP_OTP_MIN_DIGITS; digits <= MAILOTP_OTP_MAX_DIGITS; digits++) {
		for (i = 0; i < 2000; i++) {
			memset(code, 'x', sizeof(code));
			assert_int_equal(
			    mailotp_otp_new(&otp, code, sizeof(code), digits, 300, 3, T0), 0);
			assert_int_equal(strlen(code), (size_t)digits);
			for (k = 0; k < digits; k++)
				assert_true(code[k] >= '0' && code[k] <= '9');
			assert_int_equal(otp.digits, digits);
			assert_int_equal(otp.tries_left, 3);
			assert_int_equal(otp.expires, T0 + 300);
		}
	}
	/* Exactly digits + 1 bytes is enough. */
	assert_int_equal(mailotp_otp_new(&otp, code, 7, 6, 300, 3, T0), 0);
	assert_int_equal(strlen(code), 6);
}

static void test_new_invalid(void **state)
{
	struct mailotp_otp otp;
	char code[16];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 5, 300, 3, T0),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 11, 300, 3, T0),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_otp_new(&otp, code, 6, 6, 300, 3, T0), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 0, 3, T0),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 0, T0),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_otp_new(NULL, code, sizeof(code), 6, 300, 3, T0),
	                 MAILOTP_ERR_INVALID);
}

/* The record keeps a keyed hash of the code, not the code. */
static void test_record_holds_hash(void **state)
{
	struct mailotp_otp otp, zero;
	char code[MAILOTP_OTP_MAX_DIGITS + 1];
	unsigned char h[32];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 10, 300, 3, T0), 0);
	assert_int_equal(crypto_generichash(h, sizeof(h), (const unsigned char *)code, 10, otp.key,
	                                    sizeof(otp.key)),
	                 0);
	assert_memory_equal(h, otp.hash, sizeof(h));
	assert_null(memmem(&otp, sizeof(otp), code, 10));

	mailotp_otp_wipe(&otp);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&otp, &zero, sizeof(otp));
	mailotp_otp_wipe(NULL);
}

static void draw_counts(unsigned long pos[6][10], unsigned long pair[100], unsigned long n)
{
	struct mailotp_otp otp;
	char code[7];
	unsigned long i;
	int k;

	for (i = 0; i < n; i++) {
		assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 3, T0), 0);
		for (k = 0; k < 6; k++)
			pos[k][code[k] - '0']++;
		pair[(code[0] - '0') * 10 + (code[1] - '0')]++;
	}
}

static void test_distribution(void **state)
{
	static unsigned long pos[6][10], pair[100];
	const unsigned long n = 200000;
	double chi2, d, z2;
	int k;

	(void)state;
	draw_counts(pos, pair, n);
	for (k = 0; k < 6; k++) {
		chi2 = chi2_stat(pos[k], 10, n);
		if (chi2 >= CHI2_DF9_P1E6)
			fail_msg("digit position %d: chi-square %.2f >= %.2f", k, chi2,
			         CHI2_DF9_P1E6);
	}
	/* Independence of neighbouring digits. */
	chi2 = chi2_stat(pair, 100, n);
	if (chi2 >= CHI2_DF99_P1E6)
		fail_msg("first two digits: chi-square %.2f >= %.2f", chi2, CHI2_DF99_P1E6);
	/* Leading zeros are kept: about 10 % of codes start with 0. */
	/* z squared, so the test needs no libm. */
	d = (double)pos[0][0] - 0.1 * (double)n;
	z2 = d * d / ((double)n * 0.1 * 0.9);
	if (z2 >= Z2_P1E6)
		fail_msg("first digit zero share %lu/%lu, z^2 = %.2f", pos[0][0], n, z2);
}

/*
 * The statistic above must have the power to see the bias the code is
 * meant to avoid: digits taken as byte % 10 over an exactly uniform byte
 * sequence (deterministic, so this cannot flake).
 */
static void test_distribution_detects_modulo_bias(void **state)
{
	unsigned long counts[10] = {0};
	unsigned long i, n = 256 * 800;

	(void)state;
	for (i = 0; i < n; i++)
		counts[(i % 256) % 10]++;
	assert_true(chi2_stat(counts, 10, n) > CHI2_DF9_P1E6);
}

static void make_wrong(const char *code, char *wrong)
{
	strcpy(wrong, code);
	wrong[2] = (char)('0' + (wrong[2] - '0' + 1) % 10);
}

static void test_check_once(void **state)
{
	struct mailotp_otp otp;
	char code[7];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 3, T0), 0);
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 10), 0);
	assert_int_equal(otp.tries_left, 0);
	/* The same right answer again is refused. */
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 11), MAILOTP_ERR_MAXTRIES);
}

static void test_check_tries(void **state)
{
	struct mailotp_otp otp;
	char code[7], wrong[7];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 3, T0), 0);
	make_wrong(code, wrong);
	assert_int_equal(mailotp_otp_check(&otp, wrong, T0 + 1), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(otp.tries_left, 2);
	assert_int_equal(mailotp_otp_check(&otp, wrong, T0 + 2), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(otp.tries_left, 1);
	assert_int_equal(mailotp_otp_check(&otp, wrong, T0 + 3), MAILOTP_ERR_MAXTRIES);
	assert_int_equal(otp.tries_left, 0);
	/* Even the right code is refused once the tries are used up. */
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 4), MAILOTP_ERR_MAXTRIES);

	/* A wrong answer, then the right one within the tries. */
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 3, T0), 0);
	make_wrong(code, wrong);
	assert_int_equal(mailotp_otp_check(&otp, wrong, T0 + 1), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 2), 0);

	/* max_tries 1: the first wrong answer ends it. */
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 1, T0), 0);
	make_wrong(code, wrong);
	assert_int_equal(mailotp_otp_check(&otp, wrong, T0 + 1), MAILOTP_ERR_MAXTRIES);
}

static void test_check_expiry(void **state)
{
	struct mailotp_otp otp;
	char code[7];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 3, T0), 0);
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 300), MAILOTP_ERR_EXPIRED);
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 301), MAILOTP_ERR_EXPIRED);
	/* An expired answer is not a wrong one: no try is used. */
	assert_int_equal(otp.tries_left, 3);
	/* One second earlier it still works. */
	assert_int_equal(mailotp_otp_check(&otp, code, T0 + 299), 0);
}

static void test_check_blanks(void **state)
{
	struct mailotp_otp otp;
	char code[9], answer[32];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 8, 300, 9, T0), 0);
	snprintf(answer, sizeof(answer), "%.4s %s", code, code + 4);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), 0);

	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 8, 300, 9, T0), 0);
	snprintf(answer, sizeof(answer), " \t%.2s %.2s\t%.2s  %s \t", code, code + 2, code + 4,
	         code + 6);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), 0);
}

static void test_check_malformed(void **state)
{
	struct mailotp_otp otp;
	char code[7], answer[32];

	(void)state;
	assert_int_equal(mailotp_otp_new(&otp, code, sizeof(code), 6, 300, 10, T0), 0);
	/* The right digits with a letter, a dash or a newline are refused. */
	snprintf(answer, sizeof(answer), "%.3sa%s", code, code + 3);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), MAILOTP_ERR_BAD_CODE);
	snprintf(answer, sizeof(answer), "%.3s-%s", code, code + 3);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), MAILOTP_ERR_BAD_CODE);
	snprintf(answer, sizeof(answer), "%s\n", code);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), MAILOTP_ERR_BAD_CODE);
	/* Too long, too short, empty. */
	snprintf(answer, sizeof(answer), "%s0", code);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), MAILOTP_ERR_BAD_CODE);
	snprintf(answer, sizeof(answer), "%.5s", code);
	assert_int_equal(mailotp_otp_check(&otp, answer, T0), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(mailotp_otp_check(&otp, "", T0), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(mailotp_otp_check(&otp, "abcdef", T0), MAILOTP_ERR_BAD_CODE);
	/* Each counted as a wrong answer. */
	assert_int_equal(otp.tries_left, 3);
	/* And the record still works. */
	assert_int_equal(mailotp_otp_check(&otp, code, T0), 0);
}

static void check_mask(const char *addr, size_t outlen, int want_r, const char *want)
{
	char out[128];

	memset(out, 'Z', sizeof(out));
	assert_int_equal(mailotp_mask_address(addr, out, outlen), want_r);
	assert_string_equal(out, want);
}

static void test_mask(void **state)
{
	(void)state;
	check_mask("alice@example.org", 64, 0, "a***@example.org");
	check_mask("a@example.org", 64, 0, "a***@example.org");
	check_mask("noat", 64, 0, "***");
	check_mask("", 64, 0, "***");
	check_mask(NULL, 64, 0, "***");
	check_mask("@example.org", 64, 0, "***@example.org");
	check_mask("\"a@b\"@example.org", 64, 0, "\"***@example.org");
	/* A multibyte first character is kept whole. */
	check_mask("\xc3\xa9mile@example.org", 64, 0, "\xc3\xa9***@example.org");
	check_mask("\xe5\xa4\xaa\xe9\x83\x8e@example.jp", 64, 0, "\xe5\xa4\xaa***@example.jp");
	/* Exact fit, then one byte short. */
	check_mask("alice@example.org", 17, 0, "a***@example.org");
	check_mask("alice@example.org", 16, MAILOTP_ERR_TOOBIG, "a***@example.or");
	check_mask("alice@example.org", 3, MAILOTP_ERR_TOOBIG, "a*");
	check_mask("alice@example.org", 1, MAILOTP_ERR_TOOBIG, "");
	/* A cut never leaves half a character. */
	check_mask("a@\xe6\x97\xa5\xe6\x9c\xac.jp", 9, MAILOTP_ERR_TOOBIG, "a***@\xe6\x97\xa5");
	check_mask("a@\xe6\x97\xa5\xe6\x9c\xac.jp", 10, MAILOTP_ERR_TOOBIG, "a***@\xe6\x97\xa5");
	check_mask("a@\xe6\x97\xa5\xe6\x9c\xac.jp", 12, MAILOTP_ERR_TOOBIG,
	           "a***@\xe6\x97\xa5\xe6\x9c\xac");
	assert_int_equal(mailotp_mask_address("a@b", NULL, 0), MAILOTP_ERR_TOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_code_shape),
	    cmocka_unit_test(test_new_invalid),
	    cmocka_unit_test(test_record_holds_hash),
	    cmocka_unit_test(test_distribution),
	    cmocka_unit_test(test_distribution_detects_modulo_bias),
	    cmocka_unit_test(test_check_once),
	    cmocka_unit_test(test_check_tries),
	    cmocka_unit_test(test_check_expiry),
	    cmocka_unit_test(test_check_blanks),
	    cmocka_unit_test(test_check_malformed),
	    cmocka_unit_test(test_mask),
	};

	if (sodium_init() < 0) {
		fputs("Bail out! sodium_init failed\n", stdout);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
