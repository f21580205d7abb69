#!/bin/bash
# Build mailotp and run its test suite (unit tests + integration tests on
# the throwaway slapd / SMTP sink / mailotpd test-bed).
#
#   scripts/test.sh              normal run: -Werror build in build/main, make check
#   scripts/test.sh --asan       the suite under ASan+UBSan (build/asan)
#   scripts/test.sh --distcheck  make distcheck (from build/main)
#   scripts/test.sh --all        all three: what CI (.ci/run) runs
#   options combine (--asan --distcheck); -j N sets make's jobs (default 2);
#   --no-deps skips scripts/setup-deps.sh; CHECK_TIMEOUT=S bounds each
#   make check / distcheck (default 900 s).
#
# autoreconf runs once in the source tree; every build is out of tree under
# build/, so the source tree stays clean for `make distcheck`.  The last
# line is "N passed, N failed" (automake's # PASS: and # FAIL:+# ERROR:+
# # XPASS: summed over the runs; a phase that fails before its tests report
# counts as one failure); the exit status is non-zero when anything failed.
# The .log of every failing test is printed.
set -euo pipefail

usage() {
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

JOBS=2
DEPS=1
run_normal=0 run_asan=0 run_distcheck=0
while (($# > 0)); do
	case "$1" in
	--all) run_normal=1 run_asan=1 run_distcheck=1 ;;
	--normal) run_normal=1 ;;
	--asan) run_asan=1 ;;
	--distcheck) run_distcheck=1 ;;
	--no-deps) DEPS=0 ;;
	-j) JOBS=${2:?-j needs a number}; shift ;;
	-j*) JOBS=${1#-j} ;;
	-h | --help) usage 0 ;;
	*) echo "test.sh: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
((run_normal + run_asan + run_distcheck > 0)) || run_normal=1

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
cd "$SRC"
mkdir -p "$BUILD"

# plain, parseable test output; no prompts; sanitizer reports with stacks
export AM_COLOR_TESTS=no
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LC_ALL=C.UTF-8
# one make check may not take longer than this (a hung test must not eat
# CI's whole time budget): seconds
CHECK_TIMEOUT=${CHECK_TIMEOUT:-900}

T_START=$(date +%s)
PASSED=0
FAILED=0
declare -a SUMMARY=()
declare -a FAILED_LOGS=()

phase_begin() {
	PHASE=$1
	PHASE_T0=$(date +%s)
	printf '\n==== %s ====\n' "$PHASE"
}

phase_end() { # STATUS [NOTE]
	local dt=$(($(date +%s) - PHASE_T0))
	local line
	line=$(printf '%-22s %4ss  %s' "$PHASE" "$dt" "${2:-}")
	SUMMARY+=("$line")
	printf '==== %s: %s (%ss) ====\n' "$PHASE" "$1" "$dt"
}

# add_counts OUTPUT_FILE: sum automake's test-suite summaries in the file;
# sets COUNTED=1 when at least one summary was there
add_counts() {
	local f=$1 p=0 x=0
	COUNTED=0
	if grep -q '^# TOTAL:' "$f"; then
		COUNTED=1
		p=$(awk '/^# PASS:/ { s += $3 } END { print s + 0 }' "$f")
		x=$(awk '/^# (FAIL|ERROR|XPASS):/ { s += $3 } END { print s + 0 }' "$f")
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + x))
	C_PASS=$p C_FAIL=$x
}

# collect_failed_logs DIR: remember the .log of every test whose .trs says
# FAIL, ERROR or XPASS
collect_failed_logs() {
	local dir=$1 trs
	[[ -d "$dir/tests" ]] || return 0
	while IFS= read -r trs; do
		if grep -qE '^:global-test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			FAILED_LOGS+=("${trs%.trs}.log")
		fi
	done < <(find "$dir/tests" -maxdepth 2 -name '*.trs' | sort)
}

# collect_unfinished_logs DIR: the .log of every test that has no .trs
# (it was still running when make check was stopped)
collect_unfinished_logs() {
	local dir=$1 log
	while IFS= read -r log; do
		[[ "$log" == */test-suite.log || -f "${log%.log}.trs" ]] && continue
		echo "     unfinished: ${log#"$dir"/}"
		FAILED_LOGS+=("$log")
	done < <(find "$dir/tests" -maxdepth 2 -name '*.log' | sort)
}

# run_logged FILE CMD...: run CMD, output to the terminal and to FILE
run_logged() {
	local f=$1 rc
	shift
	# the command's own status, not tee's
	"$@" </dev/null 2>&1 | tee "$f" && rc=0 || rc=${PIPESTATUS[0]}
	return "$rc"
}

# ---------------------------------------------------------------------------
if ((DEPS)); then
	phase_begin "dependencies"
	if "$SRC/scripts/setup-deps.sh"; then
		phase_end ok
	else
		phase_end FAILED "apt-get failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

phase_begin "autoreconf"
if [[ -f "$SRC/config.status" ]]; then
	echo "test.sh: $SRC is configured in-tree (config.status); out-of-tree builds"
	echo "need a clean source tree: run 'make distclean' there first."
	phase_end FAILED "source tree configured in-tree"
	echo "0 passed, 1 failed"
	exit 1
fi
if autoreconf -fi >"$BUILD/autoreconf.out" 2>&1; then
	phase_end ok
else
	cat "$BUILD/autoreconf.out"
	phase_end FAILED
	echo "0 passed, 1 failed"
	exit 1
fi

# build_and_check NAME DIR CONFIGURE_ARGS...
build_and_check() {
	local name=$1 dir=$2
	shift 2
	# a failed distcheck leaves read-only directories behind
	[[ ! -d "$dir" ]] || chmod -R u+w "$dir"
	rm -rf "$dir"
	mkdir -p "$dir"

	phase_begin "$name: configure"
	if ! (cd "$dir" && "$SRC/configure" "$@" >configure.out 2>&1); then
		tail -n 40 "$dir/configure.out"
		echo "(full output: $dir/configure.out, $dir/config.log)"
		phase_end FAILED
		FAILED=$((FAILED + 1))
		return 0
	fi
	phase_end ok "$*"

	phase_begin "$name: make"
	if ! run_logged "$dir/make.out" make -C "$dir" -j"$JOBS"; then
		phase_end FAILED "build failed"
		FAILED=$((FAILED + 1))
		return 0
	fi
	phase_end ok

	phase_begin "$name: make check"
	local rc=0
	run_logged "$dir/check.out" timeout --kill-after=30 "$CHECK_TIMEOUT" \
		make -C "$dir" -j"$JOBS" check || rc=$?
	add_counts "$dir/check.out"
	collect_failed_logs "$dir"
	if ((rc == 124 || rc == 137)); then
		echo "---- make check did not finish within $CHECK_TIMEOUT s (CHECK_TIMEOUT); stopped."
		collect_unfinished_logs "$dir"
		FAILED=$((FAILED + 1))
		phase_end FAILED "timed out after $CHECK_TIMEOUT s"
	elif ((COUNTED == 0)); then
		FAILED=$((FAILED + 1))
		echo "---- make check stopped before the tests reported:"
		grep -E '\*\*\*|error:' "$dir/check.out" | head -n 20 || true
		phase_end FAILED "no test summary (the tests did not build or run)"
	elif ((rc != 0 || C_FAIL > 0)); then
		# make check failing with no failed test still counts once
		((C_FAIL > 0)) || FAILED=$((FAILED + 1))
		phase_end FAILED "$C_PASS passed, $C_FAIL failed"
	else
		phase_end ok "$C_PASS passed, $C_FAIL failed"
	fi
}

if ((run_normal || run_distcheck)); then
	build_and_check "main" "$BUILD/main" --enable-werror
fi

# check_phase NAME LOG CMD...: a step that passes or fails as a whole
# (static analysis, the short fuzzing run): one pass or one failure.
check_phase() {
	local name=$1 log=$2 rc=0
	shift 2
	phase_begin "$name"
	run_logged "$log" "$@" || rc=$?
	if ((rc == 0)); then
		PASSED=$((PASSED + 1))
		phase_end ok "1 passed, 0 failed"
	else
		FAILED=$((FAILED + 1))
		FAILED_LOGS+=("$log")
		phase_end FAILED "0 passed, 1 failed"
	fi
}

if ((run_normal)) && [[ -f "$BUILD/main/Makefile" ]]; then
	check_phase "cppcheck + clang-tidy" "$BUILD/main/analyze.out" \
		"$SRC/scripts/analyze.sh" -b "$BUILD/main" -j "$JOBS"
	# every libFuzzer target on 20,000 inputs from a fixed seed (repeatable);
	# `make fuzz` searches longer
	check_phase "fuzz (fixed seed)" "$BUILD/main/fuzz.out" \
		timeout --kill-after=30 900 make -C "$BUILD/main" fuzz-ci
fi

if ((run_distcheck)); then
	phase_begin "distcheck"
	rc=0
	if [[ -f "$BUILD/main/Makefile" ]]; then
		run_logged "$BUILD/main/distcheck.out" timeout --kill-after=30 "$CHECK_TIMEOUT" \
			make -C "$BUILD/main" -j"$JOBS" \
			distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror || rc=$?
		add_counts "$BUILD/main/distcheck.out"
		# on failure the distcheck tree is kept: mailotp-*/_build/sub
		for d in "$BUILD"/main/mailotp-*/_build/sub; do
			[[ -d "$d" ]] && collect_failed_logs "$d"
		done
	else
		rc=1
		C_PASS=0 C_FAIL=0
		echo "no configured build/main to run distcheck from"
	fi
	if ((rc != 0)); then
		((C_FAIL > 0)) || FAILED=$((FAILED + 1))
		if ((COUNTED == 0)); then
			echo "---- make distcheck failed before its tests; last lines:"
			grep -nE 'Error|error:|No rule|missing|not found' "$BUILD/main/distcheck.out" | tail -n 20 || true
		fi
		phase_end FAILED "$C_PASS passed, $C_FAIL failed"
	else
		phase_end ok "$C_PASS passed, $C_FAIL failed"
	fi
fi

if ((run_asan)); then
	# pam_wrapper dlopen()s libpam with RTLD_DEEPBIND, which the ASan
	# runtime refuses ("incompatible with sanitizer runtime"), so every
	# PAM login of the suite would fail. pam_wrapper 1.1.4 turns
	# RTLD_DEEPBIND off on this variable (its name is uid_wrapper's).
	export UID_WRAPPER_DISABLE_DEEPBIND=1
	build_and_check "asan" "$BUILD/asan" --enable-sanitizers
fi

# ---------------------------------------------------------------------------
if ((${#FAILED_LOGS[@]} > 0)); then
	printf '\n==== logs of the failing tests ====\n'
	for f in "${FAILED_LOGS[@]}"; do
		printf '\n---- %s\n' "$f"
		cat "$f" 2>/dev/null || echo "(missing)"
	done
fi

printf '\n==== summary (%ss in all) ====\n' "$(($(date +%s) - T_START))"
printf '%s\n' "${SUMMARY[@]}"
echo
echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
