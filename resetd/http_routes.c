/*
 * The endpoints of the reset web service: a table of method, path and
 * handler, and the handlers. The handlers check what is cheap (CSRF, the
 * form's bytes, the token's shape) on the polling thread and hand what is
 * slow (lib/reset.h: LDAP, argon2id, SMTP) to a worker.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "http_req.h"
#include "log.h"
#include "reset.h"

/* Tokens are base64url (lib/reset.h); anything else is refused unseen by LDAP. */
#define TOKEN_MIN 16
#define TOKEN_MAX 128

static void finish_index(struct http_req *rq);
static void finish_request(struct http_req *rq);
static void finish_reset_get(struct http_req *rq);
static void finish_reset_post(struct http_req *rq);
static void finish_invite_get(struct http_req *rq);
static void finish_invite_post(struct http_req *rq);
static void finish_healthz(struct http_req *rq);

static const struct http_route routes[] = {
    {"GET", "/", NULL, 0, finish_index},
    {"POST", "/request", "request", MAILOTPD_BUCKET_REQUEST, finish_request},
    {"GET", "/reset", NULL, 0, finish_reset_get},
    {"POST", "/reset", "reset", MAILOTPD_BUCKET_RESET, finish_reset_post},
    /* Invites (mailotpctl add/invite) set the first password on a page of their
     * own: an invite token is not a reset token, and the other way round. */
    {"GET", "/invite", NULL, 0, finish_invite_get},
    {"POST", "/invite", "invite", MAILOTPD_BUCKET_RESET, finish_invite_post},
    {"GET", "/healthz", NULL, 0, finish_healthz},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const struct http_route *http_route_find(const char *method, const char *path, bool *path_known)
{
	/* HEAD is a GET whose body libmicrohttpd leaves out. */
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

	*path_known = false;
	for (size_t i = 0; i < N_ROUTES; i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		*path_known = true;
		if (strcmp(routes[i].method, m) == 0)
			return &routes[i];
	}
	return NULL;
}

void http_route_allow(const char *path, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_ROUTES && n < outlen; i++) {
		if (strcmp(routes[i].path, path) != 0)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s%s%s", n > 0 ? ", " : "",
		                      routes[i].method,
		                      strcmp(routes[i].method, "GET") == 0 ? ", HEAD" : "");
	}
}

void http_page_in_init(struct http_req *rq, struct mailotpd_page_in *in)
{
	memset(in, 0, sizeof(*in));
	in->cfg = rq->ctx->cfg;
	in->lang = rq->lang != NULL ? rq->lang : "en";
	in->lang_from_query = rq->lang_from_query;
	in->field = MAILOTP_FIELD_NONE;
}

/* One line per decision; reasons come from lib/reset.c and may quote user input. */
static void log_result(const struct http_req *rq, const char *result, const char *reason)
{
	char safe[256];

	mailotp_log(LOG_INFO, "http: %s client=%s result=%s: %s",
	            rq->route != NULL ? rq->route->path : "-", rq->client.text, result,
	            mailotp_log_escape(reason, safe, sizeof(safe)));
}

static bool token_shaped(const char *t, size_t len)
{
	if (t == NULL || len < TOKEN_MIN || len > TOKEN_MAX || strlen(t) != len)
		return false;
	return strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

static void answer_bad_token(struct http_req *rq, const char *why)
{
	struct mailotpd_page_in in;

	http_page_in_init(rq, &in);
	log_result(rq, "bad-token", why);
	http_answer_page(rq, MAILOTPD_PAGE_BAD_TOKEN, &in, NULL);
}

/* The field whose value is not clean text, or HF_COUNT. */
static enum http_field unclean_field(const struct http_req *rq)
{
	for (int i = 0; i < HF_COUNT; i++)
		if (rq->val[i] != NULL && (strlen(rq->val[i]) != rq->len[i] ||
		                           !mailotp_utf8_is_clean(rq->val[i], rq->len[i])))
			return (enum http_field)i;
	return HF_COUNT;
}

static enum mailotp_reset_field reset_field_of(enum http_field f)
{
	static const enum mailotp_reset_field map[HF_COUNT] = {
	    [HF_EMAIL] = MAILOTP_FIELD_EMAIL,
	    [HF_EMAIL_CONFIRM] = MAILOTP_FIELD_EMAIL_CONFIRM,
	    [HF_REALM] = MAILOTP_FIELD_REALM,
	    [HF_USER] = MAILOTP_FIELD_USER,
	    [HF_PASSWORD] = MAILOTP_FIELD_PASSWORD,
	    [HF_PASSWORD_CONFIRM] = MAILOTP_FIELD_PASSWORD_CONFIRM,
	};
	return (unsigned)f < HF_COUNT ? map[f] : MAILOTP_FIELD_NONE;
}

/*
 * What every form post must pass before any work: a well-formed body, the
 * CSRF field equal to the cookie with a valid MAC, no repeated field, and
 * only clean UTF-8 text (no NUL, CR, LF or other controls) in the fields.
 * Answers and returns false when it fails. A malformed token is left to
 * the caller (the bad-token page, like any other wrong token).
 */
static bool form_ok(struct http_req *rq, enum mailotpd_page error_page)
{
	const char *cookie =
	    MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND, HTTP_CSRF_COOKIE);
	struct mailotpd_page_in in;
	enum http_field bad;

	http_page_in_init(rq, &in);
	if (rq->malformed) {
		log_result(rq, "form-error", "malformed body or more than 32 fields");
		goto form_error;
	}
	if (!mailotpd_csrf_check(rq->route->form, rq->val[HF_CSRF], cookie, time(NULL))) {
		log_result(rq, "forbidden", "CSRF field and cookie missing, different, bad or old");
		http_answer_page(rq, MAILOTPD_PAGE_FORBIDDEN, &in, NULL);
		return false;
	}
	if (rq->duplicate) {
		log_result(rq, "form-error", "a field was sent twice");
		goto form_error;
	}
	if ((bad = unclean_field(rq)) != HF_COUNT && bad != HF_TOKEN) {
		log_result(rq, "form-error", "control characters or invalid UTF-8 in a field");
		in.field = reset_field_of(bad);
		goto form_error;
	}
	return true;
form_error:
	/* The new-password form comes back with its token only if it looks like one. */
	if (error_page == MAILOTPD_PAGE_RESET_ERROR &&
	    token_shaped(rq->val[HF_TOKEN], rq->len[HF_TOKEN]))
		in.token = rq->val[HF_TOKEN];
	in.action = rq->route->form;
	http_answer_page(rq, error_page, &in, rq->route->form);
	return false;
}

/* --- GET / */

static void finish_index(struct http_req *rq)
{
	struct mailotpd_page_in in;

	http_page_in_init(rq, &in);
	http_answer_page(rq, MAILOTPD_PAGE_REQUEST_FORM, &in, "request");
}

/* --- POST /request */

static void run_request(struct mailotpd_job *job)
{
	struct http_req *rq = http_req_of(job);
	struct mailotp_reset_request req = {
	    .email = rq->val[HF_EMAIL],
	    .email_confirm = rq->val[HF_EMAIL_CONFIRM],
	    .realm = rq->val[HF_REALM],
	    .user = rq->val[HF_USER],
	    .client = rq->client.text,
	    .lang = rq->lang,
	};
	struct mailotp_reset_outcome o;
	struct mailotpd_page_in in;

	memset(&o, 0, sizeof(o));
	o.status = MAILOTP_RESET_UNAVAILABLE;
	mailotp_reset_request(&rq->ctx->services, &req, &o);
	http_page_in_init(rq, &in);
	switch (o.status) {
	case MAILOTP_RESET_OK:
		log_result(rq, "ok", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_REQUEST_SENT, &in, NULL);
		break;
	case MAILOTP_RESET_FORM_ERROR:
		log_result(rq, "form-error", o.reason);
		in.message = o.message;
		in.field = o.field;
		in.email = rq->val[HF_EMAIL];
		in.realm = rq->val[HF_REALM];
		in.user = rq->val[HF_USER];
		http_answer_page(rq, MAILOTPD_PAGE_REQUEST_ERROR, &in, "request");
		break;
	default:
		/* Unavailable, or a status this step never gives: fail closed. */
		log_result(rq, "unavailable", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_UNAVAILABLE, &in, NULL);
		break;
	}
	sodium_memzero(&o, sizeof(o));
	http_resume(rq);
}

static void finish_request(struct http_req *rq)
{
	if (form_ok(rq, MAILOTPD_PAGE_REQUEST_ERROR))
		http_defer(rq, MAILOTPD_LANE_QUICK, run_request);
}

/* The form (and CSRF) name of the set-password page this request is on. */
static const char *form_of(const struct http_req *rq)
{
	return rq->purpose == MAILOTP_TOKEN_INVITE ? "invite" : "reset";
}

/* --- GET /reset?token=T: shows the form, never uses the token up */

static void run_reset_check(struct mailotpd_job *job)
{
	struct http_req *rq = http_req_of(job);
	struct mailotp_reset_outcome o;
	struct mailotpd_page_in in;
	const char *token = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "token");

	memset(&o, 0, sizeof(o));
	o.status = MAILOTP_RESET_UNAVAILABLE;
	mailotp_reset_check(&rq->ctx->services, token, rq->purpose, &o);
	http_page_in_init(rq, &in);
	switch (o.status) {
	case MAILOTP_RESET_OK:
		log_result(rq, "ok", o.reason);
		in.token = token;
		in.action = form_of(rq);
		http_answer_page(rq, MAILOTPD_PAGE_RESET_FORM, &in, form_of(rq));
		break;
	case MAILOTP_RESET_UNAVAILABLE:
		log_result(rq, "unavailable", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_UNAVAILABLE, &in, NULL);
		break;
	default:
		log_result(rq, "bad-token", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_BAD_TOKEN, &in, NULL);
		break;
	}
	http_resume(rq);
}

static void finish_reset_get(struct http_req *rq)
{
	const char *token = NULL;
	size_t len = 0;

	if (rq->purpose == 0)
		rq->purpose = MAILOTP_TOKEN_RESET;
	if (MHD_lookup_connection_value_n(rq->conn, MHD_GET_ARGUMENT_KIND, "token", 5, &token,
	                                  &len) != MHD_YES ||
	    !token_shaped(token, len)) {
		answer_bad_token(rq, "no token, or not shaped like one");
		return;
	}
	http_defer(rq, MAILOTPD_LANE_QUICK, run_reset_check);
}

/* --- POST /reset */

static void run_reset_complete(struct mailotpd_job *job)
{
	struct http_req *rq = http_req_of(job);
	struct mailotp_reset_outcome o;
	struct mailotpd_page_in in;

	memset(&o, 0, sizeof(o));
	o.status = MAILOTP_RESET_UNAVAILABLE;
	mailotp_reset_complete(&rq->ctx->services, rq->val[HF_TOKEN], rq->purpose,
	                       rq->val[HF_PASSWORD], rq->val[HF_PASSWORD_CONFIRM], rq->lang,
	                       rq->client.text, &o);
	http_page_in_init(rq, &in);
	in.message = o.message;
	in.field = o.field;
	switch (o.status) {
	case MAILOTP_RESET_OK:
		log_result(rq, "password-set", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_RESET_DONE, &in, NULL);
		break;
	case MAILOTP_RESET_FORM_ERROR:
	case MAILOTP_RESET_POLICY:
		/* The token is not used up: the same form again, to try another password. */
		log_result(rq, o.status == MAILOTP_RESET_POLICY ? "policy" : "form-error",
		           o.reason);
		in.token = rq->val[HF_TOKEN];
		in.action = form_of(rq);
		http_answer_page(rq,
		                 o.status == MAILOTP_RESET_POLICY ? MAILOTPD_PAGE_RESET_POLICY
		                                                  : MAILOTPD_PAGE_RESET_ERROR,
		                 &in, form_of(rq));
		break;
	case MAILOTP_RESET_BAD_TOKEN:
		log_result(rq, "bad-token", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_BAD_TOKEN, &in, NULL);
		break;
	default:
		log_result(rq, "unavailable", o.reason);
		http_answer_page(rq, MAILOTPD_PAGE_UNAVAILABLE, &in, NULL);
		break;
	}
	sodium_memzero(&o, sizeof(o));
	http_resume(rq);
}

static void finish_reset_post(struct http_req *rq)
{
	if (rq->purpose == 0)
		rq->purpose = MAILOTP_TOKEN_RESET;
	if (!form_ok(rq, MAILOTPD_PAGE_RESET_ERROR))
		return;
	if (!token_shaped(rq->val[HF_TOKEN], rq->len[HF_TOKEN])) {
		answer_bad_token(rq, "no token, or not shaped like one");
		return;
	}
	http_defer(rq, MAILOTPD_LANE_HASH, run_reset_complete);
}

/* --- GET /healthz: on a worker too, a directory that hangs must not hang the server */

static void run_healthz(struct mailotpd_job *job)
{
	struct http_req *rq = http_req_of(job);
	int r = mailotp_ldap_ping(rq->ctx->ldap);

	if (r == 0) {
		http_answer_text(rq, MHD_HTTP_OK, "ok\n");
	} else {
		log_result(rq, "unavailable", mailotp_strerror(r));
		http_answer_text(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable\n");
	}
	http_resume(rq);
}

static void finish_healthz(struct http_req *rq)
{
	http_defer(rq, MAILOTPD_LANE_QUICK, run_healthz);
}

/* --- /invite: the same pages for invite tokens */

static void finish_invite_get(struct http_req *rq)
{
	rq->purpose = MAILOTP_TOKEN_INVITE;
	finish_reset_get(rq);
}

static void finish_invite_post(struct http_req *rq)
{
	rq->purpose = MAILOTP_TOKEN_INVITE;
	finish_reset_post(rq);
}
