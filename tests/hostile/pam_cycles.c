/*
 * pam_cycles: pam_start_confdir -> pam_authenticate -> pam_end, N times in
 * one process, so that valgrind can tell whether the module leaks per
 * transaction (tests/hostile/valgrind_module.sh).  No pam_wrapper: the
 * service file is read from CONFDIR by Linux-PAM 1.5's pam_start_confdir.
 *
 * usage: pam_cycles CONFDIR SERVICE USER N [ANSWER...]
 *   Each cycle answers the prompts with ANSWER... in order (the same
 *   answers every cycle); when they run out, or for "@CONVERR", the
 *   conversation fails.  "@CMD" answers with the first line printed by
 *   $PAM_CYCLES_CODE_CMD (e.g. the code read from the mail).
 * Prints "cycles=N success=S other=O last=MESSAGE" (pam_strerror) and exits 0 when every
 * cycle ran (whatever PAM answered), 2 on a usage error, 1 when pam_start
 * failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

struct script {
	char **answers;
	int n, next;
};

static char *run_cmd(void)
{
	const char *cmd = getenv("PAM_CYCLES_CODE_CMD");
	char line[256];
	FILE *p;
	char *out = NULL;

	if (cmd == NULL || (p = popen(cmd, "r")) == NULL)
		return NULL;
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		out = strdup(line);
	}
	pclose(p);
	return out;
}

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct script *s = data;
	struct pam_response *r;
	int i;

	if (num <= 0 || num > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)num, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num; i++) {
		const char *a;

		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (s->next >= s->n || strcmp(s->answers[s->next], "@CONVERR") == 0)
			goto fail;
		a = s->answers[s->next++];
		r[i].resp = strcmp(a, "@CMD") == 0 ? run_cmd() : strdup(a);
		if (r[i].resp == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < num; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

int main(int argc, char **argv)
{
	struct script s;
	struct pam_conv pc = {conv, &s};
	pam_handle_t *pamh;
	long n, i, success = 0, other = 0;
	int rc = PAM_SYSTEM_ERR;
	char last[128] = "none";

	if (argc < 5 || (n = strtol(argv[4], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: pam_cycles CONFDIR SERVICE USER N [ANSWER...]\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		s.answers = argv + 5;
		s.n = argc - 5;
		s.next = 0;
		pamh = NULL;
		if (pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh) != PAM_SUCCESS) {
			fprintf(stderr, "pam_cycles: pam_start_confdir failed\n");
			return 1;
		}
		(void)pam_set_item(pamh, PAM_RHOST, "192.0.2.7");
		rc = pam_authenticate(pamh, 0);
		if (rc == PAM_SUCCESS)
			success++;
		else
			other++;
		snprintf(last, sizeof(last), "%s", pam_strerror(pamh, rc));
		pam_end(pamh, rc);
	}
	printf("cycles=%ld success=%ld other=%ld last=%s\n", n, success, other, last);
	return 0;
}
