/*
 * Tests of lib/policy.c: each rule alone and together, lengths in code
 * points, the 002 examples, personal strings, the denylist file, and the
 * en/ja explanations.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "policy.h"

#define SHORT MAILOTP_POLICY_TOO_SHORT
#define LONG MAILOTP_POLICY_TOO_LONG
#define CLASSES MAILOTP_POLICY_FEW_CLASSES
#define DENY MAILOTP_POLICY_DENYLISTED
#define PERSONAL MAILOTP_POLICY_PERSONAL
#define INVALID MAILOTP_POLICY_INVALID

static char tmpdir[] = "/tmp/test_policy.XXXXXX";

static struct mailotp_config config(int min_length, int min_classes, char *denylist)
{
	struct mailotp_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.password_min_length = min_length;
	cfg.password_min_classes = min_classes;
	cfg.password_denylist = denylist;
	return cfg;
}

static struct mailotp_policy *policy(int min_length, int min_classes, char *denylist)
{
	struct mailotp_config cfg = config(min_length, min_classes, denylist);
	struct mailotp_policy *p = NULL;
	char err[256];

	assert_int_equal(mailotp_policy_new(&cfg, &p, err, sizeof(err)), 0);
	assert_non_null(p);
	return p;
}

/* The bits password fails under p with personal strings (NULL-terminated list). */
static unsigned fails_with(const struct mailotp_policy *p, const char *password,
                           const char *const *personal)
{
	unsigned failed = 0xdead;
	size_t n = 0;
	int r;

	while (personal != NULL && personal[n] != NULL)
		n++;
	r = mailotp_policy_check(p, password, personal, n, &failed);
	assert_int_equal(r, failed == 0 ? 0 : MAILOTP_ERR_POLICY);
	return failed;
}

static unsigned fails(const struct mailotp_policy *p, const char *password)
{
	return fails_with(p, password, NULL);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes data to a new file under tmpdir and returns its path (static buffer). */
static char *write_file(const char *name, const char *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* 002: at least 10 characters, at least 3 of the 4 classes. */
static void test_002_examples(void **state)
{
	struct mailotp_policy *p = policy(10, 3, NULL);

	(void)state;
	assert_int_equal(fails(p, "abcdefghij"), CLASSES);
	assert_int_equal(fails(p, "Abcdefgh12"), 0);
	assert_true(fails(p, "Abcdefghi") & SHORT);
	assert_int_equal(fails(p, "Abcdefg1!"), SHORT); /* 9, all four classes */
	assert_int_equal(fails(p, "Abcdefghij"), CLASSES);
	assert_int_equal(fails(p, "abcdefghi1"), CLASSES);
	assert_int_equal(fails(p, "abcdefgh1!"), 0);
	assert_int_equal(fails(p, "ABCDEFGH1!"), 0);
	mailotp_policy_free(p);
}

static void test_length_code_points(void **state)
{
	struct mailotp_policy *p = policy(10, 1, NULL);

	(void)state;
	/* ten characters, thirty bytes */
	assert_int_equal(strlen("さくらもちはおいしい"), 30);
	assert_int_equal(fails(p, "さくらもちはおいしい"), 0);
	/* nine characters, twenty-seven bytes: short although > 10 bytes */
	assert_int_equal(fails(p, "さくらもちはおいし"), SHORT);
	assert_int_equal(fails(p, "東京タワーAb1"), SHORT); /* 8 */
	assert_int_equal(fails(p, "東京タワーAb1!x"), 0);   /* 10 */
	assert_int_equal(fails(p, "😀😀😀😀😀😀😀😀😀"), SHORT);     /* 9 x 4 bytes */
	assert_int_equal(fails(p, "😀😀😀😀😀😀😀😀😀😀"), 0);
	assert_int_equal(fails(p, ""), SHORT | CLASSES);
	mailotp_policy_free(p);

	p = policy(12, 1, NULL);
	assert_int_equal(fails(p, "Abcdefgh12!"), SHORT);
	assert_int_equal(fails(p, "Abcdefgh12!x"), 0);
	mailotp_policy_free(p);
}

static void test_classes(void **state)
{
	struct mailotp_policy *p = policy(10, 4, NULL);

	(void)state;
	assert_int_equal(fails(p, "Abcdefgh1!"), 0);
	assert_int_equal(fails(p, "Abcdefgh1 x"), 0); /* a space is a symbol */
	assert_int_equal(fails(p, "Abcdefgh1あ"), 0); /* so is kana */
	assert_int_equal(fails(p, "Abcdefgh12"), CLASSES);
	/* full-width letters and digits are not ASCII: symbols */
	assert_int_equal(fails(p, "ＡＢＣｄｅｆ１２３ab"), CLASSES);
	mailotp_policy_free(p);

	p = policy(10, 2, NULL);
	assert_int_equal(fails(p, "ＡＢＣｄｅｆ１２３ab"), 0);
	assert_int_equal(fails(p, "かきくけこさしすせそ"), CLASSES);
	assert_int_equal(fails(p, "かきくけこさしすせそ1"), 0);
	assert_int_equal(fails(p, "1234509876"), CLASSES);
	mailotp_policy_free(p);

	p = policy(10, 1, NULL);
	assert_int_equal(fails(p, "!#%&()*+,;"), 0);
	mailotp_policy_free(p);
}

static void test_too_long(void **state)
{
	struct mailotp_policy *p = policy(10, 2, NULL);
	char pw[2048];
	size_t i;

	(void)state;
	memset(pw, 'x', sizeof(pw));
	memcpy(pw, "A1", 2);
	pw[1024] = '\0';
	assert_int_equal(fails(p, pw), 0);
	pw[1024] = 'x';
	pw[1025] = '\0';
	assert_int_equal(fails(p, pw), LONG);
	/* reported alone, even when other rules would fail too */
	memset(pw, 0x01, 2000);
	pw[2000] = '\0';
	assert_int_equal(fails(p, pw), LONG);
	/* 341 x 3 bytes + 1 = 1024 bytes is fine, one more character is not */
	for (i = 0; i < 341; i++)
		memcpy(pw + 3 * i, "あ", 3);
	memcpy(pw + 1023, "A", 2);
	assert_int_equal(strlen(pw), 1024);
	assert_int_equal(fails(p, pw), 0);
	memcpy(pw + 1023, "AB", 3);
	assert_int_equal(fails(p, pw), LONG);
	mailotp_policy_free(p);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
	    "Abcdefgh1\xC3\x28",         /* bad continuation */
	    "Abcdefgh1\xC0\xAF!",        /* overlong '/' */
	    "Abcdefgh1\xE0\x80\xAF!",    /* overlong, 3 bytes */
	    "Abcdefgh1\xED\xA0\x80!",    /* surrogate */
	    "Abcdefgh1\xF4\x90\x80\x80", /* > U+10FFFF */
	    "Abcdefgh1\xE3\x81",         /* truncated */
	    "Abcdefgh1\xFF!",            /* never valid */
	    "Abcdefgh1\x80!",            /* lone continuation */
	    "Abcdefgh1\t!",              /* C0 */
	    "Abcdefgh1\x1B[0m",          /* escape sequence */
	    "Abcdefgh1\r\n",             /* line break */
	    "Abcdefgh1\x7F!",            /* DEL */
	    "Abcdefgh1\xC2\x85!",        /* C1 NEL */
	    "\x01",                      /* also short: INVALID alone */
	};
	struct mailotp_policy *p = policy(10, 3, NULL);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fails(p, bad[i]), INVALID);
	}
	/* the largest code point and a non-BMP one are fine */
	assert_int_equal(fails(p, "Abcdefgh1\xF4\x8F\xBF\xBF"), 0);
	assert_int_equal(fails(p, "Abcdefgh1\xC2\xA0"), 0); /* NBSP: printable */
	mailotp_policy_free(p);
}

static void test_builtin(void **state)
{
	struct mailotp_policy *p = policy(10, 3, NULL);

	(void)state;
	assert_int_equal(fails(p, "password"), SHORT | CLASSES | DENY);
	assert_int_equal(fails(p, "Password1!"), DENY);
	assert_int_equal(fails(p, "PASSWORD123"), CLASSES | DENY);
	assert_int_equal(fails(p, "Password2024!"), DENY);
	assert_int_equal(fails(p, "!!Qwertyuiop99"), DENY);
	assert_int_equal(fails(p, "1234567890"), CLASSES | DENY);
	assert_int_equal(fails(p, "Sakura2024!"), DENY);
	assert_int_equal(fails(p, "Doraemon-123"), DENY);
	assert_int_equal(fails(p, "Aishiteru_2"), DENY);
	/* as a Japanese IME types it: full-width */
	assert_int_equal(fails(p, "Ｐａｓｓｗｏｒｄ１２３"), CLASSES | DENY);
	assert_int_equal(fails(p, "Ｐａｓｓｗｏｒｄ12!"), CLASSES | DENY);
	assert_int_equal(fails(p, "Ｐａｓｓｗｏｒｄ12!a"), 0);
	/* a common word inside a longer one is not the common password */
	assert_int_equal(fails(p, "MySakura-Tree7"), 0);
	assert_int_equal(fails(p, "Passwordless9!"), 0);
	assert_int_equal(fails(p, "Abcdefgh12"), 0);
	mailotp_policy_free(p);
}

static void test_personal(void **state)
{
	static const char *const taro[] = {"tyamada",   "taro.yamada@example.org", "Taro Yamada",
	                                   "山田 太郎", "ヤマダ・タロウ",          NULL};
	static const char *const li[] = {"nl", "na@example.org", "Li Na", NULL};
	static const char *const kana[] = {"はなこ", NULL};
	struct mailotp_policy *p = policy(10, 3, NULL);

	(void)state;
	assert_int_equal(fails_with(p, "Correct-Horse-9", taro), 0);
	/* the uid, in any case, anywhere */
	assert_int_equal(fails_with(p, "xTYamada-2024", taro), PERSONAL);
	/* the whole local part and each part of it */
	assert_int_equal(fails_with(p, "Taro.Yamada!99", taro), PERSONAL);
	assert_int_equal(fails_with(p, "Hello-TARO-99", taro), PERSONAL);
	assert_int_equal(fails_with(p, "99-Yamada-Go!", taro), PERSONAL);
	/* the domain is not personal */
	assert_int_equal(fails_with(p, "Example-Org-12", taro), 0);
	/* name parts in kanji and katakana: two characters are enough */
	assert_int_equal(fails_with(p, "山田のパスワード1A", taro), PERSONAL);
	assert_int_equal(fails_with(p, "Abc太郎12345", taro), PERSONAL);
	assert_int_equal(fails_with(p, "Abcタロウ1234", taro), PERSONAL);
	assert_int_equal(fails_with(p, "Abcヤマ1234x", taro), 0);
	/* full-width as typed with an IME */
	assert_int_equal(fails_with(p, "ｙａｍａｄａ2024Ab!", taro), PERSONAL);
	/* short Latin parts are not used: "Li" would refuse "Lime" */
	assert_int_equal(fails_with(p, "Lime-Juice-42", li), 0);
	assert_int_equal(fails_with(p, "Nail-Polish-42", li), 0);
	assert_int_equal(fails_with(p, "x-Li Na-Juice-42", li), PERSONAL);
	/* a kana uid */
	assert_int_equal(fails_with(p, "はなこのAbc123", kana), PERSONAL);
	mailotp_policy_free(p);
}

static void test_personal_null(void **state)
{
	const char *personal[] = {NULL, "alice", NULL};
	struct mailotp_policy *p = policy(10, 3, NULL);
	unsigned failed = 0;

	(void)state;
	assert_int_equal(mailotp_policy_check(p, "Alice-Wonder-1", personal, 3, &failed),
	                 MAILOTP_ERR_POLICY);
	assert_int_equal(failed, PERSONAL);
	assert_int_equal(mailotp_policy_check(p, "Alice-Wonder-1", NULL, 3, &failed), 0);
	assert_int_equal(failed, 0);
	mailotp_policy_free(p);
}

static void test_combined(void **state)
{
	static const char *const alice[] = {"alice", "alice@example.org", "Alice Liddell", NULL};
	struct mailotp_policy *p = policy(10, 3, NULL);

	(void)state;
	assert_int_equal(fails_with(p, "alice", alice), SHORT | CLASSES | PERSONAL);
	assert_int_equal(fails_with(p, "sakura", alice), SHORT | CLASSES | DENY);
	assert_int_equal(fails_with(p, "Liddell1", alice), SHORT | PERSONAL);
	assert_int_equal(fails_with(p, "alicepassword", alice), CLASSES | PERSONAL);
	assert_int_equal(fails_with(p, "Ab1", alice), SHORT);
	mailotp_policy_free(p);
}

static void test_denylist_file(void **state)
{
	static const char data[] = "Hunter2Hunter2\r\n"
	                           "\r\n"
	                           "\n"
	                           "   \t\n"
	                           "CorrectHorse9!\n"
	                           "correcthorse9!\n"
	                           "#Hashtag-2024\n"
	                           " Spaced Out 1 \n"
	                           "ＦｕｌｌＷｉｄｔｈ1!\n"
	                           "パスワードです1A\r\n"
	                           "LastLine-Pw1";
	struct mailotp_policy *p;
	char *path = write_file("deny.txt", data, sizeof(data) - 1);

	(void)state;
	p = policy(10, 3, path);
	assert_int_equal(mailotp_policy_denylist_size(p), 7);
	assert_int_equal(fails(p, "Hunter2Hunter2"), DENY);
	assert_int_equal(fails(p, "HUNTER2hunter2"), DENY);
	assert_int_equal(fails(p, "Hunter2Hunter3"), 0);
	assert_int_equal(fails(p, "CORRECTHORSE9!"), DENY);
	assert_int_equal(fails(p, "#hashtag-2024"), DENY);
	/* nothing but the CR and LF is trimmed */
	assert_int_equal(fails(p, " spaced out 1 "), DENY);
	assert_int_equal(fails(p, "Spaced Out 1"), 0);
	/* folded on both sides */
	assert_int_equal(fails(p, "fullwidth1!x"), 0);
	assert_int_equal(fails(p, "FullWidth1!"), DENY);
	assert_int_equal(fails(p, "ｆｕｌｌｗｉｄｔｈ１！"), CLASSES | DENY);
	assert_int_equal(fails(p, "パスワードです1a"), SHORT | DENY);
	assert_int_equal(fails(p, "lastline-pw1"), DENY);
	/* the built-in list still applies */
	assert_int_equal(fails(p, "Password1!"), DENY);
	mailotp_policy_free(p);
}

static void test_denylist_odd_lines(void **state)
{
	char data[3000], *path;
	struct mailotp_policy *p;
	size_t n = 0;

	(void)state;
	/* a line over 1024 bytes, a NUL inside a line, no final newline */
	memset(data, 'y', 1100);
	n = 1100;
	memcpy(data + n, "\nGood-Entry-1\nNul\0Inside-12\nTail-Entry-2", 40);
	n += 40;
	path = write_file("odd.txt", data, n);
	p = policy(10, 3, path);
	assert_int_equal(mailotp_policy_denylist_size(p), 2);
	assert_int_equal(fails(p, "good-entry-1"), DENY);
	assert_int_equal(fails(p, "Tail-Entry-2"), DENY);
	assert_int_equal(fails(p, "Inside-12Ab"), 0);
	mailotp_policy_free(p);

	/* an empty file is a valid, empty list */
	path = write_file("empty.txt", "", 0);
	p = policy(10, 3, path);
	assert_int_equal(mailotp_policy_denylist_size(p), 0);
	assert_int_equal(fails(p, "Correct-Horse-9"), 0);
	mailotp_policy_free(p);
}

static void test_denylist_big(void **state)
{
	char path[256], line[64];
	struct mailotp_policy *p;
	struct timespec t0, t1;
	FILE *f;
	unsigned i;
	double secs;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.txt", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < 200000; i++)
		fprintf(f, "Breached-%08u\n", (i * 2654435761u) % 1000000u);
	assert_int_equal(fclose(f), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = policy(10, 3, path);
	assert_true(mailotp_policy_denylist_size(p) > 100000);
	for (i = 0; i < 200000; i += 997) {
		snprintf(line, sizeof(line), "BREACHED-%08u", (i * 2654435761u) % 1000000u);
		assert_int_equal(fails(p, line), DENY);
	}
	assert_int_equal(fails(p, "Breached-x0000000"), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("# 200000 lines loaded and searched in %.3f s\n", secs);
	mailotp_policy_free(p);
}

static void test_denylist_missing(void **state)
{
	struct mailotp_config cfg;
	struct mailotp_policy *p = (struct mailotp_policy *)&cfg;
	char err[256], path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-list.txt", tmpdir);
	cfg = config(10, 3, path);
	assert_int_equal(mailotp_policy_new(&cfg, &p, err, sizeof(err)), MAILOTP_ERR_IO);
	assert_null(p);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));

	/* a directory opens but cannot be read */
	cfg = config(10, 3, tmpdir);
	assert_int_equal(mailotp_policy_new(&cfg, &p, err, sizeof(err)), MAILOTP_ERR_IO);
	assert_null(p);
	assert_non_null(strstr(err, tmpdir));

	if (geteuid() != 0) {
		char *unreadable = write_file("secret.txt", "x\n", 2);

		assert_int_equal(chmod(unreadable, 0), 0);
		cfg = config(10, 3, unreadable);
		assert_int_equal(mailotp_policy_new(&cfg, &p, err, sizeof(err)), MAILOTP_ERR_IO);
		assert_non_null(strstr(err, "Permission denied"));
	}
}

static void test_args(void **state)
{
	struct mailotp_config cfg = config(10, 3, NULL);
	struct mailotp_policy *p = NULL;
	unsigned failed;
	char err[64];

	(void)state;
	assert_int_equal(mailotp_policy_new(NULL, &p, err, sizeof(err)), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_policy_new(&cfg, NULL, err, sizeof(err)), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_policy_new(&cfg, &p, NULL, 0), 0);
	assert_int_equal(mailotp_policy_check(NULL, "x", NULL, 0, &failed), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_policy_check(p, NULL, NULL, 0, &failed), MAILOTP_ERR_INVALID);
	assert_int_equal(mailotp_policy_check(p, "x", NULL, 0, NULL), MAILOTP_ERR_INVALID);
	mailotp_policy_free(p);
	mailotp_policy_free(NULL);
	assert_int_equal(mailotp_policy_denylist_size(NULL), 0);
}

static const unsigned all_bits[] = {SHORT, LONG, CLASSES, DENY, PERSONAL, INVALID};

/* Every text, alone, in both languages: non-empty, no stray conversion, one sentence. */
static void test_explain_each(void **state)
{
	struct mailotp_config cfg = config(10, 3, NULL);
	char buf[512];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(all_bits) / sizeof(all_bits[0]); i++) {
		n = mailotp_policy_explain(all_bits[i], &cfg, "en", buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_true(n > 10);
		assert_null(strchr(buf, '%'));
		assert_true(buf[n - 1] == '.');
		n = mailotp_policy_explain(all_bits[i], &cfg, "ja", buf, sizeof(buf));
		assert_int_equal(n, strlen(buf));
		assert_null(strchr(buf, '%'));
		assert_string_equal(buf + n - 3, "。");
		assert_null(strstr(buf, "。 "));
	}
	assert_int_equal(mailotp_policy_explain(0, &cfg, "en", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(mailotp_policy_explain(0x1000, &cfg, "ja", buf, sizeof(buf)), 0);
}

static void test_explain_en(void **state)
{
	struct mailotp_config cfg = config(12, 4, NULL);
	char buf[1024];
	size_t n;

	(void)state;
	n = mailotp_policy_explain(SHORT | CLASSES, &cfg, "en", buf, sizeof(buf));
	assert_string_equal(buf, "Use at least 12 characters. Use at least 4 of: upper-case "
	                         "letters, lower-case letters, digits, symbols.");
	assert_int_equal(n, strlen(buf));

	cfg = config(10, 3, NULL);
	mailotp_policy_explain(SHORT, &cfg, "en-US", buf, sizeof(buf));
	assert_non_null(strstr(buf, "at least 10 characters"));
	mailotp_policy_explain(CLASSES, &cfg, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "at least 3 of: upper-case letters, lower-case letters, "
	                            "digits, symbols"));
	mailotp_policy_explain(LONG, &cfg, "en", buf, sizeof(buf));
	assert_non_null(strstr(buf, "1024"));
	/* in the order of the table, joined with one space */
	mailotp_policy_explain(DENY | PERSONAL | SHORT, &cfg, "en", buf, sizeof(buf));
	assert_true(strstr(buf, "10 characters. ") < strstr(buf, "common"));
	assert_true(strstr(buf, "common") < strstr(buf, "user name"));
	assert_null(strstr(buf, "  "));
	/* NULL cfg: the defaults */
	mailotp_policy_explain(SHORT | CLASSES, NULL, "en", buf, sizeof(buf));
	assert_non_null(strstr(buf, "at least 10 characters"));
	assert_non_null(strstr(buf, "at least 3 of"));
}

static void test_explain_ja(void **state)
{
	struct mailotp_config cfg = config(10, 3, NULL);
	char buf[1024];

	(void)state;
	mailotp_policy_explain(SHORT, &cfg, "ja", buf, sizeof(buf));
	assert_string_equal(buf, "パスワードは10文字以上にしてください。");
	mailotp_policy_explain(SHORT | CLASSES, &cfg, "ja-JP", buf, sizeof(buf));
	assert_string_equal(buf,
	                    "パスワードは10文字以上にしてください。"
	                    "英大文字・英小文字・数字・記号のうち3種類以上を組み合わせてください"
	                    "。");
	cfg = config(14, 4, NULL);
	mailotp_policy_explain(SHORT | CLASSES | DENY | PERSONAL, &cfg, "JA", buf, sizeof(buf));
	assert_non_null(strstr(buf, "14文字以上"));
	assert_non_null(strstr(buf, "4種類以上"));
	assert_non_null(strstr(buf, "推測されやすい"));
	assert_non_null(strstr(buf, "氏名"));
	mailotp_policy_explain(LONG, &cfg, "ja", buf, sizeof(buf));
	assert_non_null(strstr(buf, "1024バイト"));
	mailotp_policy_explain(INVALID, &cfg, "ja", buf, sizeof(buf));
	assert_non_null(strstr(buf, "使用できない文字"));
}

/* A short buffer: NUL-terminated, cut on a character boundary, the full length returned. */
static void test_explain_cut(void **state)
{
	struct mailotp_config cfg = config(10, 3, NULL);
	char full[1024], buf[64];
	size_t n, len, cut, k;
	const unsigned char *s;

	(void)state;
	n = mailotp_policy_explain(SHORT | CLASSES | DENY, &cfg, "ja", full, sizeof(full));
	for (len = 1; len <= n + 1 && len <= sizeof(buf); len++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(
		    mailotp_policy_explain(SHORT | CLASSES | DENY, &cfg, "ja", buf, len), n);
		cut = strlen(buf);
		assert_true(cut < len);
		assert_true(cut + 3 > len - 1); /* at most one character (3 bytes) dropped */
		assert_memory_equal(buf, full, cut);
		/* ends on a boundary: the next byte of full starts a character */
		s = (const unsigned char *)full;
		assert_true(cut == n || (s[cut] & 0xC0) != 0x80);
		for (k = 0; k < cut; k++)
			assert_true(buf[k] != 'Z');
	}
	assert_int_equal(mailotp_policy_explain(SHORT, &cfg, "en", NULL, 0),
	                 strlen("Use at least 10 characters."));
	/* once cut, a later shorter sentence is not written after the gap */
	n = mailotp_policy_explain(SHORT | PERSONAL, &cfg, "en", buf, 20);
	assert_true(n > 20);
	assert_string_equal(buf, "Use at least 10 cha");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_002_examples),
	    cmocka_unit_test(test_length_code_points),
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_builtin),
	    cmocka_unit_test(test_personal),
	    cmocka_unit_test(test_personal_null),
	    cmocka_unit_test(test_combined),
	    cmocka_unit_test(test_denylist_file),
	    cmocka_unit_test(test_denylist_odd_lines),
	    cmocka_unit_test(test_denylist_big),
	    cmocka_unit_test(test_denylist_missing),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_explain_each),
	    cmocka_unit_test(test_explain_en),
	    cmocka_unit_test(test_explain_ja),
	    cmocka_unit_test(test_explain_cut),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
