#!/bin/bash
# Seed 000 end to end: the request form with realm (survey code), user ID
# and e-mail; a reissued temporary password mailed, valid reset_ttl; a
# login with it through PAM, the forced change, the new password; a wrong
# combination answers exactly like a right one and mails nothing; a
# temporary password is refused once reset_ttl has passed.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

tb_start_web_stack reset_request_fields realm,user,email reset_realm_attr departmentNumber \
	reset_mode temporary reset_ttl 3600 password_hash_memlimit 8192 password_hash_opslimit 1
pam_service mailotp \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"account required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"password required $PAM_MODULE socket=$TB_PAM_SOCKET"

B="$TB_DIR/b" J="$TB_DIR/jar"
req() { CODE=$(curl -sS -o "$B" -w '%{http_code}' "$@" 2>/dev/null) || CODE=000; }
# request REALM USER EMAIL [LANG]: the whole form, with its CSRF value
request() {
	rm -f "$J"
	req -c "$J" -H "Accept-Language: ${4:-en}" "$U/"
	local csrf
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
	req -b "$J" -H "Accept-Language: ${4:-en}" --data-urlencode "csrf=$csrf" \
		--data-urlencode "realm=$1" --data-urlencode "user=$2" --data-urlencode "email=$3" "$U/request"
	sed 's/name="csrf" value="[^"]*"/name="csrf" value=""/' "$B" >"$TB_DIR/page.$5"
}
# the mail is sent in the background: wait for it, or for a quiet second
settle() { sleep 1; }

req "$U/"
like "$(cat "$B")" 'name="realm".*name="user".*name="email"' "the request form asks realm, user ID and e-mail"

before=$(tb_mail_count)
request 9N9Z alice ALICE@example.org en right
right_code=$CODE
settle
request 0000 alice alice@example.org en wrongrealm
c2=$CODE
request 9N9Z bob alice@example.org en wronguser
c3=$CODE
request 9N9Z alice bob@example.org en wrongmail
c4=$CODE
request 9N9Z nosuchuser x@example.org en unknown
c5=$CODE
settle
is "$right_code $c2 $c3 $c4 $c5" "200 200 200 200 200" "right and wrong combinations: the same status"
same=0
for p in wrongrealm wronguser wrongmail unknown; do cmp -s "$TB_DIR/page.right" "$TB_DIR/page.$p" || same=1; done
is "$same" 0 "and the same page, byte for byte (apart from the CSRF value)"
is "$(( $(tb_mail_count) - before ))" 1 "exactly one mail: for the right combination only"
mail=$(tb_mail_last alice@example.org)
temp=$(printf '%s\n' "$mail" | grep -E '^[A-Za-z0-9#%+=?@-]{16}$' | head -n 1)
ok "$([[ -n "$temp" ]] && echo 0 || echo 1)" "the mail holds a temporary password alone on its line"
like "$mail" "60" "and says how long it is valid (60 minutes)"
like "$(tb_ldap_get "$(tb_user_dn alice)" userPassword)" '^\{ARGON2\}\$argon2id\$' "the temporary password is stored as argon2id"
like "$(tb_ldap_get "$(tb_user_dn alice)" mailotpTempPasswordExpiry)" '^[0-9]{14}Z$' "with its expiry"

# The old password is gone; the temporary one logs in and must be changed.
pam_run mailotp alice auth 'Alice-Passw0rd!'
is "$PAM_RESULT" PAM_AUTH_ERR "the old password no longer works"
pam_run mailotp alice auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok "$temp" @CODE:alice@example.org "$temp" 'abc' 'abc'
like "$PAM_OUT" "RESULT account PAM_NEW_AUTHTOK_REQD
RESULT chauthtok PAM_AUTHTOK_ERR" "login with the temporary password: change required; a weak new password refused"
pam_run mailotp alice auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok "$temp" @CODE:alice@example.org "$temp" 'Pine-Lake-2719' 'Pine-Lake-2719'
like "$PAM_OUT" "RESULT account PAM_NEW_AUTHTOK_REQD
RESULT chauthtok PAM_SUCCESS" "the second try sets a good new password"
pam_run mailotp alice auth,acct 'Pine-Lake-2719' @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "the new password logs in, no change asked any more"
pam_run mailotp alice auth "$temp"
is "$PAM_RESULT" PAM_AUTH_ERR "the temporary password is dead"

# Mail bombing: asking again at once mails nothing more (per-account guard).
tb_mail_settle
before=$(tb_mail_count alice@example.org)
request 9N9Z alice alice@example.org en again
settle
is "$(( $(tb_mail_count alice@example.org) - before ))" 0 "a second request within a minute mails nothing"

# A temporary password past reset_ttl does not log in.
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn alice)
changetype: modify
replace: mailotpResetSentTime
mailotpResetSentTime: 20000101000000Z
EOL
request 9N9Z alice alice@example.org en third
settle
temp2=$(tb_mail_last alice@example.org | grep -E '^[A-Za-z0-9#%+=?@-]{16}$' | head -n 1)
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn alice)
changetype: modify
replace: mailotpTempPasswordExpiry
mailotpTempPasswordExpiry: $(date -u -d '-1 minute' +%Y%m%d%H%M%SZ)
EOL
pam_run mailotp alice auth "$temp2" @CODE:alice@example.org
is "$PAM_RESULT" PAM_AUTH_ERR "a temporary password past reset_ttl is refused"
like "$PAM_OUT" "ERROR Your temporary password has expired" "with a message to ask for a new one"

# Japanese page
req -H 'Accept-Language: ja' "$U/"
like "$(cat "$B")" '<html lang="ja">' "the form is served in Japanese on Accept-Language: ja"

# SMTP refusing: nothing half-written, the password unchanged.
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn bob)
changetype: modify
replace: departmentNumber
departmentNumber: 9N9Z
EOL
tb_smtp_mode refuse_rcpt
request 9N9Z bob bob@example.org en smtpdown
settle
is "$CODE" 200 "SMTP refusing: the answer is the same"
LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn bob)" -w 'Bob-Passw0rd!' >/dev/null 2>&1
ok $? "and bob's password was not replaced by one nobody received"
like "$(cat "$TB_DAEMON_LOG")" 'reset-request: for="bob".*result=failed' "the failure is logged"
tb_smtp_mode accept

tap_done
