#!/bin/bash
# The reset web pages end to end in a real browser: Debian's chromium,
# headless, driven by python3-selenium through chromedriver
# (tests/web_browser.py).  In English (alice) and Japanese (hanako, with
# Accept-Language ja): the request form, the mailed link, a weak password
# refused with the rule it breaks, the new password set, the completion
# page, and the new password binding to slapd; a mismatched e-mail
# confirmation shown at the field.  Screenshots of every page go to
# $top_builddir/tests/screenshots/ (kept after the test, for people).
#
# Needs: chromium chromium-driver python3-selenium (Debian), and a
# Japanese font (fonts-ipafont-gothic) for the Japanese screenshots to be
# readable; skipped when the first three are missing.
set -u
. "$top_srcdir/tests/testbed/testbed.sh"

WEB_PY=/usr/bin/python3 # Debian's, with python3-selenium (not a pyenv one)
[[ -x /usr/bin/chromium ]] || skip_all "no /usr/bin/chromium (Debian package chromium)"
[[ -x /usr/bin/chromedriver ]] || skip_all "no /usr/bin/chromedriver (Debian package chromium-driver)"
"$WEB_PY" -c 'import selenium.webdriver' 2>/dev/null ||
	skip_all "no selenium for $WEB_PY (Debian package python3-selenium)"
[[ -x /usr/sbin/slapd ]] || skip_all "no /usr/sbin/slapd for the test-bed (Debian package slapd)"
command -v ldapwhoami >/dev/null || skip_all "no ldapwhoami (Debian package ldap-utils)"

TB_LOG_DIR=$top_builddir/tests/screenshots
mkdir -p "$TB_LOG_DIR" || bail_out "cannot create $TB_LOG_DIR"
rm -f -- "$TB_LOG_DIR"/*.png

tb_init
tb_start_slapd || bail_out "slapd did not start"
tb_start_smtp accept || bail_out "SMTP sink did not start"
WEB_PORT=$(tb_free_port) || bail_out "no free port"
WEB_URL="http://127.0.0.1:$WEB_PORT"
tb_write_config "$TB_DIR/mailotp.conf" \
	reset_listen "127.0.0.1:$WEB_PORT" \
	reset_public_url "$WEB_URL"
tb_start_daemon "$TB_DIR/mailotp.conf" || bail_out "mailotpd did not start"

# chromium and its helpers are found again by their profile directory,
# which only this run uses: none may outlive the test
WEB_TMP=$TB_DIR/browser
mkdir -p "$WEB_TMP"
web_kill_browsers() {
	local p cmd pids=()
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		[[ "$cmd" == *"$WEB_TMP/"* ]] && pids+=("${p#/proc/}")
	done
	((${#pids[@]} == 0)) && return 0
	diag "killing ${#pids[@]} leftover browser process(es): ${pids[*]}"
	kill -KILL "${pids[@]}" 2>/dev/null || true
}
# shellcheck disable=SC2154 # _web_rc is set when the trap runs
trap '_web_rc=$?; web_kill_browsers; (exit $_web_rc); tb_cleanup' EXIT

# --- the HTTP side answers at all (GET /healthz, then the request form)
web_status() {
	"$WEB_PY" - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("error: %s" % (getattr(e, "reason", None) or e))
EOF
}
status=''
for _ in $(seq 1 50); do
	status=$(web_status "$WEB_URL/healthz")
	[[ "$status" == 200 ]] && break
	sleep 0.2
done
is "$status" 200 "mailotpd answers GET /healthz on 127.0.0.1:$WEB_PORT (reset_listen)"
if [[ "$status" != 200 ]]; then
	lines=$(grep -i 'http\|reset\|listen' "$TB_DAEMON_LOG" | tail -n 10)
	[[ -n "$lines" ]] || lines="the daemon log says nothing about reset_listen or the web service"
	diag "$lines"
	bail_out "the reset web service does not answer on $WEB_URL ($status)"
fi

# --- the browser; its records become TAP (see web_browser.py)
web_bind() {
	local login=$1 pw=$2 dn old
	dn=$(tb_user_dn "$login")
	old=$(tb_user_pw "$login")
	run_ok "$login binds to slapd with the new password (ldapwhoami)" \
		env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$dn" -w "$pw" -o nettimeout=5
	run_fails "$login's old password no longer binds" \
		env LDAPNOINIT=1 ldapwhoami -x -H "$TB_LDAP_URI" -D "$dn" -w "$old" -o nettimeout=5
	# shellcheck disable=SC2016 # a regex, nothing to expand
	like "$(tb_ldap_get "$dn" userPassword)" '^\{ARGON2\}\$argon2id\$' \
		"$login's userPassword is an argon2id hash"
}

browser_rc=0
while IFS=$'\t' read -r kind a b; do
	case "$kind" in
	ok) ok 0 "$a" ;;
	'not ok') ok 1 "$a" ;;
	diag) diag "$a" ;;
	bind) web_bind "$a" "$b" ;;
	exit) browser_rc=$a ;;
	*) diag "web_browser.py: $kind${a:+ $a}${b:+ $b}" ;;
	esac
done < <(timeout -k 5 300 "$WEB_PY" "$top_srcdir/tests/web_browser.py" \
	--base-url "$WEB_URL" --public-url "$WEB_URL" --maildir "$TB_MAILDIR" \
	--shots "$TB_LOG_DIR" --tmp "$WEB_TMP" 2>"$WEB_TMP/python.log"; echo "exit	$?")
# the last record is the script's exit status (124: killed by timeout)
is "$browser_rc" 0 "web_browser.py ran to its end (exit status; 124 is its 300 s timeout)"
web_kill_browsers
if [[ -s "$WEB_TMP/python.log" ]]; then
	diag "--- web_browser.py stderr (last 20 lines)"
	diag "$(tail -n 20 "$WEB_TMP/python.log")"
fi

n=$(find "$TB_LOG_DIR" -maxdepth 1 -name '*.png' | wc -l)
ok $((n >= 13 ? 0 : 1)) "screenshots of every page in $TB_LOG_DIR ($n PNG files)"
leftover=0
for p in /proc/[0-9]*; do
	[[ "$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" == *"$WEB_TMP/"* ]] && leftover=$((leftover + 1))
done
is "$leftover" 0 "no chromium or chromedriver process is left running"

tap_done
