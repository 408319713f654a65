#!/bin/bash -eu
# Build every fuzz target the OSS-Fuzz way.
#
#   CC=clang CFLAGS="-fsanitize=address,undefined -g -O1" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/out fuzz/build.sh
#
# Honours CC, CFLAGS, LIB_FUZZING_ENGINE (default -fsanitize=fuzzer) and OUT
# (default ./out).  For AFL++ use CC=afl-clang-fast (LIB_FUZZING_ENGINE
# stays -fsanitize=fuzzer: afl-clang-fast supplies its own driver); with
# AFL_LLVM_CMPLOG=1 set it builds the cmplog variant.  With
# LIB_FUZZING_ENGINE=replay the plain replay driver (replay_main.c) is linked
# instead, which also works with gcc.
#
# Writes $OUT/<target>, $OUT/<target>.dict, $OUT/<target>.options and
# $OUT/<target>_seed_corpus.zip for every target.
SRC=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-clang}
CFLAGS=${CFLAGS:--g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
OUT=${OUT:-$PWD/out}
WORK=${WORK:-$(mktemp -d)}
TARGETS="fuzz_dispatch fuzz_virtq fuzz_memtable fuzz_inflight"
mkdir -p "$OUT" "$WORK/obj"

# Coverage instrumentation without a main() for the library; the engine flag
# is used only at link time.
INSTR=""
DRIVER="$LIB_FUZZING_ENGINE"
if [ "$LIB_FUZZING_ENGINE" = replay ]; then
    DRIVER="$WORK/obj/replay_main.o"
    $CC $CFLAGS -D_GNU_SOURCE -c "$SRC/fuzz/replay_main.c" -o "$DRIVER"
elif [[ "$CC" != *afl-* ]]; then
    INSTR="-fsanitize=fuzzer-no-link"
fi

INC="-I$SRC/lib/include -I$SRC/lib/src -I$SRC/fuzz"
objs=()
# The library gets coverage instrumentation; the harness does not (its checks
# run per ring operation and would cost more than they guide).  With
# afl-clang-fast the compiler instruments everything itself.
for src in "$SRC"/lib/src/*.c; do
    o="$WORK/obj/$(basename "$src" .c).o"
    $CC $CFLAGS $INSTR -std=gnu11 -D_GNU_SOURCE $INC -c "$src" -o "$o"
    objs+=("$o")
done
$CC $CFLAGS -std=gnu11 -D_GNU_SOURCE $INC -c "$SRC/fuzz/fuzz_common.c" -o "$WORK/obj/fuzz_common.o"
objs+=("$WORK/obj/fuzz_common.o")

for t in $TARGETS; do
    $CC $CFLAGS -std=gnu11 -D_GNU_SOURCE $INC -c "$SRC/fuzz/$t.c" -o "$WORK/obj/$t.o"
    $CC $CFLAGS "$WORK/obj/$t.o" "${objs[@]}" $DRIVER -lpthread -o "$OUT/$t"
    cp "$SRC/fuzz/$t.dict" "$OUT/$t.dict"
    cp "$SRC/fuzz/$t.options" "$OUT/$t.options"
    rm -f "$OUT/${t}_seed_corpus.zip"
    if [ -d "$SRC/corpus/$t" ]; then
        if command -v zip >/dev/null; then
            (cd "$SRC/corpus/$t" && zip -q -j "$OUT/${t}_seed_corpus.zip" ./*)
        else
            python3 -c 'import sys, os, zipfile
z = zipfile.ZipFile(sys.argv[1], "w")
for f in sorted(os.listdir(sys.argv[2])):
    z.write(os.path.join(sys.argv[2], f), f)' "$OUT/${t}_seed_corpus.zip" "$SRC/corpus/$t"
        fi
    fi
done
echo "built: $TARGETS -> $OUT"
