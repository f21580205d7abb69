/* mailotpctl's account commands: add, invite, reissue, show, unlock (see ctl.h). */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "ctl.h"
#include "ctl_ldap.h"
#include "escape.h"
#include "reset.h"
#include "token.h"

/* ---- invite, reissue, add ----------------------------------------------- */

/* An invite is a link: without reset_public_url it would point nowhere. */
static int need_public_url(const struct ctl *c, const struct args *a)
{
	if (c->cfg->reset_public_url != NULL)
		return 0;
	mailotpctl_fail(a, "reset_public_url is not set in %s: the invite link is built from it",
	                c->path);
	return MAILOTP_ERR_CONFIG;
}

/* Finds USER, or says why not. */
static int find(struct ctl *c, const struct args *a, struct mailotp_account **acct)
{
	char why[512];
	int r;

	if ((r = mailotp_account_find(c->ldap, c->cfg, a->user, acct)) == 0)
		return 0;
	if (r == MAILOTP_ERR_NOT_FOUND)
		mailotpctl_fail(a, "no such account");
	else
		mailotpctl_fail(a, "%s", mailotpctl_ldap_why(c, r, why, sizeof(why)));
	mailotpctl_log(c, a, false, "%s",
	               r == MAILOTP_ERR_NOT_FOUND ? "no such account" : mailotp_strerror(r));
	return r;
}

static int send_invite(struct ctl *c, const struct args *a, struct mailotp_account *acct)
{
	char err[512], dn[256];
	int r;

	mailotp_log_escape(acct->dn, dn, sizeof(dn));
	if ((r = mailotp_reset_issue(&c->services, acct, MAILOTP_ISSUE_INVITE, err, sizeof(err))) !=
	    0) {
		mailotpctl_fail(a, "invite not mailed: %s", err);
		mailotpctl_log(c, a, false, "dn=\"%s\": invite not mailed: %s", dn, err);
		return r;
	}
	printf("%s: invite mailed to %s, link valid %d hours\n", a->user, acct->mail,
	       (c->cfg->invite_ttl + 3599) / 3600);
	mailotpctl_log(c, a, true, "dn=\"%s\": invite mailed", dn);
	return 0;
}

int mailotpctl_cmd_invite(struct ctl *c, const struct args *a)
{
	struct mailotp_account *acct = NULL;
	int r;

	if ((r = need_public_url(c, a)) == 0 && (r = find(c, a, &acct)) == 0)
		r = send_invite(c, a, acct);
	mailotp_account_free(acct);
	return r == 0 ? 0 : EXIT_FAILED;
}

int mailotpctl_cmd_reissue(struct ctl *c, const struct args *a)
{
	struct mailotp_account *acct = NULL;
	char err[512], dn[256];
	int r;

	if ((r = find(c, a, &acct)) != 0)
		goto out;
	mailotp_log_escape(acct->dn, dn, sizeof(dn));
	/* lib/reset.c mails first and writes after: a mail that fails changes nothing. */
	if ((r = mailotp_reset_issue(&c->services, acct, MAILOTP_ISSUE_TEMPORARY, err,
	                             sizeof(err))) != 0) {
		bool unchanged = r == MAILOTP_ERR_SMTP || r == MAILOTP_ERR_SMTP_REFUSED ||
		                 r == MAILOTP_ERR_NO_MAIL;
		mailotpctl_fail(a, "%s%s", err, unchanged ? "; the password was not changed" : "");
		mailotpctl_log(c, a, false, "dn=\"%s\": temporary password: %s", dn, err);
		goto out;
	}
	printf("%s: temporary password mailed to %s, valid %d minutes; a new password must be "
	       "set at the next login\n",
	       a->user, acct->mail, (c->cfg->reset_ttl + 59) / 60);
	mailotpctl_log(c, a, true, "dn=\"%s\": temporary password mailed, valid %d s", dn,
	               c->cfg->reset_ttl);
out:
	mailotp_account_free(acct);
	return r == 0 ? 0 : EXIT_FAILED;
}

/*
 * Looks the new entry up as a login would: by USER, or by its address
 * where ldap_user_filter matches the mail (002: the login ID is the
 * address).
 */
static int find_new(struct ctl *c, const struct args *a, struct mailotp_account **acct)
{
	int r = mailotp_account_find(c->ldap, c->cfg, a->user, acct);

	if (r == MAILOTP_ERR_NOT_FOUND)
		r = mailotp_account_find(c->ldap, c->cfg, a->mail, acct);
	return r;
}

int mailotpctl_cmd_add(struct ctl *c, const struct args *a)
{
	struct mailotp_account *acct = NULL, *other = NULL;
	char *dn = NULL, err[512], why[512], esc[256];
	int r;

	if ((r = need_public_url(c, a)) != 0)
		goto out;
	/* The same login under another DN (deeper in ldap_base) would make logins ambiguous. */
	r = mailotp_account_find(c->ldap, c->cfg, a->user, &other);
	if (r == 0) {
		mailotpctl_fail(a, "already exists (%s)", other->dn);
		mailotpctl_log(c, a, false, "already exists");
		r = MAILOTP_ERR_CONFLICT;
		goto out;
	}
	if (r != MAILOTP_ERR_NOT_FOUND)
		goto ldap_failed;
	/* The e-mail reset form finds the account by address: one account per address. */
	if (c->cfg->reset_request_fields == MAILOTP_FIELDS_EMAIL) {
		r = mailotp_account_find_by_mail(c->ldap, c->cfg, a->mail, &other);
		if (r == 0) {
			mailotpctl_fail(
			    a,
			    "%s is already the address of %s (the reset form finds accounts by "
			    "address)",
			    a->mail, other->dn);
			mailotpctl_log(c, a, false, "address already used");
			r = MAILOTP_ERR_CONFLICT;
			goto out;
		}
		if (r != MAILOTP_ERR_NOT_FOUND)
			goto ldap_failed;
	}
	if ((r = mailotpctl_ldap_add(c->ldap, c->cfg, a->user, a->mail, a->name, &dn, err,
	                             sizeof(err))) != 0) {
		if (r == MAILOTP_ERR_LDAP_DOWN)
			goto ldap_failed;
		mailotpctl_fail(a, "%s", err);
		mailotpctl_log(c, a, false, "%s", err);
		goto out;
	}
	mailotp_log_escape(dn, esc, sizeof(esc));
	printf("%s: created %s\n", a->user, dn);
	mailotpctl_log(c, a, true, "dn=\"%s\": created", esc);
	if ((r = find_new(c, a, &acct)) != 0) {
		mailotpctl_fail(a, "created %s, but ldap_user_filter does not find it: %s", dn,
		                r == MAILOTP_ERR_NOT_FOUND
		                    ? "check the filter"
		                    : mailotpctl_ldap_why(c, r, why, sizeof(why)));
		mailotpctl_log(c, a, false, "dn=\"%s\": created, but not found: %s", esc,
		               mailotp_strerror(r));
		goto out;
	}
	if ((r = send_invite(c, a, acct)) != 0)
		fprintf(stderr,
		        PROG ": add: %s: the account exists; send the invite again with "
		             "'" PROG " invite %s'\n",
		        a->user, a->user);
	goto out;
ldap_failed:
	mailotpctl_fail(a, "%s", mailotpctl_ldap_why(c, r, why, sizeof(why)));
	mailotpctl_log(c, a, false, "%s", mailotp_strerror(r));
out:
	mailotp_account_free(acct);
	mailotp_account_free(other);
	free(dn);
	return r == 0 ? 0 : EXIT_FAILED;
}

/* ---- show --------------------------------------------------------------- */

/* One "label: value" line; values from the directory are escaped for the terminal. */
static void field(const char *label, const char *value)
{
	char esc[1024], l[32];

	snprintf(l, sizeof(l), "%s:", label);
	printf("%-20s%s\n", l, mailotp_log_escape(value, esc, sizeof(esc)));
}

static void show_locked(const struct mailotpctl_extra *x, char *buf, size_t len)
{
	char t[64];

	if (x->locked_time == NULL)
		snprintf(buf, len, "no");
	/* ppolicy's "locked by an administrator": no lockout duration ends it. */
	else if (strcmp(x->locked_time, "000001010000Z") == 0)
		snprintf(buf, len, "yes, by an administrator, until unlocked");
	else
		snprintf(buf, len, "yes, since %s",
		         mailotpctl_time(mailotp_gentime_parse(x->locked_time), t, sizeof(t)));
}

static void show_codes(const struct ctl *c, const struct mailotp_account *acct, time_t now,
                       char *buf, size_t len)
{
	char t[64];
	int wait = 0;

	if (mailotp_account_code_locked(acct, now, c->cfg->otp_lockout_failures,
	                                c->cfg->otp_lockout_time, &wait))
		snprintf(buf, len, "%ld in a row: no code is mailed until %s", acct->otp_failures,
		         mailotpctl_time(now + wait, t, sizeof(t)));
	else
		snprintf(buf, len, "%ld in a row (codes stop at %d)", acct->otp_failures,
		         c->cfg->otp_lockout_failures);
}

static void show_token(const struct mailotp_account *acct, time_t now, char *buf, size_t len)
{
	enum mailotp_token_purpose purpose;
	time_t expires;
	char t[64];

	/* Purpose and expiry only: the hash stays in the directory. */
	if (acct->token_hash == NULL)
		snprintf(buf, len, "none");
	else if (acct->token_info == NULL ||
	         mailotp_token_info_parse(acct->token_info, &purpose, &expires) != 0)
		snprintf(buf, len, "one, of unknown purpose (mailotpTokenInfo unreadable)");
	else
		snprintf(buf, len, "%s link, %s %s",
		         purpose == MAILOTP_TOKEN_INVITE ? "invite" : "reset",
		         expires > now ? "expires" : "expired",
		         mailotpctl_time(expires, t, sizeof(t)));
}

int mailotpctl_cmd_show(struct ctl *c, const struct args *a)
{
	struct mailotp_account *acct = NULL;
	struct mailotpctl_extra x;
	char buf[1024], t[64], why[512];
	time_t now = time(NULL);
	size_t off = 0;
	int r;

	memset(&x, 0, sizeof(x));
	if ((r = find(c, a, &acct)) != 0)
		goto out;
	if ((r = mailotpctl_ldap_read_extra(c->ldap, c->cfg, acct->dn, &x)) != 0) {
		mailotpctl_fail(a, "%s", mailotpctl_ldap_why(c, r, why, sizeof(why)));
		mailotpctl_log(c, a, false, "reading the entry: %s", mailotp_strerror(r));
		goto out;
	}
	field("dn", acct->dn);
	field("name", acct->name != NULL ? acct->name : "-");
	field("mail", acct->mail != NULL ? acct->mail : "none: cannot log in or get mail");
	buf[0] = '\0';
	for (size_t i = 0; i < acct->n_notify && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i > 0 ? ", " : "",
		                        acct->notify[i]);
	field("notify", acct->n_notify > 0 ? buf : "none");
	field("language", acct->lang);
	show_locked(&x, buf, sizeof(buf));
	field("locked", buf);
	snprintf(buf, sizeof(buf), "%zu", x.n_pwd_failures);
	field("wrong passwords", buf);
	show_codes(c, acct, now, buf, sizeof(buf));
	field("wrong codes", buf);
	field("last code mailed",
	      acct->otp_sent != 0 ? mailotpctl_time(acct->otp_sent, t, sizeof(t)) : "never");
	field("must change", acct->must_change ? "yes" : "no");
	if (acct->temp_expiry == 0)
		snprintf(buf, sizeof(buf), "none");
	else
		snprintf(buf, sizeof(buf), "%s %s", acct->temp_expiry > now ? "expires" : "expired",
		         mailotpctl_time(acct->temp_expiry, t, sizeof(t)));
	field("temporary password", buf);
	field("password set",
	      x.changed_time != NULL
	          ? mailotpctl_time(mailotp_gentime_parse(x.changed_time), t, sizeof(t))
	          : "never by mailotp");
	if (x.consent_version == NULL)
		snprintf(buf, sizeof(buf), "none");
	else
		snprintf(buf, sizeof(buf), "version %s, %s", x.consent_version,
		         x.consent_time != NULL
		             ? mailotpctl_time(mailotp_gentime_parse(x.consent_time), t, sizeof(t))
		             : "time unknown");
	field("consent", buf);
	show_token(acct, now, buf, sizeof(buf));
	field("pending token", buf);
	mailotpctl_log(c, a, true, "state shown");
out:
	mailotpctl_extra_clear(&x);
	mailotp_account_free(acct);
	return r == 0 ? 0 : EXIT_FAILED;
}

/* ---- unlock ------------------------------------------------------------- */

int mailotpctl_cmd_unlock(struct ctl *c, const struct args *a)
{
	struct mailotp_account *acct = NULL;
	struct mailotpctl_unlocked u;
	char err[512], why[512], dn[256];
	int r;

	if ((r = find(c, a, &acct)) != 0)
		goto out;
	mailotp_log_escape(acct->dn, dn, sizeof(dn));
	if ((r = mailotpctl_ldap_unlock(c->ldap, c->cfg, acct->dn, &u, err, sizeof(err))) != 0) {
		mailotpctl_fail(
		    a, "%s",
		    r == MAILOTP_ERR_LDAP_DOWN ? mailotpctl_ldap_why(c, r, why, sizeof(why)) : err);
		mailotpctl_log(c, a, false, "dn=\"%s\": %s", dn, err);
		goto out;
	}
	if (u.locked_time[0] == '\0' && u.otp_failures[0] == '\0' && !u.otp_fail_time) {
		printf("%s: nothing to clear\n", a->user);
		mailotpctl_log(c, a, true, "dn=\"%s\": nothing to clear", dn);
		goto out;
	}
	if (u.locked_time[0] != '\0')
		printf("%s: cleared the password lock (pwdAccountLockedTime %s)\n", a->user,
		       u.locked_time);
	if (u.otp_failures[0] != '\0' || u.otp_fail_time)
		printf("%s: cleared the wrong-code count (mailotpOtpFailures %s)\n", a->user,
		       u.otp_failures[0] != '\0' ? u.otp_failures : "absent");
	mailotpctl_log(c, a, true, "dn=\"%s\": cleared%s%s%s", dn,
	               u.locked_time[0] != '\0' ? " pwdAccountLockedTime" : "",
	               u.otp_failures[0] != '\0' ? " mailotpOtpFailures" : "",
	               u.otp_fail_time ? " mailotpOtpFailTime" : "");
out:
	mailotp_account_free(acct);
	return r == 0 ? 0 : EXIT_FAILED;
}
