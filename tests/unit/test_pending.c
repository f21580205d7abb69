/*
 * Tests of lib/pending.c: the codes kept between two combined logins.
 * Once used a code is gone; tries and expiry are those of the record;
 * DNs match without regard to ASCII case; a full table makes room from
 * the expired or soonest-expiring entries, never by refusing a new code.
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

#include "pending.h"

#define T0 ((time_t)1700000000)
#define DN "uid=alice,ou=people,dc=example,dc=org"

/* Puts a fresh code for dn (ttl 300 s, 3 tries at T0 + at) and returns it in code. */
static void put_code(struct mailotp_pending *p, const char *dn, char code[11], time_t at)
{
	struct mailotp_otp otp;

	assert_int_equal(mailotp_otp_new(&otp, code, 11, 6, 300, 3, T0 + at), 0);
	assert_int_equal(mailotp_pending_put(p, dn, &otp, T0 + at), 0);
	/* The caller's record is wiped: the table holds the only copy. */
	assert_int_equal(otp.tries_left, 0);
}

/* A code that is surely not `code`. */
static void other_code(const char *code, char out[11])
{
	snprintf(out, 11, "%s", code);
	out[0] = out[0] == '9' ? '0' : (char)(out[0] + 1);
}

static void test_use_once(void **state)
{
	struct mailotp_pending *p;
	char code[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(8, &p), 0);
	assert_int_equal(mailotp_pending_check(p, DN, "123456", T0, &tries), MAILOTP_ERR_NOT_FOUND);
	put_code(p, DN, code, 0);
	assert_int_equal(mailotp_pending_count(p), 1);
	assert_int_equal(mailotp_pending_check(p, DN, code, T0 + 10, &tries), 0);
	assert_int_equal(mailotp_pending_count(p), 0);
	assert_int_equal(mailotp_pending_check(p, DN, code, T0 + 11, &tries),
	                 MAILOTP_ERR_NOT_FOUND);
	mailotp_pending_free(p);
}

static void test_dn_case_and_other_accounts(void **state)
{
	struct mailotp_pending *p;
	char code[11], bob[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(8, &p), 0);
	put_code(p, DN, code, 0);
	put_code(p, "uid=bob,ou=people,dc=example,dc=org", bob, 0);
	/* Another account's code is a wrong code here. */
	if (strcmp(code, bob) != 0)
		assert_int_equal(mailotp_pending_check(p, DN, bob, T0 + 1, &tries),
		                 MAILOTP_ERR_BAD_CODE);
	assert_int_equal(
	    mailotp_pending_check(p, "UID=Alice,OU=People,DC=Example,DC=Org", code, T0 + 2, &tries),
	    0);
	assert_int_equal(
	    mailotp_pending_check(p, "uid=bob,ou=people,dc=example,dc=org", bob, T0 + 3, &tries),
	    0);
	assert_int_equal(mailotp_pending_check(p, "", code, T0, &tries), MAILOTP_ERR_INVALID);
	mailotp_pending_free(p);
}

static void test_tries_then_dead(void **state)
{
	struct mailotp_pending *p;
	char code[11], wrong[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(8, &p), 0);
	put_code(p, DN, code, 0);
	other_code(code, wrong);
	assert_int_equal(mailotp_pending_check(p, DN, wrong, T0 + 1, &tries), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(tries, 2);
	assert_int_equal(mailotp_pending_check(p, DN, wrong, T0 + 2, &tries), MAILOTP_ERR_BAD_CODE);
	assert_int_equal(tries, 1);
	assert_int_equal(mailotp_pending_check(p, DN, wrong, T0 + 3, &tries), MAILOTP_ERR_MAXTRIES);
	assert_int_equal(tries, 0);
	/* The right code after the last try is no use: the entry is gone. */
	assert_int_equal(mailotp_pending_check(p, DN, code, T0 + 4, &tries), MAILOTP_ERR_NOT_FOUND);
	mailotp_pending_free(p);
}

static void test_expiry_and_replace(void **state)
{
	struct mailotp_pending *p;
	char first[11], second[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(8, &p), 0);
	put_code(p, DN, first, 0);
	assert_int_equal(mailotp_pending_check(p, DN, first, T0 + 300, &tries),
	                 MAILOTP_ERR_EXPIRED);
	assert_int_equal(mailotp_pending_count(p), 0);
	/* A new code replaces the old one: only the newest works. */
	put_code(p, DN, first, 10);
	put_code(p, DN, second, 20);
	assert_int_equal(mailotp_pending_count(p), 1);
	if (strcmp(first, second) != 0)
		assert_int_equal(mailotp_pending_check(p, DN, first, T0 + 21, &tries),
		                 MAILOTP_ERR_BAD_CODE);
	assert_int_equal(mailotp_pending_check(p, DN, second, T0 + 22, &tries), 0);
	mailotp_pending_free(p);
}

static void test_full_table_makes_room(void **state)
{
	struct mailotp_pending *p;
	char dn[64], codes[4][11], code[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(4, &p), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(dn, sizeof(dn), "uid=u%d,dc=example", i);
		put_code(p, dn, codes[i], i); /* u0 expires first */
	}
	assert_int_equal(mailotp_pending_count(p), 4);
	put_code(p, "uid=new,dc=example", code, 5);
	assert_int_equal(mailotp_pending_count(p), 4);
	assert_int_equal(mailotp_pending_check(p, "uid=u0,dc=example", codes[0], T0 + 6, &tries),
	                 MAILOTP_ERR_NOT_FOUND);
	assert_int_equal(mailotp_pending_check(p, "uid=u1,dc=example", codes[1], T0 + 6, &tries),
	                 0);
	assert_int_equal(mailotp_pending_check(p, "uid=new,dc=example", code, T0 + 6, &tries), 0);
	/* Left: u2 (expires T0 + 302), u3 (303). Fill up again with two live ones;
	 * at T0 + 305 the newcomer takes an expired place, the live ones stay. */
	put_code(p, "uid=u1,dc=example", codes[1], 7);
	put_code(p, "uid=x,dc=example", codes[0], 8);
	assert_int_equal(mailotp_pending_count(p), 4);
	put_code(p, "uid=late,dc=example", code, 305);
	assert_int_equal(mailotp_pending_check(p, "uid=u1,dc=example", codes[1], T0 + 306, &tries),
	                 0);
	assert_int_equal(mailotp_pending_check(p, "uid=x,dc=example", codes[0], T0 + 306, &tries),
	                 0);
	assert_int_equal(mailotp_pending_check(p, "uid=late,dc=example", code, T0 + 306, &tries),
	                 0);
	mailotp_pending_free(p);
}

static void test_drop_and_bad_sizes(void **state)
{
	struct mailotp_pending *p;
	char code[11];
	int tries;

	(void)state;
	assert_int_equal(mailotp_pending_new(0, &p), MAILOTP_ERR_INVALID);
	assert_null(p);
	assert_int_equal(mailotp_pending_new(2000000, &p), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_pending_new(2, &p), 0);
	put_code(p, DN, code, 0);
	mailotp_pending_drop(p, DN);
	assert_int_equal(mailotp_pending_check(p, DN, code, T0 + 1, &tries), MAILOTP_ERR_NOT_FOUND);
	mailotp_pending_drop(p, DN); /* nothing there: no harm */
	mailotp_pending_free(p);
	mailotp_pending_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_use_once),
	    cmocka_unit_test(test_dn_case_and_other_accounts),
	    cmocka_unit_test(test_tries_then_dead),
	    cmocka_unit_test(test_expiry_and_replace),
	    cmocka_unit_test(test_full_table_makes_room),
	    cmocka_unit_test(test_drop_and_bad_sizes),
	};

	if (sodium_init() < 0) {
		fputs("Bail out! sodium_init failed\n", stdout);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
