/*
 * Tests of resetd/sd.c, mailotpd's own side of systemd's socket
 * activation and readiness protocols: LISTEN_FDS is taken only when
 * LISTEN_PID is ours and both are plain numbers, passed fds become
 * close-on-exec, a socket is checked for what it is, and a notification
 * reaches a datagram socket at a path or an abstract name byte for byte.
 *
 * The LISTEN_FDS tests run in a child: they put sockets on fds 3 and 4,
 * which in the test process may belong to someone else (make's jobserver).
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "sd.h"

/* In a child, cmocka's asserts cannot be used: report the line and fail. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "# child: line %d: %s\n", __LINE__, #cond);                \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* Runs fn in a child process; asserts that every CHECK in it held. */
static void in_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void set_listen(const char *pid, const char *fds)
{
	if (pid != NULL)
		setenv("LISTEN_PID", pid, 1);
	else
		unsetenv("LISTEN_PID");
	if (fds != NULL)
		setenv("LISTEN_FDS", fds, 1);
	else
		unsetenv("LISTEN_FDS");
}

static void set_listen_ours(const char *fds)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	set_listen(pid, fds);
}

static bool cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

/* A listening UNIX socket, bound to a fresh abstract name by the kernel. */
static int unix_listener(int type)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	/* An address of just the family asks for autobind (unix(7)). */
	if (fd >= 0 &&
	    (bind(fd, (struct sockaddr *)&sun, sizeof(sa_family_t)) != 0 || listen(fd, 1) != 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Puts a listening UNIX stream socket on fd target, not close-on-exec, as
 * a service manager passes it. Goes through a high fd so that a socket
 * born on target itself still has its flags reset by dup2.
 */
static bool pass_on(int target)
{
	int fd = unix_listener(SOCK_STREAM), high;

	if (fd < 0)
		return false;
	high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	close(fd);
	if (high < 0 || dup2(high, target) != target)
		return false;
	close(high);
	return true;
}

static int child_nothing_passed(void)
{
	set_listen(NULL, NULL);
	CHECK(mailotpd_listen_fds() == 0);
	set_listen(NULL, "2");
	CHECK(mailotpd_listen_fds() == 0);
	/* Ours, but no count: nothing. */
	set_listen_ours(NULL);
	CHECK(mailotpd_listen_fds() == 0);
	set_listen_ours("0");
	CHECK(mailotpd_listen_fds() == 0);
	return 0;
}

static void test_listen_nothing(void **state)
{
	in_child(child_nothing_passed);
}

/* Fds 3 and 4 are open (not close-on-exec), but LISTEN_PID names our parent. */
static int child_pid_mismatch(void)
{
	char pid[32];

	CHECK(pass_on(3) && pass_on(4));
	snprintf(pid, sizeof(pid), "%ld", (long)getppid());
	set_listen(pid, "2");
	CHECK(mailotpd_listen_fds() == 0);
	CHECK(!cloexec(3) && !cloexec(4));
	return 0;
}

static void test_listen_pid_mismatch(void **state)
{
	in_child(child_pid_mismatch);
}

static int child_two_passed(void)
{
	CHECK(pass_on(3) && pass_on(4));
	close(5);
	CHECK(!cloexec(3) && !cloexec(4));
	set_listen_ours("2");
	CHECK(mailotpd_listen_fds() == 2);
	CHECK(cloexec(3) && cloexec(4));
	/* The environment is left for the second caller (the web service). */
	CHECK(getenv("LISTEN_PID") != NULL && getenv("LISTEN_FDS") != NULL);
	CHECK(mailotpd_listen_fds() == 2);
	/* A count past the fds that are open: the missing one is an error. */
	set_listen_ours("3");
	errno = 0;
	CHECK(mailotpd_listen_fds() == MAILOTP_ERR_IO && errno == EBADF);
	return 0;
}

static void test_listen_two(void **state)
{
	in_child(child_two_passed);
}

static int child_malformed(void)
{
	static const char *const bad_fds[] = {
	    "",   "2x",  "-1",         "+2",         " 2",
	    "2 ", "0x2", "2147483645", "4294967298", "99999999999999999999999999",
	};
	static const char *const bad_pid[] = {
	    "", "12a", "-1", "0", "+1", "2147483648", "99999999999999999999999999",
	};
	CHECK(pass_on(3) && pass_on(4));
	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		set_listen_ours(bad_fds[i]);
		if (mailotpd_listen_fds() != MAILOTP_ERR_INVALID) {
			fprintf(stderr, "# child: LISTEN_FDS=\"%s\" accepted\n", bad_fds[i]);
			return 1;
		}
	}
	/* The largest count is well-formed: it fails only on fd 5, not open. */
	close(5);
	set_listen_ours("2147483644");
	CHECK(mailotpd_listen_fds() == MAILOTP_ERR_IO);
	for (size_t i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++) {
		set_listen(bad_pid[i], "2");
		if (mailotpd_listen_fds() != MAILOTP_ERR_INVALID) {
			fprintf(stderr, "# child: LISTEN_PID=\"%s\" accepted\n", bad_pid[i]);
			return 1;
		}
	}
	return 0;
}

static void test_listen_malformed(void **state)
{
	in_child(child_malformed);
}

static void test_is_listening_unix(void **state)
{
	int fd = unix_listener(SOCK_STREAM);

	assert_true(fd >= 0);
	assert_true(mailotpd_is_listening_stream(fd, AF_UNSPEC));
	assert_true(mailotpd_is_listening_stream(fd, AF_UNIX));
	assert_false(mailotpd_is_listening_stream(fd, AF_INET));
	close(fd);
	/* Closed, or never an fd. */
	assert_false(mailotpd_is_listening_stream(fd, AF_UNSPEC));
	assert_false(mailotpd_is_listening_stream(-1, AF_UNSPEC));
}

static void test_is_listening_inet(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* Bound, not yet listening. */
	assert_false(mailotpd_is_listening_stream(fd, AF_UNSPEC));
	assert_int_equal(listen(fd, 1), 0);
	assert_true(mailotpd_is_listening_stream(fd, AF_UNSPEC));
	assert_true(mailotpd_is_listening_stream(fd, AF_INET));
	assert_false(mailotpd_is_listening_stream(fd, AF_UNIX));
	close(fd);
}

static void test_is_listening_not(void **state)
{
	int sp[2], p[2], dgram, seq;

	/* Connected stream sockets: not listening. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_false(mailotpd_is_listening_stream(sp[0], AF_UNSPEC));
	assert_false(mailotpd_is_listening_stream(sp[0], AF_UNIX));
	close(sp[0]);
	close(sp[1]);
	dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(dgram >= 0);
	assert_false(mailotpd_is_listening_stream(dgram, AF_UNSPEC));
	assert_false(mailotpd_is_listening_stream(dgram, AF_UNIX));
	close(dgram);
	/* Listening, but not a stream. */
	seq = unix_listener(SOCK_SEQPACKET);
	assert_true(seq >= 0);
	assert_false(mailotpd_is_listening_stream(seq, AF_UNSPEC));
	assert_false(mailotpd_is_listening_stream(seq, AF_UNIX));
	close(seq);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_false(mailotpd_is_listening_stream(p[0], AF_UNSPEC));
	assert_false(mailotpd_is_listening_stream(p[1], AF_UNSPEC));
	close(p[0]);
	close(p[1]);
}

/* Reads one pending datagram from fd into buf; its length, or -1. */
static ssize_t recv_now(int fd, char *buf, size_t len)
{
	memset(buf, 0, len);
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static void test_notify_unset(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(mailotpd_notify("READY=1"), 0);
}

static void test_notify_path(void **state)
{
	char dir[] = "/tmp/test_sd.XXXXXX";
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	setenv("NOTIFY_SOCKET", sun.sun_path, 1);

	assert_int_equal(mailotpd_notify("READY=1"), 1);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "READY=1", 7);
	/* Still set for the next notification; one datagram per call. */
	assert_string_equal(getenv("NOTIFY_SOCKET"), sun.sun_path);
	assert_int_equal(mailotpd_notify("RELOADING=1"), 1);
	assert_int_equal(mailotpd_notify("READY=1"), 1);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "RELOADING=1", 11);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), 7);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), -1);
	/* Nothing to send is an error, and sends nothing. */
	assert_int_equal(mailotpd_notify(""), MAILOTP_ERR_INVALID);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), -1);

	/* Nobody listening there any more. */
	close(fd);
	unlink(sun.sun_path);
	errno = 0;
	assert_int_equal(mailotpd_notify("READY=1"), MAILOTP_ERR_IO);
	assert_int_equal(errno, ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify_abstract(void **state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char name[64], buf[64];
	size_t len;
	int fd;

	/* "@name" in the variable, "\0name" of exactly that length on the wire. */
	len = (size_t)snprintf(name, sizeof(name), "@mailotp-test-sd-%ld", (long)getpid());
	memcpy(sun.sun_path, name, len);
	sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)),
	                 0);
	setenv("NOTIFY_SOCKET", name, 1);

	assert_int_equal(mailotpd_notify("READY=1"), 1);
	assert_int_equal(recv_now(fd, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "READY=1", 7);
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_notify_bad_address(void **state)
{
	char path[sizeof(((struct sockaddr_un *)NULL)->sun_path) + 1], longer[201];
	static const char *const bad[] = {"", "@", "notify", "./notify", "vsock:2:1234"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NOTIFY_SOCKET", bad[i], 1);
		assert_int_equal(mailotpd_notify("READY=1"), MAILOTP_ERR_INVALID);
	}
	/* 108 bytes leave no room for the NUL; 200 do not fit at all. */
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(mailotpd_notify("READY=1"), MAILOTP_ERR_INVALID);
	path[0] = '@';
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(mailotpd_notify("READY=1"), MAILOTP_ERR_INVALID);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longer, 1);
	assert_int_equal(mailotpd_notify("READY=1"), MAILOTP_ERR_INVALID);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listen_nothing),     cmocka_unit_test(test_listen_pid_mismatch),
	    cmocka_unit_test(test_listen_two),         cmocka_unit_test(test_listen_malformed),
	    cmocka_unit_test(test_is_listening_unix),  cmocka_unit_test(test_is_listening_inet),
	    cmocka_unit_test(test_is_listening_not),   cmocka_unit_test(test_notify_unset),
	    cmocka_unit_test(test_notify_path),        cmocka_unit_test(test_notify_abstract),
	    cmocka_unit_test(test_notify_bad_address),
	};

	/* The malformed cases log errors; keep them out of the system log. */
	mailotp_log_set_level(LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
