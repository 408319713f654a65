#!/bin/bash
# Callgrind instruction counts (Ir) of one vu_queue_pop + vu_queue_push (+
# free of the element) for chains of 1, 3 and 16 descriptors, direct and
# indirect, with 1, 8 and 509 memory regions.
# Usage: run-hotpath.sh OUT_TSV WORKDIR [OPS]
# Layout "same": all buffers of a chain in the last region; "spread": each
# buffer in a different region (see hotpath.c).
# Rows: hotpath <chain>-<direct|indirect>-<layout> <regions> <Ir per op>
# and, for the batch calls of vhost-user-ext.h (one vu_queue_pop_batch and
# one vu_queue_push_batch of 16 chains per op):
#       hotpath <chain>-<direct|indirect>-batch16 <regions> <Ir per element>
set -u
out=$1 work=$2 ops=${3:-2000}
here=$(cd "$(dirname "$0")" && pwd)
B=${VU_BENCH_BUILD:-$here/../../build-bench}
mkdir -p "$work"
echo "valgrind --tool=callgrind --collect-atstart=no --toggle-collect=hot_op_measured vu-hotpath --chain N [--indirect] --regions R --layout same|spread [--batch 16] --ops $ops" \
    >"$work/commands.txt"
for layout in same spread; do
for chain in 1 3 16; do
    [ $layout = spread ] && [ $chain = 1 ] && continue
    for kind in direct indirect; do
        flag=()
        [ $kind = indirect ] && flag=(--indirect)
        for regions in 1 8 509; do
            t=$chain.$kind.$layout.$regions
            f=$work/cg.$t.out
            valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
                --toggle-collect=hot_op_measured "$B/bench/vu-hotpath" --chain $chain "${flag[@]}" \
                --regions $regions --layout $layout --ops "$ops" >"$work/log.$t" 2>&1 ||
                { echo "run-hotpath: $t failed" >&2; continue; }
            ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f")
            printf 'hotpath\t%s-%s-%s\t%s\t%s\n' "$chain" "$kind" "$layout" "$regions" \
                "$(awk -v a="$ir" -v n="$ops" 'BEGIN { printf "%.1f", a / n }')" | tee -a "$out"
        done
    done
done
done
for chain in 1 3 16; do
    for kind in direct indirect; do
        flag=()
        [ $kind = indirect ] && flag=(--indirect)
        for regions in 1 8 509; do
            t=$chain.$kind.batch.$regions
            f=$work/cg.$t.out
            valgrind --tool=callgrind --callgrind-out-file="$f" --collect-atstart=no \
                --toggle-collect=hot_op_measured "$B/bench/vu-hotpath" --chain $chain "${flag[@]}" \
                --regions $regions --batch 16 --ops "$ops" >"$work/log.$t" 2>&1 ||
                { echo "run-hotpath: $t failed" >&2; continue; }
            ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f")
            printf 'hotpath\t%s-%s-batch16\t%s\t%s\n' "$chain" "$kind" "$regions" \
                "$(awk -v a="$ir" -v n="$ops" 'BEGIN { printf "%.1f", a / n / 16 }')" | tee -a "$out"
        done
    done
done
