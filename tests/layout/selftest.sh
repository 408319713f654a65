#!/usr/bin/env bash
# Negative tests of the ABI checks themselves: each check must fail on a
# header or library that is wrong in the way it exists to catch.
#
#   selftest.sh CC OUR_INCLUDE_DIR REFERENCE_HEADER WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# -eq 4 ] || vu_fail "usage: $0 CC OUR_INCLUDE_DIR REFERENCE_HEADER WORK_DIR"
cc=$1 inc=$2 ref=$3 work=$4
vu_need gcc
rm -rf "$work"
mkdir -p "$work"
failures=0

# expect_fail WHAT COMMAND...: the command must exit non-zero (not 77).
# With EXPECT_MSG set, its output must also contain that text (the reason).
expect_fail() {
    local what=$1 rc=0
    shift
    "$@" >"$work/last.log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; then
        echo "NOT CAUGHT (exit $rc): $what"
        sed 's/^/    /' "$work/last.log"
        failures=$((failures + 1))
    elif [ -n "${EXPECT_MSG:-}" ] && ! grep -qE "$EXPECT_MSG" "$work/last.log"; then
        echo "CAUGHT FOR THE WRONG REASON: $what (expected '$EXPECT_MSG')"
        sed 's/^/    /' "$work/last.log"
        failures=$((failures + 1))
    else
        echo "caught: $what"
    fi
}

# A copy of our headers with one edit (a sed expression) applied.
mutant() { # NAME SED-EXPR
    local dir=$work/$1
    mkdir -p "$dir"
    cp "$inc"/*.h "$dir/"
    sed -i -e "$2" "$dir/libvhost-user.h"
    if cmp -s "$dir/libvhost-user.h" "$inc/libvhost-user.h"; then
        vu_fail "mutant $1: the edit '$2' changed nothing (header rewritten?)"
    fi
    echo "$dir"
}

m_type=$(mutant field-type 's/^\(    \)uint16_t max_queues;/\1uint32_t max_queues;/')
m_proto=$(mutant prototype 's/^bool vu_queue_started(const VuDev \*dev,/bool vu_queue_started(VuDev *dev,/')
m_value=$(mutant enum-value 's/VHOST_USER_GET_SHARED_OBJECT = 41/VHOST_USER_GET_SHARED_OBJECT = 40/')
m_cb=$(mutant callback 's/typedef void (\*vu_remove_watch_cb)(VuDev \*dev, int fd);/typedef void (*vu_remove_watch_cb)(VuDev *dev, long fd);/')

echo "== tests/test_layout.c rejects wrong headers"
for m in "$m_type" "$m_proto" "$m_value" "$m_cb"; do
    EXPECT_MSG="static(_| )assert(ion)? failed" expect_fail "test_layout.c vs $(basename "$m")" \
        "$cc" -std=gnu11 -I"$m" -c "$here/../test_layout.c" -o "$work/t.o"
done

if [ -f "$ref" ]; then
    echo "== check-layout.sh rejects wrong headers"
    for m in "$m_type" "$m_proto" "$m_value" "$m_cb"; do
        EXPECT_MSG=FAIL expect_fail "check-layout.sh vs $(basename "$m")" \
            bash "$here/check-layout.sh" "$cc" "$m" "$ref" "$work/cl"
    done
else
    echo "NOTE: reference header absent: check-layout.sh negative cases not run"
fi

echo "== check-abi.sh rejects wrong libraries"
# Stub libraries that define every declared function.
stub=$work/stub.c
{
    echo '#define E __attribute__((visibility("default")))'
    for h in "$inc"/*.h; do vu_declared_functions "$h" -I"$inc"; done |
        sort -u | sed 's/.*/E void &(void); E void &(void) {}/'
    echo 'E int not_in_the_api(void); E int not_in_the_api(void) { return 0; }'
} >"$stub"
map=$here/../../lib/libvhost-user.map
build_stub() { # DIR FLAGS...
    local d=$1
    shift
    mkdir -p "$d"
    gcc -w -shared -fPIC -fvisibility=hidden "$@" "$stub" -o "$d/libvhost-user.so.0.0.0"
    ln -sf libvhost-user.so.0.0.0 "$d/libvhost-user.so"
}
build_stub "$work/good" -Wl,-soname,libvhost-user.so.0 -Wl,--version-script="$map"
if bash "$here/check-abi.sh" "$work/good/libvhost-user.so" "$inc" >"$work/last.log" 2>&1; then
    echo "accepted: a correct stub library"
else
    echo "REJECTED a correct stub library:"
    sed 's/^/    /' "$work/last.log"
    failures=$((failures + 1))
fi
build_stub "$work/nosoname" -Wl,--version-script="$map"
EXPECT_MSG="SONAME" expect_fail "library without SONAME" \
    bash "$here/check-abi.sh" "$work/nosoname/libvhost-user.so" "$inc"
printf 'LIBVHOST_USER_0 { global: vu_*; not_in_the_api; local: *; };\n' >"$work/leaky.map"
build_stub "$work/leaky" -Wl,-soname,libvhost-user.so.0 -Wl,--version-script="$work/leaky.map"
EXPECT_MSG="exported but not in a public header" expect_fail "library exporting a non-API symbol" \
    bash "$here/check-abi.sh" "$work/leaky/libvhost-user.so" "$inc"
grep -v 'vu_queue_flush' "$stub" >"$work/missing.c"
mkdir -p "$work/missing"
gcc -w -shared -fPIC -fvisibility=hidden -Wl,-soname,libvhost-user.so.0 \
    -Wl,--version-script="$map" "$work/missing.c" \
    -o "$work/missing/libvhost-user.so.0.0.0" 2>/dev/null
ln -sf libvhost-user.so.0.0.0 "$work/missing/libvhost-user.so"
EXPECT_MSG="declared but not exported: vu_queue_flush" expect_fail "library missing vu_queue_flush" \
    bash "$here/check-abi.sh" "$work/missing/libvhost-user.so" "$inc"

[ "$failures" -eq 0 ] || vu_fail "$failures negative case(s) not caught"
echo "PASS: every planted ABI defect was caught"
