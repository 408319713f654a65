#!/bin/bash
# One vhost-user-net throughput run: dpdk-testpmd net_virtio_user (frontend,
# pinned to CPU $FE_CPU) against a backend (pinned to CPU $BE_CPU):
#   ours: examples/vhost-user-net --reflect
#   dpdk: dpdk-testpmd net_vhost (DPDK's vhost library) in macswap mode
#   ours1: the same with --single-api (vu_queue_pop/push per element)
# Usage: net-case.sh ours|ours1|dpdk txonly|io FRAME_BYTES SECONDS WORKDIR
# Prints: mpps=<median of the frontend's per-second rates> samples=N
#         fe_tx=<final TX-packets> fe_rx=<final RX-packets>
# Mode txonly: the frontend only sends; the rate is its Tx-pps (frames the
# backend took off the ring).  Mode io: --forward-mode=io --tx-first, frames
# circulate frontend -> backend -> frontend; the rate is the frontend's Rx-pps.
set -u
be=$1 mode=$2 size=$3 secs=$4 work=$5
B=${VU_BENCH_BUILD:-$(dirname "$0")/../../build-bench}
FE_CPU=${FE_CPU:-1} BE_CPU=${BE_CPU:-0}
mkdir -p "$work"
tag=$be-$mode-$size
sock=$work/$tag.sock
rm -f "$sock"
case $be in
ours | ours1)
    api=()
    [ "$be" = ours1 ] && api=(--single-api)
    # NET_OURS_ARGS: extra options for our example (e.g. --poll-us N).
    # shellcheck disable=SC2206
    api+=(${NET_OURS_ARGS:-})
    taskset -c "$BE_CPU" "$B/examples/vhost-user-net" --reflect --socket-path "$sock" "${api[@]}" \
        >"$work/$tag.be.log" 2>&1 &
    ;;
dpdk)
    taskset -c "$BE_CPU" dpdk-testpmd --lcores "0@$BE_CPU,1@$BE_CPU" --no-huge -m 512 --no-pci \
        --file-prefix="vubench-be-$$" --vdev "net_vhost0,iface=$sock,queues=1" -- \
        --total-num-mbufs=16384 --forward-mode=macswap --port-topology=loop -a \
        --stats-period 1 >"$work/$tag.be.log" 2>&1 &
    ;;
*) echo "unknown backend $be" >&2; exit 2 ;;
esac
bepid=$!
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { echo "backend did not listen" >&2; kill "$bepid"; exit 2; }
fwd=(--forward-mode=txonly)
[ "$mode" = io ] && fwd=(--forward-mode=io --tx-first)
timeout -s INT "$secs" taskset -c "$FE_CPU" dpdk-testpmd --lcores "0@$FE_CPU,1@$FE_CPU" --no-huge -m 512 \
    --no-pci --file-prefix="vubench-fe-$$" \
    --vdev "net_virtio_user0,path=$sock,queues=1,queue_size=256" -- \
    --total-num-mbufs=16384 "${fwd[@]}" --port-topology=loop --txpkts="$size" -a \
    --stats-period 1 >"$work/$tag.fe.log" 2>&1
kill -TERM "$bepid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$bepid" 2>/dev/null || break; sleep 0.05; done
kill -KILL "$bepid" 2>/dev/null
wait "$bepid" 2>/dev/null
field=Tx-pps
[ "$mode" = io ] && field=Rx-pps
# Per-second samples; drop the zero ones (link not up yet) and the first
# non-zero one (a partial second).
tr -d '\033' <"$work/$tag.fe.log" | awk -v f="$field:" '
    $1 == f { if ($2 > 0) { n++; if (n > 1) v[++k] = $2 } }
    /Accumulated forward statistics/ { acc = 1 }
    acc && $1 == "RX-packets:" && !rx { rx = $2 }
    acc && $1 == "TX-packets:" && !tx { tx = $2 }
    END {
        if (k == 0) { printf "mpps=0 samples=0 fe_tx=%d fe_rx=%d\n", tx, rx; exit 1 }
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        m = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
        printf "mpps=%.4f samples=%d fe_tx=%d fe_rx=%d\n", m / 1e6, k, tx, rx
    }'
