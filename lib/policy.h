/*
 * The password policy: what a new password must be before it is hashed
 * and written to userPassword (PAM password change, POST /reset).
 *
 * Pure logic: the only I/O is reading the password_denylist file once, in
 * mailotp_policy_new(). A built policy is read-only, so one policy may be
 * shared by all the daemon's threads.
 *
 * Rules (each failed rule sets one bit of *failed):
 *   TOO_LONG     more than MAILOTP_PASSWORD_MAX_BYTES bytes (the bound of
 *                what is ever given to argon2; a longer input is refused
 *                before any other work);
 *   INVALID      not valid UTF-8, or a control character (C0, DEL, C1)
 *                anywhere, which no keyboard types on purpose and which
 *                terminals and logs mangle;
 *   TOO_SHORT    fewer than password_min_length characters, counted in
 *                Unicode code points, so a Japanese password of ten
 *                characters has ten, not thirty;
 *   FEW_CLASSES  fewer than password_min_classes of: ASCII upper-case,
 *                ASCII lower-case, ASCII digits, symbols (every other
 *                printable character: punctuation, space, kana, kanji,
 *                full-width letters);
 *   DENYLISTED   the password is one of the built-in common passwords or
 *                a dictionary word from them padded with digits and
 *                symbols ("Sakura2024!"), or it is a line of the
 *                password_denylist file;
 *   PERSONAL     the password contains one of the account's own strings
 *                (see mailotp_policy_check).
 * TOO_LONG and INVALID are reported alone: the other rules are not
 * evaluated on input that is too big or is not text.
 *
 * Comparisons for DENYLISTED and PERSONAL ignore ASCII case and treat
 * full-width ASCII (U+FF01..U+FF5E, as a Japanese IME types "ｐａｓｓ") and
 * the ideographic space as their ASCII forms.
 */
#ifndef MAILOTP_POLICY_H
#define MAILOTP_POLICY_H

#include <stddef.h>

#include "config.h"
#include "mailotp/error.h"

/* Longest password accepted anywhere (argon2 input bound, DoS guard). */
#define MAILOTP_PASSWORD_MAX_BYTES 1024

#define MAILOTP_POLICY_TOO_SHORT 0x01u
#define MAILOTP_POLICY_TOO_LONG 0x02u
#define MAILOTP_POLICY_FEW_CLASSES 0x04u
#define MAILOTP_POLICY_DENYLISTED 0x08u
#define MAILOTP_POLICY_PERSONAL 0x10u
#define MAILOTP_POLICY_INVALID 0x20u

struct mailotp_policy;

/*
 * Builds the policy of cfg: password_min_length, password_min_classes and,
 * when set, the password_denylist file. That file holds one password per
 * line, UTF-8; a trailing CR is dropped (CRLF files work), lines that are
 * empty or only blanks are skipped, nothing else is trimmed or treated as
 * a comment (breached-password lists contain '#' and blanks), lines over
 * MAILOTP_PASSWORD_MAX_BYTES or with a NUL byte are skipped (no acceptable
 * password can equal them). Entries are kept folded (see above) in a
 * sorted array: lookups are O(log n).
 * Returns 0 with *out set (free with mailotp_policy_free),
 * MAILOTP_ERR_INVALID for a NULL argument, MAILOTP_ERR_IO when the file
 * cannot be opened or read (err names the file and the reason),
 * MAILOTP_ERR_NOMEM.
 */
int mailotp_policy_new(const struct mailotp_config *cfg, struct mailotp_policy **out, char *err,
                       size_t errlen) MAILOTP_MUST_CHECK;

/* Frees a policy; NULL-safe. */
void mailotp_policy_free(struct mailotp_policy *p);

/* Number of distinct entries read from the password_denylist file. */
size_t mailotp_policy_denylist_size(const struct mailotp_policy *p);

/*
 * Checks password against the policy. personal[0..npersonal) are the
 * account's own strings: its login name (uid), its mail address(es), its
 * names (cn, sn, givenName, displayName...); NULL entries are skipped.
 * From each string the policy takes the whole value (for a mail address:
 * its local part only, the domain is not personal) and the parts of it
 * between separators (blanks, ASCII punctuation, U+3000, U+30FB '・'),
 * and refuses a password that contains any of them, ignoring case. Parts
 * shorter than 3 characters are not used ("Li" would refuse "Lime"), except
 * that a part written without ASCII needs only 2 ("花子": given names of two
 * kanji are common and as specific as a long Latin one).
 * Returns 0 when the password is acceptable (*failed = 0),
 * MAILOTP_ERR_POLICY with *failed the MAILOTP_POLICY_* bits of every
 * failed rule, MAILOTP_ERR_INVALID for NULL p, password or failed,
 * MAILOTP_ERR_NOMEM.
 */
int mailotp_policy_check(const struct mailotp_policy *p, const char *password,
                         const char *const *personal, size_t npersonal,
                         unsigned *failed) MAILOTP_MUST_CHECK;

/*
 * Writes what the user must change, one sentence per bit of failed, in
 * lang ("ja..." gives Japanese, anything else English; see
 * mailotp_lang_pick), with the numbers of cfg (NULL: the defaults, 10
 * characters and 3 classes). English sentences are joined with a space,
 * Japanese ones directly (a space after 「。」 is not written in Japanese).
 * buf is always NUL-terminated when len > 0 and is never cut inside a
 * UTF-8 sequence. Returns the length the whole text needs (as snprintf:
 * a result >= len means it was cut); 0 when failed has no known bit.
 */
size_t mailotp_policy_explain(unsigned failed, const struct mailotp_config *cfg, const char *lang,
                              char *buf, size_t len);

#endif /* MAILOTP_POLICY_H */
