/*
 * Logging for the daemon and the CLI: syslog (facility auth) and, in the
 * foreground, stderr. One line per decision. Callers pass untrusted strings
 * through mailotp_log_escape() (escape.h) first; secrets are never passed.
 */
#ifndef MAILOTP_LOG_H
#define MAILOTP_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Opens syslog as ident; also_stderr copies every line to stderr. */
void mailotp_log_open(const char *ident, bool also_stderr);

/* Sets the lowest priority that is logged (default LOG_INFO). */
void mailotp_log_set_level(int priority);

/* Logs one line at priority (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). */
void mailotp_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* MAILOTP_LOG_H */
