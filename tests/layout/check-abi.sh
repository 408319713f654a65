#!/usr/bin/env bash
# Check what libvhost-user.so exports.
#
#   check-abi.sh LIBRARY.so OUR_INCLUDE_DIR [REFERENCE_HEADER]
#
# - The SONAME is versioned (libvhost-user.so.N) and the file name matches.
# - Every function declared in our public headers is exported, with the
#   symbol version of the version script.
# - Nothing else is exported: every defined dynamic symbol is a declared vu_
#   function.
# - When the reference header is at hand, every function it declares is
#   exported too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# -ge 2 ] || vu_fail "usage: $0 LIBRARY.so OUR_INCLUDE_DIR [REFERENCE_HEADER]"
lib=$1 inc=$2 ref=${3:-}
vu_need nm
vu_need readelf
vu_need gcc
[ -f "$lib" ] || vu_fail "$lib not found"

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
echo "SONAME: ${soname:-<none>}"
[[ "$soname" =~ ^libvhost-user\.so\.[0-9]+$ ]] ||
    vu_fail "SONAME '$soname' is not libvhost-user.so.<major>"
real=$(basename "$(readlink -f "$lib")")
[[ "$real" == "$soname".* ]] ||
    vu_fail "library file $real does not carry its SONAME $soname"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Functions declared by the public headers.
for h in "$inc"/*.h; do
    vu_declared_functions "$h" -I"$inc"
done | sort -u >"$tmp/declared"
[ -s "$tmp/declared" ] || vu_fail "no functions declared in $inc"

# Defined dynamic symbols (the version node itself has type A: skipped).
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' |
    sort -u >"$tmp/exported"

missing=$(comm -23 "$tmp/declared" "$tmp/exported")
[ -z "$missing" ] || vu_fail "declared but not exported: $(echo $missing)"
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
[ -z "$extra" ] || vu_fail "exported but not in a public header: $(echo $extra)"
bad=$(grep -v '^vu_' "$tmp/exported" || true)
[ -z "$bad" ] || vu_fail "exported symbols without the vu_ prefix: $(echo $bad)"

# Every export carries the version of lib/libvhost-user.map.
unversioned=$(nm -D --defined-only --with-symbol-versions "$lib" 2>/dev/null |
    awk '$2 != "A" && $3 !~ /@@?LIBVHOST_USER_[0-9]+$/ {print $3}')
[ -z "$unversioned" ] ||
    vu_fail "exports without a LIBVHOST_USER_ version: $(echo $unversioned)"

if [ -n "$ref" ] && [ -f "$ref" ]; then
    vu_declared_functions "$ref" -I"$here/shim" -I"$(dirname "$ref")" >"$tmp/ref"
    missing=$(comm -23 "$tmp/ref" "$tmp/exported")
    [ -z "$missing" ] ||
        vu_fail "reference functions not exported: $(echo $missing)"
    echo "all $(wc -l <"$tmp/ref") reference functions exported"
else
    echo "NOTE: reference header not available; checked against our headers only"
fi
echo "PASS: $(wc -l <"$tmp/exported") symbols exported, all declared vu_ functions"
