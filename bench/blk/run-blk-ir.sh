#!/bin/bash
# Backend instructions per request (callgrind Ir), ours vs qemu-storage-daemon:
# a load-independent complement to the IOPS ratios (the machine is shared).
# Each backend runs under callgrind twice, serving N1 and then N2 requests
# from vu-blkbench; Ir per request = (Ir(N2) - Ir(N1)) / (total2 - total1),
# which cancels start-up and handshake.
# Usage: run-blk-ir.sh OUT_TSV WORKDIR [N1] [N2]
# Rows: blkir <case> 1 <ours Ir/req> <peer Ir/req> Ir/req
set -u
out=$1 work=$2 n1=${3:-5000} n2=${4:-25000}
here=$(cd "$(dirname "$0")" && pwd)
B=${VU_BENCH_BUILD:-$here/../../build-bench}
FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0}
mkdir -p "$work"
CASES=(
    "rand4k-qd1-q1|--bs 4096 --rw randread --depth 1 --queues 1|on"
    "rand4k-qd32-q1|--bs 4096 --rw randread --depth 32 --queues 1|on"
    "seq64k-qd8-q1|--bs 65536 --rw read --depth 8 --queues 1|on"
    "seq64k-qd8-q1-nozero|--bs 65536 --rw read --depth 8 --queues 1|off"
)
[ -n "${BLK_CASES:-}" ] && { mapfile -t CASES < <(printf '%s\n' "${CASES[@]}" | grep -E "$BLK_CASES"); }
echo "valgrind --tool=callgrind <backend as in the IOPS runs>; vu-blkbench --socket SOCK --ios N --warmup 0.001 <case args>, N = $n1 and $n2; Ir/req = dIr / d(total_ios)" \
    >"$work/commands.txt"

# run BACKEND ZEROES CASE_ARGS N -> "Ir total_ios"
run() {
    local be=$1 z=$2 args=$3 n=$4 sock=$work/ir.sock cg=$work/ir.cg pid line ir tot
    rm -f "$sock" "$cg"
    if [ "$be" = ours ]; then
        taskset -c "$BE_CPU" valgrind --tool=callgrind --callgrind-out-file="$cg" \
            "$B/examples/vhost-user-blk" --null --num-queues 2 --socket-path "$sock" >"$work/ir.be.log" 2>&1 &
    else
        taskset -c "$BE_CPU" valgrind --tool=callgrind --callgrind-out-file="$cg" qemu-storage-daemon \
            --blockdev "driver=null-co,node-name=file0,size=2147483648,read-zeroes=$z" \
            --export "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$sock,writable=on,num-queues=2" \
            >"$work/ir.be.log" 2>&1 &
    fi
    pid=$!
    for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
    # shellcheck disable=SC2086
    line=$(taskset -c "$FE_CPU" "$B/bench/vu-blkbench" --socket "$sock" --ios "$n" --warmup 0.001 $args)
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg")
    tot=$(sed -n 's/.*total_ios=\([0-9]*\).*/\1/p' <<<"$line")
    echo "$be z=$z n=$n $args ir=$ir $line" >>"$work/raw.log"
    echo "$ir $tot"
}
per_req() { # BACKEND ZEROES ARGS
    local a b
    a=($(run "$1" "$2" "$3" "$n1")); b=($(run "$1" "$2" "$3" "$n2"))
    awk -v i1="${a[0]}" -v t1="${a[1]}" -v i2="${b[0]}" -v t2="${b[1]}" \
        'BEGIN { if (t2 > t1) printf "%.0f", (i2 - i1) / (t2 - t1); else print 0 }'
}
for c in "${CASES[@]}"; do
    IFS='|' read -r name args z <<<"$c"
    o=$(per_req ours "$z" "$args")
    p=$(per_req qsd "$z" "$args")
    printf 'blkir\t%s\t1\t%s\t%s\tIr/req\n' "$name" "$o" "$p" | tee -a "$out"
done
