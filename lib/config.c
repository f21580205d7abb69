/*
 * mailotp.conf reader. Every key is a row of keys[]: its name, the setter
 * for its kind of value, where it lands in struct mailotp_config, its range
 * and its default. Defaults go through the same setters as the file, so a
 * default can never be a value the file would refuse.
 */
#include "config.h"
#include "message.h"
#include "smtp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ldap.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 4096
#define SECRET_MAX 4096
#define WHY_MAX 256
/* getpw*_r / getgr*_r buffers grow on ERANGE up to this */
#define NSS_BUF_MAX (1024 * 1024)
#define GROUPS_MAX 65536

/* The enum fields are written through an int pointer (see set_choice). */
_Static_assert(sizeof(enum mailotp_tls_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mailotp_reset_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mailotp_request_fields) == sizeof(int), "enum size");

struct choice {
	const char *name;
	int value;
};

enum need { OPTIONAL = 0, REQUIRED, REQUIRED_UNLESS_NO_LISTEN };

struct key;
typedef int (*setter_fn)(struct mailotp_config *cfg, const struct key *k, const char *val,
                         char *why, size_t whylen);

struct key {
	const char *name;
	setter_fn set;
	size_t off;    /* field in struct mailotp_config */
	bool is_str;   /* the field is a char * owned by the config */
	long min, max; /* integer range; for paths max is a length limit */
	const struct choice *choices;
	const char *def; /* default, given to set() as if read from the file */
	enum need need;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char **str_field(struct mailotp_config *cfg, const struct key *k)
{
	return (char **)(void *)((char *)cfg + k->off);
}

static void *field(struct mailotp_config *cfg, const struct key *k)
{
	return (char *)cfg + k->off;
}

static int store_str(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                     size_t whylen)
{
	char **dst = str_field(cfg, k);
	char *copy = strdup(val);

	if (copy == NULL) {
		mailotp_errf(why, whylen, "out of memory");
		return MAILOTP_ERR_NOMEM;
	}
	free(*dst);
	*dst = copy;
	return 0;
}

/* Strict decimal: digits only (an optional '-'), all of it, no overflow. */
static bool parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

static int set_str(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                   size_t whylen)
{
	return store_str(cfg, k, val, why, whylen);
}

static int set_int(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                   size_t whylen)
{
	long v;

	if (!parse_long(val, &v) || v < k->min || v > k->max) {
		mailotp_errf(why, whylen, "must be an integer from %ld to %ld", k->min, k->max);
		return MAILOTP_ERR_CONFIG;
	}
	*(int *)field(cfg, k) = (int)v;
	return 0;
}

static int set_ull(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                   size_t whylen)
{
	long v;

	if (!parse_long(val, &v) || v < k->min || v > k->max) {
		mailotp_errf(why, whylen, "must be an integer from %ld to %ld", k->min, k->max);
		return MAILOTP_ERR_CONFIG;
	}
	*(unsigned long long *)field(cfg, k) = (unsigned long long)v;
	return 0;
}

/* The file speaks KiB (as argon2 and slapd's argon2 module do); libsodium wants bytes. */
static int set_kib(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                   size_t whylen)
{
	long v;

	if (!parse_long(val, &v) || v < k->min || v > k->max ||
	    (unsigned long)v > SIZE_MAX / 1024) {
		mailotp_errf(why, whylen, "must be an integer from %ld to %ld (KiB)", k->min,
		             k->max);
		return MAILOTP_ERR_CONFIG;
	}
	*(size_t *)field(cfg, k) = (size_t)v * 1024;
	return 0;
}

static const struct choice bools[] = {
    {"yes", 1}, {"no", 0}, {"true", 1}, {"false", 0}, {"on", 1},
    {"off", 0}, {"1", 1},  {"0", 0},    {NULL, 0},
};

static int set_bool(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	const struct choice *c;

	for (c = bools; c->name != NULL; c++) {
		if (strcasecmp(val, c->name) == 0) {
			*(bool *)field(cfg, k) = c->value != 0;
			return 0;
		}
	}
	mailotp_errf(why, whylen, "must be yes or no (true/false, on/off, 1/0 also work)");
	return MAILOTP_ERR_CONFIG;
}

static const struct choice *find_choice(const struct key *k, const char *val)
{
	const struct choice *c;

	for (c = k->choices; c->name != NULL; c++)
		if (strcmp(val, c->name) == 0)
			return c;
	return NULL;
}

static void list_choices(const struct key *k, char *why, size_t whylen)
{
	const struct choice *c;
	size_t used;

	mailotp_errf(why, whylen, "must be one of:");
	for (c = k->choices; c->name != NULL; c++) {
		used = strlen(why);
		if (used < whylen)
			mailotp_errf(why + used, whylen - used, " %s", c->name);
	}
}

/* For enum fields. */
static int set_choice(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                      size_t whylen)
{
	const struct choice *c = find_choice(k, val);

	if (c == NULL) {
		list_choices(k, why, whylen);
		return MAILOTP_ERR_CONFIG;
	}
	*(int *)field(cfg, k) = c->value;
	return 0;
}

/* For string fields limited to a list of words (language). */
static int set_word(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	if (find_choice(k, val) == NULL) {
		list_choices(k, why, whylen);
		return MAILOTP_ERR_CONFIG;
	}
	return store_str(cfg, k, val, why, whylen);
}

/* Relative paths would depend on the daemon's working directory. */
static int set_path(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	if (val[0] != '/') {
		mailotp_errf(why, whylen, "must be an absolute path");
		return MAILOTP_ERR_CONFIG;
	}
	if (k->max > 0 && strlen(val) > (size_t)k->max) {
		mailotp_errf(why, whylen, "path longer than %ld bytes", k->max);
		return MAILOTP_ERR_CONFIG;
	}
	return store_str(cfg, k, val, why, whylen);
}

/* A system account name, as useradd accepts it. */
static int set_name(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	const char *p;

	if (val[0] == '-' || strlen(val) > 32)
		goto bad;
	for (p = val; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
			goto bad;
	return store_str(cfg, k, val, why, whylen);
bad:
	mailotp_errf(why, whylen, "must be a user name (letters, digits, '.', '_', '-')");
	return MAILOTP_ERR_CONFIG;
}

/* An attribute description: a name (RFC 4512 keystring) or a numeric OID. */
static int set_attr(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	const char *p;
	bool ok = true;

	if (isalpha((unsigned char)val[0])) {
		for (p = val; *p != '\0'; p++)
			ok = ok && (isalnum((unsigned char)*p) || *p == '-');
	} else {
		for (p = val; *p != '\0'; p++) {
			if (*p == '.')
				ok = ok && p != val && p[1] != '\0' && p[1] != '.';
			else
				ok = ok && isdigit((unsigned char)*p);
		}
	}
	if (!ok || strlen(val) > 128) {
		mailotp_errf(why, whylen, "must be an LDAP attribute name");
		return MAILOTP_ERR_CONFIG;
	}
	return store_str(cfg, k, val, why, whylen);
}

static int set_dn(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                  size_t whylen)
{
	LDAPDN dn = NULL;

	if (ldap_str2dn(val, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || dn == NULL) {
		if (dn != NULL)
			ldap_dnfree(dn);
		mailotp_errf(why, whylen, "must be an LDAP DN (RFC 4514)");
		return MAILOTP_ERR_CONFIG;
	}
	ldap_dnfree(dn);
	return store_str(cfg, k, val, why, whylen);
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int check_ldap_uri(const char *uri, char *why, size_t whylen)
{
	LDAPURLDesc *lud = NULL;
	int r = MAILOTP_ERR_CONFIG;

	if (!has_prefix_ci(uri, "ldap://") && !has_prefix_ci(uri, "ldaps://") &&
	    !has_prefix_ci(uri, "ldapi://")) {
		mailotp_errf(why, whylen, "%s: must begin with ldap://, ldaps:// or ldapi://", uri);
		goto out;
	}
	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS || lud == NULL) {
		mailotp_errf(why, whylen, "%s: not a valid LDAP URI", uri);
		goto out;
	}
	/* ldapi:/// means the default socket; TCP needs somewhere to go. */
	if (!has_prefix_ci(uri, "ldapi://") &&
	    (lud->lud_host == NULL || lud->lud_host[0] == '\0')) {
		mailotp_errf(why, whylen, "%s: needs a host name", uri);
		goto out;
	}
	/* The base and filter come from their own keys; a URI must not hint at others. */
	if ((lud->lud_dn != NULL && lud->lud_dn[0] != '\0') || lud->lud_attrs != NULL ||
	    lud->lud_filter != NULL || lud->lud_exts != NULL) {
		mailotp_errf(why, whylen, "%s: must be scheme://host[:port] only", uri);
		goto out;
	}
	r = 0;
out:
	if (lud != NULL)
		ldap_free_urldesc(lud);
	return r;
}

static int set_uris(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	char *copy = strdup(val), *save = NULL, *tok;
	char *uris[MAILOTP_MAX_LDAP_URIS] = {NULL};
	size_t n = 0, i;
	int r = MAILOTP_ERR_NOMEM;

	if (copy == NULL) {
		mailotp_errf(why, whylen, "out of memory");
		goto out;
	}
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (n == MAILOTP_MAX_LDAP_URIS) {
			mailotp_errf(why, whylen, "more than %d URIs", MAILOTP_MAX_LDAP_URIS);
			r = MAILOTP_ERR_CONFIG;
			goto out;
		}
		if ((r = check_ldap_uri(tok, why, whylen)) != 0)
			goto out;
		if ((uris[n++] = strdup(tok)) == NULL) {
			mailotp_errf(why, whylen, "out of memory");
			r = MAILOTP_ERR_NOMEM;
			goto out;
		}
	}
	for (i = 0; i < cfg->n_ldap_uri; i++)
		free(cfg->ldap_uri[i]);
	memcpy(cfg->ldap_uri, uris, sizeof(uris));
	cfg->n_ldap_uri = n;
	n = 0; /* now owned by cfg */
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(uris[i]);
	free(copy);
	return r;
}

/*
 * The filter is expanded by the daemon, so only %u (the escaped login name)
 * and %% may appear, and its parentheses must nest: a stray one would let
 * the expansion change the filter's shape.
 */
static int set_filter(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                      size_t whylen)
{
	const char *p;
	int depth = 0;
	bool has_u = false;

	if (val[0] != '(') {
		mailotp_errf(why, whylen, "must be an LDAP filter in parentheses");
		return MAILOTP_ERR_CONFIG;
	}
	for (p = val; *p != '\0'; p++) {
		if (*p == '%') {
			if (p[1] == 'u')
				has_u = true;
			else if (p[1] != '%')
				goto bad_escape;
			p++;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth < 0 || (depth == 0 && p[1] != '\0'))
				goto unbalanced;
		}
	}
	if (depth != 0)
		goto unbalanced;
	if (!has_u) {
		mailotp_errf(why, whylen, "must contain %%u (the login name)");
		return MAILOTP_ERR_CONFIG;
	}
	return store_str(cfg, k, val, why, whylen);
bad_escape:
	mailotp_errf(why, whylen, "only %%u and %%%% may follow '%%'");
	return MAILOTP_ERR_CONFIG;
unbalanced:
	mailotp_errf(why, whylen, "unbalanced parentheses");
	return MAILOTP_ERR_CONFIG;
}

static bool printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int set_smtp_url(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                        size_t whylen)
{
	if (!mailotp_smtp_url_valid(val, why, whylen))
		return MAILOTP_ERR_CONFIG;
	return store_str(cfg, k, val, why, whylen);
}

/* A dot-atom addr-spec (RFC 5322 3.4.1) without quoted local parts or literals. */
static bool dot_atom_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (strchr("<>()[],;:\"\\@", s[i]) != NULL)
			return false;
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

static bool addr_ok(const char *s)
{
	const char *at = strchr(s, '@');

	if (at == NULL || strlen(s) > 254 || !printable_ascii(s))
		return false;
	return dot_atom_ok(s, (size_t)(at - s)) && dot_atom_ok(at + 1, strlen(at + 1));
}

static int set_addr(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                    size_t whylen)
{
	/* The same check the mail builder applies, so -t cannot pass an address
	 * that every mail would then be refused for. */
	if (!addr_ok(val) || !mailotp_addr_valid(val)) {
		mailotp_errf(why, whylen, "must be a plain mail address (user@example.org)");
		return MAILOTP_ERR_CONFIG;
	}
	return store_str(cfg, k, val, why, whylen);
}

/*
 * Links in mails are this base plus a path, so a query or fragment here
 * would end up in the wrong place; the trailing '/' is dropped so the
 * daemon can always append "/reset?...".
 */
static int set_public_url(struct mailotp_config *cfg, const struct key *k, const char *val,
                          char *why, size_t whylen)
{
	char *copy = NULL;
	const char *host = NULL;
	size_t len;
	int r = MAILOTP_ERR_CONFIG;

	if (has_prefix_ci(val, "http://"))
		host = val + strlen("http://");
	else if (has_prefix_ci(val, "https://"))
		host = val + strlen("https://");
	if (host == NULL || host[0] == '\0' || host[0] == '/' || !printable_ascii(val)) {
		mailotp_errf(why, whylen, "must be an http:// or https:// URL");
		goto out;
	}
	if (strpbrk(val, "?#") != NULL) {
		mailotp_errf(why, whylen, "must not have a query or fragment");
		goto out;
	}
	if ((copy = strdup(val)) == NULL) {
		mailotp_errf(why, whylen, "out of memory");
		r = MAILOTP_ERR_NOMEM;
		goto out;
	}
	len = strlen(copy);
	while (len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	r = store_str(cfg, k, copy, why, whylen);
out:
	free(copy);
	return r;
}

static bool port_ok(const char *s)
{
	long port;

	return parse_long(s, &port) && port >= 1 && port <= 65535;
}

static int set_listen(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                      size_t whylen)
{
	struct sockaddr_un sun;
	struct in6_addr a6;
	char host[INET6_ADDRSTRLEN + 1];
	const char *close, *colon, *p;

	if (strcmp(val, "none") == 0)
		goto ok;
	if (strncmp(val, "unix:", 5) == 0) {
		if (val[5] != '/' || strlen(val + 5) >= sizeof(sun.sun_path)) {
			mailotp_errf(why, whylen,
			             "unix: needs an absolute path shorter than %zu bytes",
			             sizeof(sun.sun_path));
			return MAILOTP_ERR_CONFIG;
		}
		goto ok;
	}
	if (val[0] == '[') {
		close = strchr(val, ']');
		if (close == NULL || close[1] != ':' || (size_t)(close - val - 1) >= sizeof(host))
			goto bad;
		memcpy(host, val + 1, (size_t)(close - val - 1));
		host[close - val - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1 || !port_ok(close + 2))
			goto bad;
		goto ok;
	}
	colon = strrchr(val, ':');
	if (colon == NULL || colon == val || !port_ok(colon + 1))
		goto bad;
	for (p = val; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			goto bad;
ok:
	return store_str(cfg, k, val, why, whylen);
bad:
	mailotp_errf(why, whylen, "must be HOST:PORT, [IPV6]:PORT, unix:/PATH or none");
	return MAILOTP_ERR_CONFIG;
}

static int set_proxies(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                       size_t whylen)
{
	char *copy = strdup(val), *save = NULL, *tok;
	unsigned char addr[sizeof(struct in6_addr)];
	int r = MAILOTP_ERR_NOMEM;

	if (copy == NULL) {
		mailotp_errf(why, whylen, "out of memory");
		goto out;
	}
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		if (inet_pton(AF_INET, tok, addr) != 1 && inet_pton(AF_INET6, tok, addr) != 1) {
			mailotp_errf(why, whylen, "%s: not an IPv4 or IPv6 address", tok);
			r = MAILOTP_ERR_CONFIG;
			goto out;
		}
	}
	r = store_str(cfg, k, val, why, whylen);
out:
	free(copy);
	return r;
}

static long nss_buf_start(int name)
{
	long n = sysconf(name);

	return n > 0 && n < NSS_BUF_MAX ? n : 4096;
}

/* Resolves a user or group name: 0 and *id, MAILOTP_ERR_NOT_FOUND, _NOMEM or _IO. */
static int lookup_name(const char *name, bool group, unsigned long *id)
{
	struct passwd pw, *pwres = NULL;
	struct group gr, *grres = NULL;
	size_t len = (size_t)nss_buf_start(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	char *buf = NULL, *nbuf;
	int e = 0, r = MAILOTP_ERR_NOMEM;

	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL)
			goto out;
		buf = nbuf;
		e = group ? getgrnam_r(name, &gr, buf, len, &grres)
		          : getpwnam_r(name, &pw, buf, len, &pwres);
		if (e != ERANGE || len >= NSS_BUF_MAX)
			break;
		len *= 2;
	}
	if (grres != NULL || pwres != NULL) {
		*id = group ? (unsigned long)gr.gr_gid : (unsigned long)pw.pw_uid;
		r = 0;
	} else {
		/* "not found" is 0, ENOENT, ESRCH, EBADF or EPERM depending on the backend */
		r = (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		        ? MAILOTP_ERR_NOT_FOUND
		        : MAILOTP_ERR_IO;
	}
out:
	free(buf);
	return r;
}

/* A name that does not resolve but is all digits is taken as a numeric id. */
static bool numeric_id(const char *s, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out < (unsigned long)UINT32_MAX;
}

/*
 * Names are resolved now, once: the daemon later compares SO_PEERCRED ids
 * and must not depend on NSS answering at that moment.
 */
static int set_allow(struct mailotp_config *cfg, const struct key *k, const char *val, char *why,
                     size_t whylen)
{
	char *copy = strdup(val), *save = NULL, *tok, *name;
	uid_t uids[MAILOTP_MAX_ALLOW];
	gid_t gids[MAILOTP_MAX_ALLOW];
	size_t nu = 0, ng = 0;
	unsigned long id;
	bool group;
	int r = MAILOTP_ERR_NOMEM;

	if (copy == NULL) {
		mailotp_errf(why, whylen, "out of memory");
		goto out;
	}
	for (tok = strtok_r(copy, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
		group = tok[0] == '@';
		name = group ? tok + 1 : tok;
		if (name[0] == '\0') {
			mailotp_errf(why, whylen, "'@' without a group name");
			r = MAILOTP_ERR_CONFIG;
			goto out;
		}
		if ((group ? ng : nu) == MAILOTP_MAX_ALLOW) {
			mailotp_errf(why, whylen, "more than %d %s", MAILOTP_MAX_ALLOW,
			             group ? "groups" : "users");
			r = MAILOTP_ERR_CONFIG;
			goto out;
		}
		r = lookup_name(name, group, &id);
		if (r == MAILOTP_ERR_NOT_FOUND && numeric_id(name, &id))
			r = 0;
		if (r != 0) {
			mailotp_errf(why, whylen, "%s %s: %s", group ? "group" : "user", name,
			             r == MAILOTP_ERR_NOT_FOUND ? "no such name"
			             : r == MAILOTP_ERR_NOMEM   ? "out of memory"
			                                        : "lookup failed");
			if (r == MAILOTP_ERR_NOT_FOUND)
				r = MAILOTP_ERR_CONFIG;
			goto out;
		}
		if (group)
			gids[ng++] = (gid_t)id;
		else
			uids[nu++] = (uid_t)id;
	}
	if (nu == 0 && ng == 0) {
		mailotp_errf(why, whylen, "names no user or group");
		r = MAILOTP_ERR_CONFIG;
		goto out;
	}
	if ((r = store_str(cfg, k, val, why, whylen)) != 0)
		goto out;
	memcpy(cfg->pam_allow_uid, uids, nu * sizeof(uids[0]));
	cfg->n_pam_allow_uid = nu;
	memcpy(cfg->pam_allow_gid, gids, ng * sizeof(gids[0]));
	cfg->n_pam_allow_gid = ng;
out:
	free(copy);
	return r;
}

#define F(m) offsetof(struct mailotp_config, m)

static const struct choice tls_modes[] = {
    {"no", MAILOTP_TLS_NO}, {"auto", MAILOTP_TLS_AUTO}, {"yes", MAILOTP_TLS_YES}, {NULL, 0}};
static const struct choice reset_modes[] = {
    {"link", MAILOTP_RESET_LINK}, {"temporary", MAILOTP_RESET_TEMPORARY}, {NULL, 0}};
static const struct choice request_fields[] = {
    {"email", MAILOTP_FIELDS_EMAIL},
    {"realm,user,email", MAILOTP_FIELDS_REALM_USER_EMAIL},
    {NULL, 0}};
static const struct choice languages[] = {{"en", 0}, {"ja", 1}, {NULL, 0}};

/* Order is the order of the "required key missing" checks and of the man page. */
static const struct key keys[] = {
    {"ldap_uri", set_uris, F(ldap_uri), false, 0, 0, NULL, NULL, REQUIRED},
    {"ldap_starttls", set_bool, F(ldap_starttls), false, 0, 0, NULL, "no", OPTIONAL},
    {"ldap_ca_file", set_path, F(ldap_ca_file), true, 0, 0, NULL, NULL, OPTIONAL},
    {"ldap_timeout", set_int, F(ldap_timeout), false, 1, 300, NULL, "5", OPTIONAL},
    {"ldap_base", set_dn, F(ldap_base), true, 0, 0, NULL, NULL, REQUIRED},
    {"ldap_user_filter", set_filter, F(ldap_user_filter), true, 0, 0, NULL,
     "(&(objectClass=inetOrgPerson)(uid=%u))", OPTIONAL},
    {"ldap_bind_dn", set_dn, F(ldap_bind_dn), true, 0, 0, NULL, NULL, REQUIRED},
    {"ldap_bind_pw_file", set_path, F(ldap_bind_pw_file), true, 0, 0, NULL, NULL, REQUIRED},
    {"ldap_mail_attr", set_attr, F(ldap_mail_attr), true, 0, 0, NULL, "mail", OPTIONAL},
    {"ldap_notify_attr", set_attr, F(ldap_notify_attr), true, 0, 0, NULL, NULL, OPTIONAL},
    {"ldap_name_attr", set_attr, F(ldap_name_attr), true, 0, 0, NULL, "cn", OPTIONAL},
    {"ldap_lang_attr", set_attr, F(ldap_lang_attr), true, 0, 0, NULL, "preferredLanguage",
     OPTIONAL},
    {"smtp_url", set_smtp_url, F(smtp_url), true, 0, 0, NULL, "smtp://127.0.0.1:25", OPTIONAL},
    {"smtp_starttls", set_choice, F(smtp_starttls), false, 0, 0, tls_modes, "auto", OPTIONAL},
    {"smtp_user", set_str, F(smtp_user), true, 0, 0, NULL, NULL, OPTIONAL},
    {"smtp_password_file", set_path, F(smtp_password_file), true, 0, 0, NULL, NULL, OPTIONAL},
    {"smtp_ca_file", set_path, F(smtp_ca_file), true, 0, 0, NULL, NULL, OPTIONAL},
    {"smtp_timeout", set_int, F(smtp_timeout), false, 1, 300, NULL, "10", OPTIONAL},
    {"mail_from", set_addr, F(mail_from), true, 0, 0, NULL, NULL, REQUIRED},
    {"otp_digits", set_int, F(otp_digits), false, 6, 10, NULL, "6", OPTIONAL},
    {"otp_ttl", set_int, F(otp_ttl), false, 1, 86400, NULL, "300", OPTIONAL},
    {"otp_max_attempts", set_int, F(otp_max_attempts), false, 1, 10, NULL, "3", OPTIONAL},
    {"otp_resend_interval", set_int, F(otp_resend_interval), false, 0, 86400, NULL, "60", OPTIONAL},
    {"otp_lockout_failures", set_int, F(otp_lockout_failures), false, 1, 1000, NULL, "10",
     OPTIONAL},
    {"otp_lockout_time", set_int, F(otp_lockout_time), false, 1, 604800, NULL, "900", OPTIONAL},
    {"reset_mode", set_choice, F(reset_mode), false, 0, 0, reset_modes, "link", OPTIONAL},
    {"reset_ttl", set_int, F(reset_ttl), false, 60, 604800, NULL, "3600", OPTIONAL},
    {"invite_ttl", set_int, F(invite_ttl), false, 60, 2592000, NULL, "604800", OPTIONAL},
    {"reset_public_url", set_public_url, F(reset_public_url), true, 0, 0, NULL, NULL,
     REQUIRED_UNLESS_NO_LISTEN},
    {"reset_login_url", set_public_url, F(reset_login_url), true, 0, 0, NULL, NULL, OPTIONAL},
    {"reset_listen", set_listen, F(reset_listen), true, 0, 0, NULL, "127.0.0.1:8080", OPTIONAL},
    {"reset_request_fields", set_choice, F(reset_request_fields), false, 0, 0, request_fields,
     "email", OPTIONAL},
    {"reset_realm_attr", set_attr, F(reset_realm_attr), true, 0, 0, NULL, NULL, OPTIONAL},
    {"reset_trusted_proxies", set_proxies, F(reset_trusted_proxies), true, 0, 0, NULL, NULL,
     OPTIONAL},
    {"user", set_name, F(user), true, 0, 0, NULL, "mailotp", OPTIONAL},
    {"pam_socket", set_path, F(pam_socket), true, 0,
     sizeof(((struct sockaddr_un *)0)->sun_path) - 1, NULL, "/run/mailotp/pam.sock", OPTIONAL},
    {"pam_allow", set_allow, F(pam_allow), true, 0, 0, NULL, "root", OPTIONAL},
    {"pam_max_clients", set_int, F(pam_max_clients), false, 1, 4096, NULL, "64", OPTIONAL},
    {"password_min_length", set_int, F(password_min_length), false, 8, 1024, NULL, "10", OPTIONAL},
    {"password_min_classes", set_int, F(password_min_classes), false, 1, 4, NULL, "3", OPTIONAL},
    {"password_denylist", set_path, F(password_denylist), true, 0, 0, NULL, NULL, OPTIONAL},
    {"password_hash_opslimit", set_ull, F(password_hash_opslimit), false, 1, 10, NULL, "2",
     OPTIONAL},
    {"password_hash_memlimit", set_kib, F(password_hash_memlimit), false, 8192, 4194304, NULL,
     "19456", OPTIONAL},
    {"terms_file", set_path, F(terms_file), true, 0, 0, NULL, NULL, OPTIONAL},
    {"terms_version", set_str, F(terms_version), true, 0, 0, NULL, NULL, OPTIONAL},
    {"language", set_word, F(language), true, 0, 0, languages, "en", OPTIONAL},
    {"template_dir", set_path, F(template_dir), true, 0, 0, NULL, DATADIR "/templates", OPTIONAL},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *find_key(const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

/*
 * Strict UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) and no control characters, C0, DEL or C1: values end up in
 * logs, LDAP filters and mail headers. Tab counts as a blank.
 */
static bool value_text_ok(const char *s, const char **what)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int cp;
	int n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
				goto control;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07;
		} else {
			goto utf8;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto utf8;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto utf8;
		if (cp >= 0x80 && cp <= 0x9f)
			goto control;
		p += n + 1;
	}
	return true;
utf8:
	*what = "value is not valid UTF-8";
	return false;
control:
	*what = "value contains a control character";
	return false;
}

/* Key names printed in errors come from the file: keep them short and printable. */
static void clean_key(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i;

	if (len > 64)
		len = 64;
	if (len >= outlen)
		len = outlen - 1;
	for (i = 0; i < len; i++)
		out[i] = (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[len] = '\0';
}

/*
 * Reads one line of at most CONFIG_LINE_MAX bytes, without its "\n" or
 * "\r\n" (files written on Windows are accepted). Returns 1 with a line,
 * 0 at the end, MAILOTP_ERR_TOOBIG for a longer line (buf then holds its
 * start) or MAILOTP_ERR_IO.
 */
static int read_line(FILE *fp, char *buf, size_t *len)
{
	int c;
	size_t n = 0;
	bool any = false;

	while ((c = getc(fp)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		/* room for CONFIG_LINE_MAX bytes and a '\r' before the '\n' */
		if (n == CONFIG_LINE_MAX + 1) {
			buf[n] = '\0';
			*len = n;
			return MAILOTP_ERR_TOOBIG;
		}
		buf[n++] = (char)c;
	}
	if (ferror(fp))
		return MAILOTP_ERR_IO;
	if (!any)
		return 0;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return n > CONFIG_LINE_MAX ? MAILOTP_ERR_TOOBIG : 1;
}

/* Fills in the defaults of the keys the file did not set. */
static int apply_defaults(struct mailotp_config *cfg, const unsigned *seen, char *err,
                          size_t errlen)
{
	char why[WHY_MAX];
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++) {
		if (seen[i] != 0 || keys[i].def == NULL)
			continue;
		if ((r = keys[i].set(cfg, &keys[i], keys[i].def, why, sizeof(why))) != 0) {
			mailotp_errf(err, errlen, "%s: %s: default %s: %s", cfg->path, keys[i].name,
			             keys[i].def, why);
			return r;
		}
	}
	return 0;
}

/* Required keys and keys that need each other, once the whole file is read. */
static int check_whole(const struct mailotp_config *cfg, const unsigned *seen, char *err,
                       size_t errlen)
{
	size_t i, idx = 0;

	for (i = 0; i < NKEYS; i++) {
		if (seen[i] != 0)
			continue;
		if (keys[i].need == REQUIRED) {
			mailotp_errf(err, errlen, "%s: %s: required key missing", cfg->path,
			             keys[i].name);
			return MAILOTP_ERR_CONFIG;
		}
		if (keys[i].need == REQUIRED_UNLESS_NO_LISTEN &&
		    strcmp(cfg->reset_listen, "none") != 0) {
			mailotp_errf(err, errlen,
			             "%s: %s: required key missing (reset_listen is not none)",
			             cfg->path, keys[i].name);
			return MAILOTP_ERR_CONFIG;
		}
	}
	if (cfg->smtp_user != NULL && cfg->smtp_password_file == NULL) {
		(void)find_key("smtp_user", &idx);
		mailotp_errf(err, errlen, "%s:%u: smtp_user: needs smtp_password_file", cfg->path,
		             seen[idx]);
		return MAILOTP_ERR_CONFIG;
	}
	if (cfg->reset_request_fields == MAILOTP_FIELDS_REALM_USER_EMAIL &&
	    cfg->reset_realm_attr == NULL) {
		(void)find_key("reset_request_fields", &idx);
		mailotp_errf(err, errlen,
		             "%s:%u: reset_request_fields: realm,user,email needs reset_realm_attr",
		             cfg->path, seen[idx]);
		return MAILOTP_ERR_CONFIG;
	}
	return 0;
}

/* One line: "key<blanks>value", a comment or blank. */
static int parse_line(struct mailotp_config *cfg, char *line, unsigned lineno, unsigned *seen,
                      char *err, size_t errlen)
{
	char why[WHY_MAX], name[72];
	const char *what = NULL;
	const struct key *k;
	char *p = line, *key, *val, *end;
	size_t idx = 0, klen;
	int r;

	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	key = p;
	while (*p != '\0' && !is_blank(*p))
		p++;
	klen = (size_t)(p - key);
	clean_key(key, klen, name, sizeof(name));
	if (*p != '\0')
		*p++ = '\0';
	while (is_blank(*p))
		p++;
	val = p;
	end = val + strlen(val);
	while (end > val && is_blank(end[-1]))
		*--end = '\0';

	if ((k = find_key(key, &idx)) == NULL) {
		mailotp_errf(err, errlen, "%s:%u: %s: unknown key", cfg->path, lineno, name);
		return MAILOTP_ERR_CONFIG;
	}
	if (seen[idx] != 0) {
		mailotp_errf(err, errlen, "%s:%u: %s: repeated (first set on line %u)", cfg->path,
		             lineno, name, seen[idx]);
		return MAILOTP_ERR_CONFIG;
	}
	if (*val == '\0') {
		mailotp_errf(err, errlen, "%s:%u: %s: missing value", cfg->path, lineno, name);
		return MAILOTP_ERR_CONFIG;
	}
	if (!value_text_ok(val, &what)) {
		mailotp_errf(err, errlen, "%s:%u: %s: %s", cfg->path, lineno, name, what);
		return MAILOTP_ERR_CONFIG;
	}
	why[0] = '\0';
	if ((r = k->set(cfg, k, val, why, sizeof(why))) != 0) {
		mailotp_errf(err, errlen, "%s:%u: %s: %s", cfg->path, lineno, name, why);
		return r;
	}
	seen[idx] = lineno;
	return 0;
}

int mailotp_config_load(const char *path, struct mailotp_config **out, char *err, size_t errlen)
{
	struct mailotp_config *cfg = NULL;
	unsigned seen[NKEYS] = {0}; /* line where each key was set, 0: not set */
	char line[CONFIG_LINE_MAX + 2], name[72];
	struct stat st;
	FILE *fp = NULL;
	unsigned lineno = 0;
	size_t len = 0, skip;
	int fd = -1, r = MAILOTP_ERR_INVALID;

	mailotp_errf(err, errlen, "%s", "");
	if (path == NULL || out == NULL) {
		mailotp_errf(err, errlen, "mailotp_config_load: no path");
		goto out;
	}
	*out = NULL;
	r = MAILOTP_ERR_NOMEM;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->path = strdup(path)) == NULL) {
		mailotp_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	r = MAILOTP_ERR_IO;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mailotp_errf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1; /* now owned by fp */

	for (;;) {
		lineno++;
		r = read_line(fp, line, &len);
		if (r == 0)
			break;
		if (r == MAILOTP_ERR_IO) {
			mailotp_errf(err, errlen, "%s:%u: %s", path, lineno, strerror(errno));
			goto out;
		}
		if (r == MAILOTP_ERR_TOOBIG || memchr(line, '\0', len) != NULL) {
			/* still name the key, if the line starts with one */
			skip = strspn(line, " \t");
			clean_key(line + skip, strcspn(line + skip, " \t"), name, sizeof(name));
			mailotp_errf(err, errlen, "%s:%u: %s%s%s", path, lineno, name,
			             name[0] ? ": " : "",
			             r == MAILOTP_ERR_TOOBIG ? "line longer than 4096 bytes"
			                                     : "line contains a NUL byte");
			r = MAILOTP_ERR_CONFIG;
			goto out;
		}
		if ((r = parse_line(cfg, line, lineno, seen, err, errlen)) != 0)
			goto out;
	}
	if ((r = apply_defaults(cfg, seen, err, errlen)) != 0)
		goto out;
	if ((r = check_whole(cfg, seen, err, errlen)) != 0)
		goto out;
	*out = cfg;
	cfg = NULL;
	r = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	mailotp_config_free(cfg);
	return r;
}

void mailotp_config_free(struct mailotp_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].is_str)
			free(*str_field(cfg, &keys[i]));
	for (i = 0; i < cfg->n_ldap_uri; i++)
		free(cfg->ldap_uri[i]);
	free(cfg->path);
	free(cfg);
}

int mailotp_config_read_secret(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r = MAILOTP_ERR_INVALID;

	mailotp_errf(err, errlen, "%s", "");
	if (path == NULL || out == NULL) {
		mailotp_errf(err, errlen, "mailotp_config_read_secret: no path");
		goto out;
	}
	*out = NULL;
	/* sodium_malloc needs the page size that sodium_init records */
	if (sodium_init() < 0) {
		mailotp_errf(err, errlen, "%s: libsodium failed to initialise", path);
		r = MAILOTP_ERR_CRYPTO;
		goto out;
	}
	/* O_NOFOLLOW: a link could point the daemon, running as root, at any file */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		if (errno == ELOOP) {
			mailotp_errf(err, errlen, "%s: is a symbolic link; name the file itself",
			             path);
			r = MAILOTP_ERR_CONFIG;
		} else {
			mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
			r = MAILOTP_ERR_IO;
		}
		goto out;
	}
	/* fstat, not stat: the mode checked is the mode of the file that is read */
	r = MAILOTP_ERR_IO;
	if (fstat(fd, &st) != 0) {
		mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = MAILOTP_ERR_CONFIG;
	if (!S_ISREG(st.st_mode)) {
		mailotp_errf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 007) != 0 || (st.st_mode & 020) != 0) {
		mailotp_errf(
		    err, errlen,
		    "%s: mode %04o is too open; a secret file must not be accessible to others "
		    "nor writable by its group (use 0600 or 0640)",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size > SECRET_MAX) {
		mailotp_errf(err, errlen, "%s: larger than %d bytes", path, SECRET_MAX);
		goto out;
	}
	r = MAILOTP_ERR_NOMEM;
	if ((buf = sodium_malloc(SECRET_MAX + 2)) == NULL) {
		mailotp_errf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* read one byte past the limit: the file may have grown since fstat */
	while (len < SECRET_MAX + 1) {
		n = read(fd, buf + len, SECRET_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mailotp_errf(err, errlen, "%s: %s", path, strerror(errno));
			r = MAILOTP_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = MAILOTP_ERR_CONFIG;
	if (len > SECRET_MAX) {
		mailotp_errf(err, errlen, "%s: larger than %d bytes", path, SECRET_MAX);
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		mailotp_errf(err, errlen, "%s: empty", path);
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL || memchr(buf, '\r', len) != NULL ||
	    memchr(buf, '\n', len) != NULL) {
		mailotp_errf(err, errlen, "%s: contains a NUL, CR or line feed (one line only)",
		             path);
		goto out;
	}
	*out = buf;
	buf = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (buf != NULL)
		sodium_free(buf);
	return r;
}

void mailotp_secret_free(char *secret)
{
	/* sodium_free wipes the pages before releasing them */
	if (secret != NULL)
		sodium_free(secret);
}

/* Is gid one of the allowed groups? */
static bool gid_listed(const struct mailotp_config *cfg, gid_t gid)
{
	size_t i;

	for (i = 0; i < cfg->n_pam_allow_gid; i++)
		if (cfg->pam_allow_gid[i] == gid)
			return true;
	return false;
}

bool mailotp_config_peer_allowed(const struct mailotp_config *cfg, uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	size_t len = (size_t)nss_buf_start(_SC_GETPW_R_SIZE_MAX);
	char *buf = NULL, *nbuf;
	gid_t *groups = NULL, *ngroups_buf;
	int ngroups = 64, i, e;
	bool ok = false;

	if (cfg == NULL)
		goto out;
	for (i = 0; (size_t)i < cfg->n_pam_allow_uid; i++)
		if (cfg->pam_allow_uid[i] == uid) {
			ok = true;
			goto out;
		}
	if (cfg->n_pam_allow_gid == 0)
		goto out;
	if (gid_listed(cfg, gid)) {
		ok = true;
		goto out;
	}
	/* Supplementary groups come from the group database, not from the peer. */
	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL)
			goto out;
		buf = nbuf;
		e = getpwuid_r(uid, &pw, buf, len, &res);
		if (e != ERANGE || len >= NSS_BUF_MAX)
			break;
		len *= 2;
	}
	if (res == NULL)
		goto out;
	for (;;) {
		if ((ngroups_buf = realloc(groups, (size_t)ngroups * sizeof(*groups))) == NULL)
			goto out;
		groups = ngroups_buf;
		i = ngroups;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ngroups) >= 0)
			break;
		/* ngroups now says how many there are; refuse to chase an absurd count */
		if (ngroups <= i || ngroups > GROUPS_MAX)
			goto out;
	}
	for (i = 0; i < ngroups; i++) {
		if (gid_listed(cfg, groups[i])) {
			ok = true;
			goto out;
		}
	}
out:
	free(groups);
	free(buf);
	return ok;
}
