# Shared harness of the end-to-end tests (and of the benchmarks): source it from bash.
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init my-test            # logs in $E2E_BUILD_DIR/e2e-logs/my-test, guest built, traps set
#   e2e_start_blk blk0 "$E2E_WORK/blk.sock" --blk-file "$img"
#   e2e_qemu vm0 "e2e=blk e2e_seed=3" -chardev socket,id=c0,path="$E2E_WORK/blk.sock" \
#            -device vhost-user-blk-pci,chardev=c0,num-queues=1
#   e2e_qemu_wait vm0 60        # fails loudly unless the guest printed E2E-DONE rc=0
#   v=$(e2e_result vm0 read_sha)
#
# Environment:
#   E2E_BUILD_DIR   the CMake build directory (ctest sets it); logs and the guest cache live below it
#   E2E_CACHE       guest cache directory (default $E2E_BUILD_DIR/e2e-cache)
#   E2E_ACCEL       tcg (default) or kvm
#   E2E_BLK_BIN / E2E_NET_BIN   the example backends (default $E2E_BUILD_DIR/examples/vhost-user-{blk,net})
#   E2E_KEEP_LOGS=1 print every log at the end even on success
#   CI=1            a missing frontend or tool is a failure, never a skip
# Exit codes: 0 pass, 1 fail, 77 skip (a tool is missing outside CI).

set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${E2E_BUILD_DIR:=$(cd "$E2E_DIR/../.." && pwd)/build}"
: "${E2E_CACHE:=$E2E_BUILD_DIR/e2e-cache}"
: "${E2E_ACCEL:=tcg}"
: "${E2E_BLK_BIN:=$E2E_BUILD_DIR/examples/vhost-user-blk}"
: "${E2E_NET_BIN:=$E2E_BUILD_DIR/examples/vhost-user-net}"
export E2E_BUILD_DIR E2E_CACHE

E2E_PIDS=()          # every background process we started, killed by the EXIT trap
declare -A E2E_PID   # name -> pid
declare -A E2E_LOG   # name -> log file
E2E_T0=$(date +%s.%N)

e2e_now() { awk -v t0="$E2E_T0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.1f", t - t0 }'; }
e2e_log() { echo "[e2e $(e2e_now)s] $*" >&2; }

e2e_dump_logs() {
    local f
    for f in "$E2E_WORK"/*.log "$E2E_WORK"/*.serial; do
        [ -f "$f" ] || continue
        echo "=================== $f (last 80 lines) ===================" >&2
        tail -n 80 "$f" | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2
    done
}

e2e_fail() {
    echo "" >&2
    echo "E2E FAILURE in ${E2E_NAME:-?}: $*" >&2
    E2E_FAILED=1
    exit 1
}

# A tool or frontend is missing: skip (77) loudly, but fail under CI=1.
e2e_skip() {
    echo "" >&2
    echo "################################################################" >&2
    echo "E2E SKIP in ${E2E_NAME:-?}: $*" >&2
    if [ "${CI:-}" = 1 ]; then
        echo "CI=1: a missing frontend is a FAILURE" >&2
        echo "################################################################" >&2
        E2E_FAILED=1
        exit 1
    fi
    echo "################################################################" >&2
    E2E_SKIPPED=1
    exit 77
}

e2e_need() { # e2e_need TOOL [PACKAGE]
    command -v "$1" >/dev/null 2>&1 || e2e_skip "'$1' not found (apt-get install ${2:-$1})"
}

e2e_children() { # PID: its direct children (from /proc; procps may be absent)
    cat /proc/"$1"/task/*/children 2>/dev/null
}

e2e_kill() { # e2e_kill PID: TERM, then KILL after 3 s; waits for it
    local pid=$1 i kids
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    # A wrapper that forks (strace) would leave its child running: signal the children first.
    kids=$(e2e_children "$pid")
    [ -n "$kids" ] && kill -TERM $kids 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" $kids 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

e2e_cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${E2E_PIDS[$i]}
        e2e_kill "$pid"
    done
    # testpmd's runtime directories (file prefixes end in this script's pid)
    rm -rf /var/run/dpdk/e2e-*-$$ "${XDG_RUNTIME_DIR:-/nonexistent}"/dpdk/e2e-*-$$ 2>/dev/null
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] || [ "${E2E_KEEP_LOGS:-}" = 1 ]; then
        e2e_dump_logs
        echo "E2E ${E2E_NAME:-?}: FAILED after $(e2e_now)s (rc=$rc); logs in $E2E_WORK" >&2
    elif [ "$rc" = 0 ]; then
        echo "E2E ${E2E_NAME:-?}: PASSED in $(e2e_now)s; logs in $E2E_WORK" >&2
    fi
    exit "$rc"
}

# e2e_init NAME [DEADLINE_S]: work directory, traps; after DEADLINE_S (default 300) the test
# fails and everything it started is killed (keep it below the ctest TIMEOUT).
e2e_init() {
    E2E_NAME=$1
    local deadline=${2:-300} me=$$
    E2E_WORK=$E2E_BUILD_DIR/e2e-logs/$E2E_NAME
    rm -rf "$E2E_WORK"
    mkdir -p "$E2E_WORK" || { echo "cannot create $E2E_WORK" >&2; exit 1; }
    trap e2e_cleanup EXIT
    trap 'e2e_fail "interrupted (signal or watchdog)"' INT TERM
    e2e_log "test $E2E_NAME, accel $E2E_ACCEL, logs in $E2E_WORK"
    # Watchdog: polls so that it never outlives the test by more than a second.
    ( end=$((SECONDS + deadline))
      while kill -0 "$me" 2>/dev/null; do
          if [ $SECONDS -ge $end ]; then
              echo "E2E WATCHDOG: ${E2E_NAME} exceeded ${deadline}s" >&2; kill -TERM "$me"; exit 0
          fi
          sleep 1
      done ) </dev/null >/dev/null 2>"$E2E_WORK/watchdog.log" &
    E2E_PIDS+=("$!")
    for t in awk cmp stat sha256sum timeout setsid; do e2e_need "$t" coreutils; done
}

e2e_need_guest() {
    e2e_need qemu-system-x86_64 qemu-system-x86
    local out rc
    out=$("$E2E_DIR/guest/build-guest.sh" "$E2E_CACHE" 2>"$E2E_WORK/build-guest.log")
    rc=$?
    [ $rc = 77 ] && { cat "$E2E_WORK/build-guest.log" >&2; e2e_skip "cannot build the guest (see above)"; }
    [ $rc = 0 ] || { cat "$E2E_WORK/build-guest.log" >&2; e2e_fail "guest build failed (rc=$rc)"; }
    E2E_VMLINUX=$(echo "$out" | sed -n 1p)
    E2E_INITRD=$(echo "$out" | sed -n 2p)
    [ -s "$E2E_VMLINUX" ] && [ -s "$E2E_INITRD" ] || e2e_fail "guest build produced no kernel/initrd"
}

# e2e_bg NAME CMD...: start CMD in the background, output in $E2E_WORK/NAME.log.
e2e_bg() {
    local name=$1; shift
    local log=$E2E_WORK/$name.log
    echo "+ $*" >> "$log"
    "$@" >> "$log" 2>&1 </dev/null &
    local pid=$!
    E2E_PIDS+=("$pid")
    E2E_PID[$name]=$pid
    E2E_LOG[$name]=$log
    e2e_log "started $name (pid $pid): $*"
}

e2e_alive() { kill -0 "${E2E_PID[$1]}" 2>/dev/null; }

# e2e_stop NAME [SIGNAL]: stop a background process and wait for it (qsd takes ~0.5 s on TERM).
e2e_stop() {
    local pid=${E2E_PID[$1]}
    if [ "${2:-TERM}" = KILL ]; then
        kill -KILL $(e2e_children "$pid") "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    else
        e2e_kill "$pid"
    fi
}

# e2e_wait_socket NAME PATH [TIMEOUT]: the backend NAME must create the unix socket PATH.
e2e_wait_socket() {
    local name=$1 path=$2 t=${3:-10} i
    for ((i = 0; i < t * 20; i++)); do
        [ -S "$path" ] && return 0
        e2e_alive "$name" || e2e_fail "$name exited before creating $path: $(tail -n 20 "${E2E_LOG[$name]}")"
        sleep 0.05
    done
    e2e_fail "$name did not create $path within ${t}s"
}

# --------------------------------------------------------------------------- backends
e2e_need_blk_example() {
    [ -x "$E2E_BLK_BIN" ] || e2e_fail "blk example not built: $E2E_BLK_BIN (build the project first)"
}
e2e_need_net_example() {
    [ -x "$E2E_NET_BIN" ] || e2e_fail "net example not built: $E2E_NET_BIN (build the project first)"
}

# e2e_start_blk NAME SOCK ARGS...: our example blk backend (taskset via E2E_BACKEND_CPU).
e2e_start_blk() {
    local name=$1 sock=$2; shift 2
    e2e_need_blk_example
    rm -f "$sock"
    e2e_bg "$name" ${E2E_BACKEND_CPU:+taskset -c "$E2E_BACKEND_CPU"} "$E2E_BLK_BIN" --socket-path "$sock" "$@"
    e2e_wait_socket "$name" "$sock"
}

# e2e_start_net NAME SOCK... -- ARGS...: our example net switch, one port per socket.
e2e_start_net() {
    local name=$1; shift
    local socks=() args=() s
    while [ $# -gt 0 ] && [ "$1" != -- ]; do socks+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    args=("$@")
    e2e_need_net_example
    for s in "${socks[@]}"; do rm -f "$s"; args+=(--socket-path "$s"); done
    e2e_bg "$name" ${E2E_BACKEND_CPU:+taskset -c "$E2E_BACKEND_CPU"} "$E2E_NET_BIN" "${args[@]}"
    for s in "${socks[@]}"; do e2e_wait_socket "$name" "$s"; done
}

# e2e_start_qsd NAME SOCK IMG NUM_QUEUES [EXTRA_BLOCKDEV_OPTS]: qemu-storage-daemon's
# vhost-user-blk export (QEMU's own libvhost-user) on a file image; IMG "null:SIZE" gives null-co.
e2e_start_qsd() {
    local name=$1 sock=$2 img=$3 nq=$4 extra=${5:-} bdev
    e2e_need qemu-storage-daemon qemu-system-common
    rm -f "$sock"
    case "$img" in
    null:*) bdev="driver=null-co,node-name=file0,size=${img#null:},read-zeroes=on" ;;
    *) bdev="driver=file,node-name=file0,filename=$img,cache.direct=on,aio=native${extra:+,$extra}" ;;
    esac
    e2e_bg "$name" ${E2E_BACKEND_CPU:+taskset -c "$E2E_BACKEND_CPU"} qemu-storage-daemon --blockdev "$bdev" \
        --export "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$sock,writable=on,num-queues=$nq"
    e2e_wait_socket "$name" "$sock"
}

# e2e_start_dpdk_vhost NAME SOCK QUEUES FWD_MODE: DPDK's net_vhost as the backend peer
# (testpmd in io mode with one port reflects every frame back to its sender).
e2e_start_dpdk_vhost() {
    local name=$1 sock=$2 nq=$3 mode=${4:-io}
    e2e_need dpdk-testpmd dpdk-dev
    rm -f "$sock"
    e2e_bg "$name" dpdk-testpmd --lcores "${E2E_BACKEND_LCORES:-0@0,1@0}" --no-huge -m 512 --no-pci \
        --file-prefix="e2e-$name-$$" --vdev "net_vhost0,iface=$sock,queues=$nq" -- \
        --total-num-mbufs=16384 --rxq="$nq" --txq="$nq" --forward-mode="$mode" -a --stats-period 30
    e2e_wait_socket "$name" "$sock" 30
}

# e2e_testpmd_start NAME VDEV NQ [LCORES]: an interactive testpmd (the frontend, e.g.
# VDEV="net_virtio_user0,path=SOCK,queues=1") driven through a fifo; waits for its prompt
# and for the port's link. Then e2e_testpmd_cmd NAME "command", e2e_testpmd_wait NAME REGEX T,
# e2e_testpmd_quit NAME. Output (line-buffered) in $E2E_WORK/NAME.log.
declare -A E2E_TESTPMD_FD
e2e_testpmd_start() {
    local name=$1 vdev=$2 nq=$3 lcores=${4:-0@1,1@1} fd
    e2e_need dpdk-testpmd dpdk-dev
    e2e_need stdbuf coreutils
    local log=$E2E_WORK/$name.log fifo=$E2E_WORK/$name.in
    rm -f "$fifo"; mkfifo "$fifo" || e2e_fail "mkfifo $fifo"
    # stdbuf: testpmd's stdout is a file here; without line buffering its output arrives late.
    local cmd=(stdbuf -oL -eL dpdk-testpmd --lcores "$lcores" --no-huge -m 512 --no-pci
        --file-prefix="e2e-$name-$$" --vdev "$vdev" -- -i --total-num-mbufs=16384 --rxq="$nq" --txq="$nq")
    echo "+ ${cmd[*]}" > "$log"
    "${cmd[@]}" < "$fifo" >> "$log" 2>&1 &
    E2E_PID[$name]=$!; E2E_PIDS+=("$!"); E2E_LOG[$name]=$log
    exec {fd}>"$fifo"
    E2E_TESTPMD_FD[$name]=$fd
    e2e_log "started testpmd $name (pid ${E2E_PID[$name]}): $vdev"
    e2e_testpmd_wait "$name" 'testpmd> ' 30
    local i
    for ((i = 0; i < 40; i++)); do
        e2e_testpmd_cmd "$name" "show port info 0"
        sleep 0.25
        grep -q 'Link status: up' "$log" && return 0
    done
    e2e_fail "$name: the port never came up (vhost-user handshake failed?)"
}
e2e_testpmd_cmd() { echo "$2" >&"${E2E_TESTPMD_FD[$1]}"; }
e2e_testpmd_wait() { # NAME REGEX TIMEOUT
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq "$2" "${E2E_LOG[$1]}" && return 0
        e2e_alive "$1" || e2e_fail "testpmd $1 exited: $(tail -n 15 "${E2E_LOG[$1]}")"
        sleep 0.1
    done
    e2e_fail "testpmd $1: no /$2/ within $3 s"
}
e2e_testpmd_quit() { # NAME: quit, wait (15 s), must exit 0 after printing Bye
    local name=$1 pid=${E2E_PID[$1]} i rc
    e2e_testpmd_cmd "$name" quit
    exec {E2E_TESTPMD_FD[$name]}>&-
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && e2e_fail "testpmd $name did not quit"
    wait "$pid"; rc=$?
    [ $rc = 0 ] || e2e_fail "testpmd $name exited with $rc"
    grep -q 'Bye' "${E2E_LOG[$name]}" || e2e_fail "testpmd $name did not finish cleanly"
}

# --------------------------------------------------------------------------- QEMU
# e2e_qemu NAME APPEND QEMU_ARGS...: boot the guest in the background.
#   E2E_SMP (1), E2E_MEM (256M), E2E_REBOOT=1 (allow guest reboots: no -no-reboot)
#   Serial console in $E2E_WORK/NAME.serial, QEMU's own messages in NAME.log.
e2e_qemu() {
    local name=$1 append=$2; shift 2
    local accel=(-accel tcg)
    [ "$E2E_ACCEL" = kvm ] && accel=(-accel kvm -cpu host)
    local mem=${E2E_MEM:-256M}
    local args=("${accel[@]}" -smp "${E2E_SMP:-1}" -m "$mem"
        -object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem
        -nographic -nic none -kernel "$E2E_VMLINUX" -initrd "$E2E_INITRD"
        -append "console=ttyS0 quiet panic=-1 $append")
    [ "${E2E_REBOOT:-0}" = 1 ] || args+=(-no-reboot)
    local serial=$E2E_WORK/$name.serial log=$E2E_WORK/$name.log
    echo "+ qemu-system-x86_64 ${args[*]} $*" >> "$log"
    qemu-system-x86_64 "${args[@]}" "$@" </dev/null >"$serial" 2>>"$log" &
    local pid=$!
    E2E_PIDS+=("$pid")
    E2E_PID[$name]=$pid
    E2E_LOG[$name]=$log
    e2e_log "booting $name (pid $pid): $append"
}

# e2e_serial NAME: the serial log without CRs and escape sequences.
e2e_serial() { tr -d '\r' < "$E2E_WORK/$1.serial" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g'; }

# QEMU messages that mean the vhost-user device will never work: fail at once instead of
# waiting for the guest's timeout.
: "${E2E_QEMU_FATAL:=unable to start vhost|falling back on userspace virtio|vhost start failed|Error starting vhost|vhost_dev_start failed}"
e2e_check_qemu_log() { # NAME
    local line
    line=$(grep -Em1 "$E2E_QEMU_FATAL" "$E2E_WORK/$1.log" 2>/dev/null) || return 0
    e2e_fail "$1: QEMU could not start the vhost-user device: $line"
}

# e2e_wait_marker NAME REGEX TIMEOUT: wait for a serial line matching REGEX (fail on timeout or exit).
e2e_wait_marker() {
    local name=$1 re=$2 t=$3 i
    for ((i = 0; i < t * 10; i++)); do
        e2e_serial "$name" | grep -Eq "$re" && return 0
        e2e_serial "$name" | grep -q 'E2E-FAIL' && e2e_fail "$name: $(e2e_serial "$name" | grep -m1 E2E-FAIL)"
        e2e_check_qemu_log "$name"
        e2e_alive "$name" || { e2e_serial "$name" | grep -Eq "$re" && return 0;
            e2e_fail "$name exited before printing /$re/"; }
        sleep 0.1
    done
    e2e_fail "$name: no /$re/ within ${t}s"
}

# e2e_qemu_wait NAME TIMEOUT: wait for QEMU to exit; the guest must have printed E2E-DONE rc=0.
e2e_qemu_wait() {
    local name=$1 t=$2 pid=${E2E_PID[$1]} i rc
    for ((i = 0; i < t * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        e2e_check_qemu_log "$name"
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        e2e_kill "$pid"
        e2e_fail "$name: QEMU still running after ${t}s (guest hung? last serial: $(e2e_serial "$name" | grep E2E | tail -n 3 | tr '\n' ' '))"
    fi
    wait "$pid"; rc=$?
    e2e_serial "$name" | grep -q 'E2E-FAIL' && e2e_fail "$name: $(e2e_serial "$name" | grep E2E-FAIL | head -n 3)"
    e2e_serial "$name" | grep -q 'E2E-DONE rc=0' || e2e_fail "$name: guest did not finish (no 'E2E-DONE rc=0'; QEMU rc=$rc)"
    [ "$rc" = 0 ] || e2e_fail "$name: QEMU exited with $rc"
    e2e_log "$name finished: $(e2e_serial "$name" | grep -c E2E-RESULT) results, boots=$(e2e_serial "$name" | grep -c E2E-BOOT)"
}

# e2e_result NAME KEY: the value of the last "E2E-RESULT ... KEY=value" of guest NAME.
e2e_result() {
    e2e_serial "$1" | grep 'E2E-RESULT' | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1
}

# e2e_expect DESC A OP B: assert (OP is one of = != -eq -ne -lt -le -gt -ge).
e2e_expect() {
    local desc=$1 a=$2 op=$3 b=$4 ok=1
    case "$op" in
    =|!=) [ "$a" "$op" "$b" ] || ok=0 ;;
    *) { [[ "$a" =~ ^-?[0-9]+$ ]] && [[ "$b" =~ ^-?[0-9]+$ ]] && [ "$a" "$op" "$b" ]; } || ok=0 ;;
    esac
    [ $ok = 1 ] || e2e_fail "$desc: expected '$a' $op '$b'"
    e2e_log "ok: $desc ('$a' $op '$b')"
}

# e2e_pattern SEED FIRST_BLOCK COUNT: the guest's block pattern (see guest/init), on stdout.
e2e_pattern() {
    awk -v s="$1" -v o="$2" -v n="$3" 'BEGIN {
        for (i = 0; i < n; i++) {
            b = sprintf("%-63s|", "e2e seed=" s " blk=" (i + o));
            for (k = 0; k < 6; k++) b = b b;
            printf "%s", b
        } }'
}

# e2e_check_pattern IMG SEED FIRST COUNT: the bytes of IMG must equal the pattern, block by block.
e2e_check_pattern() {
    local img=$1 seed=$2 first=$3 n=$4 exp=$E2E_WORK/expected.$$ got=$E2E_WORK/got.$$ bad=0 i
    e2e_pattern "$seed" "$first" "$n" > "$exp"
    dd if="$img" of="$got" bs=4096 skip="$first" count="$n" status=none
    if ! cmp -s "$exp" "$got"; then
        for ((i = 0; i < n; i++)); do
            if ! cmp -s <(dd if="$exp" bs=4096 skip=$i count=1 status=none) \
                        <(dd if="$got" bs=4096 skip=$i count=1 status=none); then
                [ $bad -lt 10 ] && echo "block $((first + i)) differs; image has: $(dd if="$got" bs=64 skip=$((i * 64)) count=1 status=none | tr -c '[:print:]' '.')" >&2
                bad=$((bad + 1))
            fi
        done
        rm -f "$exp" "$got"
        e2e_fail "$img: $bad of $n blocks (from block $first) differ from the pattern of seed $seed"
    fi
    rm -f "$exp" "$got"
    e2e_log "ok: $img holds the $n-block pattern (seed $seed, from block $first), byte for byte"
}

e2e_sha_of_blocks() { # IMG FIRST COUNT
    dd if="$1" bs=4096 skip="$2" count="$3" status=none | sha256sum | cut -d' ' -f1
}
