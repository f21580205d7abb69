#!/bin/bash
# Secrets wiped from mailotpd's memory, checked in the running daemon: a
# session of logins (right code, wrong code then right, wrong password, a
# login abandoned at the code prompt, one waiting at the prompt, a combined
# login whose code pends in the table), a reset through the web pages and
# a password change through PAM.  After each step the daemon's whole
# readable memory (/proc/PID/maps + /proc/PID/mem: heaps, thread stacks,
# every anonymous and file mapping; read without stopping it) is searched
# for the step's secrets as bytes (tests/hostile/memscan.py), and at the
# end for every secret of the session.  Codes are 10 digits (otp_digits
# 10), so none turns up by chance.  Expected (docs/security.md): no code
# (one typed, mailed or still pending: the daemon keeps only a keyed hash
# of it), no password typed, no reset token, no new password once its
# request is answered.  Each step is scanned at once, because a copy freed
# without a wipe survives only until the allocator hands its chunk out
# again.  Controls: the scan finds what the daemon does hold (the service
# account's password, a template) and, before any login, none of the
# accounts' passwords; at the end the pending code it could not be found
# holding is accepted, and the daemon was never stopped.  Needs root (mailotpd is not dumpable: reading its
# memory takes CAP_SYS_PTRACE).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
SCAN="$top_srcdir/tests/hostile/memscan.py"
((EUID == 0)) || skip_all "reading mailotpd's memory needs root (it is not dumpable: CAP_SYS_PTRACE)"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v mkfifo >/dev/null || skip_all "no mkfifo"
if nm -D "$top_builddir/resetd/mailotpd" 2>/dev/null | grep -q '__asan_init'; then
	# ASan's quarantine keeps freed chunks from reuse and its shadow is terabytes
	skip_all "sanitizer build (--enable-sanitizers): the memory is ASan's, not the daemon's as deployed"
fi

tb_start_web_stack otp_digits 10 otp_resend_interval 0 reset_trusted_proxies 127.0.0.1 \
	password_hash_memlimit 8192 password_hash_opslimit 1
PID=$TB_DAEMON_PID
pam_service mailotp \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"password required $PAM_MODULE socket=$TB_PAM_SOCKET"
pam_service web "auth required $PAM_MODULE socket=$TB_PAM_SOCKET combined"

# Controls: what the daemon holds by design must be found (the service
# account's password, in sodium_malloc'd pages; the code template, on the
# heap), else the scan proves nothing.
CTL="$TB_DIR/control.tsv"
printf 'service account password\t%s\n' "$(cat "$TB_SVC_PW_FILE")" >"$CTL"
printf 'otp template\t%s\n' 'Here is the one-time password for signing in to {{service}} as {{user}}:' >>"$CTL"
rc=0
out=$("$TB_PYTHON" "$SCAN" "$PID" "$CTL" 2>&1) || rc=$?
((rc != 3)) || skip_all "cannot read mailotpd's memory (/proc/$PID/mem): ${out##*: } (CAP_SYS_PTRACE?)"

tap_plan 27
is "$(printf '%s\n' "$out" | grep -c '^FOUND')" 2 "control: the scan finds the service account's password and the code template"
diag "control scan: $(printf '%s\n' "$out" | tail -n 1)"

ALL="$TB_DIR/all.tsv" STEP="$TB_DIR/step.tsv" PENDING="$TB_DIR/pending.tsv"
: >"$ALL"
: >"$STEP"
: >"$PENDING"
# secret KIND VALUE: a secret of this step (and of the session)
secret() {
	[[ -n "$2" ]] || return 0
	printf '%s\t%s\n' "$1" "$2" >>"$STEP"
	cut -f 2 "$ALL" | grep -qxF -- "$2" || printf '%s\t%s\n' "$1" "$2" >>"$ALL"
}
# pending KIND VALUE: a code still live, looked for in every later step too
pending() {
	[[ -n "$2" ]] || return 0
	printf '%s\t%s\n' "$1" "$2" | tee -a "$ALL" >>"$PENDING"
}
# memscan NAME FILE: one check: none of FILE's secrets in the daemon's memory
memscan() {
	local name=$1 file=$2 n out rc=0 summary
	n=$(wc -l <"$file")
	out=$("$TB_PYTHON" "$SCAN" "$PID" "$file" 2>&1) || rc=$?
	summary=$(printf '%s\n' "$out" | tail -n 1)
	if ((rc == 0)); then
		is "$(printf '%s\n' "$out" | grep -E '^(FOUND|  ctx)')" "" "$name: none of its $n secrets in mailotpd's memory"
	else
		ok "$rc" "$name: scan of mailotpd's memory"
	fi
	diag "$summary"
}
# scan_step NAME: the secrets of the step and the codes still pending
scan_step() {
	cat "$PENDING" >>"$STEP"
	memscan "$1" "$STEP"
	: >"$STEP"
}
# random_digits N
random_digits() { tr -dc 0-9 </dev/urandom | head -c "$1"; }
# code_after ADDR N: the code in the newest mail to ADDR once it has N mails
code_after() { tb_mail_code "$1" "$2" 2>/dev/null || true; }

# --- before any login: none of the passwords is there (nothing else puts them there)
for u in alice bob carol hanako 'st*r' 'pa(re)n' 'o,brien'; do
	secret "password of $u" "$(tb_user_pw "$u")"
done
cp "$STEP" "$TB_DIR/baseline.tsv"
: >"$STEP"
memscan "before any login" "$TB_DIR/baseline.tsv"

# --- alice: password and the mailed code
pam_run mailotp alice auth 'Alice-Passw0rd!' @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "alice logs in with the mailed 10-digit code"
secret "password typed (alice)" 'Alice-Passw0rd!'
secret "code (alice, used)" "$(code_after alice@example.org 1)"
scan_step "after alice's login"

# --- bob: a wrong code, then the right one
WRONG=$(random_digits 10)
pam_run mailotp bob auth 'Bob-Passw0rd!' "$WRONG" @CODE:bob@example.org
is "$PAM_RESULT" PAM_SUCCESS "bob types a wrong code, then the right one"
secret "password typed (bob)" 'Bob-Passw0rd!'
secret "wrong code typed (bob)" "$WRONG"
secret "code (bob, used)" "$(code_after bob@example.org 1)"
scan_step "after bob's login"

# --- carol: a wrong password
WRONG_PW="Carol-Wr0ng-$(random_digits 6)"
pam_run mailotp carol auth "$WRONG_PW"
is "$PAM_RESULT" PAM_AUTH_ERR "carol's wrong password is refused"
secret "wrong password typed (carol)" "$WRONG_PW"
scan_step "after carol's wrong password"

# --- o,brien: the client hangs up at the code prompt (abandoned)
pam_run mailotp 'o,brien' auth 'Obrien-Passw0rd!'
code=$(code_after obrien@example.org 1)
like "$PAM_RESULT/$code" '^PAM_CONV_ERR/[0-9]{10}$' "o,brien's login is abandoned at the code prompt after a code was mailed"
secret "password typed (o,brien)" 'Obrien-Passw0rd!'
secret "code (o,brien, abandoned)" "$code"
scan_step "after the abandoned login"

# --- pa(re)n: waiting at the code prompt (the driver reads its answer from a FIFO)
FIFO="$TB_DIR/code.fifo"
mkfifo "$FIFO"
pam_wrapped "$PAM_DRIVER" mailotp 'pa(re)n' auth 'Paren-Passw0rd!' "@FILE:$FIFO" \
	>"$TB_DIR/waiting.out" 2>>"$TB_DIR/pam_driver.err" &
WAITING=$!
# the driver must not outlive the test when it stops early
trap 'rc=$?; [[ -z "$WAITING" ]] || kill "$WAITING" 2>/dev/null; (exit "$rc"); tb_cleanup' EXIT
code=$(code_after paren@example.org 1)
for _ in $(seq 200); do grep -q '^PROMPT_ECHO_OFF One-time code' "$TB_DIR/waiting.out" && break; sleep 0.05; done
like "$(grep -c '^PROMPT_ECHO_OFF One-time code' "$TB_DIR/waiting.out")/$code" '^1/[0-9]{10}$' \
	"pa(re)n's login waits at the code prompt, its code mailed"
secret "password typed (pa(re)n)" 'Paren-Passw0rd!'
pending "code (pa(re)n, waiting at the prompt)" "$code"
scan_step "while pa(re)n's login waits for its code"
# shellcheck disable=SC2016 # $1, $2: the inner shell's arguments
timeout 10 bash -c 'printf "%s\n" "$1" >"$2"' _ "$code" "$FIFO"
wait "$WAITING"
WAITING=''
is "$(awk '/^RESULT / { print $3 }' "$TB_DIR/waiting.out")" PAM_SUCCESS "pa(re)n then types the code: success"
: >"$PENDING"

# --- st*r: a combined login; the code pends in the table for the next one
pam_run web 'st*r' auth 'Star-Passw0rd!'
STAR_CODE=$(code_after star@example.org 1)
like "$PAM_RESULT/$STAR_CODE" '^PAM_AUTH_ERR/[0-9]{10}$' "st*r's combined login mails a code and is refused (the code pends)"
secret "password typed (st*r)" 'Star-Passw0rd!'
pending "code (st*r, pending in the table)" "$STAR_CODE"
scan_step "while st*r's code pends"

# --- hanako: a reset through the web pages
link=$(tb_web_reset_link "$U" hanako@example.org)
TOKEN=${link#*token=}
like "$TOKEN" '^[A-Za-z0-9_-]{40,}$' "hanako gets a reset link by mail"
secret "reset token" "$TOKEN"
code=$(tb_web_page "$link")
scan_step "after the reset page was opened from the link (answer $code)"
# A form refused before any work (a stale or forged CSRF value): the
# password it carried went only through libmicrohttpd's post processor,
# which decodes values into a buffer of its own stack frame; the daemon
# overwrites that part of the stack after each piece of body.
STALEPW="Stale-Form-$(random_digits 9)"
code=$(tb_web_page --data-urlencode "csrf=stale" --data-urlencode "token=$TOKEN" \
	--data-urlencode "password=$STALEPW" --data-urlencode "password_confirm=$STALEPW" "$U/reset")
is "$code" 403 "a reset form with a stale CSRF value is refused"
secret "password in a refused form" "$STALEPW"
scan_step "after a refused reset form"
tb_web_page "$link" >/dev/null
NEWPW_H="Maple-Harbor-$(random_digits 5)"
code=$(tb_web_page --data-urlencode "csrf=$(tb_web_csrf)" --data-urlencode "token=$TOKEN" \
	--data-urlencode "password=$NEWPW_H" --data-urlencode "password_confirm=$NEWPW_H" "$U/reset")
is "$code" 200 "hanako sets a new password through the reset page"
secret "reset token (used up)" "$TOKEN"
secret "new password (reset page)" "$NEWPW_H"
scan_step "after the reset"
tb_mail_settle
n=$(tb_mail_count hanako@example.org)
pam_run mailotp hanako auth "$NEWPW_H" @CODE:hanako@example.org
is "$PAM_RESULT" PAM_SUCCESS "hanako logs in with the new password"
secret "code (hanako, used)" "$(code_after hanako@example.org "$((n + 1))")"

# --- alice changes her password through PAM
NEWPW_A="Kiwi-Orbit-$(random_digits 5)"
secret "old password typed (passwd)" 'Alice-Passw0rd!'
pam_run mailotp alice chauthtok 'Alice-Passw0rd!' "$NEWPW_A" "$NEWPW_A"
is "$PAM_RESULT" PAM_SUCCESS "alice changes her password through PAM"
secret "new password (passwd)" "$NEWPW_A"
scan_step "after hanako's login and alice's password change"

# --- everything at once, while st*r's code still pends
memscan "the whole session" "$ALL"

# --- the daemon was not disturbed; the code it could not be found holding still works
pam_run web 'st*r' auth "Star-Passw0rd!$STAR_CODE"
is "$PAM_RESULT" PAM_SUCCESS "st*r's pending code (not in memory as text) is accepted"
st=$(awk '/^State:/ { print $2 }' "/proc/$PID/status" 2>/dev/null)
like "$st" '^[RS]$' "mailotpd runs on (state $st): the reads did not stop it"
tap_done
