/*
 * The daemon's runtime context: the configuration, the secrets read from
 * the *_file keys, the templates, the LDAP pool and the timing estimate.
 * A context is reference-counted: SIGHUP loads a new one and makes it
 * current, while a login in progress keeps the one it started with until
 * it ends, so a reload never drops a login.
 */
#ifndef MAILOTPD_CTX_H
#define MAILOTPD_CTX_H

#include <stddef.h>

#include "config.h"
#include "ldap_pool.h"
#include "login.h"
#include "template.h"
#include "timing.h"

struct mailotpd_ctx {
	int refs; /* guarded by the module's lock (ctx.c) */
	struct mailotp_config *cfg;
	char *bind_pw; /* sodium_malloc'd */
	char *smtp_pw; /* sodium_malloc'd or NULL */
	struct mailotp_templates *templates;
	struct mailotp_ldap *ldap;
	struct mailotp_policy *policy;
	char *terms_text; /* NULL without terms_file */
	char terms_version[65];
	struct mailotp_services services;
};

/*
 * Loads config, secrets and templates from path. Returns 0 or an error
 * with the reason (file, line, key) in err.
 */
int mailotpd_ctx_load(const char *path, struct mailotpd_ctx **out, char *err,
                      size_t errlen) MAILOTP_MUST_CHECK;

/* Makes ctx the current context (taking over the caller's reference). */
void mailotpd_ctx_set_current(struct mailotpd_ctx *ctx);

/* Returns a new reference to the current context; release it with _unref. */
struct mailotpd_ctx *mailotpd_ctx_current(void);

/* Returns a new reference to the context whose services s are. */
struct mailotpd_ctx *mailotpd_ctx_of(const struct mailotp_services *s);

/* Drops a reference; the last one frees the context. NULL-safe. */
void mailotpd_ctx_unref(struct mailotpd_ctx *ctx);

#endif /* MAILOTPD_CTX_H */
