/*
 * The two systemd protocols mailotpd speaks, without libsystemd:
 *
 *  - socket activation: sockets passed as fds 3, 4, ... with $LISTEN_PID
 *    and $LISTEN_FDS (sd_listen_fds(3));
 *  - readiness: one datagram such as "READY=1" to the AF_UNIX socket
 *    named by $NOTIFY_SOCKET (sd_notify(3), NOTES).
 *
 * Both are documented as stable interfaces. libsystemd would bring
 * liblzma, liblz4, libzstd, libgcrypt and libcap into an authentication
 * daemon for four small functions (the xz backdoor reached sshd through
 * libsystemd and liblzma; OpenSSH 9.8 implements sd_notify itself).
 *
 * Nothing here unsets the environment: the PAM socket and the web service
 * both read $LISTEN_FDS, and a reload sends to $NOTIFY_SOCKET again.
 */
#ifndef MAILOTPD_SD_H
#define MAILOTPD_SD_H

#include <stdbool.h>

#include "mailotp/error.h"

/* The first passed fd (SD_LISTEN_FDS_START): the n sockets are 3 .. 3+n-1. */
#define MAILOTPD_LISTEN_FDS_START 3

/*
 * How many sockets the service manager passed to this process:
 * $LISTEN_FDS, but only when $LISTEN_PID is this process's pid. Both must
 * be plain decimal numbers (digits only, no sign, no overflow); LISTEN_FDS
 * is at most INT_MAX - MAILOTPD_LISTEN_FDS_START. Sets FD_CLOEXEC on
 * every passed fd, like sd_listen_fds(0), and leaves the environment as it
 * is, so it may be called more than once.
 *
 * Returns the count (> 0), 0 when nothing was passed to this process
 * (LISTEN_PID unset or another pid, LISTEN_FDS unset or 0), or, with the
 * reason logged, MAILOTP_ERR_INVALID when LISTEN_PID or LISTEN_FDS is
 * malformed, or MAILOTP_ERR_IO (errno kept) when a passed fd is not open.
 */
int mailotpd_listen_fds(void) MAILOTP_MUST_CHECK;

/*
 * Whether fd is a listening stream socket (SOCK_STREAM, listen() called)
 * of the address family family, or of any family for AF_UNSPEC. This is
 * sd_is_socket(fd, family, SOCK_STREAM, 1), and for AF_UNIX
 * sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0). False for anything that
 * is not a socket, and for a closed fd.
 */
bool mailotpd_is_listening_stream(int fd, int family);

/*
 * Sends state (e.g. "READY=1", "RELOADING=1", "STOPPING=1"; several
 * assignments are separated by '\n') to the service manager at
 * $NOTIFY_SOCKET: an absolute path, or an abstract socket name written
 * with a leading '@'. One datagram; never raises SIGPIPE.
 *
 * Returns 1 when it was sent, 0 when NOTIFY_SOCKET is unset (not run by a
 * manager that listens), MAILOTP_ERR_INVALID when state is empty or
 * NOTIFY_SOCKET is neither of the two forms or does not fit a
 * sockaddr_un, or MAILOTP_ERR_IO (errno kept) when the socket could not
 * be created or the datagram not sent. Nothing is logged: the callers
 * have nothing better to do than carry on.
 */
int mailotpd_notify(const char *state);

#endif /* MAILOTPD_SD_H */
