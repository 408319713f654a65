#!/bin/bash
# E2E: DPDK testpmd (net_virtio_user, a userspace vhost-user frontend, no VM) against a net
# backend that reflects every frame back to its sender, with 1 and 2 queue pairs and
# mrg_rxbuf on and off.
#   test-dpdk.sh example   our examples/vhost-user-net --reflect
#   test-dpdk.sh dpdk      DPDK's net_vhost with testpmd in io mode on one port (reflects), the peer
#
# How the counts must match:
#   1. `start tx_first 4` in io mode: testpmd sends 4 bursts of 32 frames per queue, then
#      forwards every frame it receives back out of the same queue. The reflecting backend
#      makes this a closed loop with a fixed population of 128 frames per queue; 128 is less
#      than the 256-entry rings, so the backend never finds a full RX ring and has no reason
#      to drop. The loop runs for a few seconds (millions of frames).
#   2. `stop`: the frames still in flight (at most the population, the "ring slack") sit in
#      the backend or in testpmd's RX ring. In the io phase TX - RX per stream is exactly 128.
#   3. `set fwd rxonly` + `start`: testpmd first drains its RX queues, then receives for 1 s:
#      every in-flight frame comes home.
#   The last case sends 1464-byte frames of 3 segments (`set txpkts 64,1000,400`), with a
#   population of 32 frames per queue (3 descriptors each must fit the ring too).
#   4. `show port stats 0` (the PMD's cumulative counters): RX-packets must EQUAL TX-packets
#      (a lost frame would leave RX < TX for good; a duplicated one RX > TX), and every queue
#      must have carried traffic, with no TX drops, RX misses, RX errors or mbuf shortages.
. "$(dirname "$0")/lib.sh"

backend=${1:-example}
e2e_init "dpdk-$backend" "${E2E_DEADLINE:-200}"
e2e_need dpdk-testpmd dpdk-dev
[ "$backend" = example ] && e2e_need_net_example
RUN_S=${E2E_DPDK_RUN_S:-3}
MIN_PER_QUEUE=${E2E_DPDK_MIN_PER_QUEUE:-20000}

run_case() { # NAME QUEUES MRG_RXBUF [TXPKTS]
    local c=$1 nq=$2 mrg=$3 txpkts=${4:-} sock=$E2E_WORK/$1.sock
    # In-flight population per queue: 4 bursts of 32 frames; 1 burst for 3-segment frames
    # (3 descriptors each without indirect descriptors: 32 x 3 still fits the 256-entry ring).
    local bursts=4
    [ -n "$txpkts" ] && bursts=1
    local pop=$((bursts * 32))
    rm -f "$sock"
    if [ "$backend" = example ]; then
        local args=(--reflect)
        [ "$nq" -gt 1 ] && args+=(--queues "$nq")
        E2E_BACKEND_CPU=0 e2e_start_net "be-$c" "$sock" -- "${args[@]}"
    else
        e2e_bg "be-$c" dpdk-testpmd --lcores '0@0,1@0' --no-huge -m 512 --no-pci --file-prefix="e2e-be-$$" \
            --vdev "net_vhost0,iface=$sock,queues=$nq" -- --total-num-mbufs=16384 --rxq="$nq" --txq="$nq" \
            --forward-mode=io -a --stats-period 30
        e2e_wait_socket "be-$c" "$sock" 30
    fi

    local fe=fe-$c
    fe_log=$E2E_WORK/$fe.log
    e2e_testpmd_start "$fe" "net_virtio_user0,path=$sock,queues=$nq,queue_size=256,mrg_rxbuf=$mrg" "$nq" '0@1,1@1'
    # `set txpkts A,B,C`: frames of several segments (descriptor chains, or indirect tables)
    [ -n "$txpkts" ] && e2e_testpmd_cmd "$fe" "set txpkts $txpkts"
    e2e_testpmd_cmd "$fe" "start tx_first $bursts"
    sleep "$RUN_S"
    e2e_testpmd_cmd "$fe" "stop"
    e2e_testpmd_wait "$fe" 'Accumulated forward statistics' 10
    e2e_testpmd_cmd "$fe" "set fwd rxonly"
    e2e_testpmd_cmd "$fe" "start"
    sleep 1
    e2e_testpmd_cmd "$fe" "stop"
    e2e_testpmd_cmd "$fe" "show port stats 0"
    e2e_testpmd_quit "$fe"

    # --- io phase, per stream (= per queue): RX-packets, TX-packets, TX-dropped
    local q rx tx drop
    for ((q = 0; q < nq; q++)); do
        if [ "$nq" = 1 ]; then
            # one stream: testpmd prints only the port's forward statistics (the first block
            # after `start tx_first` is the io phase)
            read -r rx tx drop < <(awk '
                /Forward statistics for port 0/ { f = 1; next }
                f && /RX-packets:/ { rx = $2 }
                f && /TX-packets:/ { print rx, $2, $4; exit }' "$fe_log")
        else
            read -r rx tx drop < <(awk -v q="$q" '
                $0 ~ "Forward Stats for RX Port= 0/Queue= *" q " " { f = 1; next }
                f && /RX-packets:/ { print $2, $4, $6; exit }' "$fe_log")
        fi
        e2e_expect "$c: queue $q carried >= $MIN_PER_QUEUE frames in ${RUN_S}s" "${rx:-0}" -ge "$MIN_PER_QUEUE"
        e2e_expect "$c: queue $q TX-dropped" "${drop:-x}" -eq 0
        e2e_expect "$c: queue $q TX - RX = the $pop frames in flight" "$((tx - rx))" -eq "$pop"
    done
    # --- cumulative PMD counters after the drain
    local stats
    stats=$(awk '/NIC statistics for port 0/ { f = 1 } f' "$fe_log")
    local nrx ntx missed rxerr nombuf txerr
    nrx=$(echo "$stats" | awk '/RX-packets:/ { print $2; exit }')
    missed=$(echo "$stats" | awk '/RX-packets:/ { print $4; exit }')
    rxerr=$(echo "$stats" | awk '/RX-errors:/ { print $2; exit }')
    nombuf=$(echo "$stats" | awk '/RX-nombuf:/ { print $2; exit }')
    ntx=$(echo "$stats" | awk '/TX-packets:/ { print $2; exit }')
    txerr=$(echo "$stats" | awk '/TX-packets:/ { print $4; exit }')
    e2e_log "$c: port totals TX $ntx RX $nrx"
    e2e_expect "$c: every frame sent came back (RX-packets = TX-packets)" "$nrx" -eq "$ntx"
    e2e_expect "$c: frames went round" "$ntx" -ge $((MIN_PER_QUEUE * nq))
    e2e_expect "$c: RX-missed" "$missed" -eq 0
    e2e_expect "$c: RX-errors" "$rxerr" -eq 0
    e2e_expect "$c: RX-nombuf" "$nombuf" -eq 0
    e2e_expect "$c: TX-errors" "$txerr" -eq 0
    local nrxb ntxb
    nrxb=$(echo "$stats" | awk '/RX-packets:/ { print $6; exit }')
    ntxb=$(echo "$stats" | awk '/TX-packets:/ { print $6; exit }')
    e2e_expect "$c: every byte sent came back (RX-bytes = TX-bytes)" "$nrxb" -eq "$ntxb"
    if [ -n "$txpkts" ]; then
        local len=$(( ${txpkts//,/+} ))
        e2e_expect "$c: frames of $len bytes went round" "$ntxb" -eq $((ntx * len))
    else
        e2e_expect "$c: frames of 64 bytes went round" "$ntxb" -eq $((ntx * 64))
    fi
    e2e_expect "$c: backend still running" "$(e2e_alive "be-$c" && echo alive)" = alive
    e2e_stop "be-$c"
    if [ "$backend" = example ]; then
        # The switch prints "N frames in, M delivered, D dropped ..., X malformed" on SIGTERM.
        local line fin fdel fdrop fbad
        line=$(grep -E '[0-9]+ frames in, [0-9]+ delivered' "$E2E_WORK/be-$c.log" | tail -n 1)
        read -r fin fdel fdrop fbad < <(echo "$line" | sed -E 's/.* ([0-9]+) frames in, ([0-9]+) delivered, ([0-9]+) dropped.*, ([0-9]+) malformed.*/\1 \2 \3 \4/')
        e2e_expect "$c: backend counted every frame testpmd sent" "${fin:-x}" -eq "$ntx"
        e2e_expect "$c: backend delivered every frame testpmd received" "${fdel:-x}" -eq "$nrx"
        e2e_expect "$c: backend dropped none" "${fdrop:-x}" -eq 0
        e2e_expect "$c: backend saw no malformed frame" "${fbad:-x}" -eq 0
    fi
    e2e_log "$c: $(awk -v s="$RUN_S" -v n="$ntx" 'BEGIN { printf "%.2f Mpps round trips", n / s / 1e6 }') (approx, ${RUN_S}s)"
}

run_case q1-mrg1 1 1
run_case q1-mrg0 1 0
run_case q2-mrg1 2 1
run_case q2-mrg0 2 0
run_case q1-mrg1-3seg 1 1 64,1000,400
exit 0
