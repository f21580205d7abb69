/*
 * smtp_url's form (mailotp_smtp_url_valid): what mailotp.conf accepts is
 * exactly what the SMTP client can connect to. The conversation itself
 * is tested against real servers in tests/smtp_client.sh.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

static void test_url_good(void **state)
{
	static const char *const good[] = {
	    "smtp://127.0.0.1:25",
	    "smtp://127.0.0.1",
	    "smtps://mail.example.org",
	    "smtps://mail.example.org:465",
	    "SMTP://Mail.Example.ORG:587",
	    "smtp://[::1]:2525",
	    "smtp://[::1]",
	    "smtp://[2001:db8::25]:25/mailotp.example.org",
	    "smtp://relay:25/host-1.example.org",
	    "smtp://relay:25/",
	    "smtp://mail_relay.internal:65535",
	};
	char why[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why[0] = '\0';
		if (!mailotp_smtp_url_valid(good[i], why, sizeof(why)))
			fail_msg("refused %s: %s", good[i], why);
	}
}

static void test_url_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "http://mail.example.org",
	    "smtp:/mail.example.org",
	    "smtp://",
	    "smtp://:25",
	    "smtp:///x",
	    "smtp://mail.example.org:",
	    "smtp://mail.example.org:0",
	    "smtp://mail.example.org:65536",
	    "smtp://mail.example.org:123456",
	    "smtp://mail.example.org:25x",
	    "smtp://mail.example.org:-1",
	    "smtp://user@mail.example.org",
	    "smtp://user:pw@mail.example.org",
	    "smtp://mail.example.org?x=1",
	    "smtp://mail.example.org#f",
	    "smtp://mail.example.org/has space",
	    "smtp://mail.example.org/a\r\nQUIT",
	    "smtp://mail.example.org/a/b",
	    "smtp://[::1",
	    "smtp://[::1]x",
	    "smtp://[zz::1]:25",
	    "smtp://[127.0.0.1]:25",
	    "smtp://ma il.example.org",
	    "smtp://mail.example.org\n",
	    "smtp://m\xc3\xa4il.example.org",
	};
	char why[200];
	size_t i;

	(void)state;
	assert_false(mailotp_smtp_url_valid(NULL, why, sizeof(why)));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (mailotp_smtp_url_valid(bad[i], why, sizeof(why)))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(why, "smtp://"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_good),
	    cmocka_unit_test(test_url_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
