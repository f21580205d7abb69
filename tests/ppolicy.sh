#!/bin/bash
# The directory's own password policy (slapd ppolicy) at login: an
# administrator's reset (pwdReset) forces a change at the account stage;
# an expired password in its grace logins logs in once more, says so, and
# must be changed; an expired password without grace is refused with a
# message only when it was the right one.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_start_stack password_hash_memlimit 8192 password_hash_opslimit 1
pam_service mailotp \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"account required $PAM_MODULE socket=$TB_PAM_SOCKET" \
	"password required $PAM_MODULE socket=$TB_PAM_SOCKET"

# --- an administrator's reset: pwdReset TRUE
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn bob)
changetype: modify
replace: pwdReset
pwdReset: TRUE
EOL
pam_run mailotp bob auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok 'Bob-Passw0rd!' @CODE:bob@example.org 'Bob-Passw0rd!' 'Cedar-Hill-6042' 'Cedar-Hill-6042'
like "$PAM_OUT" "INFO Your password was reset by an administrator: set a new one now.
.*RESULT account PAM_NEW_AUTHTOK_REQD
RESULT chauthtok PAM_SUCCESS" "pwdReset: the account stage forces a change, which goes through"
is "$(tb_ldap_get "$(tb_user_dn bob)" pwdReset)" "" "and pwdReset is cleared"
pam_run mailotp bob acct
is "$PAM_RESULT" PAM_SUCCESS "the next account stage passes"

# --- a policy of its own for carol and hanako: passwords expire after 2 s
tb_ldap_modify >/dev/null <<EOL
dn: cn=short,ou=policies,$TB_BASE
changetype: add
objectClass: pwdPolicy
objectClass: device
cn: short
pwdAttribute: userPassword
pwdMaxAge: 2
pwdGraceAuthNLimit: 2

dn: cn=nograce,ou=policies,$TB_BASE
changetype: add
objectClass: pwdPolicy
objectClass: device
cn: nograce
pwdAttribute: userPassword
pwdMaxAge: 2
pwdGraceAuthNLimit: 0

dn: $(tb_user_dn carol)
changetype: modify
replace: pwdPolicySubentry
pwdPolicySubentry: cn=short,ou=policies,$TB_BASE
-
replace: userPassword
userPassword: Carol-Passw0rd!

dn: $(tb_user_dn hanako)
changetype: modify
replace: pwdPolicySubentry
pwdPolicySubentry: cn=nograce,ou=policies,$TB_BASE
-
replace: userPassword
userPassword: Hanako-Passw0rd!
EOL
ok $? "per-account policies with pwdMaxAge 2 s set up"
sleep 3

pam_run mailotp carol auth,acct=PAM_NEW_AUTHTOK_REQD,chauthtok 'Carol-Passw0rd!' @CODE:carol@example.org 'Carol-Passw0rd!' 'Birch-Lane-3371' 'Birch-Lane-3371'
like "$PAM_OUT" "INFO Your password has expired; logins left before it stops working: [0-9]+. Set a new one now." "expired with grace logins: the login says so"
like "$PAM_OUT" "RESULT authenticate PAM_SUCCESS
RESULT account PAM_NEW_AUTHTOK_REQD
RESULT chauthtok PAM_SUCCESS" "and the account stage forces the change, which goes through"

before=$(tb_mail_count hanako@example.org)
pam_run mailotp hanako auth 'Hanako-Passw0rd!' @CODE:hanako@example.org
is "$PAM_RESULT" PAM_AUTH_ERR "expired without grace: refused"
like "$PAM_OUT" "ERROR パスワードの有効期限が切れています。パスワードリセット画面から" "with a message (in hanako's Japanese) to use the reset page"
is "$(tb_mail_count hanako@example.org)" "$before" "and no code is mailed"
pam_run mailotp hanako auth 'not-hanakos-password'
wrong=$PAM_OUT
pam_run mailotp nosuchuser auth 'not-hanakos-password'
is "$wrong" "$PAM_OUT" "a wrong password for that account still looks like any refusal"

tap_done
