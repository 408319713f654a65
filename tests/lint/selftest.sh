#!/usr/bin/env bash
# Negative tests of the lint checks: in a scratch tree that carries the
# project's .clang-format and .clang-tidy, each check must pass a clean file
# and fail on a planted defect of its kind.
#
#   selftest.sh SOURCE_DIR WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../layout/common.sh"

[ $# -eq 2 ] || vu_fail "usage: $0 SOURCE_DIR WORK_DIR"
src=$(cd "$1" && pwd) work=$2
vu_need clang-format
vu_need clang-tidy
vu_need cppcheck
vu_need python3
failures=0

# tree NAME C-SOURCE: a scratch project with one library file.
tree() {
    local t=$work/$1
    rm -rf "$t"
    mkdir -p "$t/lib/src" "$t/lib/include" "$t/build"
    cp "$src/.clang-format" "$src/.clang-tidy" "$t/"
    cat >"$t/lib/src/file.c"
    python3 - "$t" <<'PY'
import json, sys
t = sys.argv[1]
json.dump([{"directory": t + "/build", "file": t + "/lib/src/file.c",
            "command": "cc -std=gnu11 -D_GNU_SOURCE -I" + t + "/lib/include -c "
                       + t + "/lib/src/file.c -o file.o"}],
          open(t + "/build/compile_commands.json", "w"))
PY
    echo "$t"
}

check() { # EXPECT(pass|fail) CHECK TREE
    local rc=0
    bash "$here/run.sh" "$2" "$3" "$3/build" >"$work/last.log" 2>&1 || rc=$?
    if { [ "$1" = pass ] && [ "$rc" -eq 0 ]; } ||
        { [ "$1" = fail ] && [ "$rc" -eq 1 ]; }; then
        echo "ok: $2 on $(basename "$3") -> $1"
    else
        echo "WRONG: $2 on $(basename "$3") exited $rc, expected $1"
        sed 's/^/    /' "$work/last.log"
        failures=$((failures + 1))
    fi
}

mkdir -p "$work"
clean=$(tree clean <<'EOF2'
#include <stdlib.h>

int vu_sum(const int *v, size_t n);

int vu_sum(const int *v, size_t n)
{
    int s = 0;

    for (size_t i = 0; i < n; i++) {
        s += v[i];
    }
    return s;
}
EOF2
)
badfmt=$(tree badformat <<'EOF2'
int vu_one(void);
int vu_one(void) { return 1; }
EOF2
)
leak=$(tree leak <<'EOF2'
#include <stdlib.h>

int vu_leak(int n);

int vu_leak(int n)
{
    char *p = malloc(16);

    if (p == NULL) {
        return -1;
    }
    if (n > 3) {
        return 1;
    }
    free(p);
    return 0;
}
EOF2
)
oob=$(tree out-of-bounds <<'EOF2'
int vu_oob(void);

int vu_oob(void)
{
    int a[4] = { 0 };

    return a[4];
}
EOF2
)

for c in format tidy cppcheck; do
    check pass "$c" "$clean"
done
check fail format "$badfmt"
check fail tidy "$leak"
check fail cppcheck "$oob"

[ "$failures" -eq 0 ] || vu_fail "$failures lint self-test case(s) wrong"
echo "PASS: each lint check passes clean code and fails on its planted defect"
