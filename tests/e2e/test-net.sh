#!/bin/bash
# E2E: two QEMU guests (vhost-user netdev, virtio-net-pci) on one switch: each guest is one
# port of the backend. They ping each other and send each other a bulk transfer (busybox nc)
# whose sha256 is compared, with 1 and with 2 queue pairs (mq=on, -smp 2).
#   test-net.sh example   our examples/vhost-user-net (two --socket-path ports)
#   test-net.sh dpdk      DPDK's net_vhost, two ports forwarded to each other by testpmd (the peer)
# Under TCG, QEMU 7.2 needs vectors=0 on virtio-net-pci (else it tries a KVM irqfd and crashes).
. "$(dirname "$0")/lib.sh"

backend=${1:-example}
e2e_init "net-$backend" "${E2E_DEADLINE:-300}"
e2e_need_guest
case "$backend" in
example) e2e_need_net_example ;;
dpdk) e2e_need dpdk-testpmd dpdk-dev ;;
*) e2e_fail "unknown backend $backend" ;;
esac
KB=${E2E_NET_KB:-2048}

run_case() { # NAME QUEUES
    local c=$1 nq=$2 smp=1 mq=""
    local s0=$E2E_WORK/$c-0.sock s1=$E2E_WORK/$c-1.sock
    [ "$nq" -gt 1 ] && { smp=2; mq=",mq=on"; }
    if [ "$backend" = example ]; then
        local args=()
        [ "$nq" -gt 1 ] && args=(--queues "$nq")
        e2e_start_net "sw-$c" "$s0" "$s1" -- "${args[@]}"
    else
        rm -f "$s0" "$s1"
        e2e_bg "sw-$c" dpdk-testpmd --lcores '0@0,1@0' --no-huge -m 512 --no-pci --file-prefix="e2e-net-$$" \
            --vdev "net_vhost0,iface=$s0,queues=$nq" --vdev "net_vhost1,iface=$s1,queues=$nq" -- \
            --total-num-mbufs=16384 --rxq="$nq" --txq="$nq" --forward-mode=io -a --stats-period 30
        e2e_wait_socket "sw-$c" "$s0" 30
        e2e_wait_socket "sw-$c" "$s1" 30
    fi
    local i s ip peer role
    for i in 0 1; do
        s=$E2E_WORK/$c-$i.sock
        if [ $i = 0 ]; then ip=10.0.0.1 peer=10.0.0.2 role=a; else ip=10.0.0.2 peer=10.0.0.1 role=b; fi
        E2E_SMP=$smp e2e_qemu "vm-$c-$i" "e2e=net e2e_ip=$ip e2e_peer=$peer e2e_role=$role e2e_kb=$KB" \
            -chardev "socket,id=n0,path=$s" -netdev "vhost-user,id=net0,chardev=n0,queues=$nq" \
            -device "virtio-net-pci,netdev=net0,mac=52:54:00:e2:e0:0$((i + 1)),vectors=0$mq"
    done
    e2e_qemu_wait "vm-$c-0" 180
    e2e_qemu_wait "vm-$c-1" 60
    local a=vm-$c-0 b=vm-$c-1
    for v in $a $b; do
        e2e_expect "$v sees $nq rx queues" "$(e2e_result $v rxqueues)" -eq "$nq"
        e2e_expect "$v: 10 of 10 pings answered" "$(e2e_result $v ping_rx)" -eq 10
        e2e_expect "$v received $KB KiB" "$(e2e_result $v rx_bytes)" -eq $((KB * 1024))
    done
    e2e_expect "a -> b bulk intact (sha256)" "$(e2e_result $b rx_sha)" = "$(e2e_result $a tx_sha)"
    e2e_expect "b -> a bulk intact (sha256)" "$(e2e_result $a rx_sha)" = "$(e2e_result $b tx_sha)"
    e2e_expect "a's and b's payloads differ" "$(e2e_result $a tx_sha)" != "$(e2e_result $b tx_sha)"
    e2e_log "$c: a->b and b->a ${KB} KiB each; a bulk $(e2e_result $a bulk_cs) cs, b bulk $(e2e_result $b bulk_cs) cs"
    e2e_expect "switch still running" "$(e2e_alive "sw-$c" && echo alive)" = alive
    e2e_stop "sw-$c"
    if [ "$backend" = example ]; then
        # "N frames in, M delivered, D dropped (...), X malformed", printed on SIGTERM
        local line fin fdel fdrop fbad
        line=$(grep -E '[0-9]+ frames in, [0-9]+ delivered' "$E2E_WORK/sw-$c.log" | tail -n 1)
        e2e_log "$c: switch counters: $line"
        read -r fin fdel fdrop fbad < <(echo "$line" | sed -E 's/.* ([0-9]+) frames in, ([0-9]+) delivered, ([0-9]+) dropped.*, ([0-9]+) malformed.*/\1 \2 \3 \4/')
        e2e_expect "$c: switch saw no malformed frame" "${fbad:-x}" -eq 0
        e2e_expect "$c: switch delivered every frame the guests counted as received" \
            "${fdel:-0}" -ge $(($(e2e_result $a rx_packets) + $(e2e_result $b rx_packets)))
    fi
    return 0
}

run_case q1 1
run_case q2 2
exit 0
