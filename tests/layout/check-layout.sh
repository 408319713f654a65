#!/usr/bin/env bash
# Compare our <libvhost-user.h> with the reference header, fact by fact.
#
#   check-layout.sh CC OUR_INCLUDE_DIR REFERENCE_HEADER WORK_DIR
#
# 1. probe.c is compiled against each header and run; the printed sizes,
#    offsets, types and values must be identical.
# 2. Every function the reference declares is declared by ours, and the
#    reference's prototypes and callback typedefs, re-declared after our
#    header, compile (C rejects a conflicting re-declaration).
# 3. Every macro the reference defines is defined by ours.
#
# Exit 0: identical; 1: a difference; 77: skipped (reference not available).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# -eq 4 ] || vu_fail "usage: $0 CC OUR_INCLUDE_DIR REFERENCE_HEADER WORK_DIR"
cc=$1 ours=$2 ref=$3 work=$4

if [ ! -f "$ref" ]; then
    # The reference lives in the shared/ folder next to the checkout.  A fresh
    # clone without it cannot run this comparison: test_layout.c still holds
    # the facts.  If shared/ is there but the header is not, something broke.
    shared=$(dirname "$(dirname "$ref")")
    if vu_in_ci && [ -d "$shared" ]; then
        vu_fail "reference header $ref is missing although $shared exists"
    fi
    vu_skip "reference header $ref not found (set VU_SEED_HEADER); layout comparison not run"
fi
vu_need gcc
vu_need diff

ref=$(cd "$(dirname "$ref")" && pwd)/$(basename "$ref")
mkdir -p "$work/ref-include" "$work/ours"
rm -f "$work"/*.out "$work/ref-include/libvhost-user.h"
# The probe includes <libvhost-user.h>: give it the reference under that name.
ln -s "$ref" "$work/ref-include/libvhost-user.h"
ref_flags=(-I"$work/ref-include" -I"$here/shim")
our_flags=(-I"$ours")

echo "== 1. probe: sizes, offsets, types and values"
"$cc" -std=gnu11 -Wall -Wextra -Werror "${ref_flags[@]}" "$here/probe.c" \
    -o "$work/probe-ref"
"$cc" -std=gnu11 -Wall -Wextra -Werror "${our_flags[@]}" "$here/probe.c" \
    -o "$work/probe-ours"
"$work/probe-ref" >"$work/ref.out"
"$work/probe-ours" >"$work/ours.out"
if ! diff -u "$work/ref.out" "$work/ours.out"; then
    vu_fail "layout differs from the reference (- reference, + ours)"
fi
echo "   $(wc -l <"$work/ref.out") facts identical"

echo "== 2. functions and callback types"
vu_declared_functions "$ref" "${ref_flags[@]}" >"$work/ref-functions.out"
vu_declared_functions "$ours/libvhost-user.h" "${our_flags[@]}" \
    >"$work/our-functions.out"
missing=$(comm -23 "$work/ref-functions.out" "$work/our-functions.out")
[ -z "$missing" ] || vu_fail "functions missing from our header: $missing"
{
    echo '#include <libvhost-user.h>'
    echo '/* reference prototypes */'
    vu_declared_prototypes "$ref" "${ref_flags[@]}"
    echo '/* reference callback types */'
    awk '/^typedef .*\(\*[A-Za-z_0-9]+\) *\(/ {
             s = $0
             while (s !~ /;/ && (getline l) > 0) s = s " " l
             print s
         }' "$ref"
} >"$work/redeclare.c"
n_types=$(grep -c '^typedef' "$work/redeclare.c" || true)
[ "$n_types" -gt 0 ] || vu_fail "no callback typedefs found in $ref"
"$cc" -std=gnu11 -w "${our_flags[@]}" -c \
    "$work/redeclare.c" -o "$work/redeclare.o" ||
    vu_fail "a reference prototype or callback type conflicts with ours"
echo "   $(wc -l <"$work/ref-functions.out") functions and $n_types callback types agree"

echo "== 3. macro names"
macros() {
    echo '#include <libvhost-user.h>' |
        "$cc" -std=gnu11 -dM -E "$@" -x c - | awk '{print $2}' |
        sed 's/(.*//' | sort -u
}
macros "${ref_flags[@]}" >"$work/ref-macros.out"
macros "${our_flags[@]}" >"$work/our-macros.out"
missing=$(comm -23 "$work/ref-macros.out" "$work/our-macros.out" |
    grep -v '^VU_LAYOUT_SHIM_' || true)
[ -z "$missing" ] || vu_fail "macros missing from our header: $missing"
echo "   every reference macro is defined"
echo "PASS: our header matches the reference ABI"
