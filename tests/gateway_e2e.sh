#!/bin/bash
# Web gateway end to end: Debian's Apache httpd, started here over HTTPS on
# a random loopback port with its own small configuration that includes
# examples/apache/mailotp-gateway.conf unchanged, runs the built module in
# its www-data workers through mod_authnz_pam, with
# examples/pam.d/mailotp-web (pam_mailotp.so combined) as the
# "mailotp-web" service; curl is the browser.  The password alone mails a
# code and is refused; the password followed by the code gets in and is
# then served from mod_authn_socache; the code is single-use, dies after
# three wrong ones; a peer outside pam_allow, LDAP down, consent and a
# forced change are refused; no code or password reaches a log.
#
# Apache reads its PAM service from /etc/pam.d only, and the example keeps
# its pages under /var/www.  So Apache runs in a private mount namespace
# (unshare -m) where a private /etc/pam.d and a private /var/www are
# bind-mounted: nothing of the machine's /etc changes (checked at the end).
# The only thing written outside $TB_DIR is a directory under /tmp that
# www-data can enter (mailotpd's socket and a copy of the built module),
# removed at exit.
#
# The test's one change to the example, after including it: sign-ins last
# 6 s instead of 900 (a second <Location> with AuthnCacheTimeout 6).
#
# Needs root (CI runs as root), /usr/sbin/apache2 (apache2),
# mod_authnz_pam (libapache2-mod-authnz-pam), curl, openssl and unshare;
# skipped without them, and in a --enable-sanitizers build (Apache cannot
# load an ASan module).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"
. "$top_srcdir/tests/pam_env.sh"

APACHE=/usr/sbin/apache2
AMODS=/usr/lib/apache2/modules
GW_MODULES='mpm_event authn_core authz_core auth_basic authn_socache socache_shmcb alias dir authz_user ssl authnz_pam'
pam_need_private_etc Apache
[[ -x "$APACHE" ]] || skip_all "no $APACHE (apt-get install apache2)"
[[ -f "$AMODS/mod_authnz_pam.so" ]] ||
	skip_all "no mod_authnz_pam (apt-get install libapache2-mod-authnz-pam)"
for m in $GW_MODULES; do
	[[ -f "$AMODS/mod_$m.so" ]] || skip_all "no $AMODS/mod_$m.so (apache2)"
done
getent passwd www-data >/dev/null || skip_all "no www-data user"
getent group www-data >/dev/null || skip_all "no www-data group"
command -v curl >/dev/null 2>&1 || skip_all "no curl (apt-get install curl)"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl (apt-get install openssl)"
[[ -d /var/www ]] || skip_all "no /var/www to mount the private pages on (apache2 makes it)"

T_START=$(date +%s%N)
etc_sum() { (cd /etc && find pam.d apache2 -type f -print0 | sort -z | xargs -0 sha256sum); }
ETC_SUM_BEFORE=$(etc_sum)

APACHE_PID=''
PUB=''
gw_cleanup() {
	if [[ -n "$APACHE_PID" ]]; then
		_tb_kill_wait "$APACHE_PID" 10
		APACHE_PID=''
	fi
	[[ -z "$PUB" ]] || rm -rf -- "$PUB"
	PUB=''
	if [[ -n "${_TB_OWNED:-}" ]] && { ((${_gw_rc:-0} != 0)) || ((TAP_FAILED > 0)); }; then
		_tb_dump_log "$TB_DIR/apache/error.log" 60
		_tb_dump_log "$TB_DIR/apache/access.log"
		_tb_dump_log "$TB_DIR/apache/stderr"
		_tb_dump_log "$TB_DIR/curl.err"
	fi
	return 0
}

tb_init
trap '_gw_rc=$?; gw_cleanup; (exit $_gw_rc); tb_cleanup' EXIT
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp || bail_out "SMTP sink did not start"

# www-data must reach the socket and read the module, and $TB_DIR is 0700:
# both go to a directory it can enter (the module copied as built)
PUB=$(mktemp -d /tmp/mailotp-gw.XXXXXXXX) || bail_out "mktemp failed"
chmod 0755 "$PUB"
install -m 0644 "$PAM_MODULE" "$PUB/pam_mailotp.so"
SOCK=$PUB/pam.sock
gw_config() { # gw_config FILE [KEY VALUE]...: the gateway host's mailotp.conf
	local f=$1
	shift
	tb_write_config "$f" pam_socket "$SOCK" pam_allow 'root @www-data' ldap_timeout 2 "$@"
}
gw_config "$TB_DIR/mailotp.conf"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"

# --- the namespace's /etc/pam.d and /var/www
ETC=$TB_DIR/etc
mkdir -p "$ETC"
cp -a /etc/pam.d "$ETC/pam.d"
# the shipped service file, pointed at the built module and the test's socket
sed -e '/^[[:space:]]*#/!s|pam_mailotp\.so|'"$PUB/pam_mailotp.so socket=$SOCK"'|' \
	"$top_srcdir/examples/pam.d/mailotp-web" >"$ETC/pam.d/mailotp-web"
chmod 0644 "$ETC/pam.d/mailotp-web"
WWW=$TB_DIR/www
install -d -m 0755 "$WWW" "$WWW/html" "$WWW/html/private" "$WWW/html/private/sub" "$WWW/mailotp"
install -m 0644 "$top_srcdir/examples/apache/mailotp-signin.html" "$WWW/mailotp/signin.html"
printf 'mailotp-gateway-protected-OK\n' >"$WWW/html/private/index.html"
printf 'mailotp-gateway-subpage-OK\n' >"$WWW/html/private/sub/page.html"
printf 'public\n' >"$WWW/html/index.html"
chmod 0644 "$WWW/html/index.html" "$WWW/html/private/index.html" "$WWW/html/private/sub/page.html"

# --- Apache, in its own mount namespace
AD=$TB_DIR/apache
install -d -m 0700 "$AD" "$AD/run"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE \
	-keyout "$AD/key.pem" -out "$AD/cert.pem" >/dev/null 2>&1 || bail_out "openssl req failed"
HTTPS_PORT=$(tb_free_port)
HTTP_PORT=$(tb_free_port)
[[ "$HTTPS_PORT" != "$HTTP_PORT" ]] || HTTP_PORT=$(tb_free_port)
CACHE_S=6
{
	printf '# written by tests/gateway_e2e.sh\n'
	printf 'ServerRoot %s\nServerName 127.0.0.1\nPidFile %s\nDefaultRuntimeDir %s\n' \
		"$AD" "$AD/httpd.pid" "$AD/run"
	for m in $GW_MODULES; do
		printf 'LoadModule %s_module %s/mod_%s.so\n' "$m" "$AMODS" "$m"
	done
	cat <<EOF
User www-data
Group www-data
StartServers 1
ErrorLog $AD/error.log
LogLevel info authn_socache:debug ssl:warn
LogFormat "%h %l %u %t \"%r\" %>s %b \"%{User-Agent}i\"" gateway
CustomLog $AD/access.log gateway
DocumentRoot /var/www/html
DirectoryIndex index.html
<Directory /var/www/html/>
    Require all granted
</Directory>
Listen 127.0.0.1:$HTTPS_PORT https
Listen 127.0.0.1:$HTTP_PORT http
<VirtualHost 127.0.0.1:$HTTPS_PORT>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile $AD/cert.pem
    SSLCertificateKeyFile $AD/key.pem
</VirtualHost>
# plain HTTP: the example's SSLRequireSSL must refuse /private/ here
<VirtualHost 127.0.0.1:$HTTP_PORT>
    ServerName 127.0.0.1
</VirtualHost>

# the shipped example, unchanged
Include $top_srcdir/examples/apache/mailotp-gateway.conf
# the test's one change: a sign-in lasts $CACHE_S s instead of 900
<Location "/private/">
    AuthnCacheTimeout $CACHE_S
</Location>
EOF
} >"$AD/httpd.conf"
# unshare execs (no fork) bash, which execs apache2: $! is Apache's parent
# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private -- /bin/bash -c '
	set -e
	mount --bind "$1" /etc/pam.d
	mount --bind "$2" /var/www
	"$3" -t -f "$4"
	exec "$3" -f "$4" -DFOREGROUND' gw-ns "$ETC/pam.d" "$WWW" "$APACHE" "$AD/httpd.conf" \
	</dev/null >>"$AD/stderr" 2>&1 &
APACHE_PID=$!
deadline=$(($(date +%s) + TB_START_TIMEOUT))
until (exec 3<>"/dev/tcp/127.0.0.1/$HTTPS_PORT") 2>/dev/null; do
	_tb_alive "$APACHE_PID" ||
		bail_out "apache2 exited at start: $(tail -5 "$AD/stderr" "$AD/error.log" 2>/dev/null)"
	(($(date +%s) < deadline)) || bail_out "apache2 did not listen on port $HTTPS_PORT"
	sleep 0.05
done

# gw_get USER SECRET [PATH] [URL_BASE]: one request with Basic credentials
# (given to curl on stdin, never on its command line); the status in
# $GW_STATUS, the body in $GW_BODY, the headers in $GW_HDRS, the time in
# $GW_MS.  The Authorization values sent are kept in $TB_DIR/sent_auth.
gw_get() {
	local user=$1 secret=$2 path=${3:-/private/} base=${4:-https://127.0.0.1:$HTTPS_PORT} auth t0
	auth=$(printf '%s:%s' "$user" "$secret" | base64 -w0)
	printf '%s\n' "$auth" >>"$TB_DIR/sent_auth"
	rm -f "$AD/body" "$AD/headers"
	t0=$(date +%s%N)
	GW_STATUS=$(printf 'header = "Authorization: Basic %s"\n' "$auth" |
		curl -sS -K - --cacert "$AD/cert.pem" --max-time 60 -o "$AD/body" -D "$AD/headers" \
			-w '%{http_code}' "$base$path" 2>>"$TB_DIR/curl.err") || true
	GW_MS=$((($(date +%s%N) - t0) / 1000000))
	GW_BODY=$(cat "$AD/body" 2>/dev/null)
	GW_HDRS=$(tr -d '\r' <"$AD/headers" 2>/dev/null)
}
# auth_lines USER: mailotpd's auth-combined decisions for USER so far
auth_lines() { grep -c "auth-combined: user=\"$1\"" "$TB_DAEMON_LOG"; }
# new_code ADDR: the code of the next mail to ADDR (waits for it)
new_code() { tb_mail_code "$1" $(($(tb_mail_count "$1") + 1)); }
# a code of the same length that is not CODE
other_code() { [[ "$1" =~ ^[0-9]+$ ]] || set -- 000000; printf '%0*d' "${#1}" $(((10#$1 + 1) % 10 ** ${#1})); }
pw() { tb_user_pw "$1"; }

# --- wrong password, unknown account: 401, no mail
gw_get alice 'wrong-Passw0rd!'
is "$GW_STATUS" 401 "wrong password: 401"
is "$(tb_mail_count alice@example.org)" 0 "and no mail"
like "$GW_HDRS" $'\n''WWW-Authenticate: Basic realm="Password, then password \+ mailed code"' \
	"the 401 asks for Basic credentials with the example's realm"
like "$GW_HDRS" $'\n''Content-Type: text/html; charset=UTF-8' "the 401 page is HTML in UTF-8"
like "$GW_BODY" 'password immediately followed by the code' "the 401 page explains the sign-in in English"
like "$GW_BODY" 'パスワードの直後に続けてワンタイムパスワード' "and in Japanese"
gw_get nobody-gw 'Some-Passw0rd!'
is "$GW_STATUS" 401 "unknown account: 401"
is "$(tb_mail_count)" 0 "and no mail at all"

# --- the password alone: a code is mailed, the request is refused
n0=$(auth_lines alice)
gw_get alice "$(pw alice)"
is "$GW_STATUS" 401 "the password alone: 401"
tb_mail_wait alice@example.org 1 >/dev/null 2>&1
code=$(tb_mail_code alice@example.org 1) || code=''
like "$code" '^[0-9]{6}$' "a code was mailed to the account"
sleep 0.3
is "$(tb_mail_count alice@example.org)" 1 "exactly one mail"
is "$(auth_lines alice)" $((n0 + 1)) "mailotpd saw one auth-combined request for it"
like "$(grep "auth-combined: user=\"alice\"" "$TB_DAEMON_LOG" | tail -1)" \
	"service=\"mailotp-web\" rhost=\"127\.0\.0\.1\" peer=uid:$(id -u www-data)," \
	"asked by PAM in a www-data worker, service mailotp-web, PAM_RHOST set"

# --- password and a wrong code, then the right code
gw_get alice "$(pw alice)$(other_code "$code")"
is "$GW_STATUS" 401 "password and a wrong code: 401"
n1=$(auth_lines alice)
gw_get alice "$(pw alice)$code"
is "$GW_STATUS" 200 "password and the mailed code: 200"
is "$GW_BODY" mailotp-gateway-protected-OK "with the protected page"
is "$(tb_mail_count alice@example.org)" 1 "no further mail"
SIGNED_IN=$(date +%s%N)

# --- the browser sends the same credentials again: from the cache
# (the four requests first, the checks after: all must fall in the window)
gw_get alice "$(pw alice)$code"
st_again=$GW_STATUS
gw_get alice "$(pw alice)$code" /private/sub/page.html
st_sub=$GW_STATUS:$GW_BODY
gw_get alice "$(pw alice)"
st_other=$GW_STATUS
gw_get alice "$(pw alice)$code" /private/ "http://127.0.0.1:$HTTP_PORT"
st_plain=$GW_STATUS
window_ms=$((($(date +%s%N) - SIGNED_IN) / 1000000))
((window_ms < CACHE_S * 1000)) ||
	diag "the requests took $window_ms ms, longer than the cache lifetime of $CACHE_S s: the machine is too slow for the checks below"
is "$st_again" 200 "the same credentials again: 200"
is "$st_sub" 200:mailotp-gateway-subpage-OK "and in a subdirectory (AuthnCacheContext server)"
is "$(grep -c 'Authn cache: found credentials for alice' "$AD/error.log")" 3 \
	"Apache's log shows three cache hits (the third did not match)"
is "$st_other" 401 "while signed in, the password alone (another browser): 401"
is "$st_plain" 403 "over plain HTTP the right credentials get 403 (SSLRequireSSL)"
is "$(auth_lines alice):$(tb_mail_count alice@example.org)" "$((n1 + 1)):1" \
	"mailotpd was asked none of these, and nothing was mailed"

# --- after the cache timeout the used code is refused
while (($(date +%s%N) - SIGNED_IN < (CACHE_S * 1000 + 300) * 1000000)); do sleep 0.1; done
gw_get alice "$(pw alice)$code"
is "$GW_STATUS" 401 "after ${CACHE_S} s the same password+code: 401 (the code was single-use)"
is "$(auth_lines alice)" $((n1 + 2)) "PAM was asked again"
# A page load re-sends the old credentials several times at once: none may
# count as a wrong password in the directory (ppolicy would lock the
# account everywhere, SSH included, at pwdMaxFailure).
auth=$(printf '%s:%s' alice "$(pw alice)$code" | base64 -w0)
printf '%s\n' "$auth" >>"$TB_DIR/sent_auth"
pids=()
for i in 1 2 3 4 5 6; do
	printf 'header = "Authorization: Basic %s"\n' "$auth" |
		curl -sS -K - --cacert "$AD/cert.pem" --max-time 60 -o /dev/null -w '%{http_code}\n' \
			"https://127.0.0.1:$HTTPS_PORT/private/" >"$AD/par.$i" 2>>"$TB_DIR/curl.err" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
is "$(cat "$AD"/par.[1-6] | sort -u)" 401 "six stale requests at once (a page load): 401 each"
is "$(auth_lines alice)" $((n1 + 8)) "each reached mailotpd"
is "$(tb_ldap_get "$(tb_user_dn alice)" pwdFailureTime | grep -c .)" 0 "and none counted as a wrong password in the directory (no pwdFailureTime)"
gw_get alice "$(pw alice)"
is "$GW_STATUS" 401 "the password alone again: 401"
code2=$(tb_mail_code alice@example.org 2) || code2=''
like "$code2" '^[0-9]{6}$' "a new code was mailed"
gw_get alice "$(pw alice)$code2"
is "$GW_STATUS" 200 "the new code signs in again: 200"

# --- LDAP down
# a browser already signed in goes on from the cache (Require valid-user)
tb_pause_slapd
gw_get alice "$(pw alice)$code2"
tb_resume_slapd
is "$GW_STATUS:$(auth_lines alice)" "200:$((n1 + 10))" \
	"LDAP down: a browser already signed in goes on from the cache, PAM not asked"

# sign-ins are refused within a bounded time
gw_get hanako "$(pw hanako)"
codeh=$(tb_mail_code hanako@example.org 1) || codeh=''
like "$codeh" '^[0-9]{6}$' "hanako: the password alone mails a code"
tb_pause_slapd
n=$(tb_mail_count)
gw_get hanako "$(pw hanako)$codeh"
st=$GW_STATUS ms=$GW_MS
gw_get hanako "$(pw hanako)"
tb_resume_slapd
is "$st" 401 "LDAP down: password and code are refused (the password cannot be checked)"
ok $((ms < 30000 ? 0 : 1)) "within 30 s with ldap_timeout 2 (${ms} ms)"
is "$GW_STATUS" 401 "LDAP down: the password alone is refused"
ok $((GW_MS < 30000 ? 0 : 1)) "within 30 s (${GW_MS} ms)"
is "$(tb_mail_count)" "$n" "and nothing is mailed"

# --- three wrong codes kill the code
gw_get bob "$(pw bob)"
codeb=$(tb_mail_code bob@example.org 1) || codeb=''
like "$codeb" '^[0-9]{6}$' "bob: the password alone mails a code"
st=''
for _ in 1 2 3; do
	gw_get bob "$(pw bob)$(other_code "$codeb")"
	st+="$GW_STATUS "
done
is "$st" "401 401 401 " "three wrong codes: 401 each"
gw_get bob "$(pw bob)$codeb"
is "$GW_STATUS" 401 "then the right code is dead: 401"
is "$(tb_mail_count bob@example.org)" 1 "no other mail to bob"
is "$(tb_ldap_get "$(tb_user_dn bob)" pwdFailureTime | grep -c .)" 0 \
	"wrong and dead codes after the right password are not wrong passwords (no pwdFailureTime)"

# --- a forced change: redirected to the reset pages (AuthPAMExpiredRedirect)
printf 'dn: %s\nchangetype: modify\nreplace: mailotpMustChange\nmailotpMustChange: TRUE\n' \
	"$(tb_user_dn 'pa(re)n')" | tb_ldap_modify >/dev/null || bail_out "could not set mailotpMustChange"
gw_get 'pa(re)n' "$(pw 'pa(re)n')"
codep=$(tb_mail_code paren@example.org 1) || codep=''
gw_get 'pa(re)n' "$(pw 'pa(re)n')$codep"
is "$GW_STATUS" 303 "a password that must be changed: password and code give 303"
like "$GW_HDRS" $'\n''Location: https://account\.example\.org/mailotp/'$'\n' "to the reset pages"
unlike "$GW_BODY" mailotp-gateway-protected-OK "not the protected page"

# --- consent cannot be asked over Basic authentication
tb_stop_daemon
printf 'Terms of use\n\nArticle 1. The service is provided as is.\n' >"$TB_DIR/terms.txt"
gw_config "$TB_DIR/mailotp-terms.conf" terms_file "$TB_DIR/terms.txt"
tb_start_daemon "$TB_DIR/mailotp-terms.conf" || bail_out "mailotpd did not start with terms_file"
gw_get 'o,brien' "$(pw 'o,brien')"
codeo=$(tb_mail_code obrien@example.org 1) || codeo=''
gw_get 'o,brien' "$(pw 'o,brien')$codeo"
is "$GW_STATUS" 401 "consent still to give: password and code give 401"
is "$(tb_ldap_get "$(tb_user_dn 'o,brien')" mailotpConsentVersion)" "" "no consent was recorded"

# --- a peer outside pam_allow
tb_stop_daemon
gw_config "$TB_DIR/mailotp-rootonly.conf" pam_allow root
tb_start_daemon "$TB_DIR/mailotp-rootonly.conf" || bail_out "mailotpd did not start with pam_allow root"
gw_get carol "$(pw carol)"
is "$GW_STATUS" 401 "pam_allow root only: the gateway's request is refused (401)"
like "$(grep 'not in pam_allow' "$TB_DAEMON_LOG" | tail -1)" "peer uid:$(id -u www-data) " \
	"mailotpd logged the www-data peer as not in pam_allow"
is "$(tb_mail_count carol@example.org)" 0 "and mailed nothing"

# --- who ran PAM, and what reached the logs
workers=$(ps -o uid= --ppid "$APACHE_PID" | sort -u | tr -d ' ')
is "$workers" "$(id -u www-data)" "Apache's workers run as www-data"
_tb_kill_wait "$APACHE_PID" 10
APACHE_PID=''
codes=$({
	grep -hoE '^[0-9]{6}'$'\r''?$' "$TB_MAILDIR"/*.eml | tr -d '\r'
	for c in $code $codeb; do other_code "$c"; printf '\n'; done
} 2>/dev/null | sort -u)
ncodes=$(printf '%s\n' "$codes" | grep -c .)
ok $((ncodes >= 7 ? 0 : 1)) "codes to look for: $ncodes (mailed, and wrong ones sent)"
leak=''
for c in $codes; do
	grep -qF "$c" "$AD/error.log" "$AD/access.log" "$AD/stderr" && leak+=" code-in-apache-log"
	grep -qF "$c" "$TB_DAEMON_LOG" && leak+=" code-in-mailotpd-log"
done
is "$leak" "" "no code in Apache's error or access log (LogLevel info, authn_socache:debug) or mailotpd's log"
leak=''
for u in alice bob hanako carol 'pa(re)n' 'o,brien'; do
	grep -qF "$(pw "$u")" "$AD/error.log" "$AD/access.log" "$TB_DAEMON_LOG" && leak+=" password-of-$u"
done
while read -r a; do
	grep -qF "$a" "$AD/error.log" "$AD/access.log" "$TB_DAEMON_LOG" && leak+=" authorization-header"
done <"$TB_DIR/sent_auth"
is "$leak" "" "no password and no Authorization value in any log"
like "$(cat "$AD/error.log")" "PAM authentication passed for user alice" "Apache logged the PAM sign-in"

# --- the machine's files are untouched
is "$(etc_sum)" "$ETC_SUM_BEFORE" "/etc/pam.d and /etc/apache2 of the machine are unchanged"
diag "gateway_e2e: $((($(date +%s%N) - T_START) / 1000000)) ms"

tap_done
