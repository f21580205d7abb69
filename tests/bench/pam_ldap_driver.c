/*
 * pam_ldap_driver: the anchor of docs/performance.md. Times one full
 * pam_start_confdir -> pam_authenticate -> pam_end per attempt, through a
 * PAM service file in a private directory (no /etc/pam.d edit), so that
 * `auth required pam_ldap.so` asks nslcd to check the password.
 *
 *   pam_ldap_driver --confdir DIR --service NAME --users U:PW[,U:PW...]
 *                   [--mode valid|wrong|unknown] [--n N] [--concurrency C]
 *                   [--warmup W] [--label TEXT] [--table FILE]
 *
 * mode valid: each attempt must give PAM_SUCCESS; wrong (the password
 * with "x" appended) and unknown (the user name with "-nx" appended) must
 * give PAM_AUTH_ERR or PAM_USER_UNKNOWN. With --concurrency C, C threads
 * run N/C attempts each, after W warm-up attempts each (default 5, not
 * counted); user j goes to the attempt j modulo the number of users.
 *
 * Prints a summary on stdout; --table FILE appends one markdown row with
 * the columns of tests/bench/login_bench's table:
 *   | case | n | conc | median | p90 | p99 | max | per s | – | – | – |
 * Exit 0 when every attempt ended as expected, 1 otherwise (no time is
 * ever judged), 2 on a usage error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

enum mode { MODE_VALID, MODE_WRONG, MODE_UNKNOWN };

struct user {
	char *name, *pw;
};

struct worker {
	size_t id, n, warmup, done;
	pthread_t tid;
	double *ms;
	unsigned long failures;
	char err[256];
};

static const char *opt_confdir, *opt_service = "bench-ldap", *opt_label, *opt_table;
static size_t opt_n = 200, opt_conc = 1, opt_warmup = 5;
static enum mode opt_mode = MODE_VALID;
static struct user *users;
static size_t nusers;
static pthread_barrier_t start_barrier;

/* Answers every prompt that hides its echo with the password; anything
 * else gets an empty answer (pam_ldap may send info messages). */
static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const char *pw = data;
	struct pam_response *r;

	if (resp == NULL)
		return PAM_SUCCESS;
	if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			if ((r[i].resp = strdup(pw)) == NULL) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_CONV_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* out = a followed by b, when it fits */
static bool join(char *out, size_t outlen, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la + lb >= outlen)
		return false;
	memcpy(out, a, la);
	memcpy(out + la, b, lb + 1);
	return true;
}

/* One attempt; returns its time in ms, or a negative value on a wrong outcome. */
static double attempt(struct worker *w, const struct user *u)
{
	char name[256], pw[256];
	struct pam_conv c = {conv, pw};
	pam_handle_t *ph = NULL;
	uint64_t t0, t1;
	int rc;
	bool ok;

	if (!join(name, sizeof(name), u->name, opt_mode == MODE_UNKNOWN ? "-nx" : "") ||
	    !join(pw, sizeof(pw), u->pw, opt_mode == MODE_WRONG ? "x" : "")) {
		w->failures++;
		snprintf(w->err, sizeof(w->err), "user name or password too long");
		return -1;
	}
	t0 = bench_now_ns();
	rc = pam_start_confdir(opt_service, name, &c, opt_confdir, &ph);
	if (rc == PAM_SUCCESS)
		rc = pam_authenticate(ph, 0);
	if (ph != NULL)
		pam_end(ph, rc);
	t1 = bench_now_ns();
	ok = opt_mode == MODE_VALID ? rc == PAM_SUCCESS
	                            : rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN;
	if (!ok) {
		w->failures++;
		if (w->err[0] == '\0')
			snprintf(w->err, sizeof(w->err), "user %.100s: %.100s (%d)", name,
			         pam_strerror(NULL, rc), rc);
		return -1;
	}
	return bench_ms(t0, t1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t k = w->id;

	for (size_t i = 0; i < w->warmup; i++, k += opt_conc)
		(void)attempt(w, &users[k % nusers]);
	w->failures = 0;
	w->err[0] = '\0';
	pthread_barrier_wait(&start_barrier);
	for (size_t i = 0; i < w->n; i++, k += opt_conc) {
		double t = attempt(w, &users[k % nusers]);

		if (t >= 0)
			w->ms[w->done++] = t;
	}
	return NULL;
}

static size_t parse_size(const char *s, const char *what)
{
	return bench_count("pam_ldap_driver", s, what, 10000000ul);
}

static void parse_users(char *arg)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(arg, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');

		if (colon == NULL) {
			fprintf(stderr, "pam_ldap_driver: --users: want USER:PASSWORD, got '%s'\n",
			        tok);
			exit(2);
		}
		*colon = '\0';
		if ((users = realloc(users, (nusers + 1) * sizeof(*users))) == NULL) {
			perror("pam_ldap_driver");
			exit(2);
		}
		users[nusers].name = tok;
		users[nusers].pw = colon + 1;
		nusers++;
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"confdir", required_argument, NULL, 'd'}, {"service", required_argument, NULL, 's'},
	    {"users", required_argument, NULL, 'u'},   {"mode", required_argument, NULL, 'm'},
	    {"n", required_argument, NULL, 'n'},       {"concurrency", required_argument, NULL, 'c'},
	    {"warmup", required_argument, NULL, 'w'},  {"label", required_argument, NULL, 'l'},
	    {"table", required_argument, NULL, 't'},   {NULL, 0, NULL, 0}};
	struct worker *ws;
	struct bench_stats st;
	unsigned long fail = 0;
	size_t done = 0, per;
	double *all, wall_s;
	uint64_t t0;
	FILE *tab;
	int o;

	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 'd': opt_confdir = optarg; break;
		case 's': opt_service = optarg; break;
		case 'u': parse_users(optarg); break;
		case 'm':
			if (strcmp(optarg, "valid") == 0)
				opt_mode = MODE_VALID;
			else if (strcmp(optarg, "wrong") == 0)
				opt_mode = MODE_WRONG;
			else if (strcmp(optarg, "unknown") == 0)
				opt_mode = MODE_UNKNOWN;
			else {
				fprintf(stderr, "pam_ldap_driver: --mode valid|wrong|unknown\n");
				return 2;
			}
			break;
		case 'n': opt_n = parse_size(optarg, "--n"); break;
		case 'c': opt_conc = parse_size(optarg, "--concurrency"); break;
		case 'w': opt_warmup = parse_size(optarg, "--warmup"); break;
		case 'l': opt_label = optarg; break;
		case 't': opt_table = optarg; break;
		default: return 2;
		}
	}
	if (opt_confdir == NULL || nusers == 0 || opt_conc == 0 || opt_n < opt_conc) {
		fprintf(stderr, "pam_ldap_driver: --confdir and --users are needed, and N >= C\n");
		return 2;
	}
	per = opt_n / opt_conc;
	if ((ws = calloc(opt_conc, sizeof(*ws))) == NULL || (all = calloc(opt_n, sizeof(*all))) == NULL)
		return 2;
	pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_conc + 1);
	for (size_t i = 0; i < opt_conc; i++) {
		ws[i].id = i;
		ws[i].n = per;
		ws[i].warmup = opt_warmup;
		if ((ws[i].ms = calloc(per, sizeof(double))) == NULL ||
		    pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
			fprintf(stderr, "pam_ldap_driver: cannot start thread %zu\n", i);
			return 2;
		}
	}
	pthread_barrier_wait(&start_barrier);
	t0 = bench_now_ns();
	for (size_t i = 0; i < opt_conc; i++)
		pthread_join(ws[i].tid, NULL);
	wall_s = bench_ms(t0, bench_now_ns()) / 1000.0;
	for (size_t i = 0; i < opt_conc; i++) {
		memcpy(all + done, ws[i].ms, ws[i].done * sizeof(double));
		done += ws[i].done;
		fail += ws[i].failures;
		if (ws[i].err[0] != '\0')
			fprintf(stderr, "pam_ldap_driver: thread %zu: %lu failure(s), first: %s\n", i,
			        ws[i].failures, ws[i].err);
	}
	bench_summarise(all, done, &st);
	printf("%s: %zu thread(s), %zu done, %lu failed, %.3f s, %.1f/s; ms median %.2f  p90 "
	       "%.2f  p99 %.2f  max %.2f  mean %.2f\n",
	       opt_label ? opt_label : "run", opt_conc, done, fail, wall_s,
	       wall_s > 0 ? (double)done / wall_s : 0.0, st.median, st.p90, st.p99, st.max,
	       st.mean);
	if (opt_table != NULL) {
		if ((tab = fopen(opt_table, "a")) == NULL) {
			fprintf(stderr, "pam_ldap_driver: %s: %s\n", opt_table, strerror(errno));
			return 1;
		}
		fprintf(tab, "| %s | %zu | %zu | %.2f | %.2f | %.2f | %.2f | %.1f | – | – | – |\n",
		        opt_label ? opt_label : "pam_ldap", done, opt_conc, st.median, st.p90,
		        st.p99, st.max, wall_s > 0 ? (double)done / wall_s : 0.0);
		fclose(tab);
	}
	return fail == 0 && done > 0 ? 0 : 1;
}
