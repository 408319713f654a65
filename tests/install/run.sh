#!/usr/bin/env bash
# Install the built library into a fresh prefix and build programs against
# the installed copy only, the way a downstream project would:
#   1. pkg-config, shared        3. CMake find_package, shared
#   2. pkg-config, static        4. CMake find_package, static
# Each consumer runs and checks a few API results (consumer.c).
#
#   run.sh BUILD_DIR WORK_DIR CC VERSION [SANITIZERS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../layout/common.sh"

[ $# -ge 4 ] || vu_fail "usage: $0 BUILD_DIR WORK_DIR CC VERSION [SANITIZERS]"
build=$1 work=$2 cc=$3 version=$4 san=${5:-}
vu_need pkg-config
vu_need readelf
vu_need cmake

extra=()
[ -z "$san" ] || extra=(-fsanitize="$san" -fno-omit-frame-pointer)
# Strict flags: the installed headers must compile cleanly as plain C11.
cflags=(-std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wpedantic -Werror "${extra[@]}")

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

step() { echo "== $*"; }

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

expect_shared() {
    needed "$1" | grep -qx 'libvhost-user\.so\.[0-9]*' ||
        vu_fail "$1 does not need libvhost-user.so.<major>: $(needed "$1" | tr '\n' ' ')"
}

expect_static() {
    if needed "$1" | grep -q 'libvhost-user'; then
        vu_fail "$1 was meant to link statically but needs a libvhost-user.so"
    fi
}

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

pc=$(find "$prefix" -name libvhost-user.pc | head -n1)
[ -n "$pc" ] || vu_fail "libvhost-user.pc not installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir libvhost-user)
incdir=$(pkg-config --variable=includedir libvhost-user)

step "installed files"
for f in "$incdir/libvhost-user.h" "$incdir/vhost-user-ext.h" \
    "$libdir/libvhost-user.so" "$libdir/libvhost-user.a" \
    "$libdir/cmake/libvhost-user/libvhost-user-config.cmake" \
    "$libdir/cmake/libvhost-user/libvhost-user-config-version.cmake" \
    "$libdir/cmake/libvhost-user/libvhost-user-targets.cmake"; do
    [ -e "$f" ] || vu_fail "not installed: $f"
done
soname=$(readelf -d "$libdir/libvhost-user.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -e "$libdir/$soname" ] || vu_fail "no $soname link beside libvhost-user.so"
[ -L "$libdir/libvhost-user.so" ] || vu_fail "libvhost-user.so is not a symlink"
# Only the public headers are installed.
stray=$(cd "$incdir" && ls | grep -vx -e libvhost-user.h -e vhost-user-ext.h || true)
[ -z "$stray" ] || vu_fail "unexpected files in $incdir: $stray"
echo "   headers, $soname, static library, pkg-config and CMake files present"

step "pkg-config"
pkg-config --validate libvhost-user || vu_fail "libvhost-user.pc does not validate"
[ "$(pkg-config --modversion libvhost-user)" = "$version" ] ||
    vu_fail "pkg-config version $(pkg-config --modversion libvhost-user) != $version"
read -r -a pc_cflags <<<"$(pkg-config --cflags libvhost-user)"
read -r -a pc_libs <<<"$(pkg-config --libs libvhost-user)"
read -r -a pc_static <<<"$(pkg-config --static --libs libvhost-user)"
echo "   cflags: ${pc_cflags[*]}  libs: ${pc_libs[*]}  static: ${pc_static[*]}"

step "1. pkg-config, shared"
"$cc" "${cflags[@]}" -DVU_HOW='"pkg-config shared"' \
    -DVU_EXPECTED_VERSION="\"$version\"" "${pc_cflags[@]}" \
    "$here/consumer.c" -o "$work/consumer-pc-shared" "${pc_libs[@]}" "${extra[@]}"
expect_shared "$work/consumer-pc-shared"
LD_LIBRARY_PATH=$libdir "$work/consumer-pc-shared"

step "2. pkg-config, static"
static_libs=()
for l in "${pc_static[@]}"; do
    [ "$l" = -lvhost-user ] && l=-l:libvhost-user.a
    static_libs+=("$l")
done
"$cc" "${cflags[@]}" -DVU_HOW='"pkg-config static"' \
    -DVU_EXPECTED_VERSION="\"$version\"" "${pc_cflags[@]}" \
    "$here/consumer.c" -o "$work/consumer-pc-static" "${static_libs[@]}" "${extra[@]}"
expect_static "$work/consumer-pc-static"
"$work/consumer-pc-static"

step "3./4. CMake find_package(libvhost-user)"
cmake -S "$here/consumer" -B "$work/cmake-consumer" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="${cflags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${extra[*]}" \
    >"$work/cmake-consumer.log" 2>&1 ||
    { cat "$work/cmake-consumer.log"; vu_fail "consumer project did not configure"; }
grep 'libvhost-user .* from' "$work/cmake-consumer.log" | sed 's/^/   /'
cmake --build "$work/cmake-consumer" >>"$work/cmake-consumer.log" 2>&1 ||
    { cat "$work/cmake-consumer.log"; vu_fail "consumer project did not build"; }
expect_shared "$work/cmake-consumer/consumer-cmake-shared"
expect_static "$work/cmake-consumer/consumer-cmake-static"
# The shared one runs through the RPATH CMake gives it: no LD_LIBRARY_PATH.
"$work/cmake-consumer/consumer-cmake-shared"
"$work/cmake-consumer/consumer-cmake-static"

echo "PASS: installed package works with pkg-config and CMake, shared and static"
