/*
 * Escaping of untrusted values for LDAP filters (RFC 4515), LDAP DNs
 * (RFC 4514) and log lines. Pure functions: no allocation beyond the
 * result, no I/O, no global state.
 */
#ifndef MAILOTP_ESCAPE_H
#define MAILOTP_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

#include "mailotp/error.h"

/*
 * RFC 4515 value escaping: '*', '(', ')', '\\' and NUL become \2a \28 \29
 * \5c \00; every byte >= 0x80 and every control byte is escaped as \XX too,
 * so the result is plain ASCII. len bytes of in are read (NUL included).
 * *out is malloc'd. Returns 0 or MAILOTP_ERR_NOMEM.
 */
int mailotp_ldap_filter_escape(const char *in, size_t len, char **out) MAILOTP_MUST_CHECK;

/*
 * Builds a filter from a template in which each "%u" is replaced by the
 * RFC 4515-escaped value and "%%" by "%". Any other '%' sequence is
 * MAILOTP_ERR_INVALID. *out is malloc'd.
 */
int mailotp_ldap_filter_build(const char *tmpl, const char *value, size_t value_len,
                              char **out) MAILOTP_MUST_CHECK;

/*
 * RFC 4514 attribute value escaping for a DN: '"', '+', ',', ';', '<',
 * '>', '\\', a leading '#' or ' ', a trailing ' ', and NUL are escaped
 * (NUL and control bytes as \XX). *out is malloc'd. An empty value is
 * MAILOTP_ERR_INVALID (RFC 4514 allows it, directories refuse it).
 */
int mailotp_ldap_dn_escape(const char *in, size_t len, char **out) MAILOTP_MUST_CHECK;

/*
 * Makes an untrusted string safe for one log line: printable ASCII is
 * kept except '\\'; valid UTF-8 sequences of printable characters are
 * kept; every other byte (control bytes, CR, LF, DEL, invalid UTF-8) and
 * '"' (log lines quote user strings) is written as \xNN and '\\' as "\\\\". The result is cut at
 * outlen - 1 bytes (never inside an escape) and ends with "..." when cut. in may be NULL
 * ("(null)"). Returns out.
 */
char *mailotp_log_escape(const char *in, char *out, size_t outlen);

/*
 * Length of the valid UTF-8 sequence at s (at most left bytes), or 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are refused (RFC 3629). The one UTF-8 decoder of lib/.
 */
size_t mailotp_utf8_seq_len(const unsigned char *s, size_t left);

/*
 * True when s (len bytes) is valid UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF) and holds no control characters (C0, DEL, C1).
 */
bool mailotp_utf8_is_clean(const char *s, size_t len);

#endif /* MAILOTP_ESCAPE_H */
