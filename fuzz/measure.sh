#!/bin/bash
# Executions per second of each fuzz target on one core, counted against the
# CPU time the process used (user + sys), so that a loaded machine does not
# skew the figure.  Usage: fuzz/measure.sh <dir with libFuzzer binaries> [seconds]
#   cmake -C sanitizers/libfuzzer.cmake -S . -B build-fuzz && cmake --build build-fuzz
#   fuzz/measure.sh build-fuzz/fuzz 30
# WITH_OPTIONS=1 adds the flags of fuzz/<target>.options (max_len, as
# run-all.sh and OSS-Fuzz pass them); by default libFuzzer picks max_len from
# the largest seed.
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:?usage: $0 <dir with fuzz_* built with -fsanitize=fuzzer> [seconds]}
SECS=${2:-30}
for t in fuzz_dispatch fuzz_virtq fuzz_memtable fuzz_inflight; do
    work=$(mktemp -d)
    # Seeds only (the regress-* reproducers would stop the run at once).
    cp "$SRC"/corpus/$t/gen-* "$SRC"/corpus/$t/rec-* "$work"/ 2>/dev/null
    opts=()
    if [ "${WITH_OPTIONS:-0}" = 1 ] && [ -f "$SRC/fuzz/$t.options" ]; then
        while IFS='=' read -r k v; do
            k=$(echo "$k" | tr -d ' ')
            v=$(echo "$v" | sed 's/^ *//; s/ *$//')
            case "$k" in max_len | len_control) opts+=("-$k=$v") ;; esac
        done <"$SRC/fuzz/$t.options"
    fi
    out=$( { /usr/bin/time -f "CPU %U %S" taskset -c 0 "$BIN/$t" -max_total_time="$SECS" \
             -timeout=10 -rss_limit_mb=4096 -dict="$SRC/fuzz/$t.dict" -print_final_stats=1 \
             -artifact_prefix="$work/" "${opts[@]}" "$work" ; } 2>&1 )
    runs=$(echo "$out" | awk '/stat::number_of_executed_units/ {print $2}')
    cpu=$(echo "$out" | awk '/^CPU/ {print $2 + $3}')
    crash=$(echo "$out" | grep -c "INVARIANT VIOLATED\|ERROR: AddressSanitizer\|runtime error")
    rate=$(awk -v r="$runs" -v c="$cpu" 'BEGIN { printf "%d", (c > 0 ? r / c : 0) }')
    note=""
    [ "$crash" -gt 0 ] && note=" (stopped early by a finding)"
    echo "$t: $runs runs in ${cpu}s CPU = $rate exec/s per CPU-second$note"
    rm -rf "$work"
done
