#!/bin/bash
# shellcheck disable=SC2016 # '$TB', '$LDAP_PORT' are literal in the transcripts
# TAP: mailotpctl(8) against the test-bed (slapd + SMTP sink), as
# transcripts in the manner of cram (duo_unix tests/*.t): the command, then
# exactly what it prints - stdout as is, stderr lines prefixed "! ", and
# "[N]" when the exit status N is not 0.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=testbed/testbed.sh
. "$top_srcdir/tests/testbed/testbed.sh"

CTL=$top_builddir/resetd/mailotpctl
[[ -x "$CTL" ]] || skip_all "mailotpctl not built"
[[ -x /usr/sbin/slapd && -x /usr/sbin/slapadd ]] || skip_all "slapd not installed"
command -v ldapwhoami >/dev/null || skip_all "ldap-utils not installed"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd not installed"

export LDAPNOINIT=1

# ctl ARGS...: the transcript of one run (stdin passed through), with the
# test-bed's paths and ports as $TB, $SRC, $LDAP_PORT, $SMTP_PORT, every
# "YYYY-MM-DD hh:mm:ss UTC" as TIME and the built-in config path as
# SYSCONFDIR/mailotp/mailotp.conf.
ctl() {
	local out rc=0
	out=$("$CTL" "$@" 2>"$TB_DIR/ctl.err") || rc=$?
	{
		[[ -z "$out" ]] || printf '%s\n' "$out"
		sed 's/^/! /' "$TB_DIR/ctl.err"
		((rc == 0)) || printf '[%d]\n' "$rc"
	} | sed -E -e "s|$TB_DIR|\$TB|g" -e "s|$top_srcdir|\$SRC|g" \
		-e "s|127\\.0\\.0\\.1:${TB_LDAP_PORT:-none}/|127.0.0.1:\$LDAP_PORT/|g" \
		-e "s|127\\.0\\.0\\.1:${TB_SMTP_PORT:-none}|127.0.0.1:\$SMTP_PORT|g" \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC/TIME/g' \
		-e 's|default /[^ )]*/mailotp/mailotp\.conf|default SYSCONFDIR/mailotp/mailotp.conf|'
}

# lacks GOT NEEDLE NAME: passes when NEEDLE (a plain string) is not in GOT
lacks() {
	if [[ -n "$2" && "$1" != *"$2"* ]]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "  found (or empty needle): '$2'"
	fi
}

whoami_as() { # LOGIN PASSWORD
	ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn "$1")" -w "$2" -o nettimeout=5
}

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
CONF=$TB_DIR/mailotp.conf
tb_write_config "$CONF" ldap_notify_attr mailotpNotifyMail \
	reset_public_url https://reset.example.org
C=(-c "$CONF")
PEOPLE=$TB_PEOPLE_BASE

# --- usage -------------------------------------------------------------------

is "$(ctl --help)" 'usage: mailotpctl [-c PATH] COMMAND [ARGS]

commands:
  add USER --mail ADDR [--name NAME]    create the LDAP entry and mail the invite
  invite USER                           mail the "account issued" link (valid invite_ttl)
  reissue USER                          mail a temporary password (valid reset_ttl)
  show USER                             print the account'"'"'s state
  unlock USER                           clear the password lock and the wrong-code count
  check                                 check config, secrets, templates, LDAP and SMTP
  hash                                  read a password on stdin, print its {ARGON2} hash

options:
  -c PATH      configuration file (default SYSCONFDIR/mailotp/mailotp.conf)
  -h, --help   this help
  --version    print the version

exit status: 0 done, 1 failed, 2 usage error' "mailotpctl --help"

like "$(ctl --version)" '^mailotpctl [0-9]+\.[0-9]+\.[0-9]+$' "mailotpctl --version"

is "$(ctl)" "! mailotpctl: no command given
! usage: mailotpctl [-c PATH] COMMAND [ARGS]  (mailotpctl --help lists the commands)
[2]" "no command: usage, exit 2"

is "$(ctl "${C[@]}" frobnicate alice)" "! mailotpctl: unknown command 'frobnicate'
! usage: mailotpctl [-c PATH] COMMAND [ARGS]  (mailotpctl --help lists the commands)
[2]" "unknown command: exit 2"

is "$(ctl -x show alice)" "! mailotpctl: unknown option '-x'
! usage: mailotpctl [-c PATH] COMMAND [ARGS]  (mailotpctl --help lists the commands)
[2]" "unknown global option: exit 2"

is "$(ctl "${C[@]}" add newuser)" "! mailotpctl: add: --mail ADDR is required
! usage: mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
[2]" "add without --mail: exit 2"

is "$(ctl "${C[@]}" add newuser --mail 'new user@example.org')" "! mailotpctl: add: --mail: not a valid mail address
! usage: mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
[2]" "add with an invalid address: exit 2"

is "$(ctl "${C[@]}" add newuser --mail)" "! mailotpctl: add: --mail needs a value
! usage: mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
[2]" "add --mail without a value: exit 2"

is "$(ctl "${C[@]}" invite -x)" "! mailotpctl: invite: unknown option '-x' (a user name cannot begin with '-')
! usage: mailotpctl [-c PATH] invite USER
[2]" "USER -x is not taken as an option or a name: exit 2"

is "$(ctl "${C[@]}" add -x --mail x@example.org)" "! mailotpctl: add: unknown option '-x' (a user name cannot begin with '-')
! usage: mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
[2]" "add -x: exit 2"

is "$(ctl "${C[@]}" add -- -x --mail x@example.org)" "! mailotpctl: add: unknown option '-x' (a user name cannot begin with '-')
! usage: mailotpctl [-c PATH] add USER --mail ADDR [--name NAME]
[2]" "add -- -x: no way around the '-' rule"

is "$(ctl "${C[@]}" show ../alice)" "! mailotpctl: show: invalid user name: must not contain '/'
! usage: mailotpctl [-c PATH] show USER
[2]" "USER with '/': exit 2"

is "$(ctl "${C[@]}" reissue "$(printf 'al\tice')")" "! mailotpctl: reissue: invalid user name: must be UTF-8 text without control characters
! usage: mailotpctl [-c PATH] reissue USER
[2]" "USER with a control character: exit 2"

is "$(ctl "${C[@]}" unlock "$(printf 'a%.0s' {1..257})")" "! mailotpctl: unlock: invalid user name: must be 1 to 256 bytes
! usage: mailotpctl [-c PATH] unlock USER
[2]" "USER of 257 bytes: exit 2"

is "$(ctl "${C[@]}" show)" "! mailotpctl: show: USER is missing
! usage: mailotpctl [-c PATH] show USER
[2]" "show without USER: exit 2"

is "$(ctl "${C[@]}" check now)" "! mailotpctl: check: takes no arguments
! usage: mailotpctl [-c PATH] check
[2]" "check with an argument: exit 2"

# --- hash --------------------------------------------------------------------

out=$(printf 'Bob-New-Passw0rd!\n' | ctl hash)
like "$out" '^\{ARGON2\}\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$' \
	"hash without a config: argon2id m=19 MiB t=2, one line, exit 0"
printf 'dn: %s\nchangetype: modify\nreplace: userPassword\nuserPassword: %s\n' \
	"$(tb_user_dn bob)" "$out" | tb_ldap_modify >/dev/null
run_ok "slapd (argon2 module) binds bob with the printed hash" whoami_as bob 'Bob-New-Passw0rd!'
run_fails "bob's old password no longer binds" whoami_as bob 'Bob-Passw0rd!'

tb_write_config "$TB_DIR/cost.conf" password_hash_opslimit 3 password_hash_memlimit 8192
like "$(printf 'pw-without-newline' | ctl -c "$TB_DIR/cost.conf" hash)" \
	'^\{ARGON2\}\$argon2id\$v=19\$m=8192,t=3,p=1\$[^$]+\$[^$]+$' \
	"hash -c: the configured cost (password_hash_opslimit/memlimit), no newline needed"
like "$(head -c 1024 /dev/zero | tr '\0' x | ctl hash)" '^\{ARGON2\}\$argon2id\$' \
	"hash: 1024 bytes are hashed"
is "$(head -c 1025 /dev/zero | tr '\0' x | ctl hash)" "! mailotpctl: hash: the password is longer than 1024 bytes
[1]" "hash: 1025 bytes: exit 1"
is "$(printf '\n' | ctl hash)" "! mailotpctl: hash: no password on standard input
[1]" "hash: an empty line: exit 1"
is "$(ctl -c "$TB_DIR/nonexistent.conf" hash </dev/null)" "! mailotpctl: \$TB/nonexistent.conf: No such file or directory
[1]" "hash -c with a missing file: exit 1 (only the default config is optional)"

# --- add (002: staff issue the account) ----------------------------------------

is "$(ctl "${C[@]}" add newuser --mail new@example.org --name '新規 太郎')" \
	"newuser: created uid=newuser,$PEOPLE
newuser: invite mailed to new@example.org, link valid 168 hours" "add newuser: created, invite mailed"
NEWDN="uid=newuser,$PEOPLE"
is "$(tb_ldap_get "$NEWDN" uid)" newuser "the entry exists with uid newuser"
is "$(tb_ldap_get "$NEWDN" cn)|$(tb_ldap_get "$NEWDN" sn)" "新規 太郎|新規 太郎" "cn and sn are the --name, in UTF-8"
is "$(tb_ldap_get "$NEWDN" objectClass | sort | tr '\n' ' ')" "inetOrgPerson mailotpAccount " \
	"object classes inetOrgPerson and mailotpAccount"
is "$(tb_ldap_get "$NEWDN" mail)" new@example.org "mail is the --mail address"
is "$(tb_ldap_get "$NEWDN" userPassword)" "" "no userPassword: nothing logs in before the invite is used"
like "$(tb_ldap_get "$NEWDN" mailotpTokenInfo)" '^invite [0-9]{14}Z$' "an invite token is pending"
mail=$(tb_mail_last new@example.org)
like "$mail" $'\nSubject: Your account has been issued\n' "the invite mail: \"account issued\""
like "$mail" 'Dear 新規 太郎,' "the Japanese name survives into the mail"
# (a base64 body keeps its CRLF when mailtool.py decodes it)
like "$mail" $'\nhttps://reset\\.example\\.org/invite\\?token=[A-Za-z0-9_-]{43}\r?\n' \
	"the link, alone on its line, begins with reset_public_url"
is "$(tb_mail_count new@example.org)" 1 "one mail"

is "$(ctl "${C[@]}" add newuser --mail new2@example.org)" "! mailotpctl: add: newuser: already exists (uid=newuser,$PEOPLE)
[1]" "add again: already exists, exit 1"
is "$(ctl "${C[@]}" add other --mail alice@example.org)" "! mailotpctl: add: other: alice@example.org is already the address of uid=alice,$PEOPLE (the reset form finds accounts by address)
[1]" "add with another account's address: exit 1 (e-mail reset needs one account per address)"
is "$(tb_ldap_search -b "$PEOPLE" '(uid=other)' dn)" "" "... and nothing was created"
is "$(ctl "${C[@]}" add 'o,brien2' --mail obrien2@example.org)" "o,brien2: created uid=o\\,brien2,$PEOPLE
o,brien2: invite mailed to obrien2@example.org, link valid 168 hours" "add with a ',' in USER: the RDN is RFC 4514-escaped"

# --- invite ------------------------------------------------------------------

n=$(tb_mail_count alice@example.org)
is "$(ctl "${C[@]}" invite alice)" "alice: invite mailed to alice@example.org, link valid 168 hours" \
	"invite alice"
is "$(tb_mail_count alice@example.org)" $((n + 1)) "one more mail to alice"
like "$(tb_mail_last alice@example.org)" $'\nhttps://reset\\.example\\.org/invite\\?token=[A-Za-z0-9_-]{43}\n' \
	"it carries a single-use link"
is "$(tb_mail_count proxy-alice@example.org)" 0 "the notify recipient never gets the link"
is "$(ctl "${C[@]}" invite nosuchuser)" "! mailotpctl: invite: nosuchuser: no such account
[1]" "invite an unknown account: exit 1"
tb_write_config "$TB_DIR/nourl.conf"
is "$(ctl -c "$TB_DIR/nourl.conf" invite alice)" "! mailotpctl: invite: alice: reset_public_url is not set in \$TB/nourl.conf: the invite link is built from it
[1]" "invite without reset_public_url: exit 1"

# --- reissue (000: temporary password, 1 hour) ----------------------------------

old_hash=$(tb_ldap_get "$(tb_user_dn alice)" userPassword)
tb_smtp_mode refuse_rcpt
out=$(ctl "${C[@]}" reissue alice)
like "$out" '^! mailotpctl: reissue: alice: .*; the password was not changed
\[1\]$' "reissue with the recipient refused: one line, exit 1"
tb_smtp_mode accept
is "$(tb_ldap_get "$(tb_user_dn alice)" userPassword)" "$old_hash" "... alice's userPassword is unchanged"
run_ok "... and her old password still binds" whoami_as alice 'Alice-Passw0rd!'

n=$(tb_mail_count alice@example.org)
is "$(ctl "${C[@]}" reissue alice)" "alice: temporary password mailed to alice@example.org, valid 60 minutes; a new password must be set at the next login" \
	"reissue alice"
is "$(tb_mail_count alice@example.org)" $((n + 1)) "one mail to alice"
mail=$(tb_mail_last alice@example.org)
like "$mail" $'\nSubject: Your temporary password\n' "the temporary password mail"
temp=$(printf '%s\n' "$mail" | grep -E '^[A-Za-z0-9#%+=?@-]{16}$' || true)
is "$(printf '%s\n' "$temp" | grep -c .)" 1 "the temporary password stands alone on one line"
alice_hash=$(tb_ldap_get "$(tb_user_dn alice)" userPassword)
like "$alice_hash" '^\{ARGON2\}\$argon2id\$' "alice's userPassword is now {ARGON2}\$argon2id"
like "$(tb_ldap_get "$(tb_user_dn alice)" mailotpTempPasswordExpiry)" '^[0-9]{14}Z$' \
	"mailotpTempPasswordExpiry is set"
is "$(tb_ldap_get "$(tb_user_dn alice)" mailotpMustChange)" TRUE "mailotpMustChange is TRUE"
run_ok "alice binds with the mailed temporary password" whoami_as alice "$temp"
run_fails "alice's old password no longer binds" whoami_as alice 'Alice-Passw0rd!'
is "$(tb_mail_count proxy-alice@example.org)" 0 "the notify recipient never gets the password"
is "$(ctl "${C[@]}" reissue nomail)" "! mailotpctl: reissue: nomail: the account has no valid mail address; the password was not changed
[1]" "reissue for an account without mail: exit 1"

# --- show --------------------------------------------------------------------

ctl "${C[@]}" invite alice >/dev/null # a pending token to (not) show
token_hash=$(tb_ldap_get "$(tb_user_dn alice)" mailotpTokenHash)
out=$(ctl "${C[@]}" show alice)
# one wrong password: the bind with the old one above (ppolicy's pwdFailureTime)
is "$out" "dn:                 uid=alice,$PEOPLE
name:               Alice Example
mail:               alice@example.org
notify:             proxy-alice@example.org
language:           en
locked:             no
wrong passwords:    1
wrong codes:        0 in a row (codes stop at 10)
last code mailed:   never
must change:        yes
temporary password: expires TIME
password set:       never by mailotp
consent:            none
pending token:      invite link, expires TIME" "show alice: the state"
lacks "$out" "$temp" "show does not print the temporary password"
lacks "$out" "$token_hash" "show does not print the token hash"
lacks "$out" "${alice_hash#\{ARGON2\}}" "show does not print the userPassword hash"

printf 'dn: %s\nchangetype: modify\nreplace: mailotpOtpFailures\nmailotpOtpFailures: 10\n-\nreplace: mailotpOtpFailTime\nmailotpOtpFailTime: %s\n-\nreplace: mailotpConsentVersion\nmailotpConsentVersion: 2024-04\n-\nreplace: mailotpConsentTime\nmailotpConsentTime: 20240401000000Z\n' \
	"$(tb_user_dn locked)" "$(date -u +%Y%m%d%H%M%SZ)" | tb_ldap_modify >/dev/null
is "$(ctl "${C[@]}" show locked)" "dn:                 uid=locked,$PEOPLE
name:               Locked Example
mail:               locked@example.org
notify:             none
language:           en
locked:             yes, by an administrator, until unlocked
wrong passwords:    0
wrong codes:        10 in a row: no code is mailed until TIME
last code mailed:   never
must change:        no
temporary password: none
password set:       never by mailotp
consent:            version 2024-04, TIME
pending token:      none" "show locked: ppolicy lock, wrong-code lockout, consent"
is "$(ctl "${C[@]}" show nomail | sed -n 3p)" "mail:               none: cannot log in or get mail" \
	"show nomail: says it has no address"
is "$(ctl "${C[@]}" show hanako | sed -n '2p;5p')" "name:               山田 花子
language:           ja" "show hanako: Japanese name and language"
is "$(ctl "${C[@]}" show nosuchuser)" "! mailotpctl: show: nosuchuser: no such account
[1]" "show an unknown account: exit 1"

# --- unlock ------------------------------------------------------------------

run_fails "locked does not bind before unlock" whoami_as locked 'Locked-Passw0rd!'
is "$(ctl "${C[@]}" unlock locked)" "locked: cleared the password lock (pwdAccountLockedTime 000001010000Z)
locked: cleared the wrong-code count (mailotpOtpFailures 10)" "unlock locked: says what it cleared"
run_ok "locked binds with its password after unlock" whoami_as locked 'Locked-Passw0rd!'
is "$(tb_ldap_get "$(tb_user_dn locked)" mailotpOtpFailures)$(tb_ldap_get "$(tb_user_dn locked)" mailotpOtpFailTime)" "" \
	"mailotpOtpFailures and mailotpOtpFailTime are gone"
is "$(ctl "${C[@]}" unlock locked)" "locked: nothing to clear" "unlock locked again: nothing to clear"
is "$(ctl "${C[@]}" unlock alice)" "alice: nothing to clear" "unlock alice: nothing to clear, exit 0"
is "$(ctl "${C[@]}" unlock nosuchuser)" "! mailotpctl: unlock: nosuchuser: no such account
[1]" "unlock an unknown account: exit 1"

# --- check -------------------------------------------------------------------

is "$(ctl "${C[@]}" check)" 'ok: config: $TB/mailotp.conf
ok: secret: $TB/svc.pw
ok: templates: $SRC/examples/templates
ok: password policy: at least 10 characters of 3 classes, built-in denylist only
ok: ldap: ldap://127.0.0.1:$LDAP_PORT/: bound as cn=mailotp,ou=services,dc=example,dc=org
ok: smtp: smtp://127.0.0.1:$SMTP_PORT answered (smtp_starttls no)' "check against the test-bed: all ok, exit 0"

(umask 022 && cp "$TB_SVC_PW_FILE" "$TB_DIR/open.pw" && chmod 0644 "$TB_DIR/open.pw")
tb_write_config "$TB_DIR/open.conf" ldap_bind_pw_file "$TB_DIR/open.pw"
is "$(ctl -c "$TB_DIR/open.conf" check)" 'ok: config: $TB/open.conf
FAILED: secret: $TB/open.pw: mode 0644 is too open; a secret file must not be accessible to others nor writable by its group (use 0600 or 0640)
ok: templates: $SRC/examples/templates
ok: password policy: at least 10 characters of 3 classes, built-in denylist only
FAILED: ldap: not tried: the bind password could not be read
ok: smtp: smtp://127.0.0.1:$SMTP_PORT answered (smtp_starttls no)
[1]' "check with a 0644 secret file: names the file, exit 1"
is "$(ctl -c "$TB_DIR/open.conf" show alice)" '! mailotpctl: $TB/open.pw: mode 0644 is too open; a secret file must not be accessible to others nor writable by its group (use 0600 or 0640)
[1]' "show with a 0644 secret file: refused, exit 1"

tb_write_config "$TB_DIR/bad.conf" otp_digits 99
like "$(ctl -c "$TB_DIR/bad.conf" check)" '^FAILED: config: \$TB/bad\.conf:[0-9]+: otp_digits: [^
]+
\[1\]$' "check with a bad value: file:line:key, exit 1"
like "$(ctl -c "$TB_DIR/bad.conf" show alice)" '^! mailotpctl: \$TB/bad\.conf:[0-9]+: otp_digits: [^
]+
\[1\]$' "show with a bad config: file:line:key, exit 1"

tb_stop_smtp
like "$(ctl "${C[@]}" check)" '
ok: ldap: [^
]+
FAILED: smtp: smtp://127\.0\.0\.1:\$SMTP_PORT: [^
]+
\[1\]$' "check with the sink stopped: FAILED: smtp, exit 1"
like "$(ctl "${C[@]}" invite bob)" '^! mailotpctl: invite: bob: invite not mailed: [^
]+
\[1\]$' "invite with the sink stopped: one line, exit 1"
tb_start_smtp || bail_out "SMTP sink did not restart"

# --- the directory down -----------------------------------------------------------

tb_stop_slapd
like "$(ctl "${C[@]}" check)" '
FAILED: ldap: ldap://127\.0\.0\.1:\$LDAP_PORT/: directory server unavailable
ok: smtp: [^
]+
\[1\]$' "check with slapd stopped: FAILED: ldap, exit 1"
for cmd in "add down --mail down@example.org" "invite alice" "reissue alice" "show alice" "unlock alice"; do
	read -r -a argv <<<"$cmd"
	is "$(ctl "${C[@]}" "${argv[@]}")" "! mailotpctl: ${argv[0]}: ${argv[1]}: directory server unavailable (ldap://127.0.0.1:\$LDAP_PORT/)
[1]" "${argv[0]} with slapd stopped: one clear line, exit 1"
done

tap_done
