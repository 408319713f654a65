#!/bin/bash
# E2E: restart without loss. The guest writes N blocks one at a time (O_DIRECT + fsync each);
# the blk backend is killed with SIGKILL twice in the middle and restarted on the same socket;
# QEMU reconnects (-chardev ...,reconnect=1) and the guest's writes all land, checked byte by
# byte on the host. While the backend is dead the guest must make no progress (its writes
# really go through the backend).
#   test-blk-restart.sh example|qsd
. "$(dirname "$0")/lib.sh"

backend=${1:-example}
e2e_init "blk-restart-$backend" "${E2E_DEADLINE:-200}"
e2e_need_guest
[ "$backend" = example ] && e2e_need_blk_example

MiB=1048576
N=${E2E_RESTART_BLOCKS:-320}
img=$E2E_WORK/restart.img
sock=$E2E_WORK/restart.sock
truncate -s $((64 * MiB)) "$img"
nstart=0
start_backend() {
    nstart=$((nstart + 1))
    rm -f "$sock"
    if [ "$backend" = example ]; then
        e2e_bg "be$nstart" "$E2E_BLK_BIN" --blk-file "$img" --num-queues 1 --socket-path "$sock"
    else
        e2e_bg "be$nstart" qemu-storage-daemon \
            --blockdev "driver=file,node-name=file0,filename=$img,cache.direct=on,aio=native" \
            --export "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$sock,writable=on,num-queues=1"
    fi
    e2e_wait_socket "be$nstart" "$sock" 20
}
progress() { e2e_serial vm | sed -n 's/.*E2E-PROGRESS blocks=\([0-9]*\).*/\1/p' | tail -n 1; }
wait_progress() { # MIN TIMEOUT
    local i p
    for ((i = 0; i < $2 * 10; i++)); do
        p=$(progress); [ -n "$p" ] && [ "$p" -ge "$1" ] && return 0
        e2e_alive vm || e2e_fail "guest exited early"
        e2e_serial vm | grep -q E2E-FAIL && e2e_fail "$(e2e_serial vm | grep E2E-FAIL)"
        sleep 0.1
    done
    e2e_fail "guest progress stuck at '${p:-none}' (wanted >= $1 within $2 s)"
}

seed=$RANDOM
start_backend
e2e_qemu vm "e2e=blkloop e2e_seed=$seed e2e_off=128 e2e_blocks=$N" \
    -chardev "socket,id=c0,path=$sock,reconnect=1" -device vhost-user-blk-pci,chardev=c0,num-queues=1

for at in $((N / 4)) $((N * 5 / 8)); do
    wait_progress "$at" 90
    e2e_stop "be$nstart" KILL
    p1=$(progress)
    e2e_log "SIGKILLed the backend with the guest at $p1 of $N blocks"
    # The guest may still report the (at most one) write the backend completed just before it
    # died, late on a loaded host, and progress is printed every 8 blocks: allow one step
    # within the first 1.5 s, then no progress at all for 2 s.
    sleep 1.5
    p2=$(progress)
    e2e_expect "at most one progress step after the kill" "$p2" -le $((p1 + 8))
    sleep 2
    p3=$(progress)
    e2e_expect "no guest progress while the backend is dead" "$p3" -eq "$p2"
    e2e_expect "guest not finished while the backend is dead" "$(e2e_serial vm | grep -c 'E2E-RESULT written=')" -eq 0
    start_backend
    wait_progress $((p3 + 16)) 60
    e2e_log "guest resumed: $(progress) blocks after the restart"
done
e2e_qemu_wait vm 120
e2e_expect "guest wrote every block" "$(e2e_result vm written)" -eq "$N"
e2e_expect "guest read back its pattern" "$(e2e_result vm read_sha)" = "$(e2e_result vm pattern_sha)"
e2e_expect "QEMU reconnected twice" "$nstart" -eq 3
e2e_stop "be$nstart"
if [ "$backend" = example ]; then
    for i in 1 2 3; do
        e2e_expect "QEMU connected to backend instance $i" "$(grep -c 'frontend connected' "$E2E_WORK/be$i.log")" -eq 1
    done
fi
e2e_check_pattern "$img" "$seed" 128 "$N"
e2e_expect "nothing written before the pattern" "$(dd if="$img" bs=4096 count=128 status=none | tr -d '\0' | wc -c)" -eq 0
e2e_expect "nothing written after the pattern" "$(dd if="$img" bs=4096 skip=$((128 + N)) count=1024 status=none | tr -d '\0' | wc -c)" -eq 0
exit 0
