/*
 * include/mailotp/protocol.h, the receiving side: bytes from a peer (the
 * PAM client's requests as the daemon reads them, the daemon's replies as
 * the client reads them) through mailotp_msg_read, mailotp_fields_parse,
 * mailotp_fields_str and mailotp_fields_u32.
 *
 * The input is written into one end of a fresh socketpair, the writing
 * end is shut down, and frames are read from the other end until an
 * error, so one input can hold several frames.
 *
 * Properties:
 *  - mailotp_fields_parse agrees with an independent parser (accept or
 *    refuse, and the same fields);
 *  - the builder round trip: mailotp_msg_init + mailotp_msg_add of every
 *    parsed field gives byte for byte the frame that was read, and
 *    reparsing it gives the same fields; written with mailotp_msg_write
 *    and read back with mailotp_msg_read, it is the same again;
 *  - mailotp_fields_str: a copy with the field's bytes, refused exactly
 *    when it holds a NUL; mailotp_fields_u32: refused exactly when the
 *    field is not 4 bytes long;
 *  - a frame the reader accepts has a known type, version 1, reserved 0
 *    and a payload of at most MAILOTP_PROTO_MAX_PAYLOAD bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mailotp/protocol.h"

#define TIMEOUT_MS 2000

static void fd_pair(int sv[2])
{
	int sz = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	/* room for a whole maximal frame and then some, so writes never block */
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

/* Writes what fits without blocking; the rest of a huge input is dropped. */
static void feed(int fd, const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	while (off < size) {
		n = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Independent parse of the payload: -1 when it breaks a rule. */
static int ref_parse(const uint8_t *p, size_t left, struct mailotp_fields *out)
{
	size_t i;

	out->n = 0;
	while (left > 0) {
		uint16_t tag, len;

		if (left < 4)
			return -1;
		tag = be16(p);
		len = be16(p + 2);
		if ((size_t)len + 4 > left || out->n == MAILOTP_PROTO_MAX_FIELDS)
			return -1;
		for (i = 0; i < out->n; i++)
			if (out->f[i].tag == tag)
				return -1;
		out->f[out->n].tag = tag;
		out->f[out->n].len = len;
		out->f[out->n].val = p + 4;
		out->n++;
		p += 4 + len;
		left -= 4 + (size_t)len;
	}
	return 0;
}

static void same_fields(const struct mailotp_fields *a, const struct mailotp_fields *b)
{
	size_t i;

	FUZZ_CHECK(a->n == b->n, "field count %zu != %zu", a->n, b->n);
	for (i = 0; i < a->n; i++) {
		FUZZ_CHECK(a->f[i].tag == b->f[i].tag && a->f[i].len == b->f[i].len &&
		               (a->f[i].len == 0 || memcmp(a->f[i].val, b->f[i].val, a->f[i].len) == 0),
		           "field %zu differs", i);
	}
}

static void check_accessors(const struct mailotp_fields *f)
{
	unsigned tag;

	for (tag = 0; tag <= 17; tag++) {
		const struct mailotp_field *fld = mailotp_fields_find(f, (uint16_t)tag);
		char *s = NULL;
		uint32_t u = 0;
		int r = mailotp_fields_str(f, (uint16_t)tag, (int)(tag & 1), &s);

		if (fld == NULL) {
			FUZZ_CHECK(s == NULL && r == ((tag & 1) ? MAILOTP_ERR_PROTO : 0),
			           "missing field: str r=%d", r);
		} else if (fld->len != 0 && memchr(fld->val, '\0', fld->len) != NULL) {
			FUZZ_CHECK(r == MAILOTP_ERR_PROTO && s == NULL, "NUL inside a string accepted");
		} else {
			FUZZ_CHECK(r == 0 && s != NULL && strlen(s) == fld->len &&
			               memcmp(s, fld->val, fld->len) == 0,
			           "string field copied wrongly (r=%d)", r);
		}
		free(s);
		r = mailotp_fields_u32(f, (uint16_t)tag, 0xdeadbeefu, &u);
		if (fld == NULL)
			FUZZ_CHECK(r == 0 && u == 0xdeadbeefu, "missing u32 field: r=%d", r);
		else if (fld->len != 4)
			FUZZ_CHECK(r == MAILOTP_ERR_PROTO, "u32 of %u bytes accepted", fld->len);
		else
			FUZZ_CHECK(r == 0 && u == ((uint32_t)fld->val[0] << 24 | (uint32_t)fld->val[1] << 16 |
			                           (uint32_t)fld->val[2] << 8 | fld->val[3]),
			           "u32 decoded wrongly");
	}
}

static void roundtrip(const struct mailotp_msg *m, const struct mailotp_fields *f)
{
	struct mailotp_msg b, back;
	struct mailotp_fields f2, f3;
	int sv[2], r;
	size_t i;

	FUZZ_CHECK(mailotp_msg_init(&b, m->type) == 0, "msg_init");
	for (i = 0; i < f->n; i++) {
		r = mailotp_msg_add(&b, f->f[i].tag, f->f[i].val, f->f[i].len);
		FUZZ_CHECK(r == 0, "rebuilding a parsed frame: add %zu failed r=%d", i, r);
	}
	FUZZ_CHECK(b.len == m->len && memcmp(b.buf, m->buf, m->len) == 0,
	           "rebuilt frame differs from the one read");
	FUZZ_CHECK(mailotp_fields_parse(&b, &f2) == 0, "rebuilt frame does not parse");
	same_fields(f, &f2);

	fd_pair(sv);
	FUZZ_CHECK(mailotp_msg_write(sv[0], &b, TIMEOUT_MS) == 0, "msg_write to a socketpair failed");
	shutdown(sv[0], SHUT_WR);
	FUZZ_CHECK((r = mailotp_msg_read(sv[1], &back, TIMEOUT_MS)) == 0, "reading back: r=%d", r);
	FUZZ_CHECK(back.type == m->type && back.len == m->len &&
	               memcmp(back.buf, m->buf, m->len) == 0,
	           "frame read back differs");
	FUZZ_CHECK(mailotp_fields_parse(&back, &f3) == 0, "frame read back does not parse");
	same_fields(f, &f3);
	mailotp_msg_clear(&back);
	FUZZ_CHECK(mailotp_msg_read(sv[1], &back, TIMEOUT_MS) == MAILOTP_ERR_CLOSED,
	           "no clean EOF after the frame");
	mailotp_msg_clear(&back);
	close(sv[0]);
	close(sv[1]);
	mailotp_msg_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailotp_msg m;
	struct mailotp_fields f, ref;
	int sv[2], r, rr, frames;

	fd_pair(sv);
	feed(sv[0], data, size);
	for (frames = 0; frames < 64; frames++) {
		r = mailotp_msg_read(sv[1], &m, TIMEOUT_MS);
		if (r != 0) {
			FUZZ_CHECK(m.buf == NULL && m.len == 0, "failed read left a buffer");
			FUZZ_CHECK(r != MAILOTP_ERR_TIMEOUT, "read timed out on a closed socket");
			mailotp_msg_clear(&m);
			break;
		}
		FUZZ_CHECK(m.len >= MAILOTP_PROTO_HEADER_LEN &&
		               m.len - MAILOTP_PROTO_HEADER_LEN <= MAILOTP_PROTO_MAX_PAYLOAD,
		           "accepted frame of %zu bytes", m.len);
		FUZZ_CHECK(memcmp(m.buf, "MOTP", 4) == 0 && m.buf[4] == 1 && m.buf[6] == 0 &&
		               m.buf[7] == 0 && m.buf[5] == m.type,
		           "accepted a bad header");
		FUZZ_CHECK((m.type & 0x7f) >= 1 && (m.type & 0x7f) <= 6, /* AUTH_BEGIN .. AUTH_COMBINED */
		           "accepted type 0x%02x", m.type);

		r = mailotp_fields_parse(&m, &f);
		rr = ref_parse(m.buf + MAILOTP_PROTO_HEADER_LEN, m.len - MAILOTP_PROTO_HEADER_LEN, &ref);
		FUZZ_CHECK((r == 0) == (rr == 0), "fields_parse r=%d, reference %d", r, rr);
		if (r == 0) {
			same_fields(&f, &ref);
			check_accessors(&f);
			roundtrip(&m, &f);
		} else {
			FUZZ_CHECK(r == MAILOTP_ERR_PROTO && f.n == 0, "refused parse left %zu fields", f.n);
			check_accessors(&f);
		}
		mailotp_msg_clear(&m);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
