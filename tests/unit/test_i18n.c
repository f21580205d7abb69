/*
 * The PAM texts: every id has an English and a Japanese text, both with
 * the same printf conversions in the same order (so a translation can
 * never read an argument of the wrong type), and the language choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "i18n.h"

/* The conversions of a format, e.g. "%s%d"; "%%" is not one. */
static void conversions(const char *fmt, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		while (*p != '\0' && strchr("0123456789.-+ #l", *p) != NULL)
			p++;
		if (n + 3 < len) {
			out[n++] = '%';
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static void test_every_text_in_both_languages(void **state)
{
	(void)state;
	for (int id = 0; id < MAILOTP_TXT_COUNT; id++) {
		const char *en = mailotp_text("en", id), *ja = mailotp_text("ja", id);
		char ce[32], cj[32];

		assert_non_null(en);
		assert_non_null(ja);
		assert_true(strlen(en) > 0);
		assert_true(strlen(ja) > 0);
		assert_string_not_equal(en, ja);
		conversions(en, ce, sizeof(ce));
		conversions(ja, cj, sizeof(cj));
		assert_string_equal(ce, cj);
		/* Only %s and %d are used: the arguments the callers pass. */
		for (const char *p = ce; *p != '\0'; p += 2)
			assert_true(p[1] == 's' || p[1] == 'd');
	}
}

static void test_documented_arguments(void **state)
{
	char c[32];

	(void)state;
	conversions(mailotp_text("en", MAILOTP_TXT_CODE_SENT), c, sizeof(c));
	assert_string_equal(c, "%s");
	conversions(mailotp_text("en", MAILOTP_TXT_CODE_WRONG), c, sizeof(c));
	assert_string_equal(c, "%d");
	conversions(mailotp_text("en", MAILOTP_TXT_THROTTLED), c, sizeof(c));
	assert_string_equal(c, "%d");
	conversions(mailotp_text("en", MAILOTP_TXT_NO_MAIL), c, sizeof(c));
	assert_string_equal(c, "");
}

static void test_language_choice(void **state)
{
	char buf[256];

	(void)state;
	assert_string_equal(mailotp_lang_pick("ja"), "ja");
	assert_string_equal(mailotp_lang_pick("ja-JP"), "ja");
	assert_string_equal(mailotp_lang_pick("JA"), "ja");
	assert_string_equal(mailotp_lang_pick("en"), "en");
	assert_string_equal(mailotp_lang_pick("fr"), "en");
	assert_string_equal(mailotp_lang_pick(NULL), "en");
	assert_string_equal(mailotp_lang_pick(""), "en");
	assert_string_equal(mailotp_text("fr", MAILOTP_TXT_CODE_PROMPT), "One-time code: ");
	assert_string_equal(mailotp_text("ja", MAILOTP_TXT_CODE_PROMPT), "ワンタイムパスワード: ");
	assert_string_equal(mailotp_text("en", MAILOTP_TXT_COUNT), "");
	mailotp_textf(buf, sizeof(buf), "en", MAILOTP_TXT_CODE_WRONG, 2);
	assert_string_equal(buf, "Wrong code. Tries left: 2.");
	mailotp_textf(buf, 8, "en", MAILOTP_TXT_CODE_SENT, "a***@example.org");
	assert_int_equal(strlen(buf), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_text_in_both_languages),
	    cmocka_unit_test(test_documented_arguments),
	    cmocka_unit_test(test_language_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
