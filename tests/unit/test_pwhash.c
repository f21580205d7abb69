/*
 * Tests of lib/pwhash.c: the {ARGON2} string slapd reads, verification,
 * salts, bounds, golden vectors made by libargon2 (the reference code
 * that OpenLDAP's argon2 module links), and an allocation failure.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "pwhash.h"

#define MIB (1024UL * 1024UL)

/*
 * Made with libargon2's argon2id_hash_encoded() (Debian libargon2-1,
 * through ctypes) with fixed salts, hash length 32: an implementation
 * other than libsodium agrees with ours on the encoding and the hash.
 */
static const struct {
	const char *password;
	const char *stored;
} golden[] = {
    {"Golden-Vector-9", "{ARGON2}$argon2id$v=19$m=8192,t=2,p=1$bWFpbG90cC1zYWx0LTE2Yg$"
                        "AG/sPN/ZvxOgIUjP9XFdDQxDNPti1k3QUFizOIsIzps"},
    {"パスワード金色9", "{ARGON2}$argon2id$v=19$m=4096,t=1,p=1$bWFpbG90cC1zYWx0LWpwIQ$"
                        "lX2rXCmcORRCDdbBBvwFpuTJJMX3HmuDHMSzlAhkUzg"},
};

static void test_format(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 1, 8 * MIB, &h), 0);
	assert_non_null(h);
	assert_true(strncmp(h, "{ARGON2}$argon2id$v=19$m=8192,t=1,p=1$",
	                    strlen("{ARGON2}$argon2id$v=19$m=8192,t=1,p=1$")) == 0);
	assert_true(mailotp_pwhash_is_argon2id(h));
	free(h);

	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 3, 19 * MIB, &h), 0);
	assert_true(strncmp(h, "{ARGON2}$argon2id$v=19$m=19456,t=3,p=1$",
	                    strlen("{ARGON2}$argon2id$v=19$m=19456,t=3,p=1$")) == 0);
	free(h);
}

static void test_verify(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 1, 8 * MIB, &h), 0);
	assert_int_equal(mailotp_pwhash_verify(h, "Correct-Horse-9"), 0);
	assert_int_equal(mailotp_pwhash_verify(h, "Correct-Horse-8"), MAILOTP_ERR_BAD_PASSWORD);
	assert_int_equal(mailotp_pwhash_verify(h, "correct-horse-9"), MAILOTP_ERR_BAD_PASSWORD);
	assert_int_equal(mailotp_pwhash_verify(h, ""), MAILOTP_ERR_BAD_PASSWORD);
	/* a prefix of the password is a different password */
	assert_int_equal(mailotp_pwhash_verify(h, "Correct-Horse-"), MAILOTP_ERR_BAD_PASSWORD);
	free(h);
}

static void test_japanese(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(mailotp_pwhash("さくら咲く春の日2024", 1, 8 * MIB, &h), 0);
	assert_int_equal(mailotp_pwhash_verify(h, "さくら咲く春の日2024"), 0);
	/* full-width digits are other bytes: no folding in the hash */
	assert_int_equal(mailotp_pwhash_verify(h, "さくら咲く春の日２０２４"),
	                 MAILOTP_ERR_BAD_PASSWORD);
	free(h);
}

static void test_salted(void **state)
{
	char *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(mailotp_pwhash("Same-Password-1", 1, 8 * MIB, &a), 0);
	assert_int_equal(mailotp_pwhash("Same-Password-1", 1, 8 * MIB, &b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(mailotp_pwhash_verify(a, "Same-Password-1"), 0);
	assert_int_equal(mailotp_pwhash_verify(b, "Same-Password-1"), 0);
	free(a);
	free(b);
}

static void test_golden(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		assert_true(mailotp_pwhash_is_argon2id(golden[i].stored));
		assert_int_equal(mailotp_pwhash_verify(golden[i].stored, golden[i].password), 0);
		assert_int_equal(mailotp_pwhash_verify(golden[i].stored, "Golden-Vector-8"),
		                 MAILOTP_ERR_BAD_PASSWORD);
	}
}

static void test_is_argon2id(void **state)
{
	(void)state;
	assert_true(mailotp_pwhash_is_argon2id("{ARGON2}$argon2id$v=19$m=8192,t=1,p=1$x$y"));
	/* slapd reads scheme names in any case */
	assert_true(mailotp_pwhash_is_argon2id("{argon2}$argon2id$v=19$m=8192,t=1,p=1$x$y"));
	assert_false(mailotp_pwhash_is_argon2id("{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$x$y"));
	assert_false(mailotp_pwhash_is_argon2id("{ARGON2}$argon2d$v=19$m=4096,t=3,p=1$x$y"));
	assert_false(mailotp_pwhash_is_argon2id("$argon2id$v=19$m=8192,t=1,p=1$x$y"));
	assert_false(mailotp_pwhash_is_argon2id("{SSHA}abcdefgh"));
	assert_false(mailotp_pwhash_is_argon2id("{CRYPT}$6$salt$hash"));
	assert_false(mailotp_pwhash_is_argon2id("{ARGON2}"));
	assert_false(mailotp_pwhash_is_argon2id(""));
	assert_false(mailotp_pwhash_is_argon2id(NULL));
}

static void test_hash_bounds(void **state)
{
	char pw[1026], *h = (char *)"untouched";

	(void)state;
	memset(pw, 'a', sizeof(pw));
	pw[1024] = '\0';
	assert_int_equal(mailotp_pwhash(pw, 1, 8 * MIB, &h), 0);
	assert_int_equal(mailotp_pwhash_verify(h, pw), 0);
	free(h);
	pw[1024] = 'a';
	pw[1025] = '\0';
	assert_int_equal(mailotp_pwhash(pw, 1, 8 * MIB, &h), MAILOTP_ERR_TOOBIG);
	assert_null(h);

	assert_int_equal(mailotp_pwhash("", 1, 8 * MIB, &h), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash(NULL, 1, 8 * MIB, &h), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 1, 8 * MIB, NULL), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 0, 8 * MIB, &h), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 11, 8 * MIB, &h), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 1, 8 * MIB - 1, &h),
	                 MAILOTP_ERR_INVALID);
	if (sizeof(size_t) > 4)
		assert_int_equal(
		    mailotp_pwhash("Correct-Horse-9", 1, (size_t)(4ULL * 1024 * MIB + 1), &h),
		    MAILOTP_ERR_INVALID);
	assert_null(h);
}

static void test_verify_bounds(void **state)
{
	char pw[1026], *h = NULL;

	(void)state;
	/* over our cost limits: refused before libsodium allocates anything */
	assert_int_equal(mailotp_pwhash_verify("{ARGON2}$argon2id$v=19$m=8192,t=11,p=1$"
	                                       "bWFpbG90cC1zYWx0LTE2Yg$"
	                                       "AG/sPN/ZvxOgIUjP9XFdDQxDNPti1k3QUFizOIsIzps",
	                                       "Golden-Vector-9"),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash_verify("{ARGON2}$argon2id$v=19$m=4194305,t=1,p=1$"
	                                       "bWFpbG90cC1zYWx0LTE2Yg$"
	                                       "AG/sPN/ZvxOgIUjP9XFdDQxDNPti1k3QUFizOIsIzps",
	                                       "Golden-Vector-9"),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash_verify("{ARGON2}$argon2id$v=19$m=99999999999,t=1,p=1$"
	                                       "bWFpbG90cC1zYWx0LTE2Yg$"
	                                       "AG/sPN/ZvxOgIUjP9XFdDQxDNPti1k3QUFizOIsIzps",
	                                       "Golden-Vector-9"),
	                 MAILOTP_ERR_INVALID);
	/* malformed */
	assert_int_equal(mailotp_pwhash_verify("{ARGON2}$argon2id$v=19$m=x", "a"),
	                 MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash_verify("{ARGON2}$argon2id$v=19$m=8192,t=2,p=1$!!$!!", "a"),
	                 MAILOTP_ERR_BAD_PASSWORD);
	assert_int_equal(mailotp_pwhash_verify("{SSHA}abcdefgh", "a"), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash_verify(NULL, "a"), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pwhash_verify(golden[0].stored, NULL), MAILOTP_ERR_INVALID);
	/* a too long password is simply wrong */
	assert_int_equal(mailotp_pwhash("Correct-Horse-9", 1, 8 * MIB, &h), 0);
	memset(pw, 'a', sizeof(pw));
	pw[1025] = '\0';
	assert_int_equal(mailotp_pwhash_verify(h, pw), MAILOTP_ERR_BAD_PASSWORD);
	free(h);
}

#define GATE_THREADS 3
#define GATE_MEM (32 * MIB)
#define GATE_OPS 2

static void *gate_hash(void *arg)
{
	char *h = NULL;
	int *r = arg;

	*r = mailotp_pwhash("Gate-Password-9", GATE_OPS, GATE_MEM, &h);
	if (*r == 0)
		*r = mailotp_pwhash_verify(h, "Gate-Password-9");
	free(h);
	return NULL;
}

/* Runs GATE_THREADS hash+verify pairs at once, all started before the first may begin. */
static void gate_run(void)
{
	pthread_t t[GATE_THREADS];
	int r[GATE_THREADS];

	for (int i = 0; i < GATE_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, gate_hash, &r[i]), 0);
	for (int i = 0; i < GATE_THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(r[i], 0);
	}
}

/*
 * The cap is judged by what the gate saw, not by a clock: with a cap of
 * 1 and of 2, never more computations at once than that; without a cap
 * the threads overlap (each takes tens of milliseconds at 32 MiB, and all
 * three are started together), which shows the count can rise at all.
 */
static void test_limit(void **state)
{
	(void)state;
	mailotp_pwhash_set_limit(1);
	gate_run();
	assert_int_equal(mailotp_pwhash_peak(), 1);
	mailotp_pwhash_set_limit(2);
	gate_run();
	assert_in_range(mailotp_pwhash_peak(), 1, 2);
	mailotp_pwhash_set_limit(0);
	gate_run();
	assert_true(mailotp_pwhash_peak() >= 2);
}

/* libsodium's -1 when argon2 cannot get its memory becomes MAILOTP_ERR_CRYPTO. */
#if !defined(__SANITIZE_ADDRESS__)
static void test_out_of_memory(void **state)
{
	struct rlimit rl = {256 * MIB, 256 * MIB};
	pid_t pid;
	int status = 0;

	(void)state;
	if (sizeof(size_t) <= 4)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *h = NULL;
		int r;

		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(2);
		r = mailotp_pwhash("Correct-Horse-9", 1, (size_t)1024 * MIB, &h);
		_exit(r == MAILOTP_ERR_CRYPTO && h == NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),        cmocka_unit_test(test_verify),
	    cmocka_unit_test(test_japanese),      cmocka_unit_test(test_salted),
	    cmocka_unit_test(test_golden),        cmocka_unit_test(test_is_argon2id),
	    cmocka_unit_test(test_hash_bounds),   cmocka_unit_test(test_verify_bounds),
	    cmocka_unit_test(test_limit),
#if !defined(__SANITIZE_ADDRESS__)
	    /* ASan reserves terabytes of shadow memory: no RLIMIT_AS under it
	     * (and cmocka's TAP "not ok # SKIP" would count as a failure). */
	    cmocka_unit_test(test_out_of_memory),
#endif
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
