/*
 * mailotpd: the helper daemon of pam_mailotp.so. It owns the directory
 * credentials, the mail relay and the one-time codes; the PAM module only
 * relays the conversation over the local socket.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctx.h"
#include "http_pool.h"
#include "http_server.h"
#include "jobs.h"
#include "ldap_pool.h"
#include "harden.h"
#include "log.h"
#include "mail.h"
#include "pam_server.h"
#include "pwhash.h"
#include "sd.h"

#define SHUTDOWN_GRACE_S 30

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: mailotpd [-c PATH] [-f] [-t]\n"
	        "  -c PATH  configuration file (default %s)\n"
	        "  -f       stay in the foreground and log to stderr as well as syslog\n"
	        "  -t       check the configuration, secret files and templates, then exit\n"
	        "  -h       this help\n"
	        "  -V       print the version\n",
	        MAILOTP_CONFIG_PATH);
}

/* Drops root for cfg->user after the sockets are open and the secrets read. */
static int drop_privileges(const struct mailotp_config *cfg)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (geteuid() != 0)
		return 0;
	if (strcmp(cfg->user, "root") == 0) {
		mailotp_log(LOG_WARNING, "running as root (user root): for tests only");
		return 0;
	}
	if (getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		mailotp_log(LOG_ERR, "user %s: no such user", cfg->user);
		return MAILOTP_ERR_CONFIG;
	}
	if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 ||
	    setuid(pw.pw_uid) != 0) {
		mailotp_log(LOG_ERR, "cannot become user %s: %s", cfg->user, strerror(errno));
		return MAILOTP_ERR_INTERNAL;
	}
	/* Make sure there is no way back. */
	if (setuid(0) == 0 || geteuid() == 0) {
		mailotp_log(LOG_ERR, "privileges could not be dropped");
		return MAILOTP_ERR_INTERNAL;
	}
	return 0;
}

/* Whether the PAM socket came from systemd (for the "ready" line). */
static bool pam_from_systemd;

/* The PAM socket: handed over by systemd, or opened here. */
static int open_pam_socket(const struct mailotp_config *cfg)
{
	/* The environment stays: the web service takes the second fd. */
	int n = mailotpd_listen_fds();

	/* A malformed LISTEN_FDS is refused, not taken for "nothing passed". */
	if (n < 0)
		return n;
	if (n > 0) {
		if (mailotpd_is_listening_stream(MAILOTPD_LISTEN_FDS_START, AF_UNIX)) {
			pam_from_systemd = true;
			return MAILOTPD_LISTEN_FDS_START;
		}
		mailotp_log(LOG_ERR, "the socket from systemd is not a listening UNIX socket");
		return MAILOTP_ERR_CONFIG;
	}
	return mailotpd_pam_listen(cfg->pam_socket);
}

static void reload(const char *path)
{
	struct mailotpd_ctx *c;
	char err[512];
	int r;

	(void)mailotpd_notify("RELOADING=1");
	if ((r = mailotpd_ctx_load(path, &c, err, sizeof(err))) != 0) {
		mailotp_log(LOG_ERR, "reload failed, keeping the running configuration: %s", err);
	} else {
		mailotpd_ctx_set_current(c);
		mailotp_log(LOG_NOTICE, "configuration and templates reloaded from %s", path);
	}
	(void)mailotpd_notify("READY=1");
}

int main(int argc, char **argv)
{
	const char *path = MAILOTP_CONFIG_PATH;
	bool foreground = false, test = false;
	struct mailotpd_ctx *ctx = NULL;
	sigset_t sigs;
	char err[512];
	int opt, sfd, fd, r;

	/* Before anything secret is read (the bind password with the configuration). */
	mailotp_harden_process();
	while ((opt = getopt(argc, argv, "c:fthV")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 't':
			test = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mailotpd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	mailotp_log_open("mailotpd", foreground || test);
	mailotp_ldap_global_init();
	if (sodium_init() < 0 || mailotp_mail_global_init() != 0) {
		mailotp_log(LOG_ERR, "cannot initialise libsodium or GnuTLS");
		return 1;
	}
	/* Hashing new passwords (web, PAM, temporary passwords) leaves a core free. */
	mailotp_pwhash_set_limit(mailotpd_pool_hash_limit());
	if ((r = mailotpd_ctx_load(path, &ctx, err, sizeof(err))) != 0) {
		mailotp_log(LOG_ERR, "%s", err);
		return 1;
	}
	if (test) {
		printf("%s: configuration, secret files and templates are valid\n", path);
		mailotpd_ctx_unref(ctx);
		return 0;
	}

	/* Signals are taken by the main loop only; every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &sigs, SFD_CLOEXEC)) < 0) {
		mailotp_log(LOG_ERR, "signalfd: %s", strerror(errno));
		return 1;
	}

	if ((fd = open_pam_socket(ctx->cfg)) < 0)
		return 1;
	/* Bound before privileges drop (a port below 1024 needs root). */
	if (mailotpd_http_listen(ctx->cfg) != 0)
		return 1;
	if (drop_privileges(ctx->cfg) != 0)
		return 1;
	/* Again: the change of user id reset the dumpable flag. */
	mailotp_harden_process();
	if (!foreground && daemon(0, 0) != 0) {
		mailotp_log(LOG_ERR, "cannot go to the background: %s", strerror(errno));
		return 1;
	}
	mailotpd_ctx_set_current(ctx);
	if (mailotpd_jobs_start() != 0) {
		mailotp_log(LOG_ERR, "cannot start the background workers");
		return 1;
	}
	if (mailotpd_pam_start(fd) != 0) {
		mailotp_log(LOG_ERR, "cannot start the PAM socket server");
		return 1;
	}
	/* Threads start only now: they would not survive daemon()'s fork. */
	if (mailotpd_http_start(ctx->cfg) != 0) {
		mailotp_log(LOG_ERR, "cannot start the reset web service");
		return 1;
	}
	mailotp_log(LOG_NOTICE, "mailotpd %s ready: config %s, pam socket %s", PACKAGE_VERSION,
	            path, pam_from_systemd ? "passed by systemd (fd 3)" : ctx->cfg->pam_socket);
	(void)mailotpd_notify("READY=1");

	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			break;
		if (si.ssi_signo == SIGHUP) {
			reload(path);
			continue;
		}
		mailotp_log(LOG_NOTICE, "signal %u: finishing the requests in flight",
		            si.ssi_signo);
		break;
	}
	(void)mailotpd_notify("STOPPING=1");
	mailotpd_http_stop();
	mailotpd_pam_stop(SHUTDOWN_GRACE_S);
	mailotpd_jobs_stop();
	mailotpd_ctx_set_current(NULL);
	mailotp_log(LOG_NOTICE, "stopped");
	return 0;
}
