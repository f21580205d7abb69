/* Reset and invite tokens (see token.h). */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "token.h"

static void hash_hex(const char *token, char *out)
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token, MAILOTP_TOKEN_LEN, NULL, 0);
	sodium_bin2hex(out, MAILOTP_TOKEN_HASH_HEX, h, sizeof(h));
	sodium_memzero(h, sizeof(h));
}

int mailotp_token_new(char *token, char *hex)
{
	unsigned char raw[MAILOTP_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, MAILOTP_TOKEN_LEN + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	hash_hex(token, hex);
	return 0;
}

int mailotp_token_hash(const char *token, char *hex)
{
	size_t n;

	if (token == NULL)
		return MAILOTP_ERR_INVALID;
	n = strnlen(token, MAILOTP_TOKEN_LEN + 1);
	if (n != MAILOTP_TOKEN_LEN)
		return MAILOTP_ERR_INVALID;
	for (size_t i = 0; i < n; i++) {
		char c = token[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return MAILOTP_ERR_INVALID;
	}
	hash_hex(token, hex);
	return 0;
}

void mailotp_token_info(enum mailotp_token_purpose purpose, time_t expires, char *out)
{
	char t[16];

	mailotp_gentime_format(expires, t);
	snprintf(out, MAILOTP_TOKEN_INFO_LEN, "%s %s",
	         purpose == MAILOTP_TOKEN_INVITE ? "invite" : "reset", t);
}

int mailotp_token_info_parse(const char *info, enum mailotp_token_purpose *purpose, time_t *expires)
{
	const char *sp;

	if (info == NULL || (sp = strchr(info, ' ')) == NULL)
		return MAILOTP_ERR_INVALID;
	if ((size_t)(sp - info) == 5 && strncmp(info, "reset", 5) == 0)
		*purpose = MAILOTP_TOKEN_RESET;
	else if ((size_t)(sp - info) == 6 && strncmp(info, "invite", 6) == 0)
		*purpose = MAILOTP_TOKEN_INVITE;
	else
		return MAILOTP_ERR_INVALID;
	if ((*expires = mailotp_gentime_parse(sp + 1)) == 0)
		return MAILOTP_ERR_INVALID;
	return 0;
}
