# shellcheck shell=bash
# PAM through the real libpam for the integration tests: a service
# directory under $TB_DIR for pam_wrapper, and `pam_run`, which runs
# tests/pam_driver with a scripted conversation and leaves its transcript
# in $PAM_OUT (one line per message, then "RESULT op PAM_...").
#
#   pam_service NAME "auth required $PAM_MODULE socket=$TB_PAM_SOCKET" ...
#   pam_run NAME alice auth 'Alice-Passw0rd!' @CODE:alice@example.org

PAM_MODULE="$top_builddir/pam_module/.libs/pam_mailotp.so"
PAM_DRIVER="$top_builddir/tests/pam_driver"
PAM_WRAPPER_LIB=$(ldconfig -p 2>/dev/null | awk '/libpam_wrapper\.so / { print $NF; exit }')
: "${PAM_WRAPPER_LIB:=libpam_wrapper.so}"

# pam_service NAME LINE...: write $TB_DIR/pam.d/NAME (and an "other" that denies)
pam_service() {
	local name=$1
	shift
	mkdir -p "$TB_DIR/pam.d"
	printf '%s\n' "$@" >"$TB_DIR/pam.d/$name"
	[[ -f "$TB_DIR/pam.d/other" ]] || printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$TB_DIR/pam.d/other"
}

# pam_std_services: "mailotp" (auth + account) and "otponly" (otp_only)
pam_std_services() {
	pam_service mailotp \
		"auth required $PAM_MODULE socket=$TB_PAM_SOCKET" \
		"account required $PAM_MODULE socket=$TB_PAM_SOCKET"
	pam_service otponly \
		"auth required $PAM_MODULE socket=$TB_PAM_SOCKET otp_only"
}

# pam_wrapped DRIVER [ARG...]: tests/pam_driver under pam_wrapper, on this
# test's service files ($TB_DIR/pam.d). pam_wrapper copies the service
# files into a directory /tmp/pam.X that it picks by lstat, then mkdir (62
# names; a failed mkdir is only logged), so two processes starting at once
# can share one and read each other's "mailotp" service, that is the other
# test's socket: seen in CI as a login answered by another test's daemon.
# So each start is taken under a machine-wide flock, held from before the
# preload until the driver's pam_start has read its service file (the
# driver releases it at its first conversation, or exits), and the
# driver's code command runs without pam_wrapper. Runs stay concurrent
# otherwise.
PAM_WRAPPER_LOCK=/tmp/mailotp-pam_wrapper.lock
pam_wrapped() {
	(
		# any user's tests share it: made writable by all once, then
		# opened read-only (enough for flock; no O_CREAT on a file of
		# another user in sticky /tmp)
		[[ -e "$PAM_WRAPPER_LOCK" ]] || (umask 0 && : >>"$PAM_WRAPPER_LOCK") 2>/dev/null
		exec 9<"$PAM_WRAPPER_LOCK" && flock -w 600 9 || exit 1
		exec env PAMDRV_LOCK_FD=9 PAM_WRAPPER=1 PAM_WRAPPER_DISABLE_DEEPBIND=1 \
			UID_WRAPPER_DISABLE_DEEPBIND=1 PAM_WRAPPER_SERVICE_DIR="$TB_DIR/pam.d" \
			LD_PRELOAD="$PAM_WRAPPER_LIB" \
			ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0" "$@"
	)
}

# pam_run SERVICE USER OPS [ANSWER...]: transcript in $PAM_OUT, result of
# the last op run in $PAM_RESULT, wall time in ms in $PAM_MS.
pam_run() {
	local t0 t1
	t0=$(date +%s%N)
	PAM_OUT=$(PAMDRV_CODE_CMD="$TB_PYTHON $TB_SRCDIR/mailtool.py code $TB_MAILDIR --wait 20" \
		pam_wrapped "$PAM_DRIVER" "$@" 2>>"$TB_DIR/pam_driver.err") || true
	t1=$(date +%s%N)
	PAM_MS=$(((t1 - t0) / 1000000))
	PAM_RESULT=$(printf '%s\n' "$PAM_OUT" | awk '/^RESULT / { r = $3 } END { print r }')
}

# pam_need_private_etc PROGRAM: skip the whole test unless the real, not
# instrumented PROGRAM (sshd, sudo, Apache) can load the built module
# through the /etc/pam.d of a private mount namespace: root, unshare -m
# permitted, and a module built without sanitizers (PROGRAM cannot dlopen
# one; the PAM paths are covered under ASan by the pam_wrapper tests).
pam_need_private_etc() {
	((EUID == 0)) || skip_all "needs root (a private mount namespace over /etc for $1); CI runs as root"
	command -v unshare >/dev/null 2>&1 || skip_all "no unshare (util-linux)"
	unshare --mount --propagation private true 2>/dev/null ||
		skip_all "unshare --mount is not permitted here (needs CAP_SYS_ADMIN)"
	[[ -f "$PAM_MODULE" ]] || bail_out "module not built: $PAM_MODULE"
	! ldd "$PAM_MODULE" 2>/dev/null | grep -q 'libasan\|libubsan' ||
		skip_all "pam_mailotp.so is built with sanitizers, which $1 cannot load"
}
