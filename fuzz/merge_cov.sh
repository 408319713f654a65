#!/bin/bash
# Keep, as corpus/<target>/cov-<sha1>, the inputs of a fuzzing campaign that
# reach edges the committed corpus does not (libFuzzer merge, edges only).
#
#   fuzz/merge_cov.sh <dir with libFuzzer binaries> <target> <campaign corpus dir>...
#
# Inputs that make the target report a finding are left out (they belong in
# regress-* once understood).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=$1; T=$2; shift 2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/A"
cp "$SRC"/corpus/"$T"/* "$W/A/"
before=$(ls "$W/A" | sort)
(cd "$W" && "$BIN/$T" -merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=4096 "$W/A" "$@" \
    >"$W/merge.log" 2>&1) || true
grep -E "MERGE-OUTER: [0-9]+ new" "$W/merge.log" | tail -1
n=0
for f in $(comm -13 <(echo "$before") <(ls "$W/A" | sort)); do
    if "$BIN/$T" -runs=1 "$W/A/$f" >"$W/run.log" 2>&1; then
        cp "$W/A/$f" "$SRC/corpus/$T/cov-$f"
        n=$((n + 1))
    else
        echo "left out (finding): $f"
    fi
done
echo "$T: $n cov-* inputs added"
