/*
 * The socket protocol of protocol.h: building, framing, reading and
 * parsing messages.
 *
 * This file is linked into pam_mailotp.so, which may link only libc and
 * libpam: no libsodium here, so secrets are wiped with explicit_bzero(),
 * which the compiler may not elide either.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "mailotp/protocol.h"

#define FIELD_HEADER_LEN 4
#define FIELD_MAX_LEN 0xffffu
#define INITIAL_CAP 256

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int type_is_known(uint8_t type)
{
	uint8_t base = type & (uint8_t)~MAILOTP_MSG_REPLY;

	return base >= MAILOTP_MSG_AUTH_BEGIN && base <= MAILOTP_MSG_AUTH_COMBINED;
}

int mailotp_msg_init(struct mailotp_msg *m, uint8_t type)
{
	m->type = type;
	m->len = 0;
	m->cap = 0;
	m->buf = calloc(1, INITIAL_CAP);
	if (m->buf == NULL)
		return MAILOTP_ERR_NOMEM;
	m->cap = INITIAL_CAP;
	memcpy(m->buf, MAILOTP_PROTO_MAGIC, 4);
	m->buf[4] = MAILOTP_PROTO_VERSION;
	m->buf[5] = type;
	put_be16(m->buf + 6, 0);
	put_be32(m->buf + 8, 0);
	m->len = MAILOTP_PROTO_HEADER_LEN;
	return 0;
}

/* Counts the fields already in a message we built ourselves (so well formed). */
static size_t count_fields(const struct mailotp_msg *m)
{
	size_t off = MAILOTP_PROTO_HEADER_LEN;
	size_t n = 0;

	while (off + FIELD_HEADER_LEN <= m->len) {
		off += FIELD_HEADER_LEN + get_be16(m->buf + off + 2);
		n++;
	}
	return n;
}

/*
 * Grows the buffer without realloc(): realloc may leave a copy of the old
 * contents (passwords, codes) in freed memory, so copy, wipe, free.
 */
static int msg_reserve(struct mailotp_msg *m, size_t need)
{
	uint8_t *nbuf;
	size_t ncap = m->cap;

	if (need <= m->cap)
		return 0;
	if (ncap == 0)
		ncap = INITIAL_CAP;
	while (ncap < need)
		ncap *= 2;
	if ((nbuf = calloc(1, ncap)) == NULL)
		return MAILOTP_ERR_NOMEM;
	memcpy(nbuf, m->buf, m->len);
	explicit_bzero(m->buf, m->cap);
	free(m->buf);
	m->buf = nbuf;
	m->cap = ncap;
	return 0;
}

int mailotp_msg_add(struct mailotp_msg *m, uint16_t tag, const void *val, size_t len)
{
	size_t payload;
	int r;

	if (m == NULL || m->buf == NULL || m->len < MAILOTP_PROTO_HEADER_LEN ||
	    (val == NULL && len != 0))
		return MAILOTP_ERR_INVALID;
	payload = m->len - MAILOTP_PROTO_HEADER_LEN;
	if (payload > MAILOTP_PROTO_MAX_PAYLOAD || len > FIELD_MAX_LEN ||
	    len + FIELD_HEADER_LEN > MAILOTP_PROTO_MAX_PAYLOAD - payload)
		return MAILOTP_ERR_TOOBIG;
	if (count_fields(m) >= MAILOTP_PROTO_MAX_FIELDS)
		return MAILOTP_ERR_TOOBIG;
	if ((r = msg_reserve(m, m->len + FIELD_HEADER_LEN + len)) != 0)
		return r;
	put_be16(m->buf + m->len, tag);
	put_be16(m->buf + m->len + 2, (uint16_t)len);
	if (len != 0)
		memcpy(m->buf + m->len + FIELD_HEADER_LEN, val, len);
	m->len += FIELD_HEADER_LEN + len;
	put_be32(m->buf + 8, (uint32_t)(m->len - MAILOTP_PROTO_HEADER_LEN));
	return 0;
}

int mailotp_msg_add_str(struct mailotp_msg *m, uint16_t tag, const char *s)
{
	if (s == NULL)
		return 0;
	return mailotp_msg_add(m, tag, s, strlen(s));
}

int mailotp_msg_add_u32(struct mailotp_msg *m, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	put_be32(b, v);
	return mailotp_msg_add(m, tag, b, sizeof(b));
}

void mailotp_msg_clear(struct mailotp_msg *m)
{
	if (m == NULL)
		return;
	if (m->buf != NULL) {
		explicit_bzero(m->buf, m->cap);
		free(m->buf);
	}
	m->buf = NULL;
	m->len = 0;
	m->cap = 0;
	m->type = 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC: a clock step must not stretch or cut a timeout. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events or the deadline passes. Returns 0,
 * MAILOTP_ERR_TIMEOUT or MAILOTP_ERR_IO.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return MAILOTP_ERR_TIMEOUT;
		if (left > INT_MAX)
			left = INT_MAX;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MAILOTP_ERR_IO;
		}
		if (n == 0)
			return MAILOTP_ERR_TIMEOUT;
		if (pfd.revents & POLLNVAL)
			return MAILOTP_ERR_IO;
		/*
		 * POLLHUP/POLLERR: let the following recv/send report EOF or the
		 * error, which tells closed from broken.
		 */
		return 0;
	}
}

int mailotp_msg_write(int fd, const struct mailotp_msg *m, int timeout_ms)
{
	int64_t deadline;
	size_t off = 0;
	ssize_t n;
	int r;

	if (m == NULL || m->buf == NULL || m->len < MAILOTP_PROTO_HEADER_LEN || timeout_ms < 0)
		return MAILOTP_ERR_INVALID;
	deadline = now_ms() + timeout_ms;
	while (off < m->len) {
		if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
			return r;
		/* MSG_DONTWAIT: a blocking socket must not outlast the deadline. */
		n = send(fd, m->buf + off, m->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return MAILOTP_ERR_CLOSED;
			return MAILOTP_ERR_IO;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Reads exactly len bytes before the deadline. *got counts what arrived,
 * so the caller can tell EOF at a frame boundary from EOF inside a frame.
 */
static int read_full(int fd, uint8_t *buf, size_t len, int64_t deadline, size_t *got)
{
	ssize_t n;
	int r;

	*got = 0;
	while (*got < len) {
		if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
			return r;
		n = recv(fd, buf + *got, len - *got, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			if (errno == ECONNRESET)
				return MAILOTP_ERR_CLOSED;
			return MAILOTP_ERR_IO;
		}
		if (n == 0)
			return MAILOTP_ERR_CLOSED;
		*got += (size_t)n;
	}
	return 0;
}

int mailotp_msg_read(int fd, struct mailotp_msg *m, int timeout_ms)
{
	uint8_t hdr[MAILOTP_PROTO_HEADER_LEN];
	int64_t deadline;
	uint32_t plen;
	size_t got;
	int r;

	if (m == NULL)
		return MAILOTP_ERR_INVALID;
	m->type = 0;
	m->buf = NULL;
	m->len = 0;
	m->cap = 0;
	if (timeout_ms < 0)
		return MAILOTP_ERR_INVALID;
	deadline = now_ms() + timeout_ms;

	if ((r = read_full(fd, hdr, sizeof(hdr), deadline, &got)) != 0) {
		/* A peer that hangs up inside a frame sent a broken frame. */
		if (r == MAILOTP_ERR_CLOSED && got != 0)
			r = MAILOTP_ERR_PROTO;
		goto out;
	}
	if (memcmp(hdr, MAILOTP_PROTO_MAGIC, 4) != 0 || hdr[4] != MAILOTP_PROTO_VERSION ||
	    get_be16(hdr + 6) != 0 || !type_is_known(hdr[5])) {
		r = MAILOTP_ERR_PROTO;
		goto out;
	}
	plen = get_be32(hdr + 8);
	if (plen > MAILOTP_PROTO_MAX_PAYLOAD) {
		r = MAILOTP_ERR_TOOBIG;
		goto out;
	}
	/* +1 so that an empty payload still gets a real allocation. */
	if ((m->buf = calloc(1, MAILOTP_PROTO_HEADER_LEN + (size_t)plen + 1)) == NULL) {
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	m->cap = MAILOTP_PROTO_HEADER_LEN + (size_t)plen + 1;
	memcpy(m->buf, hdr, sizeof(hdr));
	m->len = MAILOTP_PROTO_HEADER_LEN;
	m->type = hdr[5];
	if ((r = read_full(fd, m->buf + MAILOTP_PROTO_HEADER_LEN, plen, deadline, &got)) != 0) {
		if (r == MAILOTP_ERR_CLOSED)
			r = MAILOTP_ERR_PROTO;
		goto out;
	}
	m->len += plen;
	r = 0;
out:
	if (r != 0)
		mailotp_msg_clear(m);
	return r;
}

int mailotp_fields_parse(const struct mailotp_msg *m, struct mailotp_fields *out)
{
	const uint8_t *p;
	size_t left, i;
	uint16_t tag, len;

	if (m == NULL || out == NULL || m->buf == NULL || m->len < MAILOTP_PROTO_HEADER_LEN)
		return MAILOTP_ERR_INVALID;
	out->n = 0;
	/* The header's length must agree with what we hold. */
	if (get_be32(m->buf + 8) != m->len - MAILOTP_PROTO_HEADER_LEN)
		return MAILOTP_ERR_PROTO;
	p = m->buf + MAILOTP_PROTO_HEADER_LEN;
	left = m->len - MAILOTP_PROTO_HEADER_LEN;
	while (left != 0) {
		if (left < FIELD_HEADER_LEN)
			goto bad;
		tag = get_be16(p);
		len = get_be16(p + 2);
		if (len > left - FIELD_HEADER_LEN)
			goto bad;
		if (out->n >= MAILOTP_PROTO_MAX_FIELDS)
			goto bad;
		for (i = 0; i < out->n; i++) {
			if (out->f[i].tag == tag)
				goto bad;
		}
		out->f[out->n].tag = tag;
		out->f[out->n].len = len;
		out->f[out->n].val = p + FIELD_HEADER_LEN;
		out->n++;
		p += FIELD_HEADER_LEN + len;
		left -= FIELD_HEADER_LEN + (size_t)len;
	}
	return 0;
bad:
	/* Leave nothing half-parsed that a careless caller could use. */
	out->n = 0;
	return MAILOTP_ERR_PROTO;
}

const struct mailotp_field *mailotp_fields_find(const struct mailotp_fields *f, uint16_t tag)
{
	size_t i;

	if (f == NULL)
		return NULL;
	for (i = 0; i < f->n && i < MAILOTP_PROTO_MAX_FIELDS; i++) {
		if (f->f[i].tag == tag)
			return &f->f[i];
	}
	return NULL;
}

int mailotp_fields_str(const struct mailotp_fields *f, uint16_t tag, int required, char **out)
{
	const struct mailotp_field *fld;
	char *s;

	if (out == NULL)
		return MAILOTP_ERR_INVALID;
	*out = NULL;
	if ((fld = mailotp_fields_find(f, tag)) == NULL)
		return required ? MAILOTP_ERR_PROTO : 0;
	if (fld->len != 0 && memchr(fld->val, '\0', fld->len) != NULL)
		return MAILOTP_ERR_PROTO;
	if ((s = malloc((size_t)fld->len + 1)) == NULL)
		return MAILOTP_ERR_NOMEM;
	if (fld->len != 0)
		memcpy(s, fld->val, fld->len);
	s[fld->len] = '\0';
	*out = s;
	return 0;
}

int mailotp_fields_u32(const struct mailotp_fields *f, uint16_t tag, uint32_t def, uint32_t *out)
{
	const struct mailotp_field *fld;

	if (out == NULL)
		return MAILOTP_ERR_INVALID;
	*out = def;
	if ((fld = mailotp_fields_find(f, tag)) == NULL)
		return 0;
	if (fld->len != 4)
		return MAILOTP_ERR_PROTO;
	*out = get_be32(fld->val);
	return 0;
}
