#!/bin/bash
# Record real handshakes into corpus/fuzz_dispatch/rec-* by running the
# example backends with LIBVHOST_USER_RECORD set against real frontends:
#   QEMU vhost-user-blk-pci, QEMU -netdev vhost-user (virtio-net-pci), and
#   DPDK testpmd net_virtio_user.
#
#   fuzz/record_seeds.sh <build dir with examples/> [guest vmlinux initrd]
#
# With a guest kernel and initrd (tests/e2e/guest/build-guest.sh makes them)
# Linux drives the devices too; without, only the firmware's probe does.
# Every frontend that is not installed is skipped.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:?usage: $0 <build dir> [vmlinux initrd]}
VMLINUX=${2:-}
INITRD=${3:-}
OUTDIR=$SRC/corpus/fuzz_dispatch
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT

wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

qemu_guest() { # extra args...
    local boot=()
    if [ -n "$VMLINUX" ]; then
        boot=(-kernel "$VMLINUX" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 e2e=none")
    fi
    timeout -s KILL "${QEMU_SECS:-25}" qemu-system-x86_64 -accel tcg -smp 1 -m 256M \
        -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
        -nographic -nic none -no-reboot "${boot[@]}" "$@" </dev/null >"$W/qemu.out" 2>&1
}

record() { # name, backend args...; the frontend command is run by the caller
    local name=$1; shift
    rm -f "$W/$name.rec" "$W/sock"
    LIBVHOST_USER_RECORD=$W/$name.rec "$@" >"$W/$name.backend.log" 2>&1 &
    BACKEND=$!
    wait_sock "$W/sock" || { echo "$name: backend did not start"; cat "$W/$name.backend.log"; return 1; }
}

finish() { # name
    local name=$1
    kill -INT "$BACKEND" 2>/dev/null; wait "$BACKEND" 2>/dev/null
    if [ -s "$W/$name.rec" ]; then
        cp "$W/$name.rec" "$OUTDIR/rec-$name"
        echo "rec-$name: $(stat -c %s "$W/$name.rec") bytes"
    else
        echo "rec-$name: nothing recorded"
    fi
}

if command -v qemu-system-x86_64 >/dev/null; then
    record qemu-blk "$B/examples/vhost-user-blk" --null --size 64M --socket-path "$W/sock" &&
        { qemu_guest -chardev socket,id=c0,path="$W/sock" \
              -device vhost-user-blk-pci,chardev=c0,num-queues=1; finish qemu-blk; }
    record qemu-blk-2q "$B/examples/vhost-user-blk" --null --size 64M --num-queues 2 \
            --socket-path "$W/sock" &&
        { qemu_guest -smp 2 -chardev socket,id=c0,path="$W/sock" \
              -device vhost-user-blk-pci,chardev=c0,num-queues=2; finish qemu-blk-2q; }
    record qemu-net "$B/examples/vhost-user-net" --reflect --socket-path "$W/sock" &&
        { qemu_guest -chardev socket,id=n0,path="$W/sock" -netdev vhost-user,id=net0,chardev=n0 \
              -device virtio-net-pci,netdev=net0,vectors=0; finish qemu-net; }
fi
if command -v dpdk-testpmd >/dev/null; then
    record dpdk-virtio-user "$B/examples/vhost-user-net" --reflect --socket-path "$W/sock" &&
        { timeout -s INT 8 dpdk-testpmd --lcores '0@0,1@0' --no-huge -m 512 --no-pci \
              --file-prefix=rec$$ --vdev "net_virtio_user0,path=$W/sock,queues=1,queue_size=256" \
              -- --total-num-mbufs=16384 --forward-mode=txonly -a --stats-period 1 \
              </dev/null >"$W/testpmd.out" 2>&1; sleep 0.5; finish dpdk-virtio-user; }
fi
