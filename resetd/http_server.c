/*
 * The reset web service's plumbing (see http_server.h): the listening
 * socket, libmicrohttpd, form bodies, suspension around the workers, and
 * the headers every answer carries. What each endpoint does is in
 * http_routes.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "harden.h"
#include "http_req.h"
#include "http_server.h"
#include "log.h"
#include "sd.h"

#define CONNECTION_LIMIT 1024
#define PER_IP_LIMIT 32
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_MEMORY (64 * 1024)
#define POST_BUFFER 1024
#define QUICK_WORKERS 4
#define QUICK_QUEUE_MAX 256
/*
 * Setting passwords: each hash holds a core and password_hash_memlimit for
 * tens of ms. The daemon lets mailotpd_pool_hash_limit() hashes run at
 * once (CPUs - 1, 1..4, in lib/pwhash); one thread more than that keeps
 * the directory round trips of one reset beside the hash of another. They
 * run at nice +10, so that answers to everyone else come first. 64
 * waiting is a few seconds of work at the default cost; beyond that, 503.
 */
#define HASH_QUEUE_MAX 64
#define HASH_NICE 10
#define LISTEN_BACKLOG 128

/* How long a stop waits for answers that workers prepared to reach their clients. */
#define STOP_SEND_WAIT_MS (CONNECTION_TIMEOUT_S * 1000)

static struct MHD_Daemon *daemon_;
/* Requests handed to a worker whose answer is not sent yet (see mailotpd_http_stop). */
static pthread_mutex_t unsent_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t unsent_cv = PTHREAD_COND_INITIALIZER;
static unsigned unsent;
static int listen_fd = -1;
static char *unix_path; /* the unix: socket we created, removed at stop */
static bool cookie_secure;
static char cookie_path[256] = "/";

/* --- the listening socket */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return MAILOTP_ERR_CONFIG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			mailotp_log(LOG_ERR, "reset_listen: %s exists and is not a socket", path);
			return MAILOTP_ERR_CONFIG;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	/*
	 * Like the PAM socket, open to all: who may connect is decided by the
	 * permissions of the directory it is in (the proxy's and ours only).
	 */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		close(fd);
		goto fail;
	}
	if ((unix_path = strdup(path)) == NULL) {
		close(fd);
		unlink(path);
		return MAILOTP_ERR_NOMEM;
	}
	return fd;
fail:
	mailotp_log(LOG_ERR, "reset_listen unix:%s: %s", path, strerror(errno));
	return MAILOTP_ERR_IO;
}

static int listen_inet(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port, *end;
	int fd = -1, one = 1, rc;

	/* "[v6]:port" or "host:port"; the config parser checked the form. */
	if (spec[0] == '[') {
		end = strchr(spec, ']');
		port = end != NULL ? end + 2 : NULL;
		spec++;
	} else {
		end = strrchr(spec, ':');
		port = end != NULL ? end + 1 : NULL;
	}
	if (end == NULL || (size_t)(end - spec) >= sizeof(host))
		return MAILOTP_ERR_CONFIG;
	memcpy(host, spec, (size_t)(end - spec));
	host[end - spec] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		mailotp_log(LOG_ERR, "reset_listen %s: %s", host, gai_strerror(rc));
		return MAILOTP_ERR_CONFIG;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	mailotp_log(LOG_ERR, "reset_listen %s:%s: %s", host, port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return MAILOTP_ERR_IO;
}

/* What the listener is, for the log and the per-address cap. */
static bool listen_passed; /* the socket came from systemd */
static bool listen_is_unix;

/* systemd's second socket if it passed one, else the socket of reset_listen. */
static int open_listener(const char *spec)
{
	/* The PAM side reads the same variables; neither unsets them. */
	int n = mailotpd_listen_fds();

	if (n < 0)
		return n; /* malformed, and logged */
	if (n >= 2) {
		if (mailotpd_is_listening_stream(MAILOTPD_LISTEN_FDS_START + 1, AF_UNSPEC)) {
			listen_passed = true;
			/* The passed socket decides, whatever reset_listen says. */
			listen_is_unix =
			    mailotpd_is_listening_stream(MAILOTPD_LISTEN_FDS_START + 1, AF_UNIX);
			return MAILOTPD_LISTEN_FDS_START + 1;
		}
		mailotp_log(LOG_ERR, "the second socket from systemd is not a listening stream");
		return MAILOTP_ERR_CONFIG;
	}
	listen_is_unix = strncmp(spec, "unix:", 5) == 0;
	if (listen_is_unix)
		return listen_unix(spec + 5);
	return listen_inet(spec);
}

/* --- answers */

static void add_common_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Content-Security-Policy", mailotpd_page_csp());
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	/* Tokens and CSRF values are in the pages: nothing is cached anywhere. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Language");
}

static void answer_set(struct http_req *rq, struct MHD_Response *r, unsigned status)
{
	if (rq->resp != NULL)
		MHD_destroy_response(rq->resp);
	rq->resp = r;
	rq->status = status;
}

static void answer_bare_500(struct http_req *rq)
{
	static const char msg[] = "internal error\n";
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);

	if (r != NULL)
		add_common_headers(r, "text/plain; charset=utf-8");
	answer_set(rq, r, MHD_HTTP_INTERNAL_SERVER_ERROR);
}

/* A rendered page may carry a reset token: wiped when libmicrohttpd is done with it. */
static void page_free(void *body)
{
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
}

void http_answer_page(struct http_req *rq, enum mailotpd_page page, struct mailotpd_page_in *in,
                      const char *csrf_form)
{
	char csrf[MAILOTPD_CSRF_LEN + 1], cookie[MAILOTPD_CSRF_LEN + 400];
	struct MHD_Response *r;
	unsigned status = mailotpd_page_status(page);
	char *body = NULL;
	size_t len = 0;

	in->csrf = NULL;
	if (csrf_form != NULL) {
		if (mailotpd_csrf_issue(csrf_form, time(NULL), csrf, sizeof(csrf)) != 0)
			goto fail;
		in->csrf = csrf;
	}
	if (mailotpd_page_render(page, in, rq->json, &body, &len) != 0)
		goto fail;
	r = MHD_create_response_from_buffer_with_free_callback(len, body, page_free);
	if (r == NULL) {
		page_free(body);
		goto fail;
	}
	add_common_headers(r, rq->json ? "application/json; charset=utf-8"
	                               : "text/html; charset=utf-8");
	if (csrf_form != NULL) {
		snprintf(cookie, sizeof(cookie), "%s=%s; Path=%s; HttpOnly; SameSite=Strict%s",
		         HTTP_CSRF_COOKIE, csrf, cookie_path, cookie_secure ? "; Secure" : "");
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	}
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "60");
	else if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "30");
	answer_set(rq, r, status);
	sodium_memzero(csrf, sizeof(csrf));
	return;
fail:
	sodium_memzero(csrf, sizeof(csrf));
	answer_bare_500(rq);
}

void http_answer_text(struct http_req *rq, unsigned status, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);

	if (r == NULL) {
		answer_bare_500(rq);
		return;
	}
	add_common_headers(r, "text/plain; charset=utf-8");
	answer_set(rq, r, status);
}

/* An answer given without a route's work: errors found on the polling thread. */
static void answer_plain(struct http_req *rq, enum mailotpd_page page)
{
	struct mailotpd_page_in in;

	http_page_in_init(rq, &in);
	http_answer_page(rq, page, &in, NULL);
}

/* --- workers */

struct http_req *http_req_of(struct mailotpd_job *job)
{
	return (struct http_req *)(void *)((char *)job - offsetof(struct http_req, job));
}

void http_defer(struct http_req *rq, enum mailotpd_lane lane, void (*run)(struct mailotpd_job *job))
{
	rq->job.run = run;
	rq->deferred = true;
	pthread_mutex_lock(&unsent_mu);
	unsent++;
	pthread_mutex_unlock(&unsent_mu);
	/* Suspend first: a fast worker may resume before we return. */
	MHD_suspend_connection(rq->conn);
	rq->suspended = true;
	if (mailotpd_pool_submit(&rq->job, lane) != 0) {
		mailotp_log(LOG_WARNING, "http: client=%s: %s queue full, answering 503",
		            rq->client.text, lane == MAILOTPD_LANE_HASH ? "password" : "work");
		answer_plain(rq, MAILOTPD_PAGE_BUSY);
		http_resume(rq);
	}
}

void http_resume(struct http_req *rq)
{
	rq->suspended = false;
	MHD_resume_connection(rq->conn);
}

/* --- requests */

static enum http_field field_id(const char *key)
{
	static const char *const names[HF_COUNT] = {
	    [HF_CSRF] = "csrf",
	    [HF_EMAIL] = "email",
	    [HF_EMAIL_CONFIRM] = "email_confirm",
	    [HF_REALM] = "realm",
	    [HF_USER] = "user",
	    [HF_TOKEN] = "token",
	    [HF_PASSWORD] = "password",
	    [HF_PASSWORD_CONFIRM] = "password_confirm",
	};
	for (int i = 0; i < HF_COUNT; i++)
		if (strcmp(key, names[i]) == 0)
			return (enum http_field)i;
	return HF_COUNT;
}

/*
 * One piece of one form field. libmicrohttpd hands a long value over in
 * pieces (off > 0); off == 0 starts a field, which is how a repeated field
 * is seen.
 */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
	struct http_req *rq = cls;
	enum http_field f = field_id(key);
	char *p;

	if (off == 0) {
		if (++rq->n_fields > HTTP_MAX_FIELDS) {
			rq->malformed = true;
			return MHD_NO;
		}
		rq->skip = f == HF_COUNT;
		if (f != HF_COUNT && rq->val[f] != NULL) {
			rq->duplicate = true;
			rq->skip = true;
		}
	}
	if (rq->skip || f == HF_COUNT)
		return MHD_YES;
	if (off != rq->len[f] || rq->len[f] + size > HTTP_MAX_BODY) {
		rq->malformed = true;
		return MHD_NO;
	}
	if ((p = malloc(rq->len[f] + size + 1)) == NULL)
		return MHD_NO;
	if (rq->val[f] != NULL) {
		memcpy(p, rq->val[f], rq->len[f]);
		sodium_memzero(rq->val[f], rq->len[f]);
		free(rq->val[f]);
	}
	memcpy(p + rq->len[f], data, size);
	rq->len[f] += size;
	p[rq->len[f]] = '\0';
	rq->val[f] = p;
	return MHD_YES;
}

static bool form_urlencoded(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(want) - 1;

	/* Parameters (a charset) may follow; the pages send UTF-8 only. */
	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static bool wants_json(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);

	return a != NULL && strstr(a, "application/json") != NULL && strstr(a, "text/html") == NULL;
}

/* A post from another site: Sec-Fetch-Site says so, or Origin names another origin. */
static bool cross_site(struct http_req *rq)
{
	const char *site = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Origin");
	const char *pub = rq->ctx->cfg->reset_public_url, *slash;
	size_t n;

	if (site != NULL &&
	    (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0))
		return true;
	/* "null" is what browsers send under Referrer-Policy: no-referrer (our pages). */
	if (origin == NULL || strcmp(origin, "null") == 0)
		return false;
	if (pub == NULL)
		return true;
	slash = strchr(strstr(pub, "://") != NULL ? strstr(pub, "://") + 3 : pub, '/');
	n = slash != NULL ? (size_t)(slash - pub) : strlen(pub);
	return strlen(origin) != n || strncasecmp(origin, pub, n) != 0;
}

/* The first call for a request: route, limits that the headers already decide. */
static void req_begin(struct http_req *rq, const char *method, const char *url)
{
	const union MHD_ConnectionInfo *ci;
	const char *xff, *ct, *cl;
	bool path_known = false;

	ci = MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	xff = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	mailotpd_client_identify(ci != NULL ? ci->client_addr : NULL, xff,
	                         rq->ctx->cfg->reset_trusted_proxies, &rq->client);
	rq->json = wants_json(rq->conn);
	rq->lang = mailotpd_page_lang(
	    rq->ctx->cfg->language,
	    MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE),
	    MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "lang"));
	rq->lang_from_query =
	    MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "lang") != NULL;

	if ((rq->route = http_route_find(method, url, &path_known)) == NULL) {
		answer_plain(rq, path_known ? MAILOTPD_PAGE_METHOD : MAILOTPD_PAGE_NOT_FOUND);
		if (path_known && rq->resp != NULL) {
			char allow[64];

			http_route_allow(url, allow, sizeof(allow));
			MHD_add_response_header(rq->resp, MHD_HTTP_HEADER_ALLOW, allow);
		}
		return;
	}
	if (rq->route->form == NULL)
		return;
	/* Every post counts, whatever becomes of it: guessing costs the guesser. */
	if (!mailotpd_throttle_take(&rq->client, (enum mailotpd_bucket)rq->route->bucket)) {
		mailotp_log(LOG_NOTICE, "http: %s %s client=%s result=throttled", method,
		            rq->route->path, rq->client.text);
		answer_plain(rq, MAILOTPD_PAGE_THROTTLED);
		return;
	}
	if (cross_site(rq)) {
		mailotp_log(LOG_NOTICE, "http: %s %s client=%s result=forbidden: cross-site post",
		            method, rq->route->path, rq->client.text);
		answer_plain(rq, MAILOTPD_PAGE_FORBIDDEN);
		return;
	}
	ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!form_urlencoded(ct)) {
		answer_plain(rq, MAILOTPD_PAGE_MEDIA_TYPE);
		return;
	}
	cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
		answer_plain(rq, MAILOTPD_PAGE_TOO_BIG);
		return;
	}
	rq->pp = MHD_create_post_processor(rq->conn, POST_BUFFER, on_field, rq);
	if (rq->pp == NULL) {
		answer_plain(rq, MAILOTPD_PAGE_MEDIA_TYPE);
		return;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_req *rq = *con_cls;

	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		rq->conn = conn;
		*con_cls = rq;
		if ((rq->ctx = mailotpd_ctx_current()) == NULL)
			return MHD_NO;
		req_begin(rq, method, url);
		/* Decided from the headers alone: answer now, before any body is read. */
		if (rq->resp != NULL)
			return MHD_queue_response(conn, rq->status, rq->resp);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (rq->resp != NULL || rq->too_big || rq->malformed)
			return MHD_YES; /* an answer is decided: the rest is not looked at */
		rq->body_len += n;
		if (rq->body_len > HTTP_MAX_BODY) {
			/* A chunked body gives no length up front. */
			rq->too_big = true;
			return MHD_YES;
		}
		if (rq->pp == NULL || MHD_post_process(rq->pp, upload_data, n) != MHD_YES)
			rq->malformed = true;
		/* The post processor decodes values (passwords) into its own frame. */
		mailotp_burn_stack();
		return MHD_YES;
	}
	if (rq->suspended)
		return MHD_YES;
	if (rq->resp == NULL) {
		if (rq->too_big)
			answer_plain(rq, MAILOTPD_PAGE_TOO_BIG);
		else
			rq->route->finish(rq);
		if (rq->suspended)
			return MHD_YES;
	}
	if (rq->resp == NULL)
		answer_bare_500(rq);
	if (rq->resp == NULL)
		return MHD_NO;
	return MHD_queue_response(conn, rq->status, rq->resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_req *rq = *con_cls;

	if (rq == NULL)
		return;
	/* Sent, or the client went away: either way nothing is left to send. */
	if (rq->deferred) {
		pthread_mutex_lock(&unsent_mu);
		if (--unsent == 0)
			pthread_cond_broadcast(&unsent_cv);
		pthread_mutex_unlock(&unsent_mu);
	}
	if (rq->pp != NULL)
		MHD_destroy_post_processor(rq->pp);
	for (int i = 0; i < HF_COUNT; i++) {
		if (rq->val[i] != NULL) {
			sodium_memzero(rq->val[i], rq->len[i]);
			free(rq->val[i]);
		}
	}
	if (rq->resp != NULL)
		MHD_destroy_response(rq->resp);
	mailotpd_ctx_unref(rq->ctx);
	sodium_memzero(rq, sizeof(*rq));
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512], safe[600];
	size_t n;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(line, sizeof(line), fmt, ap);
#pragma GCC diagnostic pop
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	mailotp_log(LOG_WARNING, "http: libmicrohttpd: %s",
	            mailotp_log_escape(line, safe, sizeof(safe)));
}

/* --- start and stop */

/* Cookie attributes follow reset_public_url: Secure over https, Path its path. */
static void cookie_setup(const char *pub)
{
	const char *host, *path;

	cookie_secure = pub != NULL && strncasecmp(pub, "https://", 8) == 0;
	snprintf(cookie_path, sizeof(cookie_path), "/");
	if (pub == NULL || (host = strstr(pub, "://")) == NULL)
		return;
	if ((path = strchr(host + 3, '/')) != NULL && strlen(path) < sizeof(cookie_path) &&
	    strpbrk(path, ";, \t") == NULL)
		snprintf(cookie_path, sizeof(cookie_path), "%s", path);
}

static void listener_close(void)
{
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (unix_path != NULL)
		unlink(unix_path);
	free(unix_path);
	unix_path = NULL;
}

int mailotpd_http_listen(const struct mailotp_config *cfg)
{
	int fd;

	if (listen_fd >= 0)
		return 0;
	if (cfg->reset_listen == NULL || strcmp(cfg->reset_listen, "none") == 0) {
		if (mailotpd_listen_fds() >= 2)
			mailotp_log(LOG_WARNING,
			            "http: systemd passed a second socket but reset_listen "
			            "is none: the reset web service stays off, and "
			            "connections to that socket are not answered");
		return 0;
	}
	if ((fd = open_listener(cfg->reset_listen)) < 0)
		return fd;
	listen_fd = fd;
	return 0;
}

int mailotpd_http_start(const struct mailotp_config *cfg)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	unsigned per_ip = PER_IP_LIMIT;
	struct mailotpd_lane_config lanes[MAILOTPD_LANE_COUNT] = {
	    [MAILOTPD_LANE_QUICK] = {QUICK_WORKERS, QUICK_QUEUE_MAX, 0},
	    [MAILOTPD_LANE_HASH] = {1, HASH_QUEUE_MAX, HASH_NICE},
	};
	struct mailotpd_ctx *ctx;
	int r;

	if (cfg->reset_listen == NULL || strcmp(cfg->reset_listen, "none") == 0)
		return 0;
	ctx = mailotpd_ctx_current();
	r = ctx != NULL ? mailotpd_csrf_init(ctx->bind_pw, cfg->reset_public_url)
	                : MAILOTP_ERR_INTERNAL;
	mailotpd_ctx_unref(ctx);
	if (r != 0 || (r = mailotpd_pages_init()) != 0 || (r = mailotpd_throttle_init()) != 0) {
		mailotp_log(LOG_ERR, "http: cannot set up: %s", mailotp_strerror(r));
		goto fail;
	}
	cookie_setup(cfg->reset_public_url);
	if ((r = mailotpd_http_listen(cfg)) != 0)
		goto fail;
	/* Behind a proxy every connection has the proxy's address: no per-address cap. */
	if (cfg->reset_trusted_proxies != NULL || listen_is_unix)
		per_ip = 0;
	lanes[MAILOTPD_LANE_HASH].workers = mailotpd_pool_hash_limit() + 1;
	if ((r = mailotpd_pool_start(lanes)) != 0) {
		mailotp_log(LOG_ERR, "http: cannot start the worker threads");
		goto fail;
	}
	/* The logger first, so that even option errors reach our log. */
	daemon_ = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	    MHD_OPTION_END);
	if (daemon_ == NULL) {
		mailotp_log(LOG_ERR, "http: libmicrohttpd did not start on %s", cfg->reset_listen);
		mailotpd_pool_stop();
		r = MAILOTP_ERR_INTERNAL;
		goto fail;
	}
	mailotp_log(LOG_NOTICE, "http: reset web service on %s, links to %s",
	            listen_passed ? "the socket passed by systemd (fd 4)" : cfg->reset_listen,
	            cfg->reset_public_url != NULL ? cfg->reset_public_url : "(none)");
	return 0;
fail:
	listener_close();
	mailotpd_csrf_free();
	return r;
}

/* Waits until every deferred request's answer is sent, or ms have passed. */
static void wait_unsent(long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&unsent_mu);
	while (unsent > 0)
		if (pthread_cond_clockwait(&unsent_cv, &unsent_mu, CLOCK_MONOTONIC, &until) != 0)
			break;
	if (unsent > 0)
		mailotp_log(LOG_WARNING, "http: stopping with %u answers not sent", unsent);
	pthread_mutex_unlock(&unsent_mu);
}

void mailotpd_http_stop(void)
{
	MHD_socket fd;

	if (daemon_ == NULL) {
		listener_close();
		return;
	}
	/* No new connections; the listening socket comes back to us (listen_fd). */
	fd = MHD_quiesce_daemon(daemon_);
	/* Every queued job resumes its connection: MHD must not stop with one suspended. */
	mailotpd_pool_stop();
	/*
	 * The answers the workers just prepared are sent by the polling thread,
	 * which still runs: MHD_stop_daemon() would close their connections
	 * first. Wait for them, bounded (a client that does not read).
	 */
	wait_unsent(STOP_SEND_WAIT_MS);
	MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	if (fd != listen_fd && fd != MHD_INVALID_SOCKET)
		close(fd);
	listener_close();
	mailotpd_csrf_free();
}
