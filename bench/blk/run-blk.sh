#!/bin/bash
# vhost-user-blk IOPS: our examples/vhost-user-blk --null against
# qemu-storage-daemon's vhost-user-blk export of a null-co node (QEMU's own
# libvhost-user), both driven by bench/blk vu-blkbench.
# Usage: run-blk.sh OUT_TSV WORKDIR [ROUNDS] [SECONDS]
# Rows: blk <case> <round> <ours_iops> <peer_iops> IOPS
#
# Backends are pinned to CPU $BE_CPU, the frontend to CPU $FE_CPU.  Every
# round starts fresh backends; then for each case ONE vu-blkbench process
# connects to both and measures them in alternating windows (ours, peer,
# peer, ours, ... SLICES windows each, SECONDS in total per backend), so both
# see the same background load (this machine is shared).  The round's figure
# per backend is its completions / its measured time.
set -u
out=$1 work=$2 rounds=${3:-5} secs=${4:-4}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/quiet.sh"
B=${VU_BENCH_BUILD:-$here/../../build-bench}
FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0} SLICES=${SLICES:-16}
# BENCH_NICE=-10 runs backends and frontend at a higher CFS priority, to
# measure less of the other jobs sharing the machine (default: 0).
NICE=(nice -n "${BENCH_NICE:-0}")
mkdir -p "$work"

# case name | vu-blkbench arguments | peer (qsd = read-zeroes=on as specified,
# qsdnz = read-zeroes=off: our --null does not write the buffers either)
CASES=(
    "rand4k-qd1-q1|--bs 4096 --rw randread --depth 1 --queues 1|qsd"
    "rand4k-qd32-q1|--bs 4096 --rw randread --depth 32 --queues 1|qsd"
    "seq64k-qd8-q1|--bs 65536 --rw read --depth 8 --queues 1|qsd"
    "rand4k-qd1-q2|--bs 4096 --rw randread --depth 1 --queues 2|qsd"
    "rand4k-qd32-q2|--bs 4096 --rw randread --depth 32 --queues 2|qsd"
    "seq64k-qd8-q2|--bs 65536 --rw read --depth 8 --queues 2|qsd"
    "seq64k-qd8-q1-nozero|--bs 65536 --rw read --depth 8 --queues 1|qsdnz"
    "rand4k-qd1-q1-fepoll|--bs 4096 --rw randread --depth 1 --queues 1 --poll|qsd"
    "rand4k-qd32-q1-fepoll|--bs 4096 --rw randread --depth 32 --queues 1 --poll|qsd"
)
# -fepoll: the frontend spins on the used ring with interrupts suppressed
# (VRING_AVAIL_F_NO_INTERRUPT; a polling driver such as DPDK virtio-user)
# instead of sleeping on the call eventfd.
[ -n "${BLK_CASES:-}" ] && { mapfile -t CASES < <(printf '%s\n' "${CASES[@]}" | grep -E "$BLK_CASES"); }

QSD_ARGS() { # SOCK READ_ZEROES
    echo "--blockdev driver=null-co,node-name=file0,size=2147483648,read-zeroes=$2" \
        "--export type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$1,writable=on,num-queues=2"
}
OURS_ARGS() { echo "--null --num-queues 2 --socket-path $1"; }
{
    echo "ours: taskset -c $BE_CPU vhost-user-blk $(OURS_ARGS SOCK)"
    echo "peer: taskset -c $BE_CPU qemu-storage-daemon $(QSD_ARGS SOCK on)"
    echo "peer (nozero case): taskset -c $BE_CPU qemu-storage-daemon $(QSD_ARGS SOCK off)"
    echo "frontend: taskset -c $FE_CPU vu-blkbench --socket OURS_SOCK --socket PEER_SOCK --time $secs --slices $SLICES --warmup 0.5 <case args>"
    echo "cases: ${CASES[*]}"
    echo "nice: ${BENCH_NICE:-0}"
} >"$work/commands.txt"

pids=()
start() { # NAME SOCK CMD...
    local name=$1 sock=$2
    shift 2
    rm -f "$sock"
    "${NICE[@]}" taskset -c "$BE_CPU" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    eval "pid_$name=$!"
    for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
    echo "run-blk: $name did not listen on $sock" >&2
    return 1
}
stop_all() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    pids=()
}
trap stop_all EXIT

for r in $(seq "$rounds"); do
    start ours "$work/ours.sock" "$B/examples/vhost-user-blk" $(OURS_ARGS "$work/ours.sock") || exit 1
    start qsd "$work/qsd.sock" qemu-storage-daemon $(QSD_ARGS "$work/qsd.sock" on) || exit 1
    start qsdnz "$work/qsdnz.sock" qemu-storage-daemon $(QSD_ARGS "$work/qsdnz.sock" off) || exit 1
    for c in "${CASES[@]}"; do
        IFS='|' read -r name args peer <<<"$c"
        busy=$(wait_quiet 15 "${QUIET_TIMEOUT:-10}")
        eval "ppid=\$pid_$peer"
        # shellcheck disable=SC2086
        line=$("${NICE[@]}" taskset -c "$FE_CPU" "$B/bench/vu-blkbench" --socket "$work/ours.sock" \
            --socket "$work/$peer.sock" --backend-pid "$pid_ours" --backend-pid "$ppid" \
            --time "$secs" --slices "$SLICES" --warmup 0.5 $args) ||
            echo "run-blk: round $r $name failed" >&2
        echo "round=$r case=$name busy_before=$busy% $line" >>"$work/raw.log"
        o=$(sed -n 's/.*\ba_iops=\([0-9.]*\).*/\1/p' <<<"$line")
        p=$(sed -n 's/.*\bb_iops=\([0-9.]*\).*/\1/p' <<<"$line")
        printf 'blk\t%s\t%s\t%s\t%s\tIOPS\n' "$name" "$r" "${o:-0}" "${p:-0}" | tee -a "$out"
    done
    stop_all
done
