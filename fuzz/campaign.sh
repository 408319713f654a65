#!/bin/bash
# A fuzzing campaign: every target under libFuzzer and under AFL++ (with
# cmplog), all at once, for the same wall time, then a summary per run.
#
#   fuzz/campaign.sh <seconds> <work dir> [targets...]
#
# Each run starts from corpus/<target> (without the regress-* reproducers,
# which are replayed by the tests) and uses the target's dictionary.  The
# runs are niced so that the machine stays usable.  Findings land in
# <work dir>/lf-<target>/artifacts and <work dir>/afl-<target>/out/default/
# {crashes,hangs}; the summary is <work dir>/summary.tsv:
#   engine target seconds executions crashes_or_hangs
# Exit status 1 when any run found something.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:?usage: $0 <seconds> <work dir> [targets...]}
W=${2:?usage: $0 <seconds> <work dir> [targets...]}
shift 2
TARGETS=${*:-fuzz_dispatch fuzz_virtq fuzz_memtable fuzz_inflight}
mkdir -p "$W"
git -C "$SRC" rev-parse --short HEAD >"$W/commit.txt" 2>/dev/null
date -u >"$W/start.txt"

OUT="$W/lf-bin" WORK="$W/lf-obj" "$SRC/fuzz/build.sh" >"$W/build-lf.log" 2>&1 ||
    { echo "campaign: libFuzzer build failed (see $W/build-lf.log)" >&2; exit 2; }

pids=()
for t in $TARGETS; do
    d="$W/lf-$t"
    mkdir -p "$d/corpus" "$d/artifacts"
    find "$SRC/corpus/$t" -type f ! -name 'regress-*' -exec cp {} "$d/corpus/" \;
    # -fork keeps the run going after a finding, so one bug does not end the
    # campaign of its target; every finding is kept in artifacts/.
    nice -n 10 "$W/lf-bin/$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$SECS" -timeout=10 -rss_limit_mb=4096 -dict="$SRC/fuzz/$t.dict" \
        -artifact_prefix="$d/artifacts/" -print_final_stats=1 "$d/corpus" >"$d/log" 2>&1 &
    pids+=($!)
    nice -n 10 "$SRC/fuzz/run_afl.sh" "$t" "$SECS" "$W/afl-$t" >"$W/afl-$t.log" 2>&1 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
date -u >"$W/end.txt"

found=0
: >"$W/summary.tsv"
for t in $TARGETS; do
    d="$W/lf-$t"
    # With -fork the workers' stats are summed in the "#N ... exec/s" lines
    # of the parent; take the last count it printed.
    execs=$(grep -o '^#[0-9]*' "$d/log" | tail -1 | tr -d '#')
    n=$(find "$d/artifacts" -type f | wc -l)
    printf 'libfuzzer\t%s\t%s\t%s\t%s\n' "$t" "$SECS" "${execs:-0}" "$n" >>"$W/summary.tsv"
    [ "$n" -gt 0 ] && found=1
    st="$W/afl-$t/out/default/fuzzer_stats"
    execs=$(awk '/^execs_done/ {print $3}' "$st" 2>/dev/null)
    n=$(find "$W/afl-$t/out/default/crashes" "$W/afl-$t/out/default/hangs" -type f \
        ! -name README.txt 2>/dev/null | wc -l)
    printf 'afl++\t%s\t%s\t%s\t%s\n' "$t" "$SECS" "${execs:-0}" "$n" >>"$W/summary.tsv"
    [ "$n" -gt 0 ] && found=1
done
column -t "$W/summary.tsv"
exit "$found"
