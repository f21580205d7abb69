/*
 * Error strings for the MAILOTP_ERR_* codes. Linked into the PAM module:
 * libc only, no allocation, no locale.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "mailotp/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *mailotp_strerror(int err)
{
	switch ((enum mailotp_err)err) {
	case MAILOTP_OK:
		return "success";
	case MAILOTP_ERR_INTERNAL:
		return "internal error";
	case MAILOTP_ERR_NOMEM:
		return "out of memory";
	case MAILOTP_ERR_INVALID:
		return "invalid argument or malformed input";
	case MAILOTP_ERR_CONFIG:
		return "configuration error";
	case MAILOTP_ERR_IO:
		return "input/output error";
	case MAILOTP_ERR_PROTO:
		return "protocol error";
	case MAILOTP_ERR_TOOBIG:
		return "length or count over its limit";
	case MAILOTP_ERR_LDAP_DOWN:
		return "directory server unavailable";
	case MAILOTP_ERR_LDAP:
		return "directory server error";
	case MAILOTP_ERR_NOT_FOUND:
		return "no such account";
	case MAILOTP_ERR_BAD_PASSWORD:
		return "password refused";
	case MAILOTP_ERR_SMTP:
		return "mail server unavailable";
	case MAILOTP_ERR_SMTP_REFUSED:
		return "mail server refused the message";
	case MAILOTP_ERR_TEMPLATE:
		return "template missing or malformed";
	case MAILOTP_ERR_TIMEOUT:
		return "timed out";
	case MAILOTP_ERR_DENIED:
		return "permission denied";
	case MAILOTP_ERR_EXPIRED:
		return "expired";
	case MAILOTP_ERR_BAD_CODE:
		return "wrong one-time code";
	case MAILOTP_ERR_MAXTRIES:
		return "too many wrong codes";
	case MAILOTP_ERR_NO_MAIL:
		return "account has no mail address";
	case MAILOTP_ERR_THROTTLED:
		return "asked again too soon";
	case MAILOTP_ERR_LOCKED:
		return "account locked after too many failures";
	case MAILOTP_ERR_CONFLICT:
		return "concurrent change conflict";
	case MAILOTP_ERR_POLICY:
		return "password does not meet the policy";
	case MAILOTP_ERR_CRYPTO:
		return "cryptographic library failure";
	case MAILOTP_ERR_CLOSED:
		return "connection closed by peer";
	}
	/* Outside the switch so that -Wswitch flags a code added without a string. */
	return "unknown error";
}

void mailotp_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
