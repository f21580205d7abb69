#!/bin/bash
# sudo end to end: Debian's sudo runs the module through the real libpam
# with examples/pam.d/sudo as the "sudo" service: a directory account
# types its LDAP password and the mailed code at sudo's prompts and the
# command runs as root; three wrong codes refuse; a wrong LDAP password
# mails nothing. The terminal is driven by python3-pexpect
# (tests/pexpect_drive.py).
#
# sudo reads /etc/pam.d/sudo and /etc/sudoers only, and needs the users in
# NSS. So every sudo run happens in a private mount namespace (unshare -m)
# where a private /etc/pam.d, /etc/sudoers and private copies of
# /etc/passwd, /etc/group and /etc/shadow with the throwaway mo-* accounts
# are bind-mounted: nothing of the machine's /etc changes (checked at the
# end). The private sudoers: "mo-alice ALL=(ALL) ALL" (and mo-bob),
# Defaults !lecture, !fqdn, timestamp_timeout=0 (a code at every sudo).
# sudo 1.9.13 authenticates with PAM_SILENT: the module's notices (code
# sent, tries left) are not shown, only the prompts; checked here.
#
# Needs root (CI runs as root), sudo (apt-get install sudo), runuser,
# python3-pexpect and unshare; skipped without them, and in a
# --enable-sanitizers build (sudo cannot load an ASan module).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

SUDO=/usr/bin/sudo
VISUDO=/usr/sbin/visudo
pam_need_private_etc sudo
[[ -x "$SUDO" && -x "$VISUDO" ]] || skip_all "no $SUDO or $VISUDO (apt-get install sudo)"
[[ -u "$SUDO" ]] || skip_all "$SUDO is not setuid root"
command -v runuser >/dev/null 2>&1 || skip_all "no runuser (util-linux)"
"$TB_PYTHON" -c 'import pexpect' 2>/dev/null ||
	skip_all "no pexpect for $TB_PYTHON (apt-get install python3-pexpect)"

T_START=$(date +%s%N)
etc_sum() { (cd /etc && find pam.d passwd group shadow sudoers -type f -print0 | sort -z | xargs -0 sha256sum); }
ETC_SUM_BEFORE=$(etc_sum)

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
tb_write_config "$TB_DIR/mailotp.conf" ldap_timeout 2 \
	password_hash_memlimit 8192 password_hash_opslimit 1
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"

# --- accounts: in LDAP and in the namespace's private passwd/shadow/group
declare -A PW=([mo-alice]='Alice-Sudo-Passw0rd!' [mo-bob]='Bob-Sudo-Passw0rd!')
USERS=(mo-alice mo-bob)
ETC=$TB_DIR/etc
mkdir -p "$ETC"
cp -a /etc/pam.d "$ETC/pam.d"
cp /etc/passwd /etc/group /etc/shadow "$ETC/"
today=$(($(date +%s) / 86400))
uid=61100
hash_input=''
for u in "${USERS[@]}"; do
	while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
	printf '%s:x:%d:%d:mailotp sudo test:/:/bin/sh\n' "$u" "$uid" "$uid" >>"$ETC/passwd"
	printf '%s:x:%d:\n' "$u" "$uid" >>"$ETC/group"
	# no local password: only the LDAP one can work
	printf '%s:*:%d:0:99999:7:::\n' "$u" "$today" >>"$ETC/shadow"
	uid=$((uid + 1))
	hash_input+="ssha ${PW[$u]}"$'\n'
done
chmod 0644 "$ETC/passwd" "$ETC/group"
chmod 0640 "$ETC/shadow"
mapfile -t hashes < <(printf '%s' "$hash_input" | "$TB_PYTHON" "$TB_SRCDIR/pwhash.py")
((${#hashes[@]} == ${#USERS[@]})) || bail_out "pwhash.py failed"
ldif=''
i=0
for u in "${USERS[@]}"; do
	ldif+="dn: uid=$u,$TB_PEOPLE_BASE
objectClass: inetOrgPerson
objectClass: mailotpAccount
uid: $u
cn: $u
sn: Test
mail: $u@example.org
userPassword: ${hashes[i]}

"
	i=$((i + 1))
done
printf '%s' "$ldif" | tb_ldap_modify -a >/dev/null || bail_out "could not add the LDAP entries"

# --- the "sudo" service: examples/pam.d/sudo with the module path and socket
sed -e '/^[[:space:]]*#/!s|pam_mailotp\.so|'"$PAM_MODULE socket=$TB_PAM_SOCKET"'|' \
	"$top_srcdir/examples/pam.d/sudo" >"$ETC/pam.d/sudo" || bail_out "could not write pam.d/sudo"
cat >"$ETC/sudoers" <<'SUDOERS'
# written by tests/sudo_e2e.sh; bind-mounted over /etc/sudoers in the
# test's mount namespace only
Defaults	!lecture
Defaults	!fqdn
Defaults	timestamp_timeout=0
Defaults	env_reset
Defaults	secure_path="/usr/sbin:/usr/bin:/sbin:/bin"
root	ALL=(ALL:ALL) ALL
mo-alice	ALL=(ALL) ALL
mo-bob	ALL=(ALL) ALL
SUDOERS
chown 0:0 "$ETC/sudoers"
chmod 0440 "$ETC/sudoers"
out=$("$VISUDO" -c -f "$ETC/sudoers" 2>&1)
ok $? "visudo -c -f accepts the private sudoers ($out)"

# sudo_run USER STEP...: runuser -u USER -- sudo -k id -u inside the
# namespace, driven by tests/pexpect_drive.py; the result line in $R, exit
# status in $R_EXIT, time in $R_MS, the terminal output in $R_OUT.
sudo_run() {
	local user=$1 out
	shift
	# shellcheck disable=SC2016 # expanded by the inner bash
	out=$(unshare --mount --propagation private -- /bin/bash -c '
		set -e
		etc=$1
		shift
		for f in pam.d passwd group shadow sudoers; do mount --bind "$etc/$f" "/etc/$f"; done
		exec "$@"' sudo-ns "$ETC" \
		"$TB_PYTHON" "$top_srcdir/tests/pexpect_drive.py" --maildir "$TB_MAILDIR" \
		--transcript "$TB_DIR/sudo.out" "$@" -- runuser -u "$user" -- "$SUDO" -k id -u \
		2>>"$TB_DIR/sudo_e2e.err" </dev/null)
	printf '%s\n' "$out" | sed -n 's/^CODE [a-z]* //p' >>"$TB_DIR/typed_codes"
	R=$(printf '%s\n' "$out" | grep -v '^CODE ' | sed -n 1p)
	R_EXIT=$(printf '%s\n' "$out" | sed -n 's/^EXIT //p')
	R_MS=$(printf '%s\n' "$out" | sed -n 's/^ELAPSED //p')
	R_OUT=$(cat "$TB_DIR/sudo.out" 2>/dev/null)
	[[ "$R" == "STEPS OK" ]] || diag "$R; terminal:" "$R_OUT" "$(tail -5 "$TB_DIR/sudo_e2e.err" 2>/dev/null)"
}
PROMPT_PW='password for [a-z-]+: ?'
PROMPT_CODE='One-time code: ?'

# --- LDAP password + code: the command runs as root
sudo_run mo-alice "expect:$PROMPT_PW" "send:${PW[mo-alice]}" \
	"expect:$PROMPT_CODE" code:mo-alice@example.org 'expect:\n0\r?\n' eof
is "$R" "STEPS OK" "sudo: LDAP password, mailed code, then the command (${R_MS} ms)"
unlike "$R_OUT" "sent to" "PAM_SILENT: no notice of the mail"
is "$R_EXIT" 0 "sudo exits 0"
like "$R_OUT" $'(^|\n)0(\n|$)' "id -u printed 0: the command ran as root"
is "$(tb_mail_count mo-alice@example.org)" 1 "one code mailed"

# --- timestamp_timeout=0 (and -k): the next sudo asks again, a new code
sudo_run mo-alice "expect:$PROMPT_PW" "send:${PW[mo-alice]}" "expect:$PROMPT_CODE" \
	code:mo-alice@example.org 'expect:\n0\r?\n' eof
is "$R" "STEPS OK" "the next sudo asks for the password and a new code again"
is "$(tb_mail_count mo-alice@example.org)" 2 "a second code was mailed"

# --- three wrong codes: sudo counts a wrong password; then two wrong
# passwords use up passwd_tries (3) without another code
sudo_run mo-bob "expect:$PROMPT_PW" "send:${PW[mo-bob]}" "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org "expect:$PROMPT_CODE" \
	wrongcode:mo-bob@example.org "expect:Sorry, try again" \
	"expect:$PROMPT_PW" "send:wrong-Passw0rd!" "expect:Sorry, try again" \
	"expect:$PROMPT_PW" "send:wrong-Passw0rd!" "expect:incorrect password attempts" eof
is "$R" "STEPS OK" "three wrong codes: sudo says try again; two wrong passwords later it gives up (${R_MS} ms)"
unlike "$R_OUT" $'(^|\n)0(\n|$)' "the command never ran"
ok $((R_EXIT != 0 ? 0 : 1)) "sudo exits non-zero ($R_EXIT)"
is "$(tb_mail_count mo-bob@example.org)" 1 "one code mailed: the wrong LDAP passwords mailed none"

# --- nothing secret in mailotpd's log
codes=$({
	grep -hoE '^[0-9]{6}'$'\r''?$' "$TB_MAILDIR"/*.eml | tr -d '\r'
	cat "$TB_DIR/typed_codes"
} 2>/dev/null | sort -u)
leak=''
for c in $codes; do grep -qF "$c" "$TB_DAEMON_LOG" && leak+=" code"; done
for p in "${PW[@]}"; do grep -qF "$p" "$TB_DAEMON_LOG" && leak+=" password"; done
is "$leak" "" "no code ($(printf '%s\n' "$codes" | grep -c .) looked for) or password in mailotpd's log"

# --- the machine's files are untouched
is "$(etc_sum)" "$ETC_SUM_BEFORE" "/etc/pam.d, passwd, group, shadow and sudoers of the machine are unchanged"
getent passwd mo-alice >/dev/null
ok $((!$? ? 1 : 0)) "the test accounts exist only inside the namespace"
diag "sudo_e2e: $((($(date +%s%N) - T_START) / 1000000)) ms"

tap_done
