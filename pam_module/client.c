/* The module's side of the socket (see client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

int mailotp_client_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return MAILOTP_ERR_INVALID;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return MAILOTP_ERR_IO;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return MAILOTP_ERR_IO;
	}
	return fd;
}

void mailotp_reply_clear(struct mailotp_reply *rep)
{
	free(rep->info);
	free(rep->error);
	free(rep->prompt);
	memset(rep, 0, sizeof(*rep));
}

int mailotp_client_call(int fd, const struct mailotp_msg *m, struct mailotp_reply *rep)
{
	struct mailotp_msg in = {0};
	struct mailotp_fields f;
	int r;

	memset(rep, 0, sizeof(*rep));
	if ((r = mailotp_msg_write(fd, m, PAM_MAILOTP_REPLY_TIMEOUT_MS)) != 0)
		goto out;
	if ((r = mailotp_msg_read(fd, &in, PAM_MAILOTP_REPLY_TIMEOUT_MS)) != 0)
		goto out;
	if (in.type != (m->type | MAILOTP_MSG_REPLY) && in.type != MAILOTP_MSG_REPLY) {
		r = MAILOTP_ERR_PROTO;
		goto out;
	}
	if ((r = mailotp_fields_parse(&in, &f)) != 0 ||
	    (r = mailotp_fields_u32(&f, MAILOTP_TAG_STATUS, UINT32_MAX, &rep->status)) != 0 ||
	    (r = mailotp_fields_u32(&f, MAILOTP_TAG_REMAINING, 0, &rep->remaining)) != 0 ||
	    (r = mailotp_fields_str(&f, MAILOTP_TAG_INFO, 0, &rep->info)) != 0 ||
	    (r = mailotp_fields_str(&f, MAILOTP_TAG_ERROR, 0, &rep->error)) != 0 ||
	    (r = mailotp_fields_str(&f, MAILOTP_TAG_PROMPT, 0, &rep->prompt)) != 0)
		goto out;
	/* No status at all is a broken daemon: treat it as a denial. */
	if (mailotp_fields_find(&f, MAILOTP_TAG_STATUS) == NULL)
		r = MAILOTP_ERR_PROTO;
out:
	mailotp_msg_clear(&in);
	if (r != 0)
		mailotp_reply_clear(rep);
	return r;
}
