#!/bin/bash
# Secret hygiene over one representative session on one test-bed: logins
# (right and wrong codes, a wrong password), a reset through the web pages,
# a password change through PAM, mailotpctl reissue and the forced change
# after it.  Every password, code, token and temporary password typed,
# chosen or mailed is then looked for in every log (mailotpd, slapd at
# "stats", the SMTP sink, pam_driver's stderr, mailotpctl's output) and in
# every mail that was not meant to carry it (a code mail carries its own
# code only, notices carry nothing): none may be found
# (tests/hostile/secretscan.py).  Also pinned: the daemon's core limit is 0
# and it is not dumpable (its /proc files belong to root).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
CTL="$top_builddir/resetd/mailotpctl"
SCAN="$top_srcdir/tests/hostile/secretscan.py"

tap_plan 17
tb_start_web_stack reset_trusted_proxies 127.0.0.1 ldap_notify_attr mailotpNotifyMail \
	password_hash_memlimit 8192 password_hash_opslimit 1
pam_service mailotp \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"account required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"password required $PAM_MODULE socket=$TB_PAM_SOCKET"
SECRETS="$TB_DIR/secrets.tsv"
: >"$SECRETS"
secret() { printf '%s\t%s\n' "$1" "$2" >>"$SECRETS"; }
for u in alice bob carol hanako; do secret "password of $u" "$(tb_user_pw "$u")"; done
secret "service account password" "$(cat "$TB_SVC_PW_FILE")"
secret "admin password" "$TB_ADMIN_PW"

# --- logins
pam_run mailotp alice auth 'Alice-Passw0rd!' @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "alice logs in with the mailed code"
secret "wrong code typed" 731594
secret "wrong code typed" 40817263
pam_run mailotp bob auth 'Bob-Passw0rd!' 731594 40817263 @CODE:bob@example.org
is "$PAM_RESULT" PAM_SUCCESS "bob types two wrong codes, then the right one"
secret "wrong password typed" 'Carol-Wr0ng-Guess!'
pam_run mailotp carol auth 'Carol-Wr0ng-Guess!'
is "$PAM_RESULT" PAM_AUTH_ERR "carol's wrong password is refused"

# --- a reset through the web pages (hanako)
link=$(tb_web_reset_link "$U" hanako@example.org)
like "$link" "^$U/reset\\?token=" "hanako gets a reset link by mail"
NEWPW_H='Maple-Harbor-4412'
secret "new password (reset page)" "$NEWPW_H"
tb_web_page "$link" >/dev/null
code=$(tb_web_page --data-urlencode "csrf=$(tb_web_csrf)" --data-urlencode "token=${link#*token=}" \
	--data-urlencode "password=$NEWPW_H" --data-urlencode "password_confirm=$NEWPW_H" "$U/reset")
is "$code" 200 "hanako sets a new password through the reset page"
pam_run mailotp hanako auth "$NEWPW_H" @CODE:hanako@example.org
is "$PAM_RESULT" PAM_SUCCESS "and logs in with it"

# --- a password change through PAM (alice)
NEWPW_A='Kiwi-Orbit-7350'
secret "new password (passwd)" "$NEWPW_A"
pam_run mailotp alice chauthtok 'Alice-Passw0rd!' "$NEWPW_A" "$NEWPW_A"
is "$PAM_RESULT" PAM_SUCCESS "alice changes her password through PAM"

# --- mailotpctl reissue (bob), then the forced change
"$CTL" -c "$CONF" reissue bob >"$TB_DIR/ctl.out" 2>&1
ok $? "mailotpctl reissue bob"
temp=$(tb_mail_last bob@example.org | grep -E '^[A-Za-z0-9#%+=?@-]{16}$' | head -n 1 | tr -d '\r')
like "$temp" '^.{16}$' "bob gets a temporary password by mail"
NEWPW_B='Cedar-Lantern-9021'
secret "new password (forced change)" "$NEWPW_B"
pam_run mailotp bob auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok "$temp" @CODE:bob@example.org "$temp" "$NEWPW_B" "$NEWPW_B"
is "$PAM_RESULT" PAM_SUCCESS "bob logs in with it and must set a new password"
"$CTL" -c "$CONF" show bob >>"$TB_DIR/ctl.out" 2>&1

# --- the scan
sleep 0.3 # the last notices
scan=$("$TB_PYTHON" "$SCAN" "$TB_MAILDIR" "$SECRETS" "$TB_DAEMON_LOG" \
	"$TB_DIR/slapd/slapd.log" "$TB_DIR/smtp.log" "$TB_DIR/pam_driver.err" "$TB_DIR/ctl.out")
summary=$(printf '%s\n' "$scan" | tail -n 1)
diag "$summary"
like "$summary" 'codes=4 ' "the scan saw every code mailed (alice, bob, hanako, bob after the reissue)"
like "$summary" 'tokens=1 temps=1 ' "... the reset token and the temporary password"
like "$summary" ' given=1[0-9] ' "... and the passwords and wrong codes typed"
leaks=$(printf '%s\n' "$scan" | grep '^LEAK' || true)
is "$leaks" "" "no secret in any log, none in a mail not meant to carry it"
like "$(cat "$TB_DIR/slapd/slapd.log")" 'mailotpTokenHash=[0-9a-f]{64}' "the directory is asked for the token's hash, never the token"

# --- the process: no core file, not dumpable
pid=$TB_DAEMON_PID
like "$(grep '^Max core file size' "/proc/$pid/limits")" 'Max core file size +0 +0 ' "mailotpd: core file size limit 0 (soft and hard)"
if (($(id -u) != 0)); then
	# dumpable processes' /proc files belong to their user; not dumpable: root
	is "$(stat -c %u "/proc/$pid/status")" 0 "mailotpd (running as uid $(id -u)) is not dumpable: /proc/PID/status belongs to root"
elif id nobody >/dev/null 2>&1; then
	# as root the daemon drops to "user": start a second one as nobody
	tb_stop_daemon
	tb_write_config "$TB_DIR/nobody.conf" user nobody pam_socket "$TB_DIR/nobody.sock" pam_allow root
	tb_start_daemon "$TB_DIR/nobody.conf" || bail_out "mailotpd (user nobody) did not start"
	st="uid $(awk '/^Uid:/ { print $2 }' "/proc/$TB_DAEMON_PID/status"), /proc owner $(stat -c %u "/proc/$TB_DAEMON_PID/status")"
	is "$st" "uid $(id -u nobody), /proc owner 0" "mailotpd after dropping to nobody is not dumpable (/proc/PID/status belongs to root)"
else
	skip "root without a 'nobody' account: dumpability is not observable"
fi
tap_done
