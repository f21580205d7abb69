#!/bin/bash
# Builds every libFuzzer target of tests/fuzz/ into OUTDIR, straight from
# the sources with clang (no autotools, no configure):
#
#   tests/fuzz/build.sh [OUTDIR] [TARGET...]
#
# OUTDIR defaults to tests/fuzz/bin under the top build directory
# ($top_builddir, else the source tree). With TARGET names (fuzz_config,
# ...) only those are built.
#
# lib/*.c is compiled once into OUTDIR/obj with the fuzzer's coverage
# instrumentation, ASan and UBSan (every UBSan finding aborts:
# -fno-sanitize-recover=all, so it is a crash libFuzzer keeps), archived
# into OUTDIR/libmailotp_fuzz.a, and each tests/fuzz/fuzz_*.c is linked
# against it (the linker takes only the objects a target needs).
# Objects are rebuilt when their source or any header is newer.
#
# Needs: clang (Debian's clang-14 with libclang-rt-14-dev, which has
# libFuzzer), pkg-config and the -dev packages of libsodium, libldap and
# GnuTLS (lib/netconn.c, lib/smtp.c). Exit 2 when clang cannot link a
# libFuzzer target (the callers turn that into a skip).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/../.." && pwd)
out=${1:-${top_builddir:-$top_srcdir}/tests/fuzz/bin}
shift || true
mkdir -p "$out/obj" "$out/include"
out=$(cd "$out" && pwd)

CC=${FUZZ_CC:-clang}
SAN="address,undefined"
CFLAGS_COMMON=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
	-D_GNU_SOURCE -I"$out/include" -I"$top_srcdir/include" -I"$top_srcdir/lib")
# shellcheck disable=SC2207
PKG_CFLAGS=($(pkg-config --cflags libsodium ldap gnutls))
# shellcheck disable=SC2207
PKG_LIBS=($(pkg-config --libs libsodium ldap gnutls))

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "build.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
	exit 2
fi
# libFuzzer present? (Debian: libclang-rt-14-dev)
probe="$out/obj/probe"
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe.c"
if ! "$CC" -fsanitize=fuzzer,$SAN "$probe.c" -o "$probe" 2>"$probe.log"; then
	echo "build.sh: $CC cannot link a libFuzzer target:" >&2
	cat "$probe.log" >&2
	exit 2
fi

# autoconfig.h stands in for configure's output: lib/*.c include it first
# for _GNU_SOURCE, which the command line already defines.
cat >"$out/include/autoconfig.h.tmp" <<'EOF'
/* written by tests/fuzz/build.sh: the fuzz build does not run configure */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define PACKAGE "mailotp"
#define PACKAGE_NAME "mailotp"
#define PACKAGE_VERSION "fuzz"
#define PACKAGE_STRING "mailotp fuzz"
EOF
if cmp -s "$out/include/autoconfig.h.tmp" "$out/include/autoconfig.h"; then
	rm -f "$out/include/autoconfig.h.tmp"
else
	mv -f "$out/include/autoconfig.h.tmp" "$out/include/autoconfig.h"
fi

# newest header: an object older than it is rebuilt
newest_hdr=$(ls -t "$top_srcdir"/lib/*.h "$top_srcdir"/include/mailotp/*.h "$here"/*.h \
	"$out/include/autoconfig.h" | head -n 1)

compile_one() { # SRC OBJ
	"$CC" -fsanitize=fuzzer-no-link,$SAN "${CFLAGS_COMMON[@]}" "${PKG_CFLAGS[@]}" \
		-c "$1" -o "$2.tmp" && mv -f "$2.tmp" "$2"
}

objs=()
pids=()
jobs_max=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
for src in "$top_srcdir"/lib/*.c; do
	obj="$out/obj/$(basename "${src%.c}").o"
	objs+=("$obj")
	if [[ ! -e "$obj" || "$src" -nt "$obj" || "$newest_hdr" -nt "$obj" ]]; then
		compile_one "$src" "$obj" &
		pids+=($!)
		if ((${#pids[@]} >= jobs_max)); then
			wait "${pids[0]}"
			pids=("${pids[@]:1}")
		fi
	fi
done
for p in "${pids[@]}"; do wait "$p"; done

lib="$out/libmailotp_fuzz.a"
rebuild_lib=0
[[ -e "$lib" ]] || rebuild_lib=1
for o in "${objs[@]}"; do [[ "$o" -nt "$lib" ]] && rebuild_lib=1; done
if ((rebuild_lib)); then
	rm -f "$lib"
	ar rcs "$lib" "${objs[@]}"
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
	for f in "$here"/fuzz_*.c; do targets+=("$(basename "${f%.c}")"); done
fi
for t in "${targets[@]}"; do
	src="$here/$t.c"
	[[ -e "$src" ]] || {
		echo "build.sh: no target $t ($src)" >&2
		exit 1
	}
	bin="$out/$t"
	if [[ ! -e "$bin" || "$src" -nt "$bin" || "$lib" -nt "$bin" || "$newest_hdr" -nt "$bin" ]]; then
		"$CC" -fsanitize=fuzzer,$SAN "${CFLAGS_COMMON[@]}" "${PKG_CFLAGS[@]}" \
			"$src" "$lib" "${PKG_LIBS[@]}" -lpthread -o "$bin.tmp"
		mv -f "$bin.tmp" "$bin"
	fi
done
echo "build.sh: ${#targets[@]} target(s) in $out" >&2
