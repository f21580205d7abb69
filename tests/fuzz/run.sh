#!/bin/bash
# Runs every libFuzzer target of tests/fuzz/ for SECONDS each:
#
#   tests/fuzz/run.sh SECONDS [TARGET...]
#
# Builds first (tests/fuzz/build.sh into $FUZZ_BIN, default
# $top_builddir/tests/fuzz/bin). Each target starts from a temporary copy
# of tests/fuzz/corpus/TARGET/ plus tests/fuzz/regressions/TARGET/, so the
# committed seeds stay small, and runs with
#   -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048
# Crash, leak, timeout and out-of-memory reproducers are kept in
# $FUZZ_ARTIFACTS (default $FUZZ_BIN/artifacts) and their paths printed;
# minimise one with
#   $FUZZ_BIN/TARGET -minimize_crash=1 -max_total_time=60 REPRODUCER
# and, once fixed, add it to tests/fuzz/regressions/TARGET/.
# FUZZ_KEEP_CORPUS=DIR keeps each grown corpus in DIR/TARGET.
# Exit 0 when no target failed, 1 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
secs=${1:-}
if [[ ! "$secs" =~ ^[0-9]+$ ]] || ((secs < 1)); then
	echo "usage: $0 SECONDS [TARGET...]" >&2
	exit 2
fi
shift
bin=${FUZZ_BIN:-${top_builddir:-$top_srcdir}/tests/fuzz/bin}
art=${FUZZ_ARTIFACTS:-$bin/artifacts}

if ! "$here/build.sh" "$bin" "$@"; then
	echo "run.sh: build failed" >&2
	exit 1
fi
bin=$(cd "$bin" && pwd)
mkdir -p "$art"
art=$(cd "$art" && pwd)

targets=("$@")
if ((${#targets[@]} == 0)); then
	for f in "$here"/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mailotp-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=()
printf '%-18s %10s %9s %7s %s\n' target execs exec/s cov result
for t in "${targets[@]}"; do
	corpus="$work/corpus-$t"
	mkdir -p "$corpus"
	for d in "$here/corpus/$t" "$here/regressions/$t"; do
		[[ -d "$d" ]] && find "$d" -maxdepth 1 -type f -exec cp {} "$corpus/" \;
	done
	log="$work/$t.log"
		# FUZZ_RUNS (with FUZZ_SEED) makes a run repeatable: the same inputs on
	# every machine, so CI fails only when the code changed, never because a
	# random search happened to go further; SECONDS then only caps it.
	extra=()
	[[ -n "${FUZZ_RUNS:-}" ]] && extra=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
	"$bin/$t" -max_total_time="$secs" "${extra[@]}" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$art/$t-" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	if ((rc == 0)); then
		result=ok
	else
		result=FAILED
		failed+=("$t")
	fi
	printf '%-18s %10s %9s %7s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$result"
	if ((rc != 0)); then
		grep -E 'FUZZ PROPERTY FAILED|^  [^ ]|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)|runtime error|SUMMARY' \
			"$log" | head -n 12 | sed 's/^/    /'
		grep -o 'Test unit written to .*' "$log" | sed "s|Test unit written to |    reproducer: |"
		cp "$log" "$art/$t.log"
		echo "    full log: $art/$t.log"
	fi
	if [[ -n "${FUZZ_KEEP_CORPUS:-}" ]]; then
		mkdir -p "$FUZZ_KEEP_CORPUS/$t"
		cp "$corpus"/* "$FUZZ_KEEP_CORPUS/$t/" 2>/dev/null || true
	fi
done
if ((${#failed[@]} > 0)); then
	echo "run.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
	exit 1
fi
echo "run.sh: ${#targets[@]} target(s), ${secs} s each, no crash"
