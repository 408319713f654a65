#!/bin/bash
# Build one target for AFL++ (ASan+UBSan build plus a cmplog build) and fuzz
# it for a while; exit status 1 when AFL saved a crash or a hang.
#
#   fuzz/run_afl.sh <target> [seconds] [work dir]
#
# Works as root in CI: the cpufreq, core_pattern and CPU-affinity checks are
# turned off through the environment.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=${1:?usage: $0 <target> [seconds] [work dir]}
SECS=${2:-60}
W=${3:-$(mktemp -d)}
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
       AFL_NO_UI=1 AFL_SKIP_CRASHES=1 AFL_QUIET=1
mkdir -p "$W/in"
CC=afl-clang-fast CFLAGS="-g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all" \
    OUT="$W/afl" WORK="$W/obj" "$SRC/fuzz/build.sh" >/dev/null || exit 2
AFL_LLVM_CMPLOG=1 CC=afl-clang-fast CFLAGS="-g -O1" OUT="$W/cmplog" WORK="$W/obj-cmplog" \
    "$SRC/fuzz/build.sh" >/dev/null || exit 2
# AFL wants small seeds; regress-* would stop it at once.
find "$SRC/corpus/$T" -type f ! -name 'regress-*' -size -64k -exec cp {} "$W/in/" \;
ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0 \
    afl-fuzz -V "$SECS" -i "$W/in" -o "$W/out" -m none -t 10000 -x "$SRC/fuzz/$T.dict" \
             -c "$W/cmplog/$T" -- "$W/afl/$T"
grep -E "execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs" \
    "$W/out/default/fuzzer_stats"
crashes=$(awk '/saved_crashes/ {print $3}' "$W/out/default/fuzzer_stats")
hangs=$(awk '/saved_hangs/ {print $3}' "$W/out/default/fuzzer_stats")
[ "${crashes:-0}" = 0 ] && [ "${hangs:-0}" = 0 ]
