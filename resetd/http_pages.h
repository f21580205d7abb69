/*
 * The pages of the reset web service, in English and Japanese, as HTML for
 * people and as JSON for portals that use the service as their back end
 * (Accept: application/json). Pure functions: no I/O, no directory.
 *
 * Every value that did not come from this file is HTML- (or JSON-)
 * escaped. The pages load nothing from elsewhere: one inline <style>
 * block, allowed by its SHA-256 hash in the Content-Security-Policy that
 * mailotpd_page_csp() returns. Forms post to relative URLs, so the pages
 * work under any path prefix of the reverse proxy and never name a host;
 * the only absolute links are built from reset_public_url.
 *
 * Texts live in a table here rather than in gettext for the reason given
 * in lib/i18n.h: many users at once, each in their own language.
 */
#ifndef MAILOTPD_HTTP_PAGES_H
#define MAILOTPD_HTTP_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "reset.h"
#include "mailotp/error.h"

enum mailotpd_page {
	MAILOTPD_PAGE_REQUEST_FORM,  /* 200 GET /: the request form */
	MAILOTPD_PAGE_REQUEST_ERROR, /* 400 the request form again, the error marked */
	MAILOTPD_PAGE_REQUEST_SENT,  /* 200 "if the details match, a mail is on its way" */
	MAILOTPD_PAGE_RESET_FORM,    /* 200 GET /reset?token=T: the new-password form */
	MAILOTPD_PAGE_RESET_ERROR,   /* 400 the new-password form again (e.g. passwords differ) */
	MAILOTPD_PAGE_RESET_POLICY,  /* 422 the new-password form again, saying what is missing */
	MAILOTPD_PAGE_RESET_DONE,    /* 200 password set */
	MAILOTPD_PAGE_BAD_TOKEN,     /* 410 unknown, used, expired or altered link: all alike */
	MAILOTPD_PAGE_FORBIDDEN,     /* 403 CSRF check failed or a cross-site post */
	MAILOTPD_PAGE_NOT_FOUND,     /* 404 */
	MAILOTPD_PAGE_METHOD,        /* 405 */
	MAILOTPD_PAGE_TOO_BIG,       /* 413 body over the limit */
	MAILOTPD_PAGE_MEDIA_TYPE,    /* 415 not application/x-www-form-urlencoded */
	MAILOTPD_PAGE_THROTTLED,     /* 429 too many posts from this address */
	MAILOTPD_PAGE_UNAVAILABLE,   /* 503 the directory is down */
	MAILOTPD_PAGE_BUSY,          /* 503 the work queue is full */
	MAILOTPD_PAGE_COUNT
};

/* What a page shows besides its fixed texts; unused members may be NULL. */
struct mailotpd_page_in {
	const struct mailotp_config *cfg; /* fields, reset_ttl, policy, reset_public_url */
	const char *lang;                 /* "en" or "ja" */
	bool lang_from_query;             /* keep ?lang= on the form actions */
	const char *csrf;                 /* the forms' hidden csrf field */
	const char *token;                /* the reset form's hidden token field */
	const char *action;               /* the reset form's target: "reset" or "invite" */
	const char *message;              /* a specific error text (from lib/reset), or NULL */
	enum mailotp_reset_field field;   /* the field the error is about */
	const char *email, *realm, *user; /* what was typed, shown again on a form error */
};

/*
 * Computes the Content-Security-Policy (with the hash of the style block).
 * Call once before serving. Returns 0 or MAILOTP_ERR_CRYPTO.
 */
int mailotpd_pages_init(void) MAILOTP_MUST_CHECK;

/* The Content-Security-Policy header value for every answer. */
const char *mailotpd_page_csp(void);

/* The HTTP status code of a page. */
unsigned mailotpd_page_status(enum mailotpd_page page);

/*
 * Renders page as HTML (json false) or as a JSON object
 * {"status":..., "field":..., "message":..., ["csrf":...]}. *out is
 * malloc'd, *len its length. Returns 0, MAILOTP_ERR_INVALID or
 * MAILOTP_ERR_NOMEM.
 */
int mailotpd_page_render(enum mailotpd_page page, const struct mailotpd_page_in *in, bool json,
                         char **out, size_t *len) MAILOTP_MUST_CHECK;

/*
 * The page language: query ("ja"/"en" from ?lang=) if valid, else the
 * Accept-Language entry for ja or en with the highest q > 0 (the first
 * one on ties), else cfg_lang. Returns "ja" or "en".
 */
const char *mailotpd_page_lang(const char *cfg_lang, const char *accept_language,
                               const char *query);

#endif /* MAILOTPD_HTTP_PAGES_H */
