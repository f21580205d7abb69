#!/bin/bash
# Faults, each caused for real: the directory hung (SIGSTOP), down and
# back, a dead first server (failover), the mail server refusing or
# silent, the daemon gone, a caller not in pam_allow. No error path may
# end in PAM_SUCCESS, and none may hang.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_start_stack ldap_timeout 2 smtp_timeout 2
pam_std_services
PW='Alice-Passw0rd!'
A=alice@example.org

pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "baseline: alice logs in"

# --- the directory hangs: no answer at all
tb_pause_slapd
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "slapd stopped with SIGSTOP: PAM_AUTHINFO_UNAVAIL"
ok "$(( PAM_MS < 10000 ? 0 : 1 ))" "and the answer came within the timeouts (ldap_timeout 2; took ${PAM_MS} ms)"
pam_run mailotp nosuchuser auth "$PW"
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "an unknown account is not a plain refusal while the directory hangs"
tb_resume_slapd
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "slapd resumed: logins work again, no daemon restart"

# --- the directory is down, then back
tb_stop_slapd
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "slapd down: PAM_AUTHINFO_UNAVAIL"
ok "$(( PAM_MS < 10000 ? 0 : 1 ))" "quickly (${PAM_MS} ms)"
pam_run mailotp alice acct
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "slapd down: the account stage is PAM_AUTHINFO_UNAVAIL too"
tb_restart_slapd || bail_out "slapd did not restart"
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "slapd back: logins work without restarting the daemon"

# --- directory goes down between the code being mailed and typed
cat >"$TB_DIR/stop_then_code.sh" <<EOS
#!/bin/bash
kill -STOP $TB_SLAPD_PID
exec $TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR "\$1"
EOS
chmod +x "$TB_DIR/stop_then_code.sh"
PAM_OUT=$(PAMDRV_CODE_CMD="$TB_DIR/stop_then_code.sh" pam_wrapped "$PAM_DRIVER" mailotp alice auth "$PW" @CODE:$A 2>/dev/null)
like "$PAM_OUT" "RESULT authenticate PAM_SUCCESS" "the right code still passes when the directory hangs after it was mailed (nothing left to check there)"
# slapd runs again for the next login's password and mail; its script
# stops it only once the code is mailed
tb_resume_slapd
PAM_OUT=$(PAMDRV_CODE_CMD="$TB_DIR/stop_then_code.sh" pam_wrapped "$PAM_DRIVER" mailotp alice auth "$PW" @WRONG:$A 2>/dev/null)
tb_resume_slapd
like "$PAM_OUT" "RESULT authenticate PAM_AUTHINFO_UNAVAIL" "a wrong code that cannot be counted in the directory fails the login (fail closed)"
like "$(cat "$TB_DAEMON_LOG")" "auth-code: user=\"alice\" .*result=unavailable: cannot count a wrong code" \
	"... after the code was mailed: it is the count that failed"

# --- failover: the first server is dead, the second is used
dead=$(tb_free_port)
tb_stop_daemon
tb_write_config "$TB_DIR/failover.conf" ldap_uri "ldap://127.0.0.1:$dead/ $TB_LDAP_URI" ldap_timeout 2
tb_start_daemon "$TB_DIR/failover.conf" || bail_out "mailotpd did not start"
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "first ldap_uri dead: the second one is used"
like "$(cat "$TB_DAEMON_LOG")" "ldap: ldap://127.0.0.1:$dead/: .*trying the next server" "the failover is logged"

# --- the mail server refuses or says nothing
tb_stop_daemon
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
for mode in refuse_rcpt refuse_data tempfail; do
	tb_smtp_mode "$mode"
	before=$(tb_mail_count)
	pam_run mailotp alice auth "$PW" @CODE:$A
	is "$PAM_RESULT" PAM_AUTH_ERR "SMTP $mode: the login fails"
	like "$PAM_OUT" "ERROR The one-time code could not be sent" "SMTP $mode: with a message"
done
tb_smtp_mode tarpit
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTH_ERR "SMTP silent (tarpit): the login fails"
ok "$(( PAM_MS < 15000 ? 0 : 1 ))" "within smtp_timeout (2 s; took ${PAM_MS} ms)"
like "$(cat "$TB_DAEMON_LOG")" 'result=mail-failed: code not mailed' "the log says the code was not mailed"
tb_smtp_mode accept
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "SMTP accepting again: logins work"

# --- the directory will not record when the code was sent
#     (mailotpOtpSentTime, the claim behind otp_resend_interval): no code
#     may leave. The time is written while the mail server takes the
#     envelope, and the message waits for the directory's answer: the
#     sink sees the envelope, then the connection dropped inside DATA.
tb_ldap_config_modify >/dev/null <<EOF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to dn.subtree="$TB_PEOPLE_BASE" attrs=mailotpOtpSentTime by dn.exact="$TB_SVC_DN" read by * none
EOF
ok $? "an ACL lets the service account read mailotpOtpSentTime and not write it"
before=$(tb_mail_count $A)
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "the send time cannot be written: PAM_AUTHINFO_UNAVAIL"
tb_mail_settle
is "$(tb_mail_count $A)" "$before" "and no code was delivered"
like "$(cat "$TB_DIR/smtp.log")" "connection lost before the message was complete .*rcpt=$A: nothing stored" \
	"the mail server had the envelope; the message was withheld inside DATA"
like "$(cat "$TB_DAEMON_LOG")" "cannot write mailotpOtpSentTime of .*Insufficient access" \
	"the directory's refusal is logged"
like "$(cat "$TB_DAEMON_LOG")" "result=unavailable: cannot record the code" "and the login's end says why"
tb_ldap_config_modify >/dev/null <<EOF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
delete: olcAccess
olcAccess: {0}
EOF
ok $? "the ACL is removed again"
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "the next login mails its code (on a new SMTP connection)"

# --- a caller not in pam_allow
tb_stop_daemon
tb_write_config "$TB_DIR/allow.conf" pam_allow nobody
tb_start_daemon "$TB_DIR/allow.conf" || bail_out "mailotpd did not start"
before=$(tb_mail_count)
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "a caller (uid $(id -u)) not in pam_allow is refused by the daemon"
is "$(tb_mail_count)" "$before" "and nothing was mailed"
like "$(cat "$TB_DAEMON_LOG")" "refused peer uid:$(id -u) .*not in pam_allow" "the refusal is logged"

# --- the daemon is gone
tb_stop_daemon
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "daemon gone: PAM_AUTHINFO_UNAVAIL"
pam_run mailotp alice acct
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "daemon gone: the account stage too"

tap_done
