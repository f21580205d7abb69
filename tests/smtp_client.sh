#!/bin/bash
# The SMTP client (mailotp_smtp_send / mailotp_smtp_probe, driven by
# tests/smtp_send) against
#  (a) the aiosmtpd sink (tests/testbed/smtp_sink.py) in its configurations:
#      plain, STARTTLS, smtps, AUTH, its refusal modes, a tarpit; and
#  (b) a scripted server (tests/testbed/smtp_script.py) for what a real MTA
#      does not do on demand: insisting on pipelining, multi-line, overlong
#      and malformed replies, a 421 greeting, a close inside DATA, a reply
#      injected after STARTTLS, a refused second recipient, an idle close,
#      the raw dot-stuffed DATA bytes, a server too slow for smtp_timeout.
# The certificates (a CA, a server certificate for 127.0.0.1/localhost, one
# whose name does not match, and a second CA that signed nothing) are made
# with openssl in the test's own directory. Needs python3-aiosmtpd and
# openssl (scripts/setup-deps.sh installs both); no pam_wrapper, no slapd.
#
#   top_srcdir=... top_builddir=... bash tests/smtp_client.sh
#   (or: make check TESTS=tests/smtp_client.sh; TB_KEEP=1 keeps $TB_DIR
#   with every server's log)
#
# Each check that guards a security property says above it which wrong
# client behaviour it catches. AUTH in the clear is tested against a
# non-loopback address of this host when there is one (else skipped).
set -u
. "$top_srcdir/tests/testbed/testbed.sh"

SEND=$top_builddir/tests/smtp_send
[[ -x "$SEND" ]] || skip_all "no $SEND (make check builds it)"
command -v openssl >/dev/null 2>&1 || skip_all "no openssl (apt-get install openssl)"
"$TB_PYTHON" -c 'import aiosmtpd' 2>/dev/null || skip_all "no aiosmtpd for $TB_PYTHON (apt-get install python3-aiosmtpd)"

tb_init

# --------------------------------------------------------------------------
# servers: the sink (several, each with its own options) and the script

declare -A SRV_PID=() SRV_PORT=() SRV_MARK=()
SRV_NAMES=()

# srv_launch NAME sink|script [OPTIONS...]: start it on a free loopback port
# (SRV_HOST overrides the address), logging to $TB_DIR/NAME/log; returns at
# once (srv_wait waits for it).
srv_launch() {
	local name=$1 kind=$2 d=$TB_DIR/$1 port host=${SRV_HOST:-127.0.0.1}
	shift 2
	mkdir -p "$d/mail"
	printf 'accept\n' >"$d/mode"
	rm -f "$d/pid"
	port=$(tb_free_port) || return 1
	if [[ "$kind" == sink ]]; then
		"$TB_PYTHON" "$TB_SRCDIR/smtp_sink.py" --host "$host" --port "$port" --maildir "$d/mail" \
			--mode-file "$d/mode" --pidfile "$d/pid" "$@" </dev/null >>"$d/log" 2>&1 &
	else
		"$TB_PYTHON" "$TB_SRCDIR/smtp_script.py" --host "$host" --port "$port" \
			--pidfile "$d/pid" "$@" </dev/null >>"$d/log" 2>&1 &
	fi
	SRV_PID[$name]=$!
	SRV_PORT[$name]=$port
	[[ " ${SRV_NAMES[*]} " == *" $name "* ]] || SRV_NAMES+=("$name")
}

# srv_wait NAME...: wait until each has written its pid file; false (with
# its log on stderr) if one died or took more than TB_START_TIMEOUT s.
srv_wait() {
	local name deadline
	_tb_now
	deadline=$((_TB_NOW + TB_START_TIMEOUT * 1000000))
	for name in "$@"; do
		until [[ -s "$TB_DIR/$name/pid" ]]; do
			_tb_now
			if ! _tb_alive "${SRV_PID[$name]}" || ((_TB_NOW > deadline)); then
				_tb_dump_log "$TB_DIR/$name/log"
				_tb_die "server $name did not start on port ${SRV_PORT[$name]}"
				return 1
			fi
			sleep 0.02
		done
	done
}

# srv_start NAME sink|script [OPTIONS...]: srv_launch + srv_wait; bails out
srv_start() {
	if ! srv_launch "$@" || ! srv_wait "$1"; then bail_out "could not start $2 $1"; fi
}

srv_stop() {
	[[ -n "${SRV_PID[$1]:-}" ]] || return 0
	_tb_kill_wait "${SRV_PID[$1]}" 5
	SRV_PID[$1]=''
}

sc_cleanup() {
	local rc=$? name
	trap - EXIT
	for name in "${SRV_NAMES[@]}"; do
		srv_stop "$name" || true
	done
	if ((rc != 0)) || ((TAP_FAILED > 0)); then
		for name in "${SRV_NAMES[@]}"; do
			_tb_dump_log "$TB_DIR/$name/log" 40
		done
	fi
	(exit "$rc")
	tb_cleanup
}
trap sc_cleanup EXIT

url() { printf 'smtp://127.0.0.1:%s%s' "${SRV_PORT[$1]}" "${2:-}"; }
surl() { printf 'smtps://127.0.0.1:%s%s' "${SRV_PORT[$1]}" "${2:-}"; }

# messages stored by sink NAME
nstored() {
	local f n=0
	for f in "$TB_DIR/$1/mail/"[0-9]*.eml; do
		[[ -e "$f" ]] && n=$((n + 1))
	done
	printf '%s' "$n"
}
newest() {
	local f last=''
	for f in "$TB_DIR/$1/mail/"[0-9]*.eml; do
		[[ -e "$f" ]] && last=$f
	done
	printf '%s' "$last"
}

# mark NAME: remember where NAME's log and mail store stand; since NAME:
# the log written after the mark; stored_since NAME: messages since.
mark() {
	SRV_MARK[$1]=$(stat -c %s "$TB_DIR/$1/log")
	printf -v "STORED_$1" '%s' "$(nstored "$1")"
}
since() { tail -c +$((${SRV_MARK[$1]} + 1)) "$TB_DIR/$1/log"; }
stored_since() {
	local v=STORED_$1
	printf '%s' $(($(nstored "$1") - ${!v}))
}
# nlines NAME ERE: lines of the log since the mark that match
nlines() { since "$1" | grep -c -E -- "$2" || true; }
# wait_log NAME ERE [S]: wait (5 s) until the log since the mark matches
wait_log() {
	local i
	for ((i = 0; i < ${3:-5} * 50; i++)); do
		since "$1" | grep -q -E -- "$2" && return 0
		sleep 0.02
	done
	return 1
}
mode() { printf '%s\n' "$2" >"$TB_DIR/$1/mode"; }

# run_send [smtp_send options]: OUT (stdout), ERR (stderr), ST (exit
# status), RCS (every rc name, space-separated), RC (the first), MS.
# --timeout 5 unless given; the outer timeout only bounds a hang.
FROM=sender@example.org
TO=rcpt@example.org
SAN_REPORTS=0
run_send() {
	local t0
	_tb_now
	t0=$_TB_NOW
	ST=0
	OUT=$(timeout 60 "$SEND" --timeout 5 --from "$FROM" "$@" 2>"$TB_DIR/send.err") || ST=$?
	_tb_now
	MS=$(((_TB_NOW - t0) / 1000))
	ERR=$(<"$TB_DIR/send.err")
	# Under ASan/UBSan a report must fail the run, leaks (exit 23) included.
	if grep -q "Sanitizer\|runtime error" "$TB_DIR/send.err"; then
		SAN_REPORTS=$((SAN_REPORTS + 1))
		diag "sanitizer report from smtp_send $*:"
		diag "$(head -n 40 "$TB_DIR/send.err")"
	fi
	RCS=$(sed -n 's/^rc=\([^ ]*\) .*/\1/p' <<<"$OUT" | tr '\n' ' ')
	RCS=${RCS% }
	RC=${RCS%% *}
}

# is_rc EXPECTED NAME: RC is EXPECTED (OUT and ERR shown when not)
is_rc() {
	is "$RC" "$1" "$2"
	if [[ "$RC" != "$1" ]]; then
		diag "  smtp_send stdout: $OUT"
		diag "  smtp_send stderr: $ERR (exit $ST, ${MS} ms)"
	fi
}

# --------------------------------------------------------------------------
# certificates

PKI=$TB_DIR/pki
mkdir -p "$PKI"
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=$2" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" >>"$PKI/openssl.log" 2>&1
}
# mkleaf NAME CN SAN: a server certificate signed by the test CA
mkleaf() {
	printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
		extendedKeyUsage=serverAuth "subjectAltName=$3" >"$PKI/$1.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$2" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" >>"$PKI/openssl.log" 2>&1 &&
		openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
			-CAcreateserial -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" >>"$PKI/openssl.log" 2>&1
}
{ mkca ca "mailotp test CA" && mkca otherca "another test CA" &&
	mkleaf good 127.0.0.1 IP:127.0.0.1,DNS:localhost &&
	# the CN names the URL host, the SAN does not: a client that falls back
	# to the CN when there is a SAN would take it (RFC 6125 6.4.4)
	mkleaf wrongname 127.0.0.1 DNS:wrong.example; } ||
	{ cat "$PKI/openssl.log" >&2; bail_out "openssl could not make the test certificates"; }
CA=$PKI/ca.pem
OTHERCA=$PKI/otherca.pem
GOOD=(--tls-cert "$PKI/good.pem" --tls-key "$PKI/good.key")

SMTP_USER=smtpuser
(
	umask 077
	printf 'S3cret-smtp-pw\n' >"$TB_DIR/smtp.pw"
	printf 'wrong-smtp-pw\n' >"$TB_DIR/wrong.pw"
)

# a non-loopback address of this host, for AUTH in the clear (none: skipped)
REMOTE_IP=$(ip -o -4 addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')
[[ -n "$REMOTE_IP" ]] || REMOTE_IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n 1)
HAVE_V6=0
"$TB_PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null && HAVE_V6=1

# the sinks, started together
srv_launch plain sink
srv_launch starttls sink "${GOOD[@]}"
srv_launch smtps sink "${GOOD[@]}" --implicit-tls
srv_launch smtps_wrongname sink --tls-cert "$PKI/wrongname.pem" --tls-key "$PKI/wrongname.key" --implicit-tls
srv_launch auth_tls sink "${GOOD[@]}" --auth-user "$SMTP_USER" --auth-password-file "$TB_DIR/smtp.pw"
# AUTH in the clear, on loopback; without PIPELINING for once
srv_launch auth_plain sink --auth-user "$SMTP_USER" --auth-password-file "$TB_DIR/smtp.pw" \
	--auth-plaintext --no-pipelining
if [[ -n "$REMOTE_IP" ]]; then
	SRV_HOST=$REMOTE_IP srv_launch auth_remote sink --auth-user "$SMTP_USER" \
		--auth-password-file "$TB_DIR/smtp.pw" --auth-plaintext
fi
((HAVE_V6)) && SRV_HOST=::1 srv_launch v6 sink
srv_wait plain starttls smtps smtps_wrongname auth_tls auth_plain || bail_out "an SMTP sink did not start"
if [[ -n "$REMOTE_IP" ]] && ! srv_wait auth_remote 2>/dev/null; then
	diag "no sink on $REMOTE_IP: AUTH in the clear to a non-loopback address is not tested"
	REMOTE_IP=''
fi
if ((HAVE_V6)) && ! srv_wait v6 2>/dev/null; then
	HAVE_V6=0
fi

# --------------------------------------------------------------------------
# (a) the aiosmtpd sink

# --- plain
mark plain
run_send --url "$(url plain /client.example)" --starttls no --to "$TO"
is_rc OK "plain SMTP: delivered"
is "$(stored_since plain)" 1 "... one message stored"
like "$(since plain)" "ehlo client.example tls=no" "... the EHLO name is the URL's path"
is "$ST" 0 "... smtp_send exits 0"

# the exact bytes arrive, dot-stuffing undone by the sink (with leading dots
# on the first line, a lone ".", ".." and one at the very end). Catches a
# client that does not dot-stuff: its lone "." would end the message early
# and what follows would be read as commands.
printf '%s\r\n' '.first line starts with a dot' "From: <$FROM>" "To: <$TO>" 'Subject: dots' '' \
	'a line' '.' '..' '.. two' ' .not at the start' 'x.y' '.last' >"$TB_DIR/dots.eml"
mark plain
run_send --url "$(url plain)" --starttls no --to "$TO" --message "$TB_DIR/dots.eml"
is_rc OK "a message with lines beginning with '.': delivered"
f=$(newest plain)
if [[ -n "$f" ]] && tail -n +4 "$f" | cmp -s - "$TB_DIR/dots.eml"; then ok 0 "... byte for byte (after the sink's three X-Sink lines)"; else
	ok 1 "... byte for byte (after the sink's three X-Sink lines)"
	diag "$(tail -n +4 "$f" 2>/dev/null | od -c | head -n 20)"
fi

mark plain
run_send --url "$(url plain)" --starttls auto --to "$TO"
is_rc OK "STARTTLS auto, the server offers none: delivered in the clear"
like "$(since plain)" "mail from=$FROM tls=no" "... without TLS"

# catches a client that falls back to plain text when STARTTLS is required
mark plain
run_send --url "$(url plain)" --starttls yes --ca "$CA" --to "$TO"
is_rc SMTP "STARTTLS yes, the server offers none: rc=SMTP"
is "$(stored_since plain)/$(nlines plain 'mail from=')" 0/0 "... no MAIL, nothing stored"

mark plain
run_send --url "$(url plain)" --to a@example.org --to b@example.org --to c@example.org
is_rc OK "three recipients: delivered"
f=$(newest plain)
is "$(stored_since plain)" 1 "... as one message"
like "$(head -n 3 "$f" 2>/dev/null | tr -d '\r')" "X-Sink-RcptTo: a@example.org, b@example.org, c@example.org" "... to all three"

mark plain
run_send --url "$(url plain)" --to "$TO" --count 5
is "$RCS" "OK OK OK OK OK" "five mails in one process: all delivered"
is "$(stored_since plain)" 5 "... five messages stored"
is "$(nlines plain 'connection from')" 1 "... over ONE connection (reused from the pool)"
is "$(nlines plain 'mail from=')" 5 "... five MAIL commands on it"

# refusals: the server talked and said no
for m in refuse_rcpt:550 refuse_data:554 tempfail:451; do
	mode plain "${m%:*}"
	mark plain
	run_send --url "$(url plain)" --to "$TO"
	is_rc SMTP_REFUSED "sink mode ${m%:*}: rc=SMTP_REFUSED"
	like "$OUT" "err=.*${m#*:}" "... err quotes the server's ${m#*:}"
	is "$(stored_since plain)" 0 "... nothing stored"
done
mode plain accept

# a refusal before DATA: the gate is never asked (mail.h)
mode plain refuse_rcpt
mark plain
run_send --url "$(url plain)" --to "$TO" --withhold
is_rc SMTP_REFUSED "recipient refused with a gate: rc=SMTP_REFUSED, not the gate's answer"
like "$ERR" "gate asked 0" "... the gate was not asked"
mode plain accept

mode plain tarpit
mark plain
run_send --url "$(url plain)" --to "$TO" --timeout 2
is_rc SMTP "tarpit (no greeting), smtp_timeout 2: rc=SMTP"
ok $((MS < 10000 ? 0 : 1)) "... and no hang (took ${MS} ms)"
mode plain accept

port=$(tb_free_port)
run_send --url "smtp://127.0.0.1:$port" --to "$TO"
is_rc SMTP "nothing listening: rc=SMTP"

# SMTP smuggling: a bare LF (or CR) could let a server see an end of DATA
# where the client meant none. Catches a client that sends such text.
printf 'From: <%s>\r\nTo: <%s>\r\nSubject: lf\r\n\r\nhello\n.\r\nMAIL FROM:<evil@example.org>\r\n' \
	"$FROM" "$TO" >"$TB_DIR/lf.eml"
printf 'From: <%s>\r\nTo: <%s>\r\nSubject: cr\r\n\r\nhello\r.\rworld\r\n' "$FROM" "$TO" >"$TB_DIR/cr.eml"
for m in lf cr; do
	mark plain
	run_send --url "$(url plain)" --to "$TO" --message "$TB_DIR/$m.eml"
	is_rc INVALID "a message with a bare ${m^^}: rc=INVALID"
	is "$(stored_since plain)/$(nlines plain 'mail from=')" 0/0 "... refused before MAIL, nothing stored"
done
# a line over the 998 octets of RFC 5322 (smtp.h: INVALID, nothing sent)
{ printf 'Subject: long\r\n\r\n'; head -c 1200 /dev/zero | tr '\0' x; printf '\r\n'; } >"$TB_DIR/long.eml"
mark plain
run_send --url "$(url plain)" --to "$TO" --message "$TB_DIR/long.eml"
is_rc INVALID "a line of 1200 octets: rc=INVALID"
is "$(nlines plain 'mail from=')" 0 "... refused before MAIL"
# command injection through an address: catches a client that puts an
# address with CR, LF or '>' into MAIL FROM / RCPT TO
mark plain
run_send --url "$(url plain)" --to $'a@example.org>\r\nRCPT TO:<evil@example.org'
is_rc INVALID "a recipient with CRLF and '>' in it: rc=INVALID"
is "$(nlines plain 'mail from=')" 0 "... refused before MAIL"

mark plain
run_send --url "$(url plain)" --to "$TO" --gate-ok
is_rc OK "a gate that lets the message go: delivered"
like "$ERR" "gate asked 1" "... the gate was asked once"
is "$(stored_since plain)" 1 "... stored"

# catches a client that sends the message (or its final dot) anyway
mark plain
run_send --url "$(url plain)" --to "$TO" --withhold
is_rc CONFLICT "the gate withholds the message: rc is the gate's (CONFLICT)"
like "$ERR" "gate asked 1" "... the gate was asked once"
wait_log plain 'connection lost before the message was complete'
ok $? "... the sink saw the connection dropped inside DATA"
is "$(stored_since plain)" 0 "... nothing stored"

# catches a pool that keeps the connection left inside DATA: the next
# mail's commands would become the withheld message's text, and its "."
# would deliver it
mark plain
run_send --url "$(url plain)" --to "$TO" --gate wo --count 2
is "$RCS" "CONFLICT OK" "withheld, then the next mail in the same process: CONFLICT, then OK"
f=$(newest plain)
is "$(stored_since plain)/$(nlines plain 'connection from')" 1/2 "... one message stored, the second on a new connection"
is "$(grep -c -E '^(X-Smtp-Send-Seq: 2|MAIL FROM|RCPT TO|DATA)' "$f" 2>/dev/null | head -n 1)" 1 "... and it is the second mail alone, no SMTP commands in its text"

mark plain
run_send --url "$(url plain)" --probe
is_rc OK "probe: ok"
like "$(since plain)" "ehlo [^ ]+ tls=no" "... it said EHLO"
is "$(stored_since plain)/$(nlines plain 'mail from=')" 0/0 "... and sent no mail"
run_send --url "smtp://127.0.0.1:$port" --probe
is_rc SMTP "probe, nothing listening: rc=SMTP"
run_send --url "$(url plain)" --probe --starttls yes --ca "$CA"
is_rc SMTP "probe with STARTTLS yes, the server offers none: rc=SMTP"

# catches a client that goes on without AUTH when the server offers none
mark plain
run_send --url "$(url plain)" --to "$TO" --user "$SMTP_USER" --password-file "$TB_DIR/smtp.pw"
is_rc SMTP "smtp_user set, the server offers no AUTH: rc=SMTP"
is "$(stored_since plain)/$(nlines plain 'mail from=')" 0/0 "... no MAIL, nothing stored"

if ((HAVE_V6)); then
	mark v6
	run_send --url "smtp://[::1]:${SRV_PORT[v6]}/client6.example" --to "$TO"
	is_rc OK "IPv6 literal smtp://[::1]:PORT/NAME: delivered"
	like "$(since v6)" $'connection from \\[::1\\]:[0-9]+\nsmtp_sink: ehlo client6.example ' "... over ::1, EHLO client6.example"
else
	skip "no IPv6 loopback" 2
fi

# --- STARTTLS
mark starttls
run_send --url "$(url starttls)" --starttls auto --ca "$CA" --to "$TO"
is_rc OK "STARTTLS auto, offered: delivered"
like "$(since starttls)" $'ehlo [^ ]+ tls=no\nsmtp_sink: ehlo [^ ]+ tls=yes' "... EHLO again after STARTTLS, then over TLS"
like "$(since starttls)" "mail from=$FROM tls=yes" "... MAIL over TLS"

mark starttls
run_send --url "$(url starttls)" --starttls yes --ca "$CA" --to "$TO" --count 3
is "$RCS" "OK OK OK" "STARTTLS yes, three mails: delivered"
is "$(nlines starttls 'connection from')/$(nlines starttls 'tls=yes')" 1/4 "... over one TLS connection (1 EHLO and 3 MAIL over TLS)"

mark starttls
run_send --url "$(url starttls)" --starttls no --to "$TO"
is_rc OK "STARTTLS no, offered: delivered"
is "$(nlines starttls 'tls=yes')" 0 "... in the clear"

# certificate checks; with auto too: catches a client that goes on (or
# reconnects) in the clear when the certificate is not good
for st in yes auto; do
	mark starttls
	run_send --url "$(url starttls)" --starttls $st --ca "$OTHERCA" --to "$TO"
	is_rc SMTP "STARTTLS $st, certificate from another CA: rc=SMTP"
	is "$(stored_since starttls)/$(nlines starttls 'mail from=')" 0/0 "... no MAIL, nothing stored"
done
# catches a client that does not verify when no CA file is given
mark starttls
run_send --url "$(url starttls)" --starttls yes --to "$TO"
is_rc SMTP "STARTTLS yes, no smtp_ca_file (the system's CAs do not know the test CA): rc=SMTP"
is "$(stored_since starttls)" 0 "... nothing stored"

# --- smtps
mark smtps
run_send --url "$(surl smtps)" --ca "$CA" --to "$TO"
is_rc OK "smtps, the right CA: delivered"
like "$(since smtps)" "mail from=$FROM tls=yes" "... over TLS"
run_send --url "smtps://localhost:${SRV_PORT[smtps]}" --ca "$CA" --to "$TO"
is_rc OK "smtps://localhost: the name matches the DNS SAN: delivered"
mark smtps
run_send --url "$(surl smtps)" --ca "$OTHERCA" --to "$TO"
is_rc SMTP "smtps, certificate from another CA: rc=SMTP"
is "$(stored_since smtps)" 0 "... nothing stored"
# catches a client that skips the name check or takes the CN despite a SAN
mark smtps_wrongname
run_send --url "$(surl smtps_wrongname)" --ca "$CA" --to "$TO"
is_rc SMTP "smtps, SAN DNS:wrong.example (CN 127.0.0.1) for 127.0.0.1: rc=SMTP"
is "$(stored_since smtps_wrongname)" 0 "... nothing stored"

# catches a client that accepts a protocol version older than TLS 1.2
# (RFC 8996): a TLS 1.1-only server (openssl s_server, security level 0 so
# that OpenSSL itself offers it) must fail in the handshake, not after it
port=$(tb_free_port)
openssl s_server -quiet -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -cert "$PKI/good.pem" \
	-key "$PKI/good.key" -accept "127.0.0.1:$port" </dev/null >"$TB_DIR/s_server.log" 2>&1 &
S_SERVER=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done
run_send --url "smtps://127.0.0.1:$port" --ca "$CA" --to "$TO" --timeout 5
is_rc SMTP "smtps to a TLS 1.1-only server: rc=SMTP"
like "$ERR$OUT" "TLS handshake" "... refused in the handshake (no TLS 1.1)"
kill "$S_SERVER" 2>/dev/null
wait "$S_SERVER" 2>/dev/null

# --- AUTH
mark auth_tls
run_send --url "$(url auth_tls)" --starttls yes --ca "$CA" --user "$SMTP_USER" \
	--password-file "$TB_DIR/smtp.pw" --to "$TO"
is_rc OK "AUTH over STARTTLS: delivered"
like "$(since auth_tls)" "auth ok user=$SMTP_USER mech=[A-Z]+ tls=yes" "... authenticated over TLS"
like "$(since auth_tls)" "mail from=$FROM tls=yes auth=yes" "... then MAIL"
mark auth_tls
run_send --url "$(url auth_tls)" --starttls auto --ca "$CA" --user "$SMTP_USER" \
	--password-file "$TB_DIR/wrong.pw" --to "$TO"
is_rc SMTP_REFUSED "AUTH with a wrong password: rc=SMTP_REFUSED"
like "$(since auth_tls)" "auth failed user=$SMTP_USER" "... the sink refused it"
is "$(stored_since auth_tls)/$(nlines auth_tls 'mail from=')" 0/0 "... no MAIL, nothing stored"
run_send --url "$(url auth_tls)" --starttls yes --ca "$CA" --user "$SMTP_USER" \
	--password-file "$TB_DIR/smtp.pw" --probe
is_rc OK "probe with AUTH: ok"
run_send --url "$(url auth_tls)" --starttls yes --ca "$CA" --user "$SMTP_USER" \
	--password-file "$TB_DIR/wrong.pw" --probe
is_rc SMTP_REFUSED "probe with a wrong password: rc=SMTP_REFUSED"

mark auth_plain
run_send --url "$(url auth_plain)" --starttls auto --user "$SMTP_USER" \
	--password-file "$TB_DIR/smtp.pw" --to "$TO" --to "b@example.org"
is_rc OK "AUTH in the clear to a loopback server (no PIPELINING): delivered"
like "$(since auth_plain)" "auth ok user=$SMTP_USER mech=[A-Z]+ tls=no" "... authenticated without TLS"

# catches a client that sends its password in the clear over the network
if [[ -n "$REMOTE_IP" ]]; then
	mark auth_remote
	run_send --url "smtp://$REMOTE_IP:${SRV_PORT[auth_remote]}" --starttls auto \
		--user "$SMTP_USER" --password-file "$TB_DIR/smtp.pw" --to "$TO"
	like "$RC" '^SMTP' "AUTH offered in the clear by $REMOTE_IP (not loopback): refused (rc=$RC)"
	is "$(nlines auth_remote '^smtp_sink: auth ')" 0 "... no credentials were sent"
	is "$(stored_since auth_remote)" 0 "... nothing stored"
else
	skip "no non-loopback address to listen on" 3
fi

# --------------------------------------------------------------------------
# (b) the scripted server

# start_script SCENARIO [OPTIONS]: (re)start smtp_script.py as server
# "script" (on a new port; its log goes on in $TB_DIR/script/log)
start_script() {
	srv_stop script
	srv_start script script --scenario "$@"
	mark script
}
# nscript ERE: matching lines in the script's log
nscript() { nlines script "$1"; }

# catches a client that waits for each reply where PIPELINING is offered
start_script pipelining-required
run_send --url "$(url script)" --to "$TO" --to b@example.org
is_rc OK "PIPELINING offered: delivered"
is "$(nscript '^smtp_script: (not )?pipelined$')" "1" "... one transaction seen by the script"
is "$(nscript '^smtp_script: pipelined$')" 1 "... MAIL, RCPT, RCPT and DATA sent in one go"

# catches a client that pipelines when the server did not offer it
start_script no-pipelining
run_send --url "$(url script)" --to "$TO" --to b@example.org
is_rc OK "no PIPELINING: delivered"
is "$(nscript '^smtp_script: sent ahead$')/$(nscript '^smtp_script: waited$')" 0/3 "... the client waited for the reply to MAIL and to each RCPT"

start_script multiline
run_send --url "$(url script)" --to "$TO"
is_rc OK "multi-line greeting, EHLO (in pieces) and replies, a bare '250': delivered"
is "$(nscript 'message received')" 1 "... the script got the message"

start_script overlong
run_send --url "$(url script)" --to "$TO"
is_rc SMTP "a 5000-byte reply line: rc=SMTP"
is "$(nscript 'cmd MAIL')" 0 "... and no MAIL"

# a malformed reply is an error at once, not a wait for smtp_timeout
for at in greeting ehlo mail; do
	start_script garbage --garbage-at $at
	run_send --url "$(url script)" --to "$TO" --timeout 30
	is_rc SMTP "a reply that is not 'ddd text' to the $at: rc=SMTP"
	ok $((MS < 15000 ? 0 : 1)) "... at once, not after smtp_timeout 30 (${MS} ms)"
	is "$(nscript 'cmd DATA')" 0 "... no DATA"
done

start_script greeting-421
run_send --url "$(url script)" --to "$TO"
is_rc SMTP_REFUSED "a 421 greeting: rc=SMTP_REFUSED"
like "$OUT" "err=.*421" "... err quotes it"
is "$(nscript 'cmd (EHLO|HELO|MAIL)')" 0 "... the client said nothing more (maybe QUIT)"

start_script close-in-data
run_send --url "$(url script)" --to "$TO"
is_rc SMTP "the server closes inside DATA: rc=SMTP"
{
	printf 'Subject: big\r\n\r\n'
	yes 'a body line of sixty-four bytes, to fill the socket buffers....' | head -n 16384 | sed 's/$/\r/'
} >"$TB_DIR/big.eml"
start_script close-in-data
run_send --url "$(url script)" --to "$TO" --message "$TB_DIR/big.eml"
is_rc SMTP "... also while the client is still writing a 1 MiB message: rc=SMTP"
is "$ST" 1 "... smtp_send ran to its end (no death by SIGPIPE)"

# catches a client that reads the plaintext "250 injected" after the TLS
# handshake as the server's answer (CVE-2011-1575-like response injection)
start_script starttls-inject "${GOOD[@]}"
run_send --url "$(url script)" --starttls yes --ca "$CA" --to "$TO"
is_rc SMTP "bytes after the 220 to STARTTLS: rc=SMTP"
wait_log script 'mail-sent='
is "$(nscript 'mail-sent=no')/$(nscript 'cmd MAIL')" 1/0 "... MAIL never sent"
is "$(nscript 'tls handshake ok')" 0 "... no TLS handshake either"

# catches a client that, having got 354 after a refused RCPT, ends the
# DATA with "." (an empty or partial message delivered to the others)
start_script rcpt-partial
run_send --url "$(url script)" --to "$TO" --to b@example.org
is_rc SMTP_REFUSED "second recipient refused (550): rc=SMTP_REFUSED"
like "$OUT" "err=.*550" "... err quotes the 550"
wait_log script 'connection 1 closed'
is "$(nscript 'empty message delivered|body received|message received')" 0 "... no message, not even an empty one"

# catches a pool that hands out a connection the server has closed (or,
# with --idle-421, one whose only news is a 421): such a mail fails
for v in "" --idle-421; do
	start_script idle-close $v
	run_send --url "$(url script)" --to "$TO" --count 2 --pause-ms 1200
	is "$RCS" "OK OK" "the server closes the idle connection${v:+ (421 first)}: the next mail still goes"
	is "$(nscript 'message received')/$(nscript 'idle close')" 2/1 "... both messages arrived, the first connection was closed idle"
	like "$(since script)" "connection 2 from" "... the second on a new connection"
done

start_script dotstuff --out "$TB_DIR/raw.data"
run_send --url "$(url script)" --to "$TO" --message "$TB_DIR/dots.eml"
is_rc OK "dot-stuffing: delivered"
{ sed 's/^\./../' "$TB_DIR/dots.eml"; printf '.\r\n'; } >"$TB_DIR/raw.expected"
if cmp -s "$TB_DIR/raw.data" "$TB_DIR/raw.expected"; then ok 0 "... on the wire: every line beginning with '.' doubled, then <CRLF>.<CRLF>, nothing else"; else
	ok 1 "... on the wire: every line beginning with '.' doubled, then <CRLF>.<CRLF>, nothing else"
	diag "$(diff <(od -c "$TB_DIR/raw.expected") <(od -c "$TB_DIR/raw.data" 2>&1) | head -n 20)"
fi

# catches a client whose smtp_timeout bounds each read, not the dialogue
start_script slow
run_send --url "$(url script)" --to "$TO" --timeout 2
is_rc SMTP "every reply 1 s late, smtp_timeout 2: rc=SMTP (the whole dialogue needs 7 s)"
ok $((MS < 6000 ? 0 : 1)) "... given up in time (${MS} ms)"

is "$SAN_REPORTS" 0 "no sanitizer report from any run of the driver"

tap_done
