#!/bin/bash
# The login through the real PAM stack: password + mailed code for each
# password scheme, and the refusals that must look alike (wrong password,
# unknown account, empty password, ppolicy-locked), none of which mails.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_start_stack ldap_notify_attr mailotpNotifyMail
pam_std_services

# --- happy path, {SSHA}
pam_run mailotp alice auth,acct 'Alice-Passw0rd!' @CODE:alice@example.org
is "$PAM_OUT" "PROMPT_ECHO_OFF Password: 
INFO A one-time code has been sent to a***@example.org.
PROMPT_ECHO_OFF One-time code: 
RESULT authenticate PAM_SUCCESS
RESULT account PAM_SUCCESS" "alice ({SSHA}): password, masked address, code, success"
is "$(tb_mail_count alice@example.org)" 1 "one mail to alice"
is "$(tb_mail_count proxy-alice@example.org)" 0 "the proxy (notify recipient) never gets the code"
mail=$(tb_mail_last alice@example.org)
like "$mail" "Subject: .*[Oo]ne-time" "the code mail has an English subject"
code_line=$(printf '%s\n' "$mail" | grep -cE '^[0-9]{6}$')
is "$code_line" 1 "the code stands alone on its own line, 6 digits"

# --- other schemes: slapd checks them on bind, we never compare hashes
for u in bob carol; do
	pw=$(tb_user_pw "$u")
	pam_run mailotp "$u" auth "$pw" "@CODE:$u@example.org"
	is "$PAM_RESULT" PAM_SUCCESS "$u ($( [[ $u == bob ]] && echo '{CRYPT}$6$' || echo '{ARGON2}')) logs in"
done

# --- Japanese account: Japanese texts and mail
pam_run mailotp hanako auth 'Hanako-Passw0rd!' @CODE:hanako@example.org
is "$PAM_RESULT" PAM_SUCCESS "hanako (preferredLanguage ja) logs in"
like "$PAM_OUT" "INFO h\*\*\*@example.org 宛にワンタイムパスワードを送信しました。" "hanako is told in Japanese"
like "$PAM_OUT" "PROMPT_ECHO_OFF ワンタイムパスワード: " "hanako is asked in Japanese"
like "$(tb_mail_last hanako@example.org)" "Subject: ワンタイムパスワード" "hanako's mail has a Japanese subject (RFC 2047 decoded)"

# --- refusals that must look the same and send nothing
before=$(tb_mail_count)
pam_run mailotp alice auth 'wrong-password'
wrong_out=$PAM_OUT
is "$PAM_RESULT" PAM_AUTH_ERR "wrong password: PAM_AUTH_ERR"
pam_run mailotp nosuchuser auth 'Alice-Passw0rd!'
is "$PAM_OUT" "$wrong_out" "unknown account: exactly the same conversation as a wrong password"
pam_run mailotp alice auth @EMPTY
is "$PAM_OUT" "$wrong_out" "empty password: exactly the same conversation"
pam_run mailotp locked auth 'Locked-Passw0rd!'
is "$PAM_OUT" "$wrong_out" "ppolicy-locked account with its right password: the same conversation"
is "$(tb_mail_count)" "$before" "no mail for any of these"
like "$(cat "$TB_DAEMON_LOG")" 'user="locked".*result=denied: password refused \(account locked by ppolicy\)' "the log says why the locked account was refused"
like "$(cat "$TB_DAEMON_LOG")" 'user="alice".*result=denied: empty password' "the log says the password was empty"

# --- no mail address: a clear message, only after the right password
pam_run mailotp nomail auth 'Nomail-Passw0rd!'
is "$PAM_RESULT" PAM_AUTH_ERR "account without mail: denied"
like "$PAM_OUT" "ERROR No e-mail address is registered .* contact your administrator" "and told to contact the administrator"
pam_run mailotp nomail auth 'wrong'
is "$PAM_OUT" "$wrong_out" "without the right password it looks like any refusal"

# --- metacharacters in real uids log in with their own password only
for u in 'st*r' 'pa(re)n' 'o,brien'; do
	pw=$(tb_user_pw "$u")
	pam_run mailotp "$u" auth "$pw" "@CODE:$(tb_user_mail "$u")"
	is "$PAM_RESULT" PAM_SUCCESS "uid '$u' logs in with its own password"
done
pam_run mailotp 'st*r' auth 'Alice-Passw0rd!'
is "$PAM_RESULT" PAM_AUTH_ERR "uid 'st*r' with alice's password is refused"

# --- account stage
pam_run mailotp nosuchuser acct
is "$PAM_RESULT" PAM_USER_UNKNOWN "account stage: unknown account is PAM_USER_UNKNOWN"

# --- secrets never in the log
# Every code mailed in this run (mail lines end in CRLF), read from the
# decoded mails so that base64 (Japanese) bodies count too.
codes=$(for f in "$TB_MAILDIR"/*.eml; do
	"$TB_PYTHON" -c 'import email,email.policy,sys
m=email.message_from_binary_file(open(sys.argv[1],"rb"),policy=email.policy.default)
print(m.get_body(("plain",)).get_content())' "$f"
done | tr -d '\r' | grep -E '^[0-9]{6}$' | sort -u)
is "$(printf '%s\n' "$codes" | grep -c .)" "$(ls "$TB_MAILDIR"/*.eml | wc -l)" "every mail's code was found (so the next check looks at real codes)"
leak=0
for c in $codes; do grep -q "$c" "$TB_DAEMON_LOG" && leak=1; done
for pw in 'Alice-Passw0rd!' 'Hanako-Passw0rd!' 'wrong-password'; do grep -qF "$pw" "$TB_DAEMON_LOG" && leak=1; done
is "$leak" 0 "no password and no code in the daemon log"

tap_done
