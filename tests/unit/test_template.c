/*
 * Unit tests for lib/template.c: the shipped templates load and render in
 * both languages; broken templates in a temporary directory are refused
 * with the file (and line) named; values cannot add lines.
 */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"

static const char *const names[] = {MAILOTP_TMPL_OTP, MAILOTP_TMPL_RESET_LINK,
                                    MAILOTP_TMPL_RESET_TEMPORARY, MAILOTP_TMPL_INVITE,
                                    MAILOTP_TMPL_PASSWORD_CHANGED};

/* The secret each template carries, alone on a line (NULL: none). */
static const char *const secret_of[] = {"code", "url", "password", "url", NULL};

static const struct mailotp_tvar all_vars[] = {
    {"code", "482913"},
    {"url", "https://reset.example.jp/reset?token=TOKEN123"},
    {"password", "Tmp-Pass-9x7"},
    {"minutes", "60"},
    {"hours", "168"},
    {"user", "taro"},
    {"name", "山田 太郎"},
    {"service", "sshd"},
    {"rhost", "192.0.2.7"},
    {"time", "2024-04-01 09:00 UTC"},
};
#define NVARS (sizeof(all_vars) / sizeof(all_vars[0]))

static const char *secret_value(const char *var)
{
	size_t i;

	for (i = 0; i < NVARS; i++)
		if (strcmp(all_vars[i].name, var) == 0)
			return all_vars[i].value;
	return NULL;
}

static char *examples_dir(void)
{
	static char dir[4096];
	const char *top = getenv("top_srcdir");

	/* No fallback: a test that silently loads nothing could never fail. */
	if (top == NULL)
		fail_msg("top_srcdir is not set (run through make check)");
	snprintf(dir, sizeof(dir), "%s/examples/templates", top);
	return dir;
}

static void test_examples_render(void **state)
{
	static const char *const langs[] = {"en", "ja"};
	struct mailotp_templates *t = NULL;
	char err[512], line[256];
	char *subject = NULL, *body = NULL;
	size_t i, j;

	(void)state;
	if (mailotp_templates_load(examples_dir(), &t, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			assert_int_equal(mailotp_template_render(t, langs[i], names[j], all_vars,
			                                         NVARS, &subject, &body),
			                 0);
			assert_true(strlen(subject) > 0);
			assert_null(strchr(subject, '\n'));
			assert_null(strstr(subject, "{{"));
			assert_null(strstr(body, "{{"));
			assert_non_null(strstr(body, "山田 太郎"));
			if (secret_of[j] != NULL) {
				/* The secret alone on its own line. */
				snprintf(line, sizeof(line), "\n%s\n", secret_value(secret_of[j]));
				if (strstr(body, line) == NULL)
					fail_msg("%s/%s: secret not alone on a line", langs[i],
					         names[j]);
			} else {
				/* The notice never carries a secret. */
				assert_null(strstr(body, "482913"));
				assert_null(strstr(body, "TOKEN123"));
				assert_null(strstr(body, "Tmp-Pass-9x7"));
				assert_non_null(strstr(body, "2024-04-01 09:00 UTC"));
				assert_non_null(strstr(body, i == 0 ? "administrator" : "管理者"));
			}
			free(subject);
			free(body);
		}
	}
	/* The Japanese subjects the seeds use. */
	assert_int_equal(mailotp_template_render(t, "ja", "otp", all_vars, NVARS, &subject, &body),
	                 0);
	assert_string_equal(subject, "ワンタイムパスワードのお知らせ");
	assert_non_null(strstr(body, "60分"));
	free(subject);
	free(body);
	assert_int_equal(
	    mailotp_template_render(t, "ja", "invite", all_vars, NVARS, &subject, &body), 0);
	assert_string_equal(subject, "アカウント発行のお知らせ");
	assert_non_null(strstr(body, "168時間"));
	free(subject);
	free(body);
	assert_int_equal(mailotp_template_render(t, "ja", "reset_link", NULL, 0, &subject, &body),
	                 0);
	assert_string_equal(subject, "パスワードリセットのご案内");
	free(subject);
	free(body);
	assert_int_equal(
	    mailotp_template_render(t, "ja", "reset_temporary", NULL, 0, &subject, &body), 0);
	assert_string_equal(subject, "パスワード再発行のお知らせ");
	free(subject);
	free(body);
	assert_int_equal(
	    mailotp_template_render(t, "ja", "password_changed", NULL, 0, &subject, &body), 0);
	assert_string_equal(subject, "パスワード変更完了のお知らせ");
	free(subject);
	free(body);
	mailotp_templates_free(t);
}

/* A temporary directory of minimal valid templates; tests then break one file. */
static char tmpdir[256];

static void write_file(const char *lang, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s.txt", tmpdir, lang, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
}

static void write_valid(const char *lang, size_t j)
{
	char content[256];

	snprintf(content, sizeof(content),
	         "Subject: subject of %s for {{user}}\n\nHello {{name}},\n\n%s%s%sbye\n", names[j],
	         secret_of[j] != NULL ? "{{" : "", secret_of[j] != NULL ? secret_of[j] : "",
	         secret_of[j] != NULL ? "}}\n" : "");
	write_file(lang, names[j], content);
}

static int setup_tmp(void **state)
{
	char sub[300];
	size_t j;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_template.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/en", tmpdir);
	if (mkdir(sub, 0700) != 0)
		return -1;
	snprintf(sub, sizeof(sub), "%s/ja", tmpdir);
	if (mkdir(sub, 0700) != 0)
		return -1;
	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		write_valid("en", j);
		write_valid("ja", j);
	}
	return 0;
}

static int teardown_tmp(void **state)
{
	char path[512];
	size_t j;

	(void)state;
	for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
		snprintf(path, sizeof(path), "%s/en/%s.txt", tmpdir, names[j]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/ja/%s.txt", tmpdir, names[j]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/en", tmpdir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/ja", tmpdir);
	rmdir(path);
	rmdir(tmpdir);
	return 0;
}

/* Loads tmpdir expecting failure; err must hold every one of the needles. */
static void expect_error(const char *needle1, const char *needle2)
{
	struct mailotp_templates *t = NULL;
	char err[512];

	assert_int_equal(mailotp_templates_load(tmpdir, &t, err, sizeof(err)),
	                 MAILOTP_ERR_TEMPLATE);
	assert_null(t);
	if (strstr(err, needle1) == NULL || (needle2 != NULL && strstr(err, needle2) == NULL))
		fail_msg("error \"%s\" lacks \"%s\" / \"%s\"", err, needle1,
		         needle2 != NULL ? needle2 : "");
}

static void test_tmp_valid(void **state)
{
	struct mailotp_templates *t = NULL;
	char err[512], *subject = NULL, *body = NULL;

	(void)state;
	if (mailotp_templates_load(tmpdir, &t, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	/* Unknown languages fall back to English; ja-JP is Japanese. */
	assert_int_equal(mailotp_template_render(t, "fr", "otp", all_vars, NVARS, &subject, &body),
	                 0);
	assert_string_equal(subject, "subject of otp for taro");
	assert_string_equal(body, "Hello 山田 太郎,\n\n482913\nbye\n");
	free(subject);
	free(body);
	assert_int_equal(mailotp_template_render(t, NULL, "otp", NULL, 0, &subject, &body), 0);
	/* Missing values render empty. */
	assert_string_equal(subject, "subject of otp for ");
	assert_string_equal(body, "Hello ,\n\n\nbye\n");
	free(subject);
	free(body);
	assert_int_equal(mailotp_template_render(t, "nope", "no_such", NULL, 0, &subject, &body),
	                 MAILOTP_ERR_TEMPLATE);
	assert_null(subject);
	assert_null(body);
	mailotp_templates_free(t);
	mailotp_templates_free(NULL);
}

static void test_tmp_language(void **state)
{
	struct mailotp_templates *t = NULL;
	char err[512], *subject = NULL, *body = NULL;

	(void)state;
	write_file("ja", "otp", "Subject: ワンタイムパスワードのお知らせ\n\n{{code}}\n");
	if (mailotp_templates_load(tmpdir, &t, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(
	    mailotp_template_render(t, "ja-JP", "otp", all_vars, NVARS, &subject, &body), 0);
	assert_string_equal(subject, "ワンタイムパスワードのお知らせ");
	free(subject);
	free(body);
	assert_int_equal(mailotp_template_render(t, "en", "otp", all_vars, NVARS, &subject, &body),
	                 0);
	assert_string_equal(subject, "subject of otp for taro");
	free(subject);
	free(body);
	mailotp_templates_free(t);
}

static void test_tmp_flatten(void **state)
{
	static const struct mailotp_tvar vars[] = {
	    {"user", "taro\r\nBcc: evil@example.org"},
	    {"name", "Evil\nX-Header: 1\t\x1b[31m\xc2\x85\xff"},
	    {"code", "123456"},
	};
	struct mailotp_templates *t = NULL;
	char err[512], *subject = NULL, *body = NULL;

	(void)state;
	if (mailotp_templates_load(tmpdir, &t, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	assert_int_equal(mailotp_template_render(t, "en", "otp", vars, 3, &subject, &body), 0);
	assert_string_equal(subject, "subject of otp for taro  Bcc: evil@example.org");
	assert_string_equal(body, "Hello Evil X-Header: 1  [31m  ?,\n\n123456\nbye\n");
	free(subject);
	free(body);
	mailotp_templates_free(t);
}

static void test_err_unknown_placeholder(void **state)
{
	(void)state;
	write_file("ja", "otp", "Subject: s\n\nline\n{{code}}\n{{password}}\n");
	expect_error("/ja/otp.txt:5:", "{{password}}");
}

static void test_err_lone_braces(void **state)
{
	(void)state;
	write_file("en", "invite", "Subject: s\n\n{{url}}\nsee {{ here\n");
	expect_error("/en/invite.txt:4:", "'{{'");
}

static void test_err_malformed(void **state)
{
	(void)state;
	write_file("en", "invite", "Subject: s\n\n{{url}}\n{{ url }}\n");
	expect_error("/en/invite.txt:4:", "malformed");
}

static void test_err_no_subject(void **state)
{
	(void)state;
	write_file("en", "password_changed", "Hello\n\nbody\n");
	expect_error("/en/password_changed.txt:1:", "Subject");
}

static void test_err_empty_subject(void **state)
{
	(void)state;
	write_file("en", "password_changed", "Subject:   \n\nbody\n");
	expect_error("/en/password_changed.txt:1:", "empty");
}

static void test_err_no_blank_line(void **state)
{
	(void)state;
	write_file("ja", "reset_link", "Subject: s\n{{url}}\n");
	expect_error("/ja/reset_link.txt:2:", "blank");
}

static void test_err_invalid_utf8(void **state)
{
	(void)state;
	write_file("ja", "reset_temporary", "Subject: s\n\n{{password}}\nbad \xe3\x81 byte\n");
	expect_error("/ja/reset_temporary.txt:4:", "UTF-8");
	write_file("ja", "reset_temporary", "Subject: \xff\n\n{{password}}\n");
	expect_error("/ja/reset_temporary.txt:1:", "UTF-8");
}

static void test_err_secret_placement(void **state)
{
	(void)state;
	write_file("en", "otp", "Subject: s\n\nYour code is {{code}}\n");
	expect_error("/en/otp.txt:3:", "alone");
	write_file("en", "otp", "Subject: code {{code}}\n\n{{code}}\n");
	expect_error("/en/otp.txt:1:", "alone");
	write_file("en", "otp", "Subject: s\n\nno code here\n");
	expect_error("/en/otp.txt", "{{code}}");
}

static void test_err_missing_file(void **state)
{
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/ja/invite.txt", tmpdir);
	assert_int_equal(unlink(path), 0);
	expect_error("/ja/invite.txt", "cannot open");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_render),
	    cmocka_unit_test_setup_teardown(test_tmp_valid, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_tmp_language, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_tmp_flatten, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_unknown_placeholder, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_lone_braces, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_malformed, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_no_subject, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_empty_subject, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_no_blank_line, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_invalid_utf8, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_secret_placement, setup_tmp, teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_err_missing_file, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
