#!/bin/bash
# Build (or reuse) the e2e guest: an uncompressed Debian vmlinux for PVH boot and a
# busybox-static initramfs carrying the virtio modules and tests/e2e/guest/init.
#
# Usage: build-guest.sh [CACHE_DIR]
#   CACHE_DIR defaults to $E2E_CACHE, else $E2E_BUILD_DIR/e2e-cache, else ./build/e2e-cache.
# Outputs: CACHE_DIR/vmlinux and CACHE_DIR/initrd.img (printed on stdout as two lines).
# Exit codes: 0 ok, 77 a tool or the network is missing outside CI, 1 any other failure.
# Works as root without installing anything: packages are fetched with `apt-get download`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
cache=${1:-${E2E_CACHE:-${E2E_BUILD_DIR:-$PWD/build}/e2e-cache}}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "build-guest: $*" >&2; }
missing() {
    say "MISSING: $*"
    if [ "${CI:-}" = 1 ]; then say "CI=1: a missing tool is a failure"; exit 1; fi
    say "SKIP: cannot build the e2e guest"; exit 77
}

for t in apt-get dpkg-deb xz cpio gzip grep od; do
    command -v "$t" >/dev/null || missing "tool '$t' (apt-get install xz-utils cpio dpkg)"
done
busybox=""
for b in /bin/busybox /usr/bin/busybox; do
    [ -x "$b" ] || continue
    # busybox-static installs /bin/busybox; the dynamic `busybox` package would not run in the guest.
    if dpkg -S "$b" 2>/dev/null | grep -q '^busybox-static:'; then busybox=$b; break; fi
    if command -v file >/dev/null && file -L "$b" | grep -q 'statically linked'; then busybox=$b; break; fi
done
[ -n "$busybox" ] || missing "a static busybox (apt-get install busybox-static)"

exec 9>"$cache/.lock"
flock 9

# ---------------------------------------------------------------- kernel
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
         failover net_failover virtio_net"
kdir="$cache/kernel.tmp"
mdir="$cache/modules"
if [ ! -s "$cache/vmlinux" ] || [ ! -s "$mdir/kver" ]; then
    dl="$cache/debs"
    mkdir -p "$dl"
    cd "$dl"
    # apt-get download runs as _apt when it can; make the directory writable for it.
    chmod 0777 "$dl" 2>/dev/null || true
    if ! ls linux-image-amd64_*.deb >/dev/null 2>&1; then
        if ! timeout 300 apt-get download linux-image-amd64 >&2; then
            say "apt-get download linux-image-amd64 failed (run apt-get update? network?)"
            [ "${CI:-}" = 1 ] && exit 1
            exit 77
        fi
    fi
    meta=$(ls linux-image-amd64_*.deb | head -n1)
    dep=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' | sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n1)
    [ -n "$dep" ] || { say "cannot find the versioned kernel package in $meta's Depends"; exit 1; }
    say "kernel package: $dep"
    if ! ls "${dep}"_*.deb >/dev/null 2>&1; then
        timeout 600 apt-get download "$dep" >&2 || { say "apt-get download $dep failed"; [ "${CI:-}" = 1 ] && exit 1; exit 77; }
    fi
    rm -rf "$kdir"
    mkdir -p "$kdir"
    dpkg-deb -x "$(ls "${dep}"_*.deb | head -n1)" "$kdir"
    vmlinuz=$(ls "$kdir"/boot/vmlinuz-* | head -n1)
    # The bzImage payload is one xz stream: find its magic FD 37 7A 58 5A 00 and decompress
    # from there (xz ignores the trailing bytes of the bzImage after the stream, with -q).
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n1 | cut -d: -f1)
    [ -n "$off" ] || { say "no xz magic in $vmlinuz"; exit 1; }
    tail -c +"$((off + 1))" "$vmlinuz" | xz -dcq > "$cache/vmlinux.tmp" 2>/dev/null || true
    head -c 4 "$cache/vmlinux.tmp" | od -An -c | grep -q 'E   L   F' || { say "decompressed kernel is not an ELF"; exit 1; }
    [ "$(stat -c %s "$cache/vmlinux.tmp")" -gt $((16 * 1024 * 1024)) ] || { say "decompressed kernel is truncated"; exit 1; }
    mv "$cache/vmlinux.tmp" "$cache/vmlinux"
    # Keep only the virtio modules (plain .ko in Debian 12; .ko.xz tolerated; absent = built in).
    kver=$(ls "$kdir/lib/modules" | head -n1)
    rm -rf "$mdir"
    mkdir -p "$mdir"
    for m in $MODULES; do
        f=$(find "$kdir/lib/modules/$kver" \( -name "$m.ko" -o -name "$m.ko.xz" \) | head -n1)
        if [ -z "$f" ]; then say "module $m not found (assumed built in)"; continue; fi
        case "$f" in *.xz) xz -dc "$f" > "$mdir/$m.ko" ;; *) cp "$f" "$mdir/$m.ko" ;; esac
    done
    echo "$kver" > "$mdir/kver"
    cd "$cache"
    rm -rf "$kdir" "$dl" "$cache/kernel"   # (kernel/: the full tree older versions kept)
    say "vmlinux: $(stat -c %s "$cache/vmlinux") bytes from $(basename "$vmlinuz") (xz at offset $off)"
fi

# ---------------------------------------------------------------- initramfs
# Rebuilt whenever /init, busybox or this script change.
stamp=$(cat "$here/init" "$busybox" "$self" | sha256sum | cut -c1-16)
if [ ! -s "$cache/initrd.img" ] || [ "$(cat "$cache/initrd.stamp" 2>/dev/null)" != "$stamp" ]; then
    root="$cache/initrd.root"
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,mnt,modules,etc,root}
    cp "$busybox" "$root/bin/busybox"
    for app in $("$busybox" --list); do
        [ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
    done
    kver=$(cat "$mdir/kver")
    n=0
    for m in $MODULES; do
        [ -f "$mdir/$m.ko" ] || continue
        cp "$mdir/$m.ko" "$root/modules/$m.ko"
        echo "$m" >> "$root/modules/order"
        n=$((n + 1))
    done
    cp "$here/init" "$root/init"
    chmod 0755 "$root/init"
    echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$cache/initrd.img.tmp"
    mv "$cache/initrd.img.tmp" "$cache/initrd.img"
    echo "$stamp" > "$cache/initrd.stamp"
    rm -rf "$root"
    say "initrd.img: $(stat -c %s "$cache/initrd.img") bytes, $n modules, kernel $kver"
fi
echo "$cache/vmlinux"
echo "$cache/initrd.img"
