/*
 * pam_driver: runs PAM operations through the real libpam (under
 * pam_wrapper, via libpamtest) with a scripted conversation, and prints a
 * transcript the integration tests compare:
 *
 *	PROMPT_ECHO_OFF Password:
 *	INFO A one-time code has been sent to a***@example.org.
 *	PROMPT_ECHO_OFF One-time code:
 *	RESULT authenticate PAM_SUCCESS
 *
 * usage: pam_driver SERVICE USER OPS [ANSWER...]
 *   OPS     comma-separated: auth, acct, chauthtok, each optionally
 *           =PAM_CODE: the code it is expected to return for the run to
 *           go on to the next op (default PAM_SUCCESS)
 *   ANSWER  one per prompt, in order. Special answers:
 *	@CODE:ADDR   the code in the newest mail to ADDR (runs $PAMDRV_CODE_CMD ADDR)
 *	@WRONG:ADDR  a well-formed code that is not the one mailed to ADDR
 *	@NULL        answer with a NULL response string
 *	@CONVERR     make the conversation fail (PAM_CONV_ERR)
 *	@LONG:N      N times 'x'
 *	@EMPTY       the empty string
 *	@FILE:PATH   the first line of the file PATH
 *   When the answers run out the conversation fails (PAM_CONV_ERR).
 * The environment must carry PAM_WRAPPER=1, PAM_WRAPPER_SERVICE_DIR and
 * LD_PRELOAD=libpam_wrapper.so (pam_wrapped in tests/pam_env.sh sets
 * them). PAMDRV_LOCK_FD, when set, is a descriptor holding the lock that
 * keeps pam_wrapper's start-up apart from other tests' (pam_env.sh says
 * why); it is released at the first conversation, when pam_start has read
 * the service file, or at exit. The code command runs without pam_wrapper
 * in its environment, so that it starts no pam_wrapper of its own outside
 * that lock.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

struct script {
	char **answers;
	int n, next;
};

static int lock_fd = -1;

/* pam_start is done (or the run is over): other tests may start theirs. */
static void release_lock(void)
{
	if (lock_fd >= 0) {
		(void)flock(lock_fd, LOCK_UN);
		close(lock_fd);
		lock_fd = -1;
	}
}

/* Unsets NAME for a moment; returns its value (malloc'd) or NULL. */
static char *take_env(const char *name)
{
	const char *v = getenv(name);
	char *saved = v != NULL ? strdup(v) : NULL;

	unsetenv(name);
	return saved;
}

static void give_env(const char *name, char *saved)
{
	if (saved != NULL) {
		setenv(name, saved, 1);
		free(saved);
	}
}

static char *run_code_cmd(const char *addr)
{
	const char *cmd = getenv("PAMDRV_CODE_CMD");
	char line[256], *full = NULL, *out = NULL, *preload, *wrapper;
	FILE *p;

	if (cmd == NULL || asprintf(&full, "%s '%s'", cmd, addr) < 0)
		return NULL;
	/* pam_wrapper here is set up already and reads neither again while
	 * the conversation runs; the command's processes must not start one. */
	preload = take_env("LD_PRELOAD");
	wrapper = take_env("PAM_WRAPPER");
	p = popen(full, "r");
	give_env("LD_PRELOAD", preload);
	give_env("PAM_WRAPPER", wrapper);
	if (p != NULL) {
		if (fgets(line, sizeof(line), p) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			out = strdup(line);
		}
		pclose(p);
	}
	free(full);
	return out;
}

/* Returns the answer to give, or NULL with *conv_err / *null_resp set. */
static char *next_answer(struct script *s, bool *conv_err, bool *null_resp)
{
	const char *a;

	*conv_err = false;
	*null_resp = false;
	if (s->next >= s->n) {
		*conv_err = true;
		return NULL;
	}
	a = s->answers[s->next++];
	if (strcmp(a, "@CONVERR") == 0) {
		*conv_err = true;
		return NULL;
	}
	if (strcmp(a, "@NULL") == 0) {
		*null_resp = true;
		return NULL;
	}
	if (strcmp(a, "@EMPTY") == 0)
		return strdup("");
	if (strncmp(a, "@FILE:", 6) == 0) {
		char line[512] = "";
		FILE *f = fopen(a + 6, "r");
		if (f != NULL) {
			if (fgets(line, sizeof(line), f) == NULL)
				line[0] = '\0';
			fclose(f);
		}
		line[strcspn(line, "\r\n")] = '\0';
		return strdup(line);
	}
	if (strncmp(a, "@LONG:", 6) == 0) {
		size_t n = strtoul(a + 6, NULL, 10);
		char *x = malloc(n + 1);
		if (x != NULL) {
			memset(x, 'x', n);
			x[n] = '\0';
		}
		return x;
	}
	if (strncmp(a, "@CODE:", 6) == 0 || strncmp(a, "@WRONG:", 7) == 0) {
		bool wrong = a[1] == 'W';
		char *code = run_code_cmd(strchr(a, ':') + 1);
		if (code == NULL) {
			fprintf(stderr, "pam_driver: no code found for %s\n", strchr(a, ':') + 1);
			*conv_err = true;
			return NULL;
		}
		if (wrong) /* change the last digit: well-formed, certainly wrong */
			code[strlen(code) - 1] =
			    code[strlen(code) - 1] == '9' ? '0' : code[strlen(code) - 1] + 1;
		return code;
	}
	return strdup(a);
}

static void print_line(const char *kind, const char *text)
{
	/* One line per message: a newline inside would confuse the transcript. */
	printf("%s ", kind);
	for (const char *p = text != NULL ? text : ""; *p != '\0'; p++)
		putchar(*p == '\n' ? '|' : *p);
	putchar('\n');
	fflush(stdout);
}

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct script *s = data;
	struct pam_response *r;

	release_lock();
	if (num <= 0 || num > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		bool conv_err, null_resp;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			print_line(msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "PROMPT_ECHO_OFF"
			                                                    : "PROMPT_ECHO_ON",
			           msg[i]->msg);
			r[i].resp = next_answer(s, &conv_err, &null_resp);
			if (conv_err) {
				print_line("CONV", "error");
				for (int j = 0; j <= i; j++)
					free(r[j].resp);
				free(r);
				return PAM_CONV_ERR;
			}
			break;
		case PAM_ERROR_MSG:
			print_line("ERROR", msg[i]->msg);
			break;
		case PAM_TEXT_INFO:
			print_line("INFO", msg[i]->msg);
			break;
		default:
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static const char *pam_name(int rc)
{
	static const struct {
		int rc;
		const char *name;
	} names[] = {
	    {PAM_SUCCESS, "PAM_SUCCESS"},
	    {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
	    {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
	    {PAM_MAXTRIES, "PAM_MAXTRIES"},
	    {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
	    {PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
	    {PAM_CONV_ERR, "PAM_CONV_ERR"},
	    {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
	    {PAM_NEW_AUTHTOK_REQD, "PAM_NEW_AUTHTOK_REQD"},
	    {PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED"},
	    {PAM_AUTHTOK_ERR, "PAM_AUTHTOK_ERR"},
	    {PAM_IGNORE, "PAM_IGNORE"},
	    {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
	    {PAM_BUF_ERR, "PAM_BUF_ERR"},
	    {PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT"},
	    {PAM_ABORT, "PAM_ABORT"},
	    {PAM_AUTHTOK_RECOVERY_ERR, "PAM_AUTHTOK_RECOVERY_ERR"},
	    {PAM_INCOMPLETE, "PAM_INCOMPLETE"},
	    {PAM_TRY_AGAIN, "PAM_TRY_AGAIN"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rc == rc)
			return names[i].name;
	return "PAM_OTHER";
}

static int pam_code(const char *name)
{
	for (int rc = 0; rc < 64; rc++)
		if (strcmp(pam_name(rc), name) == 0)
			return rc;
	return -1;
}

int main(int argc, char **argv)
{
	struct pam_testcase cases[4];
	const char *opnames[4];
	struct script s;
	size_t n = 0;
	char *ops, *tok, *save = NULL;
	enum pamtest_err perr;

	if (argc < 4) {
		fprintf(stderr, "usage: pam_driver SERVICE USER OPS [ANSWER...]\n");
		return 2;
	}
	if (getenv("PAMDRV_LOCK_FD") != NULL)
		lock_fd = atoi(getenv("PAMDRV_LOCK_FD"));
	ops = strdup(argv[3]);
	for (tok = strtok_r(ops, ",", &save); tok != NULL && n < 4;
	     tok = strtok_r(NULL, ",", &save)) {
		enum pamtest_ops op;
		int expect = PAM_SUCCESS;
		char *eq = strchr(tok, '=');
		if (eq != NULL) {
			*eq++ = '\0';
			expect = pam_code(eq);
			if (expect < 0) {
				fprintf(stderr, "pam_driver: unknown PAM code %s\n", eq);
				return 2;
			}
		}
		if (strcmp(tok, "auth") == 0) {
			op = PAMTEST_AUTHENTICATE;
			opnames[n] = "authenticate";
		} else if (strcmp(tok, "acct") == 0) {
			op = PAMTEST_ACCOUNT;
			opnames[n] = "account";
		} else if (strcmp(tok, "chauthtok") == 0) {
			op = PAMTEST_CHAUTHTOK;
			opnames[n] = "chauthtok";
		} else {
			fprintf(stderr, "pam_driver: unknown op %s\n", tok);
			return 2;
		}
		memset(&cases[n], 0, sizeof(cases[n]));
		cases[n].pam_operation = op;
		cases[n].expected_rv = expect;
		cases[n].op_rv = -1;
		n++;
	}
	s.answers = argv + 4;
	s.n = argc - 4;
	s.next = 0;
	perr = _pamtest_conv(argv[1], argv[2], conv, &s, cases, n, NULL);
	if (perr != PAMTEST_ERR_OK && perr != PAMTEST_ERR_CASE) {
		printf("RESULT pamtest %s\n", pamtest_strerror(perr));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (cases[i].op_rv == -1)
			break;
		printf("RESULT %s %s\n", opnames[i], pam_name(cases[i].op_rv));
	}
	free(ops);
	return 0;
}
