/*
 * TCP and TLS for the SMTP client. The socket is non-blocking and every
 * wait is a poll() bounded by the caller's deadline, so a silent server
 * costs at most the time the caller allowed; the same holds inside the
 * TLS handshake and records (GnuTLS on the non-blocking socket returns
 * GNUTLS_E_AGAIN, and gnutls_record_get_direction() says what to wait for).
 *
 * GnuTLS is the TLS library libldap already loads, so LDAP and SMTP share
 * one TLS stack and the system-wide settings (/etc/gnutls/config) through
 * gnutls_set_default_priority_append(), which here also removes the
 * protocol versions before TLS 1.2 (RFC 8996).
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "netconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define RBUF 4096

/*
 * Trust stores, shared by every connection that uses the same CA file
 * (loading the system store parses a few hundred certificates). A changed
 * file (another inode, size or mtime) makes a new entry, so a renewed CA
 * file is picked up by the next connection; the old entry is freed when
 * its last connection closes.
 */
struct creds {
	gnutls_certificate_credentials_t x;
	char *ca_file; /* NULL: system trust */
	struct stat st;
	unsigned refs;
	bool current;
};

struct mailotp_conn {
	int fd;
	gnutls_session_t tls; /* NULL until start_tls */
	bool tls_up;          /* its handshake finished */
	struct creds *creds;
	bool loopback;
	char host[256];
	size_t rpos, rlen;
	char rbuf[RBUF];
};

static pthread_mutex_t creds_mu = PTHREAD_MUTEX_INITIALIZER;
static struct creds *creds_cur;

int64_t mailotp_conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void creds_free(struct creds *k)
{
	if (k == NULL)
		return;
	if (k->x != NULL)
		gnutls_certificate_free_credentials(k->x);
	free(k->ca_file);
	free(k);
}

static bool creds_same(const struct creds *k, const char *ca_file, const struct stat *st)
{
	if (k == NULL || (k->ca_file == NULL) != (ca_file == NULL))
		return false;
	if (ca_file == NULL)
		return true;
	return strcmp(k->ca_file, ca_file) == 0 && k->st.st_dev == st->st_dev &&
	       k->st.st_ino == st->st_ino && k->st.st_size == st->st_size &&
	       k->st.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       k->st.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

static int creds_get(const char *ca_file, struct creds **out, char *err, size_t errlen)
{
	struct stat st;
	struct creds *k = NULL, *old = NULL;
	int n, r = MAILOTP_ERR_NOMEM;

	memset(&st, 0, sizeof(st));
	if (ca_file != NULL && stat(ca_file, &st) != 0) {
		mailotp_errf(err, errlen, "smtp_ca_file %s: %s", ca_file, strerror(errno));
		return MAILOTP_ERR_CONFIG;
	}
	pthread_mutex_lock(&creds_mu);
	if (creds_same(creds_cur, ca_file, &st)) {
		creds_cur->refs++;
		*out = creds_cur;
		pthread_mutex_unlock(&creds_mu);
		return 0;
	}
	pthread_mutex_unlock(&creds_mu);

	/* Loaded outside the lock: other connections need not wait for the parse. */
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto fail;
	if (ca_file != NULL && (k->ca_file = strdup(ca_file)) == NULL)
		goto fail;
	k->st = st;
	if (gnutls_certificate_allocate_credentials(&k->x) != GNUTLS_E_SUCCESS) {
		k->x = NULL;
		goto fail;
	}
	r = MAILOTP_ERR_CONFIG;
	if (ca_file != NULL) {
		n = gnutls_certificate_set_x509_trust_file(k->x, ca_file, GNUTLS_X509_FMT_PEM);
		if (n <= 0) {
			mailotp_errf(err, errlen, "smtp_ca_file %s: %s", ca_file,
			             n < 0 ? gnutls_strerror(n) : "no certificate in it");
			goto fail;
		}
	} else {
		n = gnutls_certificate_set_x509_system_trust(k->x);
		if (n <= 0) {
			mailotp_errf(err, errlen,
			             "no system CA certificates (%s); set smtp_ca_file",
			             n < 0 ? gnutls_strerror(n) : "none found");
			goto fail;
		}
	}
	k->refs = 1;
	k->current = true;
	pthread_mutex_lock(&creds_mu);
	if (creds_cur != NULL) {
		creds_cur->current = false;
		if (creds_cur->refs == 0)
			old = creds_cur;
	}
	creds_cur = k;
	pthread_mutex_unlock(&creds_mu);
	creds_free(old);
	*out = k;
	return 0;
fail:
	if (r == MAILOTP_ERR_NOMEM)
		mailotp_errf(err, errlen, "TLS: out of memory");
	creds_free(k);
	return r;
}

static void creds_put(struct creds *k)
{
	bool gone;

	if (k == NULL)
		return;
	pthread_mutex_lock(&creds_mu);
	k->refs--;
	gone = k->refs == 0 && !k->current;
	pthread_mutex_unlock(&creds_mu);
	if (gone)
		creds_free(k);
}

/* Waits until fd is ready for events, calling tick meanwhile. */
static int wait_fd(struct mailotp_conn *c, short events, int64_t deadline,
                   const struct mailotp_conn_tick *tick, char *err, size_t errlen)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if (tick != NULL && tick->fn != NULL)
			tick->fn(tick->arg);
		if ((left = deadline - mailotp_conn_now_ms()) <= 0) {
			mailotp_errf(err, errlen, "%s: timed out", c->host);
			return MAILOTP_ERR_TIMEOUT;
		}
		if (tick != NULL && tick->fn != NULL && left > MAILOTP_CONN_TICK_MS)
			left = MAILOTP_CONN_TICK_MS;
		p.fd = c->fd;
		p.events = events;
		p.revents = 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			mailotp_errf(err, errlen, "%s: poll: %s", c->host, strerror(errno));
			return MAILOTP_ERR_IO;
		}
	}
}

static bool addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* One address: a non-blocking connect, finished by poll. */
static int connect_one(struct mailotp_conn *c, const struct addrinfo *ai, int64_t deadline,
                       char *err, size_t errlen)
{
	int fd, e = 0, one = 1, r;
	socklen_t elen = sizeof(e);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		mailotp_errf(err, errlen, "%s: socket: %s", c->host, strerror(errno));
		return MAILOTP_ERR_IO;
	}
	c->fd = fd;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto refused;
		}
		if ((r = wait_fd(c, POLLOUT, deadline, NULL, err, errlen)) != 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
			e = errno;
		if (e != 0)
			goto refused;
	}
	/* Commands go out as whole lines or groups: no reason to wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->loopback = addr_loopback(ai->ai_addr);
	return 0;
refused:
	mailotp_errf(err, errlen, "%s: connect: %s", c->host, strerror(e));
	r = MAILOTP_ERR_IO;
fail:
	close(fd);
	c->fd = -1;
	return r;
}

int mailotp_conn_open(const char *host, const char *port, int64_t deadline,
                      struct mailotp_conn **out, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct mailotp_conn *c;
	int g, r;

	*out = NULL;
	if (host == NULL || port == NULL || strlen(host) >= sizeof(c->host)) {
		mailotp_errf(err, errlen, "no usable host name");
		return MAILOTP_ERR_INVALID;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		mailotp_errf(err, errlen, "out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	c->fd = -1;
	snprintf(c->host, sizeof(c->host), "%s", host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((g = getaddrinfo(host, port, &hints, &res)) != 0) {
		mailotp_errf(err, errlen, "%s: cannot resolve: %s", host,
		             g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		r = MAILOTP_ERR_IO;
		goto fail;
	}
	r = MAILOTP_ERR_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((r = connect_one(c, ai, deadline, err, errlen)) == 0 ||
		    r == MAILOTP_ERR_TIMEOUT)
			break;
	}
	freeaddrinfo(res);
	if (r != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	mailotp_conn_free(c);
	return r;
}

/*
 * After a GnuTLS call returned g < 0: a fatal error becomes the reason;
 * GNUTLS_E_AGAIN waits for what the session needs (read or write) and
 * returns 0, as does any other non-fatal result, so the caller repeats the
 * call.
 */
static int tls_again(struct mailotp_conn *c, int g, const char *what, int64_t deadline,
                     const struct mailotp_conn_tick *tick, char *err, size_t errlen)
{
	if (gnutls_error_is_fatal(g)) {
		mailotp_errf(err, errlen, "%s: TLS %s: %s", c->host, what, gnutls_strerror(g));
		return MAILOTP_ERR_IO;
	}
	if (g != GNUTLS_E_AGAIN)
		return 0;
	return wait_fd(c, gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN, deadline, tick,
	               err, errlen);
}

/* Turns a failed handshake into a reason, the certificate's problem spelt out. */
static void tls_reason(struct mailotp_conn *c, int g, char *err, size_t errlen)
{
	gnutls_datum_t out = {NULL, 0};
	unsigned status;

	if (g == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		status = gnutls_session_get_verify_cert_status(c->tls);
		if (gnutls_certificate_verification_status_print(
		        status, gnutls_certificate_type_get(c->tls), &out, 0) == 0 &&
		    out.data != NULL) {
			size_t n = strlen((const char *)out.data);

			/* GnuTLS ends its text with ". ". */
			while (n > 0 && (out.data[n - 1] == ' ' || out.data[n - 1] == '.'))
				out.data[--n] = '\0';
			mailotp_errf(err, errlen, "%s: TLS: certificate not trusted: %s", c->host,
			             (const char *)out.data);
			gnutls_free(out.data);
			return;
		}
	}
	mailotp_errf(err, errlen, "%s: TLS handshake: %s", c->host, gnutls_strerror(g));
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int mailotp_conn_start_tls(struct mailotp_conn *c, const char *ca_file, int64_t deadline, char *err,
                           size_t errlen)
{
	int g, r;

	if (c == NULL || c->tls != NULL)
		return MAILOTP_ERR_INVALID;
	if (c->rlen > c->rpos) {
		mailotp_errf(err, errlen, "%s: the server sent data before the TLS handshake",
		             c->host);
		return MAILOTP_ERR_IO;
	}
	if ((r = creds_get(ca_file, &c->creds, err, errlen)) != 0)
		return r;
	if (gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL) != GNUTLS_E_SUCCESS) {
		c->tls = NULL;
		mailotp_errf(err, errlen, "TLS: out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	/* The system's policy (/etc/gnutls/config), minus anything older than TLS 1.2. */
	if ((g = gnutls_set_default_priority_append(
	         c->tls, "-VERS-TLS1.1:-VERS-TLS1.0:-VERS-SSL3.0", NULL, 0)) != GNUTLS_E_SUCCESS ||
	    (g = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->creds->x)) !=
	        GNUTLS_E_SUCCESS ||
	    (!is_ip_literal(c->host) &&
	     (g = gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, c->host, strlen(c->host))) !=
	         GNUTLS_E_SUCCESS)) {
		mailotp_errf(err, errlen, "TLS set-up: %s", gnutls_strerror(g));
		return MAILOTP_ERR_IO;
	}
	/* The name (or address) the certificate must carry: the one we were given. */
	gnutls_session_set_verify_cert(c->tls, c->host, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	for (;;) {
		if (mailotp_conn_now_ms() >= deadline) {
			mailotp_errf(err, errlen, "%s: TLS handshake timed out", c->host);
			return MAILOTP_ERR_TIMEOUT;
		}
		g = gnutls_handshake(c->tls);
		if (g == GNUTLS_E_SUCCESS) {
			c->tls_up = true;
			return 0;
		}
		if (gnutls_error_is_fatal(g)) {
			tls_reason(c, g, err, errlen);
			return MAILOTP_ERR_IO;
		}
		if ((r = tls_again(c, g, "handshake", deadline, NULL, err, errlen)) != 0)
			return r;
	}
}

int mailotp_conn_write(struct mailotp_conn *c, const void *buf, size_t len, int64_t deadline,
                       const struct mailotp_conn_tick *tick, char *err, size_t errlen)
{
	const char *p = buf;
	ssize_t n;
	int r;

	if (c->tls != NULL && !c->tls_up) {
		mailotp_errf(err, errlen, "%s: TLS was not established", c->host);
		return MAILOTP_ERR_IO;
	}
	while (len > 0) {
		if (mailotp_conn_now_ms() >= deadline) {
			mailotp_errf(err, errlen, "%s: timed out", c->host);
			return MAILOTP_ERR_TIMEOUT;
		}
		if (c->tls != NULL) {
			n = gnutls_record_send(c->tls, p, len);
			if (n < 0) {
				/* GnuTLS wants the same call repeated once the socket allows. */
				if ((r = tls_again(c, (int)n, "send", deadline, tick, err,
				                   errlen)) != 0)
					return r;
				continue;
			}
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					mailotp_errf(err, errlen, "%s: send: %s", c->host,
					             strerror(errno));
					return errno == EPIPE || errno == ECONNRESET
					           ? MAILOTP_ERR_CLOSED
					           : MAILOTP_ERR_IO;
				}
				if ((r = wait_fd(c, POLLOUT, deadline, tick, err, errlen)) != 0)
					return r;
				continue;
			}
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads what is there (at least one byte) into the free end of the buffer. */
static int fill(struct mailotp_conn *c, int64_t deadline, const struct mailotp_conn_tick *tick,
                char *err, size_t errlen)
{
	ssize_t n;
	int r;

	if (c->tls != NULL && !c->tls_up) {
		mailotp_errf(err, errlen, "%s: TLS was not established", c->host);
		return MAILOTP_ERR_IO;
	}
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	for (;;) {
		/* Also bounds a run of non-fatal TLS warnings, which do not wait. */
		if (mailotp_conn_now_ms() >= deadline) {
			mailotp_errf(err, errlen, "%s: timed out", c->host);
			return MAILOTP_ERR_TIMEOUT;
		}
		if (c->tls != NULL) {
			n = gnutls_record_recv(c->tls, c->rbuf + c->rlen,
			                       sizeof(c->rbuf) - c->rlen);
			if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
				goto closed;
			if (n < 0) {
				if ((r = tls_again(c, (int)n, "receive", deadline, tick, err,
				                   errlen)) != 0)
					return r;
				continue;
			}
		} else {
			n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
			if (n == 0)
				goto closed;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == ECONNRESET)
					goto closed;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					mailotp_errf(err, errlen, "%s: recv: %s", c->host,
					             strerror(errno));
					return MAILOTP_ERR_IO;
				}
				if ((r = wait_fd(c, POLLIN, deadline, tick, err, errlen)) != 0)
					return r;
				continue;
			}
		}
		c->rlen += (size_t)n;
		return 0;
	}
closed:
	mailotp_errf(err, errlen, "%s: the server closed the connection", c->host);
	return MAILOTP_ERR_CLOSED;
}

int mailotp_conn_read_line(struct mailotp_conn *c, char *line, size_t cap, size_t *len,
                           int64_t deadline, const struct mailotp_conn_tick *tick, char *err,
                           size_t errlen)
{
	const char *start, *nl;
	size_t n;
	int r;

	for (;;) {
		start = c->rbuf + c->rpos;
		if ((nl = memchr(start, '\n', c->rlen - c->rpos)) != NULL) {
			n = (size_t)(nl - start);
			if (n > 0 && start[n - 1] == '\r')
				n--;
			if (n >= cap) {
				mailotp_errf(err, errlen,
				             "%s: a reply line of %zu bytes (at most %zu)", c->host,
				             n, cap - 1);
				return MAILOTP_ERR_TOOBIG;
			}
			memcpy(line, start, n);
			line[n] = '\0';
			*len = n;
			c->rpos += (size_t)(nl - start) + 1;
			return 0;
		}
		/* More than cap bytes without a LF cannot fit, even if the last is a CR. */
		if (c->rlen - c->rpos > cap || (c->rpos == 0 && c->rlen == sizeof(c->rbuf))) {
			mailotp_errf(err, errlen, "%s: a reply line longer than %zu bytes", c->host,
			             cap - 1);
			return MAILOTP_ERR_TOOBIG;
		}
		if ((r = fill(c, deadline, tick, err, errlen)) != 0)
			return r;
	}
}

size_t mailotp_conn_buffered(const struct mailotp_conn *c)
{
	size_t n = c->rlen - c->rpos;

	if (c->tls != NULL)
		n += gnutls_record_check_pending(c->tls);
	return n;
}

bool mailotp_conn_is_tls(const struct mailotp_conn *c)
{
	return c != NULL && c->tls_up;
}

bool mailotp_conn_is_loopback(const struct mailotp_conn *c)
{
	return c != NULL && c->loopback;
}

bool mailotp_conn_idle_ok(struct mailotp_conn *c)
{
	struct pollfd p = {c->fd, POLLIN, 0};

	if (mailotp_conn_buffered(c) > 0)
		return false;
	/* Readable means an EOF, a reset or an unasked-for reply: not reusable. */
	return poll(&p, 1, 0) == 0;
}

void mailotp_conn_free(struct mailotp_conn *c)
{
	if (c == NULL)
		return;
	if (c->tls != NULL) {
		/* One try at a close_notify; the socket is non-blocking, nothing waits. */
		if (c->tls_up)
			(void)gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
	}
	creds_put(c->creds);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
