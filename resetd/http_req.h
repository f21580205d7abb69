/*
 * Inside the reset web service: one request's state, shared by the
 * plumbing (http_server.c: sockets, libmicrohttpd, bodies, answers) and
 * the routes (http_routes.c: what each endpoint does). Not for other files.
 *
 * Threads: a request is touched by libmicrohttpd's polling thread, except
 * while it is suspended, when exactly one worker owns it (http_pool.h);
 * the worker prepares the answer and resumes the connection, and the
 * polling thread sends it.
 */
#ifndef MAILOTPD_HTTP_REQ_H
#define MAILOTPD_HTTP_REQ_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"
#include "http_guard.h"
#include "http_pages.h"
#include "http_pool.h"

#define HTTP_MAX_BODY (16 * 1024)
#define HTTP_MAX_FIELDS 32
#define HTTP_CSRF_COOKIE "mailotp_csrf"

/* The form fields the routes read; any other field is counted, then ignored. */
enum http_field {
	HF_CSRF,
	HF_EMAIL,
	HF_EMAIL_CONFIRM,
	HF_REALM,
	HF_USER,
	HF_TOKEN,
	HF_PASSWORD,
	HF_PASSWORD_CONFIRM,
	HF_COUNT
};

struct http_req;

struct http_route {
	const char *method;
	const char *path;
	const char *form;                    /* POST: the CSRF form name; NULL for GET routes */
	int bucket;                          /* POST: the throttle bucket (enum mailotpd_bucket) */
	void (*finish)(struct http_req *rq); /* the request is complete (body included) */
};

struct http_req {
	struct MHD_Connection *conn;
	const struct http_route *route;
	struct mailotpd_ctx *ctx;
	struct mailotpd_client client;
	const char *lang;
	bool lang_from_query;
	bool json;
	enum mailotp_token_purpose purpose; /* /reset or /invite */

	/* the body (POST) */
	struct MHD_PostProcessor *pp;
	size_t body_len;
	unsigned n_fields;
	bool too_big, malformed, duplicate;
	bool skip;           /* the field being received is ignored (unknown or repeated) */
	char *val[HF_COUNT]; /* NUL-terminated; len[] counts the bytes (a NUL inside is caught) */
	size_t len[HF_COUNT];

	/* the work and its answer */
	struct mailotpd_job job;
	struct MHD_Response *resp;
	unsigned status;
	bool suspended;
	bool deferred; /* went to a worker: counted until its answer is sent */
};

/* --- from http_routes.c */

/*
 * The route for method and path. NULL when none: *path_known then says
 * whether the path exists with another method (405) or not at all (404).
 */
const struct http_route *http_route_find(const char *method, const char *path, bool *path_known);

/* Writes the methods path allows ("GET, HEAD", "POST") into out, for a 405's Allow. */
void http_route_allow(const char *path, char *out, size_t outlen);

/* Fills the page input shared by all pages of rq (language, config). */
void http_page_in_init(struct http_req *rq, struct mailotpd_page_in *in);

/* --- from http_server.c */

/*
 * Prepares the answer of rq: page (HTML or JSON per rq->json) with the
 * common security headers; when csrf_form is set, a fresh CSRF token for
 * that form goes into the page and the cookie. Never fails: without memory
 * the answer is a bare 500.
 */
void http_answer_page(struct http_req *rq, enum mailotpd_page page, struct mailotpd_page_in *in,
                      const char *csrf_form);

/* Prepares a text/plain answer (for /healthz). */
void http_answer_text(struct http_req *rq, unsigned status, const char *text);

/*
 * Runs run(&rq->job) on a worker of lane (MAILOTPD_LANE_HASH for work that
 * hashes a password, MAILOTPD_LANE_QUICK for the rest), the connection
 * suspended meanwhile; run must call http_answer_*() and then
 * http_resume(). When that lane's queue is full, the answer is the 503
 * busy page instead.
 */
void http_defer(struct http_req *rq, enum mailotpd_lane lane,
                void (*run)(struct mailotpd_job *job));

/* Resumes rq's connection once its answer is ready (from a worker). */
void http_resume(struct http_req *rq);

/* The request that a job belongs to. */
struct http_req *http_req_of(struct mailotpd_job *job);

#endif /* MAILOTPD_HTTP_REQ_H */
