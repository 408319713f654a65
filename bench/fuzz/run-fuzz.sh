#!/bin/bash
# exec/s of each libFuzzer target under ASan+UBSan on one core.
# Builds with fuzz/build.sh (OSS-Fuzz style; its default CFLAGS are
# -g -O1 -fsanitize=address,undefined) when it exists, else with CMake
# (VU_FUZZ_ENGINE=libfuzzer, VU_SANITIZE=address,undefined, clang).  Each
# target runs for SECONDS pinned to CPU $FUZZ_CPU from a scratch copy of its
# hand-made and recorded seeds (corpus/<target>/gen-* rec-*; the regress-*
# reproducers would end the run at once), with its .dict and .options.
# Two figures: libFuzzer's own average exec/s (wall clock) and executions
# per CPU-second of the process (user + sys: robust when the machine is
# shared, as fuzz/measure.sh does).
# ROUNDS rounds (default 1) alternate the targets (round r runs every target
# once, with -seed=r), so that machine noise and the fuzzer's trajectory both
# show in the spread; the summary reports the median and min-max.
# Usage: run-fuzz.sh OUT_TSV WORKDIR [SECONDS] [ROUNDS]
# Rows: fuzz <target> <exec/s wall> <executions> <exec per CPU-s> <finding> <round>
set -u
out=$1 work=$2 secs=${3:-20} rounds=${4:-1}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$work/bin
rm -rf "$bin"; mkdir -p "$work" "$bin"
how=""
if [ -f "$root/fuzz/build.sh" ]; then
    how="CC=clang OUT=DIR bash fuzz/build.sh (default CFLAGS: -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all; -fsanitize=fuzzer)"
    (cd "$root" && CC=clang OUT=$bin WORK=$work/build-sh bash fuzz/build.sh) >"$work/build.log" 2>&1 ||
        { echo "run-fuzz: fuzz/build.sh failed (see $work/build.log)" >&2; how=""; }
fi
if [ -z "$how" ]; then
    how="cmake -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVU_FUZZ_ENGINE=libfuzzer -DVU_SANITIZE=address,undefined"
    b=$root/build-bench-fuzz
    { cmake -S "$root" -B "$b" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVU_FUZZ_ENGINE=libfuzzer -DVU_SANITIZE=address,undefined -DVU_BUILD_TESTS=OFF \
        -DVU_BUILD_EXAMPLES=OFF -DVU_BUILD_BENCH=OFF && cmake --build "$b" -j2; } >"$work/build.log" 2>&1 ||
        { echo "run-fuzz: build failed (see $work/build.log)" >&2; exit 1; }
    for f in "$b"/fuzz/fuzz_*; do [ -x "$f" ] && cp "$f" "$bin/"; done
fi
{
    echo "build: $how"
    echo "run: taskset -c ${FUZZ_CPU:-0} TARGET -max_total_time=$secs -print_final_stats=1 -seed=ROUND -timeout=10 -rss_limit_mb=4096 [-dict=fuzz/TARGET.dict] [-max_len from fuzz/TARGET.options] SCRATCH_COPY_OF_SEEDS"
    echo "rounds: $rounds (targets alternate within each round); measured $(date -u +%FT%TZ) at $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
} >"$work/commands.txt"
for round in $(seq "$rounds"); do
for t in "$bin"/fuzz_*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    case $t in *.dict|*.options|*.zip) continue ;; esac
    name=$(basename "$t")
    c=$work/corpus-$name
    rm -rf "$c"; mkdir -p "$c"
    cp "$root"/corpus/"$name"/gen-* "$root"/corpus/"$name"/rec-* "$c"/ 2>/dev/null
    extra=()
    [ -f "$root/fuzz/$name.dict" ] && extra+=(-dict="$root/fuzz/$name.dict")
    ml=$(sed -n 's/^max_len *= *//p' "$root/fuzz/$name.options" 2>/dev/null)
    [ -n "$ml" ] && extra+=(-max_len="$ml")
    /usr/bin/time -f "CPU %U %S" -o "$work/$name.time" taskset -c "${FUZZ_CPU:-0}" "$t" \
        -max_total_time="$secs" -print_final_stats=1 -seed="$round" -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="$work/$name-" "${extra[@]}" "$c" >"$work/$name.log" 2>&1
    rc=$?
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$name.log")
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
    cpu=$(awk '/^CPU/ { print $2 + $3 }' "$work/$name.time")
    finding=none
    if [ $rc != 0 ]; then
        finding=$(grep -m1 -o "INVARIANT VIOLATED.*\|ERROR: AddressSanitizer: [a-z-]*\|runtime error.*\|ERROR: libFuzzer: [a-z -]*" "$work/$name.log" | head -1 | tr '\t|' '  ' | cut -c1-80)
        echo "run-fuzz: $name exited $rc: $finding (see $work/$name.log)" >&2
    fi
    printf 'fuzz\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${eps:-0}" "${n:-0}" \
        "$(awk -v r="${n:-0}" -v c="${cpu:-0}" 'BEGIN { printf "%d", (c > 0 ? r / c : 0) }')" "${finding:-none}" "$round" | tee -a "$out"
done
done
