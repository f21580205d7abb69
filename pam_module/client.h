/*
 * The module's side of the socket: connect, send one request, read one
 * reply. libc only (this runs inside sshd, login, sudo and web gateways).
 */
#ifndef PAM_MAILOTP_CLIENT_H
#define PAM_MAILOTP_CLIENT_H

#include "mailotp/protocol.h"

#define PAM_MAILOTP_SOCKET "/run/mailotp/pam.sock"
/* Longest the module waits for one reply: the daemon's own limits (LDAP
 * and SMTP timeouts) are well below this. */
#define PAM_MAILOTP_REPLY_TIMEOUT_MS 60000

/* A reply, with its strings copied out (NULL when absent). */
struct mailotp_reply {
	uint32_t status;
	uint32_t remaining;
	char *info;
	char *error;
	char *prompt;
};

/* Connects to the daemon's socket. Returns the fd or a negative MAILOTP_ERR_*. */
int mailotp_client_connect(const char *path);

/*
 * Sends request m and reads the reply into *rep (free with
 * mailotp_reply_clear). A reply whose type is neither m's type | REPLY
 * nor the bare REPLY of a refusal is MAILOTP_ERR_PROTO.
 */
int mailotp_client_call(int fd, const struct mailotp_msg *m, struct mailotp_reply *rep);

void mailotp_reply_clear(struct mailotp_reply *rep);

#endif /* PAM_MAILOTP_CLIENT_H */
