# shellcheck shell=bash
# mailotp test-bed: a private slapd, an SMTP sink and mailotpd, all under one
# temporary directory, for the integration tests and the demo stand.
#
#   . "$top_srcdir/tests/testbed/testbed.sh"
#   tb_init                      # $TB_DIR, trap tb_cleanup EXIT
#   tb_start_slapd               # dc=example,dc=org with the test accounts
#   tb_start_smtp                # accept mode; tb_smtp_mode switches later
#   tb_write_config "$TB_DIR/mailotp.conf" otp_digits 8
#   tb_start_daemon "$TB_DIR/mailotp.conf"
#   code=$(tb_mail_code alice@example.org)
#
# or the five set-up lines at once: tb_start_stack otp_digits 8
#
# Nothing outside $TB_DIR is written; /etc/ldap/schema/*.ldif and
# /usr/lib/ldap/*.so are only read.  No ldap.conf/ldaprc is read by the
# LDAP tools (LDAPNOINIT=1).  Every function is safe under
# `set -euo pipefail`: failures return non-zero with a message on stderr.
#
# Accounts (tb_user_dn / tb_user_pw / tb_user_mail give DN, password, mail):
#   alice   {SSHA}           mail alice@example.org, mailotpNotifyMail
#                            proxy-alice@example.org, departmentNumber 9N9Z
#   bob     {CRYPT}$6$       bob@example.org
#   carol   {ARGON2} argon2id m=4096,t=1,p=1 (libsodium)  carol@example.org
#   hanako  {SSHA}           cn 山田 花子, preferredLanguage ja, hanako@example.org
#   nomail  {SSHA}           no mail attribute
#   locked  {SSHA}           locked@example.org, pwdAccountLockedTime 000001010000Z
#   st*r, pa(re)n, o,brien   {SSHA}  star@, paren@, obrien@example.org
# ppolicy default: pwdMaxFailure 5, pwdLockout TRUE, pwdLockoutDuration 0
# (five wrong passwords lock an account until pwdAccountLockedTime is deleted,
# which also clears pwdFailureTime); olcPPolicyUseLockout TRUE, so a locked
# account's bind gives 49 plus "Account locked" in the ppolicy response
# control (for any password, right or wrong).
#
# Access (the service account $TB_SVC_DN, under ou=people only):
#   service account: reads everything; writes userPassword, mailotp*,
#     objectClass, pwdAccountLockedTime, pwdReset; adds (never deletes or
#     renames) entries; nothing else (not mail, not cn).
#   a user on their own entry: reads it (not userPassword, not
#     mailotpTokenHash); writes nothing.
#   anonymous: bind only.  Admin ($TB_ADMIN_DN, rootDN): everything.
#
# Knobs (environment, read when the function runs):
#   TB_KEEP=1            keep $TB_DIR after the test (path printed on stderr)
#   TB_SLAPD_DEBUG=LVL   slapd -d level (default "stats": every operation is
#                        logged to $TB_DIR/slapd/slapd.log; 0 for benchmarks)
#   TB_MAILOTPD=PATH     daemon binary (default $top_builddir/resetd/mailotpd)
#   TB_WAIT=S            seconds the tb_mail_* functions wait (default 10)

TB_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# ok/is/like/unlike/run_ok/run_fails/skip/skip_all/bail_out/diag/tap_plan/tap_done
# shellcheck source=tests/testbed/tap.sh
. "$TB_SRCDIR/tap.sh"
: "${top_srcdir:=$(cd "$TB_SRCDIR/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir

TB_PYTHON=/usr/bin/python3 # Debian's: a pyenv python3 on PATH lacks aiosmtpd
TB_SBIN=/usr/sbin
TB_MODULE_DIR=/usr/lib/ldap
TB_SCHEMA_DIR=/etc/ldap/schema
TB_START_TIMEOUT=10

export TB_BASE="dc=example,dc=org"
export TB_PEOPLE_BASE="ou=people,$TB_BASE"
export TB_ADMIN_DN="cn=admin,$TB_BASE"
export TB_SVC_DN="cn=mailotp,ou=services,$TB_BASE"
export TB_POLICY_DN="cn=default,ou=policies,$TB_BASE"

# login name -> password / mail / placeholder in data.ldif.in
TB_USERS=(alice bob carol hanako nomail locked 'st*r' 'pa(re)n' 'o,brien')
declare -gA TB_PASSWORDS=(
	[alice]='Alice-Passw0rd!' [bob]='Bob-Passw0rd!' [carol]='Carol-Passw0rd!'
	[hanako]='Hanako-Passw0rd!' [nomail]='Nomail-Passw0rd!'
	[locked]='Locked-Passw0rd!' ['st*r']='Star-Passw0rd!'
	['pa(re)n']='Paren-Passw0rd!' ['o,brien']='Obrien-Passw0rd!'
)
declare -gA TB_MAILS=(
	[alice]=alice@example.org [bob]=bob@example.org [carol]=carol@example.org
	[hanako]=hanako@example.org [nomail]='' [locked]=locked@example.org
	['st*r']=star@example.org ['pa(re)n']=paren@example.org
	['o,brien']=obrien@example.org
)
declare -gA TB_PLACEHOLDERS=(
	[alice]=ALICE_PW [bob]=BOB_PW [carol]=CAROL_PW [hanako]=HANAKO_PW
	[nomail]=NOMAIL_PW [locked]=LOCKED_PW ['st*r']=STAR_PW
	['pa(re)n']=PAREN_PW ['o,brien']=OBRIEN_PW
)
declare -gA TB_SCHEMES=(
	[bob]=crypt6 [carol]=argon2id
)

# --------------------------------------------------------------------------
# internal helpers

_tb_die() {
	printf 'testbed: %s\n' "$*" >&2
	return 1
}

_tb_need_init() {
	[[ -n "${_TB_OWNED:-}" && -d "$TB_DIR" ]] || _tb_die "call tb_init first"
}

# microseconds since the epoch, into _TB_NOW (no fork)
_tb_now() {
	_TB_NOW=${EPOCHREALTIME/[.,]/}
}

# true while PID exists and is not a zombie
_tb_alive() {
	local pid=$1 stat
	[[ -n "$pid" ]] || return 1
	# not $(<file): bash 5.2 exits under set -e when that file is gone
	read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
	stat=${stat##*) }
	[[ "${stat%% *}" != Z ]]
}

# _tb_kill_wait PID [TIMEOUT_S]: SIGTERM (and SIGCONT, in case it is
# stopped), wait for it to go, SIGKILL after TIMEOUT_S (default 10).
# Reaps it when it is our child; its exit status lands in _TB_STATUS.
_tb_kill_wait() {
	local pid=$1 timeout=${2:-10} deadline
	_TB_STATUS=
	[[ -n "$pid" ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	kill -CONT "$pid" 2>/dev/null || true
	_tb_now
	deadline=$((_TB_NOW + timeout * 1000000))
	while _tb_alive "$pid"; do
		_tb_now
		if ((_TB_NOW > deadline)); then
			printf 'testbed: pid %s ignored SIGTERM for %s s, killing\n' \
				"$pid" "$timeout" >&2
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$((_TB_NOW + 5000000))
		fi
		sleep 0.02
	done
	if wait "$pid" 2>/dev/null; then
		_TB_STATUS=0
	else
		_TB_STATUS=$?
	fi
	return 0
}

# random alphanumeric secret on stdout
_tb_secret() {
	local s
	s=$(head -c 24 /dev/urandom | base64)
	s=${s//[+\/=]/}
	printf '%s' "$s"
}

# url-encode a path for ldapi://
_tb_urlencode_path() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# last lines of a log, as TAP comments on stderr
_tb_dump_log() {
	local f=$1 n=${2:-30}
	[[ -s "$f" ]] || return 0
	printf '# --- last %s lines of %s\n' "$n" "$f" >&2
	tail -n "$n" "$f" | sed 's/^/#   /' >&2 || true
}

# --------------------------------------------------------------------------
# life cycle

# tb_init: create $TB_DIR (mode 0700) and register tb_cleanup on EXIT.
tb_init() {
	local parent=${TMPDIR:-/tmp}
	# _TB_OWNED (not exported) tells our own TB_DIR from a parent's
	[[ -z "${_TB_OWNED:-}" ]] ||
		_tb_die "tb_init: $TB_DIR already set up (tb_cleanup first)" || return 1
	# state inherited from a parent test-bed's environment is not ours
	unset TB_DIR TB_LDAP_PORT TB_LDAP_URI TB_LDAPI_URI TB_SLAPD_PID TB_SMTP_PORT \
		TB_SMTP_PID TB_DAEMON_PID TB_PAM_SOCKET TB_DAEMON_STATUS
	# the ldapi socket path must stay under 108 bytes
	((${#parent} <= 60)) || parent=/tmp
	TB_DIR=$(mktemp -d "$parent/mailotp-tb.XXXXXXXX") ||
		_tb_die "mktemp failed" || return 1
	chmod 0700 "$TB_DIR"
	export TB_DIR
	_TB_OWNED=1
	export TB_MAILDIR="$TB_DIR/mail"
	export TB_DAEMON_LOG="$TB_DIR/mailotpd.log"
	mkdir -p "$TB_MAILDIR"
	TB_SLAPD_PID='' TB_SMTP_PID='' TB_DAEMON_PID=''
	trap tb_cleanup EXIT
	# let INT/TERM run the EXIT trap too, so nothing is left running
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# tb_cleanup: stop everything the test-bed started and remove $TB_DIR
# (kept when TB_KEEP=1).  On a failing exit the logs' tails go to stderr.
tb_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -n "${_TB_OWNED:-}" ]] || return "$rc"
	tb_stop_daemon || true
	tb_stop_smtp || true
	tb_stop_slapd || true
	if ((rc != 0)) || ((${TAP_FAILED:-0} > 0)); then
		_tb_dump_log "$TB_DIR/slapd/slapd.log"
		_tb_dump_log "$TB_DIR/smtp.log"
		_tb_dump_log "$TB_DIR/mailotpd.log" 60
	fi
	if [[ "${TB_KEEP:-0}" == 1 ]]; then
		printf '# testbed: kept %s\n' "$TB_DIR" >&2
	else
		rm -rf -- "$TB_DIR" || true
	fi
	TB_DIR='' _TB_OWNED=''
	return "$rc"
}

# tb_free_port: print a free loopback TCP port (the kernel's pick).
tb_free_port() {
	"$TB_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# --------------------------------------------------------------------------
# accounts

# tb_user_dn LOGIN / tb_user_pw LOGIN / tb_user_mail LOGIN (empty for nomail)
tb_user_dn() {
	local u=$1
	[[ -n "${TB_PASSWORDS[$u]+x}" ]] || _tb_die "no test account '$u'" || return 1
	printf 'uid=%s,%s\n' "${u//,/\\,}" "$TB_PEOPLE_BASE"
}
tb_user_pw() {
	[[ -n "${TB_PASSWORDS[$1]+x}" ]] || _tb_die "no test account '$1'" || return 1
	printf '%s\n' "${TB_PASSWORDS[$1]}"
}
tb_user_mail() {
	[[ -n "${TB_MAILS[$1]+x}" ]] || _tb_die "no test account '$1'" || return 1
	printf '%s\n' "${TB_MAILS[$1]}"
}

# --------------------------------------------------------------------------
# slapd

# cn=config for slapadd -n0, on stdout
_tb_config_ldif() {
	local d=$1 rootpw_hash=$2 uid gid s svc=$TB_SVC_DN people=$TB_PEOPLE_BASE
	uid=$(id -u)
	gid=$(id -g)
	cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcArgsFile: $d/slapd.args
olcLogLevel: none
olcThreads: 8

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $TB_MODULE_DIR
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy
olcModuleLoad: argon2

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

EOF
	for s in core cosine inetorgperson nis; do
		cat "$TB_SCHEMA_DIR/$s.ldif" || return 1
		printf '\n'
	done
	cat "$top_srcdir/examples/ldap/mailotp.ldif" || return 1
	printf '\n'
	cat <<EOF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: {SSHA}
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $TB_BASE
olcRootDN: $TB_ADMIN_DN
olcRootPW: $rootpw_hash
olcDbDirectory: $d/data
olcDbMaxSize: 1073741824
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: mail eq
olcDbIndex: mailotpTokenHash eq
olcAccess: {0}to dn.subtree="$people" attrs=userPassword
  by dn.exact="$svc" write
  by anonymous auth
  by * none
olcAccess: {1}to attrs=userPassword
  by anonymous auth
  by * none
olcAccess: {2}to dn.subtree="$people" attrs=mailotpTokenHash,mailotpTokenInfo
  by dn.exact="$svc" write
  by * none
olcAccess: {3}to dn.subtree="$people" attrs=objectClass,@mailotpAccount,pwdAccountLockedTime,pwdReset
  by dn.exact="$svc" write
  by self read
  by * none
olcAccess: {4}to dn.base="$people" attrs=children
  by dn.exact="$svc" add
  by * none
olcAccess: {5}to dn.one="$people" attrs=entry
  by dn.exact="$svc" add
  by self read
  by * none
olcAccess: {6}to dn.subtree="$people"
  by dn.exact="$svc" read
  by self read
  by * none
olcAccess: {7}to *
  by * none

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
olcPPolicyDefault: $TB_POLICY_DN
olcPPolicyHashCleartext: FALSE
olcPPolicyUseLockout: TRUE
EOF
}

# data.ldif.in with fresh password hashes, on stdout
_tb_data_ldif() {
	local svc_pw=$1 u scheme input='' data i
	local -a hashes
	input+="ssha $svc_pw"$'\n'
	for u in "${TB_USERS[@]}"; do
		scheme=${TB_SCHEMES[$u]:-ssha}
		input+="$scheme ${TB_PASSWORDS[$u]}"$'\n'
	done
	mapfile -t hashes < <(printf '%s' "$input" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py")
	((${#hashes[@]} == ${#TB_USERS[@]} + 1)) ||
		_tb_die "pwhash.py made ${#hashes[@]} hashes" || return 1
	data=$(cat "$TB_SRCDIR/data.ldif.in") || return 1
	# bash 5.2 would put the match in for '&' in a replacement
	shopt -u patsub_replacement 2>/dev/null || true
	data=${data//@SVC_PW@/${hashes[0]}}
	i=1
	for u in "${TB_USERS[@]}"; do
		data=${data//@${TB_PLACEHOLDERS[$u]}@/${hashes[i]}}
		i=$((i + 1))
	done
	[[ ! "$data" =~ @[A-Z]+_PW@ ]] || _tb_die "unreplaced placeholder in data.ldif.in" || return 1
	printf '%s\n' "$data"
}

# ldapwhoami as admin over TCP; quiet, fails when slapd does not answer
_tb_slapd_answers() {
	LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$TB_ADMIN_DN" \
		-y "$TB_ADMIN_PW_FILE" -o nettimeout=1 >/dev/null 2>&1
}

# start slapd on the existing slapd.d and wait until it answers
_tb_slapd_launch() {
	local d=$TB_DIR/slapd child status deadline monitor=0
	rm -f "$d/slapd.pid"
	# with job control on, setsid would fork and $! would not be slapd
	[[ $- == *m* ]] && monitor=1 && set +m
	setsid "$TB_SBIN/slapd" -F "$d/slapd.d" -h "$TB_LDAP_URI $TB_LDAPI_URI" \
		-d "${TB_SLAPD_DEBUG:-stats}" </dev/null >>"$d/slapd.log" 2>&1 &
	child=$!
	((monitor)) && set -m
	_tb_now
	deadline=$((_TB_NOW + TB_START_TIMEOUT * 1000000))
	until _tb_slapd_answers; do
		if ! _tb_alive "$child"; then
			status=0
			wait "$child" 2>/dev/null || status=$?
			if ((status != 0)); then
				_tb_dump_log "$d/slapd.log"
				_tb_die "slapd exited with status $status at start" || return 1
			fi
		fi
		_tb_now
		if ((_TB_NOW > deadline)); then
			_tb_kill_wait "$child" 2
			_tb_dump_log "$d/slapd.log"
			_tb_die "slapd did not answer within $TB_START_TIMEOUT s" || return 1
		fi
		sleep 0.02
	done
	read -r TB_SLAPD_PID 2>/dev/null <"$d/slapd.pid" || TB_SLAPD_PID=$child
	TB_SLAPD_PID=${TB_SLAPD_PID//[!0-9]/}
	export TB_SLAPD_PID
}

# tb_start_slapd: build and start the directory (see the header comment).
tb_start_slapd() {
	_tb_need_init || return 1
	local d=$TB_DIR/slapd svc_pw rootpw_hash t0 try
	[[ -z "${TB_SLAPD_PID:-}" ]] || _tb_die "slapd already running" || return 1
	_tb_now
	t0=$_TB_NOW
	rm -rf -- "$d"
	mkdir -p "$d/slapd.d" "$d/data"
	chmod 0700 "$d"

	export TB_ADMIN_PW
	TB_ADMIN_PW=$(_tb_secret)
	export TB_ADMIN_PW_FILE="$TB_DIR/admin.pw"
	export TB_SVC_PW_FILE="$TB_DIR/svc.pw"
	svc_pw=$(_tb_secret)
	(
		umask 077
		printf '%s' "$TB_ADMIN_PW" >"$TB_ADMIN_PW_FILE"
		printf '%s' "$svc_pw" >"$TB_SVC_PW_FILE"
	)
	chmod 0600 "$TB_ADMIN_PW_FILE" "$TB_SVC_PW_FILE"
	rootpw_hash=$(printf 'ssha %s\n' "$TB_ADMIN_PW" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py") ||
		return 1

	_tb_config_ldif "$d" "$rootpw_hash" >"$d/config.ldif" || return 1
	_tb_data_ldif "$svc_pw" >"$d/data.ldif" || return 1
	"$TB_SBIN/slapadd" -q -n0 -F "$d/slapd.d" -l "$d/config.ldif" >>"$d/slapd.log" 2>&1 ||
		{ _tb_dump_log "$d/slapd.log"; _tb_die "slapadd -n0 failed"; return 1; }
	"$TB_SBIN/slapadd" -q -n1 -F "$d/slapd.d" -l "$d/data.ldif" >>"$d/slapd.log" 2>&1 ||
		{ _tb_dump_log "$d/slapd.log"; _tb_die "slapadd -n1 failed"; return 1; }

	TB_LDAPI_URI="ldapi://$(_tb_urlencode_path "$TB_DIR/ldapi")" || return 1
	export TB_LDAPI_URI
	# the free port may be taken between the probe and slapd's bind: retry
	for try in 1 2 3; do
		export TB_LDAP_PORT
		TB_LDAP_PORT=$(tb_free_port) || return 1
		export TB_LDAP_URI="ldap://127.0.0.1:$TB_LDAP_PORT/"
		if _tb_slapd_launch; then
			_tb_now
			export TB_SLAPD_START_MS=$(((_TB_NOW - t0) / 1000))
			return 0
		fi
		printf 'testbed: slapd start attempt %s failed\n' "$try" >&2
	done
	return 1
}

# tb_stop_slapd: SIGTERM slapd and wait until it is gone (LDAP down).
tb_stop_slapd() {
	[[ -n "${TB_SLAPD_PID:-}" ]] || return 0
	_tb_kill_wait "$TB_SLAPD_PID" 10
	TB_SLAPD_PID=''
}

# tb_restart_slapd: stop and start again on the same port with the same data.
tb_restart_slapd() {
	_tb_need_init || return 1
	[[ -n "${TB_LDAP_PORT:-}" ]] || _tb_die "tb_start_slapd first" || return 1
	tb_stop_slapd
	_tb_slapd_launch
}

# tb_pause_slapd / tb_resume_slapd: SIGSTOP / SIGCONT (a hung server:
# connections are accepted by the kernel but nothing answers).
tb_pause_slapd() {
	[[ -n "${TB_SLAPD_PID:-}" ]] || _tb_die "slapd is not running" || return 1
	kill -STOP "$TB_SLAPD_PID"
}
tb_resume_slapd() {
	[[ -n "${TB_SLAPD_PID:-}" ]] || _tb_die "slapd is not running" || return 1
	kill -CONT "$TB_SLAPD_PID"
}

# tb_ldap_search [ldapsearch args]: as admin over ldapi, -LLL, no wrapping,
# base $TB_BASE unless -b is given.  e.g.
#   tb_ldap_search -b "$(tb_user_dn alice)" -s base mailotpOtpFailures
tb_ldap_search() {
	_tb_need_init || return 1
	LDAPNOINIT=1 ldapsearch -x -H "$TB_LDAPI_URI" -D "$TB_ADMIN_DN" \
		-y "$TB_ADMIN_PW_FILE" -o ldif-wrap=no -o nettimeout=5 -LLL \
		-b "$TB_BASE" "$@"
}

# tb_ldap_modify [ldapmodify args]: as admin over ldapi; LDIF on stdin
# (or -f FILE); -a adds entries.
tb_ldap_modify() {
	_tb_need_init || return 1
	LDAPNOINIT=1 ldapmodify -x -H "$TB_LDAPI_URI" -D "$TB_ADMIN_DN" \
		-y "$TB_ADMIN_PW_FILE" -o nettimeout=5 "$@"
}

# tb_ldap_config_modify [ldapmodify args]: modify cn=config over ldapi as
# the current user (SASL EXTERNAL), e.g. to change the ppolicy overlay.
tb_ldap_config_modify() {
	_tb_need_init || return 1
	LDAPNOINIT=1 ldapmodify -Q -Y EXTERNAL -H "$TB_LDAPI_URI" -o nettimeout=5 "$@"
}

# tb_ldap_get DN ATTR: the values of ATTR on entry DN, one per line
# (base64 values decoded); nothing when the attribute is absent.
tb_ldap_get() {
	local dn=$1 attr=$2 line name value out
	out=$(tb_ldap_search -b "$dn" -s base "(objectClass=*)" "$attr") || return 1
	while IFS= read -r line; do
		name=${line%%:*}
		[[ "${name,,}" == "${attr,,}" ]] || continue
		value=${line#*:}
		if [[ "$value" == :* ]]; then
			value=${value#:}
			printf '%s\n' "${value# }" | base64 -d
			printf '\n'
		else
			printf '%s\n' "${value# }"
		fi
	done <<<"$out"
}

# --------------------------------------------------------------------------
# SMTP sink

_tb_smtp_modes=" accept refuse_rcpt refuse_data tempfail tarpit "

# tb_smtp_mode MODE: switch the running sink's mode (same port).
tb_smtp_mode() {
	_tb_need_init || return 1
	local mode=${1:-accept}
	[[ "$_tb_smtp_modes" == *" $mode "* ]] ||
		_tb_die "unknown SMTP sink mode '$mode'" || return 1
	printf '%s\n' "$mode" >"$TB_DIR/smtp.mode.tmp"
	mv -f "$TB_DIR/smtp.mode.tmp" "$TB_DIR/smtp.mode"
}

# tb_start_smtp [accept|refuse_rcpt|refuse_data|tempfail|tarpit]: start
# tests/testbed/smtp_sink.py (restarting it on the same port if it runs).
tb_start_smtp() {
	_tb_need_init || return 1
	local mode=${1:-accept} deadline
	tb_smtp_mode "$mode" || return 1
	tb_stop_smtp
	if [[ -z "${TB_SMTP_PORT:-}" ]]; then
		TB_SMTP_PORT=$(tb_free_port) || return 1
	fi
	export TB_SMTP_PORT
	rm -f "$TB_DIR/smtp.pid"
	"$TB_PYTHON" "$TB_SRCDIR/smtp_sink.py" --port "$TB_SMTP_PORT" \
		--maildir "$TB_MAILDIR" --mode-file "$TB_DIR/smtp.mode" \
		--pidfile "$TB_DIR/smtp.pid" </dev/null >>"$TB_DIR/smtp.log" 2>&1 &
	TB_SMTP_PID=$!
	export TB_SMTP_PID
	_tb_now
	deadline=$((_TB_NOW + TB_START_TIMEOUT * 1000000))
	# the pid file appears once the Controller has answered its own probe
	until [[ -s "$TB_DIR/smtp.pid" ]]; do
		_tb_now
		if ! _tb_alive "$TB_SMTP_PID" || ((_TB_NOW > deadline)); then
			_tb_kill_wait "$TB_SMTP_PID" 2
			TB_SMTP_PID=''
			_tb_dump_log "$TB_DIR/smtp.log"
			_tb_die "SMTP sink did not start on port $TB_SMTP_PORT" || return 1
		fi
		sleep 0.02
	done
}

# tb_stop_smtp: stop the sink (its port is kept for the next tb_start_smtp).
tb_stop_smtp() {
	[[ -n "${TB_SMTP_PID:-}" ]] || return 0
	_tb_kill_wait "$TB_SMTP_PID" 5
	TB_SMTP_PID=''
}

# tb_mail_count [ADDR]: messages stored (whose envelope recipients include ADDR)
tb_mail_count() {
	"$TB_PYTHON" "$TB_SRCDIR/mailtool.py" count "$TB_MAILDIR" "$@"
}

# tb_mail_wait ADDR N: wait (TB_WAIT s) until N messages to ADDR are stored
tb_mail_wait() {
	"$TB_PYTHON" "$TB_SRCDIR/mailtool.py" wait "$TB_MAILDIR" "$1" "$2" \
		--wait "${TB_WAIT:-10}"
}

# tb_mail_code ADDR [MIN_COUNT]: the digit-only line of the newest message
# to ADDR, waiting up to TB_WAIT (10) s for MIN_COUNT (1) messages to ADDR
# whose newest has one.  Pass MIN_COUNT=$(( $(tb_mail_count ADDR) + 1 ))
# to be sure not to read an older code.  Exit 1 if none.
tb_mail_code() {
	"$TB_PYTHON" "$TB_SRCDIR/mailtool.py" code "$TB_MAILDIR" "$1" \
		--wait "${TB_WAIT:-10}" --min-count "${2:-1}"
}

# tb_mail_last ADDR [NTH]: the newest (or NTH, 0 = oldest) message to ADDR,
# decoded: headers, a blank line, the text body.  Exit 1 if none.
tb_mail_last() {
	"$TB_PYTHON" "$TB_SRCDIR/mailtool.py" show "$TB_MAILDIR" "$1" --nth "${2:--1}"
}

# tb_mail_settle: wait (at most 20 s) until no mail has arrived for 0.5 s,
# so that mail still in mailotpd's background queue (reset links,
# "password changed" notices) is counted where it belongs
tb_mail_settle() {
	local last=-1 now _
	for _ in $(seq 40); do
		now=$(tb_mail_count)
		[[ "$now" == "$last" ]] && return 0
		last=$now
		sleep 0.5
	done
	return 0
}

# tb_mail_clear: forget every stored message
tb_mail_clear() {
	_tb_need_init || return 1
	find "$TB_MAILDIR" -maxdepth 1 -type f -name '*.eml' -delete
}

# --------------------------------------------------------------------------
# mailotpd

# tb_write_config FILE [KEY VALUE]...: a mailotp.conf for the test-bed;
# each KEY VALUE pair replaces a default or adds a key; an empty VALUE
# removes the key (to test a missing required key).
tb_write_config() {
	_tb_need_init || return 1
	local file=$1 key
	shift
	(($# % 2 == 0)) || _tb_die "tb_write_config: KEY without VALUE" || return 1
	local -a keys=(ldap_uri ldap_base ldap_bind_dn ldap_bind_pw_file smtp_url
		smtp_starttls mail_from user pam_socket reset_listen template_dir
		otp_resend_interval)
	local -A conf=(
		[ldap_uri]="${TB_LDAP_URI:-}"
		[ldap_base]="$TB_PEOPLE_BASE"
		[ldap_bind_dn]="$TB_SVC_DN"
		[ldap_bind_pw_file]="${TB_SVC_PW_FILE:-}"
		[smtp_url]="smtp://127.0.0.1:${TB_SMTP_PORT:-}"
		[smtp_starttls]=no
		[mail_from]=mailotp@example.org
		[user]=root
		[pam_socket]="$TB_DIR/pam.sock"
		[reset_listen]=none
		[template_dir]="$top_srcdir/examples/templates"
		[otp_resend_interval]=0
	)
	while (($# > 0)); do
		[[ -n "${conf[$1]+x}" ]] || keys+=("$1")
		conf[$1]=$2
		shift 2
	done
	[[ -n "${conf[ldap_uri]}" && -n "${conf[ldap_bind_pw_file]}" ]] ||
		_tb_die "tb_write_config: tb_start_slapd first (or give ldap_uri and ldap_bind_pw_file)" ||
		return 1
	[[ "${conf[smtp_url]}" != *: ]] ||
		_tb_die "tb_write_config: tb_start_smtp first (or give smtp_url)" || return 1
	{
		printf '# mailotp.conf written by tb_write_config\n'
		for key in "${keys[@]}"; do
			[[ -n "${conf[$key]}" ]] || continue
			printf '%s %s\n' "$key" "${conf[$key]}"
		done
	} >"$file.tmp"
	chmod 0640 "$file.tmp"
	mv -f "$file.tmp" "$file"
}

# wait until the UNIX socket accepts; fail early when PID dies
_tb_wait_unix_socket() {
	"$TB_PYTHON" - "$1" "$2" "$3" <<'EOF'
import os, socket, sys, time
path, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        s.connect(path)
        s.close()
        sys.exit(0)
    except OSError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                sys.exit(2)
    except FileNotFoundError:
        sys.exit(2)
    time.sleep(0.02)
sys.exit(1)
EOF
}

# tb_start_daemon CONF [ARGS...]: run mailotpd -f -c CONF in the background
# (stdout and stderr to $TB_DAEMON_LOG) and wait until its pam_socket
# accepts (bounded).  Exports TB_DAEMON_PID and TB_PAM_SOCKET.
tb_start_daemon() {
	_tb_need_init || return 1
	local conf=$1 bin=${TB_MAILOTPD:-$top_builddir/resetd/mailotpd} sock rc=0
	shift
	[[ -z "${TB_DAEMON_PID:-}" ]] || _tb_die "mailotpd already running" || return 1
	[[ -x "$bin" ]] || _tb_die "mailotpd not built: $bin" || return 1
	sock=$(awk '$1 == "pam_socket" { p = $2 } END { print p }' "$conf") || return 1
	[[ -n "$sock" ]] || _tb_die "$conf has no pam_socket (the default is outside \$TB_DIR)" ||
		return 1
	export TB_PAM_SOCKET=$sock
	"$bin" -f -c "$conf" "$@" </dev/null >>"$TB_DAEMON_LOG" 2>&1 &
	TB_DAEMON_PID=$!
	export TB_DAEMON_PID
	_tb_wait_unix_socket "$sock" "$TB_DAEMON_PID" "$TB_START_TIMEOUT" || rc=$?
	if ((rc != 0)); then
		_tb_kill_wait "$TB_DAEMON_PID" 2
		TB_DAEMON_PID=''
		_tb_dump_log "$TB_DAEMON_LOG"
		if ((rc == 2)); then
			_tb_die "mailotpd exited at start (status $_TB_STATUS)"
		else
			_tb_die "mailotpd's socket $sock did not accept within $TB_START_TIMEOUT s"
		fi
		return 1
	fi
}

# tb_start_stack [KEY VALUE]...: the usual test-bed in one call: tb_init,
# slapd, the SMTP sink accepting, $TB_DIR/mailotp.conf written with these
# keys (as tb_write_config) and mailotpd on it. Bails out of the test when
# a part does not start.
tb_start_stack() {
	tb_init
	tb_start_slapd || bail_out "slapd did not start"
	tb_start_smtp || bail_out "SMTP sink did not start"
	tb_write_config "$TB_DIR/mailotp.conf" "$@" || bail_out "cannot write mailotp.conf"
	tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
}

# tb_start_web_stack [KEY VALUE]...: tb_start_stack with the reset web
# service on a free loopback port (reset_listen, reset_public_url) and
# these keys, then waits until /healthz answers. Sets PORT, U (the base
# URL) and CONF ($TB_DIR/mailotp.conf) for the test.
tb_start_web_stack() {
	PORT=$(tb_free_port)
	U="http://127.0.0.1:$PORT"
	tb_start_stack reset_listen "127.0.0.1:$PORT" reset_public_url "$U" "$@"
	CONF="$TB_DIR/mailotp.conf"
	for _ in $(seq 100); do
		curl -s -o /dev/null "$U/healthz" && break
		sleep 0.05
	done
}

# tb_web_page URL [curl options]...: one request to the reset pages with
# the cookie jar $TB_DIR/web.jar, as client 198.51.100.7 (X-Forwarded-For:
# the daemon must list 127.0.0.1 in reset_trusted_proxies); the body goes
# to $TB_DIR/web.body (a file, so that it works in $(...) too), the HTTP
# status is printed.
tb_web_page() {
	curl -sS -c "$TB_DIR/web.jar" -b "$TB_DIR/web.jar" -H 'X-Forwarded-For: 198.51.100.7' \
		-o "$TB_DIR/web.body" -w '%{http_code}' "$@"
}

# tb_web_csrf: the CSRF form value of the last page tb_web_page fetched.
tb_web_csrf() {
	sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$TB_DIR/web.body"
}

# tb_web_reset_link BASE ADDRESS: asks for a reset link for ADDRESS through
# the request form at BASE, waits for the mail and prints the link (empty
# when none came).
tb_web_reset_link() {
	tb_web_page "$1/" >/dev/null
	tb_web_page --data-urlencode "csrf=$(tb_web_csrf)" --data-urlencode "email=$2" \
		--data-urlencode "email_confirm=$2" "$1/request" >/dev/null
	tb_mail_wait "$2" 1 >/dev/null 2>&1
	tb_mail_last "$2" | grep -o "http[^ ]*/reset?token=[A-Za-z0-9_-]*" | tail -n 1
}

# tb_stop_daemon: SIGTERM mailotpd and wait; its exit status is left in
# TB_DAEMON_STATUS (143 or 137 means it died of the signal).
tb_stop_daemon() {
	[[ -n "${TB_DAEMON_PID:-}" ]] || return 0
	_tb_kill_wait "$TB_DAEMON_PID" 10
	export TB_DAEMON_STATUS=$_TB_STATUS
	TB_DAEMON_PID=''
}

# tb_reload_daemon: SIGHUP (reload config and templates)
tb_reload_daemon() {
	[[ -n "${TB_DAEMON_PID:-}" ]] || _tb_die "mailotpd is not running" || return 1
	kill -HUP "$TB_DAEMON_PID"
}

# --------------------------------------------------------------------------
# two directory servers in multi-provider replication
#
#   tb_start_slapd_pair          # instead of tb_start_slapd
#   tb_stop_slapd_n 1            # LDAP 1 down (SIGTERM, waited for)
#   tb_restart_slapd_n 1         # back on the same port, same data
#   tb_repl_pause_n 2            # server 2 stops pulling from server 1
#   tb_repl_resume_n 2           # and catches up
#   tb_repl_sync_wait            # both contextCSNs equal (ms in TB_REPL_MS)
#   tb_ldap_search_n N ... / tb_ldap_get_n N DN ATTR   # on server N
#
# Server N (1 or 2): olcServerID N, the syncprov overlay, one olcSyncrepl
# (refreshAndPersist, retry every second) pulling from the other server as
# the rootDN, olcMultiProvider TRUE; its own random loopback port, data dir
# and ldapi socket; the same data (server 2 is loaded from slapcat of
# server 1, so entryUUIDs and CSNs agree).  Server 1 lives in $TB_DIR/slapd
# and is also "the" test-bed slapd: TB_LDAP_URI, TB_LDAPI_URI, TB_SLAPD_PID
# point to it, so tb_ldap_search/tb_ldap_modify/tb_write_config default to
# it.  Exports TB_LDAP_URI1/2, TB_LDAPI_URI1/2, TB_LDAP_PORT1/2,
# TB_SLAPD_PID1/2, TB_SLAPD_DIR1/2 (slapd.log with -d stats in each).
# The EXIT trap becomes tb_pair_cleanup (server 2, then tb_cleanup).

# tb_have_syncprov: true when slapd's syncprov module is installed
tb_have_syncprov() {
	[[ -e "$TB_MODULE_DIR/syncprov.la" && -e "$TB_MODULE_DIR/syncprov.so" ]]
}

_tb_pair_dir() {
	if [[ "$1" == 1 ]]; then printf '%s' "$TB_DIR/slapd"; else printf '%s' "$TB_DIR/slapd$1"; fi
}

# the olcSyncrepl value of server N (pulling from the other one)
_tb_pair_syncrepl() {
	local n=$1 port
	port=TB_LDAP_PORT$((3 - n))
	printf 'rid=%03d provider=ldap://127.0.0.1:%s/ bindmethod=simple binddn="%s" credentials=%s searchbase="%s" type=refreshAndPersist retry="1 +" timeout=2 network-timeout=2' \
		"$((3 - n))" "${!port}" "$TB_ADMIN_DN" "$TB_ADMIN_PW" "$TB_BASE"
}

# cn=config of server N: the single-server one plus sid, syncprov, syncrepl
_tb_pair_config_ldif() {
	local n=$1 d=$2 rootpw_hash=$3 syncrepl
	syncrepl=$(_tb_pair_syncrepl "$n")
	_tb_config_ldif "$d" "$rootpw_hash" | awk -v sid="$n" -v sr="$syncrepl" '
		/^olcThreads:/ { print; print "olcServerID: " sid; next }
		/^olcModuleLoad: argon2$/ { print; print "olcModuleLoad: syncprov"; next }
		/^olcDbIndex: mailotpTokenHash eq$/ {
			print; print "olcDbIndex: entryCSN eq"; print "olcDbIndex: entryUUID eq"
			print "olcSyncrepl: " sr; print "olcMultiProvider: TRUE"; next }
		{ print }' || return 1
	printf '\n%s\n' "dn: olcOverlay={1}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {1}syncprov
olcSpCheckpoint: 100 1"
}

_tb_pair_answers() {
	LDAPNOINIT=1 ldapwhoami -x -H "$1" -D "$TB_ADMIN_DN" \
		-y "$TB_ADMIN_PW_FILE" -o nettimeout=1 >/dev/null 2>&1
}

# start server N on its slapd.d and wait until it answers
_tb_pair_launch() {
	local n=$1 d uri ldapi child status deadline monitor=0 pid
	d=$(_tb_pair_dir "$n")
	uri=TB_LDAP_URI$n
	ldapi=TB_LDAPI_URI$n
	rm -f "$d/slapd.pid"
	[[ $- == *m* ]] && monitor=1 && set +m
	setsid "$TB_SBIN/slapd" -F "$d/slapd.d" -h "${!uri} ${!ldapi}" \
		-d "${TB_SLAPD_DEBUG:-stats}" </dev/null >>"$d/slapd.log" 2>&1 &
	child=$!
	((monitor)) && set -m
	_tb_now
	deadline=$((_TB_NOW + TB_START_TIMEOUT * 1000000))
	until _tb_pair_answers "${!uri}"; do
		if ! _tb_alive "$child"; then
			status=0
			wait "$child" 2>/dev/null || status=$?
			_tb_dump_log "$d/slapd.log"
			_tb_die "slapd $n exited with status $status at start" || return 1
		fi
		_tb_now
		if ((_TB_NOW > deadline)); then
			_tb_kill_wait "$child" 2
			_tb_dump_log "$d/slapd.log"
			_tb_die "slapd $n did not answer within $TB_START_TIMEOUT s" || return 1
		fi
		sleep 0.02
	done
	read -r pid 2>/dev/null <"$d/slapd.pid" || pid=$child
	pid=${pid//[!0-9]/}
	printf -v "TB_SLAPD_PID$n" '%s' "$pid"
	export "TB_SLAPD_PID$n"
	if [[ "$n" == 1 ]]; then
		export TB_SLAPD_PID=$pid
	fi
}

# build both servers' directories for the ports in TB_LDAP_PORT1/2
_tb_pair_build() {
	local svc_pw=$1 rootpw_hash=$2 n d port
	for n in 1 2; do
		d=$(_tb_pair_dir "$n")
		rm -rf -- "$d"
		mkdir -p "$d/slapd.d" "$d/data"
		chmod 0700 "$d"
		port=TB_LDAP_PORT$n
		printf -v "TB_SLAPD_DIR$n" '%s' "$d"
		printf -v "TB_LDAP_URI$n" 'ldap://127.0.0.1:%s/' "${!port}"
		printf -v "TB_LDAPI_URI$n" 'ldapi://%s' "$(_tb_urlencode_path "$TB_DIR/ldapi$n")"
		export "TB_SLAPD_DIR$n" "TB_LDAP_URI$n" "TB_LDAPI_URI$n"
	done
	for n in 1 2; do
		d=$(_tb_pair_dir "$n")
		_tb_pair_config_ldif "$n" "$d" "$rootpw_hash" >"$d/config.ldif" || return 1
		"$TB_SBIN/slapadd" -q -n0 -F "$d/slapd.d" -l "$d/config.ldif" >>"$d/slapd.log" 2>&1 ||
			{ _tb_dump_log "$d/slapd.log"; _tb_die "slapadd -n0 (server $n) failed"; return 1; }
	done
	d=$(_tb_pair_dir 1)
	_tb_data_ldif "$svc_pw" >"$d/data.ldif" || return 1
	"$TB_SBIN/slapadd" -q -w -n1 -F "$d/slapd.d" -l "$d/data.ldif" >>"$d/slapd.log" 2>&1 ||
		{ _tb_dump_log "$d/slapd.log"; _tb_die "slapadd -n1 (server 1) failed"; return 1; }
	# the same entries, entryUUIDs and CSNs on server 2
	"$TB_SBIN/slapcat" -n1 -F "$d/slapd.d" -l "$(_tb_pair_dir 2)/data.ldif" >>"$d/slapd.log" 2>&1 ||
		{ _tb_dump_log "$d/slapd.log"; _tb_die "slapcat (server 1) failed"; return 1; }
	d=$(_tb_pair_dir 2)
	"$TB_SBIN/slapadd" -q -n1 -F "$d/slapd.d" -l "$d/data.ldif" >>"$d/slapd.log" 2>&1 ||
		{ _tb_dump_log "$d/slapd.log"; _tb_die "slapadd -n1 (server 2) failed"; return 1; }
}

# tb_start_slapd_pair: build and start two replicating servers (see above).
tb_start_slapd_pair() {
	_tb_need_init || return 1
	local svc_pw rootpw_hash t0 try
	[[ -z "${TB_SLAPD_PID:-}" ]] || _tb_die "slapd already running" || return 1
	tb_have_syncprov || _tb_die "no syncprov module in $TB_MODULE_DIR" || return 1
	_tb_now
	t0=$_TB_NOW
	export TB_ADMIN_PW
	TB_ADMIN_PW=$(_tb_secret)
	export TB_ADMIN_PW_FILE="$TB_DIR/admin.pw"
	export TB_SVC_PW_FILE="$TB_DIR/svc.pw"
	svc_pw=$(_tb_secret)
	(
		umask 077
		printf '%s' "$TB_ADMIN_PW" >"$TB_ADMIN_PW_FILE"
		printf '%s' "$svc_pw" >"$TB_SVC_PW_FILE"
	)
	chmod 0600 "$TB_ADMIN_PW_FILE" "$TB_SVC_PW_FILE"
	rootpw_hash=$(printf 'ssha %s\n' "$TB_ADMIN_PW" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py") ||
		return 1
	trap tb_pair_cleanup EXIT
	for try in 1 2 3; do
		export TB_LDAP_PORT1 TB_LDAP_PORT2
		TB_LDAP_PORT1=$(tb_free_port) || return 1
		TB_LDAP_PORT2=$(tb_free_port) || return 1
		[[ "$TB_LDAP_PORT1" != "$TB_LDAP_PORT2" ]] || continue
		_tb_pair_build "$svc_pw" "$rootpw_hash" || return 1
		export TB_LDAP_PORT=$TB_LDAP_PORT1 TB_LDAP_URI=$TB_LDAP_URI1 TB_LDAPI_URI=$TB_LDAPI_URI1
		if _tb_pair_launch 1 && _tb_pair_launch 2; then
			_tb_now
			export TB_SLAPD_START_MS=$(((_TB_NOW - t0) / 1000))
			return 0
		fi
		printf 'testbed: slapd pair start attempt %s failed\n' "$try" >&2
		tb_stop_slapd_n 2 || true
		tb_stop_slapd_n 1 || true
	done
	return 1
}

# tb_stop_slapd_n N: SIGTERM server N and wait until it is gone.
tb_stop_slapd_n() {
	local n=$1 pidvar
	pidvar=TB_SLAPD_PID$n
	[[ -n "${!pidvar:-}" ]] || return 0
	_tb_kill_wait "${!pidvar}" 10
	printf -v "$pidvar" '%s' ''
	[[ "$n" != 1 ]] || TB_SLAPD_PID=''
	return 0
}

# tb_restart_slapd_n N: stop (if running) and start server N again on the
# same port with the same data.
tb_restart_slapd_n() {
	_tb_need_init || return 1
	local n=$1 portvar
	portvar=TB_LDAP_PORT$n
	[[ -n "${!portvar:-}" ]] || _tb_die "tb_start_slapd_pair first" || return 1
	tb_stop_slapd_n "$n"
	_tb_pair_launch "$n"
}

# tb_ldap_search_n N [args] / tb_ldap_get_n N DN ATTR: on server N (ldapi)
tb_ldap_search_n() {
	local v=TB_LDAPI_URI$1
	shift
	TB_LDAPI_URI=${!v} tb_ldap_search "$@"
}
tb_ldap_get_n() {
	local v=TB_LDAPI_URI$1
	shift
	TB_LDAPI_URI=${!v} tb_ldap_get "$@"
}

# tb_ldap_modify_n N [ldapmodify args]: tb_ldap_modify on server N
tb_ldap_modify_n() {
	local v=TB_LDAPI_URI$1
	shift
	TB_LDAPI_URI=${!v} tb_ldap_modify "$@"
}

# tb_repl_pause_n N: server N stops pulling changes from the other server
# (its olcSyncrepl is deleted at run time; it keeps answering clients).
tb_repl_pause_n() {
	local v=TB_LDAPI_URI$1
	printf '%s\n' "dn: olcDatabase={1}mdb,cn=config" "changetype: modify" \
		"delete: olcSyncrepl" |
		TB_LDAPI_URI=${!v} tb_ldap_config_modify >/dev/null
}

# tb_repl_resume_n N: put server N's olcSyncrepl back; it refreshes from
# where it stopped and goes on in persist mode.
tb_repl_resume_n() {
	local v=TB_LDAPI_URI$1
	printf '%s\n' "dn: olcDatabase={1}mdb,cn=config" "changetype: modify" \
		"add: olcSyncrepl" "olcSyncrepl: $(_tb_pair_syncrepl "$1")" |
		TB_LDAPI_URI=${!v} tb_ldap_config_modify >/dev/null
}

# the suffix's contextCSN values of server N, sorted, on one line
_tb_pair_csn() {
	local v=TB_LDAPI_URI$1 out
	out=$(LDAPNOINIT=1 ldapsearch -x -H "${!v}" -D "$TB_ADMIN_DN" -y "$TB_ADMIN_PW_FILE" \
		-o nettimeout=2 -LLL -s base -b "$TB_BASE" '(objectClass=*)' contextCSN 2>/dev/null) ||
		return 0
	out=$(printf '%s\n' "$out" | sed -n 's/^contextCSN: //p' | sort)
	printf '%s' "${out//$'\n'/ }"
}

# tb_repl_sync_wait [TIMEOUT_S]: wait (default 10 s) until both servers
# have the same contextCSN set; the time waited in ms goes to TB_REPL_MS.
tb_repl_sync_wait() {
	local timeout=${1:-10} t0 deadline a b
	_tb_now
	t0=$_TB_NOW
	deadline=$((_TB_NOW + timeout * 1000000))
	while :; do
		a=$(_tb_pair_csn 1)
		b=$(_tb_pair_csn 2)
		_tb_now
		if [[ -n "$a" && "$a" == "$b" ]]; then
			TB_REPL_MS=$(((_TB_NOW - t0) / 1000))
			return 0
		fi
		if ((_TB_NOW > deadline)); then
			TB_REPL_MS=$(((_TB_NOW - t0) / 1000))
			_tb_die "replication did not converge within $timeout s (1: $a; 2: $b)"
			return 1
		fi
		sleep 0.01
	done
}

# tb_pair_cleanup: the EXIT trap of a pair: server 2 down, its log on
# failure, then tb_cleanup (server 1, the sink, the daemon, $TB_DIR).
tb_pair_cleanup() {
	local rc=$?
	trap - EXIT
	tb_stop_slapd_n 2 || true
	if ((rc != 0)) || ((${TAP_FAILED:-0} > 0)); then
		[[ -z "${TB_SLAPD_DIR2:-}" ]] || _tb_dump_log "$TB_SLAPD_DIR2/slapd.log"
	fi
	(exit "$rc")
	tb_cleanup
}
