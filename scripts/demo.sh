#!/bin/bash
# mailotp demo: a login with password + e-mailed one-time code, end to end,
# on a throwaway stand on this machine:
#
#   * a private slapd on a free loopback port (dc=example,dc=org, test accounts)
#   * an SMTP sink on loopback that stores every mail it receives
#   * mailotpd, configured for the two
#   * the real libpam (under pam_wrapper) running pam_mailotp.so, driven by
#     tests/pam_driver with a scripted conversation that reads the code from
#     the mail the sink received
#
# It installs the Debian packages if needed (scripts/setup-deps.sh), builds
# in build/main if that is not built yet, and removes everything it started
# when it ends.  Nothing is installed into the system, nothing outside a
# temporary directory is written, and no real mail leaves the machine.
#
#   scripts/demo.sh            # run it
#   TB_KEEP=1 scripts/demo.sh  # keep the stand's directory for a look
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build/main
export LC_ALL=C.UTF-8

# ---------------------------------------------------------------------------
# setup: packages, build

"$SRC/scripts/setup-deps.sh"

built() {
	[[ -x "$BUILD/resetd/mailotpd" && -f "$BUILD/pam_module/.libs/pam_mailotp.so" &&
		-x "$BUILD/tests/pam_driver" ]]
}
if ! built || [[ ! -f "$BUILD/Makefile" ]]; then
	echo "demo: configuring mailotp in $BUILD (once)"
	if [[ ! -f "$BUILD/Makefile" ]]; then
		if [[ -f "$SRC/config.status" ]]; then
			echo "demo: $SRC is configured in-tree; run 'make distclean' there first" >&2
			exit 1
		fi
		[[ -x "$SRC/configure" ]] || (cd "$SRC" && autoreconf -fi >/dev/null 2>&1)
		mkdir -p "$BUILD"
		(cd "$BUILD" && "$SRC/configure" >configure.out 2>&1) ||
			{ tail -n 30 "$BUILD/configure.out"; exit 1; }
	fi
fi
# Always brought up to date (quick when nothing changed).
make -C "$BUILD" -j2 >"$BUILD/demo-make.out" 2>&1 &&
	make -C "$BUILD" tests/pam_driver >>"$BUILD/demo-make.out" 2>&1 ||
	{ tail -n 30 "$BUILD/demo-make.out"; exit 1; }

# ---------------------------------------------------------------------------
# the stand

export top_srcdir=$SRC top_builddir=$BUILD
# shellcheck source=tests/testbed/testbed.sh
. "$SRC/tests/testbed/testbed.sh"
# shellcheck source=tests/pam_env.sh
. "$SRC/tests/pam_env.sh"

bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'
[[ -t 1 ]] || bold='' dim='' off=''

title() { printf '\n%s=== %s ===%s\n' "$bold" "$*" "$off"; }
sub() { printf '\n%s--- %s%s\n' "$bold" "$*" "$off"; }
indent() { sed 's/^/    /'; }

# show_conversation ANSWER...: the transcript in $PAM_OUT, each prompt
# followed by the answer the scripted user typed
show_conversation() {
	local kind text line code=''
	local -a answers=("$@")
	local i=0
	while IFS= read -r line; do
		kind=${line%% *}
		text=${line#* }
		case "$kind" in
		PROMPT_ECHO_OFF | PROMPT_ECHO_ON)
				local a=${answers[i]-}
				i=$((i + 1))
				if [[ "$a" == @CODE:* ]]; then
					code=$(tb_mail_code "${a#@CODE:}" 2>/dev/null || echo '?')
					a="$code (read from the mail)"
				else
					a="'$a'"
				fi
				printf '    module asks  : %s %s<- user types %s, not echoed%s\n' \
					"$text" "$dim" "$a" "$off"
				;;
		INFO) printf '    module says  : %s\n' "$text" ;;
		ERROR) printf '    module error : %s\n' "$text" ;;
		CONV) printf '    (the user gave no more answers)\n' ;;
		RESULT)
			local fn=${text%% *}
			case "$fn" in
			authenticate) fn=pam_authenticate ;;
			account) fn=pam_acct_mgmt ;;
			chauthtok) fn=pam_chauthtok ;;
			esac
			printf '    %sresult       : %s -> %s%s\n' "$bold" "$fn" "${text#* }" "$off"
			RESULTS+=("$fn -> ${text#* }")
			;;
		*) printf '    %s\n' "$line" ;;
		esac
	done <<<"$PAM_OUT"
}

# login TITLE EXPECTED USER OPS ANSWER...: one login through the real PAM
# stack; EXPECTED is the result wanted from the last PAM call
login() {
	local what=$1 expected=$2 user=$3 ops=$4 mail log0 mails0 verdict
	shift 4
	mail=$(tb_user_mail "$user")
	title "$what"
	log0=$(wc -l <"$TB_DAEMON_LOG")
	mails0=$(tb_mail_count)
	RESULTS=()
	pam_run mailotp "$user" "$ops" "$@"

	sub "PAM conversation (service 'mailotp', user '$user', ${PAM_MS} ms)"
	show_conversation "$@"

	sub "mail received by the SMTP sink"
	if (($(tb_mail_count) > mails0)); then
		tb_mail_last "$mail" | indent
	else
		echo "    (none: no mail was sent)"
	fi

	sub "mailotpd log for this login"
	tail -n +"$((log0 + 1))" "$TB_DAEMON_LOG" | indent
	if [[ -s "$TB_DIR/pam_driver.err" ]]; then
		sub "pam_driver stderr"
		indent <"$TB_DIR/pam_driver.err"
		: >"$TB_DIR/pam_driver.err"
	fi
	if [[ "$PAM_RESULT" == "$expected" ]]; then
		verdict="as expected"
	else
		verdict="UNEXPECTED (wanted $expected)"
		UNEXPECTED=$((UNEXPECTED + 1))
	fi
	local joined
	joined=$(printf '%s, ' "${RESULTS[@]}")
	OUTCOMES+=("$(printf '%-7s %-62s %s mail  %s' "$user" "${joined%, }" \
		"$(($(tb_mail_count) - mails0))" "$verdict")")
	return 0
}

title "starting the stand (slapd, SMTP sink, mailotpd)"
tb_init
tb_start_slapd
echo "    slapd       $TB_LDAP_URI  (base $TB_BASE, started in ${TB_SLAPD_START_MS} ms)"
tb_start_smtp
echo "    SMTP sink   smtp://127.0.0.1:$TB_SMTP_PORT  (mail stored in $TB_MAILDIR)"
WEB_PORT=$(tb_free_port)
WEB="http://127.0.0.1:$WEB_PORT"
tb_write_config "$TB_DIR/mailotp.conf" reset_listen "127.0.0.1:$WEB_PORT" reset_public_url "$WEB"
tb_start_daemon "$TB_DIR/mailotp.conf"
echo "    mailotpd    pid $TB_DAEMON_PID, PAM socket $TB_PAM_SOCKET, reset pages $WEB/"
indent <"$TB_DAEMON_LOG"
declare -a OUTCOMES=() RESULTS=()
UNEXPECTED=0
pam_std_services

sub "mailotp.conf used by mailotpd (a test-bed config: runs as root, no TLS)"
indent <"$TB_DIR/mailotp.conf"
sub "PAM service file (pam.d/mailotp)"
indent <"$TB_DIR/pam.d/mailotp"

login "1. alice logs in: password, then the code mailed to alice@example.org" \
	PAM_SUCCESS alice auth,acct "$(tb_user_pw alice)" @CODE:alice@example.org

login "2. hanako (preferredLanguage: ja) logs in: Japanese prompts and mail" \
	PAM_SUCCESS hanako auth,acct "$(tb_user_pw hanako)" @CODE:hanako@example.org

login "3. alice with a wrong password: refused, no mail is sent" \
	PAM_AUTH_ERR alice auth 'not-her-password'

title "4. alice forgot her password: a reset by mail (the reset web pages, driven with curl)"
for _ in $(seq 100); do curl -s -o /dev/null "$WEB/healthz" && break; sleep 0.05; done
JAR="$TB_DIR/demo.jar" PAGE="$TB_DIR/demo.html"
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$PAGE"; }
curl -sS -c "$JAR" -o "$PAGE" "$WEB/"
sub "GET $WEB/  -> the request form (e-mail + confirmation, as in seed 002)"
grep -o '<label for="[a-z_]*">[^<]*' "$PAGE" | sed 's/<label for="[a-z_]*">/    field: /'
mails0=$(tb_mail_count alice@example.org)
code=$(curl -sS -b "$JAR" -o "$PAGE" -w '%{http_code}' --data-urlencode "csrf=$(csrf_of)" \
	--data-urlencode email=alice@example.org --data-urlencode email_confirm=alice@example.org "$WEB/request")
sub "POST /request -> $code (the same answer whether or not the address has an account)"
sed -n 's:.*<p>\([^<]*\)</p>.*:    \1:p' "$PAGE" | head -n 3
tb_mail_wait alice@example.org "$((mails0 + 1))" >/dev/null 2>&1 || true
sub "mail received by the SMTP sink"
tb_mail_last alice@example.org | indent
link=$(tb_mail_last alice@example.org | grep -o "$WEB/reset?token=[A-Za-z0-9_-]*" | tail -n 1)
NEWPW='Blue-Harbor-4096'
reset_ok=0
if [[ -n "$link" ]]; then
	curl -sS -b "$JAR" -c "$JAR" -o "$PAGE" "$link"
	code=$(curl -sS -b "$JAR" -o "$PAGE" -w '%{http_code}' --data-urlencode "csrf=$(csrf_of)" \
		--data-urlencode "token=${link#*token=}" --data-urlencode "password=$NEWPW" \
		--data-urlencode "password_confirm=$NEWPW" "$WEB/reset")
	sub "GET the link, POST /reset with a new password -> $code"
	sed -n 's|.*<h1>\([^<]*\)</h1>.*|    page: \1|p' "$PAGE"
	[[ "$code" == 200 ]] && reset_ok=1
fi
if ((reset_ok)); then
	login "5. alice logs in with the password she just set" \
		PAM_SUCCESS alice auth,acct "$NEWPW" @CODE:alice@example.org
else
	echo "    the reset did not complete"
	UNEXPECTED=$((UNEXPECTED + 1))
fi

title "summary"
printf '    %s\n' "${OUTCOMES[@]}"
echo
echo "    Stopping mailotpd, the SMTP sink and slapd; removing $TB_DIR."
if ((UNEXPECTED > 0)); then
	echo "demo: $UNEXPECTED login(s) did not end as expected" >&2
	exit 1
fi
