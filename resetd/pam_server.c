/* The PAM socket server of mailotpd (see pam_server.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "chpass.h"
#include "ctx.h"
#include "escape.h"
#include "log.h"
#include "login.h"
#include "pam_server.h"
#include "mailotp/protocol.h"

#define FRAME_TIMEOUT_MS 10000 /* to read or write one frame once it started */
#define FIRST_REQUEST_MS 10000 /* a client that connects must speak at once */
#define FOLLOW_UP_SLACK_S 30   /* beyond otp_ttl, for the user to type */
#define THREAD_STACK (512 * 1024)

static atomic_bool stopping;
static int listen_fd = -1;
static int wake_pipe[2] = {-1, -1};
static pthread_t accept_thread;
static bool accept_running;
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t active_cv = PTHREAD_COND_INITIALIZER;
static int active;

struct conn {
	int fd;
	uid_t uid;
	pid_t pid;
	struct mailotpd_ctx *ctx;
	struct mailotp_login login;
	char *acct_user; /* the account whose consent is asked */
	/* Escaped copies of the caller's strings, for the log lines. */
	char user[96], service[48], rhost[96];
	char rhost_raw[256]; /* as the client gave it, for the consent record */
};

/* What a handler tells the connection loop. */
enum next { NEXT_CLOSE, NEXT_CODE, NEXT_CONSENT };

typedef enum next (*handler_fn)(struct conn *c, const struct mailotp_fields *f,
                                struct mailotp_outcome *o);

static const char *status_name(enum mailotp_status st)
{
	static const char *const names[] = {
	    [MAILOTP_ST_OK] = "ok",
	    [MAILOTP_ST_DENIED] = "denied",
	    [MAILOTP_ST_UNAVAIL] = "unavailable",
	    [MAILOTP_ST_RETRY] = "retry",
	    [MAILOTP_ST_MAXTRIES] = "maxtries",
	    [MAILOTP_ST_NEW_AUTHTOK_REQD] = "new-password-required",
	    [MAILOTP_ST_PERM_DENIED] = "permission-denied",
	    [MAILOTP_ST_ACCT_EXPIRED] = "account-expired",
	    [MAILOTP_ST_AUTHTOK_ERR] = "password-refused",
	    [MAILOTP_ST_CONSENT_REQUIRED] = "consent-required",
	    [MAILOTP_ST_BAD_REQUEST] = "bad-request",
	    [MAILOTP_ST_NOT_ALLOWED] = "not-allowed",
	    [MAILOTP_ST_USER_UNKNOWN] = "user-unknown",
	    [MAILOTP_ST_MAIL_FAILED] = "mail-failed",
	    [MAILOTP_ST_AUTHTOK_RECOVERY_ERR] = "old-password-wrong",
	};
	if ((size_t)st < sizeof(names) / sizeof(names[0]) && names[st] != NULL)
		return names[st];
	return "unknown";
}

static void log_decision(const struct conn *c, const char *stage, const struct mailotp_outcome *o)
{
	mailotp_log(o->status == MAILOTP_ST_OK || o->status == MAILOTP_ST_RETRY ? LOG_INFO
	                                                                        : LOG_NOTICE,
	            "%s: user=\"%s\" service=\"%s\" rhost=\"%s\" peer=uid:%u,pid:%d result=%s: %s",
	            stage, c->user, c->service, c->rhost, (unsigned)c->uid, (int)c->pid,
	            status_name(o->status), o->reason);
}

/* Copies the caller's identifying strings into the connection, escaped for the log. */
static int note_caller(struct conn *c, const struct mailotp_fields *f, char **user)
{
	char *service = NULL, *rhost = NULL;
	int r;

	if ((r = mailotp_fields_str(f, MAILOTP_TAG_USER, 1, user)) != 0 ||
	    (r = mailotp_fields_str(f, MAILOTP_TAG_SERVICE, 0, &service)) != 0 ||
	    (r = mailotp_fields_str(f, MAILOTP_TAG_RHOST, 0, &rhost)) != 0)
		goto out;
	mailotp_log_escape(*user, c->user, sizeof(c->user));
	mailotp_log_escape(service != NULL ? service : "", c->service, sizeof(c->service));
	mailotp_log_escape(rhost != NULL ? rhost : "", c->rhost, sizeof(c->rhost));
	/* Kept only when it is clean text: it is stored on the entry as is. */
	snprintf(c->rhost_raw, sizeof(c->rhost_raw), "%s",
	         rhost != NULL && mailotp_utf8_is_clean(rhost, strlen(rhost)) ? rhost : "");
out:
	free(service);
	free(rhost);
	return r;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

/* The strings of an auth request, owned by the handler. */
struct auth_fields {
	char *user, *password, *service, *rhost, *ruser, *tty;
	uint32_t flags;
};

static int read_auth(struct conn *c, const struct mailotp_fields *f, struct auth_fields *a,
                     struct mailotp_login_request *req)
{
	memset(req, 0, sizeof(*req));
	if (note_caller(c, f, &a->user) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_PASSWORD, 0, &a->password) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_SERVICE, 0, &a->service) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_RHOST, 0, &a->rhost) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_RUSER, 0, &a->ruser) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_TTY, 0, &a->tty) != 0 ||
	    mailotp_fields_u32(f, MAILOTP_TAG_FLAGS, 0, &a->flags) != 0)
		return MAILOTP_ERR_PROTO;
	req->user = a->user;
	req->password = a->password;
	req->service = a->service;
	req->rhost = a->rhost;
	req->ruser = a->ruser;
	req->tty = a->tty;
	req->flags = a->flags;
	return 0;
}

static void free_auth(struct auth_fields *a)
{
	free_secret(a->password);
	free(a->user);
	free(a->service);
	free(a->rhost);
	free(a->ruser);
	free(a->tty);
}

static void bad_request(struct mailotp_outcome *o, const char *why)
{
	memset(o, 0, sizeof(*o));
	o->status = MAILOTP_ST_BAD_REQUEST;
	snprintf(o->reason, sizeof(o->reason), "%s", why);
}

static enum next handle_auth_begin(struct conn *c, const struct mailotp_fields *f,
                                   struct mailotp_outcome *o)
{
	struct mailotp_login_request req;
	struct auth_fields a = {0};
	enum next next = NEXT_CLOSE;

	if (read_auth(c, f, &a, &req) != 0) {
		bad_request(o, "malformed auth request");
	} else {
		mailotp_login_begin(&c->ctx->services, &req, &c->login, o);
		if (o->status == MAILOTP_ST_OK)
			next = NEXT_CODE;
	}
	log_decision(c, "auth", o);
	free_auth(&a);
	return next;
}

static enum next handle_auth_combined(struct conn *c, const struct mailotp_fields *f,
                                      struct mailotp_outcome *o)
{
	struct mailotp_login_request req;
	struct auth_fields a = {0};

	if (read_auth(c, f, &a, &req) != 0 || a.password == NULL ||
	    (a.flags & MAILOTP_FLAG_OTP_ONLY) != 0)
		bad_request(o, "malformed combined auth request");
	else
		mailotp_login_combined(&c->ctx->services, &req, o);
	log_decision(c, "auth-combined", o);
	free_auth(&a);
	return NEXT_CLOSE;
}

static enum next handle_auth_code(struct conn *c, const struct mailotp_fields *f,
                                  struct mailotp_outcome *o)
{
	char *code = NULL;

	if (mailotp_fields_str(f, MAILOTP_TAG_CODE, 0, &code) != 0)
		bad_request(o, "malformed code request");
	else {
		mailotp_login_code(&c->ctx->services, &c->login, code, o);
	}
	free_secret(code);
	log_decision(c, "auth-code", o);
	return o->status == MAILOTP_ST_RETRY ? NEXT_CODE : NEXT_CLOSE;
}

static enum next handle_acct(struct conn *c, const struct mailotp_fields *f,
                             struct mailotp_outcome *o)
{
	char *user = NULL;

	memset(o, 0, sizeof(*o));
	if (note_caller(c, f, &user) != 0) {
		o->status = MAILOTP_ST_BAD_REQUEST;
		snprintf(o->reason, sizeof(o->reason), "malformed account request");
	} else {
		mailotp_acct_check(&c->ctx->services, user, o);
	}
	log_decision(c, "account", o);
	if (o->status == MAILOTP_ST_CONSENT_REQUIRED) {
		c->acct_user = user;
		return NEXT_CONSENT;
	}
	free(user);
	return NEXT_CLOSE;
}

static enum next handle_consent(struct conn *c, const struct mailotp_fields *f,
                                struct mailotp_outcome *o)
{
	char *answer = NULL;

	memset(o, 0, sizeof(*o));
	if (mailotp_fields_str(f, MAILOTP_TAG_ANSWER, 0, &answer) != 0) {
		o->status = MAILOTP_ST_BAD_REQUEST;
		snprintf(o->reason, sizeof(o->reason), "malformed consent answer");
	} else {
		mailotp_acct_consent(&c->ctx->services, c->acct_user, answer, c->rhost_raw, o);
	}
	log_decision(c, "consent", o);
	free(answer);
	return NEXT_CLOSE;
}

static enum next handle_chauthtok(struct conn *c, const struct mailotp_fields *f,
                                  struct mailotp_outcome *o)
{
	char *user = NULL, *old = NULL, *new = NULL, *rhost = NULL;
	uint32_t flags = 0;

	memset(o, 0, sizeof(*o));
	if (note_caller(c, f, &user) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_OLD_PASSWORD, 0, &old) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_NEW_PASSWORD, 0, &new) != 0 ||
	    mailotp_fields_str(f, MAILOTP_TAG_RHOST, 0, &rhost) != 0 ||
	    mailotp_fields_u32(f, MAILOTP_TAG_FLAGS, 0, &flags) != 0 ||
	    (!(flags & MAILOTP_FLAG_PRELIM) && (old == NULL || new == NULL))) {
		o->status = MAILOTP_ST_BAD_REQUEST;
		snprintf(o->reason, sizeof(o->reason), "malformed password change request");
	} else {
		mailotp_chpass(&c->ctx->services, user, old, new,
		               (flags & MAILOTP_FLAG_PRELIM) != 0, rhost, o);
	}
	log_decision(c, (flags & MAILOTP_FLAG_PRELIM) ? "password-check" : "password", o);
	free_secret(old);
	free_secret(new);
	free(user);
	free(rhost);
	return NEXT_CLOSE;
}

/* The requests a connection may start with, and what may follow them. */
static const struct handler {
	uint8_t type;
	enum next when; /* NEXT_CLOSE: only as the first request */
	handler_fn fn;
} handlers[] = {
    {MAILOTP_MSG_AUTH_BEGIN, NEXT_CLOSE, handle_auth_begin},
    {MAILOTP_MSG_AUTH_CODE, NEXT_CODE, handle_auth_code},
    {MAILOTP_MSG_AUTH_COMBINED, NEXT_CLOSE, handle_auth_combined},
    {MAILOTP_MSG_ACCT, NEXT_CLOSE, handle_acct},
    {MAILOTP_MSG_CHAUTHTOK, NEXT_CLOSE, handle_chauthtok},
    {MAILOTP_MSG_CONSENT, NEXT_CONSENT, handle_consent},
};

static const struct handler *find_handler(uint8_t type, enum next state)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type && handlers[i].when == state)
			return &handlers[i];
	return NULL;
}

static int send_outcome(int fd, uint8_t type, const struct mailotp_outcome *o,
                        const char *long_info)
{
	struct mailotp_msg m;
	int r;

	if ((r = mailotp_msg_init(&m, type)) != 0)
		return r;
	if ((r = mailotp_msg_add_u32(&m, MAILOTP_TAG_STATUS, (uint32_t)o->status)) != 0 ||
	    (long_info != NULL &&
	     (r = mailotp_msg_add_str(&m, MAILOTP_TAG_INFO, long_info)) != 0) ||
	    (long_info == NULL && o->info[0] != '\0' &&
	     (r = mailotp_msg_add_str(&m, MAILOTP_TAG_INFO, o->info)) != 0) ||
	    (o->error[0] != '\0' &&
	     (r = mailotp_msg_add_str(&m, MAILOTP_TAG_ERROR, o->error)) != 0) ||
	    (o->prompt[0] != '\0' &&
	     (r = mailotp_msg_add_str(&m, MAILOTP_TAG_PROMPT, o->prompt)) != 0) ||
	    (o->status == MAILOTP_ST_RETRY &&
	     (r = mailotp_msg_add_u32(&m, MAILOTP_TAG_REMAINING, (uint32_t)o->remaining)) != 0))
		goto out;
	r = mailotp_msg_write(fd, &m, FRAME_TIMEOUT_MS);
out:
	mailotp_msg_clear(&m);
	return r;
}

/* Waits until fd is readable, in short slices so that a shutdown is noticed. */
static int wait_readable(int fd, int timeout_ms)
{
	while (timeout_ms > 0 && !atomic_load(&stopping)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int slice = timeout_ms < 500 ? timeout_ms : 500, n;

		n = poll(&p, 1, slice);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return MAILOTP_ERR_IO;
		timeout_ms -= slice;
	}
	return MAILOTP_ERR_TIMEOUT;
}

/* A login left in the middle: the code or the consent answer never came. */
static void log_abandoned(const struct conn *c, enum next state, const char *why)
{
	mailotp_log(LOG_NOTICE,
	            "%s: user=\"%s\" service=\"%s\" rhost=\"%s\" peer=uid:%u,pid:%d "
	            "result=abandoned: %s",
	            state == NEXT_CONSENT ? "consent" : "auth-code", c->user, c->service, c->rhost,
	            (unsigned)c->uid, (int)c->pid, why);
}

static void conn_serve(struct conn *c)
{
	enum next state = NEXT_CLOSE;
	bool first = true;

	for (;;) {
		struct mailotp_msg m = {0};
		struct mailotp_fields f;
		struct mailotp_outcome o;
		const struct handler *h;
		int wait_ms, r;

		wait_ms =
		    first ? FIRST_REQUEST_MS : (c->ctx->cfg->otp_ttl + FOLLOW_UP_SLACK_S) * 1000;
		if ((r = wait_readable(c->fd, wait_ms)) != 0) {
			if (!first)
				log_abandoned(c, state, "no answer from the client");
			return;
		}
		r = mailotp_msg_read(c->fd, &m, FRAME_TIMEOUT_MS);
		if (r == MAILOTP_ERR_CLOSED) {
			mailotp_msg_clear(&m);
			if (!first)
				log_abandoned(c, state, "the client hung up");
			return;
		}
		if (r != 0 || (r = mailotp_fields_parse(&m, &f)) != 0) {
			mailotp_log(LOG_WARNING, "pam socket: peer uid:%u pid:%d: bad frame: %s",
			            (unsigned)c->uid, (int)c->pid, mailotp_strerror(r));
			mailotp_msg_clear(&m);
			return;
		}
		if ((h = find_handler(m.type, state)) == NULL) {
			memset(&o, 0, sizeof(o));
			o.status = MAILOTP_ST_BAD_REQUEST;
			mailotp_log(
			    LOG_WARNING,
			    "pam socket: peer uid:%u pid:%d: request type %u not expected here",
			    (unsigned)c->uid, (int)c->pid, (unsigned)m.type);
			(void)send_outcome(c->fd, (uint8_t)(m.type | MAILOTP_MSG_REPLY), &o, NULL);
			mailotp_msg_clear(&m);
			return;
		}
		state = h->fn(c, &f, &o);
		r = send_outcome(
		    c->fd, (uint8_t)(m.type | MAILOTP_MSG_REPLY), &o,
		    o.status == MAILOTP_ST_CONSENT_REQUIRED ? c->ctx->services.terms_text : NULL);
		mailotp_msg_clear(&m);
		if (r != 0 || state == NEXT_CLOSE)
			return;
		first = false;
	}
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	conn_serve(c);
	mailotp_login_clear(&c->login);
	free(c->acct_user);
	close(c->fd);
	mailotpd_ctx_unref(c->ctx);
	sodium_memzero(c, sizeof(*c));
	free(c);
	pthread_mutex_lock(&active_mu);
	active--;
	pthread_cond_broadcast(&active_cv);
	pthread_mutex_unlock(&active_mu);
	return NULL;
}

/* Answers a connection we will not serve, then closes it. */
static void refuse(int fd, enum mailotp_status st)
{
	struct mailotp_outcome o;

	memset(&o, 0, sizeof(o));
	o.status = st;
	(void)send_outcome(fd, MAILOTP_MSG_REPLY, &o, NULL);
	close(fd);
}

static void accept_one(void)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct mailotpd_ctx *ctx;
	struct conn *c;
	pthread_attr_t attr;
	pthread_t tid;
	int fd, busy;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			mailotp_log(LOG_ERR, "pam socket: accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		mailotp_log(LOG_ERR, "pam socket: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	ctx = mailotpd_ctx_current();
	if (!mailotp_config_peer_allowed(ctx->cfg, cred.uid, cred.gid)) {
		mailotp_log(LOG_WARNING,
		            "pam socket: refused peer uid:%u gid:%u pid:%d: not in pam_allow",
		            (unsigned)cred.uid, (unsigned)cred.gid, (int)cred.pid);
		mailotpd_ctx_unref(ctx);
		refuse(fd, MAILOTP_ST_NOT_ALLOWED);
		return;
	}
	pthread_mutex_lock(&active_mu);
	busy = active >= ctx->cfg->pam_max_clients;
	if (!busy)
		active++;
	pthread_mutex_unlock(&active_mu);
	if (busy) {
		mailotp_log(LOG_WARNING,
		            "pam socket: %d clients at once (pam_max_clients): "
		            "refusing peer pid:%d",
		            ctx->cfg->pam_max_clients, (int)cred.pid);
		mailotpd_ctx_unref(ctx);
		refuse(fd, MAILOTP_ST_UNAVAIL);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->ctx = ctx;
	mailotp_login_init(&c->login);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (pthread_create(&tid, &attr, conn_thread, c) != 0) {
		pthread_attr_destroy(&attr);
		free(c);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	return;
fail:
	mailotp_log(LOG_ERR, "pam socket: cannot start a connection thread");
	mailotpd_ctx_unref(ctx);
	pthread_mutex_lock(&active_mu);
	active--;
	pthread_cond_broadcast(&active_cv);
	pthread_mutex_unlock(&active_mu);
	refuse(fd, MAILOTP_ST_UNAVAIL);
}

static void *accept_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&stopping)) {
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
		                      {.fd = wake_pipe[0], .events = POLLIN}};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			mailotp_log(LOG_ERR, "pam socket: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents != 0)
			break;
		if (p[0].revents & POLLIN)
			accept_one();
	}
	return NULL;
}

int mailotpd_pam_listen(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		mailotp_log(LOG_ERR, "pam socket: path too long: %s", path);
		return MAILOTP_ERR_CONFIG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			mailotp_log(LOG_ERR, "pam socket: %s exists and is not a socket", path);
			return MAILOTP_ERR_CONFIG;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0666) != 0 ||
	    listen(fd, 128) != 0) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	mailotp_log(LOG_ERR, "pam socket: %s: %s", path, strerror(errno));
	return MAILOTP_ERR_IO;
}

int mailotpd_pam_start(int fd)
{
	int fl;

	listen_fd = fd;
	/* Non-blocking, so a client that goes away between poll and accept cannot block us. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return MAILOTP_ERR_IO;
	if (pipe2(wake_pipe, O_CLOEXEC) != 0)
		return MAILOTP_ERR_IO;
	if (pthread_create(&accept_thread, NULL, accept_main, NULL) != 0)
		return MAILOTP_ERR_INTERNAL;
	accept_running = true;
	return 0;
}

void mailotpd_pam_stop(int timeout_s)
{
	struct timespec deadline;

	atomic_store(&stopping, true);
	if (accept_running) {
		(void)!write(wake_pipe[1], "x", 1);
		pthread_join(accept_thread, NULL);
		accept_running = false;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&active_mu);
	while (active > 0)
		if (pthread_cond_timedwait(&active_cv, &active_mu, &deadline) == ETIMEDOUT)
			break;
	if (active > 0)
		mailotp_log(LOG_WARNING, "shutdown: %d connections still busy", active);
	pthread_mutex_unlock(&active_mu);
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
}
