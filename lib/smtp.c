/*
 * The SMTP client. Written here rather than taken from libcurl because
 * Debian's libcurl brings OpenSSL (through libssh2) and a dozen other
 * libraries into a daemon that already has GnuTLS from libldap (2.8 MiB
 * of the idle memory, docs/performance.md), cannot pipeline SMTP
 * commands, and keeps the message (with its one-time code) in an upload
 * buffer we cannot wipe. What mailotpd needs of SMTP is small: one
 * envelope, one short 7-bit message, STARTTLS or implicit TLS, AUTH.
 *
 * A send: take an idle connection for the same server and settings from
 * the pool or open one (greeting, EHLO, STARTTLS, EHLO again, AUTH);
 * then MAIL, RCPT..., DATA (one write when the server offers PIPELINING),
 * the gate, the dot-stuffed message and its final dot. Errors split in
 * two for the callers: MAILOTP_ERR_SMTP when there was no usable
 * conversation, MAILOTP_ERR_SMTP_REFUSED when the server said no.
 *
 * Nothing is delivered before the final "." (RFC 5321 4.1.1.4), so a
 * send that dies before it can be tried again; a send that dies after
 * it never is (the mail may have gone).
 */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "smtp.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <sodium.h>

#include "message.h"
#include "netconn.h"

#define LINE_MAX_REPLY 1024 /* RFC 5321 allows 512; some EHLO lines are longer */
#define REPLY_LINES_MAX 100
#define TEXT_MAX 160     /* the part of a reply kept for errors and logs */
#define MSG_LINE_MAX 998 /* RFC 5322 2.1.1 */
#define POOL_MAX 8
#define POOL_IDLE_MS 60000 /* well under the 5 minutes servers wait (RFC 5321 4.5.3.2.7) */

enum { CAP_PIPELINING = 1, CAP_STARTTLS = 2, CAP_AUTH_PLAIN = 4, CAP_AUTH_LOGIN = 8 };

/* Where to go, from smtp_url. */
struct target {
	char host[256]; /* an IPv6 address without its brackets */
	char port[6];
	char ehlo[256];
	bool implicit_tls;
};

struct session {
	struct mailotp_conn *c;
	unsigned char key[16]; /* the settings it was opened with */
	unsigned caps;
	int64_t idle_since;
};

/* What one dialogue needs at hand. */
struct dialogue {
	struct session *s;
	const char *host;
	int64_t deadline;
	const struct mailotp_conn_tick *tick;
	char *err;
	size_t errlen;
};

struct reply {
	int code;
	char text[TEXT_MAX]; /* the first line, printable ASCII only */
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static struct session *pool[POOL_MAX];
static size_t pool_n;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc = MAILOTP_ERR_INTERNAL;

static void global_init_once(void)
{
	global_rc = gnutls_global_init() == GNUTLS_E_SUCCESS ? 0 : MAILOTP_ERR_INTERNAL;
}

int mailotp_mail_global_init(void)
{
	if (pthread_once(&global_once, global_init_once) != 0)
		return MAILOTP_ERR_INTERNAL;
	return global_rc;
}

/* ---- smtp_url ---- */

static bool ldh_name(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char ch = (unsigned char)*s;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return n > 0;
}

/*
 * smtp://HOST[:PORT][/EHLO-NAME] or smtps://...: the path, as with
 * libcurl before, is the name we give in EHLO; without one, our host name.
 */
static int target_parse(const char *url, struct target *t, char *err, size_t errlen)
{
	const char *p, *end, *colon = NULL;
	size_t n;
	unsigned long port;
	char *stop;

	memset(t, 0, sizeof(*t));
	if (url == NULL)
		url = "smtp://127.0.0.1:25";
	if (strncasecmp(url, "smtps://", 8) == 0) {
		t->implicit_tls = true;
		p = url + 8;
	} else if (strncasecmp(url, "smtp://", 7) == 0) {
		p = url + 7;
	} else {
		goto bad;
	}
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));
		unsigned char a6[16];

		if (rb == NULL || (size_t)(rb - p - 1) >= sizeof(t->host))
			goto bad;
		memcpy(t->host, p + 1, (size_t)(rb - p - 1));
		if (inet_pton(AF_INET6, t->host, a6) != 1)
			goto bad;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				goto bad;
			colon = rb + 1;
		}
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon != NULL ? colon : end) - p);
		if (n == 0 || n >= sizeof(t->host))
			goto bad;
		memcpy(t->host, p, n);
		if (!ldh_name(t->host))
			goto bad;
	}
	if (colon != NULL) {
		n = (size_t)(end - colon - 1);
		if (n == 0 || n > 5 || strspn(colon + 1, "0123456789") < n)
			goto bad;
		port = strtoul(colon + 1, &stop, 10);
		if (port == 0 || port > 65535)
			goto bad;
		snprintf(t->port, sizeof(t->port), "%lu", port);
	} else {
		snprintf(t->port, sizeof(t->port), "%s", t->implicit_tls ? "465" : "25");
	}
	if (*end == '/' && end[1] != '\0') {
		if (strlen(end + 1) >= sizeof(t->ehlo) || !ldh_name(end + 1))
			goto bad;
		snprintf(t->ehlo, sizeof(t->ehlo), "%s", end + 1);
	} else if (gethostname(t->ehlo, sizeof(t->ehlo)) != 0 ||
	           t->ehlo[sizeof(t->ehlo) - 1] != '\0' || !ldh_name(t->ehlo)) {
		snprintf(t->ehlo, sizeof(t->ehlo), "localhost");
	}
	return 0;
bad:
	mailotp_errf(err, errlen,
	             "must be smtp://HOST[:PORT][/EHLO-NAME] or smtps://HOST[:PORT][/EHLO-NAME]");
	return MAILOTP_ERR_CONFIG;
}

bool mailotp_smtp_url_valid(const char *url, char *why, size_t whylen)
{
	struct target t;

	return url != NULL && target_parse(url, &t, why, whylen) == 0;
}

/* The settings a pooled connection must share with a send to be reused for it. */
static void settings_key(const struct mailotp_config *cfg, unsigned char key[16])
{
	crypto_generichash_state st;
	const char *parts[4];
	unsigned char mode = (unsigned char)cfg->smtp_starttls;
	size_t i;

	parts[0] = cfg->smtp_url != NULL ? cfg->smtp_url : "";
	parts[1] = cfg->smtp_user != NULL ? cfg->smtp_user : "";
	parts[2] = cfg->smtp_ca_file != NULL ? cfg->smtp_ca_file : "";
	parts[3] = cfg->smtp_user != NULL ? "user" : "";
	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, &mode, 1);
	for (i = 0; i < 4; i++)
		/* With its NUL, so that no two lists hash alike. */
		crypto_generichash_update(&st, (const unsigned char *)parts[i],
		                          strlen(parts[i]) + 1);
	crypto_generichash_final(&st, key, 16);
}

/* ---- replies ---- */

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static void ehlo_keyword(const char *kw, unsigned *caps)
{
	const char *p;

	if (strcasecmp(kw, "PIPELINING") == 0) {
		*caps |= CAP_PIPELINING;
	} else if (strcasecmp(kw, "STARTTLS") == 0) {
		*caps |= CAP_STARTTLS;
	} else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
		/* "AUTH PLAIN LOGIN", or the old "AUTH=PLAIN LOGIN". */
		for (p = kw + 5; *p != '\0';) {
			size_t n = strcspn(p, " ");

			if (n == 5 && strncasecmp(p, "PLAIN", 5) == 0)
				*caps |= CAP_AUTH_PLAIN;
			else if (n == 5 && strncasecmp(p, "LOGIN", 5) == 0)
				*caps |= CAP_AUTH_LOGIN;
			p += n;
			p += strspn(p, " ");
		}
	}
}

/*
 * Reads one reply, all its lines ("250-..." then "250 ..."). With caps,
 * the lines after the first are EHLO keywords.
 */
static int reply_read(struct dialogue *d, struct reply *rep, unsigned *caps)
{
	char line[LINE_MAX_REPLY];
	size_t len, i, k;
	int code = 0, r;

	for (i = 0; i < REPLY_LINES_MAX; i++) {
		if ((r = mailotp_conn_read_line(d->s->c, line, sizeof(line), &len, d->deadline,
		                                d->tick, d->err, d->errlen)) != 0)
			return r;
		if (len < 3 || !digit(line[0]) || !digit(line[1]) || !digit(line[2]) ||
		    line[0] < '2' || line[0] > '5' || (len > 3 && line[3] != ' ' && line[3] != '-'))
			goto malformed;
		if (i == 0) {
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
			/* Into logs: printable ASCII only. */
			for (k = 0; k < len && k < sizeof(rep->text) - 1; k++)
				rep->text[k] = (line[k] >= 0x20 && line[k] < 0x7f) ? line[k] : '?';
			rep->text[k] = '\0';
			rep->code = code;
		} else if ((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') != code) {
			goto malformed;
		} else if (caps != NULL && len > 4) {
			ehlo_keyword(line + 4, caps);
		}
		if (len == 3 || line[3] == ' ')
			return 0;
	}
malformed:
	mailotp_errf(d->err, d->errlen, "SMTP failed: a malformed reply from %s", d->host);
	return MAILOTP_ERR_PROTO;
}

/*
 * Maps a connection error to what callers see: MAILOTP_ERR_SMTP, with
 * the reason marked as an SMTP failure.
 */
static int conn_failed(int r, char *err, size_t errlen)
{
	static const char pre[] = "SMTP failed: ";
	size_t n;

	if (r == MAILOTP_ERR_NOMEM || r == MAILOTP_ERR_SMTP_REFUSED)
		return r;
	if (err != NULL && errlen > sizeof(pre) && strncmp(err, "SMTP", 4) != 0) {
		n = strnlen(err, errlen - 1);
		if (n > errlen - sizeof(pre))
			n = errlen - sizeof(pre);
		memmove(err + sizeof(pre) - 1, err, n);
		memcpy(err, pre, sizeof(pre) - 1);
		err[n + sizeof(pre) - 1] = '\0';
	}
	return MAILOTP_ERR_SMTP;
}

/* A reply other than the one wanted: a refusal if 4xx or 5xx, else a broken dialogue. */
static int refused(struct dialogue *d, const struct reply *rep, const char *to)
{
	if (rep->code / 100 != 4 && rep->code / 100 != 5) {
		mailotp_errf(d->err, d->errlen, "SMTP failed: unexpected reply to %s: %s", to,
		             rep->text);
		return MAILOTP_ERR_SMTP;
	}
	mailotp_errf(d->err, d->errlen, "SMTP server refused %s: %s", to, rep->text);
	return MAILOTP_ERR_SMTP_REFUSED;
}

/* Sends one command line and reads its reply. */
static int command(struct dialogue *d, const char *line, struct reply *rep, unsigned *caps)
{
	int r;

	if ((r = mailotp_conn_write(d->s->c, line, strlen(line), d->deadline, d->tick, d->err,
	                            d->errlen)) != 0 ||
	    (r = reply_read(d, rep, caps)) != 0)
		return r;
	return 0;
}

/* ---- opening a session ---- */

static int ehlo(struct dialogue *d, const struct target *t)
{
	char line[300];
	struct reply rep;
	int r;

	d->s->caps = 0;
	snprintf(line, sizeof(line), "EHLO %s\r\n", t->ehlo);
	if ((r = command(d, line, &rep, &d->s->caps)) != 0)
		return r;
	if (rep.code == 250)
		return 0;
	if (rep.code / 100 != 5)
		return refused(d, &rep, "EHLO");
	/* A server without extensions: HELO, and nothing to offer. */
	d->s->caps = 0;
	snprintf(line, sizeof(line), "HELO %s\r\n", t->ehlo);
	if ((r = command(d, line, &rep, NULL)) != 0)
		return r;
	return rep.code == 250 ? 0 : refused(d, &rep, "HELO");
}

static int starttls(struct dialogue *d, const struct mailotp_config *cfg, const struct target *t)
{
	struct reply rep;
	int r;

	if ((r = command(d, "STARTTLS\r\n", &rep, NULL)) != 0)
		return r;
	if (rep.code != 220) {
		if (cfg->smtp_starttls == MAILOTP_TLS_YES)
			return refused(d, &rep, "STARTTLS");
		return 0; /* auto: on in clear, as when it is not offered */
	}
	/*
	 * Anything after the 220 came in clear and would be read as if it had
	 * come over TLS (CVE-2011-0411 and its kin): give up.
	 */
	if (mailotp_conn_buffered(d->s->c) > 0) {
		mailotp_errf(d->err, d->errlen,
		             "SMTP failed: %s sent more after its 220 to STARTTLS (refused: an "
		             "injection before TLS)",
		             t->host);
		return MAILOTP_ERR_SMTP;
	}
	if ((r = mailotp_conn_start_tls(d->s->c, cfg->smtp_ca_file, d->deadline, d->err,
	                                d->errlen)) != 0)
		return r;
	return ehlo(d, t);
}

/* Ends a command line; the callers sized the buffer for it. */
static void crlf_append(char *line)
{
	size_t n = strlen(line);

	line[n] = '\r';
	line[n + 1] = '\n';
	line[n + 2] = '\0';
}

/* AUTH PLAIN with the initial response, or AUTH LOGIN (RFC 4954). */
static int auth(struct dialogue *d, const struct mailotp_config *cfg, const char *password)
{
	const char *user = cfg->smtp_user, *pw = password != NULL ? password : "";
	size_t ulen = strlen(user), plen = strlen(pw), rawlen, b64len, linelen;
	unsigned char *raw = NULL;
	char *line = NULL;
	struct reply rep;
	int r = MAILOTP_ERR_NOMEM, step;

	if (!mailotp_conn_is_tls(d->s->c) && !mailotp_conn_is_loopback(d->s->c)) {
		mailotp_errf(
		    d->err, d->errlen,
		    "SMTP failed: smtp_user is set but the connection is not encrypted; the "
		    "password is only sent over TLS or to a loopback address "
		    "(smtp_starttls yes, or smtps://)");
		return MAILOTP_ERR_SMTP;
	}
	if ((d->s->caps & (CAP_AUTH_PLAIN | CAP_AUTH_LOGIN)) == 0) {
		mailotp_errf(
		    d->err, d->errlen,
		    "SMTP failed: smtp_user is set but the server offers no AUTH PLAIN or LOGIN");
		return MAILOTP_ERR_SMTP;
	}
	if (ulen > 1024 || plen > 1024) {
		mailotp_errf(d->err, d->errlen, "SMTP: smtp_user or its password is too long");
		return MAILOTP_ERR_INVALID;
	}
	rawlen = ulen + plen + 2;
	b64len = sodium_base64_encoded_len(rawlen, sodium_base64_VARIANT_ORIGINAL);
	linelen = b64len + 16;
	if ((raw = malloc(rawlen)) == NULL || (line = malloc(linelen)) == NULL)
		goto out;
	if (d->s->caps & CAP_AUTH_PLAIN) {
		/* authzid NUL authcid NUL passwd */
		raw[0] = '\0';
		memcpy(raw + 1, user, ulen);
		raw[1 + ulen] = '\0';
		memcpy(raw + 2 + ulen, pw, plen);
		memcpy(line, "AUTH PLAIN ", 11);
		sodium_bin2base64(line + 11, linelen - 13, raw, rawlen,
		                  sodium_base64_VARIANT_ORIGINAL);
		crlf_append(line);
		if ((r = command(d, line, &rep, NULL)) != 0)
			goto out;
	} else {
		if ((r = command(d, "AUTH LOGIN\r\n", &rep, NULL)) != 0)
			goto out;
		for (step = 0; step < 2 && rep.code == 334; step++) {
			const char *v = step == 0 ? user : pw;

			sodium_bin2base64(line, linelen - 2, (const unsigned char *)v, strlen(v),
			                  sodium_base64_VARIANT_ORIGINAL);
			crlf_append(line);
			if ((r = command(d, line, &rep, NULL)) != 0)
				goto out;
		}
	}
	r = rep.code == 235 ? 0 : refused(d, &rep, "AUTH");
out:
	if (r == MAILOTP_ERR_NOMEM)
		mailotp_errf(d->err, d->errlen, "SMTP: out of memory");
	if (raw != NULL) {
		sodium_memzero(raw, rawlen);
		free(raw);
	}
	if (line != NULL) {
		sodium_memzero(line, linelen);
		free(line);
	}
	return r;
}

static void session_free(struct session *s)
{
	if (s == NULL)
		return;
	mailotp_conn_free(s->c);
	free(s);
}

/* A polite end for a connection that is between mails: QUIT, not waited for. */
static void session_quit(struct session *s)
{
	if (s == NULL)
		return;
	if (mailotp_conn_write(s->c, "QUIT\r\n", 6, mailotp_conn_now_ms() + 50, NULL, NULL, 0) !=
	    0) {
		/* Gone already: nothing to say goodbye to. */
	}
	session_free(s);
}

static int session_open(struct dialogue *d, const struct mailotp_config *cfg, const char *password,
                        const struct target *t)
{
	struct reply rep;
	int r;

	if ((d->s = calloc(1, sizeof(*d->s))) == NULL) {
		mailotp_errf(d->err, d->errlen, "SMTP: out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	settings_key(cfg, d->s->key);
	if ((r = mailotp_conn_open(t->host, t->port, d->deadline, &d->s->c, d->err, d->errlen)) !=
	        0 ||
	    (t->implicit_tls && (r = mailotp_conn_start_tls(d->s->c, cfg->smtp_ca_file, d->deadline,
	                                                    d->err, d->errlen)) != 0) ||
	    (r = reply_read(d, &rep, NULL)) != 0)
		return r;
	if (rep.code != 220)
		return refused(d, &rep, "the connection");
	if ((r = ehlo(d, t)) != 0)
		return r;
	if (!t->implicit_tls && cfg->smtp_starttls != MAILOTP_TLS_NO) {
		if (d->s->caps & CAP_STARTTLS) {
			if ((r = starttls(d, cfg, t)) != 0)
				return r;
		} else if (cfg->smtp_starttls == MAILOTP_TLS_YES) {
			mailotp_errf(d->err, d->errlen,
			             "SMTP failed: %s does not offer STARTTLS (smtp_starttls yes)",
			             t->host);
			return MAILOTP_ERR_SMTP;
		}
	}
	if (cfg->smtp_user != NULL && (r = auth(d, cfg, password)) != 0)
		return r;
	return 0;
}

/* ---- the pool ---- */

/* The newest idle connection opened with these settings, still usable; or NULL. */
static struct session *pool_take(const unsigned char key[16])
{
	struct session *s = NULL, *stale[POOL_MAX];
	size_t i, nstale = 0, keep = 0;
	int64_t now = mailotp_conn_now_ms();

	pthread_mutex_lock(&pool_mu);
	for (i = 0; i < pool_n; i++) {
		if (now - pool[i]->idle_since > POOL_IDLE_MS)
			stale[nstale++] = pool[i];
		else
			pool[keep++] = pool[i];
	}
	pool_n = keep;
	for (i = pool_n; i-- > 0;) {
		if (sodium_memcmp(pool[i]->key, key, 16) == 0) {
			s = pool[i];
			memmove(pool + i, pool + i + 1,
			        (pool_n - i - 1) * sizeof(struct session *));
			pool_n--;
			break;
		}
	}
	pthread_mutex_unlock(&pool_mu);
	for (i = 0; i < nstale; i++)
		session_quit(stale[i]);
	if (s != NULL && !mailotp_conn_idle_ok(s->c)) {
		session_free(s);
		s = NULL;
	}
	return s;
}

static void pool_give(struct session *s)
{
	struct session *out = NULL;

	s->idle_since = mailotp_conn_now_ms();
	pthread_mutex_lock(&pool_mu);
	if (pool_n == POOL_MAX) {
		out = pool[0];
		memmove(pool, pool + 1, (POOL_MAX - 1) * sizeof(struct session *));
		pool_n--;
	}
	pool[pool_n++] = s;
	pthread_mutex_unlock(&pool_mu);
	session_quit(out);
}

/* ---- the message ---- */

/*
 * The message as it goes after DATA: lines that begin with "." get
 * another (RFC 5321 4.5.2), then the final ".". Only clean CRLF text
 * passes: a bare LF or CR could end the DATA early at a server that
 * accepts them ("SMTP smuggling"), so it is refused here instead.
 */
static int payload_build(const char *msg, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t len = strlen(msg), i, dots = 0, col = 0, n = 0;
	char *p;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			if (msg[i + 1] != '\n')
				goto bad;
			continue;
		}
		if (msg[i] == '\n') {
			if (i == 0 || msg[i - 1] != '\r')
				goto bad;
			col = 0;
			continue;
		}
		if (col == 0 && msg[i] == '.')
			dots++;
		if (++col > MSG_LINE_MAX)
			goto bad;
	}
	if ((p = malloc(len + dots + 6)) == NULL) {
		mailotp_errf(err, errlen, "SMTP: out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	for (i = 0, col = 0; i < len; i++) {
		if (col == 0 && msg[i] == '.')
			p[n++] = '.';
		p[n++] = msg[i];
		col = msg[i] == '\n' ? 0 : col + 1;
	}
	if (n > 0 && col != 0) {
		p[n++] = '\r';
		p[n++] = '\n';
	}
	/* The final dot: not a C string, the length goes with it. */
	p[n++] = '.';
	p[n++] = '\r';
	p[n++] = '\n';
	*out = p;
	*outlen = n;
	return 0;
bad:
	mailotp_errf(err, errlen,
	             "SMTP: the message is not CRLF text (a bare CR or LF, or a line over "
	             "998 octets): not sent");
	return MAILOTP_ERR_INVALID;
}

/* ---- one mail ---- */

/*
 * The envelope and DATA, then the gate and the message. *fresh_fail is
 * set when the connection failed before the server answered anything of
 * this mail, which is when a pooled connection that went stale may be
 * replaced and the mail tried again.
 */
static int transact(struct dialogue *d, const char *from, const char *const *rcpt, size_t nrcpt,
                    const char *payload, size_t paylen, const struct mailotp_mail_gate *gate,
                    bool *fresh_fail, bool *withheld)
{
	char *cmds = NULL;
	size_t cap = (nrcpt + 2) * 320, n = 0, i, ncmd = nrcpt + 2;
	struct reply rep;
	bool pipelined = (d->s->caps & CAP_PIPELINING) != 0, bad = false;
	const char *bad_at = NULL;
	struct reply bad_rep;
	int r;

	*fresh_fail = false;
	*withheld = false;
	if ((cmds = malloc(cap)) == NULL) {
		mailotp_errf(d->err, d->errlen, "SMTP: out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	/* Addresses were checked (mailotp_addr_valid): no CR, LF, '<' or '>'. */
	n += (size_t)snprintf(cmds + n, cap - n, "MAIL FROM:<%s>\r\n", from);
	for (i = 0; i < nrcpt; i++)
		n += (size_t)snprintf(cmds + n, cap - n, "RCPT TO:<%s>\r\n", rcpt[i]);
	n += (size_t)snprintf(cmds + n, cap - n, "DATA\r\n");

	if (pipelined) {
		/* RFC 2920: the whole group in one write, the replies in order. */
		if ((r = mailotp_conn_write(d->s->c, cmds, n, d->deadline, d->tick, d->err,
		                            d->errlen)) != 0) {
			*fresh_fail = r == MAILOTP_ERR_CLOSED;
			goto out;
		}
		for (i = 0; i < ncmd; i++) {
			if ((r = reply_read(d, &rep, NULL)) != 0) {
				*fresh_fail = i == 0 && r == MAILOTP_ERR_CLOSED;
				goto out;
			}
			if (i < ncmd - 1 && rep.code / 100 != 2 && !bad) {
				bad = true;
				bad_rep = rep;
				bad_at = i == 0 ? "the sender" : "a recipient";
			}
		}
	} else {
		const char *line = cmds;

		for (i = 0; i < ncmd; i++) {
			size_t ll = (size_t)(strchr(line, '\n') - line) + 1;

			if ((r = mailotp_conn_write(d->s->c, line, ll, d->deadline, d->tick, d->err,
			                            d->errlen)) != 0 ||
			    (r = reply_read(d, &rep, NULL)) != 0) {
				*fresh_fail = i == 0 && r == MAILOTP_ERR_CLOSED;
				goto out;
			}
			line += ll;
			if (i < ncmd - 1 && rep.code / 100 != 2) {
				bad = true;
				bad_rep = rep;
				bad_at = i == 0 ? "the sender" : "a recipient";
				break;
			}
		}
	}
	/*
	 * A refused sender or recipient: no message at all. If DATA was taken
	 * anyway (pipelined, some recipients accepted), only dropping the
	 * connection ends it without delivering an empty or partial mail;
	 * the caller drops it on any error.
	 */
	if (bad) {
		r = refused(d, &bad_rep, bad_at);
		goto out;
	}
	if (rep.code != 354) {
		r = refused(d, &rep, "DATA");
		goto out;
	}
	if (gate != NULL && (r = gate->ask(gate->arg)) != 0) {
		*withheld = true;
		mailotp_errf(d->err, d->errlen,
		             "SMTP: message withheld after DATA (nothing delivered)");
		goto out;
	}
	if ((r = mailotp_conn_write(d->s->c, payload, paylen, d->deadline, d->tick, d->err,
	                            d->errlen)) != 0 ||
	    (r = reply_read(d, &rep, NULL)) != 0)
		goto out;
	r = rep.code == 250 ? 0 : refused(d, &rep, "the message");
out:
	free(cmds);
	return r;
}

static void gate_tick(void *arg)
{
	const struct mailotp_mail_gate *g = arg;

	g->tick(g->arg);
}

int mailotp_smtp_send(const struct mailotp_config *cfg, const char *smtp_password,
                      const char *const *rcpt, size_t nrcpt, const char *message,
                      const struct mailotp_mail_gate *gate, char *err, size_t errlen)
{
	struct target t;
	struct dialogue d;
	struct mailotp_conn_tick tick;
	unsigned char key[16];
	char *payload = NULL;
	size_t paylen = 0, i;
	bool fresh_fail = false, withheld = false;
	int attempt, r = MAILOTP_ERR_INVALID;

	if (errlen > 0)
		err[0] = '\0';
	memset(&d, 0, sizeof(d));
	/* Addresses end up in MAIL FROM / RCPT TO lines: no CR, LF, '<' or '>' may pass. */
	if (cfg == NULL || message == NULL || rcpt == NULL || nrcpt == 0 || nrcpt > 100 ||
	    !mailotp_addr_valid(cfg->mail_from)) {
		mailotp_errf(err, errlen, "SMTP: no recipient or an invalid mail_from");
		goto out;
	}
	for (i = 0; i < nrcpt; i++) {
		if (!mailotp_addr_valid(rcpt[i])) {
			mailotp_errf(err, errlen, "SMTP: recipient %zu is not a valid address",
			             i + 1);
			goto out;
		}
	}
	if ((r = mailotp_mail_global_init()) != 0) {
		mailotp_errf(err, errlen, "SMTP: cannot initialise GnuTLS");
		goto out;
	}
	if ((r = target_parse(cfg->smtp_url, &t, err, errlen)) != 0) {
		r = MAILOTP_ERR_SMTP;
		goto out;
	}
	if ((r = payload_build(message, &payload, &paylen, err, errlen)) != 0)
		goto out;
	settings_key(cfg, key);
	d.host = t.host;
	d.deadline = mailotp_conn_now_ms() +
	             1000 * (int64_t)(cfg->smtp_timeout > 0 ? cfg->smtp_timeout : 10);
	d.err = err;
	d.errlen = errlen;
	if (gate != NULL && gate->tick != NULL) {
		tick.fn = gate_tick;
		tick.arg = (void *)gate;
		d.tick = &tick;
	}
	/* A pooled connection the server has since dropped earns one more try on a new one. */
	for (attempt = 0; attempt < 2; attempt++) {
		/* The retry goes to a new connection, not to the next pooled one. */
		bool pooled = attempt == 0 && (d.s = pool_take(key)) != NULL;

		if (!pooled && (r = session_open(&d, cfg, smtp_password, &t)) != 0) {
			r = conn_failed(r, err, errlen);
			break;
		}
		r = transact(&d, cfg->mail_from, rcpt, nrcpt, payload, paylen, gate, &fresh_fail,
		             &withheld);
		if (r == 0) {
			pool_give(d.s);
			d.s = NULL;
			break;
		}
		/* Whatever state it is in (maybe inside DATA): dropped, never reused. */
		session_free(d.s);
		d.s = NULL;
		if (withheld)
			break;
		r = conn_failed(r, err, errlen);
		if (!(pooled && fresh_fail))
			break;
	}
out:
	session_free(d.s);
	if (payload != NULL) {
		sodium_memzero(payload, paylen);
		free(payload);
	}
	return r;
}

int mailotp_smtp_probe(const struct mailotp_config *cfg, const char *smtp_password, char *err,
                       size_t errlen)
{
	struct target t;
	struct dialogue d;
	struct reply rep;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	memset(&d, 0, sizeof(d));
	if (cfg == NULL)
		return MAILOTP_ERR_INVALID;
	if ((r = mailotp_mail_global_init()) != 0) {
		mailotp_errf(err, errlen, "SMTP: cannot initialise GnuTLS");
		return r;
	}
	if (target_parse(cfg->smtp_url, &t, err, errlen) != 0)
		return MAILOTP_ERR_SMTP;
	d.host = t.host;
	d.deadline = mailotp_conn_now_ms() +
	             1000 * (int64_t)(cfg->smtp_timeout > 0 ? cfg->smtp_timeout : 10);
	d.err = err;
	d.errlen = errlen;
	if ((r = session_open(&d, cfg, smtp_password, &t)) == 0 &&
	    (r = command(&d, "NOOP\r\n", &rep, NULL)) == 0 && rep.code != 250)
		r = refused(&d, &rep, "NOOP");
	if (r == 0) {
		session_quit(d.s);
		d.s = NULL;
	}
	session_free(d.s);
	return r == 0 ? 0 : conn_failed(r, err, errlen);
}
