#!/bin/bash
# SSH end to end: Debian's OpenSSH sshd, started here on a random loopback
# port with its own config (examples/sshd_config.d/mailotp.conf included
# as shipped), runs the installed-style module through the real libpam
# with examples/pam.d/sshd and examples/pam.d/sshd-otp-only as the "sshd"
# service; OpenSSH's ssh client is driven by python3-pexpect
# (tests/pexpect_drive.py).  Password + mailed code + consent, three wrong
# codes, a temporary password changed inside the SSH session, the otp_only
# stack after pam_unix, LDAP down; no code in sshd's or mailotpd's log.
#
# sshd reads its PAM service from /etc/pam.d only, and needs the users in
# NSS.  So sshd runs in a private mount namespace (unshare -m) where a
# private /etc/pam.d and private copies of /etc/passwd, /etc/group and
# /etc/shadow with the throwaway mo-* accounts are bind-mounted: nothing
# of the machine's /etc changes (checked at the end).  The only thing
# written outside $TB_DIR is sshd's privilege separation directory
# /run/sshd (created when missing, as the package's service would) and a
# home directory tree under /tmp, removed at exit.
#
# Needs root (CI runs as root), /usr/sbin/sshd (openssh-server), /usr/bin/ssh
# (openssh-client), python3-pexpect and unshare; skipped without them, and
# in a --enable-sanitizers build (sshd cannot load an ASan module).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

SSHD=/usr/sbin/sshd
pam_need_private_etc sshd
[[ -x "$SSHD" ]] || skip_all "no $SSHD (apt-get install openssh-server)"
[[ -x /usr/bin/ssh ]] || skip_all "no /usr/bin/ssh (apt-get install openssh-client)"
[[ -x /usr/bin/ssh-keygen ]] || skip_all "no /usr/bin/ssh-keygen (openssh-client)"
"$TB_PYTHON" -c 'import pexpect' 2>/dev/null ||
	skip_all "no pexpect for $TB_PYTHON (apt-get install python3-pexpect)"

T_START=$(date +%s%N)
ETC_SUM_BEFORE=$(cd /etc && find pam.d passwd group shadow -type f -print0 | sort -z | xargs -0 sha256sum)

SSHD_PID=''
HOMES=''
ssh_cleanup() {
	if [[ -n "$SSHD_PID" ]]; then
		_tb_kill_wait "$SSHD_PID" 5
		SSHD_PID=''
	fi
	[[ -z "$HOMES" ]] || rm -rf -- "$HOMES"
	HOMES=''
	if [[ -n "${_TB_OWNED:-}" ]] && { ((${_ssh_rc:-0} != 0)) || ((TAP_FAILED > 0)); }; then
		_tb_dump_log "$TB_DIR/sshd/sshd.log" 60
		_tb_dump_log "$TB_DIR/sshd/sshd.stderr"
	fi
	return 0
}

tb_init
trap '_ssh_rc=$?; ssh_cleanup; (exit $_ssh_rc); tb_cleanup' EXIT
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
printf 'Terms of use\n\nArticle 1. The service is provided as is.\n' >"$TB_DIR/terms.txt"
tb_write_config "$TB_DIR/mailotp.conf" terms_file "$TB_DIR/terms.txt" ldap_timeout 2 \
	password_hash_memlimit 8192 password_hash_opslimit 1
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"

# --- accounts: in LDAP and in the namespace's private passwd/shadow/group
declare -A PW=(
	[mo-alice]='Alice-Ssh-Passw0rd!' [mo-bob]='Bob-Ssh-Passw0rd!'
	[mo-carol]='Temp-Carol-8213x' [mo-erin]='Erin-Ldap-Passw0rd!'
)
ERIN_LOCAL_PW='Erin-Local-4417!'
CAROL_NEW_PW='Quartz-Harbor-62'
ETC=$TB_DIR/etc
mkdir -p "$ETC"
cp -a /etc/pam.d "$ETC/pam.d"
cp /etc/passwd /etc/group /etc/shadow "$ETC/"
HOMES=$(mktemp -d /tmp/mailotp-ssh-home.XXXXXXXX) || bail_out "mktemp failed"
chmod 0755 "$HOMES"
today=$(($(date +%s) / 86400))
uid=61000
ldif=''
hash_input=''
for u in mo-alice mo-bob mo-carol mo-erin; do
	while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
	printf '%s:x:%d:%d:mailotp ssh test:%s:/bin/sh\n' "$u" "$uid" "$uid" "$HOMES/$u" >>"$ETC/passwd"
	printf '%s:x:%d:\n' "$u" "$uid" >>"$ETC/group"
	mkdir -m 0755 "$HOMES/$u"
	chown "$uid:$uid" "$HOMES/$u"
	uid=$((uid + 1))
	hash_input+="ssha ${PW[$u]}"$'\n'
done
mapfile -t hashes < <(printf '%s' "$hash_input" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py")
((${#hashes[@]} == 4)) || bail_out "pwhash.py failed"
erin_local_hash=$(printf '%s' "$ERIN_LOCAL_PW" | openssl passwd -6 -stdin) || bail_out "openssl passwd failed"
for u in mo-alice mo-bob mo-carol; do
	printf '%s:*:%d:0:99999:7:::\n' "$u" "$today" >>"$ETC/shadow"
done
printf 'mo-erin:%s:%d:0:99999:7:::\n' "$erin_local_hash" "$today" >>"$ETC/shadow"
chmod 0644 "$ETC/passwd" "$ETC/group"
chmod 0640 "$ETC/shadow"
i=0
future=$(date -u -d '+1 hour' +%Y%m%d%H%M%SZ)
for u in mo-alice mo-bob mo-carol mo-erin; do
	ldif+="dn: uid=$u,$TB_PEOPLE_BASE
objectClass: inetOrgPerson
objectClass: mailotpAccount
uid: $u
cn: $u
sn: Test
mail: $u@example.org
userPassword: ${hashes[i]}
"
	# carol: a temporary password, as mailotpctl reissue leaves it
	[[ $u != mo-carol ]] || ldif+="mailotpTempPasswordExpiry: $future
mailotpMustChange: TRUE
"
	ldif+=$'\n'
	i=$((i + 1))
done
printf '%s' "$ldif" | tb_ldap_modify -a >/dev/null || bail_out "could not add the LDAP entries"

# --- sshd, in its own mount namespace
ssh_service() { # ssh_service EXAMPLE: examples/pam.d/EXAMPLE as the "sshd" service
	sed -e '/^[[:space:]]*#/!s|pam_mailotp\.so|'"$PAM_MODULE socket=$TB_PAM_SOCKET"'|' \
		"$top_srcdir/examples/pam.d/$1" >"$ETC/pam.d/sshd.tmp" &&
		mv -f "$ETC/pam.d/sshd.tmp" "$ETC/pam.d/sshd"
}
ssh_service sshd
SD=$TB_DIR/sshd
mkdir -m 0700 "$SD"
ssh-keygen -q -t ed25519 -N '' -C mailotp-test -f "$SD/host_ed25519" >/dev/null || bail_out "ssh-keygen failed"
SSH_PORT=$(tb_free_port)
cat >"$SD/sshd_config" <<EOF
# written by tests/ssh_e2e.sh; the shipped snippet first, as Debian's
# sshd_config includes sshd_config.d at its top
Include $top_srcdir/examples/sshd_config.d/mailotp.conf
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SD/host_ed25519
PidFile $SD/sshd.pid
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
LogLevel DEBUG3
EOF
[[ -d /run/sshd ]] || install -d -m 0755 /run/sshd
"$SSHD" -t -f "$SD/sshd_config" 2>"$SD/sshd.stderr" || bail_out "sshd -t: $(cat "$SD/sshd.stderr")"
# unshare execs (no fork) bash, which execs sshd: $! is sshd's listener
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	for f in pam.d passwd group shadow; do mount --bind "$1/$f" "/etc/$f"; done
	exec "$2" -D -f "$3" -E "$4"' ssh-ns "$ETC" "$SSHD" "$SD/sshd_config" "$SD/sshd.log" \
	</dev/null >>"$SD/sshd.stderr" 2>&1 &
SSHD_PID=$!
deadline=$(($(date +%s) + TB_START_TIMEOUT))
until (exec 3<>"/dev/tcp/127.0.0.1/$SSH_PORT") 2>/dev/null; do
	_tb_alive "$SSHD_PID" || bail_out "sshd exited at start: $(tail -5 "$SD/sshd.stderr" "$SD/sshd.log" 2>/dev/null)"
	(($(date +%s) < deadline)) || bail_out "sshd did not listen on port $SSH_PORT"
	sleep 0.05
done

# ssh_login USER [--command CMD] STEP...: OpenSSH's client driven by
# tests/pexpect_drive.py; the result line in $SSH_RESULT, exit status in
# $SSH_EXIT, time in $SSH_MS, the client's terminal output in $SSH_OUT.
ssh_login() {
	local user=$1 cmd='echo logged-in-ok' out
	shift
	if [[ "${1:-}" == --command ]]; then
		cmd=$2
		shift 2
	fi
	out=$("$TB_PYTHON" "$top_srcdir/tests/pexpect_drive.py" \
		--maildir "$TB_MAILDIR" --transcript "$TB_DIR/ssh.out" "$@" -- \
		/usr/bin/ssh -F /dev/null -T -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o LogLevel=ERROR -o PreferredAuthentications=keyboard-interactive \
		-o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 \
		-o ConnectTimeout=10 -p "$SSH_PORT" "$user@127.0.0.1" "$cmd" \
		2>>"$TB_DIR/ssh_e2e.err")
	printf '%s\n' "$out" | sed -n 's/^CODE [a-z]* //p' >>"$TB_DIR/typed_codes"
	SSH_RESULT=$(printf '%s\n' "$out" | grep -v '^CODE ' | sed -n 1p)
	SSH_EXIT=$(printf '%s\n' "$out" | sed -n 's/^EXIT //p')
	SSH_MS=$(printf '%s\n' "$out" | sed -n 's/^ELAPSED //p')
	SSH_OUT=$(cat "$TB_DIR/ssh.out" 2>/dev/null)
	[[ "$SSH_RESULT" == "STEPS OK" ]] || diag "$SSH_RESULT; client output:" "$SSH_OUT"
}
binds() { LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "uid=$1,$TB_PEOPLE_BASE" -w "$2" >/dev/null 2>&1; }
PROMPT_PW='Password: ?'
PROMPT_CODE='One-time code: ?'
PROMPT_TERMS='Type yes to accept: ?'

# --- examples/pam.d/sshd: password, code, consent, the command runs
ssh_login mo-alice "expect:$PROMPT_PW" "send:${PW[mo-alice]}" \
	"expect:sent to m\*\*\*@example\.org" "expect:$PROMPT_CODE" code:mo-alice@example.org \
	"expect:$PROMPT_TERMS" send:yes expect:logged-in-ok eof
is "$SSH_RESULT" "STEPS OK" "password, masked address, code, terms accepted, command runs (${SSH_MS} ms)"
is "$SSH_EXIT" 0 "ssh exits 0"
like "$SSH_OUT" "Terms of use" "the terms were shown in the SSH session"
like "$(tb_ldap_get "uid=mo-alice,$TB_PEOPLE_BASE" mailotpConsentVersion)" '^[0-9a-f]{32}$' "the consent is stored on the entry"
like "$(tb_ldap_get "uid=mo-alice,$TB_PEOPLE_BASE" mailotpConsentFrom)" '^127\.0\.0\.1$' "with sshd's remote host (PAM_RHOST)"

# shellcheck disable=SC2016 # run by the remote shell
ssh_login mo-alice --command 'echo logged-in-as-$(id -un)' "expect:$PROMPT_PW" \
	"send:${PW[mo-alice]}" "expect:$PROMPT_CODE" code:mo-alice@example.org \
	"expect:logged-in-as-mo-alice" eof
is "$SSH_RESULT" "STEPS OK" "second login: no terms, the shell runs as the local account"
unlike "$SSH_OUT" "Terms of use" "the terms are not shown again"

before=$(tb_mail_count mo-alice@example.org)
ssh_login mo-alice "expect:$PROMPT_PW" "send:wrong-Passw0rd!" eof
unlike "$SSH_OUT" "logged-in-ok|One-time code" "a wrong password: no code prompt, no shell"
is "$(tb_mail_count mo-alice@example.org)" "$before" "and no mail"
is "$SSH_EXIT" 255 "ssh reports the failed authentication (255)"

# --- three wrong codes: no shell
ssh_login mo-bob "expect:$PROMPT_PW" "send:${PW[mo-bob]}" "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org "expect:Wrong code\. Tries left: 2" "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org "expect:Wrong code\. Tries left: 1" "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org eof
is "$SSH_RESULT" "STEPS OK" "three wrong codes: asked three times, then the login ends"
unlike "$SSH_OUT" "logged-in-ok" "no shell"
unlike "$SSH_OUT" "Type yes" "the account stage is never reached"
is "$SSH_EXIT" 255 "ssh exits 255"
is "$(tb_mail_count mo-bob@example.org)" 1 "one code was mailed for the whole login"

# --- temporary password: forced change inside the SSH session
ssh_login mo-carol "expect:$PROMPT_PW" "send:${PW[mo-carol]}" "expect:$PROMPT_CODE" \
	code:mo-carol@example.org "expect:$PROMPT_TERMS" send:yes \
	"expect:You must set a new password now" \
	"expect:Current password: ?" "send:${PW[mo-carol]}" \
	"expect:New password: ?" "send:$CAROL_NEW_PW" \
	"expect:Retype new password: ?" "send:$CAROL_NEW_PW" \
	expect:logged-in-ok eof
is "$SSH_RESULT" "STEPS OK" "temporary password: code, terms, forced change (current, new, retype), command runs"
is "$SSH_EXIT" 0 "ssh exits 0"
binds mo-carol "$CAROL_NEW_PW"
ok $? "the new password binds"
binds mo-carol "${PW[mo-carol]}"
ok $((!$?)) "the temporary one does not"
is "$(tb_ldap_get "uid=mo-carol,$TB_PEOPLE_BASE" mailotpMustChange)$(tb_ldap_get "uid=mo-carol,$TB_PEOPLE_BASE" mailotpTempPasswordExpiry)" "" \
	"the temporary/forced-change state is cleared"
ssh_login mo-carol "expect:$PROMPT_PW" "send:$CAROL_NEW_PW" "expect:$PROMPT_CODE" \
	code:mo-carol@example.org expect:logged-in-ok eof
is "$SSH_RESULT" "STEPS OK" "next SSH login with the new password: no change asked"

# --- examples/pam.d/sshd-otp-only: pam_unix (local shadow) requisite, then the code
ssh_service sshd-otp-only
ssh_login mo-erin "expect:$PROMPT_PW" "send:$ERIN_LOCAL_PW" "expect:sent to m\*\*\*@example\.org" \
	"expect:$PROMPT_CODE" code:mo-erin@example.org "expect:$PROMPT_TERMS" send:yes expect:logged-in-ok eof
is "$SSH_RESULT" "STEPS OK" "otp_only: local password (pam_unix), code, terms, command runs"
is "$SSH_EXIT" 0 "ssh exits 0"
before=$(tb_mail_count mo-erin@example.org)
ssh_login mo-erin "expect:$PROMPT_PW" "send:${PW[mo-erin]}" eof
unlike "$SSH_OUT" "logged-in-ok|One-time code" "otp_only: the LDAP password is not the local one: no code prompt, no shell"
is "$(tb_mail_count mo-erin@example.org)" "$before" "and no mail (pam_unix is requisite)"

# --- LDAP down: refused within a bounded time, never let in
ssh_service sshd
tb_pause_slapd
ssh_login mo-alice "expect:$PROMPT_PW" "send:${PW[mo-alice]}" eof
tb_resume_slapd
is "$SSH_RESULT" "STEPS OK" "LDAP not answering: the login ends by itself"
unlike "$SSH_OUT" "logged-in-ok|One-time code" "no code prompt, no shell"
is "$SSH_EXIT" 255 "ssh exits 255"
ok $((SSH_MS < 30000 ? 0 : 1)) "refused within 30 s with ldap_timeout 2 (${SSH_MS} ms)"

# --- nothing secret in the logs
_tb_kill_wait "$SSHD_PID" 5
SSHD_PID=''
# every code mailed (the bodies have CRLF line ends) and every wrong one typed
codes=$({
	grep -hoE '^[0-9]{6}'$'\r''?$' "$TB_MAILDIR"/*.eml | tr -d '\r'
	cat "$TB_DIR/typed_codes"
} 2>/dev/null | sort -u)
ncodes=$(printf '%s\n' "$codes" | grep -c .)
ok $((ncodes >= 9 ? 0 : 1)) "codes to look for: $ncodes (mailed, and wrong ones typed)"
leak=''
for c in $codes; do
	grep -qF "$c" "$SD/sshd.log" "$SD/sshd.stderr" && leak+=" code-in-sshd-log"
	grep -qF "$c" "$TB_DAEMON_LOG" && leak+=" code-in-mailotpd-log"
done
is "$leak" "" "no mailed code in sshd's log (LogLevel DEBUG3) or mailotpd's log"
leak=''
for p in "${PW[@]}" "$ERIN_LOCAL_PW" "$CAROL_NEW_PW"; do
	grep -qF "$p" "$SD/sshd.log" "$SD/sshd.stderr" "$TB_DAEMON_LOG" && leak+=" password"
done
is "$leak" "" "no password in either log"
like "$(cat "$SD/sshd.log")" "Accepted keyboard-interactive/pam for mo-alice from 127\.0\.0\.1" "sshd logged the accepted login"

# --- the machine's files are untouched
ETC_SUM_AFTER=$(cd /etc && find pam.d passwd group shadow -type f -print0 | sort -z | xargs -0 sha256sum)
is "$ETC_SUM_AFTER" "$ETC_SUM_BEFORE" "/etc/pam.d, passwd, group and shadow of the machine are unchanged"
getent passwd mo-alice >/dev/null
ok $((!$? ? 1 : 0)) "the test accounts exist only inside sshd's namespace"
diag "ssh_e2e: $((($(date +%s%N) - T_START) / 1000000)) ms"

tap_done
