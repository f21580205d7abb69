/* The daemon's reference-counted runtime context (see ctx.h). */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctx.h"
#include "escape.h"
#include "jobs.h"
#include "pending.h"
#include "policy.h"

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mailotpd_ctx *current;
/* One timing estimate for the daemon's life: it describes the directory, not a config. */
static struct mailotp_timing timing;
static pthread_once_t timing_once = PTHREAD_ONCE_INIT;
/* Codes of combined logins, kept across reloads (see pending.h); NULL when
 * the table could not be made: combined logins are then refused. */
static struct mailotp_pending *pending;

static void timing_setup(void)
{
	mailotp_timing_init(&timing);
	if (mailotp_pending_new(MAILOTP_PENDING_DEFAULT_SLOTS, &pending) != 0)
		pending = NULL;
}

static time_t wall_clock(void)
{
	return time(NULL);
}

/* Counts time spent suspended too, so a code does not outlive its otp_ttl. */
static time_t steady_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0 && clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return time(NULL);
	return ts.tv_sec;
}

/* Terms longer than this are refused: they are shown line by line at every
 * login that needs consent, and must fit in one protocol field. */
#define TERMS_MAX 32768

/*
 * Reads terms_file: UTF-8 text of at most TERMS_MAX bytes. Its version is
 * terms_version, or else the first 128 bits of its BLAKE2b hash in hex, so
 * that any change to the text asks everyone again.
 */
static int load_terms(struct mailotpd_ctx *c, char *err, size_t errlen)
{
	const struct mailotp_config *cfg = c->cfg;
	unsigned char h[16];
	FILE *f;
	size_t n;

	if (cfg->terms_file == NULL)
		return 0;
	if ((f = fopen(cfg->terms_file, "re")) == NULL) {
		snprintf(err, errlen, "%s: terms_file: %s", cfg->terms_file, strerror(errno));
		return MAILOTP_ERR_CONFIG;
	}
	if ((c->terms_text = calloc(1, TERMS_MAX + 2)) == NULL) {
		fclose(f);
		return MAILOTP_ERR_NOMEM;
	}
	n = fread(c->terms_text, 1, TERMS_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > TERMS_MAX) {
		snprintf(err, errlen, "%s: terms_file: %s", cfg->terms_file,
		         n == 0 ? "empty" : "longer than 32 KiB");
		return MAILOTP_ERR_CONFIG;
	}
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i == n || c->terms_text[i] == '\n') {
			size_t len = i - start;
			if (len > 0 && c->terms_text[start + len - 1] == '\r')
				len--;
			if (len > 0 && !mailotp_utf8_is_clean(c->terms_text + start, len)) {
				snprintf(err, errlen, "%s: terms_file: not UTF-8 text",
				         cfg->terms_file);
				return MAILOTP_ERR_CONFIG;
			}
			start = i + 1;
		}
	}
	if (cfg->terms_version != NULL) {
		snprintf(c->terms_version, sizeof(c->terms_version), "%s", cfg->terms_version);
	} else {
		crypto_generichash(h, sizeof(h), (const unsigned char *)c->terms_text, n, NULL, 0);
		sodium_bin2hex(c->terms_version, sizeof(c->terms_version), h, sizeof(h));
	}
	return 0;
}

static void ctx_free(struct mailotpd_ctx *c)
{
	if (c == NULL)
		return;
	free(c->terms_text);
	mailotp_ldap_free(c->ldap);
	mailotp_policy_free(c->policy);
	mailotp_templates_free(c->templates);
	mailotp_secret_free(c->bind_pw);
	mailotp_secret_free(c->smtp_pw);
	mailotp_config_free(c->cfg);
	free(c);
}

int mailotpd_ctx_load(const char *path, struct mailotpd_ctx **out, char *err, size_t errlen)
{
	struct mailotpd_ctx *c;
	int r;

	*out = NULL;
	pthread_once(&timing_once, timing_setup);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return MAILOTP_ERR_NOMEM;
	c->refs = 1;
	if ((r = mailotp_config_load(path, &c->cfg, err, errlen)) != 0)
		goto out;
	if ((r = mailotp_config_read_secret(c->cfg->ldap_bind_pw_file, &c->bind_pw, err, errlen)) !=
	    0)
		goto out;
	if (c->cfg->smtp_password_file != NULL &&
	    (r = mailotp_config_read_secret(c->cfg->smtp_password_file, &c->smtp_pw, err,
	                                    errlen)) != 0)
		goto out;
	if ((r = mailotp_templates_load(c->cfg->template_dir, &c->templates, err, errlen)) != 0)
		goto out;
	if ((r = mailotp_policy_new(c->cfg, &c->policy, err, errlen)) != 0)
		goto out;
	if ((r = load_terms(c, err, errlen)) != 0)
		goto out;
	if ((r = mailotp_ldap_new(c->cfg, c->bind_pw, &c->ldap)) != 0) {
		snprintf(err, errlen, "cannot set up LDAP: %s", mailotp_strerror(r));
		goto out;
	}
	c->services.cfg = c->cfg;
	c->services.ldap = c->ldap;
	c->services.templates = c->templates;
	c->services.smtp_password = c->smtp_pw;
	c->services.timing = &timing;
	c->services.now = wall_clock;
	c->services.code_now = steady_clock;
	c->services.policy = c->policy;
	c->services.terms_text = c->terms_text;
	c->services.terms_version = c->terms_version;
	c->services.defer = mailotpd_jobs_defer;
	c->services.pending = pending;
	*out = c;
	c = NULL;
out:
	ctx_free(c);
	return r;
}

void mailotpd_ctx_set_current(struct mailotpd_ctx *ctx)
{
	struct mailotpd_ctx *old;

	pthread_mutex_lock(&ctx_lock);
	old = current;
	current = ctx;
	pthread_mutex_unlock(&ctx_lock);
	mailotpd_ctx_unref(old);
}

struct mailotpd_ctx *mailotpd_ctx_current(void)
{
	struct mailotpd_ctx *c;

	pthread_mutex_lock(&ctx_lock);
	c = current;
	if (c != NULL)
		c->refs++;
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

struct mailotpd_ctx *mailotpd_ctx_of(const struct mailotp_services *s)
{
	struct mailotpd_ctx *c =
	    (struct mailotpd_ctx *)((const char *)s - offsetof(struct mailotpd_ctx, services));

	pthread_mutex_lock(&ctx_lock);
	c->refs++;
	pthread_mutex_unlock(&ctx_lock);
	return c;
}

void mailotpd_ctx_unref(struct mailotpd_ctx *ctx)
{
	bool last;

	if (ctx == NULL)
		return;
	pthread_mutex_lock(&ctx_lock);
	last = --ctx->refs == 0;
	pthread_mutex_unlock(&ctx_lock);
	if (last)
		ctx_free(ctx);
}
