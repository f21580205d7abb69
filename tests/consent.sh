#!/bin/bash
# Consent to the terms of use (seed 002): asked at the first login, not
# again until the terms change (SIGHUP re-reads them), only an exact "yes"
# (or "はい") accepts, everything else denies; the acceptance is stored on
# the entry, where the user cannot write it.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
{
	printf 'Terms of use / 利用規約\n\n'
	for i in $(seq 1 12); do
		printf 'Article %d. The service is provided as is; your personal data is handled under the privacy policy. 第%d条 本サービスは現状のまま提供されます。\n' "$i" "$i"
	done
} >"$TB_DIR/terms.txt"
tb_write_config "$TB_DIR/mailotp.conf" terms_file "$TB_DIR/terms.txt"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
pam_std_services
PW='Alice-Passw0rd!'
A=alice@example.org
DN=$(tb_user_dn alice)

pam_run mailotp alice auth,acct "$PW" @CODE:$A yes
is "$PAM_RESULT" PAM_SUCCESS "first login: terms shown, 'yes' accepted"
like "$PAM_OUT" "INFO Terms of use / 利用規約" "the terms are shown"
like "$PAM_OUT" "PROMPT_ECHO_ON Do you accept the terms of use and the privacy policy above\? Type yes to accept: " "an explicit question, echo on"
n_info=$(printf '%s\n' "$PAM_OUT" | grep -c '^INFO ')
ok "$(( n_info >= 4 ? 0 : 1 ))" "the long text comes in several messages ($n_info, each under 512 bytes)"
long=$(printf '%s\n' "$PAM_OUT" | awk '/^INFO / && length($0) > 520' | wc -l)
is "$long" 0 "no message is longer than PAM_MAX_MSG_SIZE"
version=$(tb_ldap_get "$DN" mailotpConsentVersion)
like "$version" '^[0-9a-f]{32}$' "the accepted version (a hash of the file) is stored on the entry"
like "$(tb_ldap_get "$DN" mailotpConsentTime)" '^[0-9]{14}Z$' "with the time"
is "$(tb_ldap_get "$DN" mailotpConsentFrom)" "local" "and where from (no remote host: local)"

pam_run mailotp alice auth,acct "$PW" @CODE:$A
is "$PAM_RESULT" PAM_SUCCESS "second login: not asked again"
unlike "$PAM_OUT" "Terms of use" "no terms shown"

# The terms change: everyone is asked again after SIGHUP.
printf 'Article 13. New article. 第13条 新しい条項。\n' >>"$TB_DIR/terms.txt"
tb_reload_daemon
sleep 0.5
for answer in no y 'YES ' @EMPTY @NULL @CONVERR; do
	pam_run mailotp alice auth,acct "$PW" @CODE:$A "$answer"
	is "$PAM_RESULT" PAM_PERM_DENIED "terms changed: answer '$answer' is a refusal"
done
pam_run mailotp alice auth,acct "$PW" @CODE:$A no
like "$PAM_OUT" "ERROR You cannot log in without accepting the terms" "the refusal is explained"
is "$(tb_ldap_get "$DN" mailotpConsentVersion)" "$version" "refusals store nothing"
pam_run mailotp alice auth,acct "$PW" @CODE:$A yes
is "$PAM_RESULT" PAM_SUCCESS "'yes' accepts the new version"
new_version=$(tb_ldap_get "$DN" mailotpConsentVersion)
ok "$([[ "$new_version" != "$version" && -n "$new_version" ]] && echo 0 || echo 1)" "a new version is stored"

# Japanese account: Japanese question, はい accepts.
pam_run mailotp hanako auth,acct 'Hanako-Passw0rd!' @CODE:hanako@example.org はい
is "$PAM_RESULT" PAM_SUCCESS "hanako accepts with はい"
like "$PAM_OUT" "PROMPT_ECHO_ON 上記の利用規約・プライバシーポリシーに同意しますか" "and was asked in Japanese"

# An explicit terms_version: only a change of it asks again.
tb_stop_daemon
tb_write_config "$TB_DIR/mailotp.conf" terms_file "$TB_DIR/terms.txt" terms_version 2026-11
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not restart"
pam_run mailotp bob auth,acct 'Bob-Passw0rd!' @CODE:bob@example.org yes
is "$PAM_RESULT" PAM_SUCCESS "bob accepts terms_version 2026-11"
is "$(tb_ldap_get "$(tb_user_dn bob)" mailotpConsentVersion)" "2026-11" "the configured version is stored"

# Users cannot write their own consent (ACL).
st=0
LDAPNOINIT=1 ldapmodify -x -H "$TB_LDAP_URI" -D "$(tb_user_dn carol)" -w 'Carol-Passw0rd!' >/dev/null 2>&1 <<EOL || st=$?
dn: $(tb_user_dn carol)
changetype: modify
replace: mailotpConsentVersion
mailotpConsentVersion: 2026-11
EOL
ok "$(( st != 0 ? 0 : 1 ))" "carol cannot set her own consent with ldapmodify (exit $st)"
pam_run mailotp carol auth,acct 'Carol-Passw0rd!' @CODE:carol@example.org no
is "$PAM_RESULT" PAM_PERM_DENIED "so she is still asked, and refusing denies"

tap_done
