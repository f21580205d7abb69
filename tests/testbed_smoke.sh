#!/bin/bash
# shellcheck disable=SC2016,SC2317 # literal regexes; functions run via run_ok
# TAP: the test-bed itself works - both schema forms load, slapd holds the
# test accounts with the intended passwords and ACLs, ppolicy locks, the
# SMTP sink stores, decodes and refuses mail, slapd survives a restart.
set -euo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
# shellcheck source=testbed/testbed.sh
. "$top_srcdir/tests/testbed/testbed.sh"

[[ -x /usr/sbin/slapd && -x /usr/sbin/slapadd ]] || skip_all "slapd not installed"
command -v ldapwhoami >/dev/null || skip_all "ldap-utils not installed"
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip_all "python3-aiosmtpd not installed"

tap_plan 93

tb_init
export LDAPNOINIT=1

# --- schema, both forms ------------------------------------------------------

cat >"$TB_DIR/schema-test.conf" <<EOF
include $TB_SCHEMA_DIR/core.schema
include $TB_SCHEMA_DIR/cosine.schema
include $TB_SCHEMA_DIR/inetorgperson.schema
include $top_srcdir/examples/ldap/mailotp.schema
EOF
run_ok "mailotp.schema loads (slaptest -f)" \
	/usr/sbin/slaptest -u -f "$TB_DIR/schema-test.conf"

# the two forms must define the same things, word for word
schema_defs() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import re, sys
form, path = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
defs = []
if form == "schema":
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
    for stmt in re.split(r"\n(?=\S)", body.strip()):
        kw, _, rest = stmt.partition(" ")
        defs.append(kw.lower() + " " + " ".join(rest.split()))
else:
    body = re.sub(r"\n ", "", text)  # LDIF line folding
    for line in body.splitlines():
        kw, _, rest = line.partition(": ")
        kw = {"olcattributetypes": "attributetype",
              "olcobjectclasses": "objectclass"}.get(kw.lower())
        if kw:
            defs.append(kw + " " + " ".join(rest.split()))
print("\n".join(defs))
EOF
}
is "$(schema_defs ldif "$top_srcdir/examples/ldap/mailotp.ldif")" \
	"$(schema_defs schema "$top_srcdir/examples/ldap/mailotp.schema")" \
	"mailotp.ldif and mailotp.schema define the same types"
like "$(schema_defs schema "$top_srcdir/examples/ldap/mailotp.schema" | grep -c .)" '^14$' \
	"13 attribute types and 1 object class"

# --- slapd -------------------------------------------------------------------

st=0
tb_start_slapd || st=$?
ok "$st" "slapd starts (slapadd -n0 of the config with mailotp.ldif, -n1 of the data)"
((st == 0)) || bail_out "no slapd"
diag "slapd ready in ${TB_SLAPD_START_MS} ms on $TB_LDAP_URI and $TB_LDAPI_URI"

like "$(tb_ldap_search -b "cn=subschema" -s base '(objectClass=*)' objectClasses)" \
	"NAME 'mailotpAccount'" "slapd serves the mailotpAccount class"

whoami_as() { # DN PASSWORD
	ldapwhoami -x -H "$TB_LDAP_URI" -D "$1" -w "$2" -o nettimeout=2
}
for u in "${TB_USERS[@]}"; do
	dn=$(tb_user_dn "$u")
	if [[ "$u" == locked ]]; then
		run_fails "$u does not bind: administratively locked" whoami_as "$dn" "$(tb_user_pw "$u")"
		like "$(ldapwhoami -x -H "$TB_LDAP_URI" -D "$dn" -w "$(tb_user_pw "$u")" \
			-e ppolicy 2>&1 || true)" 'Invalid credentials \(49\); Account locked' \
			"$u: 49, and the ppolicy control says 'Account locked'"
	else
		run_ok "$u binds with its password" whoami_as "$dn" "$(tb_user_pw "$u")"
	fi
	run_fails "$u does not bind with a wrong password" whoami_as "$dn" "Wrong-Passw0rd!"
done
like "$(tb_ldap_get "$(tb_user_dn bob)" userPassword)" '^\{CRYPT\}\$6\$' "bob's hash is {CRYPT}\$6\$"
like "$(tb_ldap_get "$(tb_user_dn carol)" userPassword)" \
	'^\{ARGON2\}\$argon2id\$v=19\$m=4096,t=1,p=1\$' "carol's hash is {ARGON2}\$argon2id\$ m=4096,t=1"
is "$(tb_ldap_get "$(tb_user_dn hanako)" cn)" "山田 花子" "hanako's cn is 山田 花子"
is "$(tb_ldap_get "$(tb_user_dn hanako)" preferredLanguage)" "ja" "hanako's preferredLanguage is ja"
is "$(tb_ldap_get "$(tb_user_dn nomail)" mail)" "" "nomail has no mail"
is "$(tb_ldap_get "$(tb_user_dn alice)" departmentNumber)" "9N9Z" "alice's realm (departmentNumber) is 9N9Z"

# --- service account ---------------------------------------------------------

svc_search() {
	ldapsearch -x -H "$TB_LDAP_URI" -D "$TB_SVC_DN" -y "$TB_SVC_PW_FILE" \
		-o ldif-wrap=no -LLL "$@"
}
svc_modify() {
	ldapmodify -x -H "$TB_LDAP_URI" -D "$TB_SVC_DN" -y "$TB_SVC_PW_FILE" "$@"
}
is "$(stat -c %a "$TB_SVC_PW_FILE")" 600 "service password file is mode 0600"
run_ok "service account binds with the password in TB_SVC_PW_FILE" \
	ldapwhoami -x -H "$TB_LDAP_URI" -D "$TB_SVC_DN" -y "$TB_SVC_PW_FILE"
out=$(svc_search -b "$TB_PEOPLE_BASE" '(uid=alice)' mail mailotpNotifyMail departmentNumber 2>&1 || true)
like "$out" $'mail: alice@example.org' "service account reads alice's mail"
like "$out" $'mailotpNotifyMail: proxy-alice@example.org' "... and her notify address"
like "$(svc_search -b "$TB_PEOPLE_BASE" '(uid=st\2ar)' dn 2>&1 || true)" 'dn: uid=st\*r,' \
	"service account finds st*r with an escaped filter"
run_ok "service account writes mailotpOtpFailures on alice" svc_modify <<EOF
dn: $(tb_user_dn alice)
changetype: modify
replace: mailotpOtpFailures
mailotpOtpFailures: 1
-
replace: mailotpOtpFailTime
mailotpOtpFailTime: 20250101000000Z
EOF
is "$(tb_ldap_get "$(tb_user_dn alice)" mailotpOtpFailures)" 1 "... and it is stored"
run_fails "service account cannot write alice's mail" svc_modify <<EOF
dn: $(tb_user_dn alice)
changetype: modify
replace: mail
mail: mallory@example.org
EOF
run_ok "service account adds an account under ou=people (mailotpctl add)" svc_modify <<EOF
dn: uid=newbie,$TB_PEOPLE_BASE
changetype: add
objectClass: inetOrgPerson
objectClass: mailotpAccount
uid: newbie
cn: New Bie
sn: Bie
mail: newbie@example.org
EOF
run_fails "... but cannot delete it" svc_modify <<EOF
dn: uid=newbie,$TB_PEOPLE_BASE
changetype: delete
EOF
newhash=$(printf 'argon2id New-Nomail-Passw0rd!\n' | /usr/bin/python3 "$TB_SRCDIR/pwhash.py")
run_ok "service account writes nomail's userPassword (argon2id)" svc_modify <<EOF
dn: $(tb_user_dn nomail)
changetype: modify
replace: userPassword
userPassword: $newhash
EOF
run_ok "nomail binds with the new password" whoami_as "$(tb_user_dn nomail)" 'New-Nomail-Passw0rd!'
run_ok "service account unlocks 'locked' (deletes pwdAccountLockedTime)" svc_modify <<EOF
dn: $(tb_user_dn locked)
changetype: modify
delete: pwdAccountLockedTime
EOF
run_ok "... then locked binds" whoami_as "$(tb_user_dn locked)" "$(tb_user_pw locked)"
run_ok "service account locks it again and sets pwdReset" svc_modify <<EOF
dn: $(tb_user_dn locked)
changetype: modify
add: pwdAccountLockedTime
pwdAccountLockedTime: 000001010000Z
-
replace: pwdReset
pwdReset: TRUE
EOF
run_fails "... then locked does not bind" whoami_as "$(tb_user_dn locked)" "$(tb_user_pw locked)"

paren_dn=$(tb_user_dn 'pa(re)n')
for i in 1 2 3 4 5; do whoami_as "$paren_dn" "Wrong-Passw0rd!$i" >/dev/null 2>&1 || true; done
like "$(tb_ldap_get "$paren_dn" pwdAccountLockedTime)" '^[0-9]{14}Z$' \
	"five more wrong passwords lock pa(re)n (pwdMaxFailure 5)"
run_fails "... then its right password is refused" whoami_as "$paren_dn" "$(tb_user_pw 'pa(re)n')"
run_ok "service account unlocks it" svc_modify <<EOF
dn: $paren_dn
changetype: modify
delete: pwdAccountLockedTime
EOF
is "$(tb_ldap_get "$paren_dn" pwdFailureTime)" "" "... which also clears pwdFailureTime"
run_ok "... then it binds again" whoami_as "$paren_dn" "$(tb_user_pw 'pa(re)n')"

# --- a user on their own entry, anonymous ------------------------------------

alice_dn=$(tb_user_dn alice)
alice_modify() {
	ldapmodify -x -H "$TB_LDAP_URI" -D "$alice_dn" -w "$(tb_user_pw alice)" "$@"
}
run_fails "alice cannot write her own mailotpMustChange" alice_modify <<EOF
dn: $alice_dn
changetype: modify
replace: mailotpMustChange
mailotpMustChange: FALSE
EOF
like "$TAP_OUT" 'Insufficient access \(50\)' "... insufficient access (50)"
run_fails "alice cannot write her own userPassword" alice_modify <<EOF
dn: $alice_dn
changetype: modify
replace: userPassword
userPassword: Alice-Passw0rd!2
EOF
run_fails "alice cannot change her password with ldappasswd" \
	ldappasswd -x -H "$TB_LDAP_URI" -D "$alice_dn" -w "$(tb_user_pw alice)" -s 'Other-Passw0rd!9'
out=$(ldapsearch -x -H "$TB_LDAP_URI" -D "$alice_dn" -w "$(tb_user_pw alice)" -LLL \
	-b "$alice_dn" -s base mail mailotpOtpFailures userPassword 2>&1 || true)
like "$out" 'mail: alice@example.org' "alice reads her own mail"
unlike "$out" 'userPassword' "... but not her password hash"
out=$(ldapsearch -x -H "$TB_LDAP_URI" -D "$alice_dn" -w "$(tb_user_pw alice)" -LLL \
	-b "$TB_PEOPLE_BASE" '(uid=bob)' mail 2>&1 || true)
unlike "$out" 'bob@example.org' "alice cannot read bob's mail"
out=$(ldapsearch -x -H "$TB_LDAP_URI" -LLL -b "$TB_PEOPLE_BASE" '(uid=alice)' mail 2>&1 || true)
unlike "$out" 'alice@example.org' "anonymous cannot read alice's mail"
out=$(ldapsearch -x -H "$TB_LDAP_URI" -LLL -b "$TB_PEOPLE_BASE" '(mail=alice@example.org)' dn 2>&1 || true)
unlike "$out" 'uid=alice' "anonymous cannot find accounts by mail"

# --- SMTP sink ---------------------------------------------------------------

send_mail() { # FROM RCPT... ; body carries the code 424242, subject Japanese
	/usr/bin/python3 - "$TB_SMTP_PORT" "$@" <<'EOF'
import os, smtplib, sys
from email.message import EmailMessage
port, sender, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
m = EmailMessage()
m["From"] = sender
m["To"] = ", ".join(rcpts)
m["Subject"] = "ワンタイムパスワードのお知らせ"
m.set_content("山田 花子 様\n\nワンタイムパスワード:\n424242\n\n5分間有効です。\n",
              charset="utf-8", cte="base64")
try:
    with smtplib.SMTP("127.0.0.1", port, timeout=float(os.environ.get("SEND_TIMEOUT", "3"))) as s:
        s.send_message(m, sender, rcpts)
except smtplib.SMTPRecipientsRefused as e:
    print("refused rcpt", list(e.recipients.values())[0][0]); sys.exit(3)
except smtplib.SMTPDataError as e:
    print("refused data", e.smtp_code); sys.exit(4)
except (TimeoutError, OSError, smtplib.SMTPServerDisconnected) as e:
    print("no answer:", type(e).__name__, e); sys.exit(5)
EOF
}
st=0
tb_start_smtp || st=$?
ok "$st" "SMTP sink starts on port ${TB_SMTP_PORT:-?}"
run_ok "smtplib sends a mail with a Japanese subject" \
	send_mail mailotp@example.org hanako@example.org proxy-alice@example.org
is "$(tb_mail_count hanako@example.org)" 1 "the sink counts it for hanako"
is "$(tb_mail_count proxy-alice@example.org)" 1 "... and for the second recipient"
is "$(tb_mail_count bob@example.org)" 0 "... and not for bob"
is "$(tb_mail_code hanako@example.org)" 424242 "tb_mail_code extracts the code from the base64 body"
out=$(tb_mail_last hanako@example.org || true)
like "$out" $'\nSubject: ワンタイムパスワードのお知らせ\n' "tb_mail_last decodes the RFC 2047 subject"
like "$out" $'\nワンタイムパスワード:\n424242\n' "tb_mail_last decodes the body"
st=0
TB_WAIT=0.3 tb_mail_code hanako@example.org 2 >/dev/null 2>&1 || st=$?
is "$st" 1 "tb_mail_code fails when no newer message arrives"

tb_smtp_mode refuse_rcpt
run_fails "refuse_rcpt mode refuses the recipient" send_mail mailotp@example.org bob@example.org
like "$TAP_OUT" 'refused rcpt 550' "... with 550"
tb_smtp_mode refuse_data
run_fails "refuse_data mode refuses after DATA" send_mail mailotp@example.org bob@example.org
like "$TAP_OUT" 'refused data 554' "... with 554"
port=$TB_SMTP_PORT
tb_start_smtp tarpit
is "$TB_SMTP_PORT" "$port" "a restarted sink keeps its port"
SEND_TIMEOUT=0.5 run_fails "tarpit mode accepts but never greets" send_mail mailotp@example.org bob@example.org
like "$TAP_OUT" 'no answer' "... the client times out"
tb_start_smtp accept
is "$(tb_mail_count)" 1 "refused mail was not stored"
tb_mail_clear
is "$(tb_mail_count)" 0 "tb_mail_clear empties the sink"

# --- slapd down, paused, restarted -------------------------------------------

port=$TB_LDAP_PORT
tb_stop_slapd
run_fails "stopped slapd does not answer" whoami_as "$TB_SVC_DN" "$(cat "$TB_SVC_PW_FILE")"
st=0
tb_restart_slapd || st=$?
ok "$st" "slapd restarts"
is "$TB_LDAP_PORT" "$port" "... on the same port"
is "$(tb_ldap_get "$alice_dn" mailotpOtpFailures)" 1 "... with the data written before"
run_ok "... and nomail's new password" whoami_as "$(tb_user_dn nomail)" 'New-Nomail-Passw0rd!'
tb_pause_slapd
run_fails "paused slapd does not answer within 1 s" timeout 1 ldapwhoami -x -H "$TB_LDAP_URI"
tb_resume_slapd
run_ok "resumed slapd answers" whoami_as "$(tb_user_dn bob)" "$(tb_user_pw bob)"

# --- examples/ldap/acl.ldif ---------------------------------------------------
# The shipped access list loads into cn=config and is the one the test-bed
# runs (so every ACL test of the suite tests it too).
run_ok "examples/ldap/acl.ldif loads with ldapmodify -Y EXTERNAL" \
	tb_ldap_config_modify -f "$top_srcdir/examples/ldap/acl.ldif"
st=0
LDAPNOINIT=1 ldapmodify -x -H "$TB_LDAP_URI" -D "$(tb_user_dn alice)" -w 'Alice-Passw0rd!' >/dev/null 2>&1 <<EOL || st=$?
dn: $(tb_user_dn alice)
changetype: modify
replace: mailotpMustChange
mailotpMustChange: FALSE
EOL
is "$st" 50 "under the shipped ACL alice still cannot write her own forced change (50)"
LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$TB_SVC_DN" -y "$TB_SVC_PW_FILE" >/dev/null 2>&1
ok $? "and the service account still binds"

# --- mailotp.conf ------------------------------------------------------------

tb_write_config "$TB_DIR/mailotp.conf" otp_digits 8 mail_from noreply@example.org reset_listen ''
conf=$(cat "$TB_DIR/mailotp.conf")
like "$conf" $'\nldap_uri ldap://127.0.0.1:'"$TB_LDAP_PORT"$'/\n' "config: ldap_uri"
like "$conf" $'\nsmtp_url smtp://127.0.0.1:'"$TB_SMTP_PORT"$'\n' "config: smtp_url"
like "$conf" $'\nmail_from noreply@example.org\nuser root\n' "config: a key overridden in place"
like "$conf" $'\notp_resend_interval 0\notp_digits 8$' "config: a new key appended"
unlike "$conf" 'reset_listen' "config: an empty value removes a key"

tap_done
