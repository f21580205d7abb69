/*
 * include/mailotp/protocol.h, the sending side: the builder
 * (mailotp_msg_init/add/add_str/add_u32) driven by the input, then
 * mailotp_msg_write, mailotp_msg_read and mailotp_fields_parse.
 *
 * Input: byte 0 is the message type; then operations, each
 *   op (1 byte: 0 add, 1 add_str, 2 add_u32), tag (2 bytes, big-endian),
 *   length (2 bytes, big-endian; cut to what is left), value bytes.
 * A length byte pair of 0xffff with op 0 asks for a value of 65535 zero
 * bytes, so the payload limit is reached without huge inputs.
 *
 * Properties: each add returns TOOBIG exactly when the field would pass
 * 16 fields or the 65536-byte payload (or is over 65535 bytes), and 0
 * otherwise; a frame of unique tags reads back and parses to exactly the
 * fields that were added; a repeated tag makes the parse refuse it.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "mailotp/protocol.h"

struct want {
	uint16_t tag;
	size_t len;
	const uint8_t *val;
	uint8_t u32[4];
};

static uint8_t zeros[65535];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct want w[MAILOTP_PROTO_MAX_FIELDS];
	struct mailotp_msg m, back;
	struct mailotp_fields f;
	size_t nw = 0, payload = 0, off = 1, i, j;
	char *strs[64];
	size_t nstr = 0;
	bool dup = false, read_ok = false;
	int sv[2], r, bufsz = 1 << 20;

	if (size < 1)
		return 0;
	FUZZ_CHECK(mailotp_msg_init(&m, data[0]) == 0, "msg_init");
	while (off + 5 <= size && nstr < 64) {
		uint8_t op = data[off] % 3;
		uint16_t tag = (uint16_t)(data[off + 1] << 8 | data[off + 2]);
		size_t len = (size_t)(data[off + 3] << 8 | data[off + 4]);
		const uint8_t *val;
		uint8_t u[4];
		bool fits;

		off += 5;
		if (op == 0 && len == 0xffff) {
			val = zeros;
		} else {
			if (len > size - off)
				len = size - off;
			val = data + off;
			off += len;
		}
		if (op == 1) {
			/* add_str: the value up to its first NUL */
			char *s = fuzz_strndup(val, len);

			strs[nstr++] = s;
			len = strlen(s);
			val = (const uint8_t *)s;
			r = mailotp_msg_add_str(&m, tag, s);
		} else if (op == 2) {
			u[0] = val == zeros || len < 1 ? 0 : val[0];
			u[1] = len < 2 ? 0 : val[1];
			u[2] = len < 3 ? 0 : val[2];
			u[3] = len < 4 ? 0 : val[3];
			len = 4;
			r = mailotp_msg_add_u32(&m, tag,
			                        (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 |
			                            (uint32_t)u[2] << 8 | u[3]);
		} else {
			r = mailotp_msg_add(&m, tag, val, len);
		}
		fits = nw < MAILOTP_PROTO_MAX_FIELDS && payload + 4 + len <= MAILOTP_PROTO_MAX_PAYLOAD;
		FUZZ_CHECK(fits ? r == 0 : r == MAILOTP_ERR_TOOBIG,
		           "add of %zu bytes as field %zu (payload %zu): r=%d", len, nw, payload, r);
		if (r == 0) {
			for (j = 0; j < nw; j++)
				dup |= w[j].tag == tag;
			w[nw].tag = tag;
			w[nw].len = len;
			w[nw].val = val;
			memcpy(w[nw].u32, u, 4);
			if (op == 2)
				w[nw].val = w[nw].u32;
			nw++;
			payload += 4 + len;
		}
		FUZZ_CHECK(m.len == MAILOTP_PROTO_HEADER_LEN + payload, "length bookkeeping");
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	FUZZ_CHECK(mailotp_msg_write(sv[0], &m, 2000) == 0, "msg_write");
	shutdown(sv[0], SHUT_WR);
	r = mailotp_msg_read(sv[1], &back, 2000);
	if ((m.type & 0x7f) < 1 || (m.type & 0x7f) > 6) { /* AUTH_BEGIN (1) .. AUTH_COMBINED (6) */
		FUZZ_CHECK(r == MAILOTP_ERR_PROTO, "unknown type 0x%02x read back: r=%d", m.type, r);
	} else {
		FUZZ_CHECK(r == 0, "reading our own frame back: r=%d", r);
		read_ok = true;
		FUZZ_CHECK(back.len == m.len && memcmp(back.buf, m.buf, m.len) == 0, "frame changed");
		r = mailotp_fields_parse(&back, &f);
		if (dup) {
			FUZZ_CHECK(r == MAILOTP_ERR_PROTO, "repeated tag accepted");
		} else {
			FUZZ_CHECK(r == 0 && f.n == nw, "parse of our own frame: r=%d n=%zu/%zu", r, f.n, nw);
			for (i = 0; i < nw; i++)
				FUZZ_CHECK(f.f[i].tag == w[i].tag && f.f[i].len == w[i].len &&
				               (w[i].len == 0 || memcmp(f.f[i].val, w[i].val, w[i].len) == 0),
				           "field %zu differs", i);
		}
	}
	if (read_ok) {
		mailotp_msg_clear(&back);
		FUZZ_CHECK(mailotp_msg_read(sv[1], &back, 2000) == MAILOTP_ERR_CLOSED,
		           "no clean EOF after our frame");
	}
	mailotp_msg_clear(&back);
	close(sv[0]);
	close(sv[1]);
	mailotp_msg_clear(&m);
	FUZZ_CHECK(m.buf == NULL && m.len == 0, "msg_clear");
	for (i = 0; i < nstr; i++)
		free(strs[i]);
	return 0;
}
