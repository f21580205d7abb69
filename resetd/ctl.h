/*
 * mailotpctl's insides, shared by its files:
 *
 *	mailotpctl.c   main, the command table, argument parsing, loading
 *	ctl_account.c  add, invite, reissue, show, unlock
 *	ctl_check.c    check, hash
 *	ctl_ldap.c     the directory operations only the CLI does
 *
 * A command is a parse function (usage errors, exit 2, before anything is
 * read), what it needs loaded, and a run function that returns the exit
 * status (0 done, 1 failed) after saying what it did on stdout or why it
 * failed on stderr, in one line: "mailotpctl: CMD: USER: reason".
 */
#ifndef MAILOTPCTL_CTL_H
#define MAILOTPCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ldap_pool.h"
#include "login.h"
#include "template.h"
#include "timing.h"

#define PROG "mailotpctl"
#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* What a command needs loaded before it runs. */
#define NEED_LDAP 0x1u /* config, bind password, LDAP pool */
#define NEED_MAIL 0x2u /* and SMTP password, templates, policy */

/* The command line, once parsed; user, mail and name are checked. */
struct args {
	const char *cmd;
	const char *user;
	const char *mail;
	const char *name;
};

/* Everything a command may use; what `needs` asks for is loaded before run. */
struct ctl {
	const char *path; /* the config file: -c, or the default */
	bool path_given;  /* -c was given */
	struct mailotp_config *cfg;
	char *bind_pw; /* sodium_malloc'd */
	char *smtp_pw; /* sodium_malloc'd or NULL */
	struct mailotp_templates *templates;
	struct mailotp_policy *policy;
	struct mailotp_ldap *ldap;
	struct mailotp_timing timing;
	struct mailotp_services services; /* defer NULL: work runs inline */
	char who[128];                    /* who ran us, for the log: "uid:0(root) loginuid:..." */
};

/* Prints "mailotpctl: CMD: [USER: ]message" on stderr. */
void mailotpctl_fail(const struct args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Logs one line to syslog: the command, the user, who ran it, ok or failed,
 * and what; never a secret (the caller escapes directory strings).
 */
void mailotpctl_log(const struct ctl *c, const struct args *a, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Formats t as "2024-05-01 09:30:00 UTC" ("-" for 0) into buf; returns buf. */
const char *mailotpctl_time(time_t t, char *buf, size_t len);

/* Says why a directory step failed (the URIs when none answered) into buf; returns buf. */
const char *mailotpctl_ldap_why(const struct ctl *c, int r, char *buf, size_t len);

/* The commands; each returns the exit status. */
int mailotpctl_cmd_add(struct ctl *c, const struct args *a);
int mailotpctl_cmd_invite(struct ctl *c, const struct args *a);
int mailotpctl_cmd_reissue(struct ctl *c, const struct args *a);
int mailotpctl_cmd_show(struct ctl *c, const struct args *a);
int mailotpctl_cmd_unlock(struct ctl *c, const struct args *a);
int mailotpctl_cmd_check(struct ctl *c, const struct args *a);
int mailotpctl_cmd_hash(struct ctl *c, const struct args *a);

#endif /* MAILOTPCTL_CTL_H */
