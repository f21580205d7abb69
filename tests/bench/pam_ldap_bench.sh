#!/bin/bash
# The anchor of docs/performance.md: the test-bed's directory through
# pam_ldap.so + nslcd (Debian libpam-ldapd, nslcd), password only, timed by
# tests/bench/pam_ldap_driver (one pam_start -> pam_authenticate -> pam_end
# per attempt). Called by tests/bench/run.sh with the test-bed running.
#
# nslcd reads only /etc/nslcd.conf and pam_ldap.so talks only to
# /run/nslcd/socket, so this runs in a private mount namespace
# (unshare -m): a tmpfs on /run and a private nslcd.conf bind-mounted over
# /etc/nslcd.conf. The machine's own files are never written, and every
# mount goes away with the namespace. The PAM service file is in a private
# directory read through pam_start_confdir() (no /etc/pam.d edit). Needs
# root (unshare, mount, nslcd's setuid to its user) and the packages
# libpam-ldapd and nslcd; without them it says why and exits 3.
#
# Environment (all required unless a default is shown):
#   DRIVER        tests/bench/pam_ldap_driver
#   TABLE         markdown rows are appended here
#   LDAP_URI      ldap://127.0.0.1:PORT/ of the test-bed's slapd
#   LDAP_BASE     where the accounts are (ou=people,...)
#   BIND_DN       the service account (it may search; anonymous may not)
#   BIND_PW_FILE  its password
#   SSHA_USERS    U:PW[,U:PW...] {SSHA} accounts with posixAccount
#   ARGON_USERS   U:PW[,...]     {ARGON2} accounts with posixAccount
#   N_SEQ=500 N_CONC=500 CONC="4 16" N_REFUSE=200 N_ARGON=30
#   WORKDIR       a private directory for nslcd.conf and the PAM service
set -euo pipefail

PAM_LDAP_SO=
for d in /usr/lib/x86_64-linux-gnu/security /lib/x86_64-linux-gnu/security \
	/usr/lib/security /lib/security; do
	[[ -e "$d/pam_ldap.so" ]] && PAM_LDAP_SO=$d/pam_ldap.so && break
done

if [[ "${1:-}" != --inside ]]; then
	if [[ $(id -u) != 0 ]] || ! command -v unshare >/dev/null || [[ -z "$PAM_LDAP_SO" ]] ||
		! command -v nslcd >/dev/null; then
		echo "pam_ldap_bench: needs root, unshare, nslcd and pam_ldap.so (apt-get install nslcd libpam-ldapd; then pam-auth-update --package --remove ldap)" >&2
		exit 3
	fi
	# a namespace of our own; its mounts are private: nothing propagates back
	exec unshare -m --propagation private "$BASH" "$0" --inside
fi

: "${DRIVER:?}" "${TABLE:?}" "${LDAP_URI:?}" "${LDAP_BASE:?}" "${BIND_DN:?}" \
	"${BIND_PW_FILE:?}" "${SSHA_USERS:?}" "${ARGON_USERS:?}" "${WORKDIR:?}"
N_SEQ=${N_SEQ:-500}
N_CONC=${N_CONC:-500}
CONC=${CONC:-4 16}
N_REFUSE=${N_REFUSE:-200}
N_ARGON=${N_ARGON:-30}

say() { printf '# %s\n' "$*" >&2; }

NSLCD_PID=
stop_nslcd() {
	[[ -n "$NSLCD_PID" ]] || return 0
	kill -TERM "$NSLCD_PID" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$NSLCD_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$NSLCD_PID" 2>/dev/null || true
	wait "$NSLCD_PID" 2>/dev/null || true
	NSLCD_PID=
}
trap stop_nslcd EXIT

# --- the private files, then the mounts (in this namespace only)
mkdir -p "$WORKDIR/pam.d"
(
	umask 077
	{
		printf 'uid nslcd\ngid nslcd\n'
		printf 'uri %s\nbase %s\n' "$LDAP_URI" "$LDAP_BASE"
		printf 'binddn %s\nbindpw %s\n' "$BIND_DN" "$(cat "$BIND_PW_FILE")"
		# the default filter, said out loud: the bench accounts carry posixAccount
		printf 'filter passwd (objectClass=posixAccount)\n'
	} >"$WORKDIR/nslcd.conf"
)
printf 'auth required %s\n' "$PAM_LDAP_SO" >"$WORKDIR/pam.d/bench-ldap"

mount -t tmpfs -o mode=0755,size=16m bench-run /run
mkdir -m 0755 /run/nslcd
chown nslcd:nslcd /run/nslcd
mount --bind "$WORKDIR/nslcd.conf" /etc/nslcd.conf

# -n: in the foreground, without -d's line per request (which would slow it)
nslcd -n </dev/null >>"$WORKDIR/nslcd.log" 2>&1 &
NSLCD_PID=$!
for _ in $(seq 200); do
	[[ -S /run/nslcd/socket ]] && break
	kill -0 "$NSLCD_PID" 2>/dev/null || { cat "$WORKDIR/nslcd.log" >&2; exit 1; }
	sleep 0.02
done
[[ -S /run/nslcd/socket ]] || { echo "pam_ldap_bench: nslcd did not start" >&2; exit 1; }
say "nslcd $NSLCD_PID up in a private mount namespace"

run() {
	local label=$1
	shift
	say "pam_ldap_driver: $label"
	"$DRIVER" --confdir "$WORKDIR/pam.d" --service bench-ldap --table "$TABLE" \
		--label "$label" "$@" >&2
}

run 'pam_ldap {SSHA} sequential' --users "$SSHA_USERS" --n "$N_SEQ" --concurrency 1
for c in $CONC; do
	run "pam_ldap {SSHA} $c concurrent" --users "$SSHA_USERS" --n "$N_CONC" --concurrency "$c"
done
run 'pam_ldap {SSHA} wrong password' --mode wrong --users "$SSHA_USERS" --n "$N_REFUSE" \
	--concurrency 1 --warmup 10
run 'pam_ldap unknown account' --mode unknown --users "$SSHA_USERS" --n "$N_REFUSE" \
	--concurrency 1 --warmup 10
run 'pam_ldap {ARGON2} sequential' --users "$ARGON_USERS" --n "$N_ARGON" --concurrency 1 \
	--warmup 2
stop_nslcd
