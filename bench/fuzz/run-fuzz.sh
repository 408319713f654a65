#!/bin/bash
# exec/s of each libFuzzer target under ASan+UBSan on one core.
# Builds with fuzz/build.sh when it exists (OSS-Fuzz style: CC, CFLAGS,
# LIB_FUZZING_ENGINE, OUT), else with CMake (VU_FUZZ_ENGINE=libfuzzer,
# VU_SANITIZE=address,undefined, clang).  Each target runs for SECONDS from
# a scratch copy of corpus/<target> (when present), pinned to CPU $FUZZ_CPU.
# Usage: run-fuzz.sh OUT_TSV WORKDIR [SECONDS]
# Rows: fuzz <target> <exec/s> <executions> <corpus files>
set -u
out=$1 work=$2 secs=${3:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$work/bin
mkdir -p "$work" "$bin"
if [ -x "$root/fuzz/build.sh" ] || [ -f "$root/fuzz/build.sh" ]; then
    how="fuzz/build.sh (CC=clang CFLAGS='-O1 -g -fsanitize=address,undefined -fsanitize=fuzzer-no-link' LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$bin)"
    (cd "$root" && CC=clang CXX=clang++ CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link" \
        LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$bin SANITIZER=address WORK=$work/build-sh \
        bash fuzz/build.sh) >"$work/build.log" 2>&1 || { echo "run-fuzz: fuzz/build.sh failed (see $work/build.log)" >&2; how=""; }
fi
if [ -z "$(find "$bin" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null)" ]; then
    how="cmake -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVU_FUZZ_ENGINE=libfuzzer -DVU_SANITIZE=address,undefined"
    b=$root/build-bench-fuzz
    { cmake -S "$root" -B "$b" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVU_FUZZ_ENGINE=libfuzzer -DVU_SANITIZE=address,undefined -DVU_BUILD_TESTS=OFF \
        -DVU_BUILD_EXAMPLES=OFF -DVU_BUILD_BENCH=OFF && cmake --build "$b" -j2; } >"$work/build.log" 2>&1 ||
        { echo "run-fuzz: build failed (see $work/build.log)" >&2; exit 1; }
    for f in "$b"/fuzz/fuzz_*; do [ -x "$f" ] && cp "$f" "$bin/"; done
fi
echo "build: $how" >"$work/commands.txt"
echo "run: taskset -c ${FUZZ_CPU:-0} TARGET -max_total_time=$secs -print_final_stats=1 -seed=1 SCRATCH_CORPUS_COPY" >>"$work/commands.txt"
for t in "$bin"/fuzz_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    c=$work/corpus-$name
    rm -rf "$c"; mkdir -p "$c"
    [ -d "$root/corpus/$name" ] && cp -r "$root/corpus/$name/." "$c/"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1} \
        taskset -c "${FUZZ_CPU:-0}" "$t" -max_total_time="$secs" -print_final_stats=1 -seed=1 \
        "$c" >"$work/$name.log" 2>&1
    rc=$?
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$name.log")
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
    [ $rc = 0 ] || echo "run-fuzz: $name exited $rc (see $work/$name.log)" >&2
    printf 'fuzz\t%s\t%s\t%s\t%s\n' "$name" "${eps:-0}" "${n:-0}" "$(find "$c" -type f | wc -l)" | tee -a "$out"
done
