#!/bin/bash
# The figures of docs/performance.md, from one run on the test-bed (`make
# bench`). Not a test: nothing here judges a figure (the targets are only
# reported, met or missed); it fails only when something does not end as it
# must (a code not accepted, a refusal that is not DENIED, a wrk that
# cannot run).
#
#   top_srcdir=... top_builddir=... tests/bench/run.sh
#
# Starts the test-bed (slapd without per-operation logging, the SMTP sink,
# mailotpd with otp_resend_interval 0 and otp_lockout_failures 1000 and its
# reset web service on a loopback port), adds bench accounts ({SSHA};
# {ARGON2} argon2id at libsodium's INTERACTIVE cost, 64 MiB, t=2; argon2id
# at mailotpd's configured cost, 19 MiB, t=2; BENCH_RESET_ACCOUNTS accounts
# for the reset service; all with posixAccount, which nslcd needs), then:
#   - tests/bench/login_bench for each login case (daemon-side, at the PAM
#     socket);
#   - tests/bench/pam_ldap_bench.sh: the same accounts through pam_ldap.so
#     + nslcd, password only, the anchor (root only: a private mount
#     namespace; skipped, and said so, otherwise);
#   - tests/bench/floor_bench: one bind on a reused connection, libsodium's
#     argon2id hash, slapd's bind for such a hash;
#   - tests/bench/reset_bench.py: wrk against the reset service, and the
#     daemon's memory with 1,000 open connections;
# and prints one markdown table with the machine on top, then the targets
# of docs/performance.md with the ratios computed from this run.
#
# Knobs (environment):
#   BENCH_N_SEQ=500      {SSHA} sequential logins
#   BENCH_N_CONC=500     {SSHA} logins for each concurrent case
#   BENCH_CONC="4 16"    the concurrent cases
#   BENCH_N_ARGON=30     {ARGON2} sequential logins
#   BENCH_N_REFUSE=400   refusals, half unknown account, half wrong password
#   BENCH_N_ARGON_REFUSE=40  the same with the {ARGON2} accounts
#   BENCH_N_ANCHOR_ARGON=30  pam_ldap {ARGON2} attempts
#   BENCH_N_FLOOR=2000   binds on a reused connection
#   BENCH_N_HASH=30      libsodium hashes / slapd binds at the configured cost
#   BENCH_RESET_ACCOUNTS=1000  accounts asked for a reset link (their tokens
#                        feed the POST /reset phase)
#   BENCH_WRK_S=10       seconds of each wrk run
#   BENCH_HASH_CONC=50   POST /reset kept in flight during the GET run
#   BENCH_CONNS=1000     idle connections for the memory figure
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
N_ANCHOR_ARGON=${BENCH_N_ANCHOR_ARGON:-30}
N_FLOOR=${BENCH_N_FLOOR:-2000}
N_HASH=${BENCH_N_HASH:-30}
N_RESET_ACCOUNTS=${BENCH_RESET_ACCOUNTS:-1000}
WRK_S=${BENCH_WRK_S:-10}
HASH_CONC=${BENCH_HASH_CONC:-50}
N_CONNS=${BENCH_CONNS:-1000}
PAM_DRIVER=$top_builddir/tests/bench/pam_ldap_driver
FLOOR=$top_builddir/tests/bench/floor_bench
N_SSHA_ACCOUNTS=16
N_ARGON_ACCOUNTS=3
N_CONF_ACCOUNTS=2
# libsodium crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE
ARGON_OPSLIMIT=2
ARGON_MEMLIMIT=$((64 * 1024 * 1024))
# mailotpd's defaults (password_hash_opslimit / password_hash_memlimit):
# what the reset service hashes new passwords with
CONF_OPSLIMIT=2
CONF_MEMLIMIT_KIB=19456

for p in "$DRIVER" "$PAM_DRIVER" "$FLOOR"; do
	[[ -x "$p" ]] || { echo "run.sh: $p not built (make bench builds it)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "run.sh: wrk not found (apt-get install wrk)" >&2; exit 1; }

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
	"$TB_PYTHON" -c "$prog" "$TB_SRCDIR" "$1" "${2:-$ARGON_OPSLIMIT}" "${3:-$ARGON_MEMLIMIT}"
}

# add_accounts PREFIX COUNT SCHEME [OPS MEM_BYTES [WIDTH]]: uid PREFIXnn,
# mail PREFIXnn@example.org, password in BENCH_PW[uid]; posixAccount too
# (uidNumber from 20000 on), so that nslcd finds them for pam_ldap
declare -A BENCH_PW=()
NEXT_UIDNUMBER=20000
add_accounts() {
	local prefix=$1 count=$2 scheme=$3 ops=${4:-} mem=${5:-} width=${6:-2} i uid pws='' ldif='' k=0
	local -a hashes uids
	for ((i = 1; i <= count; i++)); do
		printf -v uid '%s%0*d' "$prefix" "$width" "$i"
		uids+=("$uid")
		BENCH_PW[$uid]="Bench-$(_tb_secret)"
		pws+="${BENCH_PW[$uid]}"$'\n'
	done
	mapfile -t hashes < <(printf '%s' "$pws" | hash_many "$scheme" $ops $mem)
	((${#hashes[@]} == count)) || { echo "run.sh: hashing failed" >&2; return 1; }
	for uid in "${uids[@]}"; do
		ldif+="dn: uid=$uid,$TB_PEOPLE_BASE
objectClass: inetOrgPerson
objectClass: mailotpAccount
objectClass: posixAccount
uid: $uid
cn: Bench $uid
sn: Bench
mail: $uid@example.org
uidNumber: $NEXT_UIDNUMBER
gidNumber: 20000
homeDirectory: /nonexistent
userPassword: ${hashes[k]}

"
		k=$((k + 1))
		NEXT_UIDNUMBER=$((NEXT_UIDNUMBER + 1))
	done
	printf '%s' "$ldif" | tb_ldap_modify -a >/dev/null
}

# users_arg PREFIX COUNT [pam]: the --users value for those accounts
# (U:PW:MAIL for login_bench, U:PW for pam_ldap_driver)
users_arg() {
	local prefix=$1 count=$2 i uid out=''
	for ((i = 1; i <= count; i++)); do
		printf -v uid '%s%02d' "$prefix" "$i"
		if [[ "${3:-}" == pam ]]; then
			out+="${out:+,}$uid:${BENCH_PW[$uid]}"
		else
			out+="${out:+,}$uid:${BENCH_PW[$uid]}:$uid@example.org"
		fi
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
say "adding $N_CONF_ACCOUNTS argon2id accounts at the configured cost (19 MiB, t=2) and $N_RESET_ACCOUNTS {SSHA} accounts for the reset service"
add_accounts bench-d "$N_CONF_ACCOUNTS" argon2id "$CONF_OPSLIMIT" $((CONF_MEMLIMIT_KIB * 1024))
add_accounts bench-r "$N_RESET_ACCOUNTS" ssha '' '' 4

RESET_PORT=$(tb_free_port)
# reset_trusted_proxies 127.0.0.1: wrk and the drivers send a rotating
# X-Forwarded-For, so the per-address throttle sees many clients (and the
# per-address connection cap of 32 is off, as behind any proxy)
tb_write_config "$TB_DIR/mailotp.conf" otp_resend_interval 0 otp_lockout_failures 1000 \
	reset_listen "127.0.0.1:$RESET_PORT" reset_public_url "http://127.0.0.1:$RESET_PORT" \
	reset_trusted_proxies 127.0.0.1
tb_start_daemon "$TB_DIR/mailotp.conf"
sleep 1
read -r rss_idle hwm_idle thr_idle < <(rss "$TB_DAEMON_PID")
# what the idle figure is made of: anonymous memory (heap, BSS, touched
# stacks) and file pages (the program and its shared libraries)
RSS_IDLE_PARTS=$(awk '/^(RssAnon|RssFile|RssShmem):/ { printf "%s%s %s kB", sep, $1, $2; sep = ", " }' \
	"/proc/$TB_DAEMON_PID/status")
# and what it costs the machine: PSS shares each shared page among the
# processes that map it; private pages (USS) are what stopping it frees
RSS_IDLE_SHARE=$(awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
	END { printf "Pss: %s kB, private (USS): %s kB", p, u }' "/proc/$TB_DAEMON_PID/smaps_rollup")

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
read -r rss_logins hwm_logins thr_logins < <(rss "$TB_DAEMON_PID")

# ---------------------------------------------------------------- the anchor
# pam_ldap.so + nslcd on the same directory and accounts, password only
ANCHOR=ran
say "the anchor: pam_ldap.so + nslcd in a private mount namespace"
rc=0
DRIVER="$PAM_DRIVER" TABLE="$TABLE" LDAP_URI="$TB_LDAP_URI" LDAP_BASE="$TB_PEOPLE_BASE" \
	BIND_DN="$TB_SVC_DN" BIND_PW_FILE="$TB_SVC_PW_FILE" \
	SSHA_USERS=$(users_arg bench-s "$N_SSHA_ACCOUNTS" pam) \
	ARGON_USERS=$(users_arg bench-a "$N_ARGON_ACCOUNTS" pam) \
	N_SEQ="$N_SEQ" N_CONC="$N_CONC" CONC="$CONC" N_REFUSE=$((N_REFUSE / 2)) \
	N_ARGON="$N_ANCHOR_ARGON" WORKDIR="$TB_DIR/anchor" \
	"$BASH" "$top_srcdir/tests/bench/pam_ldap_bench.sh" || rc=$?
if ((rc == 3)); then
	ANCHOR="skipped (needs root and nslcd, libpam-ldapd)"
elif ((rc != 0)); then
	echo "run.sh: the pam_ldap anchor failed ($rc)" >&2
	exit 1
fi

# ---------------------------------------------------------------- the floor
say "the floor: binds on a reused connection, argon2id hash and verify"
printf '%s' "${BENCH_PW[bench-s01]}" >"$TB_DIR/floor-s.pw"
printf '%s' "${BENCH_PW[bench-d01]}" >"$TB_DIR/floor-d.pw"
printf '%s' "${BENCH_PW[bench-a01]}" >"$TB_DIR/floor-a.pw"
"$FLOOR" bind --uri "$TB_LDAP_URI" --dn "uid=bench-s01,$TB_PEOPLE_BASE" \
	--pw-file "$TB_DIR/floor-s.pw" --n "$N_FLOOR" --warmup 50 --table "$TABLE" \
	--label 'floor: simple bind {SSHA}, reused connection' >&2
"$FLOOR" hash --ops "$CONF_OPSLIMIT" --mem-kib "$CONF_MEMLIMIT_KIB" --n "$N_HASH" --warmup 2 \
	--table "$TABLE" --label 'floor: libsodium argon2id hash, configured cost (19 MiB, t=2)' >&2
"$FLOOR" bind --uri "$TB_LDAP_URI" --dn "uid=bench-d01,$TB_PEOPLE_BASE" \
	--pw-file "$TB_DIR/floor-d.pw" --n "$N_HASH" --warmup 2 --table "$TABLE" \
	--label 'floor: slapd bind, argon2id at the configured cost' >&2
"$FLOOR" hash --ops "$ARGON_OPSLIMIT" --mem-kib $((ARGON_MEMLIMIT / 1024)) \
	--n $((N_HASH / 2)) --warmup 1 --table "$TABLE" \
	--label 'floor: libsodium argon2id hash, INTERACTIVE (64 MiB, t=2)' >&2
"$FLOOR" bind --uri "$TB_LDAP_URI" --dn "uid=bench-a01,$TB_PEOPLE_BASE" \
	--pw-file "$TB_DIR/floor-a.pw" --n $((N_HASH / 2)) --warmup 1 --table "$TABLE" \
	--label 'floor: slapd bind, argon2id INTERACTIVE ({ARGON2} accounts)' >&2

# ---------------------------------------------------------------- the reset service
"$TB_PYTHON" "$top_srcdir/tests/bench/reset_bench.py" --port "$RESET_PORT" \
	--pid "$TB_DAEMON_PID" --maildir "$TB_MAILDIR" --log "$TB_DAEMON_LOG" \
	--lua "$top_srcdir/tests/bench/reset_post.lua" --table "$TABLE" \
	--json "$TB_DIR/reset.json" --known-prefix bench-r --known-count "$N_RESET_ACCOUNTS" \
	--duration "$WRK_S" --hash-conc "$HASH_CONC" --conns "$N_CONNS"
read -r rss_end hwm_end thr_end < <(rss "$TB_DAEMON_PID")
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

mails=$(find "$TB_MAILDIR" -maxdepth 1 -name '*.eml' | wc -l)

# ---------------------------------------------------------------- report
report() {
	local model
	model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	printf 'Machine: %s CPU(s), %s, Linux %s; %s MiB RAM\n' "$(nproc)" "${model:-unknown CPU}" \
		"$(uname -r)" "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
	printf 'Load average before the run: %s; after: %s\n' "$LOAD_BEFORE" "$LOAD_AFTER"
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
	printf 'mailotpd memory (VmRSS / VmHWM kB, threads): idle %s / %s, %s; after {SSHA} runs %s / %s, %s; after all logins %s / %s, %s; at the end %s / %s, %s\n' \
		"$rss_idle" "$hwm_idle" "$thr_idle" "$rss_ssha" "$hwm_ssha" "$thr_ssha" \
		"$rss_logins" "$hwm_logins" "$thr_logins" "$rss_end" "$hwm_end" "$thr_end"
	printf 'idle VmRSS made of: %s; %s\n' "$RSS_IDLE_PARTS" "$RSS_IDLE_SHARE"
	printf '\npam_ldap anchor: %s\n\n' "$ANCHOR"
	"$TB_PYTHON" - "$TABLE" "$TB_DIR/reset.json" "$rss_idle" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    if len(c) >= 8:
        rows[c[0]] = c
reset = json.load(open(sys.argv[2]))
rss_idle = int(sys.argv[3])

def get(label, col):  # col: 3 median, 5 p99, 7 per s
    r = rows.get(label)
    try:
        return float(r[col]) if r else None
    except ValueError:
        return None

def f(v, fmt="%.2f"):
    return "–" if v is None else fmt % v

print("Pairs (mailotpd, daemon-side, password + mailed code / pam_ldap + nslcd, password only; same run):\n")
print("| case | mailotpd median ms | pam_ldap median ms | ratio | mailotpd per s | pam_ldap per s | ratio |")
print("|---|---|---|---|---|---|---|")
pairs = [("{SSHA} sequential", "pam_ldap {SSHA} sequential"),
         ("{SSHA} 4 concurrent", "pam_ldap {SSHA} 4 concurrent"),
         ("{SSHA} 16 concurrent", "pam_ldap {SSHA} 16 concurrent"),
         ("{SSHA} refusals: wrong password", "pam_ldap {SSHA} wrong password"),
         ("{SSHA} refusals: unknown account", "pam_ldap unknown account"),
         ("{ARGON2} sequential", "pam_ldap {ARGON2} sequential")]
for a, b in pairs:
    ma, mb, ra, rb = get(a, 3), get(b, 3), get(a, 7), get(b, 7)
    print("| %s | %s | %s | %s | %s | %s | %s |" % (
        a, f(ma), f(mb), f(ma / mb if ma and mb else None) + ("×" if ma and mb else ""),
        f(ra, "%.1f"), f(rb, "%.1f"), f(ra / rb if ra and rb else None) + ("×" if ra and rb else "")))

print("\nTargets (issue 6), from this run:\n")
print("| target | measured | met |")
print("|---|---|---|")
def target(name, ok, text):
    print("| %s | %s | %s |" % (name, text, "–" if ok is None else ("yes" if ok else "**no**")))
ma, mb = get("{SSHA} sequential", 3), get("pam_ldap {SSHA} sequential", 3)
target("login median ≤ 1.5 × pam_ldap's, {SSHA}", (ma / mb <= 1.5) if ma and mb else None,
       "%s / %s ms = %s×" % (f(ma), f(mb), f(ma / mb if ma and mb else None)))
ra, rb = get("{SSHA} 16 concurrent", 7), get("pam_ldap {SSHA} 16 concurrent", 7)
target("logins/s at 16 concurrent ≥ pam_ldap's", (ra >= rb) if ra and rb else None,
       "%s vs %s /s = %s×" % (f(ra, "%.1f"), f(rb, "%.1f"), f(ra / rb if ra and rb else None)))
g = reset["get"]["rps"]
target("GET / ≥ 10,000 req/s", g >= 10000, "%.0f req/s" % g)
p = reset["post_unknown"]["rps"]
target("POST /request (unknown) ≥ 2,000 req/s", p >= 2000, "%.0f req/s" % p)
h = reset["get_hashing"]["p99"]
target("GET p99 ≤ 20 ms while %d POST /reset hash" % 50, h <= 20,
       "%.2f ms (%.2f ms without)" % (h, reset["get"]["p99"]))
target("RSS ≤ 8 MiB idle", rss_idle <= 8192, "%.1f MiB" % (rss_idle / 1024))
print()
k, u = reset["post_known"], reset["post_unknown"]
print("POST /request, known vs unknown address: median %.2f vs %.2f ms, p99 %.2f vs %.2f ms, %.0f vs %.0f req/s; "
      "%d mails during the known run (%d once the queue drained), %d requests dropped by the full background queue (answer unchanged)"
      % (k["p50"], u["p50"], k["p99"], u["p99"], k["rps"], u["rps"], reset["mails_during_known"],
         reset["mails_after_known"], reset["drops_total"]))
r = reset["reset_posts"]
print("POST /reset during the GET run: %d done (statuses %s), %.1f/s, median %.1f ms, p99 %.1f ms; tokens available %d"
      % (r["n"], r["statuses"], r["per_s"], r["median"], r["p99"], reset["tokens"]))
c, b = reset["rss_conns"], reset["rss_before_conns"]
print("mailotpd with %d idle connections open (%d still open when read): VmRSS %d kB (before %d kB), "
      "threads %d, fds %d; after they closed: %d kB"
      % (reset["conns"], reset["conns_open"], c["VmRSS"], b["VmRSS"], c["Threads"], c["fds"],
         reset["rss_after_conns"]["VmRSS"]))
PY
}
if [[ -n "${BENCH_OUT:-}" ]]; then
	report | tee "$BENCH_OUT"
else
	report
fi
