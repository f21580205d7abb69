/*
 * lib/config.h: mailotp_config_read_secret, the reader of the *_file
 * secrets (LDAP bind password, SMTP password).
 *
 * Input: the whole file, written to a 0600 file in a private temporary
 * directory (the function refuses symbolic links, so no /proc/self/fd).
 *
 * Properties: accepted exactly when the file is 1..4096 bytes and, after
 * dropping one trailing LF, is non-empty without NUL, CR or LF; the
 * secret is then those bytes; a refusal gives a non-empty one-line reason.
 */
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"

static char dir[64] = "/tmp/mailotp-fuzz-secret.XXXXXX";
static char file[128];

static void cleanup(void)
{
	unlink(file);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	snprintf(file, sizeof(file), "%s/secret", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *secret = NULL, err[512];
	size_t want_len = size;
	bool want_ok;
	int fd, r;

	if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		abort();
	if (size != 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if (want_len > 0 && data[want_len - 1] == '\n')
		want_len--;
	want_ok = size <= 4096 && want_len > 0 && memchr(data, '\0', want_len) == NULL &&
	          memchr(data, '\r', want_len) == NULL && memchr(data, '\n', want_len) == NULL;
	err[0] = 'Z';
	r = mailotp_config_read_secret(file, &secret, err, sizeof(err));
	if (want_ok) {
		FUZZ_CHECK(r == 0 && secret != NULL, "good secret refused (r=%d): %s", r, err);
		FUZZ_CHECK(strlen(secret) == want_len && memcmp(secret, data, want_len) == 0,
		           "secret read wrongly");
		mailotp_secret_free(secret);
	} else {
		FUZZ_CHECK(r != 0 && secret == NULL, "bad secret accepted (size %zu)", size);
		FUZZ_CHECK(err[0] != '\0' && strpbrk(err, "\r\n") == NULL, "reason: %s", err);
	}
	return 0;
}
