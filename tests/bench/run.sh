#!/bin/bash
# Login latency of mailotpd on the test-bed (`make bench`; see
# docs/performance.md). Not a test: nothing here judges a figure; it fails
# only when a login does not end as it must (a code not accepted, a
# refusal that is not DENIED).
#
#   top_srcdir=... top_builddir=... tests/bench/run.sh
#
# Starts the test-bed (slapd without per-operation logging, the SMTP sink,
# mailotpd with otp_resend_interval 0 and otp_lockout_failures 1000), adds
# bench accounts ({SSHA}, and {ARGON2} argon2id at libsodium's INTERACTIVE
# cost: 64 MiB, t=2), runs tests/bench/login_bench for each case and prints
# one markdown table with the machine on top, and the daemon's memory.
#
# Knobs (environment):
#   BENCH_N_SEQ=500      {SSHA} sequential logins
#   BENCH_N_CONC=500     {SSHA} logins for each concurrent case
#   BENCH_CONC="4 16"    the concurrent cases
#   BENCH_N_ARGON=30     {ARGON2} sequential logins
#   BENCH_N_REFUSE=400   refusals, half unknown account, half wrong password
#   BENCH_N_ARGON_REFUSE=40  the same with the {ARGON2} accounts
#   BENCH_OUT=FILE       also write the report (machine + table) to FILE
#   BENCH_DRIVER=PATH    default $top_builddir/tests/bench/login_bench
#   TB_KEEP=1            keep the test-bed directory (maildir, logs)
set -euo pipefail

: "${top_srcdir:?top_srcdir must be set (make bench sets it)}"
: "${top_builddir:?top_builddir must be set (make bench sets it)}"
export TB_SLAPD_DEBUG=0 # slapd -d 0: no line per LDAP operation

# shellcheck source=tests/testbed/testbed.sh
. "$top_srcdir/tests/testbed/testbed.sh"

N_SEQ=${BENCH_N_SEQ:-500}
N_CONC=${BENCH_N_CONC:-500}
CONC=${BENCH_CONC:-4 16}
N_ARGON=${BENCH_N_ARGON:-30}
N_REFUSE=${BENCH_N_REFUSE:-400}
N_ARGON_REFUSE=${BENCH_N_ARGON_REFUSE:-40}
DRIVER=${BENCH_DRIVER:-$top_builddir/tests/bench/login_bench}
N_SSHA_ACCOUNTS=16
N_ARGON_ACCOUNTS=3
# libsodium crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE
ARGON_OPSLIMIT=2
ARGON_MEMLIMIT=$((64 * 1024 * 1024))

[[ -x "$DRIVER" ]] || { echo "run.sh: $DRIVER not built (make tests/bench/login_bench)" >&2; exit 1; }

say() { printf '# %s\n' "$*" >&2; }

# rss PID: "VmRSS VmHWM Threads" of PID, in kB (and a count)
rss() {
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^Threads:/ { t = $2 }
		END { printf "%s %s %s\n", r, h, t }' "/proc/$1/status"
}

# hash_many SCHEME < passwords: one userPassword per line, through
# tests/testbed/pwhash.py; argon2id at the INTERACTIVE cost set above
hash_many() {
	local prog='
import sys
sys.path.insert(0, sys.argv[1])
import pwhash
scheme, ops, mem = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pwhash.ARGON2_OPSLIMIT = ops
pwhash.ARGON2_MEMLIMIT = mem
fn = pwhash.SCHEMES[scheme]
for line in sys.stdin.buffer:
    pw = line.rstrip(b"\n")
    if pw:
        print(fn(pw))
'
	"$TB_PYTHON" -c "$prog" "$TB_SRCDIR" "$1" "$ARGON_OPSLIMIT" "$ARGON_MEMLIMIT"
}

# add_accounts PREFIX COUNT SCHEME: uid PREFIXnn, mail PREFIXnn@example.org,
# password in BENCH_PW[uid]; appends "uid:pw:mail" to the named array
declare -A BENCH_PW=()
add_accounts() {
	local prefix=$1 count=$2 scheme=$3 i uid pws='' ldif='' k=0
	local -a hashes uids
	for ((i = 1; i <= count; i++)); do
		printf -v uid '%s%02d' "$prefix" "$i"
		uids+=("$uid")
		BENCH_PW[$uid]="Bench-$(_tb_secret)"
		pws+="${BENCH_PW[$uid]}"$'\n'
	done
	mapfile -t hashes < <(printf '%s' "$pws" | hash_many "$scheme")
	((${#hashes[@]} == count)) || { echo "run.sh: hashing failed" >&2; return 1; }
	for uid in "${uids[@]}"; do
		ldif+="dn: uid=$uid,$TB_PEOPLE_BASE
objectClass: inetOrgPerson
objectClass: mailotpAccount
uid: $uid
cn: Bench $uid
sn: Bench
mail: $uid@example.org
userPassword: ${hashes[k]}

"
		k=$((k + 1))
	done
	printf '%s' "$ldif" | tb_ldap_modify -a >/dev/null
}

# users_arg PREFIX COUNT: the --users value for those accounts
users_arg() {
	local prefix=$1 count=$2 i uid out=''
	for ((i = 1; i <= count; i++)); do
		printf -v uid '%s%02d' "$prefix" "$i"
		out+="${out:+,}$uid:${BENCH_PW[$uid]}:$uid@example.org"
	done
	printf '%s' "$out"
}

# ---------------------------------------------------------------- set-up
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
tb_init
say "test-bed in $TB_DIR"
tb_start_slapd
tb_start_smtp
# Wrong passwords are benchmarked by the hundred: without this, ppolicy
# would lock each account after 5 and the figure would be that of a locked
# account. Failures are still recorded (pwdFailureTime), as in production.
tb_ldap_modify >/dev/null <<EOF
dn: $TB_POLICY_DN
changetype: modify
replace: pwdLockout
pwdLockout: FALSE
EOF
say "adding $N_SSHA_ACCOUNTS {SSHA} and $N_ARGON_ACCOUNTS {ARGON2} (argon2id m=64 MiB, t=2) accounts"
add_accounts bench-s "$N_SSHA_ACCOUNTS" ssha
add_accounts bench-a "$N_ARGON_ACCOUNTS" argon2id

tb_write_config "$TB_DIR/mailotp.conf" otp_resend_interval 0 otp_lockout_failures 1000
tb_start_daemon "$TB_DIR/mailotp.conf"
sleep 0.5
read -r rss_idle hwm_idle thr_idle < <(rss "$TB_DAEMON_PID")

SSHA_USERS=$(users_arg bench-s "$N_SSHA_ACCOUNTS")
ARGON_USERS=$(users_arg bench-a "$N_ARGON_ACCOUNTS")
TABLE=$TB_DIR/table.md
: >"$TABLE"

CPU_TABLE=$TB_DIR/cpu.md
: >"$CPU_TABLE"
CLK_TCK=$(getconf CLK_TCK)

# cpu_ms PID: user + system CPU time of PID so far (exited threads included), in ms
cpu_ms() {
	awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}

# bench LABEL ATTEMPTS [login_bench args]: one case; ATTEMPTS (warm-up
# included) divides the CPU time the three servers spent meanwhile
bench() {
	local label=$1 attempts=$2 s0 m0 d0
	shift 2
	say "login_bench: $label"
	s0=$(cpu_ms "$TB_SLAPD_PID") m0=$(cpu_ms "$TB_SMTP_PID") d0=$(cpu_ms "$TB_DAEMON_PID")
	"$DRIVER" --socket "$TB_PAM_SOCKET" --maildir "$TB_MAILDIR" --table "$TABLE" \
		--label "$label" "$@" >&2
	awk -v l="$label" -v n="$attempts" \
		-v s=$(($(cpu_ms "$TB_SLAPD_PID") - s0)) -v m=$(($(cpu_ms "$TB_SMTP_PID") - m0)) \
		-v d=$(($(cpu_ms "$TB_DAEMON_PID") - d0)) \
		'BEGIN { printf "| %s | %d | %.2f | %.2f | %.2f |\n", l, n, s / n, m / n, d / n }' \
		>>"$CPU_TABLE"
}

# ---------------------------------------------------------------- runs
bench '{SSHA} sequential' $((N_SEQ + 5)) --users "$SSHA_USERS" --n "$N_SEQ" --concurrency 1
for c in $CONC; do
	bench "{SSHA} $c concurrent" $((N_CONC + 5 * c)) --users "$SSHA_USERS" --n "$N_CONC" \
		--concurrency "$c"
done
read -r rss_ssha hwm_ssha thr_ssha < <(rss "$TB_DAEMON_PID")
# Refusals alternate unknown / wrong, so both see the same padding estimate;
# the warm-up lets the estimate settle on this kind of bind first (it is a
# moving average with weight 1/8 over every password check).
bench '{SSHA} refusals' $((N_REFUSE + 20)) --mode refuse --users "$SSHA_USERS" \
	--n "$N_REFUSE" --warmup 20
bench '{ARGON2} sequential' $((N_ARGON + 2)) --users "$ARGON_USERS" --n "$N_ARGON" \
	--concurrency 1 --warmup 2
bench '{ARGON2} refusals' $((N_ARGON_REFUSE + 20)) --mode refuse --users "$ARGON_USERS" \
	--n "$N_ARGON_REFUSE" --warmup 20
read -r rss_end hwm_end thr_end < <(rss "$TB_DAEMON_PID")

mails=$(find "$TB_MAILDIR" -maxdepth 1 -name '*.eml' | wc -l)

# ---------------------------------------------------------------- report
report() {
	local model
	model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf 'Machine: %s CPU(s), %s, Linux %s; %s MiB RAM\n' "$(nproc)" "${model:-unknown CPU}" \
		"$(uname -r)" "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
	printf 'Load average before the run: %s\n' "$LOAD_BEFORE"
	printf 'slapd: %s; SMTP sink: aiosmtpd (Python %s); %s messages stored; %s\n\n' \
		"$("$TB_SBIN/slapd" -VV 2>&1 | awk '/slapd/ { print $4; exit }')" \
		"$("$TB_PYTHON" -c 'import platform; print(platform.python_version())')" \
		"$mails" "$(date -u +%Y-%m-%dT%H:%MZ)"
	printf '| case | n | conc | median ms | p90 ms | p99 ms | max ms | per s | AUTH_BEGIN median ms | AUTH_CODE median ms | code read median ms (driver) |\n'
	printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
	cat "$TABLE"
	printf '\nLogins: times are daemon-side (connect .. AUTH_CODE reply, minus the driver reading the\n'
	printf 'code from the maildir). Refusals: connect .. the DENIED reply to AUTH_BEGIN.\n\n'
	printf 'CPU time the servers spent per attempt (warm-up included; ms):\n\n'
	printf '| case | attempts | slapd | SMTP sink | mailotpd |\n|---|---|---|---|---|\n'
	cat "$CPU_TABLE"
	printf '\n'
	printf 'mailotpd memory (VmRSS / VmHWM kB, threads): idle %s / %s, %s; after {SSHA} runs %s / %s, %s; at the end %s / %s, %s\n' \
		"$rss_idle" "$hwm_idle" "$thr_idle" "$rss_ssha" "$hwm_ssha" "$thr_ssha" \
		"$rss_end" "$hwm_end" "$thr_end"
}
if [[ -n "${BENCH_OUT:-}" ]]; then
	report | tee "$BENCH_OUT"
else
	report
fi
