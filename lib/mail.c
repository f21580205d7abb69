/*
 * SMTP through libcurl. Everything libcurl would otherwise take from the
 * environment (proxies, .netrc, protocols other than SMTP) is pinned here,
 * because the daemon must not be steerable by whoever started it.
 *
 * Errors are split in two for the callers: MAILOTP_ERR_SMTP when we never
 * got to talk (connect, TLS, timeout), MAILOTP_ERR_SMTP_REFUSED when the
 * server talked and said no. libcurl's CURLcode alone does not tell them
 * apart (a 550 to RCPT is CURLE_SEND_ERROR, a 554 to the end of DATA is
 * CURLE_WEIRD_SERVER_REPLY, both also used for broken connections), so
 * the server's reply code decides.
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "mail.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "message.h"

#define REPLY_MAX 160

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init_once(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int mailotp_mail_global_init(void)
{
	if (pthread_once(&global_once, global_init_once) != 0)
		return MAILOTP_ERR_INTERNAL;
	return global_rc == CURLE_OK ? 0 : MAILOTP_ERR_INTERNAL;
}

/* What the server said: the last reply, and the last refusal (4xx/5xx). */
struct reply {
	char last[REPLY_MAX];
	char refusal[REPLY_MAX];
	int refusal_code;
};

struct upload {
	const char *p;
	size_t left;
	const struct mailotp_mail_gate *gate;
	bool asked;  /* the gate was asked */
	int gate_rc; /* and answered this */
};

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	/* libcurl asks for the message only after the server's 354. */
	if (u->gate != NULL && !u->asked) {
		u->asked = true;
		if ((u->gate_rc = u->gate->ask(u->gate->arg)) != 0)
			return CURL_READFUNC_ABORT;
	}

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* libcurl's progress callback: the gate's tick, never a reason to stop. */
static int tick_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
	const struct mailotp_mail_gate *g = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	g->tick(g->arg);
	return 0;
}

/* Replies to VRFY/NOOP or anything else must not land on stdout. */
static size_t discard_cb(char *buf, size_t size, size_t nmemb, void *arg)
{
	(void)buf;
	(void)arg;
	return size * nmemb;
}

/*
 * Keeps the server's reply lines so that the error says "550 5.1.1 user
 * unknown" rather than libcurl's generic text. Only CURLINFO_HEADER_IN is
 * looked at: what goes out (AUTH, the message with its secret) is never
 * copied.
 */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	struct reply *rep = arg;
	char line[REPLY_MAX];
	size_t i, n = 0;

	(void)h;
	if (type != CURLINFO_HEADER_IN || size < 3)
		return 0;
	for (i = 0; i < size && n < sizeof(line) - 1; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\r' || c == '\n')
			break;
		/* The text goes into log lines: nothing but printable ASCII. */
		line[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	line[n] = '\0';
	memcpy(rep->last, line, n + 1);
	if (n >= 3 && (line[0] == '4' || line[0] == '5') && line[1] >= '0' && line[1] <= '9' &&
	    line[2] >= '0' && line[2] <= '9') {
		memcpy(rep->refusal, line, n + 1);
		rep->refusal_code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	}
	return 0;
}

static long use_ssl(enum mailotp_tls_mode m)
{
	switch (m) {
	case MAILOTP_TLS_NO:
		return (long)CURLUSESSL_NONE;
	case MAILOTP_TLS_YES:
		return (long)CURLUSESSL_ALL;
	case MAILOTP_TLS_AUTO:
	default:
		return (long)CURLUSESSL_TRY;
	}
}

/* Options shared by send and probe. Returns CURLE_OK or the failing option's code. */
static CURLcode easy_setup(CURL *h, const struct mailotp_config *cfg, const char *smtp_password,
                           char *errbuf, struct reply *rep)
{
	long timeout = cfg->smtp_timeout > 0 ? cfg->smtp_timeout : 10;
	CURLcode c;

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if ((c = curl_easy_setopt(h, opt, val)) != CURLE_OK)                               \
			goto out;                                                                  \
	} while (0)

	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_URL, cfg->smtp_url != NULL ? cfg->smtp_url : "smtp://127.0.0.1:25");
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	/* Never a proxy from http_proxy/all_proxy, never credentials from ~/.netrc. */
	SETOPT(CURLOPT_PROXY, "");
	SETOPT(CURLOPT_NOPROXY, "*");
	SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	/* Threads: no SIGALRM-based resolver timeouts. */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	/* One bound for the whole dialogue, so a login waits at most smtp_timeout. */
	SETOPT(CURLOPT_CONNECTTIMEOUT, timeout);
	SETOPT(CURLOPT_TIMEOUT, timeout);
	SETOPT(CURLOPT_USE_SSL, use_ssl(cfg->smtp_starttls));
	if (cfg->smtp_ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, cfg->smtp_ca_file);
	if (cfg->smtp_user != NULL) {
		SETOPT(CURLOPT_USERNAME, cfg->smtp_user);
		if (smtp_password != NULL)
			SETOPT(CURLOPT_PASSWORD, smtp_password);
	}
	SETOPT(CURLOPT_WRITEFUNCTION, discard_cb);
	/* The debug callback is how libcurl hands out the server's replies. */
	SETOPT(CURLOPT_DEBUGFUNCTION, debug_cb);
	SETOPT(CURLOPT_DEBUGDATA, rep);
	SETOPT(CURLOPT_VERBOSE, 1L);
out:
	return c;
#undef SETOPT
}

/* Maps a finished transfer to our codes and writes the reason into err. */
static int map_result(CURL *h, CURLcode c, const char *errbuf, const struct reply *rep, char *err,
                      size_t errlen)
{
	const char *why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(c);
	long code = 0;
	bool refused;

	if (c == CURLE_OK)
		return 0;
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	switch (c) {
	/* Never got to a conversation, or could not make it private. */
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_GOT_NOTHING:
		refused = false;
		break;
	default:
		refused = code >= 400 || rep->refusal_code >= 400;
		break;
	}
	if (refused)
		snprintf(err, errlen, "SMTP server refused: %s (curl %d: %s)",
		         rep->refusal[0] != '\0' ? rep->refusal : rep->last, (int)c, why);
	else
		snprintf(err, errlen, "SMTP failed: %s (curl %d)%s%s", why, (int)c,
		         rep->last[0] != '\0' ? "; last reply: " : "", rep->last);
	return refused ? MAILOTP_ERR_SMTP_REFUSED : MAILOTP_ERR_SMTP;
}

/*
 * Idle libcurl handles, each with the SMTP connection it last used still
 * open in its connection cache: the next mail to the same server skips the
 * TCP and TLS handshakes and the greeting (docs/performance.md has what it
 * changed on loopback). libcurl checks a cached connection before
 * reusing it and opens a new one when the server closed it or it has been
 * idle longer than CURLOPT_MAXAGE_CONN; a handle whose transfer failed is
 * closed, never reused.
 */
#define HANDLE_POOL 8
static pthread_mutex_t handle_mu = PTHREAD_MUTEX_INITIALIZER;
static CURL *handle_pool[HANDLE_POOL];
static size_t handle_n;

static CURL *handle_take(void)
{
	CURL *h = NULL;

	pthread_mutex_lock(&handle_mu);
	if (handle_n > 0)
		h = handle_pool[--handle_n];
	pthread_mutex_unlock(&handle_mu);
	if (h != NULL) {
		/* Options (password included) are cleared; the connection stays. */
		curl_easy_reset(h);
		return h;
	}
	return curl_easy_init();
}

static void handle_give(CURL *h, bool reusable)
{
	if (h == NULL)
		return;
	if (reusable) {
		pthread_mutex_lock(&handle_mu);
		if (handle_n < HANDLE_POOL) {
			handle_pool[handle_n++] = h;
			h = NULL;
		}
		pthread_mutex_unlock(&handle_mu);
	}
	if (h != NULL)
		curl_easy_cleanup(h);
}

int mailotp_smtp_send(const struct mailotp_config *cfg, const char *smtp_password,
                      const char *const *rcpt, size_t nrcpt, const char *message,
                      const struct mailotp_mail_gate *gate, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char addr[300];
	struct reply rep = {{0}, {0}, 0};
	struct upload up;
	struct curl_slist *rl = NULL, *tmp;
	CURL *h = NULL;
	CURLcode c;
	size_t i;
	int r = MAILOTP_ERR_INVALID;

	if (errlen > 0)
		err[0] = '\0';
	/* Addresses end up in MAIL FROM / RCPT TO lines: no CR, LF, '<' or '>' may pass. */
	if (cfg == NULL || message == NULL || rcpt == NULL || nrcpt == 0 ||
	    !mailotp_addr_valid(cfg->mail_from)) {
		snprintf(err, errlen, "SMTP: no recipient or an invalid mail_from");
		goto out;
	}
	for (i = 0; i < nrcpt; i++) {
		if (!mailotp_addr_valid(rcpt[i])) {
			snprintf(err, errlen, "SMTP: recipient %zu is not a valid address", i + 1);
			goto out;
		}
		snprintf(addr, sizeof(addr), "<%s>", rcpt[i]);
		if ((tmp = curl_slist_append(rl, addr)) == NULL) {
			r = MAILOTP_ERR_NOMEM;
			goto out;
		}
		rl = tmp;
	}
	if ((r = mailotp_mail_global_init()) != 0) {
		snprintf(err, errlen, "SMTP: curl_global_init failed");
		goto out;
	}
	r = MAILOTP_ERR_NOMEM;
	if ((h = handle_take()) == NULL)
		goto out;
	snprintf(addr, sizeof(addr), "<%s>", cfg->mail_from);
	memset(&up, 0, sizeof(up));
	up.p = message;
	up.left = strlen(message);
	up.gate = gate;
	if ((c = easy_setup(h, cfg, smtp_password, errbuf, &rep)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rl)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_READDATA, &up)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.left)) != CURLE_OK ||
	    (gate != NULL && gate->tick != NULL &&
	     ((c = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, tick_cb)) != CURLE_OK ||
	      (c = curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)gate)) != CURLE_OK ||
	      (c = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L)) != CURLE_OK))) {
		snprintf(err, errlen, "SMTP: libcurl option refused: %s", curl_easy_strerror(c));
		r = MAILOTP_ERR_INTERNAL;
		goto out;
	}
	c = curl_easy_perform(h);
	if (up.gate_rc != 0) {
		/* Withheld: the connection, left inside DATA, is closed below. */
		snprintf(err, errlen, "SMTP: message withheld after DATA (nothing delivered)");
		r = up.gate_rc;
	} else {
		r = map_result(h, c, errbuf, &rep, err, errlen);
	}
	/* Drop what the handle points at before it waits in the pool (the gate
	 * lives in the caller's frame; libcurl may still call back while it
	 * closes the connection at a later cleanup). */
	(void)curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	(void)curl_easy_setopt(h, CURLOPT_READDATA, NULL);
	(void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	(void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, NULL);
	(void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
out:
	handle_give(h, r == 0);
	curl_slist_free_all(rl);
	return r;
}

int mailotp_smtp_probe(const struct mailotp_config *cfg, const char *smtp_password, char *err,
                       size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct reply rep = {{0}, {0}, 0};
	CURL *h = NULL;
	CURLcode c;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (cfg == NULL)
		return MAILOTP_ERR_INVALID;
	if ((r = mailotp_mail_global_init()) != 0) {
		snprintf(err, errlen, "SMTP: curl_global_init failed");
		goto out;
	}
	r = MAILOTP_ERR_NOMEM;
	if ((h = curl_easy_init()) == NULL)
		goto out;
	/*
	 * A NOOP with no recipient and no upload: libcurl does the greeting,
	 * EHLO, STARTTLS and AUTH as for a real mail, sends NOOP, and QUIT at
	 * cleanup. (CONNECT_ONLY would skip the QUIT and just drop the line.)
	 */
	if ((c = easy_setup(h, cfg, smtp_password, errbuf, &rep)) != CURLE_OK ||
	    (c = curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "NOOP")) != CURLE_OK) {
		snprintf(err, errlen, "SMTP: libcurl option refused: %s", curl_easy_strerror(c));
		r = MAILOTP_ERR_INTERNAL;
		goto out;
	}
	c = curl_easy_perform(h);
	r = map_result(h, c, errbuf, &rep, err, errlen);
out:
	if (h != NULL)
		curl_easy_cleanup(h);
	return r;
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int mailotp_mail_send_template(const struct mailotp_config *cfg, const char *smtp_password,
                               const struct mailotp_templates *t, const char *lang,
                               const char *name, const char *const *to, size_t nto,
                               const struct mailotp_tvar *vars, size_t nvars,
                               const struct mailotp_mail_gate *gate, char *err, size_t errlen)
{
	char *subject = NULL, *body = NULL, *msg = NULL;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	if (cfg == NULL)
		return MAILOTP_ERR_INVALID;
	if ((r = mailotp_template_render(t, lang, name, vars, nvars, &subject, &body)) != 0) {
		snprintf(err, errlen, "mail template %s: %s", name != NULL ? name : "(null)",
		         r == MAILOTP_ERR_NOMEM ? "out of memory" : "no such template");
		goto out;
	}
	if ((r = mailotp_message_build(cfg->mail_from, to, nto, subject, body, time(NULL), &msg)) !=
	    0) {
		snprintf(err, errlen, "mail %s: %s", name,
		         r == MAILOTP_ERR_NOMEM ? "out of memory"
		                                : "invalid address or text, message not built");
		goto out;
	}
	r = mailotp_smtp_send(cfg, smtp_password, to, nto, msg, gate, err, errlen);
out:
	wipe_free(subject);
	wipe_free(body);
	wipe_free(msg);
	return r;
}
