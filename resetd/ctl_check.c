/* mailotpctl check and hash (see ctl.h). */
#include "autoconfig.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "mail.h"
#include "policy.h"
#include "pwhash.h"

/* libsodium's interactive argon2id cost, OWASP's minimum: hash's cost without a config. */
#define HASH_DEFAULT_OPSLIMIT 2ULL
#define HASH_DEFAULT_MEMLIMIT ((size_t)19456 * 1024)

/* ---- check -------------------------------------------------------------- */

static int check_ldap(struct ctl *c)
{
	char why[512];
	int failed = 0, r;

	/* Each URI alone: a dead failover server is worth knowing before it is needed. */
	for (size_t i = 0; i < c->cfg->n_ldap_uri; i++) {
		struct mailotp_config one = *c->cfg;
		struct mailotp_ldap *l = NULL;

		one.ldap_uri[0] = c->cfg->ldap_uri[i];
		one.n_ldap_uri = 1;
		if ((r = mailotp_ldap_new(&one, c->bind_pw, &l)) == 0)
			r = mailotp_ldap_ping(l);
		mailotp_ldap_free(l);
		if (r == 0) {
			printf("ok: ldap: %s: bound as %s\n", one.ldap_uri[0],
			       c->cfg->ldap_bind_dn);
			continue;
		}
		failed++;
		if (r == MAILOTP_ERR_LDAP)
			snprintf(
			    why, sizeof(why),
			    "bind as %s or search refused (the system log has the server's answer)",
			    c->cfg->ldap_bind_dn);
		else
			snprintf(why, sizeof(why), "%s", mailotp_strerror(r));
		printf("FAILED: ldap: %s: %s\n", one.ldap_uri[0], why);
	}
	return failed;
}

/* One line of `check`: "ok: ..." or "FAILED: ...", counting the failures. */
static void __attribute__((format(printf, 3, 4)))
verdict(int *failed, bool ok, const char *fmt, ...)
{
	va_list ap;

	fputs(ok ? "ok: " : "FAILED: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!ok)
		(*failed)++;
}

int mailotpctl_cmd_check(struct ctl *c, const struct args *a)
{
	static const char *const tls[] = {"no", "auto", "yes"};
	char err[512], deny[512];
	int failed = 0;
	bool ok;

	if (mailotp_config_load(c->path, &c->cfg, err, sizeof(err)) != 0) {
		verdict(&failed, false, "config: %s", err);
		mailotpctl_log(c, a, false, "config: %s", err);
		return EXIT_FAILED;
	}
	verdict(&failed, true, "config: %s", c->path);
	ok = mailotp_config_read_secret(c->cfg->ldap_bind_pw_file, &c->bind_pw, err, sizeof(err)) ==
	     0;
	verdict(&failed, ok, "secret: %s", ok ? c->cfg->ldap_bind_pw_file : err);
	if (c->cfg->smtp_password_file != NULL) {
		ok = mailotp_config_read_secret(c->cfg->smtp_password_file, &c->smtp_pw, err,
		                                sizeof(err)) == 0;
		verdict(&failed, ok, "secret: %s", ok ? c->cfg->smtp_password_file : err);
	}
	ok = mailotp_templates_load(c->cfg->template_dir, &c->templates, err, sizeof(err)) == 0;
	verdict(&failed, ok, "templates: %s", ok ? c->cfg->template_dir : err);
	if (mailotp_policy_new(c->cfg, &c->policy, err, sizeof(err)) == 0) {
		if (c->cfg->password_denylist != NULL)
			snprintf(deny, sizeof(deny), "%zu entries in %s",
			         mailotp_policy_denylist_size(c->policy),
			         c->cfg->password_denylist);
		else
			snprintf(deny, sizeof(deny), "built-in denylist only");
		verdict(&failed, true, "password policy: at least %d characters of %d classes, %s",
		        c->cfg->password_min_length, c->cfg->password_min_classes, deny);
	} else {
		verdict(&failed, false, "password policy: %s", err);
	}
	if (c->bind_pw != NULL)
		failed += check_ldap(c);
	else
		verdict(&failed, false, "ldap: not tried: the bind password could not be read");
	if (c->cfg->smtp_password_file != NULL && c->smtp_pw == NULL)
		verdict(&failed, false, "smtp: not tried: the SMTP password could not be read");
	else if (mailotp_smtp_probe(c->cfg, c->smtp_pw, err, sizeof(err)) == 0)
		verdict(&failed, true, "smtp: %s answered (smtp_starttls %s)", c->cfg->smtp_url,
		        tls[c->cfg->smtp_starttls]);
	else
		verdict(&failed, false, "smtp: %s: %s", c->cfg->smtp_url, err);
	mailotpctl_log(c, a, failed == 0, "%d check(s) failed", failed);
	return failed == 0 ? 0 : EXIT_FAILED;
}

/* ---- hash --------------------------------------------------------------- */

/* Reads one line (up to the first newline, or EOF) of at most max bytes into buf. */
static int read_password(char *buf, size_t max, size_t *len)
{
	size_t n = 0;
	char *nl = NULL;

	while (nl == NULL && n <= max) {
		ssize_t got = read(STDIN_FILENO, buf + n, max + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return MAILOTP_ERR_IO;
		if (got == 0)
			break;
		nl = memchr(buf + n, '\n', (size_t)got);
		n += (size_t)got;
	}
	if (nl != NULL)
		n = (size_t)(nl - buf);
	if (n > max)
		return MAILOTP_ERR_TOOBIG;
	buf[n] = '\0';
	*len = n;
	return 0;
}

int mailotpctl_cmd_hash(struct ctl *c, const struct args *a)
{
	unsigned long long ops = HASH_DEFAULT_OPSLIMIT;
	size_t mem = HASH_DEFAULT_MEMLIMIT, len = 0;
	char err[512], *pw, *hash = NULL;
	int r;

	/* The configured cost when there is a config to read; libsodium's default otherwise. */
	if (c->path_given || access(c->path, R_OK) == 0) {
		if (mailotp_config_load(c->path, &c->cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return EXIT_FAILED;
		}
		ops = c->cfg->password_hash_opslimit;
		mem = c->cfg->password_hash_memlimit;
	}
	/* Room for one byte too many, to tell a too long password from a full one, and a NUL. */
	if ((pw = sodium_malloc(MAILOTP_PWHASH_PASSWORD_MAX + 2)) == NULL) {
		mailotpctl_fail(a, "out of memory");
		return EXIT_FAILED;
	}
	r = read_password(pw, MAILOTP_PWHASH_PASSWORD_MAX + 1, &len);
	if (r == 0 && len > MAILOTP_PWHASH_PASSWORD_MAX)
		r = MAILOTP_ERR_TOOBIG;
	if (r == 0 && len == 0)
		r = MAILOTP_ERR_INVALID;
	if (r == 0)
		r = mailotp_pwhash(pw, ops, mem, &hash);
	sodium_memzero(pw, MAILOTP_PWHASH_PASSWORD_MAX + 2);
	sodium_free(pw);
	switch (r) {
	case 0:
		printf("%s\n", hash);
		mailotpctl_log(c, a, true, "printed an {ARGON2} hash (t=%llu, m=%zu KiB)", ops,
		               mem / 1024);
		break;
	case MAILOTP_ERR_TOOBIG:
		mailotpctl_fail(a, "the password is longer than %d bytes",
		                MAILOTP_PWHASH_PASSWORD_MAX);
		break;
	case MAILOTP_ERR_INVALID:
		mailotpctl_fail(a, "no password on standard input");
		break;
	default:
		mailotpctl_fail(a, "%s", mailotp_strerror(r));
	}
	free(hash);
	return r == 0 ? 0 : EXIT_FAILED;
}
