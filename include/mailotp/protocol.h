/*
 * The socket protocol between pam_mailotp.so (the client) and mailotpd.
 *
 * Transport
 *   A UNIX stream socket (config key pam_socket, default
 *   /run/mailotp/pam.sock). The daemon checks the peer with SO_PEERCRED
 *   against pam_allow before it reads anything; a refused peer gets one
 *   reply with status MAILOTP_ST_NOT_ALLOWED and the connection is closed.
 *   One connection carries one PAM call (pam_authenticate, pam_acct_mgmt
 *   or pam_chauthtok): a request, its reply, and follow-up requests of the
 *   same call (the one-time code, the consent answer). State such as the
 *   expected code lives with the connection and dies with it, so a code
 *   from one transaction can never be used in another. The one exception
 *   is AUTH_COMBINED, whose code is mailed in one call and used in the
 *   next: it is kept by the daemon per account, and is only ever accepted
 *   by another AUTH_COMBINED (never by AUTH_CODE).
 *
 * Framing (all integers big-endian, version 1)
 *   offset size  field
 *   0      4     magic "MOTP"
 *   4      1     version (MAILOTP_PROTO_VERSION); any other value is an error
 *   5      1     message type (MAILOTP_MSG_*)
 *   6      2     reserved, must be 0
 *   8      4     payload length N, 0 <= N <= MAILOTP_PROTO_MAX_PAYLOAD
 *   12     N     payload: a sequence of fields
 *
 *   field: tag (2 bytes) | length L (2 bytes) | L bytes of value
 *
 *   Limits, checked before anything is allocated or copied: a payload of
 *   at most MAILOTP_PROTO_MAX_PAYLOAD bytes, at most
 *   MAILOTP_PROTO_MAX_FIELDS fields, each tag at most once, every field
 *   wholly inside the payload. Strings are UTF-8 without a terminating or
 *   embedded NUL. Integers (STATUS, FLAGS, REMAINING) are 4-byte unsigned.
 *   A receiver rejects an unknown message type; it ignores unknown tags so
 *   that later versions can add optional fields. A frame that breaks any
 *   rule ends the connection (the daemon logs why).
 *
 *   Both sides bound each read and write with a timeout; the daemon also
 *   bounds how long it waits for a follow-up request (otp_ttl for a code).
 *
 * Messages (request -> reply; a reply's type is the request's | 0x80)
 *   AUTH_BEGIN  USER, [PASSWORD], SERVICE, [RHOST], [RUSER], [TTY], FLAGS
 *               -> STATUS, [INFO], [ERROR], [PROMPT]
 *               STATUS OK: a code was mailed; show INFO (the masked address)
 *               and ask PROMPT with echo off, then send AUTH_CODE.
 *   AUTH_CODE   CODE -> STATUS, [ERROR], [PROMPT], [REMAINING]
 *               STATUS RETRY: show ERROR, ask PROMPT again, send AUTH_CODE.
 *   AUTH_COMBINED USER, PASSWORD, SERVICE, [RHOST], [RUSER], [TTY], FLAGS
 *               -> STATUS, [INFO], [ERROR]
 *               For clients that can pass one secret per login (the module's
 *               `combined` argument, for HTTP Basic gateways). PASSWORD is
 *               the password, or the password followed directly by the code
 *               mailed after an earlier AUTH_COMBINED for the same account
 *               (kept by the daemon across connections, used once).
 *               STATUS OK: password and code right, the login passes.
 *               STATUS DENIED with INFO: the password was right and a code
 *               was mailed; show INFO, the login fails this time. Any other
 *               status: show ERROR if any, the login fails. No follow-up.
 *   ACCT        USER, SERVICE, [RHOST], [RUSER], [TTY], FLAGS
 *               -> STATUS, [INFO], [ERROR], [PROMPT]
 *               STATUS CONSENT_REQUIRED: show INFO (the terms), ask PROMPT
 *               with echo on, send CONSENT.
 *   CONSENT     ANSWER -> STATUS, [ERROR]
 *   CHAUTHTOK   USER, SERVICE, [OLD_PASSWORD], NEW_PASSWORD, FLAGS
 *               -> STATUS, [INFO], [ERROR]
 *
 * INFO and ERROR are texts already in the account's language, for the
 * client to show as PAM_TEXT_INFO and PAM_ERROR_MSG; the client does not
 * interpret them. Secrets (PASSWORD, CODE, NEW_PASSWORD) are wiped by both
 * sides as soon as they are used.
 */
#ifndef MAILOTP_PROTOCOL_H
#define MAILOTP_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "mailotp/error.h"

#define MAILOTP_PROTO_MAGIC "MOTP"
#define MAILOTP_PROTO_VERSION 1
#define MAILOTP_PROTO_HEADER_LEN 12
#define MAILOTP_PROTO_MAX_PAYLOAD 65536
#define MAILOTP_PROTO_MAX_FIELDS 16

/* Message types. Replies are the request type | MAILOTP_MSG_REPLY. */
enum mailotp_msg_type {
	MAILOTP_MSG_AUTH_BEGIN = 1,
	MAILOTP_MSG_AUTH_CODE = 2,
	MAILOTP_MSG_ACCT = 3,
	MAILOTP_MSG_CONSENT = 4,
	MAILOTP_MSG_CHAUTHTOK = 5,
	MAILOTP_MSG_AUTH_COMBINED = 6,
	MAILOTP_MSG_REPLY = 0x80,
};

/* Field tags. */
enum mailotp_tag {
	MAILOTP_TAG_USER = 1,
	MAILOTP_TAG_PASSWORD = 2,
	MAILOTP_TAG_SERVICE = 3,
	MAILOTP_TAG_RHOST = 4,
	MAILOTP_TAG_RUSER = 5,
	MAILOTP_TAG_TTY = 6,
	MAILOTP_TAG_FLAGS = 7,
	MAILOTP_TAG_CODE = 8,
	MAILOTP_TAG_STATUS = 9,
	MAILOTP_TAG_INFO = 10,
	MAILOTP_TAG_ERROR = 11,
	MAILOTP_TAG_PROMPT = 12,
	MAILOTP_TAG_REMAINING = 13,
	MAILOTP_TAG_ANSWER = 14,
	MAILOTP_TAG_OLD_PASSWORD = 15,
	MAILOTP_TAG_NEW_PASSWORD = 16,
};

/* FLAGS bits. */
#define MAILOTP_FLAG_OTP_ONLY 0x1u    /* another module checked the password */
#define MAILOTP_FLAG_SILENT 0x2u      /* PAM_SILENT: the client shows no INFO */
#define MAILOTP_FLAG_PRELIM 0x4u      /* CHAUTHTOK: PAM_PRELIM_CHECK only */
#define MAILOTP_FLAG_INTERACTIVE 0x8u /* the client can ask questions */

/*
 * Reply status values, mapped to PAM codes by the client in one place
 * (status_to_pam in pam_module/pam_mailotp.c): every value not listed there is a denial.
 */
enum mailotp_status {
	MAILOTP_ST_OK = 0,                    /* PAM_SUCCESS (or: code mailed, ask it) */
	MAILOTP_ST_DENIED = 1,                /* PAM_AUTH_ERR */
	MAILOTP_ST_UNAVAIL = 2,               /* PAM_AUTHINFO_UNAVAIL: directory down */
	MAILOTP_ST_RETRY = 3,                 /* wrong code, ask again */
	MAILOTP_ST_MAXTRIES = 4,              /* PAM_MAXTRIES */
	MAILOTP_ST_NEW_AUTHTOK_REQD = 5,      /* PAM_NEW_AUTHTOK_REQD */
	MAILOTP_ST_PERM_DENIED = 6,           /* PAM_PERM_DENIED */
	MAILOTP_ST_ACCT_EXPIRED = 7,          /* PAM_ACCT_EXPIRED */
	MAILOTP_ST_AUTHTOK_ERR = 8,           /* PAM_AUTHTOK_ERR: new password refused */
	MAILOTP_ST_CONSENT_REQUIRED = 9,      /* show INFO, ask PROMPT, send CONSENT */
	MAILOTP_ST_BAD_REQUEST = 10,          /* PAM_SERVICE_ERR: client bug */
	MAILOTP_ST_NOT_ALLOWED = 11,          /* PAM_AUTHINFO_UNAVAIL: caller refused */
	MAILOTP_ST_USER_UNKNOWN = 12,         /* PAM_USER_UNKNOWN (account stage only) */
	MAILOTP_ST_MAIL_FAILED = 13,          /* PAM_AUTH_ERR: the code could not be mailed */
	MAILOTP_ST_AUTHTOK_RECOVERY_ERR = 14, /* PAM_AUTHTOK_RECOVERY_ERR: old password wrong */
};

/* A message being built or read. The buffer holds header and payload. */
struct mailotp_msg {
	uint8_t type;
	uint8_t *buf; /* MAILOTP_PROTO_HEADER_LEN + payload */
	size_t len;   /* bytes used, header included */
	size_t cap;
};

/* One field of a parsed payload; val points into the message buffer. */
struct mailotp_field {
	uint16_t tag;
	uint16_t len;
	const uint8_t *val;
};

struct mailotp_fields {
	size_t n;
	struct mailotp_field f[MAILOTP_PROTO_MAX_FIELDS];
};

/* Starts an empty message of the given type. Returns 0 or MAILOTP_ERR_NOMEM. */
int mailotp_msg_init(struct mailotp_msg *m, uint8_t type) MAILOTP_MUST_CHECK;

/*
 * Appends a field. Returns 0, MAILOTP_ERR_TOOBIG when the value is over
 * 65535 bytes, the payload would pass MAILOTP_PROTO_MAX_PAYLOAD or the
 * message would hold more than MAILOTP_PROTO_MAX_FIELDS fields, or
 * MAILOTP_ERR_NOMEM.
 */
int mailotp_msg_add(struct mailotp_msg *m, uint16_t tag, const void *val,
                    size_t len) MAILOTP_MUST_CHECK;
/* Appends a string field (without its NUL); NULL adds nothing and returns 0. */
int mailotp_msg_add_str(struct mailotp_msg *m, uint16_t tag, const char *s) MAILOTP_MUST_CHECK;
/* Appends a 4-byte big-endian integer field. */
int mailotp_msg_add_u32(struct mailotp_msg *m, uint16_t tag, uint32_t v) MAILOTP_MUST_CHECK;

/* Wipes the whole buffer (it may hold secrets), frees it, resets *m. NULL-safe. */
void mailotp_msg_clear(struct mailotp_msg *m);

/*
 * Writes the whole frame to fd within timeout_ms milliseconds (in total).
 * Never raises SIGPIPE. Returns 0, MAILOTP_ERR_TIMEOUT, MAILOTP_ERR_CLOSED
 * or MAILOTP_ERR_IO.
 */
int mailotp_msg_write(int fd, const struct mailotp_msg *m, int timeout_ms) MAILOTP_MUST_CHECK;

/*
 * Reads one frame from fd within timeout_ms milliseconds (in total) into
 * *m (initialised here; clear it with mailotp_msg_clear even on error).
 * Checks magic, version, reserved bits and the payload limit before
 * allocating. Returns 0, MAILOTP_ERR_TIMEOUT, MAILOTP_ERR_CLOSED (EOF
 * before the first byte), MAILOTP_ERR_PROTO, MAILOTP_ERR_TOOBIG,
 * MAILOTP_ERR_NOMEM or MAILOTP_ERR_IO.
 */
int mailotp_msg_read(int fd, struct mailotp_msg *m, int timeout_ms) MAILOTP_MUST_CHECK;

/*
 * Splits the payload of m into fields. Returns 0, or MAILOTP_ERR_PROTO for
 * a field that runs past the payload, a repeated tag, or more than
 * MAILOTP_PROTO_MAX_FIELDS fields.
 */
int mailotp_fields_parse(const struct mailotp_msg *m,
                         struct mailotp_fields *out) MAILOTP_MUST_CHECK;

/* Returns the field with this tag, or NULL. */
const struct mailotp_field *mailotp_fields_find(const struct mailotp_fields *f, uint16_t tag);

/*
 * Copies a string field into a new NUL-terminated buffer (*out, malloc'd;
 * the caller wipes and frees it if it is a secret). A missing field gives
 * *out = NULL and returns 0 unless required is non-zero
 * (MAILOTP_ERR_PROTO). An embedded NUL is MAILOTP_ERR_PROTO.
 */
int mailotp_fields_str(const struct mailotp_fields *f, uint16_t tag, int required,
                       char **out) MAILOTP_MUST_CHECK;

/* Reads a 4-byte integer field; missing gives def. Wrong size: MAILOTP_ERR_PROTO. */
int mailotp_fields_u32(const struct mailotp_fields *f, uint16_t tag, uint32_t def,
                       uint32_t *out) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_PROTOCOL_H */
