#!/bin/bash
# Memory checks under valgrind (memcheck):
#  - the PAM module in one process across 1,000 pam_start_confdir ->
#    pam_authenticate -> pam_end cycles (unknown accounts: the cheapest full
#    round trip to the daemon), then a few with the code prompt (right and
#    wrong codes): no definite leak, no invalid access;
#  - mailotpd itself for a short run (logins, a wrong code, an unknown
#    account, the web pages) and its SIGTERM exit: no memcheck error, no
#    definite leak.
# Skipped in a sanitizer build (ASan and valgrind do not mix) and without
# valgrind.  Takes about 30-40 s.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

command -v valgrind >/dev/null || skip_all "valgrind is not installed"
[[ -e "$PAM_MODULE" ]] || skip_all "module not built: $PAM_MODULE"
if nm -D "$PAM_MODULE" 2>/dev/null | grep -q '__asan_init'; then
	skip_all "sanitizer build (--enable-sanitizers): valgrind cannot run ASan code"
fi
CYCLES=${HOSTILE_VG_CYCLES:-1000}
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1
	--show-leak-kinds=definite --num-callers=30)

tap_plan 14
tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"

# The loop program: built by make (tests/hostile.mk) or here.
CYC="$top_builddir/tests/hostile/pam_cycles"
if [[ ! -x "$CYC" ]]; then
	CYC="$TB_DIR/pam_cycles"
	${CC:-cc} -O1 -g -o "$CYC" "$top_srcdir/tests/hostile/pam_cycles.c" -lpam ||
		bail_out "cannot build pam_cycles"
fi

tb_write_config "$TB_DIR/mailotp.conf"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
CONFDIR="$TB_DIR/pamconf"
mkdir -p "$CONFDIR"
printf 'auth required %s socket=%s\n' "$PAM_MODULE" "$TB_PAM_SOCKET" >"$CONFDIR/vgsvc"

# vg_run LOG CMD...: valgrind CMD, output in $VG_OUT, exit status in $VG_RC
vg_run() {
	local log=$1
	shift
	VG_RC=0
	VG_OUT=$("${VG[@]}" --log-file="$log" "$@" 2>&1) || VG_RC=$?
}
# vg_clean LOG NAME: the valgrind log holds no error and no lost block
vg_clean() {
	if [[ -s "$1" ]]; then
		ok 1 "$2"
		diag "$(head -n 60 "$1")"
	else
		ok 0 "$2"
	fi
}

t0=$(date +%s)
vg_run "$TB_DIR/vg-cycles.log" "$CYC" "$CONFDIR" vgsvc nosuchuser "$CYCLES" 'Some-Passw0rd!'
is "$VG_RC" 0 "module: $CYCLES pam_start/pam_authenticate/pam_end cycles under valgrind exit 0 (no definite leak, no error)"
like "$VG_OUT" "^cycles=$CYCLES success=0 other=$CYCLES " "module: every cycle ran and was refused (unknown account)"
vg_clean "$TB_DIR/vg-cycles.log" "module: valgrind reported nothing"
diag "$CYCLES cycles under valgrind: $(($(date +%s) - t0)) s"

export PAM_CYCLES_CODE_CMD="$TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR alice@example.org --wait 20"
vg_run "$TB_DIR/vg-code.log" "$CYC" "$CONFDIR" vgsvc alice 3 'Alice-Passw0rd!' @CMD
like "$VG_OUT" "^cycles=3 success=3 " "module: three full logins (password, mailed code) under valgrind succeed"
is "$VG_RC" 0 "module: and valgrind is clean"
vg_run "$TB_DIR/vg-wrong.log" "$CYC" "$CONFDIR" vgsvc bob 2 'Bob-Passw0rd!' 000000000 000000000 000000000
like "$VG_OUT" "^cycles=2 success=0 other=2 last=Have exhausted maximum number of retries" \
	"module: password then three wrong codes (twice): PAM_MAXTRIES"
is "$VG_RC" 0 "module: and valgrind is clean"
vg_run "$TB_DIR/vg-conv.log" "$CYC" "$CONFDIR" vgsvc bob 2 'Bob-Passw0rd!' @CONVERR
is "$VG_RC" 0 "module: a conversation error at the code prompt leaks nothing"
tb_stop_daemon

# --- the daemon under valgrind
cat >"$TB_DIR/vg-mailotpd" <<EOS
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--error-exitcode=99 --num-callers=30 --log-file="$TB_DIR/vg-daemon.log" \
	"${TB_MAILOTPD:-$top_builddir/resetd/mailotpd}" "\$@"
EOS
chmod +x "$TB_DIR/vg-mailotpd"
PORT=$(tb_free_port)
U="http://127.0.0.1:$PORT"
tb_write_config "$TB_DIR/vg.conf" reset_listen "127.0.0.1:$PORT" reset_public_url "$U"
TB_START_TIMEOUT=60
TB_MAILOTPD="$TB_DIR/vg-mailotpd" tb_start_daemon "$TB_DIR/vg.conf" ||
	bail_out "mailotpd did not start under valgrind"
pam_std_services
pam_run mailotp alice auth 'Alice-Passw0rd!' @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "daemon under valgrind: alice logs in with the mailed code"
pam_run mailotp bob auth 'Bob-Passw0rd!' @WRONG:bob@example.org @WRONG:bob@example.org @WRONG:bob@example.org
is "$PAM_RESULT" PAM_MAXTRIES "daemon under valgrind: three wrong codes give PAM_MAXTRIES"
pam_run mailotp nosuchuser auth 'Some-Passw0rd!'
is "$PAM_RESULT" PAM_AUTH_ERR "daemon under valgrind: an unknown account is refused"
if command -v curl >/dev/null; then
	pages=$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")
	pages+=" $(curl -s -o /dev/null -w '%{http_code}' "$U/")"
	pages+=" $(curl -s -o /dev/null -w '%{http_code}' "$U/reset?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")"
	is "$pages" "200 200 410" "daemon under valgrind: /healthz, the form and a bad token page answer"
else
	skip "curl is not installed"
fi
tb_stop_daemon
is "${TB_DAEMON_STATUS:-}" 0 "daemon under valgrind: SIGTERM exit status 0 (valgrind's error exit would be 99)"
vg_clean "$TB_DIR/vg-daemon.log" "daemon under valgrind: no memcheck error, no definite leak"
tap_done
