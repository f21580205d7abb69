/*
 * mailotpctl: the administrator's command line (SPEC "Admin CLI").
 *
 *	mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
 *	mailotpctl [-c PATH] invite|reissue|show|unlock USER
 *	mailotpctl [-c PATH] check
 *	mailotpctl [-c PATH] hash < password
 *
 * A thin shell over lib/: it loads what mailotpd loads (resetd/ctx.c),
 * runs one command from the table below inline (no background queue), says
 * what it did on stdout or why it failed on stderr, and logs the action to
 * syslog with who ran it. Exit status: 0 done, 1 failed, 2 usage.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "ctl.h"
#include "escape.h"
#include "harden.h"
#include "log.h"
#include "mail.h"
#include "message.h"
#include "policy.h"

struct command {
	const char *name;
	int (*parse)(struct args *a, int argc, char **argv);
	int (*run)(struct ctl *c, const struct args *a);
	unsigned needs;
	const char *usage; /* the arguments after the name */
	const char *help;
};

static time_t wall_clock(void)
{
	return time(NULL);
}

/* ---- messages ----------------------------------------------------------- */

void mailotpctl_fail(const struct args *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": %s: ", a->cmd);
	if (a->user != NULL)
		fprintf(stderr, "%s: ", a->user);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "2024-05-01 09:30:00 UTC"; "-" for 0. */
const char *mailotpctl_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* Why the directory failed, in words an administrator can act on. */
const char *mailotpctl_ldap_why(const struct ctl *c, int r, char *buf, size_t len)
{
	size_t off;

	switch (r) {
	case MAILOTP_ERR_LDAP_DOWN:
		off = (size_t)snprintf(buf, len, "directory server unavailable (");
		for (size_t i = 0; i < c->cfg->n_ldap_uri && off < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", i > 0 ? " " : "",
			                        c->cfg->ldap_uri[i]);
		if (off < len)
			snprintf(buf + off, len - off, ")");
		break;
	case MAILOTP_ERR_LDAP:
		/* The pool logs the server's answer (e.g. the service bind refused). */
		snprintf(buf, len, "directory server error (the system log has its answer)");
		break;
	default:
		snprintf(buf, len, "%s", mailotp_strerror(r));
	}
	return buf;
}

/* Who ran us: uid and, when it differs (sudo, su), the login uid the kernel keeps. */
static void who_init(char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[2048], name[64] = "?";
	uid_t uid = getuid();
	unsigned long luid = (unsigned long)-1;
	FILE *f;
	size_t off;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		mailotp_log_escape(pw.pw_name, name, sizeof(name));
	off = (size_t)snprintf(out, len, "uid:%lu(%s)", (unsigned long)uid, name);
	if ((f = fopen("/proc/self/loginuid", "re")) != NULL) {
		char line[32], *end;
		unsigned long v;

		/* strtoul, not fscanf: an out-of-range value must not be taken. */
		if (fgets(line, sizeof(line), f) != NULL) {
			errno = 0;
			v = strtoul(line, &end, 10);
			if (errno == 0 && end != line && (*end == '\0' || *end == '\n'))
				luid = v;
		}
		fclose(f);
	}
	if (luid != (unsigned long)uid && luid != 4294967295UL && off < len) {
		snprintf(name, sizeof(name), "?");
		if (getpwuid_r((uid_t)luid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
			mailotp_log_escape(pw.pw_name, name, sizeof(name));
		snprintf(out + off, len - off, " loginuid:%lu(%s)", luid, name);
	}
}

/* One syslog line per action: what, for whom, by whom, outcome. Never a secret. */
void mailotpctl_log(const struct ctl *c, const struct args *a, bool ok, const char *fmt, ...)
{
	char user[96], what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	mailotp_log_escape(a->user != NULL ? a->user : "", user, sizeof(user));
	mailotp_log(ok ? LOG_NOTICE : LOG_WARNING, "%s: user=\"%s\" by=%s result=%s: %s", a->cmd,
	            user, c->who, ok ? "ok" : "failed", what);
}

/* ---- loading ------------------------------------------------------------ */

static void ctl_close(struct ctl *c)
{
	mailotp_ldap_free(c->ldap);
	mailotp_policy_free(c->policy);
	mailotp_templates_free(c->templates);
	mailotp_secret_free(c->bind_pw);
	mailotp_secret_free(c->smtp_pw);
	mailotp_config_free(c->cfg);
	c->ldap = NULL;
	c->policy = NULL;
	c->templates = NULL;
	c->bind_pw = c->smtp_pw = NULL;
	c->cfg = NULL;
}

/* Loads what mailotpd loads (resetd/ctx.c), as far as `needs` asks. Prints why not. */
static int ctl_open(struct ctl *c, unsigned needs)
{
	char err[512];
	int r;

	if ((r = mailotp_config_load(c->path, &c->cfg, err, sizeof(err))) != 0 ||
	    (r = mailotp_config_read_secret(c->cfg->ldap_bind_pw_file, &c->bind_pw, err,
	                                    sizeof(err))) != 0)
		goto out;
	if ((needs & NEED_MAIL) != 0) {
		if (c->cfg->smtp_password_file != NULL &&
		    (r = mailotp_config_read_secret(c->cfg->smtp_password_file, &c->smtp_pw, err,
		                                    sizeof(err))) != 0)
			goto out;
		if ((r = mailotp_templates_load(c->cfg->template_dir, &c->templates, err,
		                                sizeof(err))) != 0 ||
		    (r = mailotp_policy_new(c->cfg, &c->policy, err, sizeof(err))) != 0)
			goto out;
	}
	if ((r = mailotp_ldap_new(c->cfg, c->bind_pw, &c->ldap)) != 0) {
		snprintf(err, sizeof(err), "cannot set up LDAP: %s", mailotp_strerror(r));
		goto out;
	}
	c->services.cfg = c->cfg;
	c->services.ldap = c->ldap;
	c->services.templates = c->templates;
	c->services.smtp_password = c->smtp_pw;
	c->services.timing = &c->timing;
	c->services.now = wall_clock;
	c->services.policy = c->policy;
	c->services.defer = NULL; /* one command, run to its end in this thread */
out:
	if (r != 0)
		fprintf(stderr, PROG ": %s\n", err);
	return r;
}

/* ---- argument parsing --------------------------------------------------- */

static void short_usage(void)
{
	fprintf(stderr,
	        "usage: " PROG " [-c PATH] COMMAND [ARGS]  (" PROG " --help lists the commands)\n");
}

/*
 * A USER is searched with ldap_user_filter and may become an RDN: bounded
 * as account.h bounds logins, text only, and never something that reads
 * as an option or a path.
 */
static int check_user(const struct args *a, const char *u)
{
	const char *why = NULL;
	size_t n = strlen(u);

	if (n == 0 || n > MAILOTP_MAX_LOGIN)
		why = "must be 1 to 256 bytes";
	else if (!mailotp_utf8_is_clean(u, n))
		why = "must be UTF-8 text without control characters";
	else if (strchr(u, '/') != NULL)
		why = "must not contain '/'";
	if (why == NULL)
		return 0;
	fprintf(stderr, PROG ": %s: invalid user name: %s\n", a->cmd, why);
	return MAILOTP_ERR_INVALID;
}

static int unknown_option(const struct args *a, const char *opt)
{
	char esc[96];

	fprintf(stderr, PROG ": %s: unknown option '%s' (a user name cannot begin with '-')\n",
	        a->cmd, mailotp_log_escape(opt, esc, sizeof(esc)));
	return MAILOTP_ERR_INVALID;
}

static int parse_none(struct args *a, int argc, char **argv)
{
	(void)argv;
	if (argc == 0)
		return 0;
	fprintf(stderr, PROG ": %s: takes no arguments\n", a->cmd);
	return MAILOTP_ERR_INVALID;
}

static int parse_user(struct args *a, int argc, char **argv)
{
	if (argc != 1) {
		fprintf(stderr, PROG ": %s: %s\n", a->cmd,
		        argc == 0 ? "USER is missing" : "takes one USER");
		return MAILOTP_ERR_INVALID;
	}
	if (argv[0][0] == '-')
		return unknown_option(a, argv[0]);
	if (check_user(a, argv[0]) != 0)
		return MAILOTP_ERR_INVALID;
	a->user = argv[0];
	return 0;
}

/* Takes "--opt VALUE" or "--opt=VALUE" at argv[*i]; 1 when it was opt, -1 on a missing value. */
static int take_value(const char *opt, int argc, char **argv, int *i, const char **out)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 1;
}

static int parse_add(struct args *a, int argc, char **argv)
{
	const char *user = NULL;
	bool dashdash = false;
	int t;

	for (int i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash && ((t = take_value("--mail", argc, argv, &i, &a->mail)) != 0 ||
		                  (t = take_value("--name", argc, argv, &i, &a->name)) != 0)) {
			if (t < 0) {
				fprintf(stderr, PROG ": add: %s needs a value\n", argv[i]);
				return MAILOTP_ERR_INVALID;
			}
			continue;
		}
		if (argv[i][0] == '-')
			return unknown_option(a, argv[i]);
		if (user != NULL) {
			fprintf(stderr, PROG ": add: takes one USER\n");
			return MAILOTP_ERR_INVALID;
		}
		user = argv[i];
	}
	if (user == NULL) {
		fprintf(stderr, PROG ": add: USER is missing\n");
		return MAILOTP_ERR_INVALID;
	}
	if (check_user(a, user) != 0)
		return MAILOTP_ERR_INVALID;
	if (a->mail == NULL) {
		fprintf(stderr, PROG ": add: --mail ADDR is required\n");
		return MAILOTP_ERR_INVALID;
	}
	if (!mailotp_addr_valid(a->mail)) {
		fprintf(stderr, PROG ": add: --mail: not a valid mail address\n");
		return MAILOTP_ERR_INVALID;
	}
	if (a->name != NULL && (a->name[0] == '\0' || strlen(a->name) > 256 ||
	                        !mailotp_utf8_is_clean(a->name, strlen(a->name)))) {
		fprintf(stderr, PROG ": add: --name: must be 1 to 256 bytes of UTF-8 text without "
		                     "control characters\n");
		return MAILOTP_ERR_INVALID;
	}
	a->user = user;
	return 0;
}

/* ---- the table and main ------------------------------------------------- */

static const struct command commands[] = {
    {"add", parse_add, mailotpctl_cmd_add, NEED_LDAP | NEED_MAIL, "USER --mail ADDR [--name NAME]",
     "create the LDAP entry and mail the invite"},
    {"invite", parse_user, mailotpctl_cmd_invite, NEED_LDAP | NEED_MAIL, "USER",
     "mail the \"account issued\" link (valid invite_ttl)"},
    {"reissue", parse_user, mailotpctl_cmd_reissue, NEED_LDAP | NEED_MAIL, "USER",
     "mail a temporary password (valid reset_ttl)"},
    {"show", parse_user, mailotpctl_cmd_show, NEED_LDAP, "USER", "print the account's state"},
    {"unlock", parse_user, mailotpctl_cmd_unlock, NEED_LDAP, "USER",
     "clear the password lock and the wrong-code count"},
    {"check", parse_none, mailotpctl_cmd_check, 0, "",
     "check config, secrets, templates, LDAP and SMTP"},
    {"hash", parse_none, mailotpctl_cmd_hash, 0, "",
     "read a password on stdin, print its {ARGON2} hash"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void help(void)
{
	char left[64];

	printf("usage: " PROG " [-c PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		snprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].usage);
		printf("  %-37s %s\n", left, commands[i].help);
	}
	printf("\noptions:\n"
	       "  -c PATH      configuration file (default %s)\n"
	       "  -h, --help   this help\n"
	       "  --version    print the version\n"
	       "\nexit status: 0 done, 1 failed, 2 usage error\n",
	       MAILOTP_CONFIG_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const struct command *cmd = NULL;
	struct ctl c;
	struct args a;
	int opt, rc;

	mailotp_harden_process();
	mailotp_ldap_global_init();
	memset(&c, 0, sizeof(c));
	memset(&a, 0, sizeof(a));
	c.path = MAILOTP_CONFIG_PATH;
	/* '+': options end at the command, whose own arguments are its business. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.path = optarg;
			c.path_given = true;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf(PROG " %s\n", PACKAGE_VERSION);
			return 0;
		default: {
			char esc[96];

			if (optopt == 'c')
				fprintf(stderr, PROG ": -c needs a PATH\n");
			else
				fprintf(stderr, PROG ": unknown option '%s'\n",
				        mailotp_log_escape(argv[optind - 1], esc, sizeof(esc)));
			short_usage();
			return EXIT_USAGE;
		}
		}
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": no command given\n");
		short_usage();
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL) {
		char esc[96];

		fprintf(stderr, PROG ": unknown command '%s'\n",
		        mailotp_log_escape(argv[optind], esc, sizeof(esc)));
		short_usage();
		return EXIT_USAGE;
	}
	a.cmd = cmd->name;
	if (cmd->parse(&a, argc - optind - 1, argv + optind + 1) != 0) {
		fprintf(stderr, "usage: " PROG " [-c PATH] %s%s%s\n", cmd->name,
		        cmd->usage[0] != '\0' ? " " : "", cmd->usage);
		return EXIT_USAGE;
	}

	signal(SIGPIPE, SIG_IGN); /* a mail server hanging up is an error, not a death */
	mailotp_log_open(PROG, false);
	who_init(c.who, sizeof(c.who));
	if (sodium_init() < 0 || mailotp_mail_global_init() != 0) {
		fprintf(stderr, PROG ": cannot initialise libsodium or GnuTLS\n");
		return EXIT_FAILED;
	}
	mailotp_timing_init(&c.timing);
	rc = EXIT_FAILED;
	if (cmd->needs == 0 || ctl_open(&c, cmd->needs) == 0)
		rc = cmd->run(&c, &a);
	ctl_close(&c);
	mailotp_timing_destroy(&c.timing);
	return rc;
}
