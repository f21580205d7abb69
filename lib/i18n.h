/*
 * The texts users see in PAM conversations, in English and Japanese.
 *
 * A table rather than gettext: the daemon answers many users at once, each
 * in their own language (preferredLanguage on the entry, then the
 * `language` key), and gettext picks its language per process or thread
 * locale, not per call. The table is checked at build time by the unit
 * tests (every id has both languages and the same printf conversions).
 */
#ifndef MAILOTP_I18N_H
#define MAILOTP_I18N_H

#include <stddef.h>

enum mailotp_text_id {
	MAILOTP_TXT_CODE_SENT, /* %s: masked address */
	MAILOTP_TXT_CODE_PROMPT,
	MAILOTP_TXT_CODE_SENT_COMBINED, /* %s: masked address; combined logins */
	MAILOTP_TXT_CODE_STALE,         /* combined: the code is used, expired or unknown */
	MAILOTP_TXT_CODE_WRONG, /* %d: tries left */
	MAILOTP_TXT_CODE_EXPIRED,
	MAILOTP_TXT_MAXTRIES,
	MAILOTP_TXT_NO_MAIL,
	MAILOTP_TXT_MAIL_FAILED,
	MAILOTP_TXT_THROTTLED, /* %d: seconds to wait */
	MAILOTP_TXT_LOCKED,
	MAILOTP_TXT_TEMP_EXPIRED,
	MAILOTP_TXT_RESET_MISSING,   /* a required field is empty */
	MAILOTP_TXT_RESET_BAD_EMAIL, /* not an e-mail address */
	MAILOTP_TXT_RESET_EMAIL_MISMATCH,
	MAILOTP_TXT_RESET_SENT_LINK, /* %d: minutes */
	MAILOTP_TXT_RESET_SENT_TEMP, /* %d: minutes */
	MAILOTP_TXT_RESET_PW_MISMATCH,
	MAILOTP_TXT_RESET_BAD_TOKEN,
	MAILOTP_TXT_RESET_UNAVAILABLE,
	MAILOTP_TXT_RESET_DONE,
	MAILOTP_TXT_MUST_CHANGE,
	MAILOTP_TXT_OLD_WRONG,
	MAILOTP_TXT_SAME_PASSWORD,
	MAILOTP_TXT_PASSWORD_CHANGED,
	MAILOTP_TXT_CONSENT_PROMPT,
	MAILOTP_TXT_CONSENT_REFUSED,
	MAILOTP_TXT_PW_EXPIRED,       /* the password has expired, no grace left */
	MAILOTP_TXT_PW_GRACE,         /* %d: grace logins left */
	MAILOTP_TXT_PW_ADMIN_RESET,   /* an administrator reset it: change now */
	MAILOTP_TXT_COUNT
};

/* Returns "ja" when lang starts with "ja" (case-insensitive), else "en". */
const char *mailotp_lang_pick(const char *lang);

/* Returns the text (a printf format for ids that take arguments) in lang; never NULL. */
const char *mailotp_text(const char *lang, enum mailotp_text_id id);

/*
 * Formats text id in lang with the arguments that id takes (see the enum)
 * into buf (always NUL-terminated when len > 0). Returns buf.
 */
char *mailotp_textf(char *buf, size_t len, const char *lang, enum mailotp_text_id id, ...);

#endif /* MAILOTP_I18N_H */
