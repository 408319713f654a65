#!/bin/bash
# vhost-user-net Mpps: dpdk-testpmd net_virtio_user as the frontend against
# our examples/vhost-user-net --reflect and against testpmd's net_vhost PMD
# (DPDK's vhost library) in macswap mode; 1 queue pair.
# Usage: run-net.sh OUT_TSV WORKDIR [ROUNDS] [SECONDS]
# Rows: net <case> <round> <ours_mpps> <peer_mpps> Mpps, and
#       net <case>-single-api <round> <ours --single-api mpps> <peer_mpps> Mpps
# (the example on vu_queue_pop/push per element instead of the batch calls;
# same peer figure: the three backends run in turn, order rotating per round).
set -u
out=$1 work=$2 rounds=${3:-5} secs=${4:-12}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common/quiet.sh"
mkdir -p "$work"
CASES=("txonly 64" "txonly 1518" "io 64" "io 1518")
[ -n "${NET_CASES:-}" ] && { mapfile -t CASES < <(printf '%s\n' "${CASES[@]}" | grep -E "$NET_CASES"); }
{
    echo "frontend: taskset -c ${FE_CPU:-1} dpdk-testpmd --lcores '0@${FE_CPU:-1},1@${FE_CPU:-1}' --no-huge -m 512 --no-pci" \
        "--vdev 'net_virtio_user0,path=SOCK,queues=1,queue_size=256' -- --total-num-mbufs=16384" \
        "(--forward-mode=txonly | --forward-mode=io --tx-first) --port-topology=loop --txpkts=SIZE -a --stats-period 1;" \
        "stopped with SIGINT after $secs s"
    echo "ours: taskset -c ${BE_CPU:-0} vhost-user-net --reflect --socket-path SOCK [--single-api]"
    echo "peer: taskset -c ${BE_CPU:-0} dpdk-testpmd --lcores '0@${BE_CPU:-0},1@${BE_CPU:-0}' --no-huge -m 512 --no-pci" \
        "--vdev 'net_vhost0,iface=SOCK,queues=1' -- --total-num-mbufs=16384 --forward-mode=macswap --port-topology=loop -a --stats-period 1"
    echo "rate: median of the frontend's per-second Tx-pps (txonly) or Rx-pps (io), first non-zero second dropped"
} >"$work/commands.txt"

one() { # BACKEND MODE SIZE -> mpps
    local line busy
    busy=$(wait_quiet 15 "${QUIET_TIMEOUT:-10}")
    line=$("$here/net-case.sh" "$1" "$2" "$3" "$secs" "$work") || true
    echo "round=$r $1 $2 $3 busy_before=$busy% $line" >>"$work/raw.log"
    sed -n 's/^mpps=\([0-9.]*\) .*/\1/p' <<<"$line"
}

for r in $(seq "$rounds"); do
    for c in "${CASES[@]}"; do
        read -r mode size <<<"$c"
        case $((r % 3)) in
        1) o=$(one ours "$mode" "$size"); p=$(one dpdk "$mode" "$size"); s=$(one ours1 "$mode" "$size") ;;
        2) p=$(one dpdk "$mode" "$size"); s=$(one ours1 "$mode" "$size"); o=$(one ours "$mode" "$size") ;;
        *) s=$(one ours1 "$mode" "$size"); o=$(one ours "$mode" "$size"); p=$(one dpdk "$mode" "$size") ;;
        esac
        printf 'net\t%s-%s\t%s\t%s\t%s\tMpps\n' "$mode" "$size" "$r" "${o:-0}" "${p:-0}" | tee -a "$out"
        printf 'net\t%s-%s-single-api\t%s\t%s\t%s\tMpps\n' "$mode" "$size" "$r" "${s:-0}" "${p:-0}" | tee -a "$out"
    done
done
