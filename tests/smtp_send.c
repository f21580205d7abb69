/*
 * Test driver for the SMTP client (tests/smtp_client.sh): fills a zeroed
 * struct mailotp_config from the options, sends (or probes) through
 * mailotp_smtp_send / mailotp_smtp_probe, and prints one line per call:
 *
 *	rc=NAME err=TEXT
 *
 * NAME is OK, SMTP, SMTP_REFUSED, INVALID, CONFLICT, ... (see rc_name).
 * Exit status: 0 when every call returned 0, 1 when one did not, 2 for a
 * usage or set-up error. On stderr at the end: "gate asked N" (how many
 * times a gate's ask() was called, all calls together).
 *
 *	smtp_send --url URL [--starttls no|auto|yes] [--user U --password-file F]
 *		  [--ca FILE] [--timeout S] [--from ADDR] --to ADDR [--to ADDR ...]
 *		  [--message FILE] [--count N] [--pause-ms MS]
 *		  [--probe] [--withhold | --gate-ok | --gate SEQ]
 *
 * Without --message each send is a small valid CRLF message built here,
 * with an X-Smtp-Send-Seq header counting 1..N. --withhold passes a gate
 * whose ask() returns MAILOTP_ERR_CONFLICT; --gate-ok one that returns 0;
 * --gate SEQ one whose k-th answer is SEQ's k-th letter, 'w' (withhold:
 * MAILOTP_ERR_CONFLICT) or 'o' (ok), the last letter repeated.
 * SIGPIPE is ignored, as mailotpd and mailotpctl do.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "mailotp/error.h"

#define MAX_RCPT 64

static const char *rc_name(int rc)
{
	static char buf[32];

	switch (rc) {
	case 0:
		return "OK";
	case MAILOTP_ERR_INTERNAL:
		return "INTERNAL";
	case MAILOTP_ERR_NOMEM:
		return "NOMEM";
	case MAILOTP_ERR_INVALID:
		return "INVALID";
	case MAILOTP_ERR_CONFIG:
		return "CONFIG";
	case MAILOTP_ERR_IO:
		return "IO";
	case MAILOTP_ERR_PROTO:
		return "PROTO";
	case MAILOTP_ERR_SMTP:
		return "SMTP";
	case MAILOTP_ERR_SMTP_REFUSED:
		return "SMTP_REFUSED";
	case MAILOTP_ERR_TIMEOUT:
		return "TIMEOUT";
	case MAILOTP_ERR_CONFLICT:
		return "CONFLICT";
	case MAILOTP_ERR_CLOSED:
		return "CLOSED";
	default:
		snprintf(buf, sizeof(buf), "E%d", rc);
		return buf;
	}
}

static int gate_asked;

/* arg: the answers, 'w' or 'o', one per call; the last one repeats. */
static int gate_ask(void *arg)
{
	const char *seq = arg;
	size_t n = strlen(seq);
	char c = seq[(size_t)gate_asked < n ? (size_t)gate_asked : n - 1];

	gate_asked++;
	return c == 'w' ? MAILOTP_ERR_CONFLICT : 0;
}

/* The whole file; NULL (and a message on stderr) on error or a NUL byte in it. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *tmp;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "smtp_send: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((tmp = realloc(buf, cap + 1)) == NULL) {
				fprintf(stderr, "smtp_send: out of memory\n");
				goto fail;
			}
			buf = tmp;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "smtp_send: %s: read error\n", path);
		goto fail;
	}
	fclose(f);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		fprintf(stderr, "smtp_send: %s holds a NUL byte: a C string cannot carry it\n",
		        path);
		free(buf);
		return NULL;
	}
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: smtp_send --url URL [--starttls no|auto|yes] [--user U --password-file F]\n"
	    "                 [--ca FILE] [--timeout S] [--from ADDR] --to ADDR [--to ADDR...]\n"
	    "                 [--message FILE] [--count N] [--pause-ms MS] [--probe]\n"
	    "                 [--withhold | --gate-ok | --gate SEQ]\n");
}

static int parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"starttls", required_argument, NULL, 's'},
	    {"user", required_argument, NULL, 'U'},
	    {"password-file", required_argument, NULL, 'P'},
	    {"ca", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 'r'},
	    {"message", required_argument, NULL, 'm'},
	    {"count", required_argument, NULL, 'n'},
	    {"pause-ms", required_argument, NULL, 'p'},
	    {"probe", no_argument, NULL, 'b'},
	    {"withhold", no_argument, NULL, 'w'},
	    {"gate-ok", no_argument, NULL, 'g'},
	    {"gate", required_argument, NULL, 'G'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char seq_withhold[] = "w", seq_ok[] = "o";
	struct mailotp_config cfg;
	struct mailotp_mail_gate gate = {NULL, NULL, NULL};
	const struct mailotp_mail_gate *gp = NULL;
	const char *rcpt[MAX_RCPT];
	size_t nrcpt = 0;
	const char *password_file = NULL, *message_file = NULL;
	char *password = NULL, *file_message = NULL;
	char err[512], msg[1024];
	long count = 1, pause_ms = 0, v;
	int probe = 0, c, rc, failed = 0, status = 2;

	memset(&cfg, 0, sizeof(cfg));
	cfg.smtp_starttls = MAILOTP_TLS_AUTO;
	cfg.smtp_timeout = 10;
	cfg.mail_from = "mailotp-test@example.org";

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			cfg.smtp_url = optarg;
			break;
		case 's':
			if (strcmp(optarg, "no") == 0)
				cfg.smtp_starttls = MAILOTP_TLS_NO;
			else if (strcmp(optarg, "auto") == 0)
				cfg.smtp_starttls = MAILOTP_TLS_AUTO;
			else if (strcmp(optarg, "yes") == 0)
				cfg.smtp_starttls = MAILOTP_TLS_YES;
			else
				goto bad;
			break;
		case 'U':
			cfg.smtp_user = optarg;
			break;
		case 'P':
			password_file = optarg;
			break;
		case 'c':
			cfg.smtp_ca_file = optarg;
			break;
		case 't':
			if (parse_int(optarg, 1, 300, &v) != 0)
				goto bad;
			cfg.smtp_timeout = (int)v;
			break;
		case 'f':
			cfg.mail_from = optarg;
			break;
		case 'r':
			if (nrcpt == MAX_RCPT)
				goto bad;
			rcpt[nrcpt++] = optarg;
			break;
		case 'm':
			message_file = optarg;
			break;
		case 'n':
			if (parse_int(optarg, 1, 1000, &count) != 0)
				goto bad;
			break;
		case 'p':
			if (parse_int(optarg, 0, 600000, &pause_ms) != 0)
				goto bad;
			break;
		case 'b':
			probe = 1;
			break;
		case 'w':
		case 'g':
		case 'G':
			gate.arg = c == 'w' ? seq_withhold : c == 'g' ? seq_ok : optarg;
			if (((const char *)gate.arg)[0] == '\0' ||
			    strspn(gate.arg, "wo") != strlen(gate.arg))
				goto bad;
			gate.ask = gate_ask;
			gp = &gate;
			break;
		case 'h':
			usage();
			return 0;
		default:
			goto bad;
		}
	}
	if (optind != argc || cfg.smtp_url == NULL || (!probe && nrcpt == 0))
		goto bad;

	signal(SIGPIPE, SIG_IGN);
	if (password_file != NULL &&
	    (rc = mailotp_config_read_secret(password_file, &password, err, sizeof(err))) != 0) {
		fprintf(stderr, "smtp_send: %s\n", err);
		goto out;
	}
	if (message_file != NULL && (file_message = read_file(message_file)) == NULL)
		goto out;
	if ((rc = mailotp_mail_global_init()) != 0) {
		printf("rc=%s err=mailotp_mail_global_init failed\n", rc_name(rc));
		fflush(stdout);
		status = 1;
		goto out;
	}

	for (long i = 1; i <= count; i++) {
		const char *m = file_message;

		if (i > 1 && pause_ms > 0) {
			struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		if (!probe && m == NULL) {
			snprintf(msg, sizeof(msg),
			         "From: <%s>\r\n"
			         "To: <%s>\r\n"
			         "Subject: smtp_send test %ld\r\n"
			         "Message-ID: <smtp-send-%ld-%ld@example.org>\r\n"
			         "X-Smtp-Send-Seq: %ld\r\n"
			         "MIME-Version: 1.0\r\n"
			         "Content-Type: text/plain; charset=us-ascii\r\n"
			         "\r\n"
			         "Test message %ld of %ld from tests/smtp_send.\r\n",
			         cfg.mail_from, rcpt[0], i, (long)getpid(), i, i, i, count);
			m = msg;
		}
		err[0] = '\0';
		if (probe)
			rc = mailotp_smtp_probe(&cfg, password, err, sizeof(err));
		else
			rc =
			    mailotp_smtp_send(&cfg, password, rcpt, nrcpt, m, gp, err, sizeof(err));
		printf("rc=%s err=%s\n", rc_name(rc), err);
		fflush(stdout);
		if (rc != 0)
			failed = 1;
	}
	status = failed ? 1 : 0;
out:
	fprintf(stderr, "gate asked %d\n", gate_asked);
	mailotp_secret_free(password);
	free(file_message);
	return status;
bad:
	usage();
	return 2;
}
