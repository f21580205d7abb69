# shellcheck shell=bash
# TAP helpers for the mailotp test scripts, sourced by testbed.sh
# (https://testanything.org/tap-specification.html).  Usable under set -e:
# they never fail themselves; tap_done sets the script's exit status.

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=''
TAP_OUT=''

# tap_plan N: print the plan 1..N first
tap_plan() {
	TAP_PLANNED=$1
	printf '1..%s\n' "$1"
}

# diag MSG...: a TAP comment (every line prefixed with #)
diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

_tap_result() {
	local pass=$1 name=$2
	TAP_N=$((TAP_N + 1))
	if ((pass)); then
		printf 'ok %d - %s\n' "$TAP_N" "$name"
	else
		printf 'not ok %d - %s\n' "$TAP_N" "$name"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# ok STATUS NAME: passes when STATUS is 0, e.g.  cmd; ok $? "cmd works"
ok() {
	local st=$1
	shift
	if [[ "$st" == 0 ]]; then
		_tap_result 1 "$*"
	else
		_tap_result 0 "$*"
		diag "  exit status: $st"
	fi
	return 0
}

# is GOT EXPECTED NAME: string equality
is() {
	if [[ "$1" == "$2" ]]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		diag "       got: '$1'"
		diag "  expected: '$2'"
	fi
	return 0
}

# like GOT REGEX NAME / unlike GOT REGEX NAME: bash ERE match (=~)
like() {
	if [[ "$1" =~ $2 ]]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		diag "       got: '$1'"
		diag "  expected to match: /$2/"
	fi
	return 0
}
unlike() {
	if [[ "$1" =~ $2 ]]; then
		_tap_result 0 "$3"
		diag "       got: '$1'"
		diag "  expected not to match: /$2/"
	else
		_tap_result 1 "$3"
	fi
	return 0
}

# run_ok NAME CMD... / run_fails NAME CMD...: run CMD (output kept in
# TAP_OUT, shown on failure); pass when it exits 0 / non-zero.
run_ok() {
	local name=$1 st=0
	shift
	TAP_OUT=$("$@" 2>&1) || st=$?
	if ((st == 0)); then
		_tap_result 1 "$name"
	else
		_tap_result 0 "$name"
		diag "  command: $* (exit $st)"
		diag "$TAP_OUT"
	fi
	return 0
}
run_fails() {
	local name=$1 st=0
	shift
	TAP_OUT=$("$@" 2>&1) || st=$?
	if ((st != 0)); then
		_tap_result 1 "$name"
	else
		_tap_result 0 "$name"
		diag "  command succeeded, expected a failure: $*"
		diag "$TAP_OUT"
	fi
	return 0
}

# skip REASON [N]: N (1) tests skipped
skip() {
	local i
	for ((i = 0; i < ${2:-1}; i++)); do
		TAP_N=$((TAP_N + 1))
		printf 'ok %d # SKIP %s\n' "$TAP_N" "$1"
	done
}

# skip_all REASON: skip the whole script (before any plan or test)
skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

# bail_out REASON: stop the whole test run now
bail_out() {
	printf 'Bail out! %s\n' "$1"
	exit 1
}

# tap_done: the plan if none was given; exit 1 when a test failed or the
# count does not match the plan, 0 otherwise.
tap_done() {
	if [[ -z "$TAP_PLANNED" ]]; then
		printf '1..%d\n' "$TAP_N"
	elif ((TAP_PLANNED != TAP_N)); then
		diag "planned $TAP_PLANNED tests but ran $TAP_N"
		exit 1
	fi
	if ((TAP_FAILED > 0)); then
		diag "failed $TAP_FAILED of $TAP_N"
		exit 1
	fi
	exit 0
}
