#!/bin/bash
# testpmd-reflect.sh NET_BIN QUEUES MRG_RXBUF
# Interop check with a real frontend: DPDK testpmd (net_virtio_user) in
# macswap mode bounces a first burst off vhost-user-net --reflect for a
# few seconds.  Passes when frames flowed both ways and the backend saw no
# malformed frame and exited cleanly.  Exit 77 (skip) without testpmd.
set -u
net=$1 queues=$2 mrg=$3
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd not installed: skip"; exit 77; }
dir=$(mktemp -d /tmp/vu-testpmd-XXXXXX)
trap 'rm -rf "$dir"' EXIT
sock=$dir/net.sock
"$net" --reflect --queues "$queues" --socket-path "$sock" >"$dir/be.log" 2>&1 &
be=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
[ -S "$sock" ] || { cat "$dir/be.log"; echo "FAIL: no socket"; kill -9 $be; exit 1; }
timeout -s INT 6 dpdk-testpmd --lcores '0@1,1@1' --no-huge -m 512 --no-pci \
    --file-prefix="vu-ex-$$" \
    --vdev "net_virtio_user0,path=$sock,queues=$queues,queue_size=256,mrg_rxbuf=$mrg" \
    -- --total-num-mbufs=16384 --rxq="$queues" --txq="$queues" \
    --forward-mode=macswap --tx-first -a --stats-period 1 >"$dir/fe.log" 2>&1 </dev/null
kill -INT $be
wait $be
rc=$?
cat "$dir/be.log"
rx=$(grep -o 'RX-packets: *[0-9]*' "$dir/fe.log" | tail -1 | grep -o '[0-9]*$')
tx=$(grep -o 'TX-packets: *[0-9]*' "$dir/fe.log" | tail -1 | grep -o '[0-9]*$')
echo "testpmd: RX-packets ${rx:-?} TX-packets ${tx:-?}"
[ "$rc" = 0 ] || { echo "FAIL: backend exit status $rc"; exit 1; }
[ "${rx:-0}" -gt 1000 ] || { tail -30 "$dir/fe.log"; echo "FAIL: too few frames came back"; exit 1; }
grep -q ', 0 malformed' "$dir/be.log" || { echo "FAIL: malformed frames"; exit 1; }
echo "ok"
