#!/bin/bash
# Hostile login names and conversation edge cases: every one is a plain
# refusal (never another account, never a pass), and the module's
# arguments are checked.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

tb_start_stack
pam_std_services

pam_run mailotp nosuchuser auth 'Alice-Passw0rd!'
unknown_out=$PAM_OUT

# Filter metacharacters, NUL-looking text, a 16 KiB name, invalid UTF-8,
# control characters: all unknown, all with alice's real password.
long=$(head -c 16384 /dev/zero | tr '\0' a)
names=('*' 'al*' '*ice' 'alice)(uid=*' 'alice)(|(uid=*' 'x\00y' 'alice\2a' "$long" $'\xff\xfe' $'ali\xc3' $'alice\nAccepted password for root' ' alice' 'alice ' '#alice' 'x" result=ok: code accepted')
before=$(tb_mail_count)
for n in "${names[@]}"; do
	pam_run mailotp "$n" auth 'Alice-Passw0rd!'
	shown=$(printf '%q' "$n" | cut -c1-40)
	is "$PAM_OUT" "$unknown_out" "login $shown: same refusal as an unknown account"
done
is "$(tb_mail_count)" "$before" "no mail for any hostile name"
# The log cannot be forged by a name with a newline.
is "$(grep -c '^Accepted password for root' "$TB_DAEMON_LOG")" 0 "a newline in the name cannot start a forged log line"
like "$(cat "$TB_DAEMON_LOG")" 'user="alice\\x0aAccepted password for root"' "the name is logged escaped"
like "$(cat "$TB_DAEMON_LOG")" 'user="x\\x22 result=ok: code accepted"' "a quote in the name cannot end the quoted field"

# Over-long password (100 KiB): refused, nothing sent.
pam_run mailotp alice auth "@LONG:102400"
is "$PAM_RESULT" PAM_AUTH_ERR "a 100 KiB password is refused"

# Conversation edge cases.
pam_run mailotp alice auth @NULL
unlike "$PAM_RESULT" '^PAM_SUCCESS$' "NULL response to the password prompt: no success ($PAM_RESULT)"
pam_run mailotp alice auth @CONVERR
unlike "$PAM_RESULT" '^PAM_SUCCESS$' "conversation error at the password prompt: no success ($PAM_RESULT)"
pam_run mailotp alice auth 'Alice-Passw0rd!' @NULL @NULL @NULL
is "$PAM_RESULT" PAM_MAXTRIES "NULL responses to the code prompt count as wrong codes"
pam_run mailotp alice auth 'Alice-Passw0rd!' @CONVERR
is "$PAM_RESULT" PAM_CONV_ERR "conversation error at the code prompt: PAM_CONV_ERR"
pam_run mailotp alice auth 'Alice-Passw0rd!' @LONG:100000 @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "an over-long code answer is one wrong try, the next right code passes"
like "$PAM_OUT" "ERROR Wrong code. Tries left: 2." "and it was reported as a wrong code"
pam_run mailotp alice auth 'Alice-Passw0rd!' ' 12 34 5x ' @CODE:alice@example.org
is "$PAM_RESULT" PAM_SUCCESS "garbage code then the right one: success"
code_with_blanks() { "$TB_PYTHON" "$TB_SRCDIR/mailtool.py" code "$TB_MAILDIR" alice@example.org | sed 's/\(...\)/\1 /'; }

# otp_only: no password prompt, the code alone.
pam_run otponly alice auth @CODE:alice@example.org
is "$PAM_OUT" "INFO A one-time code has been sent to a***@example.org.
PROMPT_ECHO_OFF One-time code: 
RESULT authenticate PAM_SUCCESS" "otp_only: no password asked, code accepted"
pam_run otponly nosuchuser auth
is "$PAM_RESULT" PAM_AUTH_ERR "otp_only: unknown account refused"

# use_first_pass: the password comes from an earlier module (pam_wrapper's
# pam_set_items sets PAM_AUTHTOK from the environment).
if [[ -e /usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so ]]; then
	pam_service firstpass \
		"auth required /usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so" \
		"auth required $PAM_MODULE socket=$TB_PAM_SOCKET use_first_pass"
	PAM_AUTHTOK='Alice-Passw0rd!' pam_run firstpass alice auth @CODE:alice@example.org
	is "$PAM_RESULT" PAM_SUCCESS "use_first_pass: the stacked password is used"
	unlike "$PAM_OUT" "Password:" "use_first_pass: no password prompt"
else
	skip "pam_wrapper's pam_set_items.so not found" 2
fi

# Module arguments.
pam_service badarg "auth required $PAM_MODULE socket=$TB_PAM_SOCKET frobnicate"
pam_run badarg alice auth 'Alice-Passw0rd!'
is "$PAM_RESULT" PAM_SERVICE_ERR "an unknown module argument is PAM_SERVICE_ERR"
pam_service relsock "auth required $PAM_MODULE socket=relative.sock"
pam_run relsock alice auth 'Alice-Passw0rd!'
is "$PAM_RESULT" PAM_SERVICE_ERR "a relative socket path is refused"

tap_done
