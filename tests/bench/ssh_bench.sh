#!/bin/bash
# SSH logins per second through Debian's OpenSSH sshd: the module's stack
# (examples/pam.d/sshd: LDAP password + mailed code) against the same sshd
# with pam_unix alone (the same account with a local password), N
# sequential logins each, driven by python3-pexpect. Part of `make bench`
# (tests/bench/bench.mk), optional: needs root, openssh-server,
# openssh-client, python3-pexpect and unshare; without them it says why and
# exits 3. Not a test: nothing here judges a time; it fails only when a
# login does not end as it must.
#
#   top_srcdir=... top_builddir=... tests/bench/ssh_bench.sh
#
# As in tests/ssh_e2e.sh, sshd runs in a private mount namespace
# (unshare -m) over a private /etc/pam.d, passwd, group and shadow, with a
# throwaway account mo-bench (LDAP {SSHA} password, and the same password
# in the private shadow as sha512crypt, openssl passwd -6): the machine's
# /etc never changes. Between the two runs only the namespace's
# /etc/pam.d/sshd is swapped (libpam reads it at every login):
#   mailotp:  examples/pam.d/sshd as shipped (auth required pam_mailotp.so;
#             account pam_mailotp.so + common-account)
#   pam_unix: the same file with "auth required pam_unix.so" in place of
#             the pam_mailotp.so auth line and no pam_mailotp.so account or
#             password line
# One login: spawn ssh (keyboard-interactive) .. the remote command's
# output .. ssh's exit. The mailotp login includes the mail: SMTP to the
# test-bed's sink, and the driver polling the maildir every 5 ms for the
# code (that wait is also reported on its own).
#
# Knobs (environment):
#   BENCH_SSH_N=30       logins for each stack (after 2 warm-up logins)
#   BENCH_OUT=FILE       also append the table to FILE
set -uo pipefail

: "${top_srcdir:?top_srcdir must be set (make bench sets it)}"
: "${top_builddir:?top_builddir must be set (make bench sets it)}"
N=${BENCH_SSH_N:-30}
SSHD=/usr/sbin/sshd
PAM_MODULE="$top_builddir/pam_module/.libs/pam_mailotp.so"

skip() {
	echo "ssh_bench: skipped: $*" >&2
	exit 3
}
((EUID == 0)) || skip "needs root (local accounts, a mount namespace, sshd)"
[[ -x "$SSHD" ]] || skip "no $SSHD (apt-get install openssh-server)"
[[ -x /usr/bin/ssh && -x /usr/bin/ssh-keygen ]] || skip "no ssh (apt-get install openssh-client)"
/usr/bin/python3 -c 'import pexpect' 2>/dev/null || skip "no python3-pexpect"
unshare --mount --propagation private true 2>/dev/null || skip "unshare --mount is not permitted here"
[[ -f "$PAM_MODULE" ]] || { echo "ssh_bench: module not built: $PAM_MODULE" >&2; exit 1; }
! ldd "$PAM_MODULE" 2>/dev/null | grep -q 'libasan\|libubsan' ||
	skip "pam_mailotp.so is built with sanitizers, which sshd cannot load"

export TB_SLAPD_DEBUG=0 # slapd -d 0: no line per LDAP operation
# shellcheck source=tests/testbed/testbed.sh
. "$top_srcdir/tests/testbed/testbed.sh"
say() { printf '# %s\n' "$*" >&2; }

SSHD_PID=''
bench_cleanup() {
	[[ -z "$SSHD_PID" ]] || _tb_kill_wait "$SSHD_PID" 5
	SSHD_PID=''
}
tb_init
trap '_rc=$?; bench_cleanup; (exit $_rc); tb_cleanup' EXIT
tb_start_slapd || exit 1
tb_start_smtp || exit 1
tb_write_config "$TB_DIR/mailotp.conf" otp_resend_interval 0 otp_lockout_failures 1000
tb_start_daemon "$TB_DIR/mailotp.conf" || exit 1

USER_=mo-bench
PW='Bench-Ssh-Passw0rd!'
ETC=$TB_DIR/etc
mkdir -p "$ETC" "$TB_DIR/home"
cp -a /etc/pam.d "$ETC/pam.d"
cp /etc/passwd /etc/group /etc/shadow "$ETC/"
uid=61200
while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
printf '%s:x:%d:%d:mailotp ssh bench:%s:/bin/sh\n' "$USER_" "$uid" "$uid" "$TB_DIR/home" >>"$ETC/passwd"
printf '%s:x:%d:\n' "$USER_" "$uid" >>"$ETC/group"
printf '%s:%s:%d:0:99999:7:::\n' "$USER_" "$(printf '%s' "$PW" | openssl passwd -6 -stdin)" \
	$(($(date +%s) / 86400)) >>"$ETC/shadow"
chmod 0644 "$ETC/passwd" "$ETC/group"
chmod 0640 "$ETC/shadow"
chown "$uid:$uid" "$TB_DIR/home"
chmod 0711 "$TB_DIR" # the account's home is below it
hash=$(printf 'ssha %s\n' "$PW" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py") || exit 1
printf 'dn: uid=%s,%s\nobjectClass: inetOrgPerson\nobjectClass: mailotpAccount\nuid: %s\ncn: %s\nsn: Bench\nmail: %s@example.org\nuserPassword: %s\n\n' \
	"$USER_" "$TB_PEOPLE_BASE" "$USER_" "$USER_" "$USER_" "$hash" | tb_ldap_modify -a >/dev/null || exit 1

service_mailotp() {
	sed -e '/^[[:space:]]*#/!s|pam_mailotp\.so|'"$PAM_MODULE socket=$TB_PAM_SOCKET"'|' \
		"$top_srcdir/examples/pam.d/sshd" >"$ETC/pam.d/sshd.tmp" && mv -f "$ETC/pam.d/sshd.tmp" "$ETC/pam.d/sshd"
}
service_unix() {
	sed -e 's|^auth[[:space:]]\+required[[:space:]]\+pam_mailotp\.so.*|auth       required     pam_unix.so|' \
		-e '/^account.*pam_mailotp\.so/d' -e '/^password.*pam_mailotp\.so/d' \
		"$top_srcdir/examples/pam.d/sshd" >"$ETC/pam.d/sshd.tmp" && mv -f "$ETC/pam.d/sshd.tmp" "$ETC/pam.d/sshd"
	! grep -v '^[[:space:]]*#' "$ETC/pam.d/sshd" | grep -q pam_mailotp || { echo "ssh_bench: pam_unix stack still has pam_mailotp" >&2; exit 1; }
}
service_mailotp

SD=$TB_DIR/sshd
mkdir -m 0700 "$SD"
ssh-keygen -q -t ed25519 -N '' -C mailotp-bench -f "$SD/host_ed25519" >/dev/null || exit 1
SSH_PORT=$(tb_free_port)
cat >"$SD/sshd_config" <<CONF
Include $top_srcdir/examples/sshd_config.d/mailotp.conf
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SD/host_ed25519
PidFile $SD/sshd.pid
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel INFO
CONF
[[ -d /run/sshd ]] || install -d -m 0755 /run/sshd
"$SSHD" -t -f "$SD/sshd_config" || exit 1
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	for f in pam.d passwd group shadow; do mount --bind "$1/$f" "/etc/$f"; done
	exec "$2" -D -f "$3" -E "$4"' ssh-ns "$ETC" "$SSHD" "$SD/sshd_config" "$SD/sshd.log" \
	</dev/null >>"$SD/sshd.stderr" 2>&1 &
SSHD_PID=$!
deadline=$(($(date +%s) + TB_START_TIMEOUT))
until (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; do
	_tb_alive "$SSHD_PID" || { echo "ssh_bench: sshd exited at start" >&2; cat "$SD/sshd.stderr" >&2; exit 1; }
	(($(date +%s) < deadline)) || { echo "ssh_bench: sshd did not listen" >&2; exit 1; }
	sleep 0.05
done

# drive MODE N: N+2 logins, prints one line per measured login:
# "total_ms code_wait_ms", then "WALL ms" for the N measured ones
drive() {
	"$TB_PYTHON" - "$1" "$2" "$SSH_PORT" "$USER_" "$PW" "$TB_MAILDIR" "$USER_@example.org" <<'PY'
import os, sys, time
import pexpect
mode, n, port, user, pw, maildir, addr = sys.argv[1:]
n = int(n)
sys.path.insert(0, os.path.join(os.environ["TB_SRCDIR"]))
import mailtool  # tests/testbed/mailtool.py

seen = set(os.listdir(maildir))

def new_code(timeout=20.0):
    """The code in the first mail to addr that arrived since the last one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = sorted(f for f in os.listdir(maildir)
                       if f.endswith(".eml") and not f.startswith(".") and f not in seen)
        for f in fresh:
            msg = mailtool.parse(os.path.join(maildir, f))
            seen.add(f)
            if addr in mailtool.recipients(msg):
                return mailtool.code_of(msg)
        time.sleep(0.005)
    raise RuntimeError("no code mailed to %s" % addr)

args = ["-F", "/dev/null", "-T", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", "PreferredAuthentications=keyboard-interactive",
        "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
        "-p", port, "%s@127.0.0.1" % user, "echo logged-in-ok"]
env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/"}
wall0 = None
for i in range(n + 2):
    if i == 2:
        wall0 = time.monotonic()
    t0 = time.monotonic()
    c = pexpect.spawn("/usr/bin/ssh", args, timeout=20, encoding="utf-8", env=env)
    c.delaybeforesend = None  # pexpect's default 50 ms pause before each send
    c.expect("Password: ?")
    c.sendline(pw)
    wait = 0.0
    if mode == "mailotp":
        c.expect("One-time code: ?")
        w0 = time.monotonic()
        code = new_code()
        wait = time.monotonic() - w0
        c.sendline(code)
    c.expect("logged-in-ok")
    c.expect(pexpect.EOF)
    c.close()
    t = time.monotonic() - t0
    if c.exitstatus != 0:
        sys.exit("login %d (%s): ssh exit %s" % (i, mode, c.exitstatus))
    if i >= 2:
        print("%.3f %.3f" % (t * 1000, wait * 1000))
print("WALL %.3f" % ((time.monotonic() - wall0) * 1000))
PY
}
export TB_SRCDIR

# stats FILE: "n median p99 max per_s wait_median" from drive's output
stats() {
	"$TB_PYTHON" - "$1" <<'PY'
import sys, statistics
rows, wall = [], None
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "WALL":
        wall = float(f[1])
    else:
        rows.append((float(f[0]), float(f[1])))
t = sorted(r[0] for r in rows)
w = sorted(r[1] for r in rows)
p99 = t[min(len(t) - 1, int(0.99 * len(t) + 0.5) - 1)]
print("%d %.1f %.1f %.1f %.2f %.1f" % (len(t), statistics.median(t), p99, t[-1],
                                      len(t) / (wall / 1000), statistics.median(w)))
PY
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "ssh_bench: $N logins through sshd with examples/pam.d/sshd (password + mailed code)"
service_mailotp
drive mailotp "$N" >"$TB_DIR/mailotp.out" || { echo "ssh_bench: the mailotp logins failed" >&2; exit 1; }
say "ssh_bench: $N logins through the same sshd with pam_unix alone"
service_unix
drive unix "$N" >"$TB_DIR/unix.out" || { echo "ssh_bench: the pam_unix logins failed" >&2; exit 1; }
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
read -r n_m med_m p99_m max_m ps_m wait_m < <(stats "$TB_DIR/mailotp.out")
read -r n_u med_u p99_u max_u ps_u _ < <(stats "$TB_DIR/unix.out")
ratio=$(awk -v a="$med_m" -v b="$med_u" 'BEGIN { printf "%.2f", a / b }')
ratio_ps=$(awk -v a="$ps_u" -v b="$ps_m" 'BEGIN { printf "%.2f", a / b }')
mails=$(find "$TB_MAILDIR" -maxdepth 1 -name '*.eml' | wc -l)

{
	printf '\nSSH logins through sshd (%s), sequential; load average before %s, after %s; %s mails\n\n' \
		"$("$SSHD" -V 2>&1 | head -1)" "$LOAD_BEFORE" "$LOAD_AFTER" "$mails"
	echo '| stack | n | median ms | p99 ms | max ms | logins/s | code wait median ms |'
	echo '|---|---|---|---|---|---|---|'
	printf '| sshd + pam_mailotp (password + mailed code) | %s | %s | %s | %s | %s | %s |\n' \
		"$n_m" "$med_m" "$p99_m" "$max_m" "$ps_m" "$wait_m"
	printf '| sshd + pam_unix (local password) | %s | %s | %s | %s | %s | – |\n' \
		"$n_u" "$med_u" "$p99_u" "$max_u" "$ps_u"
	printf '\nmedian ratio mailotp / pam_unix: %s; logins/s ratio pam_unix / mailotp: %s\n' "$ratio" "$ratio_ps"
} | tee -a "${BENCH_OUT:-/dev/null}"
