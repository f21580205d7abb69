/*
 * pam_mailotp.so: password + e-mailed one-time code, as a thin client of
 * mailotpd. The module holds no credentials and links only libc and
 * libpam: it asks the user, relays over the local socket and maps the
 * daemon's status to a PAM code in one place (status_to_pam). It takes no
 * configuration file and reads no environment variable, so nothing the
 * invoking user controls can steer it. Any error is a denial.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "client.h"

/* Longest code answer relayed; longer answers are sent as a wrong code. */
#define MAX_CODE_ANSWER 64

struct args {
	const char *socket;
	bool debug;
	bool otp_only;
	bool combined; /* one answer: the password, or the password and the code */
};

/*
 * Parses the module arguments. use_first_pass, try_first_pass and
 * use_authtok are read by pam_get_authtok() itself; they are accepted here.
 */
static int parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->socket = PAM_MAILOTP_SOCKET;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "socket=", 7) == 0 && s[7] == '/')
			a->socket = s + 7;
		else if (strcmp(s, "debug") == 0)
			a->debug = true;
		else if (strcmp(s, "otp_only") == 0)
			a->otp_only = true;
		else if (strcmp(s, "combined") == 0)
			a->combined = true;
		else if (strcmp(s, "use_first_pass") == 0 || strcmp(s, "try_first_pass") == 0 ||
		         strcmp(s, "use_authtok") == 0)
			continue;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown or malformed module argument: %.64s", s);
			return PAM_SERVICE_ERR;
		}
	}
	if (a->otp_only && a->combined) {
		pam_syslog(pamh, LOG_ERR, "otp_only and combined exclude each other");
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/* The one mapping of daemon status to PAM code; anything unknown is a denial. */
static int status_to_pam(uint32_t status)
{
	switch (status) {
	case MAILOTP_ST_OK:
		return PAM_SUCCESS;
	case MAILOTP_ST_UNAVAIL:
	case MAILOTP_ST_NOT_ALLOWED:
		return PAM_AUTHINFO_UNAVAIL;
	case MAILOTP_ST_MAXTRIES:
		return PAM_MAXTRIES;
	case MAILOTP_ST_NEW_AUTHTOK_REQD:
		return PAM_NEW_AUTHTOK_REQD;
	case MAILOTP_ST_PERM_DENIED:
		return PAM_PERM_DENIED;
	case MAILOTP_ST_ACCT_EXPIRED:
		return PAM_ACCT_EXPIRED;
	case MAILOTP_ST_AUTHTOK_ERR:
		return PAM_AUTHTOK_ERR;
	case MAILOTP_ST_AUTHTOK_RECOVERY_ERR:
		return PAM_AUTHTOK_RECOVERY_ERR;
	case MAILOTP_ST_USER_UNKNOWN:
		return PAM_USER_UNKNOWN;
	case MAILOTP_ST_BAD_REQUEST:
		return PAM_SERVICE_ERR;
	case MAILOTP_ST_DENIED:
	case MAILOTP_ST_MAIL_FAILED:
	case MAILOTP_ST_RETRY:
	case MAILOTP_ST_CONSENT_REQUIRED:
	default:
		return PAM_AUTH_ERR;
	}
}

static const char *item_str(pam_handle_t *pamh, int item)
{
	const void *v = NULL;

	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

/* Adds the PAM items that say who asks from where. */
static int add_caller(pam_handle_t *pamh, struct mailotp_msg *m, const char *user)
{
	int r;

	if ((r = mailotp_msg_add_str(m, MAILOTP_TAG_USER, user)) != 0 ||
	    (r = mailotp_msg_add_str(m, MAILOTP_TAG_SERVICE, item_str(pamh, PAM_SERVICE))) != 0 ||
	    (r = mailotp_msg_add_str(m, MAILOTP_TAG_RHOST, item_str(pamh, PAM_RHOST))) != 0 ||
	    (r = mailotp_msg_add_str(m, MAILOTP_TAG_RUSER, item_str(pamh, PAM_RUSER))) != 0 ||
	    (r = mailotp_msg_add_str(m, MAILOTP_TAG_TTY, item_str(pamh, PAM_TTY))) != 0)
		return r;
	return 0;
}

/* Shows the daemon's texts: info as PAM_TEXT_INFO, error as PAM_ERROR_MSG. */
static void show(pam_handle_t *pamh, int flags, const struct mailotp_reply *rep)
{
	if (flags & PAM_SILENT)
		return;
	if (rep->info != NULL && rep->info[0] != '\0')
		(void)pam_info(pamh, "%s", rep->info);
	if (rep->error != NULL && rep->error[0] != '\0')
		(void)pam_error(pamh, "%s", rep->error);
}

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/*
 * Asks for the code and relays answers until the daemon says anything but
 * RETRY. Returns the PAM code.
 */
static int code_loop(pam_handle_t *pamh, int flags, int fd, struct mailotp_reply *rep,
                     const struct args *a)
{
	for (;;) {
		struct mailotp_msg m = {0};
		char *answer = NULL;
		int r, pr;

		if (rep->prompt == NULL)
			return PAM_AUTH_ERR;
		pr = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s", rep->prompt);
		if (pr != PAM_SUCCESS) {
			wipe_free(answer);
			pam_syslog(pamh, LOG_NOTICE,
			           "conversation failed while asking for the code");
			return PAM_CONV_ERR;
		}
		if ((r = mailotp_msg_init(&m, MAILOTP_MSG_AUTH_CODE)) == 0)
			r = mailotp_msg_add_str(&m, MAILOTP_TAG_CODE,
			                        answer == NULL                     ? ""
			                        : strlen(answer) > MAX_CODE_ANSWER ? "-"
			                                                           : answer);
		wipe_free(answer);
		mailotp_reply_clear(rep);
		if (r == 0)
			r = mailotp_client_call(fd, &m, rep);
		mailotp_msg_clear(&m);
		if (r != 0) {
			pam_syslog(pamh, LOG_ERR, "mailotpd did not answer: %s",
			           mailotp_strerror(r));
			return PAM_AUTHINFO_UNAVAIL;
		}
		if (a->debug)
			pam_syslog(pamh, LOG_DEBUG, "code answer: status %u", rep->status);
		if (rep->status != MAILOTP_ST_RETRY) {
			show(pamh, flags, rep);
			return status_to_pam(rep->status);
		}
		if (!(flags & PAM_SILENT) && rep->error != NULL)
			(void)pam_error(pamh, "%s", rep->error);
	}
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mailotp_reply rep = {0};
	struct mailotp_msg m = {0};
	struct args a;
	const char *user = NULL, *password = NULL;
	int fd = -1, r, ret;

	if ((ret = parse_args(pamh, argc, argv, &a)) != PAM_SUCCESS)
		return ret;
	if ((ret = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS)
		return ret == PAM_CONV_AGAIN ? PAM_INCOMPLETE : ret;
	if (user == NULL || *user == '\0')
		return PAM_USER_UNKNOWN;
	if (!a.otp_only) {
		ret = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
		if (ret != PAM_SUCCESS)
			return ret == PAM_CONV_AGAIN ? PAM_INCOMPLETE : ret;
	}

	ret = PAM_AUTHINFO_UNAVAIL;
	if ((fd = mailotp_client_connect(a.socket)) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot reach mailotpd at %s: %s", a.socket,
		           strerror(errno));
		goto out;
	}
	/* combined: one request; its OK is the end of the login, as no code
	 * step follows (a daemon that does not know the request refuses it). */
	if ((r = mailotp_msg_init(&m, a.combined ? MAILOTP_MSG_AUTH_COMBINED
	                                         : MAILOTP_MSG_AUTH_BEGIN)) != 0 ||
	    (r = add_caller(pamh, &m, user)) != 0 ||
	    (!a.otp_only && (r = mailotp_msg_add_str(&m, MAILOTP_TAG_PASSWORD,
	                                             password != NULL ? password : "")) != 0) ||
	    (r = mailotp_msg_add_u32(&m, MAILOTP_TAG_FLAGS,
	                             (a.otp_only ? MAILOTP_FLAG_OTP_ONLY : 0) |
	                                 ((flags & PAM_SILENT) ? MAILOTP_FLAG_SILENT : 0))) != 0) {
		/* A name or password too long for a frame: a plain denial. */
		pam_syslog(pamh, LOG_NOTICE, "request not sent: %s", mailotp_strerror(r));
		ret = PAM_AUTH_ERR;
		goto out;
	}
	r = mailotp_client_call(fd, &m, &rep);
	mailotp_msg_clear(&m);
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "mailotpd did not answer: %s", mailotp_strerror(r));
		goto out;
	}
	if (a.debug)
		pam_syslog(pamh, LOG_DEBUG, "auth answer: status %u", rep.status);
	show(pamh, flags, &rep);
	if (a.combined) {
		ret = status_to_pam(rep.status);
		goto out;
	}
	if (rep.status != MAILOTP_ST_OK) {
		ret = status_to_pam(rep.status);
		/* Only the code step may end in success. */
		if (ret == PAM_SUCCESS)
			ret = PAM_AUTH_ERR;
		goto out;
	}
	ret = code_loop(pamh, flags, fd, &rep, &a);
out:
	mailotp_msg_clear(&m);
	mailotp_reply_clear(&rep);
	if (fd >= 0)
		close(fd);
	return ret;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	/* There are no credentials to establish beyond what auth checked. */
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* PAM messages should stay under PAM_MAX_MSG_SIZE (512): pieces of whole lines. */
#define TERMS_CHUNK 480

/*
 * Shows a long text as several PAM_TEXT_INFO messages, cut after a line
 * end where possible and never inside a UTF-8 character.
 */
static int show_long(pam_handle_t *pamh, const char *text)
{
	size_t len = strlen(text), pos = 0;

	while (pos < len) {
		size_t n = len - pos, cut;
		int r;

		if (n > TERMS_CHUNK) {
			cut = TERMS_CHUNK;
			for (size_t i = TERMS_CHUNK; i > TERMS_CHUNK / 2; i--)
				if (text[pos + i - 1] == '\n') {
					cut = i;
					break;
				}
			/* No line end near: back up to a character boundary. */
			while (cut > 0 && ((unsigned char)text[pos + cut] & 0xC0) == 0x80)
				cut--;
			n = cut;
		}
		if ((r = pam_info(pamh, "%.*s", (int)n, text + pos)) != PAM_SUCCESS)
			return r;
		pos += n;
	}
	return PAM_SUCCESS;
}

/*
 * The consent step: the terms, the question (echo on), the answer sent.
 * Anything but an answer the daemon accepts (including a conversation
 * that cannot ask: cron, a non-interactive service) is PAM_PERM_DENIED.
 */
static int consent(pam_handle_t *pamh, int flags, int fd, struct mailotp_reply *rep)
{
	struct mailotp_msg m = {0};
	char *answer = NULL;
	int r, ret;

	if (rep->info == NULL || rep->prompt == NULL)
		return PAM_PERM_DENIED;
	if (show_long(pamh, rep->info) != PAM_SUCCESS ||
	    pam_prompt(pamh, PAM_PROMPT_ECHO_ON, &answer, "%s", rep->prompt) != PAM_SUCCESS) {
		free(answer);
		pam_syslog(pamh, LOG_NOTICE, "consent could not be asked: denied");
		return PAM_PERM_DENIED;
	}
	if ((r = mailotp_msg_init(&m, MAILOTP_MSG_CONSENT)) == 0)
		r = mailotp_msg_add_str(&m, MAILOTP_TAG_ANSWER,
		                        answer == NULL || strlen(answer) > 64 ? "" : answer);
	free(answer);
	mailotp_reply_clear(rep);
	if (r == 0)
		r = mailotp_client_call(fd, &m, rep);
	mailotp_msg_clear(&m);
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "mailotpd did not answer: %s", mailotp_strerror(r));
		return PAM_AUTHINFO_UNAVAIL;
	}
	show(pamh, flags, rep);
	ret = status_to_pam(rep->status);
	return ret == PAM_AUTH_ERR ? PAM_PERM_DENIED : ret;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mailotp_reply rep = {0};
	struct mailotp_msg m = {0};
	struct args a;
	const char *user = NULL;
	int fd = -1, r, ret;

	if ((ret = parse_args(pamh, argc, argv, &a)) != PAM_SUCCESS)
		return ret;
	if ((ret = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS)
		return ret;
	if (user == NULL || *user == '\0')
		return PAM_USER_UNKNOWN;
	ret = PAM_AUTHINFO_UNAVAIL;
	if ((fd = mailotp_client_connect(a.socket)) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot reach mailotpd at %s: %s", a.socket,
		           strerror(errno));
		goto out;
	}
	if ((r = mailotp_msg_init(&m, MAILOTP_MSG_ACCT)) != 0 ||
	    (r = add_caller(pamh, &m, user)) != 0 ||
	    (r = mailotp_msg_add_u32(&m, MAILOTP_TAG_FLAGS, 0)) != 0) {
		ret = PAM_USER_UNKNOWN;
		goto out;
	}
	if ((r = mailotp_client_call(fd, &m, &rep)) != 0) {
		pam_syslog(pamh, LOG_ERR, "mailotpd did not answer: %s", mailotp_strerror(r));
		goto out;
	}
	if (rep.status == MAILOTP_ST_CONSENT_REQUIRED) {
		ret = consent(pamh, flags, fd, &rep);
		goto out;
	}
	show(pamh, flags, &rep);
	ret = status_to_pam(rep.status);
	if (ret == PAM_AUTH_ERR)
		ret = PAM_PERM_DENIED;
out:
	mailotp_msg_clear(&m);
	mailotp_reply_clear(&rep);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Sends one CHAUTHTOK request and maps the answer; shows the daemon's texts. */
static int change_call(pam_handle_t *pamh, int flags, const struct args *a, const char *user,
                       const char *old, const char *new, bool prelim)
{
	struct mailotp_reply rep = {0};
	struct mailotp_msg m = {0};
	int fd, r, ret = PAM_AUTHINFO_UNAVAIL;

	if ((fd = mailotp_client_connect(a->socket)) < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot reach mailotpd at %s: %s", a->socket,
		           strerror(errno));
		goto out;
	}
	if ((r = mailotp_msg_init(&m, MAILOTP_MSG_CHAUTHTOK)) != 0 ||
	    (r = add_caller(pamh, &m, user)) != 0 ||
	    (old != NULL && (r = mailotp_msg_add_str(&m, MAILOTP_TAG_OLD_PASSWORD, old)) != 0) ||
	    (!prelim && (r = mailotp_msg_add_str(&m, MAILOTP_TAG_NEW_PASSWORD, new)) != 0) ||
	    (r = mailotp_msg_add_u32(&m, MAILOTP_TAG_FLAGS, prelim ? MAILOTP_FLAG_PRELIM : 0)) !=
	        0) {
		ret = PAM_AUTHTOK_ERR;
		goto out;
	}
	r = mailotp_client_call(fd, &m, &rep);
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR, "mailotpd did not answer: %s", mailotp_strerror(r));
		goto out;
	}
	show(pamh, flags, &rep);
	ret = status_to_pam(rep.status);
out:
	mailotp_msg_clear(&m);
	mailotp_reply_clear(&rep);
	if (fd >= 0)
		close(fd);
	return ret;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	const char *user = NULL, *old = NULL, *new = NULL;
	int ret;

	if ((ret = parse_args(pamh, argc, argv, &a)) != PAM_SUCCESS)
		return ret;
	if ((ret = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS)
		return ret;
	if (user == NULL || *user == '\0')
		return PAM_USER_UNKNOWN;

	if (flags & PAM_PRELIM_CHECK) {
		/* The current password (for a forced change: the temporary one),
		 * checked now by the directory, so a wrong one is refused before
		 * the new one is asked.
		 * Only directory accounts: a local one is passed on (PAM_USER_UNKNOWN)
		 * before its current password is asked. */
		ret = change_call(pamh, flags, &a, user, NULL, NULL, true);
		if (ret != PAM_SUCCESS)
			return ret == PAM_AUTHINFO_UNAVAIL ? PAM_TRY_AGAIN : ret;
		ret = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &old, NULL);
		if (ret != PAM_SUCCESS)
			return ret;
		ret = change_call(pamh, flags, &a, user, old != NULL ? old : "", NULL, true);
		/* Linux-PAM: a service that cannot be reached in the preliminary
		 * check is PAM_TRY_AGAIN, so nothing is changed anywhere. */
		return ret == PAM_AUTHINFO_UNAVAIL ? PAM_TRY_AGAIN : ret;
	}
	if (!(flags & PAM_UPDATE_AUTHTOK))
		return PAM_SERVICE_ERR;
	ret = pam_get_item(pamh, PAM_OLDAUTHTOK, (const void **)&old);
	if (ret != PAM_SUCCESS || old == NULL)
		return PAM_AUTHTOK_RECOVERY_ERR;
	/* New password and its retype; pam_get_authtok compares them. */
	ret = pam_get_authtok(pamh, PAM_AUTHTOK, &new, NULL);
	if (ret != PAM_SUCCESS)
		return ret;
	ret = change_call(pamh, flags, &a, user, old, new, false);
	if (ret != PAM_SUCCESS)
		/* Ask again next time instead of reusing a refused password. */
		(void)pam_set_item(pamh, PAM_AUTHTOK, NULL);
	return ret;
}
