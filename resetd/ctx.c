/* The daemon's reference-counted runtime context (see ctx.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ctx.h"
#include "jobs.h"
#include "policy.h"

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mailotpd_ctx *current;
/* One timing estimate for the daemon's life: it describes the directory, not a config. */
static struct mailotp_timing timing;
static pthread_once_t timing_once = PTHREAD_ONCE_INIT;

static void timing_setup(void)
{
	mailotp_timing_init(&timing);
}

static time_t wall_clock(void)
{
	return time(NULL);
}

static void ctx_free(struct mailotpd_ctx *c)
{
	if (c == NULL)
		return;
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
	c->services.policy = c->policy;
	c->services.defer = mailotpd_jobs_defer;
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
