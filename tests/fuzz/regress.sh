#!/bin/bash
# Replays every file of tests/fuzz/regressions/TARGET/ (crashers that were
# found and fixed) and of tests/fuzz/corpus/TARGET/ (the seeds) through
# each libFuzzer target once; TAP output, for `make check`.
#
#   tests/fuzz/regress.sh
#
# Builds with tests/fuzz/build.sh into $FUZZ_BIN (default
# $top_builddir/tests/fuzz/bin). Skips (TAP "1..0 # SKIP") when clang
# cannot link a libFuzzer target.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
bin=${FUZZ_BIN:-${top_builddir:-$top_srcdir}/tests/fuzz/bin}

build_log=$(mktemp "${TMPDIR:-/tmp}/mailotp-fuzz-build.XXXXXX")
trap 'rm -f "$build_log"' EXIT
"$here/build.sh" "$bin" >"$build_log" 2>&1
rc=$?
if ((rc == 2)); then
	echo "1..0 # SKIP clang with libFuzzer not available (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi

targets=()
for f in "$here"/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
if ((rc != 0)); then
	echo "1..1"
	echo "not ok 1 - build the fuzz targets"
	sed 's/^/# /' "$build_log"
	exit 1
fi

echo "1..${#targets[@]}"
n=0
fails=0
for t in "${targets[@]}"; do
	n=$((n + 1))
	files=()
	for d in "$here/regressions/$t" "$here/corpus/$t"; do
		[[ -d "$d" ]] || continue
		while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -maxdepth 1 -type f -print0 | sort -z)
	done
	if ((${#files[@]} == 0)); then
		echo "ok $n - $t # SKIP no inputs"
		continue
	fi
	out=$("$bin/$t" -timeout=10 -rss_limit_mb=2048 "${files[@]}" 2>&1)
	if (($? == 0)); then
		echo "ok $n - $t: ${#files[@]} input(s)"
	else
		fails=$((fails + 1))
		echo "not ok $n - $t"
		grep -E 'Running:|FUZZ PROPERTY FAILED|^  [^ ]|ERROR:|runtime error|SUMMARY' <<<"$out" |
			tail -n 20 | sed 's/^/# /'
	fi
done
((fails == 0))
