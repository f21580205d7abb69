/*
 * Socket activation and readiness notification for mailotpd, written
 * against the documented protocols instead of linked from libsystemd
 * (see sd.h for why). The parsing is stricter than strtol: the values
 * come from the environment and decide which fds the daemon serves on.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"
#include "sd.h"

#define LISTEN_FDS_MAX (INT_MAX - MAILOTPD_LISTEN_FDS_START)

/*
 * Parses s as a decimal number in 0..max: digits only (no sign, no
 * space, not empty), checked for overflow before each step.
 */
static int parse_decimal(const char *s, long max, long *out)
{
	long v = 0;

	if (*s == '\0')
		return MAILOTP_ERR_INVALID;
	for (; *s != '\0'; s++) {
		long d = *s - '0';

		if (*s < '0' || *s > '9' || v > (max - d) / 10)
			return MAILOTP_ERR_INVALID;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static void log_malformed(const char *name, const char *value)
{
	char esc[64];

	mailotp_log(LOG_ERR, "%s=\"%s\" from the service manager is malformed", name,
	            mailotp_log_escape(value, esc, sizeof(esc)));
}

int mailotpd_listen_fds(void)
{
	const char *e;
	long pid, n;

	if ((e = getenv("LISTEN_PID")) == NULL)
		return 0;
	/* Malformed is not "for someone else": we cannot tell, so we stop. */
	if (parse_decimal(e, INT_MAX, &pid) != 0 || pid == 0) {
		log_malformed("LISTEN_PID", e);
		return MAILOTP_ERR_INVALID;
	}
	/* Inherited from a parent that was activated: not ours. */
	if (pid != (long)getpid())
		return 0;
	if ((e = getenv("LISTEN_FDS")) == NULL)
		return 0;
	if (parse_decimal(e, LISTEN_FDS_MAX, &n) != 0) {
		log_malformed("LISTEN_FDS", e);
		return MAILOTP_ERR_INVALID;
	}
	/* Ours from now on: a child we start must not inherit them. */
	for (int fd = MAILOTPD_LISTEN_FDS_START; fd < MAILOTPD_LISTEN_FDS_START + (int)n; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags < 0 ||
		    ((flags & FD_CLOEXEC) == 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)) {
			int err = errno;

			mailotp_log(LOG_ERR, "socket %d of the %ld passed (LISTEN_FDS): %s", fd, n,
			            strerror(err));
			errno = err;
			return MAILOTP_ERR_IO;
		}
	}
	return (int)n;
}

/* getsockopt of one int option; false when it fails. */
static bool sockopt_int(int fd, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	return getsockopt(fd, SOL_SOCKET, opt, v, &len) == 0 && len == sizeof(*v);
}

bool mailotpd_is_listening_stream(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat st;
	int type, listening;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (!sockopt_int(fd, SO_TYPE, &type) || type != SOCK_STREAM ||
	    !sockopt_int(fd, SO_ACCEPTCONN, &listening) || listening == 0)
		return false;
	if (family == AF_UNSPEC)
		return true;
	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    len < offsetof(struct sockaddr_storage, ss_family) + sizeof(ss.ss_family))
		return false;
	return ss.ss_family == family;
}

int mailotpd_notify(const char *state)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *e;
	size_t len, state_len;
	ssize_t n;
	int fd, err;

	if (state == NULL || (state_len = strlen(state)) == 0)
		return MAILOTP_ERR_INVALID;
	if ((e = getenv("NOTIFY_SOCKET")) == NULL)
		return 0;
	len = strlen(e);
	/* Room for the path's NUL; an abstract name needs none but is held to the same. */
	if ((e[0] != '/' && e[0] != '@') || len < 2 || len >= sizeof(sun.sun_path))
		return MAILOTP_ERR_INVALID;
	memcpy(sun.sun_path, e, len);
	/* "@name" is the abstract "\0name": its length, not a NUL, ends it. */
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return MAILOTP_ERR_IO;
	do
		n = sendto(fd, state, state_len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
		           (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : EIO; /* a datagram goes whole or not at all */
	close(fd);
	if (n != (ssize_t)state_len) {
		errno = err;
		return MAILOTP_ERR_IO;
	}
	return 1;
}
