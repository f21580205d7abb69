#!/bin/bash
# Socket activation of mailotpd, driven by systemd's own activator
# (systemd-socket-activate: the LISTEN_FDS protocol of sd_listen_fds(3),
# the same one mailotpd.socket uses). The daemon starts on the first
# connection, takes the first passed socket as its PAM socket and the second
# as the reset web service's listener, and opens neither pam_socket nor
# reset_listen of its config; with only one socket the web service falls
# back to reset_listen; a TCP socket in first place is refused, and so is a
# malformed LISTEN_FDS.
#
# Without --accept the activator execs mailotpd in its own process on the
# first connection, so the pid stays the same and only its name changes.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
ACT=/usr/bin/systemd-socket-activate
[[ -x "$ACT" ]] || skip_all "$ACT is not installed (Debian package systemd)"
command -v curl >/dev/null || skip_all "curl is not installed"
D=${TB_MAILOTPD:-$top_builddir/resetd/mailotpd}
# A test run that is itself socket-activated must not hand its fds on.
unset LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
PW='Alice-Passw0rd!'
A=alice@example.org

# two free loopback ports that differ
two_ports() {
	P1=$(tb_free_port) || bail_out "no free port"
	P2=$P1
	while [[ "$P2" == "$P1" ]]; do
		P2=$(tb_free_port) || bail_out "no free port"
	done
}

# act_start LOG CONF ADDR...: systemd-socket-activate listening on each ADDR
# (in order: fd 3, 4, ...), running mailotpd -f -c CONF on the first
# connection; stdout and stderr to LOG; its pid in ACT_PID (and
# TB_DAEMON_PID, so tb_stop_daemon and the EXIT trap reap it). Returns once
# every socket listens.
act_start() {
	local log=$1 conf=$2 a _
	local -a l=()
	shift 2
	for a in "$@"; do l+=(-l "$a"); done
	: >>"$log"
	"$ACT" "${l[@]}" "$D" -f -c "$conf" </dev/null >>"$log" 2>&1 &
	ACT_PID=$!
	export TB_DAEMON_PID=$ACT_PID
	for _ in $(seq 250); do
		(($(grep -c '^Listening on ' "$log") >= $#)) && return 0
		_tb_alive "$ACT_PID" || return 1
		sleep 0.02
	done
	return 1
}

# the process name of PID ("systemd-socket-" before the exec)
comm_of() { cat "/proc/$1/comm" 2>/dev/null || echo gone; }
# ... and mailotpd's after it (the kernel keeps 15 bytes)
D_COMM=$(basename "$D" | cut -c1-15)

# http_code URL [BODY_FILE]: the status, 000 when nothing answers within 3 s
# (a passed socket that nobody accepts on takes the connection and stays
# silent)
http_code() {
	curl -s -m 3 -o "${2:-/dev/null}" -w '%{http_code}' "$1" 2>/dev/null || true
}

# wait_http URL: until something answers there (at most about 5 s)
wait_http() {
	local deadline
	_tb_now
	deadline=$((_TB_NOW + 5000000))
	while [[ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" == 000 ]]; do
		_tb_now
		((_TB_NOW < deadline)) || return 1
		sleep 0.05
	done
}

# wait_gone PID [S]: until PID has exited (at most S seconds, default 10)
wait_gone() {
	local _
	for _ in $(seq $((${2:-10} * 50))); do
		_tb_alive "$1" || return 0
		sleep 0.02
	done
	return 1
}

LOGS=()

# --- two sockets: PAM first, the web service second
two_ports
WEB=$P1 CONF_WEB=$P2
U="http://127.0.0.1:$WEB"
LOG="$TB_DIR/act.log"
LOGS+=("$LOG")
CONF="$TB_DIR/mailotp.conf"
tb_write_config "$CONF" pam_socket "$TB_DIR/conf-pam.sock" \
	reset_listen "127.0.0.1:$CONF_WEB" reset_public_url "$U"
act_start "$LOG" "$CONF" "$TB_DIR/act.sock" "127.0.0.1:$WEB" ||
	bail_out "systemd-socket-activate did not listen: $(cat "$LOG")"
sleep 0.3
is "$(comm_of "$ACT_PID")" systemd-socket- "no mailotpd before the first connection: only the activator runs"
unlike "$(cat "$LOG")" "mailotpd .* ready" "and the daemon has not logged a start"
export TB_PAM_SOCKET="$TB_DIR/act.sock"
pam_std_services
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "the first login (password and mailed code) goes through the passed socket"
is "$(comm_of "$ACT_PID")" "$D_COMM" "and that connection started mailotpd (exec'd by the activator)"
like "$(cat "$LOG")" "Communication attempt on fd 3" "woken by the PAM socket (fd 3)"
ok "$([[ ! -e "$TB_DIR/conf-pam.sock" ]]; echo $?)" "pam_socket of the config was never created"
is "$(http_code "http://127.0.0.1:$CONF_WEB/healthz")" 000 "nothing listens on reset_listen of the config"
wait_http "$U/healthz" || true
is "$(http_code "$U/healthz")" 200 "the web service answers on the passed TCP socket: GET /healthz 200"
CODE=$(http_code "$U/" "$TB_DIR/page")
is "$CODE" 200 "GET / 200 there"
like "$(cat "$LOG")" "ready: config .*, pam socket passed by systemd \(fd 3\)" "the ready line says the PAM socket was passed"
like "$(cat "$LOG")" "reset web service on the socket passed by systemd \(fd 4\)" "and the web line names the passed socket, not reset_listen"
like "$(cat "$TB_DIR/page" 2>/dev/null)" 'name="email_confirm"' "with the request form"
tb_mail_clear
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "a second login on the same daemon"
tb_stop_daemon
is "$TB_DAEMON_STATUS" 0 "SIGTERM: the socket-activated daemon exits 0"
like "$(tail -n 3 "$LOG")" "stopped" "and says it stopped"
ok "$([[ -S "$TB_DIR/act.sock" ]]; echo $?)" "the passed socket's file is left to its owner (not removed)"
ok "$([[ ! -e "$TB_DIR/conf-pam.sock" ]]; echo $?)" "and pam_socket of the config still does not exist"

# --- one socket (PAM only): the web service falls back to reset_listen
two_ports
U="http://127.0.0.1:$P1"
LOG="$TB_DIR/act1.log"
LOGS+=("$LOG")
CONF="$TB_DIR/one.conf"
tb_write_config "$CONF" pam_socket "$TB_DIR/conf-pam1.sock" \
	reset_listen "127.0.0.1:$P1" reset_public_url "$U"
act_start "$LOG" "$CONF" "$TB_DIR/act1.sock" ||
	bail_out "systemd-socket-activate did not listen: $(cat "$LOG")"
is "$(http_code "$U/healthz")" 000 "one socket passed: before the first login nothing serves reset_listen"
export TB_PAM_SOCKET="$TB_DIR/act1.sock"
pam_std_services
tb_mail_clear
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "one socket passed: logins go through it"
ok "$([[ ! -e "$TB_DIR/conf-pam1.sock" ]]; echo $?)" "and pam_socket of the config was not created"
wait_http "$U/healthz" || true
is "$(http_code "$U/healthz")" 200 "the web service opened reset_listen of the config itself"
tb_stop_daemon
is "$TB_DAEMON_STATUS" 0 "SIGTERM: exits 0"

# --- two sockets but reset_listen none: the web service stays off, said in the log
two_ports
LOG="$TB_DIR/act-none.log"
LOGS+=("$LOG")
CONF="$TB_DIR/none.conf"
tb_write_config "$CONF" pam_socket "$TB_DIR/conf-pam3.sock" reset_listen none
act_start "$LOG" "$CONF" "$TB_DIR/act3.sock" "127.0.0.1:$P1" ||
	bail_out "systemd-socket-activate did not listen: $(cat "$LOG")"
export TB_PAM_SOCKET="$TB_DIR/act3.sock"
pam_std_services
tb_mail_clear
pam_run mailotp alice auth "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "two sockets, reset_listen none: logins work"
like "$(cat "$LOG")" "systemd passed a second socket but reset_listen is none" "and the unused web socket is warned about"
tb_stop_daemon

# --- a TCP socket first: refused, nothing falls back to pam_socket
two_ports
LOG="$TB_DIR/act-bad.log"
LOGS+=("$LOG")
CONF="$TB_DIR/bad.conf"
tb_write_config "$CONF" pam_socket "$TB_DIR/conf-pam2.sock"
act_start "$LOG" "$CONF" "127.0.0.1:$P1" "$TB_DIR/act2.sock" ||
	bail_out "systemd-socket-activate did not listen: $(cat "$LOG")"
http_code "http://127.0.0.1:$P1/" >/dev/null
ok "$(wait_gone "$ACT_PID" 10; echo $?)" "a TCP socket passed first: mailotpd exits at once"
# reaps it (SIGTERM first if it is still running): its status in TB_DAEMON_STATUS
tb_stop_daemon
st=$TB_DAEMON_STATUS
is "$st" 1 "with status 1 (as for any start-up error)"
like "$(cat "$LOG")" "the socket from systemd is not a listening UNIX socket" "and logs why"
ok "$([[ ! -e "$TB_DIR/conf-pam2.sock" ]]; echo $?)" "without falling back to pam_socket of the config"

# --- a malformed LISTEN_FDS for this very process: refused, not taken as
# "nothing passed" (the activator never writes one; a shell does)
LOG="$TB_DIR/act-malformed.log"
LOGS+=("$LOG")
CONF="$TB_DIR/malformed.conf"
tb_write_config "$CONF" pam_socket "$TB_DIR/conf-pam4.sock"
st=0
LISTEN_FDS=2x timeout 10 bash -c 'export LISTEN_PID=$$; exec "$0" -f -c "$1"' "$D" "$CONF" \
	</dev/null >"$LOG" 2>&1 || st=$?
is "$st" 1 "LISTEN_FDS=2x with our LISTEN_PID: mailotpd exits 1"
like "$(cat "$LOG")" 'LISTEN_FDS="2x" from the service manager is malformed' "and logs why"
ok "$([[ ! -e "$TB_DIR/conf-pam4.sock" ]]; echo $?)" "without falling back to pam_socket of the config"

if ((TAP_FAILED > 0)); then
	for LOG in "${LOGS[@]}"; do _tb_dump_log "$LOG" 40; done
fi
tap_done
