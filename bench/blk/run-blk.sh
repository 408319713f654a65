#!/bin/bash
# vhost-user-blk IOPS: our examples/vhost-user-blk --null against
# qemu-storage-daemon's vhost-user-blk export of a null-co node (QEMU's own
# libvhost-user), both driven by bench/blk vu-blkbench.
# Usage: run-blk.sh OUT_TSV WORKDIR [ROUNDS] [SECONDS]
# Rows: blk <case> <round> <ours_iops> <peer_iops> IOPS
# Backends are pinned to CPU $BE_CPU, the frontend to CPU $FE_CPU.  Every
# round starts fresh backends, then runs each case once on each backend,
# alternating which goes first.
set -u
out=$1 work=$2 rounds=${3:-5} secs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
B=${VU_BENCH_BUILD:-$here/../../build-bench}
FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0}
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
)
[ -n "${BLK_CASES:-}" ] && { mapfile -t CASES < <(printf '%s\n' "${CASES[@]}" | grep -E "$BLK_CASES"); }

QSD_ARGS() { # SOCK READ_ZEROES
    echo "--blockdev driver=null-co,node-name=file0,size=2147483648,read-zeroes=$2" \
        "--export type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$1,writable=on,num-queues=2"
}
OURS_ARGS() { echo "--null --num-queues 2 --socket-path $1"; }
echo "ours: vhost-user-blk $(OURS_ARGS SOCK)" >"$work/commands.txt"
echo "peer: qemu-storage-daemon $(QSD_ARGS SOCK on)" >>"$work/commands.txt"
echo "peer (nozero case): qemu-storage-daemon $(QSD_ARGS SOCK off)" >>"$work/commands.txt"
echo "frontend: taskset -c $FE_CPU vu-blkbench --socket SOCK --time $secs --warmup 0.5 <case args>" >>"$work/commands.txt"

pids=()
start() { # NAME SOCK CMD...
    local name=$1 sock=$2
    shift 2
    rm -f "$sock"
    taskset -c "$BE_CPU" "$@" >"$work/$name.log" 2>&1 &
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

one() { # BACKEND_NAME CASE_ARGS -> iops
    local name=$1 args=$2 pid sock line
    eval "pid=\$pid_$name"
    sock=$work/$name.sock
    # shellcheck disable=SC2086
    line=$(taskset -c "$FE_CPU" "$B/bench/vu-blkbench" --socket "$sock" --time "$secs" \
        --warmup 0.5 --backend-pid "$pid" $args) || { echo "run-blk: $name $args failed" >&2; echo 0; return; }
    echo "$name $args $line" >>"$work/raw.log"
    sed -n 's/^iops=\([0-9.]*\) .*/\1/p' <<<"$line"
}

for r in $(seq "$rounds"); do
    start ours "$work/ours.sock" "$B/examples/vhost-user-blk" $(OURS_ARGS "$work/ours.sock") || exit 1
    start qsd "$work/qsd.sock" qemu-storage-daemon $(QSD_ARGS "$work/qsd.sock" on) || exit 1
    start qsdnz "$work/qsdnz.sock" qemu-storage-daemon $(QSD_ARGS "$work/qsdnz.sock" off) || exit 1
    for c in "${CASES[@]}"; do
        IFS='|' read -r name args peer <<<"$c"
        if [ $((r % 2)) = 1 ]; then
            o=$(one ours "$args"); p=$(one "$peer" "$args")
        else
            p=$(one "$peer" "$args"); o=$(one ours "$args")
        fi
        printf 'blk\t%s\t%s\t%s\t%s\tIOPS\n' "$name" "$r" "$o" "$p" | tee -a "$out"
    done
    stop_all
done
