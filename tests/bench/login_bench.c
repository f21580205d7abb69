/*
 * login_bench: login latency of mailotpd, measured at its PAM socket.
 *
 *   login_bench --socket PATH --maildir DIR --users U:PW:MAIL[,U:PW:MAIL...]
 *               [--n N] [--concurrency C] [--mode login|refuse|wrong|unknown]
 *               [--warmup W] [--label TEXT] [--table FILE] [--service NAME]
 *
 * Speaks the protocol of include/mailotp/protocol.h directly (no PAM, no
 * process per login), so what is measured is the daemon and what it waits
 * for (LDAP, SMTP), not the client.
 *
 * mode login (default): N logins, each one
 *   connect, AUTH_BEGIN (USER, PASSWORD) -> STATUS OK,
 *   read the code from the newest message to the account's address in the
 *   test-bed sink's maildir, AUTH_CODE (CODE) -> STATUS OK, close.
 * With --concurrency C, C threads run at once, each with its own accounts
 * (account j goes to thread j % C, so at least C accounts are needed) and
 * N/C logins; a thread only ever looks for mail to its own accounts, and
 * only at files named after the last one it used (the sink names files by
 * arrival, so names sort by time).
 *
 * mode refuse: N refusals, alternating an unknown account and a wrong
 * password for an existing one (both must give STATUS DENIED); reported
 * separately, side by side. mode wrong / unknown: only one of the two.
 *
 * Times come from CLOCK_MONOTONIC. For a login:
 *   total   connect .. the AUTH_CODE reply (the driver's maildir read included)
 *   daemon  total minus the maildir read: what a PAM client would wait,
 *           less the time its user takes to type the code
 *   begin   connect .. the AUTH_BEGIN reply (search, bind, mail hand-off)
 *   read    the driver reading the code from the maildir
 *   code    AUTH_CODE .. its reply
 * W warm-up logins (default 5 per thread) run first and are not counted.
 *
 * Prints a summary on stdout; --table FILE appends markdown rows to FILE:
 *   | case | n | conc | median | p90 | p99 | max | per s | begin | code | read |
 * Exit 0 when every login ended as expected, 1 otherwise (no timing is
 * ever judged), 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mailotp/protocol.h"
#include "stats.h"

#define IO_TIMEOUT_MS 60000         /* one frame; an argon2 bind under load stays far below */
#define MAIL_WAIT_NS 10000000000ull /* the mail is stored before the sink says 250 */
#define NAME_MAX_LEN 128
#define MAX_MAIL_SIZE (1 << 20)

enum mode { MODE_LOGIN, MODE_REFUSE, MODE_WRONG, MODE_UNKNOWN };
enum kind { K_LOGIN, K_UNKNOWN, K_WRONG, K_NKINDS };

struct user {
	char *name, *pw, *mail;
};

struct sample {
	enum kind kind;
	double total, begin, read, code; /* ms */
};

struct worker {
	int id;
	pthread_t tid;
	struct user **users;
	size_t nusers, next_user;
	size_t n, warmup, done;
	struct sample *s;
	char mark[NAME_MAX_LEN]; /* newest maildir name this worker has used */
	unsigned long failures, seq;
	char err[256];
};

static const char *opt_socket, *opt_maildir, *opt_label, *opt_table;
static const char *opt_service = "login_bench";
static size_t opt_n = 100, opt_conc = 1, opt_warmup = 5;
static enum mode opt_mode = MODE_LOGIN;
static struct user *users;
static size_t nusers;
static pthread_barrier_t start_barrier;

static double ms(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

static void seterr(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->err[0] != '\0')
		return; /* keep the first */
	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: login_bench --socket PATH --maildir DIR --users U:PW:MAIL[,...]\n"
	        "                   [--n N] [--concurrency C] [--mode login|refuse|wrong|unknown]\n"
	        "                   [--warmup W] [--label TEXT] [--table FILE] [--service NAME]\n");
	exit(2);
}

/* ---------------------------------------------------------------- socket */

static int sock_connect(void)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(opt_socket) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, opt_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends m (consumed) and reads the reply's STATUS. Returns 0 or -1 (w->err set). */
static int exchange(struct worker *w, int fd, struct mailotp_msg *m, uint32_t *status)
{
	struct mailotp_msg reply = {0};
	struct mailotp_fields f;
	uint8_t want = (uint8_t)(m->type | MAILOTP_MSG_REPLY);
	int r;

	r = mailotp_msg_write(fd, m, IO_TIMEOUT_MS);
	mailotp_msg_clear(m);
	if (r != 0) {
		seterr(w, "write: %s", mailotp_strerror(r));
		return -1;
	}
	if ((r = mailotp_msg_read(fd, &reply, IO_TIMEOUT_MS)) != 0 ||
	    (r = mailotp_fields_parse(&reply, &f)) != 0 ||
	    (r = mailotp_fields_u32(&f, MAILOTP_TAG_STATUS, 0xffffffffu, status)) != 0) {
		seterr(w, "reply: %s", mailotp_strerror(r));
		mailotp_msg_clear(&reply);
		return -1;
	}
	if (reply.type != want || *status == 0xffffffffu) {
		seterr(w, "reply type %u without STATUS", (unsigned)reply.type);
		mailotp_msg_clear(&reply);
		return -1;
	}
	mailotp_msg_clear(&reply);
	return 0;
}

static int send_begin(struct worker *w, int fd, const char *user, const char *pw, uint32_t *status)
{
	struct mailotp_msg m;

	if (mailotp_msg_init(&m, MAILOTP_MSG_AUTH_BEGIN) != 0 ||
	    mailotp_msg_add_str(&m, MAILOTP_TAG_USER, user) != 0 ||
	    mailotp_msg_add_str(&m, MAILOTP_TAG_PASSWORD, pw) != 0 ||
	    mailotp_msg_add_str(&m, MAILOTP_TAG_SERVICE, opt_service) != 0 ||
	    mailotp_msg_add_u32(&m, MAILOTP_TAG_FLAGS, MAILOTP_FLAG_INTERACTIVE) != 0) {
		mailotp_msg_clear(&m);
		seterr(w, "cannot build AUTH_BEGIN");
		return -1;
	}
	return exchange(w, fd, &m, status);
}

static int send_code(struct worker *w, int fd, const char *code, uint32_t *status)
{
	struct mailotp_msg m;

	if (mailotp_msg_init(&m, MAILOTP_MSG_AUTH_CODE) != 0 ||
	    mailotp_msg_add_str(&m, MAILOTP_TAG_CODE, code) != 0) {
		mailotp_msg_clear(&m);
		seterr(w, "cannot build AUTH_CODE");
		return -1;
	}
	return exchange(w, fd, &m, status);
}

/* ---------------------------------------------------------------- maildir */

static bool is_msg_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 4 && len < NAME_MAX_LEN && strcmp(n + len - 4, ".eml") == 0;
}

/* The newest name in the maildir ("" when empty), into out. */
static void newest_name(char out[NAME_MAX_LEN])
{
	DIR *d = opendir(opt_maildir);
	struct dirent *e;

	out[0] = '\0';
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (is_msg_name(e->d_name) && strcmp(e->d_name, out) > 0)
			snprintf(out, NAME_MAX_LEN, "%s", e->d_name);
	closedir(d);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(MAX_MAIL_SIZE + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MAX_MAIL_SIZE, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Next line of [*p, end): its start in *line, length without CR LF in *llen. */
static bool next_line(const char **p, const char *end, const char **line, size_t *llen)
{
	const char *q;

	if (*p >= end)
		return false;
	*line = *p;
	q = memchr(*p, '\n', (size_t)(end - *p));
	if (q == NULL)
		q = end;
	*llen = (size_t)(q - *p);
	if (*llen > 0 && (*line)[*llen - 1] == '\r')
		(*llen)--;
	*p = q < end ? q + 1 : end;
	return true;
}

static bool header_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* Does the X-Sink-RcptTo value (", "-separated addresses) list addr? */
static bool rcpt_has(const char *v, size_t len, const char *addr)
{
	size_t alen = strlen(addr), i = 0;

	while (i < len) {
		size_t j;

		while (i < len && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
			i++;
		j = i;
		while (j < len && v[j] != ',')
			j++;
		if (j - i == alen && strncasecmp(v + i, addr, alen) == 0)
			return true;
		i = j;
	}
	return false;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 in place (skips line breaks, stops at '='); returns the length. */
static size_t b64_decode(char *s, size_t len)
{
	size_t i, o = 0;
	unsigned acc = 0;
	int bits = 0, v;

	for (i = 0; i < len && s[i] != '='; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0)
			continue;
		acc = acc << 6 | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[o++] = (char)(acc >> bits & 0xff);
		}
	}
	return o;
}

/*
 * If the message in buf is to addr, copies its code (the first body line of
 * digits only) into code and returns 1; 0 if it is not to addr; -1 if it is
 * to addr but has no code.
 */
static int message_code(char *buf, size_t len, const char *addr, char *code, size_t codelen)
{
	const char *p = buf, *end = buf + len, *line;
	size_t llen;
	bool to_addr = false, b64 = false;
	char *body;
	size_t blen;

	while (next_line(&p, end, &line, &llen) && llen > 0) {
		if (header_is(line, llen, "X-Sink-RcptTo")) {
			const char *v = line + strlen("X-Sink-RcptTo:");

			to_addr = rcpt_has(v, llen - (size_t)(v - line), addr);
		} else if (header_is(line, llen, "Content-Transfer-Encoding")) {
			const char *v = line + strlen("Content-Transfer-Encoding:");
			size_t vlen = llen - (size_t)(v - line);

			while (vlen > 0 && (*v == ' ' || *v == '\t'))
				v++, vlen--;
			b64 = vlen >= 6 && strncasecmp(v, "base64", 6) == 0;
		}
	}
	if (!to_addr)
		return 0;
	body = (char *)p;
	blen = (size_t)(end - p);
	if (b64)
		blen = b64_decode(body, blen);
	p = body;
	end = body + blen;
	while (next_line(&p, end, &line, &llen)) {
		size_t i, a = 0, b = llen;

		while (a < b && isspace((unsigned char)line[a]))
			a++;
		while (b > a && isspace((unsigned char)line[b - 1]))
			b--;
		if (b == a || b - a >= codelen)
			continue;
		for (i = a; i < b && isdigit((unsigned char)line[i]); i++)
			;
		if (i == b) {
			memcpy(code, line + a, b - a);
			code[b - a] = '\0';
			return 1;
		}
	}
	return -1;
}

/*
 * The code of the newest message to addr whose name sorts after w->mark;
 * waits (bounded) for it. On success w->mark moves to that message.
 */
static int fetch_code(struct worker *w, const char *addr, char *code, size_t codelen)
{
	uint64_t deadline = bench_now_ns() + MAIL_WAIT_NS;

	for (;;) {
		char best[NAME_MAX_LEN] = "";
		char(*cand)[NAME_MAX_LEN] = NULL;
		size_t ncand = 0, cap = 0;
		DIR *d = opendir(opt_maildir);
		struct dirent *e;

		if (d == NULL) {
			seterr(w, "opendir %s: %s", opt_maildir, strerror(errno));
			return -1;
		}
		while ((e = readdir(d)) != NULL) {
			if (!is_msg_name(e->d_name) || strcmp(e->d_name, w->mark) <= 0)
				continue;
			if (ncand == cap) {
				void *nc;

				cap = cap ? cap * 2 : 16;
				if ((nc = realloc(cand, cap * sizeof(*cand))) == NULL) {
					closedir(d);
					free(cand);
					seterr(w, "out of memory");
					return -1;
				}
				cand = nc;
			}
			snprintf(cand[ncand++], NAME_MAX_LEN, "%s", e->d_name);
		}
		closedir(d);
		/* Newest first: the first one to addr is the one. */
		while (ncand > 0) {
			size_t i, top = 0;
			char path[4096], *buf;
			size_t len;
			int r;

			for (i = 1; i < ncand; i++)
				if (strcmp(cand[i], cand[top]) > 0)
					top = i;
			snprintf(path, sizeof(path), "%s/%s", opt_maildir, cand[top]);
			snprintf(best, sizeof(best), "%s", cand[top]);
			cand[top][0] = '\0';
			memcpy(cand[top], cand[--ncand], NAME_MAX_LEN);
			if ((buf = slurp(path, &len)) == NULL)
				continue;
			r = message_code(buf, len, addr, code, codelen);
			free(buf);
			if (r == 0)
				continue;
			free(cand);
			if (r < 0) {
				seterr(w, "%s: mail to %s without a code line", best, addr);
				return -1;
			}
			snprintf(w->mark, sizeof(w->mark), "%s", best);
			return 0;
		}
		free(cand);
		if (bench_now_ns() > deadline) {
			seterr(w, "no new mail to %s within %llu s", addr,
			       (unsigned long long)(MAIL_WAIT_NS / 1000000000ull));
			return -1;
		}
		usleep(200);
	}
}

/* ---------------------------------------------------------------- one try */

static const char *st_name(uint32_t st)
{
	static const char *const n[] = {"OK",
	                                "DENIED",
	                                "UNAVAIL",
	                                "RETRY",
	                                "MAXTRIES",
	                                "NEW_AUTHTOK_REQD",
	                                "PERM_DENIED",
	                                "ACCT_EXPIRED",
	                                "AUTHTOK_ERR",
	                                "CONSENT_REQUIRED",
	                                "BAD_REQUEST",
	                                "NOT_ALLOWED",
	                                "USER_UNKNOWN",
	                                "MAIL_FAILED",
	                                "AUTHTOK_RECOVERY_ERR"};

	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "?";
}

static int one_login(struct worker *w, const struct user *u, struct sample *s)
{
	char code[32];
	uint32_t st;
	uint64_t t0, t1, t2, t3;
	int fd, rc = -1;

	t0 = bench_now_ns();
	if ((fd = sock_connect()) < 0) {
		seterr(w, "connect %s: %s", opt_socket, strerror(errno));
		return -1;
	}
	if (send_begin(w, fd, u->name, u->pw, &st) != 0)
		goto out;
	t1 = bench_now_ns();
	if (st != MAILOTP_ST_OK) {
		seterr(w, "%s: AUTH_BEGIN gave %s", u->name, st_name(st));
		goto out;
	}
	if (fetch_code(w, u->mail, code, sizeof(code)) != 0)
		goto out;
	t2 = bench_now_ns();
	if (send_code(w, fd, code, &st) != 0)
		goto out;
	t3 = bench_now_ns();
	if (st != MAILOTP_ST_OK) {
		seterr(w, "%s: AUTH_CODE gave %s", u->name, st_name(st));
		goto out;
	}
	s->kind = K_LOGIN;
	s->total = ms(t0, t3);
	s->begin = ms(t0, t1);
	s->read = ms(t1, t2);
	s->code = ms(t2, t3);
	rc = 0;
out:
	close(fd);
	return rc;
}

static int one_refusal(struct worker *w, const struct user *u, enum kind k, struct sample *s)
{
	char name[96], pw[256];
	uint32_t st;
	uint64_t t0, t1;
	int fd, rc = -1;

	if (k == K_UNKNOWN) {
		/* Never an existing uid; a different one each time, as a scan would. */
		snprintf(name, sizeof(name), "bench-nosuch-%d-%lu", w->id, w->seq);
		snprintf(pw, sizeof(pw), "%s", u->pw);
	} else {
		snprintf(name, sizeof(name), "%s", u->name);
		snprintf(pw, sizeof(pw), "not-%s", u->pw);
	}
	w->seq++;
	t0 = bench_now_ns();
	if ((fd = sock_connect()) < 0) {
		seterr(w, "connect %s: %s", opt_socket, strerror(errno));
		return -1;
	}
	if (send_begin(w, fd, name, pw, &st) != 0)
		goto out;
	t1 = bench_now_ns();
	if (st != MAILOTP_ST_DENIED) {
		seterr(w, "%s (%s): AUTH_BEGIN gave %s, want DENIED", name,
		       k == K_UNKNOWN ? "unknown" : "wrong password", st_name(st));
		goto out;
	}
	s->kind = k;
	s->total = s->begin = ms(t0, t1);
	s->read = s->code = 0;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int one_try(struct worker *w, size_t i, struct sample *s)
{
	const struct user *u = w->users[w->next_user];

	w->next_user = (w->next_user + 1) % w->nusers;
	switch (opt_mode) {
	case MODE_LOGIN:
		return one_login(w, u, s);
	case MODE_WRONG:
		return one_refusal(w, u, K_WRONG, s);
	case MODE_UNKNOWN:
		return one_refusal(w, u, K_UNKNOWN, s);
	case MODE_REFUSE:
	default:
		return one_refusal(w, u, i % 2 == 0 ? K_UNKNOWN : K_WRONG, s);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sample junk;
	size_t i;

	bool ok = true;

	for (i = 0; i < w->warmup && ok; i++)
		if (one_try(w, i, &junk) != 0) {
			w->failures++;
			ok = false;
		}
	/* Every thread reaches the barrier, even one whose warm-up failed. */
	pthread_barrier_wait(&start_barrier);
	if (!ok)
		return NULL;
	for (i = 0; i < w->n; i++) {
		if (one_try(w, i, &w->s[w->done]) != 0) {
			w->failures++;
			continue;
		}
		w->done++;
	}
	return NULL;
}

/* ---------------------------------------------------------------- figures */

struct stats {
	size_t n;
	double median, p90, p99, max, mean;
};

/* Sorts v in place (stats.h). */
static void stats_of(double *v, size_t n, struct stats *st)
{
	struct bench_stats b;

	bench_summarise(v, n, &b);
	st->n = n;
	st->median = b.median;
	st->p90 = b.p90;
	st->p99 = b.p99;
	st->max = b.max;
	st->mean = b.mean;
}

/* Stats of one field of the samples of one kind. */
enum field { F_TOTAL, F_DAEMON, F_BEGIN, F_READ, F_CODE };

static void collect(struct worker *ws, enum kind k, enum field fld, struct stats *st)
{
	size_t total = 0, n = 0, i, j;
	double *v;

	for (i = 0; i < opt_conc; i++)
		total += ws[i].done;
	v = calloc(total ? total : 1, sizeof(double));
	if (v == NULL) {
		memset(st, 0, sizeof(*st));
		return;
	}
	for (i = 0; i < opt_conc; i++)
		for (j = 0; j < ws[i].done; j++) {
			const struct sample *s = &ws[i].s[j];

			if (s->kind != k)
				continue;
			v[n++] = fld == F_TOTAL    ? s->total
			         : fld == F_DAEMON ? s->total - s->read
			         : fld == F_BEGIN  ? s->begin
			         : fld == F_READ   ? s->read
			                           : s->code;
		}
	stats_of(v, n, st);
	free(v);
}

static void report(struct worker *ws, double wall_s)
{
	static const char *const kname[] = {"login", "unknown account", "wrong password"};
	FILE *tab = NULL;
	size_t done = 0, i;
	unsigned long fail = 0;

	for (i = 0; i < opt_conc; i++) {
		done += ws[i].done;
		fail += ws[i].failures;
	}
	printf("%s: mode %s, %zu thread(s), %zu done, %lu failed, %.3f s, %.1f/s\n",
	       opt_label ? opt_label : "run",
	       opt_mode == MODE_LOGIN    ? "login"
	       : opt_mode == MODE_REFUSE ? "refuse"
	       : opt_mode == MODE_WRONG  ? "wrong"
	                                 : "unknown",
	       opt_conc, done, fail, wall_s, wall_s > 0 ? (double)done / wall_s : 0.0);
	if (opt_table != NULL && (tab = fopen(opt_table, "a")) == NULL)
		fprintf(stderr, "login_bench: %s: %s\n", opt_table, strerror(errno));
	for (int k = 0; k < K_NKINDS; k++) {
		struct stats tot, dmn, beg, rd, cd;

		collect(ws, (enum kind)k, F_TOTAL, &tot);
		if (tot.n == 0)
			continue;
		collect(ws, (enum kind)k, F_DAEMON, &dmn);
		collect(ws, (enum kind)k, F_BEGIN, &beg);
		collect(ws, (enum kind)k, F_READ, &rd);
		collect(ws, (enum kind)k, F_CODE, &cd);
		/* Logins per second of wall time; refusals (which may alternate
		 * kinds) use 1000 / mean per thread instead. */
		double rate = wall_s > 0 ? (double)tot.n / wall_s : 0;

		if (k == K_LOGIN) {
			printf("  daemon-side ms  median %.2f  p90 %.2f  p99 %.2f  max %.2f  mean "
			       "%.2f\n",
			       dmn.median, dmn.p90, dmn.p99, dmn.max, dmn.mean);
			printf("  end-to-end ms   median %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
			       tot.median, tot.p90, tot.p99, tot.max);
			printf("  parts, median ms: AUTH_BEGIN %.2f, code read from maildir %.2f, "
			       "AUTH_CODE %.2f\n",
			       beg.median, rd.median, cd.median);
			printf("  logins/s %.1f\n", rate);
			if (tab != NULL)
				fprintf(
				    tab,
				    "| %s | %zu | %zu | %.2f | %.2f | %.2f | %.2f | %.1f | %.2f | "
				    "%.2f | %.2f |\n",
				    opt_label ? opt_label : "login", tot.n, opt_conc, dmn.median,
				    dmn.p90, dmn.p99, dmn.max, rate, beg.median, cd.median,
				    rd.median);
		} else {
			printf("  %-16s n %zu  ms median %.2f  p90 %.2f  p99 %.2f  max %.2f  mean "
			       "%.2f\n",
			       kname[k], tot.n, tot.median, tot.p90, tot.p99, tot.max, tot.mean);
			if (tab != NULL)
				fprintf(tab,
				        "| %s%s%s | %zu | %zu | %.2f | %.2f | %.2f | %.2f | %.1f | "
				        "%.2f | – | – |\n",
				        opt_label ? opt_label : "", opt_label ? ": " : "", kname[k],
				        tot.n, opt_conc, tot.median, tot.p90, tot.p99, tot.max,
				        tot.mean > 0 ? 1000.0 * (double)opt_conc / tot.mean : 0.0,
				        tot.median);
		}
	}
	if (tab != NULL)
		fclose(tab);
	for (i = 0; i < opt_conc; i++)
		if (ws[i].err[0] != '\0')
			fprintf(stderr, "login_bench: thread %zu: %lu failure(s), first: %s\n", i,
			        ws[i].failures, ws[i].err);
}

/* ---------------------------------------------------------------- main */

static void parse_users(char *arg)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(arg, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *a = tok, *b = strchr(a, ':'), *c;

		if (b == NULL || (c = strrchr(b + 1, ':')) == NULL) {
			fprintf(stderr, "login_bench: --users: want USER:PASSWORD:MAIL, got '%s'\n",
			        tok);
			exit(2);
		}
		/* USER has no ':'; MAIL has none; PASSWORD is what is in between. */
		*b++ = '\0';
		*c++ = '\0';
		users = realloc(users, (nusers + 1) * sizeof(*users));
		if (users == NULL) {
			perror("login_bench");
			exit(2);
		}
		users[nusers].name = a;
		users[nusers].pw = b;
		users[nusers].mail = c;
		nusers++;
	}
}

static size_t parse_size(const char *s, const char *what)
{
	return bench_count("login_bench", s, what, 10000000ul);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"maildir", required_argument, NULL, 'm'},
	    {"users", required_argument, NULL, 'u'},
	    {"n", required_argument, NULL, 'n'},
	    {"concurrency", required_argument, NULL, 'c'},
	    {"mode", required_argument, NULL, 'M'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"label", required_argument, NULL, 'l'},
	    {"table", required_argument, NULL, 't'},
	    {"service", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char mark[NAME_MAX_LEN];
	struct worker *ws;
	uint64_t t_start, t_end;
	unsigned long fail = 0;
	int o;
	size_t i, j;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 's':
			opt_socket = optarg;
			break;
		case 'm':
			opt_maildir = optarg;
			break;
		case 'u':
			parse_users(optarg);
			break;
		case 'n':
			opt_n = parse_size(optarg, "--n");
			break;
		case 'c':
			opt_conc = parse_size(optarg, "--concurrency");
			break;
		case 'w':
			opt_warmup = parse_size(optarg, "--warmup");
			break;
		case 'M':
			if (strcmp(optarg, "login") == 0)
				opt_mode = MODE_LOGIN;
			else if (strcmp(optarg, "refuse") == 0)
				opt_mode = MODE_REFUSE;
			else if (strcmp(optarg, "wrong") == 0)
				opt_mode = MODE_WRONG;
			else if (strcmp(optarg, "unknown") == 0)
				opt_mode = MODE_UNKNOWN;
			else
				usage();
			break;
		case 'l':
			opt_label = optarg;
			break;
		case 't':
			opt_table = optarg;
			break;
		case 'S':
			opt_service = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || opt_socket == NULL || nusers == 0 || opt_conc < 1 ||
	    (opt_mode == MODE_LOGIN && opt_maildir == NULL))
		usage();
	if (opt_mode == MODE_LOGIN && nusers < opt_conc) {
		fprintf(stderr,
		        "login_bench: %zu threads need at least %zu accounts (one each, so that "
		        "codes do not mix)\n",
		        opt_conc, opt_conc);
		return 2;
	}
	if (opt_n < opt_conc)
		opt_conc = opt_n > 0 ? opt_n : 1;

	if (opt_maildir != NULL)
		newest_name(mark);
	else
		mark[0] = '\0';
	if ((ws = calloc(opt_conc, sizeof(*ws))) == NULL) {
		perror("login_bench");
		return 1;
	}
	for (i = 0; i < opt_conc; i++) {
		struct worker *w = &ws[i];

		w->id = (int)i;
		w->n = opt_n / opt_conc + (i < opt_n % opt_conc ? 1 : 0);
		w->warmup = opt_warmup;
		w->s = calloc(w->n ? w->n : 1, sizeof(*w->s));
		w->users = calloc(nusers, sizeof(*w->users));
		if (w->s == NULL || w->users == NULL) {
			perror("login_bench");
			return 1;
		}
		/* Logins: account j to thread j % C only. Refusals may share. */
		for (j = 0; j < nusers; j++)
			if (opt_mode != MODE_LOGIN || j % opt_conc == i)
				w->users[w->nusers++] = &users[j];
		if (opt_mode != MODE_LOGIN)
			w->next_user = i % w->nusers;
		snprintf(w->mark, sizeof(w->mark), "%s", mark);
	}
	if (pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_conc + 1) != 0) {
		perror("login_bench: barrier");
		return 1;
	}
	for (i = 0; i < opt_conc; i++)
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			perror("login_bench: pthread_create");
			return 1;
		}
	pthread_barrier_wait(&start_barrier);
	t_start = bench_now_ns();
	for (i = 0; i < opt_conc; i++)
		pthread_join(ws[i].tid, NULL);
	t_end = bench_now_ns();

	report(ws, (double)(t_end - t_start) / 1e9);
	for (i = 0; i < opt_conc; i++)
		fail += ws[i].failures;
	return fail == 0 ? 0 : 1;
}
