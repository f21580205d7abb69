/*
 * Reset and invite tokens: 256 random bits from libsodium, handed to the
 * user as 43 characters of unpadded base64url, kept anywhere only as a
 * BLAKE2b-256 hash in hex (mailotpTokenHash) next to its purpose and
 * expiry (mailotpTokenInfo: "PURPOSE GENERALIZEDTIME").
 */
#ifndef MAILOTP_TOKEN_H
#define MAILOTP_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailotp/error.h"

#define MAILOTP_TOKEN_BYTES 32
#define MAILOTP_TOKEN_LEN 43      /* base64url, no padding */
#define MAILOTP_TOKEN_HASH_HEX 65 /* 64 hex digits + NUL */
#define MAILOTP_TOKEN_INFO_LEN 40

enum mailotp_token_purpose {
	MAILOTP_TOKEN_RESET = 1,  /* "reset": forgotten password */
	MAILOTP_TOKEN_INVITE = 2, /* "invite": first password of a staff-issued account */
};

/*
 * Draws a new token into token[MAILOTP_TOKEN_LEN + 1] and its hash into
 * hash_hex[MAILOTP_TOKEN_HASH_HEX]. Returns 0.
 */
int mailotp_token_new(char *token, char *hash_hex) MAILOTP_MUST_CHECK;

/*
 * Hashes a token as given by a user. Anything that is not exactly 43
 * base64url characters is MAILOTP_ERR_INVALID (and hashes nothing).
 */
int mailotp_token_hash(const char *token, char *hash_hex) MAILOTP_MUST_CHECK;

/* Formats the info value for purpose and expiry into out[MAILOTP_TOKEN_INFO_LEN]. */
void mailotp_token_info(enum mailotp_token_purpose purpose, time_t expires, char *out);

/*
 * Parses an info value. Returns 0 or MAILOTP_ERR_INVALID (unknown
 * purpose, bad time).
 */
int mailotp_token_info_parse(const char *info, enum mailotp_token_purpose *purpose,
                             time_t *expires) MAILOTP_MUST_CHECK;

#endif /* MAILOTP_TOKEN_H */
