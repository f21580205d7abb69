#!/bin/bash
# The combined login (`combined` module argument), for gateways that pass
# one secret per request, such as HTTP Basic auth: the password alone
# mails a code and is refused; the password followed directly by that
# code passes, once. Wrong codes are counted, a code of the two-step login
# is no use here and the other way round, and refusals look alike.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_start_stack otp_lockout_failures 5
pam_std_services
pam_service web \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET combined" \
	"account required $PAM_MODULE socket=$TB_PAM_SOCKET"
pam_service bothflags \
	"auth required $PAM_MODULE socket=$TB_PAM_SOCKET combined otp_only"

PW='Alice-Passw0rd!'
# mail_code USER ANSWER: run a combined login with ANSWER (the password)
# and put the code it mailed in $code (empty when none came)
mail_code() {
	local addr n
	addr=$(tb_user_mail "$1")
	n=$(tb_mail_count "$addr")
	pam_run web "$1" auth "$2"
	code=$(tb_mail_code "$addr" "$((n + 1))") || code=''
}
# wrong_of CODE: the same code with its last digit changed
wrong_of() {
	local c=$1 d=${1: -1}
	printf '%s%s\n' "${c%?}" "$(((d + 1) % 10))"
}

# --- the refusals look alike and mail nothing
before=$(tb_mail_count)
pam_run web alice auth 'wrong-password'
wrong_out=$PAM_OUT
is "$PAM_RESULT" PAM_AUTH_ERR "wrong password: PAM_AUTH_ERR"
is "$PAM_OUT" "PROMPT_ECHO_OFF Password: 
RESULT authenticate PAM_AUTH_ERR" "one question only, and no text"
pam_run web nosuchuser auth "$PW"
is "$PAM_OUT" "$wrong_out" "unknown account: the same conversation"
pam_run web alice auth @EMPTY
is "$PAM_OUT" "$wrong_out" "empty answer: the same conversation"
pam_run web alice auth 'wrong-password123456'
is "$PAM_OUT" "$wrong_out" "a wrong password followed by digits: the same conversation"
is "$(tb_mail_count)" "$before" "none of these mailed anything"

# --- the password alone: a code is mailed, this sign-in fails
n0=$(tb_mail_count alice@example.org)
pam_run web alice auth "$PW"
is "$PAM_RESULT" PAM_AUTH_ERR "the password alone does not log in"
like "$PAM_OUT" "INFO A one-time code has been sent to a\*\*\*@example.org. Sign in again with your password followed directly by the code." "but says where the code went and what to do"
is "$(tb_mail_count alice@example.org)" "$((n0 + 1))" "one mail to alice"
code=$(tb_mail_code alice@example.org "$((n0 + 1))")
like "$code" '^[0-9]{6}$' "the mail holds a 6-digit code"

# --- password + code: in, once
pam_run web alice auth,acct "$PW$code"
is "$PAM_OUT" "PROMPT_ECHO_OFF Password: 
RESULT authenticate PAM_SUCCESS
RESULT account PAM_SUCCESS" "password followed by the code logs in (auth and account)"
pam_run web alice auth "$PW$code"
is "$PAM_OUT" "PROMPT_ECHO_OFF Password: 
ERROR This one-time code is no longer valid. Sign in with your password alone to get a new one.
RESULT authenticate PAM_AUTH_ERR" "the same code again is refused, saying why (the password was right)"
is "$(tb_mail_count alice@example.org)" "$((n0 + 1))" "and mails nothing"
pam_run web alice auth "${PW}123456"
like "$PAM_OUT" "ERROR This one-time code is no longer valid" "the password and digits when no code is pending: the same"
# Old credentials re-sent (a browser after its cached sign-in ran out) must
# never count as wrong passwords in the directory's lockout (ppolicy).
for _ in 1 2 3 4 5 6; do pam_run web alice auth "$PW$code"; done
is "$(tb_ldap_get "$(tb_user_dn alice)" pwdFailureTime 2>/dev/null | grep -c .)" 0 "six stale password+code answers leave no ppolicy failure on the entry"
pam_run web alice auth "$PW"
is "$PAM_RESULT" PAM_AUTH_ERR "and the account is not locked: the password still mails a code"
like "$(cat "$TB_DAEMON_LOG")" 'auth-combined: user="alice".*result=ok: password and code accepted' "the log says password and code were accepted"

# --- a right code after a wrong password is no use
mail_code alice "$PW"
pam_run web alice auth "Wrong-Passw0rd!$code"
is "$PAM_OUT" "$wrong_out" "wrong password with the right code: refused, no text"
pam_run web alice auth "$PW$code"
is "$PAM_RESULT" PAM_SUCCESS "the code is not spent by a try with a wrong password"

# --- wrong codes: counted, three per code
mail_code alice "$PW"
wrong=$(wrong_of "$code")
pam_run web alice auth "$PW$wrong"
like "$PAM_OUT" "ERROR Wrong code. Tries left: 2.
RESULT authenticate PAM_AUTH_ERR" "a wrong code after the right password: refused, with the tries left"
like "$(cat "$TB_DAEMON_LOG")" 'auth-combined: user="alice".*result=denied: wrong code, 2 tries left' "the log counts the tries left"
failures=$(tb_ldap_get "$(tb_user_dn alice)" mailotpOtpFailures 2>/dev/null | head -1)
is "$failures" 1 "the wrong code is counted on the entry (all hosts see it)"
pam_run web alice auth "$PW$wrong"
pam_run web alice auth "$PW$wrong"
is "$PAM_RESULT" PAM_MAXTRIES "the third wrong code: PAM_MAXTRIES"
pam_run web alice auth "$PW$code"
is "$PAM_RESULT" PAM_AUTH_ERR "after three wrong codes the right one is dead"
mail_code alice "$PW"
pam_run web alice auth "$PW$code"
is "$PAM_RESULT" PAM_SUCCESS "a new code works, and clears the count"
failures=$(tb_ldap_get "$(tb_user_dn alice)" mailotpOtpFailures 2>/dev/null | head -1)
is "${failures:-0}" 0 "the entry's wrong-code count is cleared"

# --- the two kinds of code do not mix
n=$(tb_mail_count alice@example.org)
pam_run mailotp alice auth "$PW" @CONVERR
code2=$(tb_mail_code alice@example.org "$((n + 1))")
pam_run web alice auth "$PW$code2"
is "$PAM_RESULT" PAM_AUTH_ERR "a code of the two-step login does not pass a combined login"
mail_code alice "$PW"
pam_run mailotp alice auth "$PW" "$code" @CONVERR
like "$PAM_OUT" "ERROR Wrong code. Tries left: 2." "a combined code is a wrong code at the two-step login's code question"
pam_run web alice auth "$PW$code"
is "$PAM_RESULT" PAM_SUCCESS "the combined code still works where it belongs"

# --- a password that ends in digits of its own
hash=$(slappasswd -h '{SSHA}' -s 'Digits-Passw0rd-987654')
tb_ldap_modify >/dev/null <<LDIF || bail_out "cannot set bob's password"
dn: $(tb_user_dn bob)
changetype: modify
replace: userPassword
userPassword: $hash
LDIF
mail_code bob 'Digits-Passw0rd-987654'
like "$code" '^[0-9]{6}$' "password ending in digits: a code is mailed"
mail_code bob 'Digits-Passw0rd-987654'
like "$code" '^[0-9]{6}$' "asked again before using it: the tail is not the code, so a new code"
pam_run web bob auth "Digits-Passw0rd-987654$code"
is "$PAM_RESULT" PAM_SUCCESS "and that password followed by the newest code logs in"

# --- Japanese account
mail_code hanako 'Hanako-Passw0rd!'
like "$PAM_OUT" "INFO h\*\*\*@example.org 宛にワンタイムパスワードを送信しました。パスワードの直後に続けて" "hanako is told in Japanese"
pam_run web hanako auth "Hanako-Passw0rd!$code"
is "$PAM_RESULT" PAM_SUCCESS "hanako logs in with password and code"

# --- lockout across requests: wrong codes in a row lock the account
mail_code carol "$(tb_user_pw carol)"
for _ in 1 2 3; do pam_run web carol auth "$(tb_user_pw carol)$(wrong_of "$code")"; done
mail_code carol "$(tb_user_pw carol)"
for _ in 1 2; do pam_run web carol auth "$(tb_user_pw carol)$(wrong_of "$code")"; done
like "$(cat "$TB_DAEMON_LOG")" 'user="carol".*5 wrong codes in a row, account locked' "five wrong codes in a row (otp_lockout_failures 5) lock carol"
n=$(tb_mail_count carol@example.org)
pam_run web carol auth "$(tb_user_pw carol)"
is "$PAM_RESULT" PAM_MAXTRIES "while locked no code is mailed: PAM_MAXTRIES"
is "$(tb_mail_count carol@example.org)" "$n" "and no mail"

# --- module arguments
pam_run bothflags alice auth "$PW"
is "$PAM_RESULT" PAM_SERVICE_ERR "combined with otp_only is a configuration error"

# --- directory down: unavailable, never a pass
tb_stop_slapd
pam_run web alice auth "$PW$code"
is "$PAM_RESULT" PAM_AUTHINFO_UNAVAIL "LDAP down: PAM_AUTHINFO_UNAVAIL"

# --- no code or password in the log
leak=0
for f in "$TB_MAILDIR"/*.eml; do
	c=$(tr -d '\r' <"$f" | grep -E '^[0-9]{6}$' | head -1)
	[[ -n "$c" ]] && grep -q -- "$c" "$TB_DAEMON_LOG" && leak=1
done
grep -qF -- "$PW" "$TB_DAEMON_LOG" && leak=1
is "$leak" 0 "no mailed code and no password appears in mailotpd's log"

tap_done
