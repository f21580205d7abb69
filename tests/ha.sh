#!/bin/bash
# Two directory servers in multi-provider replication (tb_start_slapd_pair)
# and several mailotpd against them: nothing but the directory is shared.
#   daemon A: ldap_uri URI1, its own pam_socket and reset_listen
#   daemon B: ldap_uri URI2, its own pam_socket and reset_listen
#   daemon C: ldap_uri "URI1 URI2" (failover), PAM only
# A reset finished on A is usable at login on B; per-account limits hold
# across A and B; LDAP 1 killed during a series of logins on C: C fails
# over, no login gets the wrong answer; LDAP 1 back: new connections use it
# again; replication lag: a token not yet replicated is a bad token on B,
# and once replicated it works exactly once across both.
# Timings are printed as TAP comments (docs/ha.md quotes them).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
tb_have_syncprov || skip_all "slapd's syncprov module is not installed ($TB_MODULE_DIR/syncprov.la)"
command -v curl >/dev/null || skip_all "curl is not installed"

T0=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
section() { diag "--- $* (at $(ms_since "$T0") ms)"; }

tb_init
declare -A XPID=() XLOG=()
# the EXIT trap: the extra daemons, then the pair (server 2, then tb_cleanup)
ha_cleanup() {
	local rc=$? n
	for n in "${!XPID[@]}"; do
		_tb_kill_wait "${XPID[$n]}" 5
		if ((rc != 0)) || ((TAP_FAILED > 0)); then
			_tb_dump_log "${XLOG[$n]}" 40
		fi
	done
	XPID=()
	(exit "$rc")
	tb_pair_cleanup
}
tb_start_slapd_pair || bail_out "the slapd pair did not start"
trap ha_cleanup EXIT
tb_start_smtp || bail_out "SMTP sink did not start"
diag "slapd pair: $TB_LDAP_URI1 (pid $TB_SLAPD_PID1), $TB_LDAP_URI2 (pid $TB_SLAPD_PID2), built and started in $TB_SLAPD_START_MS ms"

# start_daemon NAME CONF: mailotpd -f -c CONF, log in $TB_DIR/mailotpd-NAME.log
start_daemon() {
	local name=$1 conf=$2 sock rc=0
	sock=$(awk '$1 == "pam_socket" { print $2 }' "$conf")
	XLOG[$name]="$TB_DIR/mailotpd-$name.log"
	"$top_builddir/resetd/mailotpd" -f -c "$conf" </dev/null >>"${XLOG[$name]}" 2>&1 &
	XPID[$name]=$!
	_tb_wait_unix_socket "$sock" "${XPID[$name]}" 10 || rc=$?
	((rc == 0)) || { _tb_dump_log "${XLOG[$name]}"; return 1; }
}
stop_daemon() {
	_tb_kill_wait "${XPID[$1]}" 5
	unset "XPID[$1]"
}
wait_http() {
	local _
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1/healthz" && return 0
		sleep 0.05
	done
	return 1
}

PA=$(tb_free_port)
PB=$(tb_free_port)
UA="http://127.0.0.1:$PA"
UB="http://127.0.0.1:$PB"
# One public URL (the load balancer's): the CSRF key is derived from the bind
# password and reset_public_url, so every instance must share both.
PUB=$UA
common=(reset_public_url "$PUB" reset_trusted_proxies 127.0.0.1 ldap_timeout 2
	otp_lockout_failures 5 otp_lockout_time 600)
tb_write_config "$TB_DIR/a.conf" ldap_uri "$TB_LDAP_URI1" pam_socket "$TB_DIR/a.sock" \
	reset_listen "127.0.0.1:$PA" "${common[@]}"
tb_write_config "$TB_DIR/b.conf" ldap_uri "$TB_LDAP_URI2" pam_socket "$TB_DIR/b.sock" \
	reset_listen "127.0.0.1:$PB" "${common[@]}"
start_daemon A "$TB_DIR/a.conf" || bail_out "mailotpd A did not start"
start_daemon B "$TB_DIR/b.conf" || bail_out "mailotpd B did not start"
wait_http "$UA" && wait_http "$UB" || bail_out "the reset services do not answer"
pam_service svca "auth required $PAM_MODULE socket=$TB_DIR/a.sock"
pam_service svcb "auth required $PAM_MODULE socket=$TB_DIR/b.sock"
pam_service svcc "auth required $PAM_MODULE socket=$TB_DIR/c.sock"

tb_repl_sync_wait 10
ok $? "both servers start with the same contextCSN"

# --- HTTP helpers (as in tests/reset_http.sh)
H="$TB_DIR/h" B="$TB_DIR/b" J="$TB_DIR/jar"
NEXT_IP=10
newip() {
	NEXT_IP=$((NEXT_IP + 1))
	IP="192.0.2.$NEXT_IP"
}
req() {
	CODE=$(curl -sS -o "$B" -D "$H" -w '%{http_code}' -H "X-Forwarded-For: $IP" "$@" 2>/dev/null) ||
		CODE=000
}
form() { # form URL [curl args]: new cookie jar, $CSRF
	local url=$1
	shift
	rm -f "$J"
	req -c "$J" "$@" "$url"
	CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
}
post() { # post URL FIELD=VALUE...
	local url=$1
	local -a args=()
	shift
	for f in "$@"; do args+=(--data-urlencode "$f"); done
	req -b "$J" --data-urlencode "csrf=$CSRF" "${args[@]}" "$url"
}
token_of() {
	tb_mail_last "$1" | grep -o "http[^ ]*/reset?token=[A-Za-z0-9_-]*" | tail -n 1 | sed 's/.*token=//'
}
# request_reset BASE ADDR: a reset request on BASE, waits for the mail; $TOKEN
request_reset() {
	local n
	n=$(tb_mail_count "$2")
	newip
	form "$1/"
	post "$1/request" "email=$2" "email_confirm=$2"
	[[ "$CODE" == 200 ]] || return 1
	tb_mail_wait "$2" "$((n + 1))" >/dev/null || return 1
	TOKEN=$(token_of "$2")
	[[ -n "$TOKEN" ]]
}

# ==========================================================================
# 1. A reset finished on daemon A (LDAP 1) is usable at login on daemon B
#    (LDAP 2); forms are not tied to an instance.
section "1 reset A->B"
newip
form "$UA/"
post "$UB/request" email=nobody@example.org email_confirm=nobody@example.org
is "$CODE" 200 "a form served by A is accepted by B (CSRF key shared, no sticky sessions)"

A_DN=$(tb_user_dn alice)
OLD_A=$(tb_user_pw alice)
NEW_A='Vq7#mRt2!zLp9w'
request_reset "$UA" alice@example.org
ok $? "reset requested on A: a link is mailed"
form "$UA/reset?token=$TOKEN"
post "$UA/reset" "token=$TOKEN" "password=$NEW_A" "password_confirm=$NEW_A"
t_done=$(date +%s%N)
like "$CODE $(cat "$B")" '^200 .*Password set' "the reset is completed on A"
new_hash=$(tb_ldap_get_n 1 "$A_DN" userPassword)
lag=''
for _ in $(seq 500); do
	if [[ "$(tb_ldap_get_n 2 "$A_DN" userPassword)" == "$new_hash" ]]; then
		lag=$(ms_since "$t_done")
		break
	fi
	sleep 0.01
done
ok "$([[ -n "$lag" ]] && echo 0 || echo 1)" "the new password reaches LDAP 2 (seen there ${lag:-never} ms after the 200)"
REPL_LAG_MS=$lag
pam_run svcb alice auth "$NEW_A" @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "alice logs in on B (LDAP 2) with the password set through A"
pam_run svcb alice auth "$OLD_A"
is "$PAM_RESULT" PAM_AUTH_ERR "the old password is refused on B"
form "$UB/reset?token=$TOKEN"
is "$CODE" 410 "the token used on A is a bad token on B"
BAD_BODY=$(cat "$B")

# ==========================================================================
# 2. Per-account limits across daemons: wrong codes add up, the resend
#    interval claimed on one daemon holds on the other.
section "2 limits"
BOB=bob@example.org
B_DN=$(tb_user_dn bob)
pam_run svca bob auth 'Bob-Passw0rd!' @WRONG:$BOB @WRONG:$BOB @WRONG:$BOB
is "$PAM_RESULT" PAM_MAXTRIES "bob: three wrong codes on A"
tb_repl_sync_wait 10
is "$(tb_ldap_get_n 2 "$B_DN" mailotpOtpFailures)" 3 "the count (3) is on LDAP 2 ($TB_REPL_MS ms after the login ended)"
pam_run svcb bob auth 'Bob-Passw0rd!' @WRONG:$BOB @WRONG:$BOB @CODE:$BOB
is "$PAM_RESULT" PAM_MAXTRIES "two more on B: the fifth wrong code in a row locks (otp_lockout_failures 5)"
like "$PAM_OUT" "ERROR Too many wrong codes have been entered for this account" "B says the account is locked"
tb_repl_sync_wait 10
is "$(tb_ldap_get_n 1 "$B_DN" mailotpOtpFailures)/$(tb_ldap_get_n 2 "$B_DN" mailotpOtpFailures)" 5/5 \
	"mailotpOtpFailures is 5 on both servers"
before=$(tb_mail_count $BOB)
pam_run svca bob auth 'Bob-Passw0rd!' @CODE:$BOB
is "$PAM_RESULT" PAM_MAXTRIES "A refuses bob too (locked through B), right password or not"
is "$(tb_mail_count $BOB)" "$before" "and mails no code"

# the resend interval: reload A and B with otp_resend_interval 60
for d in a b; do
	tb_write_config "$TB_DIR/$d.conf" ldap_uri "$([[ $d == a ]] && echo "$TB_LDAP_URI1" || echo "$TB_LDAP_URI2")" \
		pam_socket "$TB_DIR/$d.sock" \
		reset_listen "127.0.0.1:$([[ $d == a ]] && echo "$PA" || echo "$PB")" "${common[@]}" \
		otp_resend_interval 60
done
kill -HUP "${XPID[A]}" "${XPID[B]}"
for _ in $(seq 100); do
	grep -q 'reloaded' "${XLOG[A]}" && grep -q 'reloaded' "${XLOG[B]}" && break
	sleep 0.05
done
CAROL=carol@example.org
pam_run svca carol auth 'Carol-Passw0rd!' @CODE:$CAROL
is "$PAM_RESULT" PAM_SUCCESS "carol logs in on A (otp_resend_interval 60)"
tb_repl_sync_wait 10
before=$(tb_mail_count $CAROL)
pam_run svcb carol auth 'Carol-Passw0rd!' @CODE:$CAROL
is "$PAM_RESULT" PAM_AUTH_ERR "a second code for carol on B within the interval is refused"
like "$PAM_OUT" "ERROR A one-time code was sent a moment ago. Please wait [0-9]+ seconds" "B says how long to wait"
is "$(tb_mail_count $CAROL)" "$before" "and mails nothing"

# ==========================================================================
# 3. Replication lag: a token written on LDAP 1 that LDAP 2 has not seen yet.
section "3 lag"
HANAKO=hanako@example.org
K_DN=$(tb_user_dn hanako)
NEW_K='Tulip-Garden-88x'
tb_repl_pause_n 2
ok $? "replication into LDAP 2 paused (its olcSyncrepl removed at run time)"
request_reset "$UA" $HANAKO
ok $? "reset requested on A for hanako"
HASH1=$(tb_ldap_get_n 1 "$K_DN" mailotpTokenHash)
ok "$([[ -n "$HASH1" && -z "$(tb_ldap_get_n 2 "$K_DN" mailotpTokenHash)" ]] && echo 0 || echo 1)" \
	"the token is on LDAP 1 and not on LDAP 2"
pw2_before=$(tb_ldap_get_n 2 "$K_DN" userPassword)
form "$UB/reset?token=$TOKEN"
is "$CODE:$(cat "$B")" "410:$BAD_BODY" "GET on B before replication: the uniform bad-token page (410)"
newip
form "$UA/reset?token=$TOKEN"
post "$UB/reset" "token=$TOKEN" "password=$NEW_K" "password_confirm=$NEW_K"
is "$CODE" 410 "POST on B before replication: 410, nothing set"
is "$(tb_ldap_get_n 2 "$K_DN" userPassword)" "$pw2_before" "hanako's password on LDAP 2 is unchanged"
t_res=$(date +%s%N)
tb_repl_resume_n 2
ok $? "replication into LDAP 2 resumed"
caught=''
for _ in $(seq 500); do
	if [[ "$(tb_ldap_get_n 2 "$K_DN" mailotpTokenHash)" == "$HASH1" ]]; then
		caught=$(ms_since "$t_res")
		break
	fi
	sleep 0.01
done
ok "$([[ -n "$caught" ]] && echo 0 || echo 1)" "LDAP 2 catches up (token there ${caught:-never} ms after the resume)"
CATCHUP_MS=$caught
form "$UB/reset?token=$TOKEN"
is "$CODE" 200 "the same link on B now shows the form"
cp "$J" "$J.reset"
RESET_CSRF=$CSRF
post "$UB/reset" "token=$TOKEN" "password=$NEW_K" "password_confirm=$NEW_K"
like "$CODE $(cat "$B")" '^200 .*Password set' "and the reset completes on B"
tb_repl_sync_wait 10
newip
form "$UA/reset?token=$TOKEN"
is "$CODE" 410 "then the token is a bad token on A (used on B, replicated)"
cp "$J.reset" "$J"
CSRF=$RESET_CSRF
post "$UA/reset" "token=$TOKEN" "password=Other-Garden-99y" "password_confirm=Other-Garden-99y"
is "$CODE" 410 "and a second POST on A (with B's form) is refused: used exactly once across both"
run_ok "hanako's new password binds on LDAP 1" env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI1" -D "$K_DN" -w "$NEW_K"
run_ok "and on LDAP 2" env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI2" -D "$K_DN" -w "$NEW_K"
is "$(tb_ldap_get_n 1 "$K_DN" mailotpTokenHash)$(tb_ldap_get_n 2 "$K_DN" mailotpTokenHash)" "" \
	"no token left on either server"

# ==========================================================================
# 4. A partition (replication stopped both ways, both servers answering):
#    what multi-provider replication can and cannot give.  Measured and
#    reported; the tests pin what does hold: at most one use per provider,
#    and both servers converge once replication is back.
section "4 partition"
CAROL_DN=$(tb_user_dn carol)
request_reset "$UA" $CAROL
ok $? "reset requested on A for carol"
tb_repl_sync_wait 10
form "$UA/reset?token=$TOKEN"
tb_repl_pause_n 1 && tb_repl_pause_n 2
ok $? "replication paused both ways"
post "$UA/reset" "token=$TOKEN" "password=Pine-Harbour-31a" "password_confirm=Pine-Harbour-31a"
code_a=$CODE
post "$UB/reset" "token=$TOKEN" "password=Pine-Harbour-31b" "password_confirm=Pine-Harbour-31b"
code_b=$CODE
post "$UA/reset" "token=$TOKEN" "password=Pine-Harbour-31c" "password_confirm=Pine-Harbour-31c"
is "$code_a:$CODE" "200:410" "partition: the token is used once on LDAP 1, a second use there is refused"
diag "partition: the same token POSTed on B (LDAP 2): $code_b (200 = used a second time on the other provider)"
PARTITION_TOKEN_B=$code_b
# wrong codes on both sides of the partition
KPW=$NEW_K
pam_run svca hanako auth "$KPW" @WRONG:$HANAKO @WRONG:$HANAKO @WRONG:$HANAKO
r_a=$PAM_RESULT
pam_run svcb hanako auth "$KPW" @WRONG:$HANAKO @WRONG:$HANAKO @WRONG:$HANAKO
is "$r_a/$PAM_RESULT" PAM_MAXTRIES/PAM_MAXTRIES "partition: three wrong codes for hanako on A and three on B"
f1=$(tb_ldap_get_n 1 "$K_DN" mailotpOtpFailures)
f2=$(tb_ldap_get_n 2 "$K_DN" mailotpOtpFailures)
tb_repl_resume_n 1 && tb_repl_resume_n 2
tb_repl_sync_wait 15
ok $? "replication resumed both ways: the servers converge ($TB_REPL_MS ms)"
pwc1=$(tb_ldap_get_n 1 "$CAROL_DN" userPassword)
is "$pwc1" "$(tb_ldap_get_n 2 "$CAROL_DN" userPassword)" "carol has one password on both servers afterwards"
fk1=$(tb_ldap_get_n 1 "$K_DN" mailotpOtpFailures)
is "$fk1" "$(tb_ldap_get_n 2 "$K_DN" mailotpOtpFailures)" "hanako's wrong-code count is the same on both servers afterwards"
winner=none
LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI1" -D "$CAROL_DN" -w Pine-Harbour-31a >/dev/null 2>&1 && winner=A
LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI1" -D "$CAROL_DN" -w Pine-Harbour-31b >/dev/null 2>&1 && winner=B
diag "partition: wrong codes counted during it: LDAP 1 $f1, LDAP 2 $f2; after healing: $fk1 (6 wrong codes in all, otp_lockout_failures 5)"
diag "partition: carol's password after healing is the one set through $winner (the later write wins)"
PARTITION_COUNT="$f1+$f2->$fk1"

# ==========================================================================
# 5. Failover: daemon C with ldap_uri "URI1 URI2"; LDAP 1 killed during a
#    series of logins; LDAP 1 back: used again for new connections.
section "5 failover"
tb_write_config "$TB_DIR/c.conf" ldap_uri "$TB_LDAP_URI1 $TB_LDAP_URI2" \
	pam_socket "$TB_DIR/c.sock" ldap_timeout 2 otp_lockout_failures 1000
start_daemon C "$TB_DIR/c.conf" || bail_out "mailotpd C did not start"
# kinds of login, in turn: good (st*r) must pass; a wrong password
# (pa(re)n) and wrong codes (o,brien) must never pass.
one_login() {
	case $(($1 % 3)) in
	0) pam_run svcc 'st*r' auth 'Star-Passw0rd!' @CODE:star@example.org; printf 'good' ;;
	1) pam_run svcc 'pa(re)n' auth 'Wrong-Passw0rd!'; printf 'badpw' ;;
	2) pam_run svcc 'o,brien' auth 'Obrien-Passw0rd!' @WRONG:obrien@example.org \
		@WRONG:obrien@example.org @WRONG:obrien@example.org; printf 'badcode' ;;
	esac
	printf ' %s %s %s\n' "$PAM_RESULT" "$PAM_MS" "$(date +%s%N)"
}
SERIES="$TB_DIR/series"
: >"$SERIES"
(
	for i in $(seq 0 11); do
		start=$(date +%s%N)
		r=$(one_login "$i")
		printf '%s %s %s\n' "$i" "$start" "$r" >>"$SERIES"
	done
) </dev/null &
series_pid=$!
# kill LDAP 1 (SIGKILL) once four logins are done, while the fifth runs
for _ in $(seq 600); do
	(($(wc -l <"$SERIES") >= 4)) && break
	sleep 0.02
done
sleep 0.05
t_kill=$(date +%s%N)
kill -KILL "$TB_SLAPD_PID1"
{ tb_stop_slapd_n 1; } 2>/dev/null
wait "$series_pid" || true
diag "series on C (i kind result ms; LDAP 1 SIGKILLed at +$(((t_kill - T0) / 1000000)) ms):"
bad_pass=0 good_fail=0 unavail=0 after_good=0 max_after=0 first_after=''
while read -r i start kind res ms end; do
	when=before
	if ((end > t_kill)); then
		if ((start < t_kill)); then when=in-flight; else when=after; fi
	fi
	diag "  $i $kind $res ${ms} ms ($when)"
	[[ "$kind" != good && "$res" == PAM_SUCCESS ]] && bad_pass=$((bad_pass + 1))
	if [[ "$res" == PAM_AUTHINFO_UNAVAIL ]]; then
		unavail=$((unavail + 1))
		[[ "$when" == in-flight ]] || good_fail=$((good_fail + 1))
	elif [[ "$kind" == good && "$res" != PAM_SUCCESS ]]; then
		good_fail=$((good_fail + 1))
	fi
	if [[ "$when" != before ]]; then
		[[ -n "$first_after" ]] || first_after=$ms
		((ms > max_after)) && max_after=$ms
		[[ "$kind" == good && "$res" == PAM_SUCCESS ]] && after_good=$((after_good + 1))
	fi
done <"$SERIES"
is "$(wc -l <"$SERIES")" 12 "12 logins ran on C"
is "$bad_pass" 0 "no wrong password or wrong code passed, before, during or after the failover"
is "$good_fail" 0 "no login that should pass failed (at most the one in flight may be UNAVAIL: $unavail)"
ok "$((after_good >= 2 ? 0 : 1))" "good logins pass on LDAP 2 after the failover ($after_good)"
ok "$((max_after < 5000 ? 0 : 1))" "logins after the kill took at most $max_after ms (first one: $first_after ms)"
like "$(cat "${XLOG[C]}")" "ldap: ldap://127.0.0.1:$TB_LDAP_PORT1/: .*trying the next server" "C logs the failover"
FAILOVER_FIRST_MS=$first_after FAILOVER_MAX_MS=$max_after

# LDAP 1 back: pooled connections (to LDAP 2) are kept; new ones go to LDAP 1
t_back=$(date +%s%N)
tb_restart_slapd_n 1 || bail_out "slapd 1 did not restart"
tb_repl_sync_wait 15
ok $? "LDAP 1 back and in sync ($(ms_since "$t_back") ms from restart to equal contextCSNs)"
log1="$TB_SLAPD_DIR1/slapd.log"
off=$(stat -c %s "$log1")
# connections on LDAP 1 (since $off) that bound as the service account / as a user
svc_binds_1() { tail -c +"$((off + 1))" "$log1" | grep "BIND dn=\"$TB_SVC_DN\" method=" | grep -o 'conn=[0-9]*' | sort -u | wc -l; }
user_binds_1() { tail -c +"$((off + 1))" "$log1" | grep 'BIND dn="uid=[^"]*" method=' | grep -o 'conn=[0-9]*' | sort -u | wc -l; }
pam_run svcc 'st*r' auth 'Star-Passw0rd!' @CODE:star@example.org
is "$PAM_RESULT" PAM_SUCCESS "a login on C after LDAP 1 is back"
diag "after one sequential login: $(svc_binds_1) service and $(user_binds_1) user connections on LDAP 1 (pooled connections to LDAP 2 are reused)"
# Concurrent logins need more connections than C has idle; LDAP 2 is held
# (SIGSTOP, 0.8 s, under ldap_timeout) so that those on pooled connections to
# it stay busy while the others open new ones.
kill -STOP "$TB_SLAPD_PID2"
pids=()
for u in 'st*r' 'pa(re)n' 'o,brien' bob; do
	(pam_run svcc "$u" auth "$(tb_user_pw "$u")" @CONVERR) &
	pids+=($!)
done
sleep 0.8
kill -CONT "$TB_SLAPD_PID2"
wait "${pids[@]}" # not a bare wait: the servers are background jobs too
sb=$(svc_binds_1)
ub=$(user_binds_1)
ok "$((sb + ub > 0 ? 0 : 1))" "concurrent logins open new connections, and those go to LDAP 1 ($sb service, $ub user connections there)"

# With olcIdleTimeout on the servers, idle pooled connections are closed by
# LDAP 2; the next use finds one broken, drops all the idle ones (they are
# dead too) and retries once on a new connection, which goes to LDAP 1: C
# is back on its first server without a restart, and the login does not
# notice.
for n in 1 2; do
	printf '%s\n' "dn: cn=config" "changetype: modify" "replace: olcIdleTimeout" "olcIdleTimeout: 1" |
		TB_LDAPI_URI=$(eval "printf %s \"\$TB_LDAPI_URI$n\"") tb_ldap_config_modify >/dev/null
done
sleep 2.2
off=$(stat -c %s "$log1")
closed=$(cat "$TB_SLAPD_DIR1/slapd.log" "$TB_SLAPD_DIR2/slapd.log" | grep -c 'closed (idletimeout)' || true)
# Logins one after the other until one passes (at most 12).
idle_runs=''
for i in $(seq 12); do
	pam_run svcc 'st*r' auth 'Star-Passw0rd!' @CODE:star@example.org
	idle_runs+="${PAM_RESULT#PAM_} "
	[[ "$PAM_RESULT" == PAM_SUCCESS ]] && break
done
n_unavail=$(grep -o AUTHINFO_UNAVAIL <<<"$idle_runs" | wc -l)
diag "olcIdleTimeout 1: $closed idle connections closed by the servers; logins on C then: $idle_runs"
is "$idle_runs" "SUCCESS " "after the servers closed all of C's idle connections, the very next login passes (a broken connection flushes the pool; the retry opens a new one)"
IDLE_UNAVAIL=$n_unavail
sb=$(svc_binds_1)
ub=$(user_binds_1)
ok "$((sb > 0 && ub > 0 ? 0 : 1))" "and its new service and user connections are on LDAP 1 ($sb service, $ub user)"

# ==========================================================================
for n in A B C; do
	ok "$(kill -0 "${XPID[$n]}" 2>/dev/null && echo 0 || echo 1)" "daemon $n is still running"
done
unlike "$(cat "${XLOG[A]}" "${XLOG[B]}" "${XLOG[C]}")" "AddressSanitizer|runtime error|MHD_PANIC|Assertion" \
	"no sanitizer report or panic in the logs"
diag "timings: replication lag after a reset ${REPL_LAG_MS:-?} ms; catch-up after resume ${CATCHUP_MS:-?} ms;" \
	"first login after the kill ${FAILOVER_FIRST_MS:-?} ms, slowest ${FAILOVER_MAX_MS:-?} ms;" \
	"partition: token POST on the other provider ${PARTITION_TOKEN_B:-?}, wrong codes ${PARTITION_COUNT:-?};" \
	"UNAVAIL logins after idle close ${IDLE_UNAVAIL:-?}; whole script $(ms_since "$T0") ms"
tap_done
