/*
 * The PAM socket: accepts connections from pam_mailotp.so, checks the
 * caller with SO_PEERCRED against pam_allow, and serves each connection
 * in its own thread (so one slow directory or mail server never stalls
 * another login), at most pam_max_clients at once.
 */
#ifndef MAILOTPD_PAM_SERVER_H
#define MAILOTPD_PAM_SERVER_H

#include <stdbool.h>

#include "mailotp/error.h"

/*
 * Creates, binds and listens on the UNIX socket at path (a stale socket
 * file is replaced; anything else at path is an error). The socket is
 * mode 0666: who may talk is decided by SO_PEERCRED, not by the mode.
 * Returns the fd, or a negative MAILOTP_ERR_* with the reason logged.
 */
int mailotpd_pam_listen(const char *path);

/* Starts the accept thread on fd. Returns 0 or an error. */
int mailotpd_pam_start(int fd) MAILOTP_MUST_CHECK;

/*
 * Stops accepting, lets every request in flight finish (a login waiting
 * for the user's next answer is ended), and returns when no connection
 * thread is left or after timeout_s seconds.
 */
void mailotpd_pam_stop(int timeout_s);

#endif /* MAILOTPD_PAM_SERVER_H */
