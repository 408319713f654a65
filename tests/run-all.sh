#!/usr/bin/env bash
# The project's test command: every check, in the order CI runs them.
#
#   bash tests/run-all.sh
#
# Steps (each timed; the run fails if any step fails):
#   gcc-build    configure + build with gcc, RelWithDebInfo (build/ci/gcc)
#   ctest        every CTest of that build: unit, fuzz replay, abi, install,
#                lint, examples and e2e (QEMU/DPDK) tests
#   memcheck     ctest -T memcheck (valgrind) over the unit and fuzz replay
#                tests; a valgrind defect in any of them fails the step
#   asan-build   configure + build with clang, -DVU_SANITIZE=address,undefined
#   asan-tests   the unit and fuzz replay tests under ASan + UBSan
#   san-canary   \
#   san-msan      | sanitizers/run.sh canary|msan|tsan|coverage, when present:
#   san-tsan      | the negative canaries, MemorySanitizer, ThreadSanitizer,
#   coverage     /  source coverage of lib/ (builds under build/ci/san)
#   fuzz         fuzz/ci.sh when present; otherwise every target built
#                with libFuzzer (+ASan+UBSan) by fuzz/build.sh, each run for
#                VU_FUZZ_SECONDS (60) from its corpus, then AFL++ through
#                fuzz/run_afl.sh on VU_AFL_TARGETS (fuzz_dispatch) for
#                VU_AFL_SECONDS (60); any crash, leak or hang fails the step
#
# Environment:
#   VU_CI_DIR    where builds and logs go (default: <source>/build/ci)
#   VU_STEPS     a space-separated subset of the steps (default: all)
#   VU_JOBS      parallel jobs (default: nproc)
#   CI           when set, a missing tool fails a check instead of skipping
#
# The scripts of the last two steps get VU_SOURCE_DIR, VU_CI_DIR,
# VU_GCC_BUILD and VU_ASAN_BUILD (the finished builds) in their environment.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${VU_CI_DIR:-$src/build/ci}
jobs=${VU_JOBS:-$(nproc 2>/dev/null || echo 2)}
want=${VU_STEPS:-gcc-build ctest memcheck asan-build asan-tests san-canary san-msan san-tsan coverage fuzz}
gcc_dir=$out/gcc
san_root=$out/san
# The ASan+UBSan build sits where sanitizers/run.sh looks for it, so that its
# canary run reuses it instead of building again.
asan_dir=$san_root/asan-ubsan
logs=$out/logs
mkdir -p "$logs"
export VU_SOURCE_DIR=$src VU_CI_DIR=$out VU_GCC_BUILD=$gcc_dir VU_ASAN_BUILD=$asan_dir

# The tests that run under valgrind and the sanitizers: unit and fuzz replay.
dyn_labels='unit|fuzz|replay'
not_dyn_labels='e2e|lint|install|abi|bench'

generator=()
if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi

names=() states=() secs=()
declare -A state_of=()
run_start=$(date +%s)

wanted() { [[ " $want " == *" $1 "* ]]; }
passed() { [ "${state_of[$1]:-}" = PASS ]; }

record() { # NAME STATE SECONDS
    names+=("$1")
    states+=("$2")
    secs+=("$3")
    state_of[$1]=${2%%(*}
}

# run_step NAME COMMAND...: run it, log to $logs/NAME.log and stdout, time it.
run_step() {
    local name=$1 rc start end
    shift
    echo
    echo "======== [$name] $(date -u +%H:%M:%S) UTC ========"
    start=$(date +%s)
    "$@" 2>&1 | tee "$logs/$name.log"
    rc=${PIPESTATUS[0]}
    end=$(date +%s)
    if [ "$rc" -eq 0 ]; then
        record "$name" PASS $((end - start))
    else
        record "$name" "FAIL(exit $rc)" $((end - start))
    fi
    echo "======== [$name] exit $rc after $((end - start))s ========"
}

skip_step() { # NAME REASON
    record "$1" "SKIP: $2" 0
    echo
    echo "======== [$1] SKIPPED: $2 ========"
}

# A tool a step cannot run without: a failure in CI, a skip elsewhere.
in_ci() {
    case "${CI:-}" in
    '' | 0 | false | FALSE | no) return 1 ;;
    *) return 0 ;;
    esac
}

# ctest that fails when no test ran at all.
ctest_in() {
    local dir=$1
    shift
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j "$jobs" "$@")
}

configure_build() {
    local dir=$1
    shift
    cmake -S "$src" -B "$dir" "${generator[@]}" "$@" &&
        cmake --build "$dir" -j "$jobs"
}

# valgrind through CTest.  Options come from MEMORYCHECK_COMMAND_OPTIONS (top
# CMakeLists.txt): an error or a definite/indirect leak makes valgrind exit
# 99, which fails the test.  CTest also counts "defects" from the valgrind
# logs (fd leaks included); a defect fails the step too, except in tests
# labelled "canary", which exist to be caught.
memcheck() {
    local rc=0 canaries bad
    (cd "$gcc_dir" && ctest --no-tests=error -j "$jobs" -T memcheck \
        -L "$dyn_labels" -LE "$not_dyn_labels" --output-on-failure) \
        >"$logs/memcheck.ctest" 2>&1 || rc=1
    cat "$logs/memcheck.ctest"
    canaries=$(cd "$gcc_dir" && ctest -N -L canary 2>/dev/null |
        sed -n 's/^ *Test *#[0-9]*: *//p')
    bad=$(grep -E 'MemCheck: #[0-9]+: .* Defects: [1-9]' "$logs/memcheck.ctest" |
        sed -E 's/.*MemCheck: #([0-9]+): ([^ ]+) .*/\1 \2/' |
        while read -r num name; do
            if ! grep -qx "$name" <<<"$canaries"; then echo "$num $name"; fi
        done)
    # Descriptors still open at exit that the test did not inherit: fd leaks
    # (CTest does not count these as defects itself).
    local log num name
    for log in "$gcc_dir"/Testing/Temporary/MemoryChecker.*.log; do
        [ -f "$log" ] || continue
        num=${log##*MemoryChecker.}
        num=${num%.log}
        name=$(grep -E "MemCheck: #$num: " "$logs/memcheck.ctest" |
            sed -E 's/.*MemCheck: #[0-9]+: ([^ ]+) .*/\1/' | head -n1)
        [ -n "$name" ] || continue
        grep -qx "$name" <<<"$canaries" && continue
        if awk '/Open (file descriptor|[A-Za-z0-9_]+ socket) [0-9]+/ { fd = 1; next }
                fd && /inherited from parent/ { fd = 0; next }
                fd && /==[0-9]+== +(at|by) / { leak = 1 }
                { if (!/^==[0-9]+== *$/) fd = 0 }
                END { exit !leak }' "$log"; then
            echo "---- $name leaks file descriptors:"
            grep -E -A4 'Open (file descriptor|[A-Za-z0-9_]+ socket) [0-9]+' "$log" |
                grep -v 'inherited from parent' | head -n 40
            grep -qE "^$num " <<<"$bad" || bad+=$'\n'"$num $name"
        fi
    done
    bad=$(sed '/^$/d' <<<"$bad")
    if [ -n "$bad" ]; then
        while read -r num name; do
            echo "---- valgrind defects in $name ($gcc_dir/Testing/Temporary/MemoryChecker.$num.log):"
            grep -v -e '^--[0-9]*--' "$gcc_dir/Testing/Temporary/MemoryChecker.$num.log" |
                head -n 80
        done <<<"$bad"
        echo "valgrind defects in: $(cut -d' ' -f2 <<<"$bad" | tr '\n' ' ')"
        rc=1
    fi
    return $rc
}

asan_tests() {
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest_in "$asan_dir" -L "$dyn_labels" -LE "$not_dyn_labels"
}

# A project script a step delegates to: run it when present.
script_step() { # NAME PATH
    if [ -f "$src/$2" ]; then
        run_step "$1" bash "$src/$2"
    else
        skip_step "$1" "$2 not present"
    fi
}

# ---------------------------------------------------------------------------
if wanted gcc-build; then
    run_step gcc-build configure_build "$gcc_dir" \
        -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVU_SANITIZE=
fi

if wanted ctest; then
    if [ -f "$gcc_dir/CTestTestfile.cmake" ] && ! wanted gcc-build || passed gcc-build; then
        run_step ctest ctest_in "$gcc_dir"
    else
        skip_step ctest "the gcc build did not pass"
    fi
fi

if wanted memcheck; then
    if ! command -v valgrind >/dev/null 2>&1; then
        if in_ci; then
            record memcheck "FAIL(valgrind missing)" 0
        else
            skip_step memcheck "valgrind is not installed"
        fi
    elif passed gcc-build || ! wanted gcc-build; then
        run_step memcheck memcheck
    else
        skip_step memcheck "the gcc build did not pass"
    fi
fi

if wanted asan-build; then
    if ! command -v clang >/dev/null 2>&1; then
        if in_ci; then
            record asan-build "FAIL(clang missing)" 0
        else
            skip_step asan-build "clang is not installed"
        fi
    else
        asan_cache=()
        if [ -f "$src/sanitizers/asan-ubsan.cmake" ]; then
            asan_cache=(-C "$src/sanitizers/asan-ubsan.cmake")
        fi
        run_step asan-build configure_build "$asan_dir" "${asan_cache[@]}" \
            -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DVU_SANITIZE=address,undefined -DVU_BUILD_BENCH=OFF
    fi
fi

if wanted asan-tests; then
    if passed asan-build || { ! wanted asan-build && [ -d "$asan_dir" ]; }; then
        run_step asan-tests asan_tests
    else
        skip_step asan-tests "the ASan build did not pass"
    fi
fi

for cfg in canary msan tsan coverage; do
    step=san-$cfg
    [ "$cfg" = coverage ] && step=coverage
    wanted "$step" || continue
    if [ -f "$src/sanitizers/run.sh" ]; then
        run_step "$step" env BUILD_ROOT="$san_root" JOBS="$jobs" \
            bash "$src/sanitizers/run.sh" "$cfg"
    else
        skip_step "$step" "sanitizers/run.sh not present"
    fi
done

# libFuzzer over every target, then AFL++ on a few, time-bounded.
fuzz_builtin() {
    local w=$out/fuzz rc=0 t opts secs=${VU_FUZZ_SECONDS:-60}
    rm -rf "$w"
    mkdir -p "$w/artifacts"
    OUT=$w/bin WORK=$w/obj bash "$src/fuzz/build.sh" || {
        echo "fuzz/build.sh failed"
        return 1
    }
    for bin in "$w"/bin/fuzz_*; do
        [ -x "$bin" ] && [ -f "$bin" ] || continue
        t=$(basename "$bin")
        mkdir -p "$w/corpus/$t"
        # Seeds only: the regress-* reproducers are replayed by CTest already.
        find "$src/corpus/$t" -type f ! -name 'regress-*' \
            -exec cp {} "$w/corpus/$t/" \; 2>/dev/null
        # <target>.options: "key = value" lines become -key=value flags.
        opts=()
        if [ -f "$w/bin/$t.options" ]; then
            while IFS='=' read -r k v; do
                k=$(echo "$k" | tr -d ' ')
                v=$(echo "$v" | sed 's/^ *//; s/ *$//')
                [[ -n "$k" && "$k" != \[* && -n "$v" ]] && opts+=("-$k=$v")
            done <"$w/bin/$t.options"
        fi
        echo "---- $t: ${secs}s, $(ls "$w/corpus/$t" | wc -l) seeds, ${opts[*]}"
        if ! (cd "$w/bin" && "./$t" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$w/artifacts/$t-" "${opts[@]}" "$w/corpus/$t" \
            >"$w/$t.log" 2>&1); then
            echo "$t FAILED:"
            grep -v '^#[0-9]' "$w/$t.log" | tail -n 60
            ls -l "$w/artifacts"
            rc=1
        else
            grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
                "$w/$t.log" | tr '\n' ' '
            echo
        fi
    done
    if [ -f "$src/fuzz/run_afl.sh" ]; then
        if command -v afl-fuzz >/dev/null 2>&1; then
            for t in ${VU_AFL_TARGETS:-fuzz_dispatch}; do
                echo "---- AFL++ $t: ${VU_AFL_SECONDS:-60}s"
                bash "$src/fuzz/run_afl.sh" "$t" "${VU_AFL_SECONDS:-60}" "$w/afl-$t" ||
                    { echo "AFL++ on $t found a crash or hang (or failed)"; rc=1; }
            done
        elif in_ci; then
            echo "afl-fuzz is not installed"
            rc=1
        else
            echo "SKIP AFL++: afl-fuzz is not installed"
        fi
    fi
    return $rc
}

if wanted fuzz; then
    if [ -f "$src/fuzz/ci.sh" ]; then
        script_step fuzz fuzz/ci.sh
    elif [ -f "$src/fuzz/build.sh" ]; then
        if command -v clang >/dev/null 2>&1; then
            run_step fuzz fuzz_builtin
        elif in_ci; then
            record fuzz "FAIL(clang missing)" 0
        else
            skip_step fuzz "clang is not installed"
        fi
    else
        skip_step fuzz "neither fuzz/ci.sh nor fuzz/build.sh present"
    fi
fi

# ---------------------------------------------------------------------------
# Summary: one row per step, and the CTest totals of every ctest run.
total=$(($(date +%s) - run_start))
failed=0
echo
echo "================================ summary ================================"
printf '%-12s %8s  %s\n' step seconds result
for i in "${!names[@]}"; do
    printf '%-12s %8s  %s\n' "${names[$i]}" "${secs[$i]}" "${states[$i]}"
    case ${states[$i]} in FAIL*) failed=$((failed + 1)) ;; esac
done
printf '%-12s %8s\n' total "$total"
# CI allows 90 minutes; the project keeps the whole run under 40.
if [ "$total" -gt 2400 ]; then
    echo "WARNING: the run took $((total / 60)) min, over the 40-minute budget"
fi
echo "logs: $logs"

t_pass=0 t_fail=0 t_skip=0
for step in ctest memcheck asan-tests; do
    [[ " ${names[*]} " == *" $step "* ]] || continue
    f=$logs/$step.log
    [ -f "$f" ] || continue
    line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$f" | tail -n1)
    [ -n "$line" ] || continue
    n_fail=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
    n_all=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    n_skip=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$f" || true)
    t_pass=$((t_pass + n_all - n_fail - n_skip))
    t_fail=$((t_fail + n_fail))
    t_skip=$((t_skip + n_skip))
done
if [ "$failed" -gt 0 ]; then
    echo "RESULT: FAIL ($failed step(s) failed)"
    echo "ctest: $t_pass passed, $t_fail failed, $t_skip skipped"
    exit 1
fi
echo "RESULT: PASS"
echo "ctest: $t_pass passed, $t_fail failed, $t_skip skipped"
exit 0
