#!/bin/bash
# Run the benchmarks and write bench/results.md and bench/results.png.
#
#   bash bench/run.sh                      # everything (about 25 minutes)
#   bash bench/run.sh --only blk,hotpath   # a subset: blk blkir net netir hotpath fuzz
#   bash bench/run.sh --rounds 3 --quick   # fewer rounds, shorter runs
#
# Benches: blk (IOPS vs qemu-storage-daemon), blkir (backend Ir per request
# vs qemu-storage-daemon, callgrind), net (Mpps vs DPDK vhost), netir
# (backend Ir per frame vs DPDK vhost, callgrind; not in the default set:
# DPDK picks other SIMD paths under valgrind, and load skews the
# difference method), hotpath
# (callgrind Ir of pop+push), fuzz (exec/s).
# Options: --only LIST, --rounds N (>= 5 for reported figures), --quick,
# --no-build, --build DIR (default build-bench), --out DIR (raw logs,
# default bench/out), --results NAME (bench/NAME.md and .png; default
# results).  BENCH_NICE=-10 runs the blk processes at a higher priority.  Environment: FE_CPU / BE_CPU (default 1 / 0).
# Speed figures are ratios ours/peer measured in the same run, alternating
# ours and peer within every round.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
only="blk,blkir,net,hotpath,fuzz" rounds=5 quick=0 build=1
B=$root/build-bench out=$here/out results=results
while [ $# -gt 0 ]; do
    case $1 in
    --only) only=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --build) B=$2; shift ;;
    --out) out=$2; shift ;;
    --results) results=$2; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 1 ;;
    esac
    shift
done
export VU_BENCH_BUILD=$B FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0}
blk_secs=4 net_secs=12 fuzz_secs=20 hot_ops=2000 ir_n1=5000 ir_n2=25000 nir_t1=8 nir_t2=20
[ $quick = 1 ] && { blk_secs=2; net_secs=7; fuzz_secs=5; hot_ops=500; ir_n1=2000; ir_n2=6000; nir_t1=6; nir_t2=10; }
want() { [[ ",$only," == *",$1,"* ]]; }

if [ $build = 1 ]; then
    { cmake -S "$root" -B "$B" -DCMAKE_BUILD_TYPE=Release && cmake --build "$B" -j2; } >"$out.build.log" 2>&1 ||
        { echo "run.sh: build failed (see $out.build.log)" >&2; exit 1; }
fi
mkdir -p "$out"
start=$(date -u +%FT%TZ)
for b in blk blkir net netir hotpath fuzz; do
    want $b || continue
    rm -f "$out/$b.tsv"; rm -rf "$out/$b"
    echo "== $b ($(date -u +%T))"
    case $b in
    blk) bash "$here/blk/run-blk.sh" "$out/blk.tsv" "$out/blk" "$rounds" "$blk_secs" ;;
    blkir) bash "$here/blk/run-blk-ir.sh" "$out/blkir.tsv" "$out/blkir" "$ir_n1" "$ir_n2" ;;
    net) bash "$here/net/run-net.sh" "$out/net.tsv" "$out/net" "$rounds" "$net_secs" ;;
    netir) bash "$here/net/run-net-ir.sh" "$out/netir.tsv" "$out/netir" "$nir_t1" "$nir_t2" ;;
    hotpath) bash "$here/hotpath/run-hotpath.sh" "$out/hotpath.tsv" "$out/hotpath" "$hot_ops" ;;
    fuzz) bash "$here/fuzz/run-fuzz.sh" "$out/fuzz.tsv" "$out/fuzz" "$fuzz_secs" "$rounds" ;;
    esac
done

{
    echo "started=$start"
    echo "finished=$(date -u +%FT%TZ)"
    echo "command=bash bench/run.sh $*"
    echo "rounds=$rounds quick=$quick blk_secs=$blk_secs net_secs=$net_secs fuzz_secs=$fuzz_secs hot_ops=$hot_ops"
    echo "cpus=frontend on CPU $FE_CPU, backend on CPU $BE_CPU (taskset); blk nice ${BENCH_NICE:-0}"
    echo "load=$(cut -d' ' -f1-3 /proc/loadavg) (load average at the end of the run: other jobs share this machine)"
    echo "nproc=$(nproc)"
    echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
    echo "kernel=$(uname -srm)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "git=$(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet HEAD -- lib examples 2>/dev/null || echo ' (+ uncommitted lib/examples changes)')"
    echo "cc=$(cc --version | head -1)"
    echo "qsd=$(qemu-storage-daemon --version | head -1)"
    echo "testpmd=$(dpkg-query -W -f='dpdk-dev ${Version}' dpdk-dev 2>/dev/null)"
    echo "valgrind=$(valgrind --version)"
    echo "clang=$(clang --version | head -1)"
} >"$out/meta.txt"
python3 "$here/summarize.py" "$out" "$here/$results.md" "$here/$results.png"
