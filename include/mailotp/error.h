/*
 * mailotp error codes.
 *
 * Every function of lib/ that can fail returns 0 on success or one of the
 * negative MAILOTP_ERR_* codes below; call sites read
 *
 *	if ((r = mailotp_thing_do(...)) != 0)
 *		goto out;
 *
 * The codes are stable within one build only; they never cross the socket
 * (the protocol has its own status values, see protocol.h).
 */
#ifndef MAILOTP_ERROR_H
#define MAILOTP_ERROR_H

#include <stddef.h>

enum mailotp_err {
	MAILOTP_OK = 0,
	MAILOTP_ERR_INTERNAL = -1,      /* a bug or an impossible state */
	MAILOTP_ERR_NOMEM = -2,         /* allocation failed */
	MAILOTP_ERR_INVALID = -3,       /* bad argument or malformed input */
	MAILOTP_ERR_CONFIG = -4,        /* configuration is wrong */
	MAILOTP_ERR_IO = -5,            /* read/write/socket error (errno kept) */
	MAILOTP_ERR_PROTO = -6,         /* malformed or unexpected frame */
	MAILOTP_ERR_TOOBIG = -7,        /* a length or count over its limit */
	MAILOTP_ERR_LDAP_DOWN = -8,     /* no directory server answered in time */
	MAILOTP_ERR_LDAP = -9,          /* the directory answered with an error */
	MAILOTP_ERR_NOT_FOUND = -10,    /* no such account (or not exactly one) */
	MAILOTP_ERR_BAD_PASSWORD = -11, /* bind refused: wrong password, locked, ... */
	MAILOTP_ERR_SMTP = -12,         /* the mail server could not be reached */
	MAILOTP_ERR_SMTP_REFUSED = -13, /* the mail server refused the message */
	MAILOTP_ERR_TEMPLATE = -14,     /* a template is missing or malformed */
	MAILOTP_ERR_TIMEOUT = -15,      /* an operation ran out of time */
	MAILOTP_ERR_DENIED = -16,       /* the caller is not allowed */
	MAILOTP_ERR_EXPIRED = -17,      /* a code, token or password is too old */
	MAILOTP_ERR_BAD_CODE = -18,     /* a one-time code did not match */
	MAILOTP_ERR_MAXTRIES = -19,     /* too many wrong codes */
	MAILOTP_ERR_NO_MAIL = -20,      /* the account has no mail address */
	MAILOTP_ERR_THROTTLED = -21,    /* asked again too soon */
	MAILOTP_ERR_LOCKED = -22,       /* too many failures across sessions */
	MAILOTP_ERR_CONFLICT = -23,     /* lost a race against a concurrent change */
	MAILOTP_ERR_POLICY = -24,       /* a password does not meet the policy */
	MAILOTP_ERR_CRYPTO = -25,       /* libsodium failed (e.g. out of memory for argon2) */
	MAILOTP_ERR_CLOSED = -26,       /* the peer closed the connection */
};

/* Returns a static English description of an error code; never NULL. */
const char *mailotp_strerror(int err);

/*
 * Writes a formatted reason into err (errlen bytes, always NUL-terminated,
 * truncated if need be); does nothing when err is NULL or errlen is 0.
 */
void mailotp_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#if defined(__GNUC__)
#define MAILOTP_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MAILOTP_MUST_CHECK
#endif

#endif /* MAILOTP_ERROR_H */
