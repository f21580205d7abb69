#!/bin/bash
# Faults and abuse the other tests do not cover (see tests/hostile/README.md):
#  - clock steps during a code's lifetime (mailotpd under libfaketime with a
#    timestamp file it re-reads; CLOCK_MONOTONIC left alone): a code
#    expires on the boot-time clock, so neither a forward step past
#    otp_ttl nor a backward step changes its life (tests/login_codes.sh
#    checks that it dies after otp_ttl of elapsed time);
#  - mail bombing: 100 reset requests for one account from 100 client
#    addresses (X-Forwarded-For from a trusted proxy) mail at most 2;
#  - the daemon killed (SIGKILL) between the password and the code: the
#    login fails closed, a restarted daemon serves the next one at once.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

tap_plan 11
tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
TB_PAM_SOCKET="$TB_DIR/pam.sock" # every config here keeps the default of tb_write_config
pam_std_services
A=alice@example.org PW='Alice-Passw0rd!'

# pam_with_cmd CMD USER ANSWERS...: pam_run, with CMD fetching the code
pam_with_cmd() {
	local cmd=$1
	shift
	PAM_OUT=$(PAMDRV_CODE_CMD="$cmd" pam_wrapped "$PAM_DRIVER" mailotp "$@" \
		2>>"$TB_DIR/pam_driver.err") || true
	PAM_RESULT=$(printf '%s\n' "$PAM_OUT" | awk '/^RESULT / { r = $3 } END { print r }')
}

# --- clock steps
FT_LIB=$(ls /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
if [[ -n "$FT_LIB" ]] && ! nm -D "$PAM_MODULE" 2>/dev/null | grep -q __asan_init; then
	FT="$TB_DIR/faketime.rc"
	echo '+0' >"$FT"
	cat >"$TB_DIR/ft-mailotpd" <<EOS
#!/bin/sh
LD_PRELOAD="$FT_LIB" FAKETIME_TIMESTAMP_FILE="$FT" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
	exec "${TB_MAILOTPD:-$top_builddir/resetd/mailotpd}" "\$@"
EOS
	chmod +x "$TB_DIR/ft-mailotpd"
	tb_write_config "$TB_DIR/ft.conf" otp_ttl 300
	TB_MAILOTPD="$TB_DIR/ft-mailotpd" tb_start_daemon "$TB_DIR/ft.conf" || bail_out "mailotpd did not start under faketime"
	step_then_code() { # OFFSET: a code command that steps the daemon's clock first
		printf '#!/bin/sh\necho %s >%s\nexec %s %s code %s "$1" --wait 20\n' \
			"$1" "$FT" "$TB_PYTHON" "$TB_SRCDIR/mailtool.py" "$TB_MAILDIR" >"$TB_DIR/step.sh"
		chmod +x "$TB_DIR/step.sh"
		echo "$TB_DIR/step.sh"
	}
	pam_with_cmd "$(step_then_code +0)" alice auth "$PW" @CODE:$A
	is "$PAM_RESULT" PAM_SUCCESS "under faketime, no step: the code passes"
	echo '+0' >"$FT"
	pam_with_cmd "$(step_then_code +400)" alice auth "$PW" @CODE:$A @CODE:$A @CODE:$A
	is "$PAM_RESULT" PAM_SUCCESS "wall clock stepped 400 s forward (otp_ttl 300) while the code is live: it still passes (a code lives otp_ttl of elapsed time)"
	echo '+0' >"$FT"
	pam_with_cmd "$(step_then_code -3600)" alice auth "$PW" @CODE:$A
	is "$PAM_RESULT" PAM_SUCCESS "wall clock stepped an hour back while the code is live: it still passes"
	echo '+0' >"$FT"
	pam_run mailotp alice auth "$PW" @CODE:$A
	is "$PAM_RESULT" PAM_SUCCESS "clock back to normal: logins work"
	tb_stop_daemon
else
	skip "libfaketime not installed (apt-get install faketime) or sanitizer build" 4
fi

# --- mail bombing from rotating client addresses
PORT=$(tb_free_port)
U="http://127.0.0.1:$PORT"
tb_write_config "$TB_DIR/mailotp.conf" reset_listen "127.0.0.1:$PORT" reset_public_url "$U" \
	reset_trusted_proxies 127.0.0.1
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
for _ in $(seq 100); do curl -s -o /dev/null "$U/healthz" && break; sleep 0.05; done
curl -s -o /dev/null "$U/healthz" || bail_out "the reset web service does not answer on $U"
J="$TB_DIR/jar" B="$TB_DIR/b"
before=$(tb_mail_count $A)
codes=''
for i in $(seq 1 100); do
	xff="203.0.$((i / 250)).$((i % 250 + 1))"
	rm -f "$J"
	curl -sS -c "$J" -o "$B" -H "X-Forwarded-For: $xff" "$U/" 2>/dev/null
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
	codes+=" $(curl -sS -b "$J" -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $xff" \
		--data-urlencode "csrf=$csrf" --data-urlencode "email=$A" --data-urlencode "email_confirm=$A" \
		"$U/request" 2>/dev/null)"
done
is "$(printf '%s\n' $codes | sort -u | tr '\n' ' ')" "200 " "100 requests from 100 addresses: each answered 200 (no per-address throttle hit)"
sleep 2
sent=$(($(tb_mail_count $A) - before))
ok "$((sent >= 1 && sent <= 2 ? 0 : 1))" "... but at most 2 mails went to the account ($sent): the per-account guard"
like "$(grep -c 'mail bombing guard' "$TB_DAEMON_LOG")" '^(9[89]|99)$' "... and the rest were logged as held back by the guard"

# --- the daemon killed mid-login
cat >"$TB_DIR/kill_then_code.sh" <<EOS
#!/bin/sh
kill -KILL \$(cat "$TB_DIR/daemon.pid")
exec $TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR "\$1" --wait 20
EOS
chmod +x "$TB_DIR/kill_then_code.sh"
echo "$TB_DAEMON_PID" >"$TB_DIR/daemon.pid"
pam_with_cmd "$TB_DIR/kill_then_code.sh" alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "daemon SIGKILLed between password and code: the right code does not pass (fails closed)"
tb_stop_daemon
is "${TB_DAEMON_STATUS:-}" 137 "the daemon died of SIGKILL"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not restart after SIGKILL"
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "restarted over its stale socket file: the next login works at once"
pam_run mailotp bob auth 'Bob-Passw0rd!' @CODE:bob@example.org
is "$PAM_RESULT" PAM_SUCCESS "and another account too"
tap_done
