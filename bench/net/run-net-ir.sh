#!/bin/bash
# Backend instructions per frame (callgrind Ir), ours vs DPDK's vhost PMD: a
# load-independent complement to the Mpps ratios.  Frontend: testpmd
# net_virtio_user txonly (1 queue pair).  Under callgrind either backend is
# far slower than the frontend, so it never idles (no empty polls, no
# sleeps) once traffic flows.  Each backend runs twice (T1 and T2 seconds of
# traffic); Ir per frame = (Ir(T2) - Ir(T1)) / (frames(T2) - frames(T1)),
# which cancels start-up.  Frames = frames the backend took off its tx ring
# (our "frames in" counter; DPDK testpmd's RX-packets).
# Usage: run-net-ir.sh OUT_TSV WORKDIR [T1] [T2]
# Rows: netir <MODE-SIZE> 1 <ours Ir/frame> <peer Ir/frame> Ir/frame
# Environment: NET_IR_MODE txonly (default) or io (--forward-mode=io
# --tx-first: frames circulate, so the rx path is measured too; frames =
# frames the backend took in); NET_IR_SIZES (default "64 1518").
set -u
out=$1 work=$2 t1=${3:-8} t2=${4:-20}
here=$(cd "$(dirname "$0")" && pwd)
B=${VU_BENCH_BUILD:-$here/../../build-bench}
FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0}
mkdir -p "$work"
echo "valgrind --tool=callgrind <backend as in the Mpps runs>; frontend testpmd txonly --txpkts=SIZE for $t1 s and $t2 s; Ir/frame = dIr / dframes" \
    >"$work/commands.txt"

run() { # BACKEND SIZE SECS -> "Ir frames"
    local be=$1 size=$2 secs=$3 sock=$work/ir.sock cg=$work/ir.cg pid ir fr
    rm -f "$sock" "$cg"
    if [ "$be" = ours ]; then
        taskset -c "$BE_CPU" valgrind --tool=callgrind --callgrind-out-file="$cg" \
            "$B/examples/vhost-user-net" --reflect --socket-path "$sock" >"$work/ir.be.log" 2>&1 &
    else
        taskset -c "$BE_CPU" valgrind --tool=callgrind --callgrind-out-file="$cg" dpdk-testpmd \
            --lcores "0@$BE_CPU,1@$BE_CPU" --no-huge -m 512 --no-pci --file-prefix="vubench-irbe-$$" \
            --vdev "net_vhost0,iface=$sock,queues=1" -- --total-num-mbufs=16384 \
            --forward-mode=macswap --port-topology=loop -a --stats-period 5 >"$work/ir.be.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.1; done
    timeout -s INT "$secs" taskset -c "$FE_CPU" dpdk-testpmd --lcores "0@$FE_CPU,1@$FE_CPU" --no-huge \
        -m 512 --no-pci --file-prefix="vubench-irfe-$$" \
        --vdev "net_virtio_user0,path=$sock,queues=1,queue_size=256" -- --total-num-mbufs=16384 \
        "${fwd[@]}" --port-topology=loop --txpkts="$size" -a --stats-period 1 >"$work/ir.fe.log" 2>&1
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg")
    if [ "$be" = ours ]; then
        fr=$(sed -n 's/.*: \([0-9]*\) frames in.*/\1/p' "$work/ir.be.log" | tail -1)
    else
        fr=$(tr -d '\033' <"$work/ir.be.log" | awk '/Accumulated forward statistics/ { a = 1 } a && $1 == "RX-packets:" { print $2; exit }')
    fi
    echo "$be size=$size secs=$secs ir=$ir frames=$fr" >>"$work/raw.log"
    echo "${ir:-0} ${fr:-0}"
}
per_frame() { # BACKEND SIZE
    local a b
    a=($(run "$1" "$2" "$t1")); b=($(run "$1" "$2" "$t2"))
    awk -v i1="${a[0]}" -v f1="${a[1]}" -v i2="${b[0]}" -v f2="${b[1]}" \
        'BEGIN { if (f2 > f1) printf "%.0f", (i2 - i1) / (f2 - f1); else print 0 }'
}
mode=${NET_IR_MODE:-txonly}
fwd=(--forward-mode=txonly)
[ "$mode" = io ] && fwd=(--forward-mode=io --tx-first)
for size in ${NET_IR_SIZES:-64 1518}; do
    o=$(per_frame ours "$size")
    p=$(per_frame dpdk "$size")
    printf 'netir\t%s-%s\t1\t%s\t%s\tIr/frame\n' "$mode" "$size" "$o" "$p" | tee -a "$out"
done
