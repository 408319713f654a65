#!/bin/bash
# E2E: a QEMU guest (vhost-user-blk-pci) against a vhost-user-blk backend.
#   test-blk.sh example   our examples/vhost-user-blk
#   test-blk.sh qsd       qemu-storage-daemon's export (QEMU's own libvhost-user), the peer
# Cases (each one guest boot, or two for the reboot case):
#   rw      1 queue: pattern written by the guest is in the image byte for byte; the flush is
#           seen as fsync/fdatasync on the backend (strace); blkdiscard punches a hole in the
#           file (allocated blocks shrink by the discarded size, the range reads back as zeroes)
#   mq      num-queues=2 with -smp 2: the guest sees 2 hardware queues, pattern verified
#   ro      read-only export: the guest reads the host's pattern byte for byte, its write is
#           refused and the image is unchanged
#   reboot  the guest writes, `reboot -f`, the second boot re-reads over the same connection
. "$(dirname "$0")/lib.sh"

backend=${1:-example}
e2e_init "blk-$backend" "${E2E_DEADLINE:-240}"
e2e_need_guest
case "$backend" in
example) e2e_need_blk_example ;;
qsd) e2e_need qemu-storage-daemon qemu-system-common ;;
*) e2e_fail "unknown backend $backend" ;;
esac

MiB=1048576
start_backend() { # NAME SOCK IMG NQ [ro]
    local name=$1 sock=$2 img=$3 nq=$4 ro=${5:-} pre=() roarg=() writable=on
    [ "$ro" = ro ] && { roarg=(--read-only); writable=off; }
    if [ -n "${STRACE:-}" ]; then
        pre=(strace -f -qq -e trace=fsync,fdatasync,fallocate,ioctl -o "$E2E_WORK/$name.strace")
    fi
    if [ "$backend" = example ]; then
        rm -f "$sock"
        e2e_bg "$name" "${pre[@]}" "$E2E_BLK_BIN" --blk-file "$img" --num-queues "$nq" "${roarg[@]}" --socket-path "$sock"
        e2e_wait_socket "$name" "$sock"
    else
        rm -f "$sock"
        e2e_bg "$name" "${pre[@]}" qemu-storage-daemon \
            --blockdev "driver=file,node-name=file0,filename=$img,cache.direct=on,aio=native,discard=unmap" \
            --export "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$sock,writable=$writable,num-queues=$nq"
        e2e_wait_socket "$name" "$sock" 20
    fi
}
blkdev() { # SOCK NQ
    echo -chardev "socket,id=c0,path=$1" -device "vhost-user-blk-pci,chardev=c0,num-queues=$2"
}

# ------------------------------------------------------------------ case rw (+flush, discard)
img=$E2E_WORK/rw.img
fallocate -l $((64 * MiB)) "$img" || e2e_fail "fallocate $img (the build dir's filesystem must support it)"
blocks0=$(stat -c %b "$img")
if command -v strace >/dev/null; then STRACE=1; else
    echo "################ WARNING: strace not installed (apt-get install strace): the flush and discard" >&2
    echo "################ syscalls on the backend side are NOT checked in this run" >&2
    [ "${CI:-}" = 1 ] && e2e_fail "CI=1 and strace missing"
fi
start_backend be-rw "$E2E_WORK/rw.sock" "$img" 1
seed=$RANDOM
# pattern: 1024 blocks (4 MiB) from block 256 (1 MiB); discard 16 MiB at 32 MiB
e2e_qemu vm-rw "e2e=blk e2e_seed=$seed e2e_off=256 e2e_blocks=1024 e2e_discard_off=$((32 * MiB)) e2e_discard_len=$((16 * MiB))" \
    $(blkdev "$E2E_WORK/rw.sock" 1)
e2e_qemu_wait vm-rw 90
e2e_expect "guest sees 64 MiB" "$(e2e_result vm-rw disk_sectors)" = 131072
e2e_expect "guest read back what it wrote" "$(e2e_result vm-rw read_sha)" = "$(e2e_result vm-rw pattern_sha)"
e2e_expect "guest pattern = host pattern" "$(e2e_result vm-rw pattern_sha)" = "$(e2e_pattern "$seed" 256 1024 | sha256sum | cut -d' ' -f1)"
e2e_expect "device offers VIRTIO_BLK_F_FLUSH" "$(e2e_result vm-rw has_flush)" = 1
e2e_expect "guest discard" "$(e2e_result vm-rw discard)" = ok
e2e_stop be-rw
e2e_check_pattern "$img" "$seed" 256 1024
blocks1=$(stat -c %b "$img")
e2e_log "image allocated 512-byte blocks: $blocks0 before, $blocks1 after the discard of 16 MiB"
e2e_expect "discard punched >= 16 MiB out of the image (stat %b)" $((blocks0 - blocks1)) -ge $((16 * MiB / 512))
e2e_expect "discarded range reads as zeroes" "$(dd if="$img" bs=$MiB skip=32 count=16 status=none | tr -d '\0' | wc -c)" -eq 0
e2e_expect "data around the discarded range kept" "$(e2e_sha_of_blocks "$img" 256 1024)" = "$(e2e_result vm-rw pattern_sha)"
if [ -n "${STRACE:-}" ]; then
    tr=$E2E_WORK/be-rw.strace
    nflush=$(grep -cE '(fsync|fdatasync)\(' "$tr")
    ndiscard=$(grep -cE 'fallocate\(.*PUNCH_HOLE|BLKDISCARD' "$tr")
    e2e_expect "flushes reached the file as fsync/fdatasync (strace)" "$nflush" -ge 1
    e2e_expect "the discard reached the file as a punched hole (strace)" "$ndiscard" -ge 1
fi
STRACE=

# ------------------------------------------------------------------ case mq: 2 queues, 2 vCPUs
img=$E2E_WORK/mq.img
truncate -s $((64 * MiB)) "$img"
start_backend be-mq "$E2E_WORK/mq.sock" "$img" 2
seed=$RANDOM
E2E_SMP=2 e2e_qemu vm-mq "e2e=blk e2e_seed=$seed e2e_off=0 e2e_blocks=512" $(blkdev "$E2E_WORK/mq.sock" 2)
e2e_qemu_wait vm-mq 90
e2e_expect "guest sees 2 hardware queues" "$(e2e_result vm-mq mq)" -eq 2
e2e_expect "guest wrote/read half from each CPU (= each queue)" "$(e2e_result vm-mq split_cpus)" -eq 1
e2e_expect "guest read back what it wrote" "$(e2e_result vm-mq read_sha)" = "$(e2e_result vm-mq pattern_sha)"
e2e_stop be-mq
e2e_check_pattern "$img" "$seed" 0 512

# ------------------------------------------------------------------ case ro: host writes, guest reads
img=$E2E_WORK/ro.img
truncate -s $((64 * MiB)) "$img"
seed=$RANDOM
e2e_pattern "$seed" 100 300 | dd of="$img" bs=4096 seek=100 conv=notrunc status=none
before=$(sha256sum < "$img")
start_backend be-ro "$E2E_WORK/ro.sock" "$img" 1 ro
e2e_qemu vm-ro "e2e=blkread e2e_seed=$seed e2e_off=100 e2e_blocks=300 e2e_ro=1" $(blkdev "$E2E_WORK/ro.sock" 1)
e2e_qemu_wait vm-ro 90
e2e_expect "guest sees a read-only disk" "$(e2e_result vm-ro ro)" -eq 1
e2e_expect "guest read the host's pattern" "$(e2e_result vm-ro read_sha)" = "$(e2e_pattern "$seed" 100 300 | sha256sum | cut -d' ' -f1)"
e2e_expect "guest's write refused" "$(e2e_result vm-ro write_refused)" -eq 1
e2e_stop be-ro
e2e_expect "read-only image unchanged" "$(sha256sum < "$img")" = "$before"

# ------------------------------------------------------------------ case reboot
img=$E2E_WORK/reboot.img
truncate -s $((64 * MiB)) "$img"
start_backend be-reboot "$E2E_WORK/reboot.sock" "$img" 1
seed=$RANDOM
E2E_REBOOT=1 e2e_qemu vm-reboot "e2e=blk e2e_seed=$seed e2e_off=64 e2e_blocks=256 e2e_reboot=1" \
    $(blkdev "$E2E_WORK/reboot.sock" 1)
e2e_qemu_wait vm-reboot 120
e2e_expect "guest booted twice" "$(e2e_serial vm-reboot | grep -c 'E2E-BOOT workload=')" -eq 2
e2e_expect "second boot read the data back" "$(e2e_result vm-reboot boot2_read_sha)" = "$(e2e_result vm-reboot pattern_sha)"
e2e_expect "backend survived the reboot" "$(e2e_alive be-reboot && echo alive)" = alive
e2e_stop be-reboot
if [ "$backend" = example ]; then
    e2e_expect "one connection across the reboot" "$(grep -c 'frontend connected' "$E2E_WORK/be-reboot.log")" -eq 1
fi
e2e_check_pattern "$img" "$seed" 64 256
e2e_expect "boot-2 marker on disk" "$(dd if="$img" bs=4096 skip=8191 count=1 status=none | head -c 24)" = "$(printf '%-24s' "E2E-BOOT2 seed=$seed")"
exit 0
