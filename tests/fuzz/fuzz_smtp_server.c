/*
 * lib/smtp.c and lib/netconn.c against a hostile SMTP server: the input is
 * what the server says.
 *
 * Input: byte 0 holds the settings (below); the rest is every byte the
 * server sends. The harness listens on 127.0.0.1, port 0 (once); per input
 * a server thread accepts the client's connection(s), writes those bytes,
 * shuts its writing side down, and records what the client sends (64 KiB
 * at most per connection) until the client closes it. The main thread
 * meanwhile runs mailotp_smtp_send() (or mailotp_smtp_probe()) against
 * smtp://127.0.0.1:PORT with smtp_timeout 1.
 *
 * A send that returns 0 leaves its connection in the client's pool (a
 * static array of up to 8). So that every input ends clean (the same
 * descriptors and allocations as before it, and the server's record of
 * that connection complete), the harness then sends once more with the
 * same settings and no gate while the server thread closes every new
 * connection at once: the client must find the pooled one dead (the
 * server has closed it), drop it, and fail with MAILOTP_ERR_SMTP.
 *
 * Byte 0:
 *   0x01  smtp_user "fuzzuser", password "pw" (AUTH in clear is allowed
 *         to loopback)
 *   0x02  smtp_starttls auto (else no). The server then writes its bytes
 *         in two parts: up to the end of the second final "220" line (the
 *         greeting's, then the answer to STARTTLS in a real dialogue), and
 *         the rest once the client has sent a line. So a STARTTLS offer and
 *         a 220 lead to a TLS handshake that reads the rest (garbage: it
 *         fails; the CA the client trusts has no key any more).
 *   0x04  the gate answers no (MAILOTP_ERR_DENIED)
 *   0x08  two recipients (else one)
 *   0x10  gate has a tick function
 *   0x20  err is 24 bytes (else 256), malloc'd to size so ASan sees overruns
 *   0x40  no gate at all
 *   0x80  with 0x40: mailotp_smtp_probe instead of a send; without it:
 *         the server writes everything at once even with 0x02 (so what
 *         follows a 220 to STARTTLS is already there: an injection)
 *
 * Properties (FUZZ PROPERTY FAILED, abort):
 *  - the return is 0, MAILOTP_ERR_SMTP, _SMTP_REFUSED, _INVALID, _NOMEM, or
 *    (a send with a gate) the gate's answer, and that exactly when the gate
 *    was asked and said no;
 *  - err is NUL-terminated inside errlen and printable ASCII; it never
 *    says "timed out" unless the server did (the server always ends with
 *    EOF, so the client must never wait for its deadline), and never
 *    holds the message's code or the AUTH credentials unless the server
 *    sent them itself;
 *  - the gate is asked at most once, and only after a line starting "354";
 *  - a send returns 0 only if the server sent a line starting "354" and a
 *    later one starting "250"; a probe only after "220" then "250";
 *  - when the gate said no (or was never asked, or said nothing because
 *    there was no 354), the server never receives the message or the
 *    ".\r\n" that ends DATA; when it receives the message's code, it got
 *    the whole dot-stuffed message with its final dot right after "DATA",
 *    once, and nothing after it; a send that returns 0 delivered exactly
 *    that;
 *  - no AUTH without smtp_user, no STARTTLS with smtp_starttls no, no MAIL
 *    from a probe;
 *  - the send after a 0 (above) fails with MAILOTP_ERR_SMTP without asking
 *    for anything and without a command on the pooled connection;
 *  - no SIGPIPE, and no file descriptor left over: after each input the
 *    same number of descriptors is open as before it.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "smtp.h"

#define F_USER 0x01
#define F_STARTTLS 0x02
#define F_GATE_NO 0x04
#define F_TWO_RCPT 0x08
#define F_TICK 0x10
#define F_SMALL_ERR 0x20
#define F_NO_GATE 0x40
#define F_PROBE 0x80 /* with F_NO_GATE; else: no pacing */

#define GATE_NO MAILOTP_ERR_DENIED
#define MAX_CONN 4
#define REC_MAX 65536
#define SERVER_MS 3000 /* the whole dialogue; the client gives up after 1000 */
#define QUIET_MS 200   /* after the calls returned, for a connection the client kept */
#define SPLIT_MAX 4000 /* the first part must reach the client in one read */

/* A throwaway CA (its key was never kept): nothing can be verified against it. */
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBrDCCAVGgAwIBAgIUQBHvdGxtubwabCFeoGRLbRYYRpowCgYIKoZIzj0EAwIw\n"
                             "KjEoMCYGA1UEAwwfbWFpbG90cCBmdXp6IENBIChrZXkgZGlzY2FyZGVkKTAgFw0y\n"
                             "NjExMjIyMjQ3MDJaGA8yMTI2MTAyOTIyNDcwMlowKjEoMCYGA1UEAwwfbWFpbG90\n"
                             "cCBmdXp6IENBIChrZXkgZGlzY2FyZGVkKTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
                             "A0IABJKxtsD9NoLn8WmtjIf2y2qCSoKgV9IzcmVGSaZ+d42FnwFKSsQi4tfhPRzf\n"
                             "4ajRt4rQADgw9+/VLNmEETXfReOjUzBRMB0GA1UdDgQWBBTj38/ncK5+DvV9fVC6\n"
                             "lVkiU+8PZzAfBgNVHSMEGDAWgBTj38/ncK5+DvV9fVC6lVkiU+8PZzAPBgNVHRMB\n"
                             "Af8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCo44JQXcGTIZJ0leK3BZceztz7\n"
                             "w7Dzr2do6q83R0lQGAIhAKCB5cYWgpLFL/SBbUIdP7VgCyZbtKXHSPCZxBKEjDWh\n"
                             "-----END CERTIFICATE-----\n";

/* The code is what must never leak; the lines starting with "." must be stuffed. */
static const char message[] = "From: mailotp <mailotp@example.org>\r\n"
                              "To: alice@example.org\r\n"
                              "Subject: Your one-time code\r\n"
                              "\r\n"
                              "Your code: 314159\r\n"
                              ".hidden line starting with a dot\r\n"
                              ".\r\n"
                              "..two dots\r\n"
                              "Bye\r\n";
static const char secret[] = "314159";
static const char auth_plain_b64[] = "AGZ1enp1c2VyAHB3"; /* \0fuzzuser\0pw */
static const char auth_user_b64[] = "ZnV6enVzZXI=";      /* fuzzuser */

static int listen_fd = -1, done_fd = -1, fin_fd = -1;
static bool verbose;
static char url[64];
static int ca_fd = -1;
static char ca_file[64];
static char *expect; /* "DATA\r\n" + the dot-stuffed message + ".\r\n" */
static size_t expect_len;

struct conn_rec {
	char *buf; /* rec_bufs[i] */
	size_t len;
	bool eof;
};

static char rec_bufs[MAX_CONN][REC_MAX];

struct server {
	const uint8_t *out;
	size_t outlen, split; /* split == outlen: all at once */
	struct conn_rec rec[MAX_CONN];
	size_t nconn;
	atomic_bool silent; /* close new connections at once (the flush send) */
	bool fin_sent;      /* all the input written and the writing side shut down (fin_fd) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const void *find(const void *hay, size_t n, const void *needle, size_t m)
{
	return m == 0 ? hay : memmem(hay, n, needle, m);
}

static bool contains(const void *hay, size_t n, const char *needle)
{
	return find(hay, n, needle, strlen(needle)) != NULL;
}

/* Offset of the first line at or after from (a line start) that begins with pfx; or -1. */
static long line_with(const uint8_t *b, size_t n, size_t from, const char *pfx)
{
	size_t m = strlen(pfx), i = from;

	while (i <= n) {
		if (n - i >= m && memcmp(b + i, pfx, m) == 0)
			return (long)i;
		const uint8_t *nl = memchr(b + i, '\n', n - i);

		if (nl == NULL)
			return -1;
		i = (size_t)(nl - b) + 1;
	}
	return -1;
}

/* End of the line starting at i (past its LF), or n. */
static size_t line_end(const uint8_t *b, size_t n, size_t i)
{
	const uint8_t *nl = memchr(b + i, '\n', n - i);

	return nl == NULL ? n : (size_t)(nl - b) + 1;
}

/* Where the second final "220" line ends ("220" then SP, CR, LF or the end); or n. */
static size_t split_point(const uint8_t *b, size_t n)
{
	size_t i = 0, seen = 0, e;

	while (i < n) {
		e = line_end(b, n, i);
		if (e - i >= 3 && memcmp(b + i, "220", 3) == 0 &&
		    (e - i == 3 || b[i + 3] == ' ' || b[i + 3] == '\r' || b[i + 3] == '\n')) {
			if (++seen == 2)
				return e <= SPLIT_MAX ? e : n;
		}
		i = e;
	}
	return n;
}

static void note_fin(struct server *sv)
{
	uint64_t one = 1;

	if (!sv->fin_sent && write(fin_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	sv->fin_sent = true;
}

static void record(struct conn_rec *r, const char *p, size_t n)
{
	if (n > REC_MAX - r->len)
		n = REC_MAX - r->len;
	memcpy(r->buf + r->len, p, n);
	r->len += n;
}

/* One connection: write the input (paced), record the client, until EOF or quiet after done. */
static void serve(struct server *sv, int fd, struct conn_rec *rec, bool *done)
{
	size_t off = 0, limit = sv->split;
	bool released = sv->split == sv->outlen, shut = false;
	int64_t end = now_ms() + SERVER_MS, quiet_end = 0;
	char tmp[8192];

	for (;;) {
		struct pollfd p[2];
		int64_t t = now_ms();
		int n, np = 1;
		ssize_t k;

		if (!released && memchr(rec->buf, '\n', rec->len) != NULL) {
			released = true;
			limit = sv->outlen;
		}
		if (released && off == limit && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
			note_fin(sv);
		}
		if (*done && quiet_end == 0)
			quiet_end = t + QUIET_MS;
		/* The calls returned, the client kept it open: a leak (the fd check). */
		if (*done && t >= quiet_end)
			return;
		if (t >= end)
			return;
		p[0].fd = fd;
		p[0].events = (short)(POLLIN | (off < limit ? POLLOUT : 0));
		p[0].revents = 0;
		if (!*done) {
			p[1].fd = done_fd;
			p[1].events = POLLIN;
			p[1].revents = 0;
			np = 2;
		}
		n = poll(p, (nfds_t)np, (int)((*done ? quiet_end : end) - t));
		if (n < 0 && errno != EINTR)
			abort();
		if (n <= 0)
			continue;
		if (np == 2 && (p[1].revents & POLLIN))
			*done = true;
		if (p[0].revents & POLLOUT) {
			k = send(fd, sv->out + off, limit - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (k > 0) {
				off += (size_t)k;
				if (released && off == limit) {
					/* At once: the client may be done already. */
					shutdown(fd, SHUT_WR);
					shut = true;
					note_fin(sv);
				}
			} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
				off = limit = sv->outlen; /* the client is gone */
				released = shut = true;
				note_fin(sv);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
			if (k > 0) {
				record(rec, tmp, (size_t)k);
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				rec->eof = true;
				return;
			}
		}
	}
}

static void *server_main(void *arg)
{
	struct server *sv = arg;
	int64_t end = now_ms() + SERVER_MS;
	bool done = false;

	while (sv->nconn < MAX_CONN && !done) {
		struct pollfd p[2] = {{listen_fd, POLLIN, 0}, {done_fd, POLLIN, 0}};
		int64_t left = end - now_ms();
		int fd, n;

		if (left <= 0)
			break;
		n = poll(p, 2, (int)left);
		if (n < 0 && errno != EINTR)
			abort();
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (!atomic_load(&sv->silent))
				serve(sv, fd, &sv->rec[sv->nconn++], &done);
			close(fd);
		} else if (p[1].revents & POLLIN) {
			done = true;
		}
	}
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct gate_state {
	int asks, ticks;
	bool no;
};

static int gate_ask(void *arg)
{
	struct gate_state *g = arg;

	g->asks++;
	return g->no ? GATE_NO : 0;
}

static void gate_tick(void *arg)
{
	((struct gate_state *)arg)->ticks++;
}

static void on_sigpipe(int sig)
{
	static const char m[] = "FUZZ PROPERTY FAILED: SIGPIPE (a write to a closed socket "
	                        "without MSG_NOSIGNAL would kill mailotpd)\n";
	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0) {
		/* nothing to do */
	}
	abort();
}

/* "DATA\r\n" then the message as it must go: dot-stuffed, then ".\r\n". */
static void build_expect(void)
{
	size_t i, n = 0, len = strlen(message);
	bool bol = true;

	expect = malloc(6 + 2 * len + 8);
	if (expect == NULL)
		abort();
	memcpy(expect, "DATA\r\n", 6);
	n = 6;
	for (i = 0; i < len; i++) {
		if (bol && message[i] == '.')
			expect[n++] = '.';
		expect[n++] = message[i];
		bol = message[i] == '\n';
	}
	memcpy(expect + n, ".\r\n", 3);
	expect_len = n + 3;
}

static void run_one(unsigned flags, const uint8_t *bytes, size_t n);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	struct sigaction sa;
	/* A STARTTLS dialogue first: what GnuTLS sets up on first use is no input's leak. */
	static const char warm[] = "\x02"
	                           "220 warm ESMTP\r\n"
	                           "250-warm\r\n250-STARTTLS\r\n250 PIPELINING\r\n"
	                           "220 go ahead\r\n"
	                           "\x15\x03\x03\x00\x02\x02\x28" /* a TLS alert */;

	(void)argc;
	(void)argv;
	verbose = getenv("MAILOTP_FUZZ_VERBOSE") != NULL;
	if (sodium_init() < 0 || mailotp_mail_global_init() != 0)
		abort();
	/* In a memfd: no file to clean up, even after a crash. */
	if ((ca_fd = memfd_create("fuzz-ca.pem", MFD_CLOEXEC)) < 0 ||
	    write(ca_fd, ca_pem, sizeof(ca_pem) - 1) != (ssize_t)(sizeof(ca_pem) - 1))
		abort();
	snprintf(ca_file, sizeof(ca_file), "/proc/self/fd/%d", ca_fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigpipe;
	sigaction(SIGPIPE, &sa, NULL);

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(listen_fd, 16) != 0 || getsockname(listen_fd, (struct sockaddr *)&a, &alen) != 0)
		abort();
	snprintf(url, sizeof(url), "smtp://127.0.0.1:%u", ntohs(a.sin_port));
	if ((done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (fin_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		abort();
	build_expect();
	run_one((unsigned char)warm[0], (const uint8_t *)warm + 1, sizeof(warm) - 2);
	return 0;
}

static void check_err(const char *err, size_t errlen, const uint8_t *bytes, size_t n)
{
	const char *nul = memchr(err, '\0', errlen);
	size_t i, len;

	FUZZ_CHECK(nul != NULL, "err not NUL-terminated within its %zu bytes", errlen);
	len = (size_t)(nul - err);
	for (i = 0; i < len; i++)
		FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f, "err byte %zu is 0x%02x: %s", i,
		           (unsigned char)err[i], err);
	if (!contains(bytes, n, "timed out"))
		FUZZ_CHECK(!contains(err, len, "timed out"),
		           "the client waited for its deadline though the server always ends: %s",
		           err);
	if (!contains(bytes, n, secret))
		FUZZ_CHECK(!contains(err, len, secret), "err holds the message's code: %s", err);
	if (!contains(bytes, n, auth_plain_b64))
		FUZZ_CHECK(!contains(err, len, auth_plain_b64), "err holds AUTH PLAIN: %s", err);
	if (!contains(bytes, n, auth_user_b64))
		FUZZ_CHECK(!contains(err, len, auth_user_b64), "err holds AUTH LOGIN: %s", err);
}

/* A line equal to "." after the line "DATA" (the end of DATA). */
static bool dot_after_data(const struct conn_rec *r)
{
	const uint8_t *b = (const uint8_t *)r->buf;
	long d = line_with(b, r->len, 0, "DATA\r\n");

	return d >= 0 && line_with(b, r->len, (size_t)d + 6, ".\r\n") >= 0;
}

static void run_one(unsigned flags, const uint8_t *bytes, size_t n)
{
	struct mailotp_config cfg;
	struct mailotp_mail_gate gate;
	struct gate_state gs;
	struct server sv;
	pthread_t th;
	const char *rcpt[2] = {"alice@example.org", "bob@example.net"};
	bool probe = (flags & (F_PROBE | F_NO_GATE)) == (F_PROBE | F_NO_GATE);
	bool has_gate = !probe && !(flags & F_NO_GATE);
	size_t errlen = (flags & F_SMALL_ERR) ? 24 : 256, i;
	char *err = malloc(errlen), err2[256];
	uint64_t ev;
	int fds_before, fds_after, r, r2 = 0, fd, asks;
	long p354;
	bool allowed, delivered = false;

	if (err == NULL)
		abort();
	memset(err, 'Z', errlen);
	fds_before = count_fds();

	memset(&sv, 0, sizeof(sv));
	atomic_init(&sv.silent, false);
	sv.out = bytes;
	sv.outlen = n;
	sv.split =
	    (flags & F_STARTTLS) && (probe || !(flags & F_PROBE)) ? split_point(bytes, n) : n;
	for (i = 0; i < MAX_CONN; i++)
		sv.rec[i].buf = rec_bufs[i];
	if (pthread_create(&th, NULL, server_main, &sv) != 0)
		abort();

	memset(&cfg, 0, sizeof(cfg));
	cfg.smtp_url = url;
	cfg.smtp_starttls = (flags & F_STARTTLS) ? MAILOTP_TLS_AUTO : MAILOTP_TLS_NO;
	cfg.smtp_user = (flags & F_USER) ? (char *)"fuzzuser" : NULL;
	cfg.smtp_ca_file = ca_file;
	cfg.smtp_timeout = 1;
	cfg.mail_from = (char *)"mailotp@example.org";
	memset(&gs, 0, sizeof(gs));
	gs.no = (flags & F_GATE_NO) != 0;
	gate.ask = gate_ask;
	gate.tick = (flags & F_TICK) ? gate_tick : NULL;
	gate.arg = &gs;

	if (probe)
		r = mailotp_smtp_probe(&cfg, (flags & F_USER) ? "pw" : NULL, err, errlen);
	else
		r = mailotp_smtp_send(&cfg, (flags & F_USER) ? "pw" : NULL, rcpt,
		                      (flags & F_TWO_RCPT) ? 2 : 1, message,
		                      has_gate ? &gate : NULL, err, errlen);
	asks = gs.asks;
	/* Out of the pool again: the server closed it, so the client must drop it. */
	if (r == 0 && !probe) {
		/* The client may be done before the server thread got to its FIN. */
		struct pollfd pf = {fin_fd, POLLIN, 0};

		while (poll(&pf, 1, 1000) < 0 && errno == EINTR)
			continue;
		atomic_store(&sv.silent, true);
		r2 = mailotp_smtp_send(&cfg, (flags & F_USER) ? "pw" : NULL, rcpt, 1, message,
		                       &gate, err2, sizeof(err2));
	}

	ev = 1;
	if (write(done_fd, &ev, sizeof(ev)) != sizeof(ev))
		abort();
	pthread_join(th, NULL);
	if (read(done_fd, &ev, sizeof(ev)) != sizeof(ev))
		abort();
	if (read(fin_fd, &ev, sizeof(ev)) < 0 && errno != EAGAIN)
		abort();
	/* A connection the server thread never took (there should be none). */
	while ((fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);

	if (verbose)
		fprintf(stderr,
		        "fuzz_smtp_server: flags 0x%02x %s -> %d, gate asked %d, %zu conn: %s\n",
		        flags, probe ? "probe" : "send", r, asks, sv.nconn, err);
	FUZZ_CHECK(r == 0 || r == MAILOTP_ERR_SMTP || r == MAILOTP_ERR_SMTP_REFUSED ||
	               r == MAILOTP_ERR_INVALID || r == MAILOTP_ERR_NOMEM ||
	               (has_gate && r == GATE_NO),
	           "returned %d (%s)", r, err);
	check_err(err, errlen, bytes, n);
	FUZZ_CHECK(asks <= 1, "gate asked %d times", asks);
	p354 = line_with(bytes, n, 0, "354");
	FUZZ_CHECK(asks == 0 || p354 >= 0, "gate asked without a 354 from the server");
	if (has_gate)
		FUZZ_CHECK((r == GATE_NO) == (asks == 1 && gs.no),
		           "gate asked %d, answered %s; the send returned %d (%s)", asks,
		           gs.no ? "no" : "yes", r, err);
	if (r == 0 && !probe)
		FUZZ_CHECK(p354 >= 0 &&
		               line_with(bytes, n, line_end(bytes, n, (size_t)p354), "250") >= 0,
		           "send returned 0 without a 354 and a later 250 from the server");
	if (r == 0 && probe) {
		long p220 = line_with(bytes, n, 0, "220");
		FUZZ_CHECK(p220 >= 0 &&
		               line_with(bytes, n, line_end(bytes, n, (size_t)p220), "250") >= 0,
		           "probe returned 0 without a 220 and a later 250 from the server");
	}

	/* The message may go out only after a 354, and through a gate only if it said yes. */
	allowed = !probe && p354 >= 0 && (!has_gate || (asks == 1 && !gs.no));
	for (i = 0; i < sv.nconn; i++) {
		const struct conn_rec *c = &sv.rec[i];
		const uint8_t *b = (const uint8_t *)c->buf;
		bool has_secret = contains(c->buf, c->len, secret);

		if (probe)
			FUZZ_CHECK(line_with(b, c->len, 0, "MAIL FROM") < 0, "a probe sent MAIL");
		if (!(flags & F_USER))
			FUZZ_CHECK(line_with(b, c->len, 0, "AUTH") < 0, "AUTH without smtp_user");
		if (!(flags & F_STARTTLS))
			FUZZ_CHECK(line_with(b, c->len, 0, "STARTTLS") < 0,
			           "STARTTLS with smtp_starttls no");
		if (!allowed) {
			FUZZ_CHECK(!has_secret, "the message went out though %s",
			           probe      ? "this is a probe"
			           : p354 < 0 ? "the server never sent 354"
			           : asks     ? "the gate said no"
			                      : "the gate was not asked");
			FUZZ_CHECK(!dot_after_data(c), "the final dot went out though %s",
			           probe      ? "this is a probe"
			           : p354 < 0 ? "the server never sent 354"
			           : asks     ? "the gate said no"
			                      : "the gate was not asked");
		}
		if (has_secret) {
			const char *at = find(c->buf, c->len, expect, expect_len);

			FUZZ_CHECK(
			    at != NULL,
			    "the message went out, but not whole and dot-stuffed after DATA");
			FUZZ_CHECK(find(c->buf, (size_t)(at - c->buf), secret, strlen(secret)) ==
			               NULL,
			           "the message went out twice");
			/* Then the client reads the reply and closes, or pools and later drops it.
			 */
			FUZZ_CHECK(at + expect_len == c->buf + c->len,
			           "%zu bytes sent after the final dot: %.*s",
			           c->len - (size_t)(at - c->buf) - expect_len,
			           (int)(c->len - (size_t)(at - c->buf) - expect_len),
			           at + expect_len);
			delivered = true;
		}
	}
	if (r == 0 && !probe)
		FUZZ_CHECK(delivered, "send returned 0, the server never got the message");

	if (r == 0 && !probe) {
		FUZZ_CHECK(r2 == MAILOTP_ERR_SMTP && gs.asks == asks,
		           "a send to a server that closes at once returned %d, gate asked %d: %s",
		           r2, gs.asks - asks, err2);
		check_err(err2, sizeof(err2), bytes, n);
	}
	fds_after = count_fds();
	FUZZ_CHECK(fds_after == fds_before, "file descriptors: %d before the input, %d after",
	           fds_before, fds_after);

	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		run_one(0, data, 0);
	else
		run_one(data[0], data + 1, size - 1);
	return 0;
}
