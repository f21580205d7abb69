/*
 * floor_bench: the floor under the login figures of docs/performance.md.
 *
 *   floor_bench bind --uri URI --dn DN --pw-file FILE [--n N] [--warmup W]
 *                    [--label TEXT] [--table FILE]
 *       N simple binds as DN on one reused connection (the first bind,
 *       which also opens the connection, is not counted): what slapd
 *       charges for a bind, its password check included, and nothing else.
 *   floor_bench hash --ops T --mem-kib M [--n N] [--warmup W] [--label ...]
 *       N libsodium crypto_pwhash_str (argon2id, p=1) at T passes and M KiB:
 *       what mailotpd pays to hash a new password at that cost.
 *
 * --table FILE appends one markdown row with the columns of
 * tests/bench/login_bench's table (per s = 1000 / mean):
 *   | case | n | conc | median | p90 | p99 | max | per s | – | – | – |
 * Exit 0 when every operation succeeded, 1 otherwise, 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <ldap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static const char *opt_uri, *opt_dn, *opt_pw_file, *opt_label, *opt_table;
static size_t opt_n = 200, opt_warmup = 3;
static unsigned long long opt_ops = 2;
static size_t opt_mem_kib = 19456;

static size_t parse_size(const char *s, const char *what)
{
	return bench_count("floor_bench", s, what, 100000000ul);
}

static int read_pw(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "floor_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static int do_bind(LDAP *ld, const char *pw)
{
	struct berval cred = {.bv_len = strlen(pw), .bv_val = (char *)(uintptr_t)pw};

	return ldap_sasl_bind_s(ld, opt_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

static int run_bind(double *ms, size_t *done)
{
	char pw[512];
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, rc;
	struct timeval tv = {10, 0};

	if (opt_uri == NULL || opt_dn == NULL || opt_pw_file == NULL) {
		fprintf(stderr, "floor_bench bind: --uri, --dn and --pw-file are needed\n");
		return 2;
	}
	if (read_pw(opt_pw_file, pw, sizeof(pw)) != 0)
		return 1;
	if ((rc = ldap_initialize(&ld, opt_uri)) != LDAP_SUCCESS) {
		fprintf(stderr, "floor_bench: %s: %s\n", opt_uri, ldap_err2string(rc));
		return 1;
	}
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
	/* the first bind opens the connection: not counted, like the warm-up */
	for (size_t i = 0; i < opt_warmup + 1; i++) {
		if ((rc = do_bind(ld, pw)) != LDAP_SUCCESS) {
			fprintf(stderr, "floor_bench: bind as %s: %s\n", opt_dn, ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			return 1;
		}
	}
	for (size_t i = 0; i < opt_n; i++) {
		uint64_t t0 = bench_now_ns();

		rc = do_bind(ld, pw);
		if (rc != LDAP_SUCCESS) {
			fprintf(stderr, "floor_bench: bind as %s: %s\n", opt_dn, ldap_err2string(rc));
			ldap_unbind_ext_s(ld, NULL, NULL);
			return 1;
		}
		ms[(*done)++] = bench_ms(t0, bench_now_ns());
	}
	ldap_unbind_ext_s(ld, NULL, NULL);
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

static int run_hash(double *ms, size_t *done)
{
	char out[crypto_pwhash_STRBYTES];
	static const char pw[] = "Floor-Bench-Passw0rd";

	for (size_t i = 0; i < opt_warmup + opt_n; i++) {
		uint64_t t0 = bench_now_ns();

		if (crypto_pwhash_str(out, pw, sizeof(pw) - 1, opt_ops, opt_mem_kib * 1024) != 0) {
			fprintf(stderr, "floor_bench: crypto_pwhash_str failed (out of memory?)\n");
			return 1;
		}
		if (i >= opt_warmup)
			ms[(*done)++] = bench_ms(t0, bench_now_ns());
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"uri", required_argument, NULL, 'H'},   {"dn", required_argument, NULL, 'D'},
	    {"pw-file", required_argument, NULL, 'y'}, {"ops", required_argument, NULL, 'o'},
	    {"mem-kib", required_argument, NULL, 'm'}, {"n", required_argument, NULL, 'n'},
	    {"warmup", required_argument, NULL, 'w'}, {"label", required_argument, NULL, 'l'},
	    {"table", required_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
	struct bench_stats st;
	const char *what;
	size_t done = 0;
	double *ms;
	FILE *tab;
	int o, rc;

	if (argc < 2 || (strcmp(argv[1], "bind") != 0 && strcmp(argv[1], "hash") != 0)) {
		fprintf(stderr, "usage: floor_bench bind|hash [options]\n");
		return 2;
	}
	what = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 'H': opt_uri = optarg; break;
		case 'D': opt_dn = optarg; break;
		case 'y': opt_pw_file = optarg; break;
		case 'o': opt_ops = parse_size(optarg, "--ops"); break;
		case 'm': opt_mem_kib = parse_size(optarg, "--mem-kib"); break;
		case 'n': opt_n = parse_size(optarg, "--n"); break;
		case 'w': opt_warmup = parse_size(optarg, "--warmup"); break;
		case 'l': opt_label = optarg; break;
		case 't': opt_table = optarg; break;
		default: return 2;
		}
	}
	if (opt_n == 0 || sodium_init() < 0 || (ms = calloc(opt_n, sizeof(double))) == NULL)
		return 2;
	rc = strcmp(what, "bind") == 0 ? run_bind(ms, &done) : run_hash(ms, &done);
	if (rc != 0)
		return rc;
	bench_summarise(ms, done, &st);
	printf("%s: %zu done; ms median %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
	       opt_label ? opt_label : what, done, st.median, st.p90, st.p99, st.max, st.mean);
	if (opt_table != NULL) {
		if ((tab = fopen(opt_table, "a")) == NULL) {
			fprintf(stderr, "floor_bench: %s: %s\n", opt_table, strerror(errno));
			return 1;
		}
		fprintf(tab, "| %s | %zu | 1 | %.3f | %.3f | %.3f | %.3f | %.1f | – | – | – |\n",
		        opt_label ? opt_label : what, done, st.median, st.p90, st.p99, st.max,
		        st.mean > 0 ? 1000.0 / st.mean : 0.0);
		fclose(tab);
	}
	free(ms);
	return 0;
}
