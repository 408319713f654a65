#!/bin/bash
# One command per checking configuration:
#
#   sanitizers/run.sh asan-ubsan   ASan+UBSan build, unit tests + corpus replays +
#                                  the negative canary (must be reported)
#   sanitizers/run.sh msan         MemorySanitizer (clang), unit tests + replays
#   sanitizers/run.sh tsan         ThreadSanitizer, unit tests + replays
#   sanitizers/run.sh valgrind     gcc build, `ctest -T memcheck` (leaks, fd
#                                  leaks, errors fail), then the canary under
#                                  valgrind (must be reported)
#   sanitizers/run.sh coverage     clang source coverage of lib/: line and
#                                  branch coverage from the corpus replays alone,
#                                  then from corpus + unit tests
#   sanitizers/run.sh canary       only the two canary checks
#
# Environment: BUILD_ROOT (default <src>/build-san), LABELS (ctest label regex,
# default "unit|fuzz|canary"), JOBS (default nproc), COV_FLOOR_CORPUS /
# COV_FLOOR_ALL (line-coverage floors of lib/ in percent from the corpus
# replays alone / with the unit tests, default 95 and 98.5: below them the run
# fails); COV_STRICT=1 raises them to the targets, 95 and 98 (both already met
# by default).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
NAME=${1:-}
BUILD_ROOT=${BUILD_ROOT:-$SRC/build-san}
LABELS=${LABELS:-unit|fuzz|canary}
JOBS=${JOBS:-$(nproc)}

die() { echo "run.sh: $*" >&2; exit 1; }

configure_build() { # $1 = config name
    local b="$BUILD_ROOT/$1"
    cmake -C "$SRC/sanitizers/$1.cmake" -S "$SRC" -B "$b" >/dev/null || die "configure $1 failed"
    cmake --build "$b" -j "$JOBS" >/dev/null || { cmake --build "$b" -j 1; die "build $1 failed"; }
    echo "$b"
}

# The canary must be reported; a quiet run means the checker is blind.
canary_asan() {
    local b; b=$(configure_build asan-ubsan) || exit 1
    if "$b/fuzz/vu_canary_overread" 2>&1 | grep -q "heap-buffer-overflow"; then
        echo "canary: ASan reported the one-byte heap over-read (good)"
    else
        die "canary: ASan did NOT report the over-read"
    fi
}

canary_valgrind() {
    local b; b=$(configure_build valgrind) || exit 1
    local out rc
    out=$(valgrind --error-exitcode=99 "$b/fuzz/vu_canary_overread" 2>&1); rc=$?
    if [ $rc -eq 99 ] && echo "$out" | grep -q "Invalid read of size 1"; then
        echo "canary: valgrind reported the one-byte heap over-read (good)"
    else
        echo "$out" >&2
        die "canary: valgrind did NOT report the over-read (exit $rc)"
    fi
}

run_ctest() { # $1 = build dir, rest = extra ctest args
    local b=$1; shift
    ctest --test-dir "$b" -L "$LABELS" --output-on-failure -j "$JOBS" "$@"
}

coverage_report() { # $1 build dir, $2 label regex, $3 title, $4 floor, $5 target (%)
    local b=$1 labels=$2 title=$3 floor=$4 prof="$1/profiles/$2"
    rm -rf "$prof"; mkdir -p "$prof"
    LLVM_PROFILE_FILE="$prof/%p-%m.profraw" ctest --test-dir "$b" -L "$labels" -j "$JOBS" \
        >"$prof/ctest.log" 2>&1 || echo "($title: some tests failed, see $prof/ctest.log)"
    llvm-profdata merge -sparse "$prof"/*.profraw -o "$prof/merged.profdata" || die "merge"
    local objs=() f
    for f in "$b"/fuzz/fuzz_* "$b"/tests/test_*; do
        [ -x "$f" ] && [ -f "$f" ] && objs+=(-object "$f")
    done
    local total
    total=$(llvm-cov report "${objs[@]:1}" -instr-profile "$prof/merged.profdata" \
            "$SRC/lib/src" | grep '^TOTAL')
    # TOTAL regions missed cover% functions missed exec% lines missed cover% branches missed cover%
    local lines branches
    lines=$(echo "$total" | awk '{print $10}')
    branches=$(echo "$total" | awk '{print $13}')
    echo "coverage of lib/ from $title: lines $lines, branches $branches"
    echo "  (per file: llvm-cov report ${objs[*]:1} -instr-profile $prof/merged.profdata $SRC/lib/src)"
    # The floor fails the run on a regression; it sits at what the suite
    # reaches today, below the project's targets (95% corpus alone, 98% with
    # the unit tests), which COV_STRICT=1 enforces instead.
    if [ "${COV_STRICT:-0}" = 1 ] && awk -v t="$5" -v f="$floor" 'BEGIN { exit !(t > f) }'; then
        floor=$5 # never lower a floor that is already above the target
    fi
    awk -v l="${lines%\%}" -v f="$floor" 'BEGIN { exit !(l >= f) }' ||
        die "line coverage of lib/ from $title is $lines, below the floor of $floor%"
    echo "  line floor $floor%: met"
}

case "$NAME" in
asan-ubsan|msan|tsan)
    b=$(configure_build "$NAME") || exit 1
    if [ "$NAME" = msan ] || [ "$NAME" = tsan ]; then
        LABELS=${LABELS//|canary/}
    fi
    run_ctest "$b" || die "$NAME: tests failed"
    [ "$NAME" = asan-ubsan ] && canary_asan
    echo "$NAME: OK"
    ;;
valgrind)
    b=$(configure_build valgrind) || exit 1
    LABELS=${LABELS//|canary/}
    ctest --test-dir "$b" -T memcheck -L "$LABELS" --output-on-failure -j "$JOBS" ||
        die "valgrind: memcheck found defects or tests failed (logs: $b/Testing/Temporary/MemoryChecker.*.log)"
    canary_valgrind
    echo "valgrind: OK"
    ;;
coverage)
    b=$(configure_build coverage) || exit 1
    coverage_report "$b" "fuzz" "the corpus replays alone" "${COV_FLOOR_CORPUS:-95}" 95
    coverage_report "$b" "unit|fuzz" "corpus replays + unit tests" "${COV_FLOOR_ALL:-98.5}" 98
    ;;
canary)
    canary_asan
    canary_valgrind
    ;;
*)
    die "usage: $0 asan-ubsan|msan|tsan|valgrind|coverage|canary"
    ;;
esac
