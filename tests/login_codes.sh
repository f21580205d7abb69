#!/bin/bash
# One-time codes: tries, expiry, binding to one transaction, and the
# per-account limits kept in the directory, which hold across daemon
# restarts (and so across hosts, which share the directory).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
tb_write_config "$TB_DIR/mailotp.conf" otp_lockout_failures 5 otp_lockout_time 600
tb_write_config "$TB_DIR/short.conf" otp_ttl 2 otp_lockout_failures 5 otp_lockout_time 600
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
pam_std_services
PW='Alice-Passw0rd!'
A=alice@example.org

# Three wrong codes end the login.
pam_run mailotp alice auth "$PW" @WRONG:$A @WRONG:$A @WRONG:$A @CODE:$A
is "$PAM_RESULT" PAM_MAXTRIES "three wrong codes: PAM_MAXTRIES"
like "$PAM_OUT" "ERROR Wrong code. Tries left: 2.*ERROR Wrong code. Tries left: 1.*ERROR Too many wrong codes" "each wrong code is reported, then the end"
is "$(printf '%s\n' "$PAM_OUT" | grep -c '^PROMPT_ECHO_OFF One-time code')" 3 "the code is asked three times, not a fourth"
failures=$(tb_ldap_get "$(tb_user_dn alice)" mailotpOtpFailures)
is "$failures" 3 "the wrong codes are counted on the entry (mailotpOtpFailures)"

# A right code clears the count.
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "a right code passes"
is "$(tb_ldap_get "$(tb_user_dn alice)" mailotpOtpFailures)" "" "and clears the count"

# An expired code is refused (a daemon with otp_ttl 2; only here, so that a
# loaded machine cannot make the other codes expire).
tb_stop_daemon
tb_start_daemon "$TB_DIR/short.conf" || bail_out "mailotpd did not restart"
# The code command waits 3 s before reading the mail: the user was slow.
cat >"$TB_DIR/slow_code.sh" <<EOS
#!/bin/bash
sleep 3
exec $TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR "\$1"
EOS
chmod +x "$TB_DIR/slow_code.sh"
PAM_OUT=$(PAMDRV_CODE_CMD="$TB_DIR/slow_code.sh" pam_wrapped "$PAM_DRIVER" mailotp alice auth "$PW" @CODE:$A 2>/dev/null)
like "$PAM_OUT" "ERROR The one-time code has expired.*RESULT authenticate PAM_AUTH_ERR" "a code typed after otp_ttl is refused as expired"
tb_stop_daemon
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not restart"

# A code belongs to its transaction: the code mailed in one login is
# refused in the next one (which mailed its own).
pam_run mailotp alice auth "$PW" @CONVERR
tb_mail_code $A >"$TB_DIR/old_code"
pam_run mailotp alice auth "$PW" @FILE:"$TB_DIR/old_code" @CODE:$A
like "$PAM_OUT" "ERROR Wrong code. Tries left: 2.*RESULT authenticate PAM_SUCCESS" "the previous login's code is a wrong code here; the new one passes"

# Limits across restarts: wrong codes in a row add up across logins and
# daemon restarts, until the account is locked for otp_lockout_time.
pam_run mailotp bob auth 'Bob-Passw0rd!' @WRONG:bob@example.org @WRONG:bob@example.org @WRONG:bob@example.org
is "$PAM_RESULT" PAM_MAXTRIES "bob: three wrong codes"
tb_stop_daemon
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not restart"
pam_run mailotp bob auth 'Bob-Passw0rd!' @WRONG:bob@example.org @WRONG:bob@example.org @CODE:bob@example.org
is "$PAM_RESULT" PAM_MAXTRIES "after a restart the count goes on: the fifth wrong code locks"
like "$PAM_OUT" "ERROR Too many wrong codes have been entered for this account" "bob is told the account is locked"
before=$(tb_mail_count bob@example.org)
pam_run mailotp bob auth 'Bob-Passw0rd!' @CODE:bob@example.org
is "$PAM_RESULT" PAM_MAXTRIES "while locked, even the right password gets no code"
is "$(tb_mail_count bob@example.org)" "$before" "and no mail is sent"
like "$(cat "$TB_DAEMON_LOG")" 'user="bob".*result=maxtries: too many wrong codes in a row \(5\)' "the log says why"
# An administrator clears it (mailotpctl unlock will do this; here by hand).
tb_ldap_modify <<EOL >/dev/null
dn: $(tb_user_dn bob)
changetype: modify
delete: mailotpOtpFailures
EOL
pam_run mailotp bob auth 'Bob-Passw0rd!' @CODE:bob@example.org
is "$PAM_RESULT" PAM_SUCCESS "after the count is cleared bob logs in"

# The resend interval holds across restarts too.
tb_stop_daemon
tb_write_config "$TB_DIR/mailotp2.conf" otp_resend_interval 60
tb_start_daemon "$TB_DIR/mailotp2.conf" || bail_out "mailotpd did not restart"
pam_run mailotp carol auth 'Carol-Passw0rd!' @CODE:carol@example.org
is "$PAM_RESULT" PAM_SUCCESS "carol logs in"
tb_stop_daemon
tb_start_daemon "$TB_DIR/mailotp2.conf" || bail_out "mailotpd did not restart"
before=$(tb_mail_count carol@example.org)
pam_run mailotp carol auth 'Carol-Passw0rd!' @CODE:carol@example.org
is "$PAM_RESULT" PAM_AUTH_ERR "a second code within otp_resend_interval is refused, even after a restart"
like "$PAM_OUT" "ERROR A one-time code was sent a moment ago. Please wait [0-9]+ seconds" "with a message saying how long to wait"
is "$(tb_mail_count carol@example.org)" "$before" "and no second mail"

# Concurrent logins of one account within the interval: exactly one mail.
tb_ldap_modify <<EOL >/dev/null
dn: $(tb_user_dn hanako)
changetype: modify
delete: mailotpOtpSentTime
EOL
before=$(tb_mail_count hanako@example.org)
pids=()
for i in 1 2 3 4 5 6; do
	(pam_run mailotp hanako auth 'Hanako-Passw0rd!' @CONVERR; printf '%s\n' "$PAM_OUT" >"$TB_DIR/par.$i") &
	pids+=($!)
done
wait "${pids[@]}"   # not a bare wait: the daemon and the sink are background jobs too
is "$(( $(tb_mail_count hanako@example.org) - before ))" 1 "six logins at once within the interval: one code mailed"

tap_done
