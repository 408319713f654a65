#!/usr/bin/env bash
# Lint checks, one per CTest (label "lint"):
#   run.sh format   SOURCE_DIR            clang-format --dry-run -Werror on every
#                                         C file of lib/ tests/ fuzz/ examples/ bench/
#   run.sh tidy     SOURCE_DIR BUILD_DIR  clang-tidy (.clang-tidy) on lib/src/*.c
#   run.sh cppcheck SOURCE_DIR            cppcheck on lib/
#   run.sh fix      SOURCE_DIR [DIRS...]  clang-format -i the same files (all,
#                                         or only those under DIRS, e.g. lib)
# Exit 0 clean, 1 findings, 77 tool missing (a failure when CI is set).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../layout/common.sh"

[ $# -ge 2 ] || vu_fail "usage: $0 format|tidy|cppcheck|fix SOURCE_DIR [BUILD_DIR|DIRS]"
what=$1 src=$(cd "$2" && pwd) build=${3:-}
shift 2
dirs=("$@")
jobs=$(nproc 2>/dev/null || echo 2)

# The project's own C sources and headers (not fuzz corpora or generated files).
c_files() {
    (cd "$src" && find lib tests fuzz examples bench \
        \( -name corpus -o -name 'corpus*' -o -name build -o -name out \) -prune -o \
        -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | sort)
}

case $what in
format)
    vu_need clang-format
    echo "clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -n1)"
    mapfile -t files < <(c_files)
    [ ${#files[@]} -gt 0 ] || vu_fail "no C files found under $src"
    cd "$src"
    if ! printf '%s\0' "${files[@]}" |
        xargs -0 -n 16 -P "$jobs" clang-format --style=file --dry-run -Werror; then
        echo "Fix with: (cd $src && clang-format -i <files above>)" >&2
        vu_fail "clang-format: files not formatted"
    fi
    echo "PASS: ${#files[@]} files formatted"
    ;;
tidy)
    vu_need clang-tidy
    vu_need python3
    [ -n "$build" ] && [ -f "$build/compile_commands.json" ] ||
        vu_fail "no compile_commands.json in '$build' (configure first)"
    # One entry per file: the library is compiled twice (shared and static),
    # and clang-tidy 14 reports false valist findings when it analyses the
    # same file twice in one process.
    db=$(mktemp -d)
    trap 'rm -rf "$db"' EXIT
    python3 - "$build/compile_commands.json" "$db/compile_commands.json" <<'PY'
import json, sys
seen, out = set(), []
for e in json.load(open(sys.argv[1])):
    if e["file"] not in seen:
        seen.add(e["file"])
        out.append(e)
json.dump(out, open(sys.argv[2], "w"), indent=1)
PY
    mapfile -t files < <(cd "$src" && ls lib/src/*.c)
    [ ${#files[@]} -gt 0 ] || vu_fail "no lib/src/*.c"
    cd "$src"
    echo "clang-tidy $(clang-tidy --version | grep -o '[0-9][0-9.]*' | head -n1) on ${#files[@]} files"
    if ! printf '%s\0' "${files[@]}" |
        xargs -0 -n 1 -P "$jobs" clang-tidy -p "$db" --quiet \
            --extra-arg=-Wno-unknown-warning-option; then
        vu_fail "clang-tidy: findings above"
    fi
    echo "PASS: clang-tidy clean"
    ;;
cppcheck)
    vu_need cppcheck
    cd "$src"
    echo "$(cppcheck --version)"
    # style is on; constParameter is off because the public API's
    # signatures are fixed (vu_queue_* take VuVirtq *, not const).
    if ! cppcheck --enable=warning,style,performance,portability \
        --std=c11 --library=posix --inline-suppr --quiet \
        --error-exitcode=1 -j "$jobs" \
        -D_GNU_SOURCE -D__x86_64__ -D__linux__ -U__cplusplus \
        -I lib/include -I lib/src \
        --suppress=missingIncludeSystem --suppress=constParameter \
        lib/src; then
        vu_fail "cppcheck: findings above"
    fi
    echo "PASS: cppcheck clean"
    ;;
fix)
    vu_need clang-format
    mapfile -t files < <(c_files)
    if [ ${#dirs[@]} -gt 0 ]; then
        mapfile -t files < <(printf '%s\n' "${files[@]}" |
            grep -E "^($(IFS='|'; echo "${dirs[*]}"))/")
    fi
    [ ${#files[@]} -gt 0 ] || vu_fail "no files to format"
    cd "$src"
    printf '%s\0' "${files[@]}" | xargs -0 clang-format --style=file -i
    echo "formatted ${#files[@]} files"
    ;;
*)
    vu_fail "unknown check $what"
    ;;
esac
