/*
 * lib/policy.h: mailotp_policy_new (the password_denylist file),
 * mailotp_policy_check and mailotp_policy_explain.
 *
 * Input: byte 0: password_min_length 8..71 (low 6 bits + 8) and bit 6:
 * use a denylist; byte 1: password_min_classes 1..4 (low 2 bits + 1),
 * bits 2..7: explain buffer size (0..63 * 9 bytes); then NUL-separated:
 * the password, the denylist file (when used), the explain language and
 * up to 4 personal strings.
 *
 * Properties:
 *  - check never crashes; 0 exactly when *failed is 0, else
 *    MAILOTP_ERR_POLICY; TOO_LONG (over 1024 bytes) and INVALID (not clean
 *    UTF-8, by the reference decoder) come alone and exactly then;
 *    TOO_SHORT agrees with a code point count; a password that is a line
 *    of the denylist (of 1..1024 bytes, not blank) is DENYLISTED;
 *  - explain: NUL-terminated within len, valid UTF-8 without controls,
 *    returns the length of the whole text (equal to strlen when it fits),
 *    0 only for no known bit; the same for every 6-bit value of failed.
 */
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "policy.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || (memfd = memfd_create("denylist", MFD_CLOEXEC)) < 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void check_explain(unsigned failed, const struct mailotp_config *cfg, const char *lang,
                          size_t len)
{
	char *buf = malloc(len + 8);
	size_t need, got;

	memset(buf, 0x5a, len + 8);
	need = mailotp_policy_explain(failed, cfg, lang, len != 0 ? buf : NULL, len);
	for (size_t i = len; i < len + 8; i++)
		FUZZ_CHECK((unsigned char)buf[i] == 0x5a, "explain wrote past len %zu", len);
	FUZZ_CHECK((need == 0) == ((failed & 0x3fu) == 0), "explain of 0x%x returned %zu", failed,
	           need);
	if (len != 0) {
		FUZZ_CHECK(memchr(buf, '\0', len) != NULL, "explain: no NUL within len %zu", len);
		got = strlen(buf);
		FUZZ_CHECK(ref_utf8_clean(buf, got), "explain output not clean UTF-8 (len %zu)", len);
		if (need < len)
			FUZZ_CHECK(got == need, "explain returned %zu for %zu bytes", need, got);
		else
			FUZZ_CHECK(got < len && got <= need, "explain cut wrongly");
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailotp_config cfg;
	struct mailotp_policy *p = NULL;
	char *parts[8], *store, err[256];
	const char *pw, *deny = NULL, *lang = NULL;
	const char *personal[4];
	size_t n, k = 0, npers = 0, len, cps = 0, i, explain_len;
	unsigned failed = 0xffffffffu;
	bool use_deny;
	int r;

	if (size < 2)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.password_min_length = (data[0] & 0x3f) + 8;
	cfg.password_min_classes = (data[1] & 3) + 1;
	use_deny = data[0] & 0x40;
	explain_len = (size_t)(data[1] >> 2) * 9;
	n = fuzz_split_nul(data + 2, size - 2, parts, 8, &store);
	pw = n > k ? parts[k++] : "";
	if (use_deny)
		deny = n > k ? parts[k++] : "";
	lang = n > k ? parts[k++] : NULL;
	while (k < n && npers < 4)
		personal[npers++] = parts[k++];

	if (deny != NULL) {
		if (ftruncate(memfd, 0) != 0 ||
		    (deny[0] != '\0' && pwrite(memfd, deny, strlen(deny), 0) != (ssize_t)strlen(deny)))
			abort();
		cfg.password_denylist = path;
	}
	r = mailotp_policy_new(&cfg, &p, err, sizeof(err));
	FUZZ_CHECK(r == 0 && p != NULL, "policy_new: r=%d %s", r, err);

	r = mailotp_policy_check(p, pw, personal, npers, &failed);
	FUZZ_CHECK((r == 0 && failed == 0) || (r == MAILOTP_ERR_POLICY && failed != 0 && !(failed & ~0x3fu)),
	           "check r=%d failed=0x%x", r, failed);
	len = strlen(pw);
	if (len > 1024) {
		FUZZ_CHECK(failed == MAILOTP_POLICY_TOO_LONG, "long password: failed=0x%x", failed);
	} else if (!ref_utf8_clean(pw, len)) {
		FUZZ_CHECK(failed == MAILOTP_POLICY_INVALID, "unclean password: failed=0x%x", failed);
	} else {
		FUZZ_CHECK(!(failed & (MAILOTP_POLICY_TOO_LONG | MAILOTP_POLICY_INVALID)),
		           "clean password marked 0x%x", failed);
		for (i = 0; i < len; i++)
			cps += ((unsigned char)pw[i] & 0xc0) != 0x80;
		FUZZ_CHECK(!!(failed & MAILOTP_POLICY_TOO_SHORT) == (cps < (size_t)cfg.password_min_length),
		           "TOO_SHORT wrong for %zu code points", cps);
		if (deny != NULL && len > 0) {
			/* is pw a line of the file? */
			const char *l = deny;
			bool listed = false;

			while (*l != '\0' && !listed) {
				size_t ll = strcspn(l, "\n"), t = ll;

				if (t > 0 && l[t - 1] == '\r')
					t--;
				listed = t == len && memcmp(l, pw, len) == 0 && strspn(pw, " \t") != len;
				l += ll + (l[ll] == '\n');
			}
			if (listed)
				FUZZ_CHECK(failed & MAILOTP_POLICY_DENYLISTED, "denylisted password passed");
		}
	}
	check_explain(failed, &cfg, lang, explain_len);
	check_explain(data[0] & 0x3f, data[1] & 1 ? NULL : &cfg, lang, explain_len);
	mailotp_policy_free(p);
	free(store);
	return 0;
}
