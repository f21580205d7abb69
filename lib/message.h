/*
 * Building RFC 5322 / MIME messages: header encoding (RFC 2047), header
 * value checks, address checks and the complete text of a UTF-8
 * text/plain message. Pure functions, no I/O.
 */
#ifndef MAILOTP_MESSAGE_H
#define MAILOTP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailotp/error.h"

/*
 * True when addr is an addr-spec we are willing to send to or from:
 * at most 254 bytes, exactly one '@', a non-empty local part and domain,
 * printable ASCII only, none of the bytes SPACE " ( ) , : ; < > [ \\ and
 * no control byte (so never CR or LF), the domain made of labels of
 * letters, digits and '-' separated by single dots.
 */
bool mailotp_addr_valid(const char *addr);

/*
 * Encodes a UTF-8 header value (e.g. a Subject) for a header named
  * `name`: pure printable ASCII is returned as is while "Name: value" fits
 * RFC 5322's 998-character line limit; otherwise as RFC 2047
 * "=?UTF-8?B?...?=" encoded words, never splitting a UTF-8 character,
 * folded so that no line (with "Name: ") passes 76 characters. CR, LF and
 * other control characters in the input are replaced by a space first.
 * *out is malloc'd. Returns 0, MAILOTP_ERR_INVALID (invalid UTF-8) or
 * MAILOTP_ERR_NOMEM.
 */
int mailotp_header_encode(const char *name, const char *value, char **out) MAILOTP_MUST_CHECK;

/*
 * Builds a whole message: Date (from now, RFC 5322 form, UTC), From, To
 * (all recipients, comma separated), Subject (RFC 2047), Message-ID
 * (random, "@" the domain of from), MIME-Version, Content-Type
 * text/plain; charset=UTF-8, Content-Transfer-Encoding 7bit for ASCII
 * bodies and base64 (76-character lines) otherwise, Auto-Submitted:
 * auto-generated. Lines end in CRLF; the body's line ends are normalised
 * to CRLF. Every address must pass mailotp_addr_valid.
 * *out is malloc'd. Returns 0, MAILOTP_ERR_INVALID or MAILOTP_ERR_NOMEM.
 */
int mailotp_message_build(const char *from, const char *const *to, size_t nto,
			  const char *subject, const char *body, time_t now,
			  char **out) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_MESSAGE_H */
