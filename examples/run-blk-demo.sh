#!/bin/bash
# One-command demo: build the project, serve a scratch disk image with the example
# vhost-user-blk backend, boot a QEMU guest on it, and write then read 64 MiB in the guest.
#
#   examples/run-blk-demo.sh
#
# On a fresh Debian/Ubuntu machine run as root it installs what is missing with apt-get;
# otherwise it prints the apt-get command to run. Environment:
#   BUILD_DIR   build directory (default: <source>/build)
#   DEMO_MB     MiB per dd in the guest (default 64)
#   DEMO_REPS   how many times each dd runs (default 4: /proc/uptime only counts 10 ms)
#   E2E_ACCEL   tcg (default) or kvm
#   E2E_CACHE   where the guest kernel/initramfs are cached (default: BUILD_DIR/e2e-cache)
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$src/build}
mb=${DEMO_MB:-64}
reps=${DEMO_REPS:-4}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ------------------------------------------------------------------ 1. tools
pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || pkgs+=("$2"); }
need cmake cmake
need cc gcc
need make make
need qemu-system-x86_64 qemu-system-x86
need xz xz-utils
need cpio cpio
need awk mawk
[ -x /bin/busybox ] && dpkg -S /bin/busybox 2>/dev/null | grep -q '^busybox-static:' || pkgs+=(busybox-static)
if [ ${#pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing: ${pkgs[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" ca-certificates \
            || { echo "apt-get install failed" >&2; exit 1; }
    else
        echo "Missing tools. Install them with:" >&2
        echo "    sudo apt-get install ${pkgs[*]}" >&2
        exit 1
    fi
fi

# ------------------------------------------------------------------ 2. build
say "building the project in $build"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$src/.demo-cmake.log" 2>&1 \
        || { cat "$src/.demo-cmake.log" >&2; rm -f "$src/.demo-cmake.log"; exit 1; }
    rm -f "$src/.demo-cmake.log"
fi
cmake --build "$build" --target vhost-user-blk -j "$(nproc)" >/dev/null || {
    echo "build failed; rerun: cmake --build $build --target vhost-user-blk" >&2; exit 1; }
export E2E_BUILD_DIR=$build
export E2E_BLK_BIN=$build/examples/vhost-user-blk

# ------------------------------------------------------------------ 3. guest, backend, QEMU
. "$src/tests/e2e/lib.sh"
e2e_init demo 600
say "preparing the guest (Debian kernel via apt-get download + busybox initramfs, cached in $E2E_CACHE)"
e2e_need_guest

img=$E2E_WORK/disk.img
sock=$E2E_WORK/blk.sock
truncate -s $(((mb + 64) * 1048576)) "$img"
say "starting the backend: $E2E_BLK_BIN --blk-file $img --socket-path $sock"
e2e_start_blk backend "$sock" --blk-file "$img"

say "booting a QEMU guest ($E2E_ACCEL) with vhost-user-blk-pci on that socket"
t0=$(date +%s.%N)
e2e_qemu guest "e2e=dd e2e_mb=$mb e2e_reps=$reps" \
    -chardev "socket,id=c0,path=$sock" -device vhost-user-blk-pci,chardev=c0,num-queues=1
e2e_qemu_wait guest 300
t1=$(date +%s.%N)

r() { e2e_result guest "$1"; }
wcs=$(r write_cs) rcs=$(r read_cs)
host_sha=$(dd if="$img" bs=1M skip="$mb" count=1 status=none | sha256sum | cut -d' ' -f1)
[ "$host_sha" = "$(r verify_sha)" ] || e2e_fail "the image does not hold the guest's 1 MiB check block"
mbps() { awk -v mb="$((mb * reps))" -v cs="$1" 'BEGIN { if (cs <= 0) cs = 1; printf "%.1f", mb * 100 / cs }'; }

echo
say "what happened"
echo "  guest saw a $(( $(r disk_sectors) / 2048 )) MiB virtio disk, write cache: $(r write_cache)"
echo "  write: dd if=/dev/zero of=/dev/vda bs=1M count=$mb oflag=direct conv=fsync, $reps times"
echo "         $((mb * reps)) MiB in $(awk -v c="$wcs" 'BEGIN { printf "%.2f", c / 100 }') s = $(mbps "$wcs") MiB/s"
echo "  read:  dd if=/dev/vda of=/dev/null bs=1M count=$mb iflag=direct, $reps times"
echo "         $((mb * reps)) MiB in $(awk -v c="$rcs" 'BEGIN { printf "%.2f", c / 100 }') s = $(mbps "$rcs") MiB/s"
echo "  check: 1 MiB of random data written at offset $mb MiB, read back by the guest"
echo "         and found byte for byte in $img (sha256 ${host_sha:0:16}...)"
echo "  whole run (boot + I/O + power off): $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
echo "  backend log:"
sed 's/^/    /' "$E2E_WORK/backend.log"
echo "  (under TCG the emulated guest CPU, not the backend, limits throughput; E2E_ACCEL=kvm on a KVM host)"
exit 0
