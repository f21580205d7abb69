#!/bin/bash
# Hardening of the built binaries, read back with readelf (what configure
# asked for is only a wish until the linker did it):
#   mailotpd, mailotpctl: PIE (ELF type DYN and DT_FLAGS_1 PIE);
#   all three (and the module): full RELRO (a GNU_RELRO segment and
#     BIND_NOW), a non-executable stack (GNU_STACK without E), the stack
#     protector (__stack_chk_fail referenced), FORTIFY_SOURCE (some
#     __*_chk symbol referenced);
#   the module exports only pam_sm_* (the STYLE.md rule; -export-symbols-regex).
# In a sanitizer build (--enable-sanitizers) FORTIFY is off by design: the
# FORTIFY checks are skipped there, the rest still holds.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/testbed/tap.sh"

command -v readelf >/dev/null || skip_all "readelf (binutils) is not installed"
DAEMON="$top_builddir/resetd/mailotpd"
CTL="$top_builddir/resetd/mailotpctl"
MODULE="$top_builddir/pam_module/.libs/pam_mailotp.so"
for f in "$DAEMON" "$CTL" "$MODULE"; do
	[[ -f "$f" ]] || skip_all "not built: $f"
done
SAN=0
if nm -D "$MODULE" 2>/dev/null | grep -q '__asan_init'; then
	SAN=1
fi

tap_plan 17

dyn() { readelf -dW "$1" 2>/dev/null; }
segs() { readelf -lW "$1" 2>/dev/null; }
undef() { nm -D --undefined-only "$1" 2>/dev/null | awk '{ print $NF }' | sed 's/@.*//'; }

for f in "$DAEMON" "$CTL"; do
	n=${f##*/}
	like "$(readelf -hW "$f" | awk -F: '/Type:/ { print $2 }')" 'DYN' "$n: ELF type DYN"
	like "$(dyn "$f" | grep 'FLAGS_1')" 'PIE' "$n: DT_FLAGS_1 has PIE"
done
for f in "$DAEMON" "$CTL" "$MODULE"; do
	n=${f##*/}
	relro=$(segs "$f" | grep -c 'GNU_RELRO')
	now=$(dyn "$f" | grep -cE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW|\(BIND_NOW\)')
	ok "$(((relro > 0 && now > 0) ? 0 : 1))" "$n: full RELRO (GNU_RELRO and BIND_NOW)"
	unlike "$(segs "$f" | grep 'GNU_STACK')" 'RWE' "$n: non-executable stack"
	like "$(undef "$f")" '(^|[[:space:]])__stack_chk_fail($|[[:space:]])' "$n: stack protector (__stack_chk_fail)"
done
for f in "$DAEMON" "$CTL" "$MODULE"; do
	n=${f##*/}
	if ((SAN)); then
		skip "sanitizer build: FORTIFY_SOURCE is off there"
	elif [[ "$n" == pam_mailotp.so ]]; then
		# the module is small; it may use no fortifiable call at all,
		# but where it does, the _chk variant must be the one linked
		plain=$(undef "$f" | grep -xE 'memcpy|strcpy|strcat|sprintf|snprintf|vsnprintf|read|explicit_bzero' | tr '\n' ' ')
		chk=$(undef "$f" | grep -E '^__.*_chk$' | tr '\n' ' ')
		ok "$([[ -n "$chk" ]] && echo 0 || echo 1)" "$n: FORTIFY_SOURCE (_chk symbols: ${chk:-none}; plain calls: ${plain:-none})"
	else
		chk=$(undef "$f" | grep -cE '^__.*_chk$')
		ok "$((chk > 0 ? 0 : 1))" "$n: FORTIFY_SOURCE ($chk __*_chk symbols)"
	fi
done
exports=$(nm -D --defined-only "$MODULE" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' | grep -v '^pam_sm_' | tr '\n' ' ')
is "$exports" "" "pam_mailotp.so exports only pam_sm_*"
tap_done
