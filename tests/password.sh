#!/bin/bash
# The account stage and the password change through the real PAM stack:
# forced change (administrator or temporary password), expired temporary
# passwords, and `passwd` by a logged-in user (wrong current password,
# weak new one, mismatched retype, good one), with the argon2id hash
# written and the notice mailed (to the proxy too, never a secret).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
tb_write_config "$TB_DIR/mailotp.conf" ldap_notify_attr mailotpNotifyMail \
	password_hash_memlimit 8192 password_hash_opslimit 1
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
pam_service mailotp \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"account required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"password required $PAM_MODULE socket=$TB_PAM_SOCKET"
A=alice@example.org
binds() { LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn "$1")" -w "$2" >/dev/null 2>&1; }
set_attr() {
	tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn "$1")
changetype: modify
replace: $2
$2: $3
EOL
}

# --- an account that is not in the directory (a local one) is passed on
pam_run mailotp localonly chauthtok
is "$PAM_RESULT" PAM_USER_UNKNOWN "passwd for a non-directory account: PAM_USER_UNKNOWN"
unlike "$PAM_OUT" "PROMPT" "and no password is asked (the next module asks)"

# --- passwd by a logged-in user
pam_run mailotp alice chauthtok 'wrong-current'
is "$PAM_RESULT" PAM_AUTHTOK_RECOVERY_ERR "passwd: a wrong current password is refused before the new one is asked"
like "$PAM_OUT" "ERROR The current password is wrong." "and said so"
unlike "$PAM_OUT" "New password" "no new password was asked"

pam_run mailotp alice chauthtok 'Alice-Passw0rd!' 'abcdefghij' 'abcdefghij'
is "$PAM_RESULT" PAM_AUTHTOK_ERR "passwd: a weak new password is refused"
like "$PAM_OUT" "ERROR .*3" "with a message saying what is missing (classes)"
binds alice 'Alice-Passw0rd!'; ok $? "the old password still works after a refusal"

pam_run mailotp alice chauthtok 'Alice-Passw0rd!' 'Str0ng-Enough#1' 'Str0ng-Enough#2'
unlike "$PAM_RESULT" '^PAM_SUCCESS$' "passwd: a mismatched retype is refused ($PAM_RESULT)"

pam_run mailotp alice chauthtok 'Alice-Passw0rd!' 'Alice-Passw0rd!' 'Alice-Passw0rd!'
is "$PAM_RESULT" PAM_AUTHTOK_ERR "passwd: the same password again is refused"

pam_run mailotp alice chauthtok 'Alice-Passw0rd!' 'alice-Password-9' 'alice-Password-9'
is "$PAM_RESULT" PAM_AUTHTOK_ERR "passwd: a password containing the user name is refused"

before_proxy=$(tb_mail_count proxy-alice@example.org)
pam_run mailotp alice chauthtok 'Alice-Passw0rd!' 'Kiwi-Orbit-73' 'Kiwi-Orbit-73'
is "$PAM_RESULT" PAM_SUCCESS "passwd: a good new password is set"
binds alice 'Kiwi-Orbit-73'; ok $? "the new password binds"
binds alice 'Alice-Passw0rd!'; ok $(( ! $? )) "the old password does not"
like "$(tb_ldap_get "$(tb_user_dn alice)" userPassword)" '^\{ARGON2\}\$argon2id\$v=19\$m=8192,t=1,p=1\$' "userPassword is argon2id with the configured cost"
tb_mail_wait proxy-alice@example.org "$((before_proxy + 1))" >/dev/null 2>&1  # mailed from the queue
is "$(( $(tb_mail_count proxy-alice@example.org) - before_proxy ))" 1 "the proxy got the 'password changed' notice"
notice=$(tb_mail_last proxy-alice@example.org)
unlike "$notice" 'Kiwi-Orbit-73' "the notice carries no password"
pam_run mailotp alice auth 'Kiwi-Orbit-73' @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "alice logs in with the new password"

# --- forced change by an administrator (mailotpMustChange)
set_attr bob mailotpMustChange TRUE
pam_run mailotp bob auth,acct=PAM_NEW_AUTHTOK_REQD 'Bob-Passw0rd!' @CODE:bob@example.org
is "$PAM_RESULT" PAM_NEW_AUTHTOK_REQD "forced change: the account stage says PAM_NEW_AUTHTOK_REQD"
like "$PAM_OUT" "INFO You must set a new password now." "and tells the user"
pam_run mailotp bob chauthtok 'Bob-Passw0rd!' 'Lemon-Tree-4821' 'Lemon-Tree-4821'
is "$PAM_RESULT" PAM_SUCCESS "the change goes through"
is "$(tb_ldap_get "$(tb_user_dn bob)" mailotpMustChange)" "" "and the forced change is cleared"
pam_run mailotp bob acct
is "$PAM_RESULT" PAM_SUCCESS "the account stage passes afterwards"

# --- temporary password (as mailotpctl reissue / reset_mode temporary leave it)
future=$(date -u -d '+1 hour' +%Y%m%d%H%M%SZ)
past=$(date -u -d '-1 minute' +%Y%m%d%H%M%SZ)
set_attr carol mailotpTempPasswordExpiry "$future"
set_attr carol mailotpMustChange TRUE
pam_run mailotp carol auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok 'Carol-Passw0rd!' @CODE:carol@example.org 'Carol-Passw0rd!' 'Maple-Road-5150' 'Maple-Road-5150'
like "$PAM_OUT" "RESULT account PAM_NEW_AUTHTOK_REQD
RESULT chauthtok PAM_SUCCESS" "temporary password: login, forced change, new password set in one session"
is "$(tb_ldap_get "$(tb_user_dn carol)" mailotpTempPasswordExpiry)" "" "the temporary state is cleared"
binds carol 'Maple-Road-5150'; ok $? "the new password binds"

set_attr hanako mailotpTempPasswordExpiry "$past"
before=$(tb_mail_count hanako@example.org)
pam_run mailotp hanako auth 'Hanako-Passw0rd!' @CODE:hanako@example.org
is "$PAM_RESULT" PAM_AUTH_ERR "an expired temporary password does not log in"
like "$PAM_OUT" "ERROR 仮パスワードの有効期限が切れています" "hanako is told in Japanese that it expired"
is "$(tb_mail_count hanako@example.org)" "$before" "and no code is mailed"
pam_run mailotp hanako acct
is "$PAM_RESULT" PAM_ACCT_EXPIRED "an expired temporary password at the account stage (e.g. after an SSH key): PAM_ACCT_EXPIRED"
pam_run mailotp hanako chauthtok 'Hanako-Passw0rd!'
is "$PAM_RESULT" PAM_AUTHTOK_RECOVERY_ERR "it cannot be changed from either"

# --- faults
tb_stop_slapd
pam_run mailotp alice chauthtok 'Kiwi-Orbit-73'
is "$PAM_RESULT" PAM_TRY_AGAIN "directory down in the preliminary check: PAM_TRY_AGAIN"
tb_restart_slapd || bail_out "slapd did not restart"

leak=0
for pw in 'Kiwi-Orbit-73' 'Lemon-Tree-4821' 'Maple-Road-5150' 'abcdefghij'; do grep -qF "$pw" "$TB_DAEMON_LOG" && leak=1; done
is "$leak" 0 "no old or new password in the daemon log"

tap_done
