/*
 * Tests of lib/proto.c: building, framing, reading over a socketpair,
 * timeouts, and every way a frame or payload can be malformed.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailotp/protocol.h"

#define TIMEOUT_MS 5000

struct pair {
	int fd[2];
};

static int setup_pair(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd) != 0) {
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static int teardown_pair(void **state)
{
	struct pair *p = *state;

	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
	free(p);
	return 0;
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (long)(b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void raw_header(uint8_t *h, uint8_t type, uint32_t len)
{
	memcpy(h, "MOTP", 4);
	h[4] = MAILOTP_PROTO_VERSION;
	h[5] = type;
	put16(h + 6, 0);
	put32(h + 8, len);
}

static void write_all(int fd, const void *buf, size_t len)
{
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
}

/*
 * Wraps a hand-made payload in a message as mailotp_msg_read would have
 * left it, to feed the parser bytes the builder refuses to produce.
 */
static void raw_msg(struct mailotp_msg *m, const uint8_t *payload, size_t plen)
{
	m->type = MAILOTP_MSG_AUTH_BEGIN;
	m->cap = MAILOTP_PROTO_HEADER_LEN + plen + 1;
	m->buf = calloc(1, m->cap);
	assert_non_null(m->buf);
	raw_header(m->buf, m->type, (uint32_t)plen);
	memcpy(m->buf + MAILOTP_PROTO_HEADER_LEN, payload, plen);
	m->len = MAILOTP_PROTO_HEADER_LEN + plen;
}

static void assert_str_field(const struct mailotp_fields *f, uint16_t tag, const char *want)
{
	char *s = NULL;

	assert_int_equal(mailotp_fields_str(f, tag, 1, &s), 0);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void test_round_trip(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out, in;
	struct mailotp_fields f;
	const struct mailotp_field *fld;
	static const uint8_t bin[] = {0x00, 0xff, 0x80, 0x0a};
	uint32_t v;
	char *s;

	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_AUTH_BEGIN), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_USER, "alice"), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_PASSWORD, "s3cr\xc3\xa9t pw"), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_SERVICE, "sshd"), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_RHOST, "192.0.2.1"), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_RUSER, ""), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_TTY, NULL), 0); /* adds nothing */
	assert_int_equal(mailotp_msg_add_u32(&out, MAILOTP_TAG_FLAGS,
	                                     MAILOTP_FLAG_OTP_ONLY | MAILOTP_FLAG_INTERACTIVE),
	                 0);
	assert_int_equal(mailotp_msg_add_u32(&out, MAILOTP_TAG_STATUS, 0xdeadbeefu), 0);
	assert_int_equal(mailotp_msg_add_u32(&out, MAILOTP_TAG_REMAINING, 0), 0);
	assert_int_equal(mailotp_msg_add(&out, 999, bin, sizeof(bin)), 0); /* unknown tag */
	assert_int_equal(
	    mailotp_msg_add_str(&out, MAILOTP_TAG_INFO, "\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89"), 0);

	/* The frame on the wire is the documented one. */
	assert_memory_equal(out.buf, "MOTP\x01\x01\x00\x00", 8);
	assert_int_equal(((uint32_t)out.buf[8] << 24 | (uint32_t)out.buf[9] << 16 |
	                  (uint32_t)out.buf[10] << 8 | out.buf[11]),
	                 out.len - MAILOTP_PROTO_HEADER_LEN);
	assert_memory_equal(out.buf + 12,
	                    "\x00\x01\x00\x05"
	                    "alice",
	                    9);

	assert_int_equal(mailotp_msg_write(p->fd[0], &out, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	assert_int_equal(in.type, MAILOTP_MSG_AUTH_BEGIN);
	assert_int_equal(in.len, out.len);
	assert_memory_equal(in.buf, out.buf, out.len);

	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_int_equal(f.n, 10);
	assert_str_field(&f, MAILOTP_TAG_USER, "alice");
	assert_str_field(&f, MAILOTP_TAG_PASSWORD, "s3cr\xc3\xa9t pw");
	assert_str_field(&f, MAILOTP_TAG_SERVICE, "sshd");
	assert_str_field(&f, MAILOTP_TAG_RHOST, "192.0.2.1");
	assert_str_field(&f, MAILOTP_TAG_RUSER, "");
	assert_str_field(&f, MAILOTP_TAG_INFO, "\xe3\x82\xb3\xe3\x83\xbc\xe3\x83\x89");
	s = (char *)1;
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_TTY, 0, &s), 0);
	assert_null(s);

	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_FLAGS, 77, &v), 0);
	assert_int_equal(v, MAILOTP_FLAG_OTP_ONLY | MAILOTP_FLAG_INTERACTIVE);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_STATUS, 77, &v), 0);
	assert_int_equal(v, 0xdeadbeefu);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_REMAINING, 77, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_CODE, 77, &v), 0);
	assert_int_equal(v, 77);

	fld = mailotp_fields_find(&f, 999);
	assert_non_null(fld);
	assert_int_equal(fld->len, sizeof(bin));
	assert_memory_equal(fld->val, bin, sizeof(bin));
	assert_null(mailotp_fields_find(&f, MAILOTP_TAG_ANSWER));

	mailotp_msg_clear(&out);
	mailotp_msg_clear(&in);
	assert_null(out.buf);
	assert_int_equal(out.len, 0);
	mailotp_msg_clear(NULL);
}

/* A reply type and an empty payload go through as well. */
static void test_round_trip_empty_reply(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out, in;
	struct mailotp_fields f;

	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_CONSENT | MAILOTP_MSG_REPLY), 0);
	assert_int_equal(mailotp_msg_write(p->fd[1], &out, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_msg_read(p->fd[0], &in, TIMEOUT_MS), 0);
	assert_int_equal(in.type, MAILOTP_MSG_CONSENT | MAILOTP_MSG_REPLY);
	assert_int_equal(in.len, MAILOTP_PROTO_HEADER_LEN);
	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_int_equal(f.n, 0);
	mailotp_msg_clear(&out);
	mailotp_msg_clear(&in);
}

struct big_writer {
	int fd;
	const struct mailotp_msg *m;
	int r;
};

static void *big_writer_run(void *arg)
{
	struct big_writer *w = arg;

	w->r = mailotp_msg_write(w->fd, w->m, TIMEOUT_MS);
	return NULL;
}

/* The largest legal payload, written while the reader drains it. */
static void test_round_trip_max_payload(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out, in;
	struct mailotp_fields f;
	struct big_writer w;
	pthread_t th;
	uint8_t *big;
	size_t vlen = MAILOTP_PROTO_MAX_PAYLOAD - 4;

	big = malloc(vlen);
	assert_non_null(big);
	memset(big, 'q', vlen);
	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_ACCT | MAILOTP_MSG_REPLY), 0);
	assert_int_equal(mailotp_msg_add(&out, MAILOTP_TAG_INFO, big, vlen), 0);
	assert_int_equal(out.len, MAILOTP_PROTO_HEADER_LEN + MAILOTP_PROTO_MAX_PAYLOAD);
	/* Full: not even an empty field fits. */
	assert_int_equal(mailotp_msg_add(&out, MAILOTP_TAG_ERROR, "", 0), MAILOTP_ERR_TOOBIG);

	w.fd = p->fd[0];
	w.m = &out;
	w.r = -100;
	assert_int_equal(pthread_create(&th, NULL, big_writer_run, &w), 0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.r, 0);
	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.f[0].len, vlen);
	assert_memory_equal(f.f[0].val, big, vlen);
	free(big);
	mailotp_msg_clear(&out);
	mailotp_msg_clear(&in);
}

static void test_add_limits(void **state)
{
	struct mailotp_msg m;
	uint8_t *big;
	uint16_t tag;

	(void)state;
	big = calloc(1, 65536);
	assert_non_null(big);
	assert_int_equal(mailotp_msg_init(&m, MAILOTP_MSG_AUTH_BEGIN), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_INFO, big, 65536), MAILOTP_ERR_TOOBIG);
	assert_int_equal(m.len, MAILOTP_PROTO_HEADER_LEN);
	/* A 65535-byte value is legal for a field but not with its header in 64 KiB. */
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_INFO, big, 65535), MAILOTP_ERR_TOOBIG);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_INFO, big, 65533), MAILOTP_ERR_TOOBIG);
	assert_int_equal(m.len, MAILOTP_PROTO_HEADER_LEN);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_INFO, big, 65532), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_ERROR, "", 0), MAILOTP_ERR_TOOBIG);
	mailotp_msg_clear(&m);

	/* The payload limit counts every field header. */
	assert_int_equal(mailotp_msg_init(&m, MAILOTP_MSG_AUTH_BEGIN), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_INFO, big, 40000), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_ERROR, big, 65536 - 40008 + 1),
	                 MAILOTP_ERR_TOOBIG);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_ERROR, big, 65536 - 40008), 0);
	assert_int_equal(m.len, MAILOTP_PROTO_HEADER_LEN + MAILOTP_PROTO_MAX_PAYLOAD);
	mailotp_msg_clear(&m);

	/* Sixteen fields fit; the seventeenth does not. */
	assert_int_equal(mailotp_msg_init(&m, MAILOTP_MSG_AUTH_BEGIN), 0);
	for (tag = 1; tag <= MAILOTP_PROTO_MAX_FIELDS; tag++)
		assert_int_equal(mailotp_msg_add_u32(&m, tag, tag), 0);
	assert_int_equal(mailotp_msg_add_u32(&m, 17, 17), MAILOTP_ERR_TOOBIG);
	assert_int_equal(mailotp_msg_add_str(&m, 17, ""), MAILOTP_ERR_TOOBIG);
	mailotp_msg_clear(&m);
	free(big);
}

struct dribbler {
	int fd;
	uint8_t *buf;
	size_t len;
	int delay_us;
};

static void *dribble_run(void *arg)
{
	struct dribbler *d = arg;
	size_t i;

	for (i = 0; i < d->len; i++) {
		/* MSG_NOSIGNAL: the reader may hang up first on purpose. */
		if (send(d->fd, d->buf + i, 1, MSG_NOSIGNAL) != 1)
			break;
		usleep((useconds_t)d->delay_us);
	}
	return NULL;
}

/* A frame that arrives one byte at a time is still read whole. */
static void test_dribble(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out, in;
	struct mailotp_fields f;
	struct dribbler d;
	pthread_t th;

	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_AUTH_CODE), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_CODE, "123 456"), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_USER, "bob"), 0);
	d.fd = p->fd[0];
	d.buf = out.buf;
	d.len = out.len;
	d.delay_us = 2000;
	assert_int_equal(pthread_create(&th, NULL, dribble_run, &d), 0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	pthread_join(th, NULL);
	assert_int_equal(in.type, MAILOTP_MSG_AUTH_CODE);
	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_str_field(&f, MAILOTP_TAG_CODE, "123 456");
	assert_str_field(&f, MAILOTP_TAG_USER, "bob");
	mailotp_msg_clear(&out);
	mailotp_msg_clear(&in);
}

static void test_read_timeout_silent(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg in;
	struct timespec t0;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, 200), MAILOTP_ERR_TIMEOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 190);
	assert_true(ms < 2000);
	assert_null(in.buf);
	mailotp_msg_clear(&in);
}

/*
 * The timeout bounds the whole frame, not each read: a peer that sends a
 * byte every 100 ms cannot keep the reader waiting past 300 ms.
 */
static void test_read_timeout_is_total(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out, in;
	struct dribbler d;
	struct timespec t0;
	pthread_t th;
	long ms;

	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_AUTH_CODE), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_CODE, "123456"), 0);
	d.fd = p->fd[0];
	d.buf = out.buf;
	d.len = out.len;
	d.delay_us = 100000;
	assert_int_equal(pthread_create(&th, NULL, dribble_run, &d), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, 300), MAILOTP_ERR_TIMEOUT);
	ms = elapsed_ms(&t0);
	assert_true(ms >= 290);
	assert_true(ms < 1500);
	/* Let the dribbler finish into the void. */
	shutdown(p->fd[1], SHUT_RDWR);
	pthread_join(th, NULL);
	mailotp_msg_clear(&out);
	mailotp_msg_clear(&in);
}

/* Nobody reads: the write gives up in time instead of blocking. */
static void test_write_timeout(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out;
	struct timespec t0;
	uint8_t *big;
	int i, r = 0, sz = 4096;
	long ms = 0;

	assert_int_equal(setsockopt(p->fd[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	big = calloc(1, 60000);
	assert_non_null(big);
	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_ACCT), 0);
	assert_int_equal(mailotp_msg_add(&out, MAILOTP_TAG_INFO, big, 60000), 0);
	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = mailotp_msg_write(p->fd[0], &out, 200);
		ms = elapsed_ms(&t0);
		if (r != 0)
			break;
	}
	assert_int_equal(r, MAILOTP_ERR_TIMEOUT);
	assert_true(ms >= 190);
	assert_true(ms < 2000);
	mailotp_msg_clear(&out);
	free(big);
}

static void test_eof(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg in;

	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), MAILOTP_ERR_CLOSED);
	assert_null(in.buf);
}

/* A peer that hangs up inside a frame sent a broken frame, not a clean EOF. */
static void test_eof_inside_frame(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg in;
	uint8_t h[MAILOTP_PROTO_HEADER_LEN + 3];

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 10);
	memcpy(h + MAILOTP_PROTO_HEADER_LEN, "\x00\x01\x00", 3);
	write_all(p->fd[0], h, sizeof(h));
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), MAILOTP_ERR_PROTO);
	assert_null(in.buf);
}

static void test_eof_inside_header(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg in;

	write_all(p->fd[0], "MOT", 3);
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), MAILOTP_ERR_PROTO);
}

/* Writing to a closed peer returns an error; SIGPIPE would kill this test. */
static void test_write_closed(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg out;

	close(p->fd[1]);
	p->fd[1] = -1;
	assert_int_equal(mailotp_msg_init(&out, MAILOTP_MSG_ACCT), 0);
	assert_int_equal(mailotp_msg_add_str(&out, MAILOTP_TAG_USER, "alice"), 0);
	assert_int_equal(mailotp_msg_write(p->fd[0], &out, TIMEOUT_MS), MAILOTP_ERR_CLOSED);
	mailotp_msg_clear(&out);
}

static void expect_bad_header(int wfd, int rfd, const uint8_t *h, int want)
{
	struct mailotp_msg in;
	struct timespec t0;

	write_all(wfd, h, MAILOTP_PROTO_HEADER_LEN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mailotp_msg_read(rfd, &in, TIMEOUT_MS), want);
	/* Refused at once, without waiting for a payload that never comes. */
	assert_true(elapsed_ms(&t0) < 1000);
	assert_null(in.buf);
}

static void test_bad_header(void **state)
{
	struct pair *p = *state;
	uint8_t h[MAILOTP_PROTO_HEADER_LEN];

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[0] = 'X';
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[3] = 'p';
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[4] = 2;
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[4] = 0;
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[6] = 0x80;
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 4);
	h[7] = 0x01;
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);

	/* Unknown message types. */
	raw_header(h, 0, 4);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);
	raw_header(h, MAILOTP_MSG_AUTH_COMBINED + 1, 4);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);
	raw_header(h, 0x80, 4);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_PROTO);
}

/*
 * An oversized length is refused from the header alone: no payload is
 * sent, so a reader that allocated and waited for it would time out.
 */
static void test_too_big(void **state)
{
	struct pair *p = *state;
	uint8_t h[MAILOTP_PROTO_HEADER_LEN];

	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, MAILOTP_PROTO_MAX_PAYLOAD + 1);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_TOOBIG);
	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 0xffffffffu);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_TOOBIG);
	raw_header(h, MAILOTP_MSG_AUTH_BEGIN, 0x80000000u);
	expect_bad_header(p->fd[0], p->fd[1], h, MAILOTP_ERR_TOOBIG);
}

static void expect_parse(const uint8_t *payload, size_t plen, int want, size_t want_n)
{
	struct mailotp_msg m;
	struct mailotp_fields f;

	raw_msg(&m, payload, plen);
	assert_int_equal(mailotp_fields_parse(&m, &f), want);
	assert_int_equal(f.n, want_n);
	mailotp_msg_clear(&m);
}

static void test_parse_bad_fields(void **state)
{
	uint8_t pl[200];
	size_t i;

	(void)state;
	/* A field that says 10 bytes but has 5. */
	memcpy(pl,
	       "\x00\x01\x00\x0a"
	       "abcde",
	       9);
	expect_parse(pl, 9, MAILOTP_ERR_PROTO, 0);
	/* Off by one: 6 announced, 5 there. */
	memcpy(pl,
	       "\x00\x01\x00\x06"
	       "abcde",
	       9);
	expect_parse(pl, 9, MAILOTP_ERR_PROTO, 0);
	/* Exactly fits. */
	memcpy(pl,
	       "\x00\x01\x00\x05"
	       "abcde",
	       9);
	expect_parse(pl, 9, 0, 1);
	/* Trailing bytes too short for a field header. */
	memcpy(pl,
	       "\x00\x01\x00\x01"
	       "a\x00\x02\x00",
	       8);
	expect_parse(pl, 8, MAILOTP_ERR_PROTO, 0);
	/* A field header announcing 0xffff bytes. */
	memcpy(pl, "\x00\x01\xff\xff", 4);
	expect_parse(pl, 4, MAILOTP_ERR_PROTO, 0);
	/* Duplicate tag, even with different values. */
	memcpy(pl,
	       "\x00\x01\x00\x01"
	       "a\x00\x03\x00\x00\x00\x01\x00\x01"
	       "b",
	       14);
	expect_parse(pl, 14, MAILOTP_ERR_PROTO, 0);
	/* Duplicate of an unknown tag counts too. */
	memcpy(pl, "\x01\x00\x00\x00\x01\x00\x00\x00", 8);
	expect_parse(pl, 8, MAILOTP_ERR_PROTO, 0);
	/* Sixteen empty fields are fine, seventeen are not. */
	for (i = 0; i < 17; i++) {
		put16(pl + 4 * i, (uint16_t)(i + 1));
		put16(pl + 4 * i + 2, 0);
	}
	expect_parse(pl, 16 * 4, 0, 16);
	expect_parse(pl, 17 * 4, MAILOTP_ERR_PROTO, 0);
}

/* A header length that disagrees with the buffer is refused. */
static void test_parse_length_mismatch(void **state)
{
	struct mailotp_msg m;
	struct mailotp_fields f;

	(void)state;
	raw_msg(&m,
	        (const uint8_t *)"\x00\x01\x00\x01"
	                         "a",
	        5);
	put32(m.buf + 8, 4);
	assert_int_equal(mailotp_fields_parse(&m, &f), MAILOTP_ERR_PROTO);
	mailotp_msg_clear(&m);
}

static void test_string_fields(void **state)
{
	struct mailotp_msg m;
	struct mailotp_fields f;
	char *s;

	(void)state;
	assert_int_equal(mailotp_msg_init(&m, MAILOTP_MSG_AUTH_BEGIN), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_USER, "ali\0ce", 6), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_SERVICE, "sshd\0", 5), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_RHOST, "\0", 1), 0);
	assert_int_equal(mailotp_msg_add_str(&m, MAILOTP_TAG_TTY, "pts/0"), 0);
	assert_int_equal(mailotp_fields_parse(&m, &f), 0);

	s = (char *)1;
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_USER, 1, &s), MAILOTP_ERR_PROTO);
	assert_null(s);
	s = (char *)1;
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_SERVICE, 0, &s), MAILOTP_ERR_PROTO);
	assert_null(s);
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_RHOST, 0, &s), MAILOTP_ERR_PROTO);
	assert_str_field(&f, MAILOTP_TAG_TTY, "pts/0");

	/* Missing: an error only when required. */
	s = (char *)1;
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_PASSWORD, 1, &s), MAILOTP_ERR_PROTO);
	assert_null(s);
	s = (char *)1;
	assert_int_equal(mailotp_fields_str(&f, MAILOTP_TAG_PASSWORD, 0, &s), 0);
	assert_null(s);
	mailotp_msg_clear(&m);
}

static void test_u32_fields(void **state)
{
	struct mailotp_msg m;
	struct mailotp_fields f;
	uint32_t v;

	(void)state;
	assert_int_equal(mailotp_msg_init(&m, MAILOTP_MSG_AUTH_CODE | MAILOTP_MSG_REPLY), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_STATUS, "\x00\x00\x03", 3), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_REMAINING, "\x00\x00\x00\x00\x02", 5), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_FLAGS, "", 0), 0);
	assert_int_equal(mailotp_msg_add(&m, MAILOTP_TAG_CODE, "\x01\x02\x03\x04", 4), 0);
	assert_int_equal(mailotp_fields_parse(&m, &f), 0);

	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_STATUS, 0, &v), MAILOTP_ERR_PROTO);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_REMAINING, 0, &v), MAILOTP_ERR_PROTO);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_FLAGS, 0, &v), MAILOTP_ERR_PROTO);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_CODE, 0, &v), 0);
	assert_int_equal(v, 0x01020304u);
	assert_int_equal(mailotp_fields_u32(&f, MAILOTP_TAG_ANSWER, 42, &v), 0);
	assert_int_equal(v, 42);
	mailotp_msg_clear(&m);
}

/* A whole request survives a round trip whose payload the parser then refuses. */
static void test_read_then_parse_refuses(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg in;
	struct mailotp_fields f;
	uint8_t fr[MAILOTP_PROTO_HEADER_LEN + 6];

	raw_header(fr, MAILOTP_MSG_AUTH_BEGIN, 6);
	memcpy(fr + MAILOTP_PROTO_HEADER_LEN, "\x00\x01\x00\x09xy", 6);
	write_all(p->fd[0], fr, sizeof(fr));
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_fields_parse(&in, &f), MAILOTP_ERR_PROTO);
	mailotp_msg_clear(&in);
}

/* Two frames back to back on one stream are read one at a time. */
static void test_two_frames(void **state)
{
	struct pair *p = *state;
	struct mailotp_msg a, b, in;
	struct mailotp_fields f;

	assert_int_equal(mailotp_msg_init(&a, MAILOTP_MSG_AUTH_CODE), 0);
	assert_int_equal(mailotp_msg_add_str(&a, MAILOTP_TAG_CODE, "111111"), 0);
	assert_int_equal(mailotp_msg_init(&b, MAILOTP_MSG_AUTH_CODE), 0);
	assert_int_equal(mailotp_msg_add_str(&b, MAILOTP_TAG_CODE, "222222"), 0);
	assert_int_equal(mailotp_msg_write(p->fd[0], &a, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_msg_write(p->fd[0], &b, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_str_field(&f, MAILOTP_TAG_CODE, "111111");
	mailotp_msg_clear(&in);
	assert_int_equal(mailotp_msg_read(p->fd[1], &in, TIMEOUT_MS), 0);
	assert_int_equal(mailotp_fields_parse(&in, &f), 0);
	assert_str_field(&f, MAILOTP_TAG_CODE, "222222");
	mailotp_msg_clear(&in);
	mailotp_msg_clear(&a);
	mailotp_msg_clear(&b);
}

#define PAIR_TEST(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    PAIR_TEST(test_round_trip),
	    PAIR_TEST(test_round_trip_empty_reply),
	    PAIR_TEST(test_round_trip_max_payload),
	    cmocka_unit_test(test_add_limits),
	    PAIR_TEST(test_dribble),
	    PAIR_TEST(test_read_timeout_silent),
	    PAIR_TEST(test_read_timeout_is_total),
	    PAIR_TEST(test_write_timeout),
	    PAIR_TEST(test_eof),
	    PAIR_TEST(test_eof_inside_frame),
	    PAIR_TEST(test_eof_inside_header),
	    PAIR_TEST(test_write_closed),
	    PAIR_TEST(test_bad_header),
	    PAIR_TEST(test_too_big),
	    cmocka_unit_test(test_parse_bad_fields),
	    cmocka_unit_test(test_parse_length_mismatch),
	    cmocka_unit_test(test_string_fields),
	    cmocka_unit_test(test_u32_fields),
	    PAIR_TEST(test_read_then_parse_refuses),
	    PAIR_TEST(test_two_frames),
	};

	/* Belt and braces would hide a missing MSG_NOSIGNAL: keep SIGPIPE fatal. */
	signal(SIGPIPE, SIG_DFL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
