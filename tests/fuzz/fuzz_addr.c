/*
 * lib/message.h: mailotp_addr_valid, the gate for every From and To (and
 * the e-mail fields of the reset form).
 *
 * Input: the address, up to its first NUL.
 *
 * Properties: the answer equals an oracle written from the rule in
 * message.h (at most 254 bytes, one '@', non-empty parts, local part of
 * printable ASCII without SPACE " ( ) , : ; < > [ ] \, domain of LDH
 * labels of 1..63 characters separated by single dots); and an accepted
 * address never holds CR, LF, another control byte, a space or a byte
 * >= 0x80 (what keeps it from adding a header or an SMTP command).
 */
#include "fuzz_common.h"
#include "message.h"

static bool oracle(const char *a)
{
	size_t len = strlen(a), at = 0, nat = 0, i, label = 0;

	if (len == 0 || len > 254)
		return false;
	for (i = 0; i < len; i++)
		if (a[i] == '@')
			nat++, at = i;
	if (nat != 1 || at == 0 || at == len - 1)
		return false;
	for (i = 0; i < at; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c >= 0x7f || strchr(" \"(),:;<>[]\\", c) != NULL)
			return false;
	}
	for (i = at + 1; i <= len; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = fuzz_strndup(data, size);
	bool ok = mailotp_addr_valid(a), want = oracle(a);
	size_t i;

	FUZZ_CHECK(ok == want, "addr_valid(\"%s\") = %d, rule says %d", a, ok, want);
	if (ok)
		for (i = 0; a[i] != '\0'; i++)
			FUZZ_CHECK((unsigned char)a[i] > 0x20 && (unsigned char)a[i] < 0x7f,
			           "accepted address holds byte 0x%02x", (unsigned char)a[i]);
	FUZZ_CHECK(!mailotp_addr_valid(NULL), "NULL accepted");
	free(a);
	return 0;
}
