/*
 * Logging to syslog (facility auth) and, in the foreground, to stderr.
 *
 * The state below is process-wide on purpose, as syslog's own is: it is
 * set once at start-up (mailotp_log_open) and read by every thread. The
 * level may change at run time (SIGHUP), hence atomic.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LINE_MAX_LEN 2048

static atomic_int log_level = LOG_INFO;
static atomic_bool log_stderr = false;
/* openlog() keeps the pointer, so the ident must outlive the caller's string. */
static char log_ident[64] = "mailotp";

void mailotp_log_open(const char *ident, bool also_stderr)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	openlog(log_ident, LOG_PID, LOG_AUTH);
	atomic_store(&log_stderr, also_stderr);
}

void mailotp_log_set_level(int priority)
{
	atomic_store(&log_level, LOG_PRI(priority));
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
		return "emerg";
	case LOG_ALERT:
		return "alert";
	case LOG_CRIT:
		return "crit";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

/*
 * One write() per line so that lines from several threads never
 * interleave; the loop only finishes a write that a signal or a full pipe
 * cut short.
 */
static void write_stderr(const char *msg, int prio)
{
	char line[LINE_MAX_LEN + 128];
	char stamp[40], zone[8];
	struct timespec ts;
	struct tm tm;
	size_t len, off = 0;
	ssize_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (localtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
	    strftime(zone, sizeof(zone), "%z", &tm) == 0) {
		stamp[0] = '\0';
		zone[0] = '\0';
	}
	k = snprintf(line, sizeof(line), "%s.%03ld%s %s[%ld] %s: %s\n", stamp,
	             (long)(ts.tv_nsec / 1000000), zone, log_ident, (long)getpid(), prio_name(prio),
	             msg);
	if (k < 0)
		return;
	len = (size_t)k < sizeof(line) ? (size_t)k : sizeof(line) - 1;
	if (line[len - 1] != '\n')
		line[len - 1] = '\n';
	while (off < len) {
		n = write(STDERR_FILENO, line + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)n;
	}
}

void mailotp_log(int priority, const char *fmt, ...)
{
	char msg[LINE_MAX_LEN];
	int prio = LOG_PRI(priority);
	int saved = errno;
	va_list ap;
	char *p;

	if (prio > atomic_load(&log_level))
		goto out;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/*
	 * Callers escape what users typed; this catches a line break that
	 * slipped through anyway, since a second line could forge an entry.
	 */
	for (p = msg; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
	syslog(LOG_AUTH | prio, "%s", msg);
	if (atomic_load(&log_stderr))
		write_stderr(msg, prio);
out:
	/* Logging an error must not change the errno the caller reports next. */
	errno = saved;
}
