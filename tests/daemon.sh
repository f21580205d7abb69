#!/bin/bash
# mailotpd itself: -t, options, SIGHUP reload (also in the middle of a
# login), SIGTERM, the Type=notify states, privilege drop and core dumps
# off.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
D="$top_builddir/resetd/mailotpd"

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
tb_write_config "$TB_DIR/mailotp.conf"
PW='Alice-Passw0rd!'
A=alice@example.org

# --- -t and options
run_ok "mailotpd -t accepts the test-bed config" "$D" -t -c "$TB_DIR/mailotp.conf"
like "$TAP_OUT" "valid" "and says so"
cp "$TB_DIR/mailotp.conf" "$TB_DIR/bad.conf"
printf 'otp_digitz 7\n' >>"$TB_DIR/bad.conf"
run_fails "mailotpd -t refuses an unknown key" "$D" -t -c "$TB_DIR/bad.conf"
like "$TAP_OUT" "$TB_DIR/bad.conf:[0-9]+: otp_digitz: " "naming file, line and key"
cp "$TB_SVC_PW_FILE" "$TB_DIR/open.pw"
chmod 0644 "$TB_DIR/open.pw"
tb_write_config "$TB_DIR/open.conf" ldap_bind_pw_file "$TB_DIR/open.pw"
run_fails "mailotpd -t refuses a world-readable secret file" "$D" -t -c "$TB_DIR/open.conf"
like "$TAP_OUT" "open.pw" "naming the file"
tb_write_config "$TB_DIR/notmpl.conf" template_dir "$TB_DIR/no-such-dir"
run_fails "mailotpd -t refuses a missing template directory" "$D" -t -c "$TB_DIR/notmpl.conf"
run_fails "mailotpd -t refuses a missing config file" "$D" -t -c "$TB_DIR/nope.conf"
st=0; "$D" -x >/dev/null 2>&1 || st=$?
is "$st" 2 "an unknown option is a usage error (exit 2)"
run_ok "mailotpd -h prints help" "$D" -h
like "$TAP_OUT" "usage: mailotpd" "the help says how to call it"

# --- start, socket
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
pam_std_services
is "$(stat -c %a "$TB_PAM_SOCKET")" 666 "the socket is mode 0666 (SO_PEERCRED decides who may talk)"
like "$(cat "/proc/$TB_DAEMON_PID/limits")" "Max core file size +0 +0" "core dumps are off"

# --- SIGHUP: new config is used; a broken one is refused and the old kept
tb_write_config "$TB_DIR/mailotp.conf" otp_digits 8
tb_reload_daemon
sleep 0.5
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "after SIGHUP, logins work"
is "$(tb_mail_code $A | tr -d '\n' | wc -c)" 8 "and the new otp_digits (8) is used"
printf 'bogus line\n' >>"$TB_DIR/mailotp.conf"
tb_reload_daemon
sleep 0.5
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "a broken config on SIGHUP: the daemon keeps running on the old one"
like "$(cat "$TB_DAEMON_LOG")" "reload failed, keeping the running configuration: .*mailotp.conf:[0-9]+: " "and logs why"
tb_write_config "$TB_DIR/mailotp.conf"

# A reload in the middle of a login does not drop it: the code command
# sends SIGHUP before reading the code.
cat >"$TB_DIR/hup_then_code.sh" <<EOS
#!/bin/bash
kill -HUP $TB_DAEMON_PID
sleep 0.5
exec $TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR "\$1"
EOS
chmod +x "$TB_DIR/hup_then_code.sh"
out=$(PAMDRV_CODE_CMD="$TB_DIR/hup_then_code.sh" pam_wrapped "$PAM_DRIVER" mailotp alice auth "$PW" @CODE:$A 2>/dev/null)
like "$out" "RESULT authenticate PAM_SUCCESS" "SIGHUP while a code is being typed: the login goes through"

# --- SIGTERM: a waiting login is ended (never passed), the daemon exits 0
cat >"$TB_DIR/term_then_code.sh" <<EOS
#!/bin/bash
kill -TERM $TB_DAEMON_PID
sleep 1.5
exec $TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR "\$1"
EOS
chmod +x "$TB_DIR/term_then_code.sh"
out=$(PAMDRV_CODE_CMD="$TB_DIR/term_then_code.sh" pam_wrapped "$PAM_DRIVER" mailotp alice auth "$PW" @CODE:$A 2>/dev/null)
like "$out" "RESULT authenticate PAM_AUTHINFO_UNAVAIL" "SIGTERM while a code is being typed: that login is not passed"
tb_stop_daemon
is "$TB_DAEMON_STATUS" 0 "SIGTERM: the daemon exits 0"
like "$(tail -n 3 "$TB_DAEMON_LOG")" "stopped" "and says it stopped"

# --- a restart replaces the stale socket file
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not restart over its old socket"
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "restarted over the stale socket file: logins work"
tb_stop_daemon

# --- Type=notify: the states reach $NOTIFY_SOCKET (sd_notify(3)), as systemd's
# notify socket would receive them. The receiver writes one line per
# datagram and ends by itself after STOPPING=1 or 20 s of silence.
NOTIFY_LOG="$TB_DIR/notify.log"
"$TB_PYTHON" - "$TB_DIR/notify.sock" "$NOTIFY_LOG" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        try:
            m = s.recv(4096)
        except socket.timeout:
            break
        f.write(repr(m.decode("utf-8", "backslashreplace")) + "\n")
        if m == b"STOPPING=1":
            break
EOF
NOTIFY_PID=$!
# notify_wait N: until the receiver has N lines (at most about 5 s)
notify_wait() {
	local _ n
	for _ in $(seq 250); do
		n=$(wc -l <"$NOTIFY_LOG" 2>/dev/null) || n=0
		((n >= $1)) && return 0
		sleep 0.02
	done
	return 1
}
for _ in $(seq 250); do [[ -S "$TB_DIR/notify.sock" ]] && break; sleep 0.02; done
export NOTIFY_SOCKET="$TB_DIR/notify.sock"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start with NOTIFY_SOCKET"
unset NOTIFY_SOCKET
notify_wait 1
is "$(cat "$NOTIFY_LOG")" "'READY=1'" "NOTIFY_SOCKET: READY=1, exactly, once the daemon serves"
tb_reload_daemon
notify_wait 3
tb_stop_daemon
wait "$NOTIFY_PID"
is "$(tr '\n' ' ' <"$NOTIFY_LOG")" "'READY=1' 'RELOADING=1' 'READY=1' 'STOPPING=1' " \
	"SIGHUP: RELOADING=1 then READY=1; SIGTERM: STOPPING=1"

# --- the reset web service on a unix: socket (behind a local proxy)
if command -v curl >/dev/null; then
	tb_write_config "$TB_DIR/unix.conf" reset_listen "unix:$TB_DIR/web.sock" \
		reset_public_url https://reset.example.org
	tb_start_daemon "$TB_DIR/unix.conf" || bail_out "mailotpd did not start with a unix: listener"
	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$TB_DIR/web.sock" http://x/healthz)
	is "$code" 200 "reset_listen unix:PATH: /healthz answers on the socket"
	like "$(curl -s --unix-socket "$TB_DIR/web.sock" -H 'Host: evil.example' http://x/)" 'name="email_confirm"' "and serves the request form there"
	tb_stop_daemon
else
	skip "curl is not installed" 2
fi

# --- started as root with `user`, it drops privileges after opening the socket
if [[ $(id -u) == 0 ]] && getent passwd nobody >/dev/null; then
	tb_write_config "$TB_DIR/drop.conf" user nobody
	tb_start_daemon "$TB_DIR/drop.conf" || bail_out "mailotpd did not start with user nobody"
	uid=$(awk '/^Uid:/ { print $2 "," $3 "," $4 "," $5 }' "/proc/$TB_DAEMON_PID/status")
	nobody=$(id -u nobody)
	is "$uid" "$nobody,$nobody,$nobody,$nobody" "started as root with user nobody: real, effective, saved and fs uid are nobody's"
	pam_run mailotp alice auth "$PW" @CODE:$A
	is "$PAM_RESULT" PAM_SUCCESS "and logins work (secrets were read before the drop)"
	tb_stop_daemon
else
	skip "not root: the privilege drop needs root" 2
fi

tap_done
