#!/bin/bash
# The reset web service of mailotpd, over HTTP with curl: pages and
# headers, CSRF, no enumeration, links only from reset_public_url, the
# token's life (GET never uses it up, one POST does, fifty at once: one
# wins), the policy, limits (body, request line, fields, slow clients),
# throttling, the directory going away, JSON.
#
# Clients get their own address through X-Forwarded-For (127.0.0.1 is a
# trusted proxy here), so the per-address buckets of one check do not
# spill into the next.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
command -v curl >/dev/null || skip_all "curl is not installed"

tb_start_web_stack reset_trusted_proxies 127.0.0.1

H="$TB_DIR/h" B="$TB_DIR/b" J="$TB_DIR/jar"
NEXT_IP=10
# a fresh client address for the next check
newip() {
	NEXT_IP=$((NEXT_IP + 1))
	IP="192.0.2.$NEXT_IP"
}
# req [curl args]: status in $CODE, headers in $H, body in $B
req() {
	CODE=$(curl -sS -o "$B" -D "$H" -w '%{http_code}' -H "X-Forwarded-For: $IP" "$@" 2>/dev/null) ||
		CODE=000
}
# form PATH [curl args]: GET the page with a new cookie jar; its csrf in $CSRF
form() {
	local path=$1
	shift
	rm -f "$J"
	req -c "$J" "$@" "$U$path"
	CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
}
# post PATH FIELD=VALUE... [-- CURL_ARGS...]: a form post with the jar's
# cookie and $CSRF
post() {
	local path=$1
	local -a args=()
	shift
	while (($# > 0)) && [[ "$1" != -- ]]; do
		args+=(--data-urlencode "$1")
		shift
	done
	(($# > 0)) && shift
	# -c too: a page that comes back carries a new CSRF value and cookie
	# (a browser keeps both; keeping only one made this test depend on the
	# clock's second).
	req -b "$J" -c "$J" --data-urlencode "csrf=$CSRF" "${args[@]}" "$@" "$U$path"
	local next
	next=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B" 2>/dev/null | head -n 1)
	[[ -z "$next" ]] || CSRF=$next
}
hdr() { grep -i "^$1:" "$H" | tr -d '\r'; }
strip_csrf() { sed 's/name="csrf" value="[^"]*"/name="csrf" value=""/' "$B"; }
link_of() { tb_mail_last "$1" | grep -o "http[^ ]*/reset?token=[A-Za-z0-9_-]*" | tail -n 1; }
token_of() { link_of "$1" | sed 's/.*token=//'; }
daemon_alive() { kill -0 "$TB_DAEMON_PID" 2>/dev/null; }

# --- the request form, its languages and headers
newip
form /
is "$CODE" 200 "GET / answers 200"
like "$(cat "$B")" '<html lang="en">' "in English by default"
like "$(cat "$B")" '<label for="email">.*<input id="email" name="email" type="email" autocomplete="email"' \
	"labelled e-mail field with autocomplete=email"
like "$(cat "$B")" 'name="email_confirm"' "and the confirmation field (reset_request_fields email)"
form / -H 'Accept-Language: fr;q=0.9, ja;q=0.8, en;q=0.5'
like "$(cat "$B")" '<html lang="ja">.*メールアドレス \(確認用\)' "Accept-Language ja (over en) gives Japanese"
form / -H 'Accept-Language: ja;q=0, en'
like "$(cat "$B")" '<html lang="en">' "ja with q=0 is not chosen"
form '/?lang=en' -H 'Accept-Language: ja'
like "$(cat "$B")" '<html lang="en">.*action="request\?lang=en"' "?lang=en overrides Accept-Language and is kept on the form"
like "$(hdr Content-Security-Policy)" "frame-ancestors 'none'" "CSP with frame-ancestors 'none'"
like "$(hdr Content-Security-Policy)" "default-src 'none'; style-src 'sha256-" "CSP allows only the hashed style block"
is "$(hdr X-Content-Type-Options)" "X-Content-Type-Options: nosniff" "nosniff"
is "$(hdr Referrer-Policy)" "Referrer-Policy: no-referrer" "Referrer-Policy: no-referrer"
is "$(hdr X-Frame-Options)" "X-Frame-Options: DENY" "X-Frame-Options: DENY"
is "$(hdr Content-Type)" "Content-Type: text/html; charset=utf-8" "Content-Type with charset"
like "$(hdr Set-Cookie)" "mailotp_csrf=$CSRF; Path=/; HttpOnly; SameSite=Strict$" \
	"CSRF cookie equals the hidden field; HttpOnly, SameSite=Strict (no Secure over http)"
style=$(sed -n 's/.*<style>\(.*\)<\/style>.*/\1/p' "$B")
want="'sha256-$(printf '%s' "$style" | openssl dgst -sha256 -binary | base64)'"
like "$(hdr Content-Security-Policy)" "style-src $want" "the CSP hash is the hash of the page's style"
req -I "$U/"
is "$CODE" 200 "HEAD / answers 200"
req "$U/nope"
is "$CODE" 404 "unknown path: 404"
req -X DELETE "$U/"
is "$CODE" 405 "wrong method: 405"
req "$U/request"
is "$(hdr Allow)" "Allow: POST" "with Allow"
req "$U/healthz"
is "$CODE:$(cat "$B")" "200:ok" "GET /healthz: 200 ok"

# --- CSRF and cross-site posts
newip
form /
req --data-urlencode email=alice@example.org --data-urlencode email_confirm=alice@example.org "$U/request"
is "$CODE" 403 "POST /request without CSRF field or cookie: 403"
req --data-urlencode "csrf=$CSRF" --data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 403 "the field without the cookie: 403"
req -b "mailotp_csrf=$CSRF" --data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 403 "the cookie without the field: 403"
CSRF2=${CSRF:0:20}A${CSRF:21}
[[ "$CSRF2" != "$CSRF" ]] || CSRF2=${CSRF:0:20}B${CSRF:21}
req -b "mailotp_csrf=$CSRF2" --data-urlencode "csrf=$CSRF2" --data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 403 "field and cookie equal but the MAC altered: 403"
form /
req -b "$J" --data-urlencode "csrf=$CSRF" -H 'Sec-Fetch-Site: cross-site' \
	--data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 403 "Sec-Fetch-Site: cross-site: 403"
req -b "$J" --data-urlencode "csrf=$CSRF" -H 'Origin: http://evil.example' \
	--data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 403 "Origin of another site: 403"
req -b "$J" --data-urlencode "csrf=$CSRF" -H 'Origin: null' -H 'Sec-Fetch-Site: same-origin' \
	--data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
is "$CODE" 200 "Origin: null (what no-referrer pages send) with a valid CSRF pair: 200"
like "$(cat "$TB_DAEMON_LOG")" "result=forbidden" "refusals are logged"

# --- no enumeration: unknown, wrong and known addresses look the same
tb_mail_clear
newip
form /
post /request email=nobody@example.org email_confirm=nobody@example.org
c1=$CODE b1=$(strip_csrf)
form /
post /request email=alice@example.net email_confirm=alice@example.net
c2=$CODE b2=$(strip_csrf)
form /
post /request email=alice@example.org email_confirm=alice@example.org
c3=$CODE b3=$(strip_csrf)
is "$c1 $c2 $c3" "200 200 200" "unknown, wrong and known address: the same status (200)"
ok "$([[ "$b1" == "$b2" && "$b2" == "$b3" ]] && echo 0 || echo 1)" "and byte for byte the same page"
like "$b3" "If the details you entered match an account" "the page says a mail went out only if they match"
tb_mail_wait alice@example.org 1 >/dev/null
ok $? "a mail went to the known account"
sleep 0.5
is "$(tb_mail_count)" 1 "and no other mail at all"
LINK_A=$(link_of alice@example.org)
TOKEN_A=${LINK_A##*token=}
like "$LINK_A" "^$U/reset\?token=[A-Za-z0-9_-]{40,}$" "the mailed link starts with reset_public_url"

form /
post /request email=alice@example.org email_confirm=alice@example.com
is "$CODE" 400 "mismatched email_confirm: 400"
like "$(cat "$B")" 'class="error".*id="email_confirm"[^>]*aria-invalid="true"' "the form error marks the confirmation field"
like "$(cat "$B")" 'id="email"[^>]*value="alice@example.org"' "and keeps what was typed (escaped)"
form /
post /request email='<b>x@example.org' email_confirm='<b>y@example.org'
unlike "$(cat "$B")" '<b>x' "typed values are HTML-escaped"

# --- links come only from reset_public_url, never from Host or X-Forwarded-Host
newip
form / -H 'Host: evil.example'
post /request email=bob@example.org email_confirm=bob@example.org -- -H 'Host: evil.example'
is "$CODE" 200 "POST /request with Host: evil.example: 200"
tb_mail_wait bob@example.org 1 >/dev/null
like "$(link_of bob@example.org)" "^$U/reset\?token=" "the link still starts with reset_public_url"
form /
post /request email=carol@example.org email_confirm=carol@example.org -- -H 'X-Forwarded-Host: evil.example'
tb_mail_wait carol@example.org 1 >/dev/null
like "$(link_of carol@example.org)" "^$U/reset\?token=" "X-Forwarded-Host: evil.example: the same"
unlike "$(cat "$TB_MAILDIR"/*.eml)" "evil" "no mail names evil.example"
TOKEN_B=$(token_of bob@example.org)
TOKEN_C=$(token_of carol@example.org)

# --- the token: GET never uses it up, one POST does
newip
form /
post /reset "token=$TOKEN_A" "password=x" "password_confirm=x"
is "$CODE" 403 "the request form's CSRF token does not work for /reset: 403"
codes=''
for i in 1 2 3 4 5; do
	form "/reset?token=$TOKEN_A"
	codes+="$CODE "
done
is "$codes" "200 200 200 200 200 " "GET /reset?token=T five times: the form each time"
like "$(cat "$B")" '<input type="hidden" name="token" value="'"$TOKEN_A"'">' "the token rides in a hidden field"
like "$(cat "$B")" 'autocomplete="new-password"' "password fields with autocomplete=new-password"
like "$(cat "$B")" 'At least 10 characters, with at least 3 of these four kinds' "the rule is shown up front"
is "$(hdr Cache-Control)" "Cache-Control: no-store" "the reset page: Cache-Control: no-store"
is "$(hdr Referrer-Policy)" "Referrer-Policy: no-referrer" "and Referrer-Policy: no-referrer"
A_DN=$(tb_user_dn alice)
OLD_A=$(tb_user_pw alice)
NEW_A='Vq7#mRt2!zLp9w'
post /reset "token=$TOKEN_A" "password=$NEW_A" "password_confirm=$NEW_A"
is "$CODE" 200 "POST /reset with a good password: 200"
like "$(cat "$B")" 'Password set' "the completion page"
like "$(cat "$B")" "<a href=\"$U/\">" "with a link back to reset_public_url"
run_ok "ldapwhoami with the new password works" env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$A_DN" -w "$NEW_A"
run_fails "the old password no longer does" env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$A_DN" -w "$OLD_A"
like "$(tb_ldap_get "$A_DN" userPassword)" '^\{ARGON2\}\$argon2id\$' "userPassword is {ARGON2}\$argon2id\$"
form "/reset?token=$TOKEN_A"
is "$CODE" 410 "the same token again (GET): the bad-token page (410)"
BAD_BODY=$(cat "$B")
form "/reset?token=$TOKEN_B"
post /reset "token=$TOKEN_A" "password=$NEW_A" "password_confirm=$NEW_A"
is "$CODE" 410 "the same token again (POST): 410"
unlike "$(cat "$TB_DAEMON_LOG")" "$TOKEN_A|$NEW_A" "neither token nor password in the log"

# --- every wrong token looks the same
newip
flip=${TOKEN_B:0:10}$([[ ${TOKEN_B:10:1} == A ]] && echo B || echo A)${TOKEN_B:11}
long=$(head -c 10240 /dev/zero | tr '\0' A)
same=0 n=0
for t in "$flip" "${TOKEN_B:0:20}" "$long" "%00" "${TOKEN_B:0:20}%00${TOKEN_B:21}" "$TOKEN_A" ""; do
	req "$U/reset?token=$t"
	n=$((n + 1))
	[[ "$CODE" == 410 && "$(cat "$B")" == "$BAD_BODY" ]] && same=$((same + 1))
done
is "$same/$n" "$n/$n" "altered, truncated, 10 KB, %00, NUL inside, used, empty: the same 410 page"
form "/reset?token=$TOKEN_B"
is "$CODE" 200 "bob's own token is still good after all that (GET)"
post /reset "token=$flip" "password=$NEW_A" "password_confirm=$NEW_A"
is "$CODE" 410 "an altered token on POST: 410"
post /reset "token=${TOKEN_B:0:20}%00" "password=$NEW_A" "password_confirm=$NEW_A"
is "$CODE" 410 "a token with NUL on POST: 410"

# --- the policy: 422, says what is missing, writes nothing
newip
B_DN=$(tb_user_dn bob)
before=$(tb_ldap_get "$B_DN" userPassword)
form "/reset?token=$TOKEN_B"
post /reset "token=$TOKEN_B" "password=abcdefghij" "password_confirm=abcdefghij"
is "$CODE" 422 "a weak password: 422"
like "$(cat "$B")" 'class="error"' "the form comes back with the reason"
diag "policy message: $(sed -n 's/.*<p class="error"[^>]*>\(.*\)<\/p>.*/\1/p' "$B")"
like "$(cat "$B")" '<input type="hidden" name="token" value="'"$TOKEN_B"'">' "and the same token, to try again"
CSRF=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$B")
post /reset "token=$TOKEN_B" "password=Vq7#mRt2!zLp9w" "password_confirm=Vq7#mRt2!zLp9x"
is "$CODE" 400 "passwords that differ: 400 form error"
req -b "$J" -H 'Accept: application/json' --data-urlencode "csrf=$CSRF" --data-urlencode "token=$TOKEN_B" \
	--data-urlencode password=short --data-urlencode password_confirm=short "$U/reset"
is "$CODE" 422 "JSON: a weak password is 422"
like "$(cat "$B")" '^\{"status":"policy","field":"password","message":"[^"]+"' 'with {"status":"policy","field":"password",...}'
is "$(hdr Content-Type)" "Content-Type: application/json; charset=utf-8" "as application/json"
is "$(tb_ldap_get "$B_DN" userPassword)" "$before" "nothing was written"

# --- fifty at once: exactly one wins
newip
form "/reset?token=$TOKEN_C"
pids=()
for i in $(seq 50); do
	curl -sS -o "$TB_DIR/c$i.body" -w '%{http_code}\n' -b "$J" -H "X-Forwarded-For: 198.51.100.$i" \
		--data-urlencode "csrf=$CSRF" --data-urlencode "token=$TOKEN_C" \
		--data-urlencode "password=Kx9!pQ2#wEr5tY" --data-urlencode "password_confirm=Kx9!pQ2#wEr5tY" \
		"$U/reset" >"$TB_DIR/c$i.code" 2>/dev/null &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || true
done
wins=$(cat "$TB_DIR"/c*.code | grep -c '^200$' || true)
gone=$(cat "$TB_DIR"/c*.code | grep -c '^410$' || true)
is "$wins" 1 "50 concurrent POSTs of one token: exactly one 200"
is "$gone" 49 "and 49 bad-token answers"
run_ok "carol's new password works" env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn carol)" -w 'Kx9!pQ2#wEr5tY'

# --- bodies and fields
newip
sleep 1
tb_mail_settle
mails=$(tb_mail_count)
form /
req -b "$J" -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @<(head -c 10485760 /dev/zero | tr '\0' a) "$U/request"
is "$CODE" 413 "a 10 MiB body: 413"
fields=$(for i in $(seq 1000); do printf 'f%d=1&' "$i"; done)
req -b "$J" --data "${fields}csrf=$CSRF" "$U/request"
is "$CODE" 400 "1,000 fields (4 KB): 400"
fields=$(for i in $(seq 10000); do printf 'f=&'; done)
req -b "$J" --data "${fields}csrf=$CSRF" "$U/request"
like "$CODE" "^(400|413)$" "10,000 fields (30 KB, over the body limit): refused ($CODE)"
form /
post /request email=a@example.org email=b@example.org email_confirm=a@example.org
is "$CODE" 400 "a repeated field: 400"
req -b "$J" --data "csrf=$CSRF&email=a%00@example.org&email_confirm=a%00@example.org" "$U/request"
is "$CODE" 400 "NUL in a field: 400"
req -b "$J" --data "csrf=$CSRF&email=a@example.org%0d%0aBcc:x@evil.example&email_confirm=a@example.org%0d%0aBcc:x@evil.example" "$U/request"
is "$CODE" 400 "CR/LF in a field: 400"
req -b "$J" --data "csrf=$CSRF&email=a%ff@example.org&email_confirm=a%ff@example.org" "$U/request"
is "$CODE" 400 "invalid UTF-8 in a field: 400"
req -b "$J" -H 'Content-Type: application/json' --data '{"email":"a@example.org"}' "$U/request"
is "$CODE" 415 "a JSON body: 415"
req -b "$J" -F "csrf=$CSRF" -F email=a@example.org "$U/request"
is "$CODE" 415 "multipart/form-data: 415"
sleep 1
is "$(tb_mail_count)" "$mails" "none of these sent a mail"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$U/?x=$(head -c 100000 /dev/zero | tr '\0' a)" 2>/dev/null || true)
like "$code" "^(000|400|414|431)$" "a 100 kB request line is refused ($code)"
req "$U/"
ok "$( daemon_alive && [[ $CODE == 200 ]] && echo 0 || echo 1)" "and the daemon still answers"

# --- slow clients do not starve the others
cat >"$TB_DIR/slowloris.py" <<'EOF'
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
end = time.monotonic() + secs
while time.monotonic() < end:
    for s in socks:
        try:
            s.sendall(b"X")
        except OSError:
            pass
    time.sleep(2)
EOF
/usr/bin/python3 "$TB_DIR/slowloris.py" "$PORT" 20 8 &
slow=$!
sleep 1
t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$U/" 2>/dev/null || true)
like "$t" "^200 (0|1)\." "20 slow clients dribbling headers: a normal GET still answers within 2 s ($t)"
wait "$slow" || true

# --- the directory goes away and comes back
newip
tb_stop_slapd
form /
post /request email=hanako@example.org email_confirm=hanako@example.org
is "$CODE" 503 "LDAP down: POST /request gives 503"
like "$(cat "$B")" 'temporarily unavailable' "the unavailable page"
is "$(hdr Retry-After)" "Retry-After: 30" "with Retry-After"
req -H 'Accept: application/json' "$U/healthz"
is "$CODE" 503 "LDAP down: /healthz 503"
tb_restart_slapd
req "$U/healthz"
is "$CODE" 200 "LDAP back: /healthz 200"
form /
post /request email=hanako@example.org email_confirm=hanako@example.org
is "$CODE" 200 "and POST /request 200 again"

# --- JSON for portals
newip
req -H 'Accept: application/json' -c "$J" "$U/"
like "$(cat "$B")" '^\{"status":"ok","field":null,"message":"[^"]+","csrf":"[A-Za-z0-9_-]+"\}$' "GET / as JSON gives a csrf token"
CSRF=$(sed 's/.*"csrf":"\([^"]*\)".*/\1/' "$B")
req -H 'Accept: application/json' -b "$J" --data-urlencode "csrf=$CSRF" --data-urlencode email=x@example.org --data-urlencode email_confirm=y@example.org "$U/request"
is "$CODE" 400 "JSON: mismatched confirmation is 400"
like "$(cat "$B")" '^\{"status":"form_error","field":"email_confirm","message":"' 'with {"status":"form_error","field":"email_confirm"}'
req -H 'Accept: application/json' -b "$J" --data-urlencode "csrf=$CSRF" --data-urlencode email=x@example.org --data-urlencode email_confirm=x@example.org "$U/request"
like "$CODE $(cat "$B")" '^200 \{"status":"ok"' "JSON: a request is 200 ok"
req -H 'Accept: application/json' "$U/reset?token=$TOKEN_A"
like "$CODE $(cat "$B")" '^410 \{"status":"bad_token"' "JSON: a used token is 410 bad_token"

# --- throttling per client address
# Invite tokens (mailotpctl invite) and reset tokens each work on their own
# page only: an invite token is not a reset token.
newip
CTL="$top_builddir/resetd/mailotpctl"
"$CTL" -c "$CONF" invite hanako >/dev/null 2>&1
ok $? "mailotpctl invite hanako"
inv_link=$(tb_mail_last hanako@example.org | grep -o "http[^ ]*/invite?token=[A-Za-z0-9_-]*" | tail -n 1 | tr -d '\r')
like "$inv_link" "^$U/invite\?token=" "the invite link points to /invite under reset_public_url"
INV=${inv_link#*token=}
form "/reset?token=$INV"
is "$CODE" 410 "an invite token is refused on the reset page"
form "/invite?token=$INV"
is "$CODE" 200 "and accepted on the invite page"
# With reset_login_url set, the completion page leads back to the login.
tb_write_config "$CONF" reset_listen "127.0.0.1:$PORT" reset_public_url "$U" \
	reset_trusted_proxies 127.0.0.1 reset_login_url https://portal.example.org/login
tb_reload_daemon
sleep 0.5
form "/invite?token=$INV"
post /invite "token=$INV" password=Tulip-Garden-88 password_confirm=Tulip-Garden-88
is "$CODE" 200 "the first password is set through the invite"
like "$(cat "$B")" '<a href="https://portal.example.org/login">Back to the login page</a>' "the completion page links back to reset_login_url"
LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn hanako)" -w Tulip-Garden-88 >/dev/null 2>&1
ok $? "and binds"
newip
# (a reset was mailed to hanako a moment ago: lift the per-account guard)
tb_ldap_modify >/dev/null <<EOL
dn: $(tb_user_dn hanako)
changetype: modify
delete: mailotpResetSentTime
EOL
n_before=$(tb_mail_count hanako@example.org)
form /
post /request email=hanako@example.org email_confirm=hanako@example.org
tb_mail_wait hanako@example.org "$((n_before + 1))" >/dev/null 2>&1
like "$(link_of hanako@example.org)" "/reset\?token=" "a reset request mails a /reset link"
RST=$(token_of hanako@example.org)
form "/invite?token=$RST"
is "$CODE" 410 "a reset token is refused on the invite page"
# The CSRF key is derived from the shared configuration: a form served
# before a restart (or by another instance) is still accepted after it.
newip
form /
tb_stop_daemon
tb_start_daemon "$CONF" || bail_out "mailotpd did not restart"
for _ in $(seq 100); do curl -s -o /dev/null "$U/healthz" && break; sleep 0.05; done
post /request email=x@example.org email_confirm=x@example.org
is "$CODE" 200 "a form served before a daemon restart is accepted after it"
newip
form /
codes=''
for i in $(seq 11); do
	post /request email=x@example.org email_confirm=x@example.org
	codes+="$CODE "
done
like "$codes" "^(200 ){10}429 $" "11 posts from one address in a row: the 11th is 429"
like "$(cat "$B")" 'Too many attempts' "the 429 page"
req -H 'Accept: application/json' -b "$J" --data-urlencode "csrf=$CSRF" "$U/request"
like "$CODE $(cat "$B")" '^429 \{"status":"throttled"' "JSON: 429 throttled"
newip
post /request email=x@example.org email_confirm=x@example.org
is "$CODE" 200 "another address is not affected"
# Without trusted proxies, X-Forwarded-For is not believed.
tb_write_config "$CONF" reset_listen "127.0.0.1:$PORT" reset_public_url "$U"
tb_reload_daemon
sleep 0.5
codes=''
for i in $(seq 11); do
	post /request email=x@example.org email_confirm=x@example.org -- -H "X-Forwarded-For: 203.0.113.$i"
	codes+="$CODE "
done
like "$codes" "429 $" "untrusted peer: a new X-Forwarded-For per post does not escape the bucket"
ok "$(daemon_alive && echo 0 || echo 1)" "the daemon is still running at the end"

# --- SIGTERM while new passwords wait for the hashing thread: each one
# queued is answered, the hash that runs is finished and written. A costly
# hash (t=10) holds the thread while the others queue behind it.
tb_write_config "$CONF" reset_listen "127.0.0.1:$PORT" reset_public_url "$U" \
	password_hash_opslimit 10 password_hash_memlimit 65536
tb_reload_daemon
sleep 0.5
newip
form "/reset?token=$RST"
is "$CODE" 200 "hanako's reset link (not used on /invite) still shows the form"
NEW_H='Hq5#wLt8!pZr3x'
drain_post() { # N TOKEN PASSWORD: status in $TB_DIR/drain.N
	curl -sS -o /dev/null -w '%{http_code}\n' -b "$J" --data-urlencode "csrf=$CSRF" \
		--data-urlencode "token=$2" --data-urlencode "password=$3" \
		--data-urlencode "password_confirm=$3" "$U/reset" >"$TB_DIR/drain.$1" 2>/dev/null ||
		true
}
drain_post 0 "$RST" "$NEW_H" &
pids=$!
sleep 0.2
for i in 1 2 3 4; do
	drain_post "$i" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$i" "$NEW_H" &
	pids+=" $!"
done
sleep 0.3
tb_stop_daemon
# shellcheck disable=SC2086 # a list of pids
wait $pids
is "$(cat "$TB_DIR"/drain.{0,1,2,3,4} | tr '\n' ' ')" "200 410 410 410 410 " \
	"SIGTERM with a password being hashed and 4 more queued: each answered (200, then 410s)"
run_ok "the password hashed while stopping was written" \
	env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$(tb_user_dn hanako)" -w "$NEW_H"
is "$TB_DAEMON_STATUS" 0 "SIGTERM: the daemon stops cleanly (exit 0)"
unlike "$(cat "$TB_DAEMON_LOG")" "AddressSanitizer|runtime error|MHD_PANIC|Assertion" "no sanitizer report or panic in the log"

tap_done
