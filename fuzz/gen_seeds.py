#!/usr/bin/env python3
"""Write the hand-made seeds of every fuzz target into corpus/<target>/.

    python3 fuzz/gen_seeds.py [corpus-dir]

Files are named gen-<what> (seeds) and regress-<what> (reproducers of library
bugs found by fuzzing); the script first deletes the gen-* files, then writes
its gen-* and regress-* files, so those are reproducible from this script
alone (regress-* files added by hand are left alone).  Files named rec-* (recorded
from real frontends, see fuzz/README.md) and cov-* (coverage-increasing inputs
kept from fuzzing campaigns) are left alone.  One seed per row of
/work/shared/threats.md (both tables) where a target can express it, plus the
QEMU vhost-user-blk / vhost-user-net and DPDK virtio_user handshakes.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seedlib import *  # noqa: E402,F401,F403

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'corpus')

seeds = {'fuzz_dispatch': {}, 'fuzz_virtq': {}, 'fuzz_memtable': {}, 'fuzz_inflight': {}}


def add(target, name, data):
    assert name not in seeds[target], name
    seeds[target][name] = data


# ======================================================================
# fuzz_dispatch
# ======================================================================
UA = 0x7f1200000000      # frontend virtual address of guest RAM
MEM = 0x40000            # 256 KiB of guest RAM at gpa 0
DATA = 0x20000           # where buffers go (gpa)
ALL_PF = bits(PF_MQ, PF_LOG_SHMFD, PF_RARP, PF_REPLY_ACK, PF_NET_MTU, PF_BACKEND_REQ,
              PF_CONFIG, PF_BACKEND_SEND_FD, PF_HOST_NOTIFIER, PF_INFLIGHT, PF_MEM_SLOTS,
              PF_SHARED_OBJECT)
FEAT = bits(F_VERSION_1, F_PROTOCOL_FEATURES, F_EVENT_IDX, F_INDIRECT)
NR = V1 | NEED_REPLY


def negotiate(pf=ALL_PF, feat=FEAT):
    return (msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES) +
            msg(SET_PROTOCOL_FEATURES, p_u64(pf)) + msg(SET_OWNER) +
            msg(SET_FEATURES, p_u64(feat)))


def memtable(size=MEM, flags=NR):
    return msg(SET_MEM_TABLE, p_memtable([region(0, size, UA)]), flags=flags, fds=[memfd(size)])


def ring_addrs(q):
    base = UA + q * 0x8000
    return base, base + 0x5000, base + 0x4000   # desc, used, avail


def vring(q, num=8, kick=True, call=True, base=0):
    d, u, a = ring_addrs(q)
    s = msg(SET_VRING_NUM, p_state(q, num)) + msg(SET_VRING_BASE, p_state(q, base))
    s += msg(SET_VRING_ADDR, p_addr(q, d, u, a))
    if kick:
        s += msg(SET_VRING_KICK, p_u64(q), fds=[eventfd()])
    if call:
        s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
    s += msg(SET_VRING_ENABLE, p_state(q, 1))
    return s


def ready(nq=1, num=8, pf=ALL_PF, feat=FEAT):
    s = negotiate(pf, feat) + memtable()
    for q in range(nq):
        s += vring(q, num)
    return s


def traffic(q=0, indirect=True):
    """A few chains, a kick that makes the device pop and push them, and some
    direct ring API calls."""
    return ops(o_chain(q, 0, 3, 0b100, 256, DATA) + o_kick(q) +
               (o_indirect(q, 3, 4, 0b1100, 512, DATA + 0x4000, DATA + 0x5000) if indirect else
                o_chain(q, 3, 2, 0b10, 512, DATA + 0x5000)) +
               o_pop(q) + o_avail_bytes(q, 4096, 4096) + o_push(q, 0, 512) + o_notify(q) +
               o_set_notif(q, 0) + o_set_notif(q, 1) + o_empty(q))


# ---- handshakes (compat.md 3.1-3.3, frontends.md) ----
def qemu_connect(nvqs, pf, call_err=True, per_device=True, backend=True):
    s = msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES) + msg(SET_PROTOCOL_FEATURES, p_u64(pf))
    if per_device:
        s += msg(GET_QUEUE_NUM)
    s += msg(GET_MAX_MEM_SLOTS)
    if backend:
        s += msg(SET_BACKEND_REQ_FD, flags=NR, fds=[sock()])
    if per_device:
        s += msg(SET_OWNER)
    s += msg(GET_FEATURES)
    for q in range(nvqs):
        s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
        if call_err:
            s += msg(SET_VRING_ERR, p_u64(q), fds=[eventfd()])
    return s


BLK_PF = bits(PF_MQ, PF_REPLY_ACK, PF_BACKEND_REQ, PF_CONFIG, PF_INFLIGHT, PF_MEM_SLOTS,
              PF_LOG_SHMFD)


def qemu_blk(nvqs=1, slots=True):
    s = qemu_connect(nvqs, BLK_PF)
    s += msg(GET_CONFIG, p_config(0, 60))
    feat = bits(F_VERSION_1, F_PROTOCOL_FEATURES, F_EVENT_IDX, F_INDIRECT, 9, 6, 1, 2)
    s += msg(SET_FEATURES, p_u64(feat))
    s += msg(GET_INFLIGHT_FD, p_inflight(0, 0, nvqs, 128))
    s += msg(SET_INFLIGHT_FD, p_inflight(nvqs * inflight_queue_size(128), 0, nvqs, 128),
             fds=[memfd(nvqs * inflight_queue_size(128))])
    s += msg(SET_FEATURES, p_u64(feat))
    if slots:
        # below-4G RAM split in two, the same memfd for both (a dup)
        s += msg(ADD_MEM_REG, p_memreg(region(0, 0xa0000, UA)), flags=NR, fds=[memfd(0x100000)])
        s += msg(ADD_MEM_REG, p_memreg(region(0xc0000, 0x40000, UA + 0xc0000, 0xc0000)),
                 flags=NR, fds=[dup(nvqs * 2 + 2)])
    else:
        s += memtable()
    for q in range(nvqs):
        d, u, a = ring_addrs(q)
        s += msg(SET_VRING_NUM, p_state(q, 128)) + msg(SET_VRING_BASE, p_state(q, 0))
        s += msg(SET_VRING_ADDR, p_addr(q, d, u, a))
        s += msg(SET_VRING_KICK, p_u64(q), fds=[eventfd()])
        s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
    for q in range(nvqs):
        s += msg(SET_VRING_ENABLE, p_state(q, 1))
    s += traffic(0)
    s += msg(SET_CONFIG, p_config(20, 1, 0, b'\x01'), flags=NR)
    for q in range(nvqs):
        s += msg(SET_VRING_ENABLE, p_state(q, 0)) + msg(GET_VRING_BASE, p_state(q, 0))
    return s


NET_PF = bits(PF_MQ, PF_LOG_SHMFD, PF_RARP, PF_REPLY_ACK, PF_NET_MTU, PF_BACKEND_REQ,
              PF_MEM_SLOTS)


def qemu_net(pairs=1, migrate=False):
    s = b''
    for p in range(pairs):
        first = p == 0
        s += msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES) + msg(SET_PROTOCOL_FEATURES, p_u64(NET_PF))
        if first:
            s += msg(GET_QUEUE_NUM)
        s += msg(GET_MAX_MEM_SLOTS)
        if first:
            s += msg(SET_BACKEND_REQ_FD, flags=NR, fds=[sock()]) + msg(SET_OWNER)
        s += msg(GET_FEATURES)
        for q in (2 * p, 2 * p + 1):
            s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
            s += msg(SET_VRING_ERR, p_u64(q), fds=[eventfd()])
    s += msg(NET_SET_MTU, p_u64(1500), flags=NR)
    feat = bits(F_VERSION_1, F_PROTOCOL_FEATURES, 15, 5, 0, 1)
    for p in range(pairs):
        s += msg(SET_FEATURES, p_u64(feat))
        if p == 0:
            s += msg(ADD_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR, fds=[memfd(MEM)])
        for q in (2 * p, 2 * p + 1):
            d, u, a = ring_addrs(q)
            s += msg(SET_VRING_NUM, p_state(q, 256)) + msg(SET_VRING_BASE, p_state(q, 0))
            s += msg(SET_VRING_ADDR, p_addr(q, d, u, a))
            s += msg(SET_VRING_KICK, p_u64(q), fds=[eventfd()])
            s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
    for p in range(pairs):
        for q in (2 * p, 2 * p + 1):
            s += msg(SET_VRING_ENABLE, p_state(q, 1 if p == 0 else 0))
    s += traffic(0, False) + traffic(1, False)
    if migrate:
        s += msg(SET_FEATURES, p_u64(feat | bits(F_LOG_ALL)))
        for q in (0, 1):
            d, u, a = ring_addrs(q)
            s += msg(SET_VRING_ADDR, p_addr(q, d, u, a, log=u - UA, flags=1), flags=NR)
        s += msg(SET_LOG_BASE, p_log(MEM // 4096 // 8, 0), flags=NR, fds=[memfd(MEM // 4096 // 8)])
        s += traffic(0, False)
        s += msg(SEND_RARP, p_u64(0x563412005452))
    return s


def dpdk_virtio_user(queues=1, quit_=True):
    s = msg(SET_OWNER) + msg(GET_FEATURES) + msg(GET_PROTOCOL_FEATURES)
    s += msg(SET_PROTOCOL_FEATURES, p_u64(bits(PF_MQ, PF_REPLY_ACK, PF_CONFIG)))
    for q in range(2 * queues):
        s += msg(SET_VRING_CALL, p_u64(q), fds=[eventfd()])
    s += msg(SET_FEATURES, p_u64(bits(F_VERSION_1, F_PROTOCOL_FEATURES, 15, F_INDIRECT)))
    s += msg(SET_MEM_TABLE, p_memtable([region(UA, MEM, UA)]), flags=NR, fds=[memfd(MEM)])
    for q in range(2 * queues):
        base = UA + q * 0x8000
        s += msg(SET_VRING_NUM, p_state(q, 256)) + msg(SET_VRING_BASE, p_state(q, 0))
        s += msg(SET_VRING_ADDR, p_addr(q, base, base + 0x5000, base + 0x4000))
        s += msg(SET_VRING_KICK, p_u64(q), fds=[eventfd()])
    for q in range(2 * queues):
        s += msg(SET_VRING_ENABLE, p_state(q, 1))
    s += ops(o_chain(1, 0, 1, 0, 64, UA + DATA) + o_kick(1) + o_chain(0, 0, 1, 1, 1518, UA + DATA) + o_kick(0))
    if quit_:
        for q in range(2 * queues):
            s += msg(SET_VRING_ENABLE, p_state(q, 0))
            s += msg(GET_VRING_BASE, p_state(q, 0xdeadbe00 + q))   # stale num bytes
    return s


add('fuzz_dispatch', 'gen-hs-qemu-blk-1q', qemu_blk(1))
add('fuzz_dispatch', 'gen-hs-qemu-blk-2q', config(0x1ffffff | FEAT, ALL_PF, 2) + qemu_blk(2))
add('fuzz_dispatch', 'gen-hs-qemu-blk-memtable', qemu_blk(1, slots=False))
add('fuzz_dispatch', 'gen-hs-qemu-net-1pair', qemu_net(1))
add('fuzz_dispatch', 'gen-hs-qemu-net-2pairs', qemu_net(2))
add('fuzz_dispatch', 'gen-hs-qemu-net-migrate',
    config(0xffffff | FEAT | bits(F_LOG_ALL), ALL_PF, 4, 0x04) + qemu_net(1, migrate=True))
add('fuzz_dispatch', 'gen-hs-dpdk-virtio-user', dpdk_virtio_user(1))
add('fuzz_dispatch', 'gen-hs-dpdk-virtio-user-2q', dpdk_virtio_user(2))
add('fuzz_dispatch', 'gen-hs-recorder-on', config(0xffffff | FEAT, ALL_PF, 4, 0x02) + qemu_blk(1))

# ---- threats.md, messages table ----
T = 'fuzz_dispatch'
add(T, 'gen-msg-short-header', raw(b'\x01\x00\x00\x00\x01'))
add(T, 'gen-msg-short-header-empty', eof())
add(T, 'gen-msg-short-payload', negotiate() + msg(SET_FEATURES, p_u64(FEAT)[:4], size=8))
add(T, 'gen-msg-oversized-size', negotiate() + msg(GET_FEATURES, size=0xffffffff))
add(T, 'gen-msg-oversized-size-300', msg(SET_CONFIG, bytes(300), size=300))
add(T, 'gen-msg-inexact-size',
    negotiate() + msg(SET_FEATURES, b'', flags=NR) + msg(SET_VRING_NUM, u32(0), flags=NR) +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA)]) + b'xx', flags=NR, fds=[memfd(MEM)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA)], nregions=2), flags=NR, fds=[memfd(MEM)]) +
    msg(GET_FEATURES, p_u64(0)) + msg(SET_FEATURES, p_u64(FEAT), size=4))
add(T, 'gen-msg-unknown-request',
    msg(NONE, flags=NR) + msg(42) + msg(RESET_DEVICE) + msg(SET_STATUS, p_u64(8)) +
    msg(GET_STATUS) + msg(0x7fffffff) + msg(0xffffffff) + msg(GPU_SET_SOCKET, fds=[sock()]) +
    msg(CREATE_CRYPTO_SESSION) + msg(POSTCOPY_ADVISE) + msg(GET_FEATURES))
add(T, 'gen-msg-device-takes',
    config(0xffffff | FEAT, ALL_PF, 4, 0x04) + negotiate() + msg(SEND_RARP, p_u64(1), flags=NR) +
    msg(NET_SET_MTU, p_u64(9000)) + msg(GPU_SET_SOCKET, fds=[sock()]) + msg(IOTLB_MSG, bytes(16)))
add(T, 'gen-msg-bad-flags',
    msg(GET_FEATURES, flags=0) + msg(GET_FEATURES, flags=2) + msg(GET_FEATURES, flags=3) +
    msg(GET_FEATURES, flags=V1 | 4) + msg(GET_FEATURES, flags=V1 | 0x10) +
    msg(SET_OWNER, flags=V1 | 4 | NEED_REPLY) + msg(GET_FEATURES, flags=0xffffffff))
add(T, 'gen-msg-unexpected-fds',
    msg(GET_FEATURES, fds=[eventfd()]) + msg(SET_OWNER, fds=[memfd(4096), pipe()]) +
    msg(GET_PROTOCOL_FEATURES, fds=[eventfd()] * 8) +
    msg(GET_FEATURES, fds=[eventfd()] * 9) + msg(GET_FEATURES))
add(T, 'gen-msg-fd-count-vs-field',
    negotiate() +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x1000, UA), region(0x1000, 0x1000, UA + 0x1000)]),
        flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x1000, UA)]), flags=NR, fds=[memfd(0x1000), eventfd()]) +
    msg(SET_MEM_TABLE, p_memtable([region(i * 0x1000, 0x1000, UA + i * 0x1000) for i in range(8)],
                                  nregions=9), flags=NR, fds=[memfd(0x1000)] * 8))
add(T, 'gen-msg-region-arithmetic',
    negotiate() +
    msg(SET_MEM_TABLE, p_memtable([region(0xfffffffffffff000, 0x2000, UA)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, 0xfffffffffffff000)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, UA, 0xfffffffffffff000)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0, UA)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0x1000, 0xffffffffffffefff, UA)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(ADD_MEM_REG, p_memreg(region(0x7000, 0x1001, UA, 0x123)), flags=NR, fds=[memfd(0x3000)]))
add(T, 'gen-msg-overlapping-regions',
    negotiate() +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x4000, UA), region(0x2000, 0x4000, UA + 0x10000)]),
        flags=NR, fds=[memfd(0x4000), memfd(0x4000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x4000, UA), region(0x10000, 0x4000, UA + 0x2000)]),
        flags=NR, fds=[memfd(0x4000), dup(2)]) +
    memtable() + msg(ADD_MEM_REG, p_memreg(region(0x1000, 0x1000, UA + 0x100000)), flags=NR,
                     fds=[memfd(0x1000)]))
add(T, 'gen-msg-fd-smaller-than-region',
    negotiate() +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x200000, UA)]), flags=NR, fds=[memfd(0x1000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, UA, 0x1000)]), flags=NR, fds=[memfd(0x2000)]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, UA)]), flags=NR, fds=[eventfd()]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, UA)]), flags=NR, fds=[pipe()]) +
    msg(SET_MEM_TABLE, p_memtable([region(0, 0x2000, UA)]), flags=NR, fds=[other()]))
add(T, 'gen-msg-stale-ring-pointers',
    ready() + ops(o_chain(0, 0, 2, 0b10, 128, DATA) + o_pop(0)) +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA + 0x100000)]), flags=NR, fds=[memfd(MEM)]) +
    ops(o_push(0, 0, 16) + o_kick(0) + o_pop(0)) + memtable() +
    ops(o_chain(0, 2, 1, 0, 64, DATA) + o_pop(0)) +
    msg(REM_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR) + ops(o_kick(0) + o_push(0, 0, 1)) +
    memtable() + msg(GET_VRING_BASE, p_state(0, 0)) + ops(o_kick(0) + o_pop(0) + o_push(0)))
add(T, 'gen-msg-queue-index',
    ready() + b''.join(
        msg(SET_VRING_NUM, p_state(i, 8), flags=NR) + msg(SET_VRING_BASE, p_state(i, 0), flags=NR) +
        msg(SET_VRING_ADDR, p_addr(i, UA, UA + 0x5000, UA + 0x4000), flags=NR) +
        msg(GET_VRING_BASE, p_state(i, 0)) + msg(SET_VRING_KICK, p_u64(i), flags=NR, fds=[eventfd()]) +
        msg(SET_VRING_CALL, p_u64(i | NOFD), flags=NR) + msg(SET_VRING_ERR, p_u64(i), flags=NR, fds=[eventfd()]) +
        msg(SET_VRING_ENABLE, p_state(i, 1), flags=NR) + msg(VRING_KICK, p_state(i, 0), flags=NR)
        for i in (4, 0xff, 0x100, 0xffff, 0xffffffff)) +
    msg(GET_INFLIGHT_FD, p_inflight(0, 0, 5, 8)) + msg(SET_INFLIGHT_FD, p_inflight(4096, 0, 0xffff, 8),
                                                    fds=[memfd(4096)]))
add(T, 'gen-msg-nofd-bit',
    ready() + msg(SET_VRING_KICK, p_u64(NOFD), flags=NR, fds=[eventfd()]) +
    msg(SET_VRING_KICK, p_u64(0), flags=NR) + msg(SET_VRING_CALL, p_u64(0), flags=NR, fds=[eventfd(), eventfd()]) +
    msg(SET_VRING_ERR, p_u64(NOFD | 0x200), flags=NR) + msg(SET_VRING_KICK, p_u64(NOFD), flags=NR) +
    msg(SET_VRING_CALL, p_u64(0), fds=[memfd(4096)]) + ops(o_kick(0) + o_notify(0)))
add(T, 'gen-msg-queue-size',
    negotiate() + memtable() + b''.join(msg(SET_VRING_NUM, p_state(0, n), flags=NR)
                                         for n in (0, 3, 1000, 1024, 2048, 32768, 0xffffffff)) +
    vring(0, 1) + ops(o_chain(0, 0, 3, 0, 64, DATA) + o_kick(0)))
add(T, 'gen-msg-ring-placement',
    negotiate() + msg(SET_VRING_NUM, p_state(0, 8)) +
    msg(SET_VRING_ADDR, p_addr(0, UA, UA + 0x5000, UA + 0x4000), flags=NR) +   # before memory
    memtable() +
    msg(SET_VRING_ADDR, p_addr(0, UA + 1, UA + 0x5000, UA + 0x4000), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, UA, UA + 0x5002, UA + 0x4001), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, UA + MEM - 0x40, UA + 0x5000, UA + 0x4000), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, UA, UA + MEM - 8, UA + 0x4000), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, UA, UA + 0x5000, 0), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, UA, UA + 0x5000, UA + 0x4000, flags=0x80), flags=NR) +
    msg(SET_VRING_KICK, p_u64(0), fds=[eventfd()]) + ops(o_kick(0) + o_pop(0)))
LOGF = bits(F_VERSION_1, F_PROTOCOL_FEATURES, F_LOG_ALL, F_EVENT_IDX)
LOG_OK = (config(0xffffff | FEAT | bits(F_LOG_ALL), ALL_PF, 2) + negotiate(feat=LOGF) + memtable() +
          vring(0) + msg(SET_LOG_FD, fds=[eventfd()]) +
          msg(SET_LOG_BASE, p_log(1, 0x10), fds=[memfd(0x1000)]) +   # a 1-byte log: 8 pages
          msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0), log=0x5000, flags=1), flags=NR) +
          ops(o_chain(0, 0, 2, 0b11, 0x800, 0x3000) + o_kick(0) +
              o_chain(0, 2, 1, 1, 16, 0x100) + o_pop(0) + o_push(0, 0, 16) +
              o_chain(0, 3, 2, 0b11, 0x800, 0x3f000) + o_kick(0)))   # writes past the log
add(T, 'gen-msg-log-base', LOG_OK)
add(T, 'gen-msg-log-base-wrapping-used-log',
    config(0xffffff | FEAT | bits(F_LOG_ALL), ALL_PF, 2) + negotiate(feat=LOGF) + memtable() + vring(0) +
    msg(SET_LOG_BASE, p_log(0x1000, 0), fds=[memfd(0x1000)]) +
    msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0), log=0xfffffffffffffff0, flags=1), flags=NR) +
    ops(o_chain(0, 0, 1, 1, 16, 0x3000) + o_pop(0) + o_push(0, 0, 16)) +
    msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0), log=0x5000, flags=1), flags=NR) +
    ops(o_chain(0, 1, 1, 1, 16, 0xfffffffffffff000) + o_pop(0) + o_chain(0, 2, 1, 1, 16, 0x3000) +
        o_pop(0) + o_push(0, 0, 0x10000)))
for i, bad in enumerate([msg(SET_LOG_BASE, p_log(0x1000, 0xfffffffffffff800), fds=[memfd(0x2000)]),
                         msg(SET_LOG_BASE, p_log(0, 0), fds=[memfd(0x2000)]),
                         msg(SET_LOG_BASE, p_log(0x1000, 0)),
                         msg(SET_LOG_BASE, p_log(0x3000, 0), fds=[memfd(0x1000)]),
                         msg(SET_LOG_BASE, p_log(0x1000, 0), fds=[eventfd()])]):
    add(T, 'gen-msg-log-base-bad-%d' % i, LOG_OK + bad + ops(o_kick(0)))
add(T, 'gen-msg-inflight-region',
    config(0xffffff | FEAT, ALL_PF, 2) + negotiate() +
    msg(GET_INFLIGHT_FD, p_inflight(0, 0, 3, 8)) + msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 0)) +
    msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 2048)) + msg(GET_INFLIGHT_FD, p_inflight(0, 0, 2, 1024)) +
    msg(GET_INFLIGHT_FD, p_inflight(0, 0, 2, 1024)) +
    msg(SET_INFLIGHT_FD, p_inflight(64, 0, 2, 128), flags=NR, fds=[memfd(4096)]) +
    msg(SET_INFLIGHT_FD, p_inflight(8192, 4096, 2, 128), flags=NR, fds=[memfd(4096)]) +
    msg(SET_INFLIGHT_FD, p_inflight(8192, 100, 2, 128), flags=NR, fds=[memfd(16384)]) +
    msg(SET_INFLIGHT_FD, p_inflight(2 * inflight_queue_size(8), 0, 2, 8), flags=NR,
        fds=[memfd(4096, u16(1) + u16(9) + u16(77) + u16(3), 8)]) +
    memtable() + vring(0) + traffic(0))
add(T, 'gen-msg-config-space',
    negotiate() + msg(GET_CONFIG, p_config(250, 10)) + msg(GET_CONFIG, p_config(0, 0)) +
    msg(GET_CONFIG, p_config(0, 10), size=12 + 5) + msg(GET_CONFIG, p_config(0, 7)) +
    msg(GET_CONFIG, p_config(0xffffffff, 2)) + msg(GET_CONFIG, p_config(0, 256)) +
    msg(SET_CONFIG, p_config(250, 10), flags=NR) + msg(SET_CONFIG, p_config(0, 0), flags=NR) +
    msg(SET_CONFIG, p_config(0, 3, 0, b'abc'), flags=NR) + msg(SET_CONFIG, p_config(4, 4, 7, b'abcd'), flags=NR) +
    msg(SET_CONFIG, p_config(8, 8, 1, b'abcdefgh'), flags=NR) + msg(GET_CONFIG, p_config(0, 16)))
add(T, 'gen-msg-config-no-callbacks',
    config(0xffffff | FEAT, ALL_PF, 1, 0x08) + negotiate() + msg(GET_CONFIG, p_config(0, 16)) +
    msg(SET_CONFIG, p_config(0, 1, 0, b'x'), flags=NR) + msg(GET_SHARED_OBJECT, bytes(16)))
add(T, 'gen-msg-ungated',
    msg(GET_FEATURES) + msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 8)) +
    msg(SET_INFLIGHT_FD, p_inflight(4096, 0, 1, 8), fds=[memfd(4096)]) +
    msg(GET_CONFIG, p_config(0, 8)) + msg(SET_CONFIG, p_config(0, 1, 0, b'x')) +
    msg(GET_MAX_MEM_SLOTS) + msg(ADD_MEM_REG, p_memreg(region(0, 0x1000, UA)), fds=[memfd(0x1000)]) +
    msg(REM_MEM_REG, p_memreg(region(0, 0x1000, UA))) + msg(GET_SHARED_OBJECT, bytes(16)) +
    msg(SET_BACKEND_REQ_FD, fds=[sock()]) + msg(POSTCOPY_ADVISE) + msg(POSTCOPY_LISTEN) +
    msg(POSTCOPY_END) + msg(VRING_KICK, p_state(0, 0)) + msg(SET_LOG_BASE, p_log(8, 0), fds=[memfd(8)]) +
    msg(SEND_RARP, p_u64(0)) + msg(NET_SET_MTU, p_u64(1500)) + msg(SET_VRING_ENDIAN, p_state(0, 1)))
add(T, 'gen-msg-repeats',
    negotiate() + msg(SET_BACKEND_REQ_FD, fds=[sock()]) + msg(SET_BACKEND_REQ_FD, fds=[sock()]) +
    msg(SET_BACKEND_REQ_FD, fds=[dup(0)]) +
    b''.join(msg(SET_VRING_NUM, p_state(0, 8)) for _ in range(150)) +
    b''.join(msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 256)) for _ in range(100)) +
    b''.join(msg(SET_VRING_CALL, p_u64(0), fds=[eventfd()]) for _ in range(20)) +
    b''.join(memtable() for _ in range(20)))
add(T, 'gen-msg-reset-owner',
    ready(2) + traffic(0) + msg(RESET_OWNER) + ops(o_kick(0) + o_pop(0)) + ready(2) + traffic(1))
add(T, 'gen-msg-backend-channel',
    config(0xffffff | FEAT, ALL_PF | bits(PF_INBAND), 2) + negotiate(ALL_PF | bits(PF_INBAND)) +
    msg(SET_BACKEND_REQ_FD, flags=NR, fds=[sock()]) + memtable() + vring(0, call=False) +
    ops(o_config_change() + o_chain(0, 0, 1, 1, 64, DATA) + o_pop(0) + o_push(0, 0, 64) +
        o_notify(0) + o_notify_sync(0)) +
    msg(VRING_KICK, p_state(0, 0), flags=NR) + msg(GET_SHARED_OBJECT, bytes(16)) + msg(SET_VRING_ENDIAN, p_state(0, 1)))
add(T, 'gen-msg-notifier-kinds',
    negotiate() + memtable() + vring(0, call=False) +
    msg(SET_VRING_CALL, p_u64(0), fds=[sock()]) + msg(SET_VRING_ERR, p_u64(0), fds=[pipe()]) +
    msg(SET_VRING_KICK, p_u64(0), fds=[other()]) + msg(SET_BACKEND_REQ_FD, fds=[dup(4)]) +
    traffic(0))
add(T, 'gen-msg-features',
    msg(SET_FEATURES, p_u64(0)) + msg(SET_FEATURES, p_u64(1 << 63)) + msg(GET_FEATURES) +
    msg(SET_FEATURES, p_u64(bits(F_VERSION_1))) + msg(SET_PROTOCOL_FEATURES, p_u64(1 << 40)) +
    msg(GET_PROTOCOL_FEATURES) + msg(SET_PROTOCOL_FEATURES, p_u64(0xffffffffffffffff)) +
    msg(SET_FEATURES, p_u64(bits(F_VERSION_1, 34))) + memtable(flags=V1) + vring(0) + traffic(0))

add(T, 'gen-api-backend-channel',
    negotiate() + msg(SET_BACKEND_REQ_FD, flags=NR, fds=[sock()]) + memtable() + vring(0) +
    ops(o_host_notifier(0, 0, 4096, 0) + o_host_notifier(0, 1, 4096, 4096) +
        o_host_notifier(1, 2, -1, -5) + o_shared_object(0) + o_shared_object(1) +
        o_shared_object(2) + o_config_change() + o_misc(5, 0) + o_misc(26, -1) + o_misc(0xffffffff, 4) +
        o_misc(41, 3)) +
    msg(SET_PROTOCOL_FEATURES, p_u64(bits(PF_REPLY_ACK))) +
    ops(o_host_notifier(0, 1, 4096, 0) + o_shared_object(2) + o_config_change()))
add(T, 'gen-api-no-backend-channel',
    negotiate() + ops(o_host_notifier(0, 1, 4096, 0) + o_shared_object(0) + o_shared_object(2) +
                      o_config_change() + o_misc(1, 0)))
add(T, 'gen-msg-postcopy',
    negotiate(ALL_PF | bits(PF_PAGEFAULT)) + msg(POSTCOPY_ADVISE) + msg(POSTCOPY_ADVISE) +
    msg(POSTCOPY_LISTEN, flags=NR) + msg(POSTCOPY_END) + msg(POSTCOPY_LISTEN, flags=NR) + memtable())
add(T, 'gen-recorder-fd-kinds',
    config(0xffffff | FEAT, ALL_PF, 4, 0x02) +
    msg(GET_FEATURES, fds=[sock(), pipe(), other(), memfd(8192), dup(0), eventfd(), dup(3)]) +
    negotiate() + memtable() + vring(0) + traffic(0) + msg(SET_CONFIG, bytes(200), size=0xffff))

add(T, 'gen-msg-vring-edges',
    config(0xffffff | FEAT, ALL_PF | bits(PF_INBAND), 2, 0x01) + negotiate(ALL_PF | bits(PF_INBAND)) +
    memtable() + msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0)), flags=NR) +     # before NUM
    vring(0) + traffic(0) +
    msg(SET_VRING_NUM, p_state(0, 1024), flags=NR) +                           # rings no longer fit
    msg(SET_VRING_NUM, p_state(0, 16), flags=NR) +
    msg(SET_VRING_BASE, p_state(0, 0x10000), flags=NR) + msg(SET_VRING_ENABLE, p_state(0, 2), flags=NR) +
    msg(SET_VRING_BASE, p_state(0, 5), flags=NR) +
    msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0)), flags=NR) +                 # in-order resume
    msg(VRING_KICK, p_state(0, 0), flags=NR) + msg(VRING_KICK, p_state(1, 0), flags=NR) +
    msg(SET_VRING_KICK, p_u64(1 | NOFD), flags=NR) + msg(VRING_KICK, p_state(1, 0), flags=NR) +
    msg(GET_VRING_BASE, p_state(0, 0)) + msg(VRING_KICK, p_state(0, 0), flags=NR))
# A stopped queue with its rings placed: a larger size that would push the
# used ring past the end of memory is refused and the old size stays.
add(T, 'gen-msg-vring-num-outgrows-memory',
    negotiate() + memtable(size=0x6000) + msg(SET_VRING_NUM, p_state(0, 8)) +
    msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0)), flags=NR) +
    msg(SET_VRING_NUM, p_state(0, 1024), flags=NR) +
    msg(SET_VRING_NUM, p_state(0, 16), flags=NR) +
    msg(SET_VRING_KICK, p_u64(0), fds=[eventfd()]) + msg(SET_VRING_ENABLE, p_state(0, 1)) + traffic(0))
add(T, 'gen-msg-mem-edges',
    negotiate() + memtable() + vring(0) +
    msg(ADD_MEM_REG, p_memreg(region(0x100000, 0x1000, UA + 0x100000)), flags=NR, fds=[memfd(0x1000)]) +
    msg(ADD_MEM_REG, p_memreg(region(0x100000, 0x1000, UA + 0x100000)), flags=NR, fds=[memfd(0x1000)]) +
    msg(ADD_MEM_REG, p_memreg(region(0x100000, 0x1000, UA + 0x100000)), flags=NR, fds=[dup(3)]) +
    msg(REM_MEM_REG, p_memreg(region(0x100000, 0x1000, UA + 0x100000)), flags=NR) +
    msg(REM_MEM_REG, p_memreg(region(0x100000, 0x1000, UA + 0x100000)), flags=NR, fds=[memfd(0x1000)]) +
    msg(REM_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR) + ops(o_kick(0)) +
    msg(ADD_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR, fds=[memfd(MEM)]) + traffic(0) +
    msg(SET_MEM_TABLE, p_memtable([]), flags=NR) + ops(o_kick(0)) + msg(GET_MAX_MEM_SLOTS))

# ---- threats.md, rings table, through the whole stack ----
R = ready()


def ring_seed(name, o):
    add(T, 'gen-ring-' + name, R + rest(o))


ring_seed('loop-next-cycle', o_desc(0, 0, DATA, 16, VRING_DESC_F_NEXT, 1) +
          o_desc(0, 1, DATA, 16, VRING_DESC_F_NEXT, 0) + o_avail_put(0, 0) + o_kick(0))
ring_seed('loop-zero-length', o_desc(0, 0, DATA, 0, VRING_DESC_F_NEXT, 1) +
          o_desc(0, 1, DATA, 0, VRING_DESC_F_NEXT, 0) + o_avail_put(0, 0) + o_kick(0))
ring_seed('chain-longer-than-queue', o_chain(0, 0, 20, 0, 1, DATA) + o_pop(0) + o_kick(0))
ring_seed('head-out-of-range', o_avail_put(0, 8) + o_avail_put(0, 0xffff) + o_kick(0))
ring_seed('next-out-of-range', o_desc(0, 0, DATA, 16, VRING_DESC_F_NEXT, 9) + o_avail_put(0, 0) + o_kick(0))
ring_seed('avail-idx-jump', o_avail_idx(0, 9) + o_kick(0) + o_avail_idx(0, 0xffff) + o_pop(0))
ring_seed('duplicate-heads', o_chain(0, 0, 1, 0, 64, DATA) + o_avail_put(0, 0) + o_avail_put(0, 0) +
          o_avail_put(0, 0) + o_pop(0) + o_pop(0) + o_kick(0))
ring_seed('address-ranges', o_desc(0, 0, MEM - 8, 64, 0, 0) + o_avail_put(0, 0) + o_pop(0) +
          o_desc(0, 1, 0x10000000, 0, 0, 0) + o_avail_put(0, 1) + o_pop(0) +
          o_desc(0, 2, 0xfffffffffffffff0, 0x20, 0, 0) + o_avail_put(0, 2) + o_kick(0))
ring_seed('indirect-table', o_indirect(0, 0, 4, 0, 16, DATA, DATA + 0x100) + o_pop(0) +
          o_desc(0, 1, DATA, 17, VRING_DESC_F_INDIRECT, 0) + o_avail_put(0, 1) + o_pop(0) +
          o_desc(0, 2, DATA, 0, VRING_DESC_F_INDIRECT, 0) + o_avail_put(0, 2) + o_pop(0) +
          o_desc(0, 3, DATA, 0x8000, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 4) + o_avail_put(0, 3) +
          o_kick(0))
ring_seed('descriptor-order', o_desc(0, 0, DATA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1) +
          o_desc(0, 1, DATA + 16, 16, 0x80, 0) + o_avail_put(0, 0) + o_kick(0))
ring_seed('event-idx', o_used_event(0, 0xffff) + o_chain(0, 0, 1, 1, 8, DATA) + o_kick(0) +
          o_used_event(0, 0) + o_chain(0, 1, 1, 1, 8, DATA) + o_kick(0) + o_set_notif(0, 0) +
          o_avail_flags(0, 1) + o_notify(0))
add(T, 'gen-ring-kick-out-of-state',
    negotiate() + ops(o_kick(0) + o_pop(0) + o_notify(0)) + memtable() +
    msg(SET_VRING_KICK, p_u64(0), fds=[eventfd()]) + ops(o_kick(0) + o_pop(0)) + vring(0) +
    msg(GET_VRING_BASE, p_state(0, 0)) + ops(o_kick(0) + o_pop(0)) +
    msg(SET_VRING_ENABLE, p_state(0, 0)) + ops(o_chain(0, 0, 1, 0, 8, DATA) + o_kick(0)) +
    msg(VRING_KICK, p_state(0, 0)))
ring_seed('api-misuse', o_fake_push(0, 7) + o_fake_push(0, 9) + o_unpop(0) + o_rewind(0, 1) +
          o_flush(0, 2) + o_chain(0, 0, 1, 0, 8, DATA) + o_pop(0) + o_fill(0, 0, 0, 3) +
          o_rewind(0, 1) + o_pop(0) + o_unpop(0) + o_pop(0) + o_fill(0, 0, 4, 0) + o_flush(0, 1))

# ---- the batch data path (vu_queue_pop_batch / vu_queue_push_batch) ----
BATCH = (o_chain(0, 0, 2, 0b10, 64, DATA) + o_chain(0, 2, 1, 1, 32, DATA + 0x100) +
         o_chain(0, 3, 3, 0b110, 16, DATA + 0x200))
ring_seed('batch', BATCH + o_pop_batch(0, 2) + o_pop_batch(0, 8) + o_pop_batch(0, 8) +
          o_push_batch(0, 1, 2, 0, 16) + o_push_batch(0, 0, 5, PU_NO_LENS) + o_notify(0) +
          BATCH + o_pop(0) + o_pop_batch(0, 1, PB_SHORT_IOV) + o_pop_batch(0, 4, PB_NO_ELEMS) +
          o_pop_batch(0, 4, PB_NO_IOV) + o_pop_batch(0, 0) + o_pop_batch(0, 4) +
          o_push(0, 1, 8) + o_unpop(0) + o_rewind(0, 1) + o_push_batch(0, 0, 0) +
          o_push_batch(0, 0, 3, 0, 64) + o_kick(0))
ring_seed('batch-misuse', BATCH + o_pop_batch(0, 8) + o_push_batch(0, 0, 2, PU_DUP) +
          o_pop_batch(0, 8) + o_push_batch(0, 0, 1))
add(T, 'gen-ring-batch-misuse-fake', R + rest(BATCH + o_pop_batch(0, 1) + o_push_batch(0, 0, 1, PU_FAKE)))
add(T, 'gen-ring-batch-misuse-null', R + rest(BATCH + o_pop_batch(0, 1) + o_push_batch(0, 0, 1, PU_NO_ARRAY) +
                                              o_push_batch(0, 0, 1)))
add(T, 'gen-ring-batch-broken-guest', R + rest(o_chain(0, 0, 1, 0, 64, DATA) + o_avail_put(0, 9) +
                                               o_pop_batch(0, 8) + o_push_batch(0, 0, 1) + o_pop_batch(0, 8)))

# ---- postcopy: ADVISE, LISTEN, the table / region announcement with the
# go-ahead, END (the harness keeps away from guest memory while listening) ----
PC_PF = ALL_PF | bits(PF_PAGEFAULT, PF_INBAND)
PC_CFG = config(0xffffff | bits(F_VERSION_1, F_INDIRECT, F_EVENT_IDX, F_NOTIFY_ON_EMPTY, F_ANY_LAYOUT),
                PC_PF, 2)
GO_AHEAD = msg(SET_MEM_TABLE, p_u64(0))
PC_START = PC_CFG + negotiate(PC_PF) + msg(POSTCOPY_ADVISE) + msg(POSTCOPY_LISTEN, flags=NR)
add(T, 'gen-postcopy-table',
    PC_START + memtable() + GO_AHEAD +
    # while listening: ring setup declined, ring operations skipped
    msg(SET_VRING_NUM, p_state(0, 8)) + msg(SET_VRING_ADDR, p_addr(0, *ring_addrs(0)), flags=NR) +
    msg(SET_VRING_KICK, p_u64(0), flags=NR, fds=[eventfd()]) + msg(VRING_KICK, p_state(0, 0)) +
    ops(o_kick(0) + o_pop(0)) +
    memtable(flags=V1) + GO_AHEAD +                         # a second table, no ack asked
    msg(POSTCOPY_END, flags=NR) +
    # migration over: the same memory is served normally
    vring(0) + traffic(0) + msg(POSTCOPY_END))
add(T, 'gen-postcopy-add-mem-reg',
    PC_START +
    msg(ADD_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR, fds=[memfd(MEM)]) +
    msg(ADD_MEM_REG, p_memreg(region(MEM, 0x1000, UA + MEM)), fds=[memfd(0x1000)]) +
    msg(ADD_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR, fds=[dup(3)]) +     # a repeat: counted
    msg(REM_MEM_REG, p_memreg(region(MEM, 0x1000, UA + MEM)), flags=NR) +
    msg(POSTCOPY_END) + vring(0) + traffic(0))
add(T, 'gen-postcopy-bad-go-ahead',
    PC_START + memtable() + msg(GET_FEATURES) +               # not the go-ahead
    msg(POSTCOPY_END) + msg(POSTCOPY_ADVISE) + msg(POSTCOPY_LISTEN, flags=NR) +  # memory still there
    msg(SET_MEM_TABLE, p_memtable([]), flags=NR) + msg(POSTCOPY_LISTEN, flags=NR) +
    memtable(flags=V1) + msg(SET_MEM_TABLE, p_u64(1)) +      # a refusal as go-ahead: broken
    msg(POSTCOPY_END))
add(T, 'gen-postcopy-go-ahead-edges',
    PC_START +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA)], nregions=2), flags=NR, fds=[memfd(MEM)]) +
    GO_AHEAD +                                                # table refused first: go-ahead dropped
    memtable() + msg(SET_MEM_TABLE, b'\0' * 4) +             # go-ahead of the wrong size
    memtable() + msg(SET_MEM_TABLE, p_u64(0) + b'xx', size=8) +  # extra bytes after the go-ahead
    memtable() + msg(SET_MEM_TABLE, p_u64(0), size=16) +      # go-ahead cut short: EOF
    msg(POSTCOPY_END))
add(T, 'gen-postcopy-no-go-ahead',
    PC_START + memtable() + ops(o_kick(0)))                   # no M record follows: EOF instead
add(T, 'gen-postcopy-table-extra-bytes',
    PC_START + msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA)]) + b'zz', size=8 + 32, flags=NR,
                   fds=[memfd(MEM)]) + GO_AHEAD)
add(T, 'gen-postcopy-readvise',
    PC_START + memtable() + GO_AHEAD + msg(POSTCOPY_ADVISE) + msg(SET_MEM_TABLE, p_memtable([]), flags=NR) +
    GO_AHEAD + msg(POSTCOPY_LISTEN, flags=NR) + memtable() + GO_AHEAD + rest(o_kick(0) + o_pop(0)))

# more fds than the library's receive buffer holds: the kernel truncates them
add(T, 'gen-msg-fds-truncated', msg(GET_FEATURES, fds=[eventfd()] * 11) + msg(GET_FEATURES))
add(T, 'gen-msg-fds-truncated-acked',
    negotiate() + msg(SET_VRING_CALL, p_u64(0), flags=NR, fds=[eventfd()] * 15) + msg(GET_FEATURES))

# the frontend stops reading: replies and postcopy announcements fail (EPIPE)
HANG_UP_READ = b'H'
add(T, 'gen-msg-frontend-stops-reading',
    negotiate() + memtable() + HANG_UP_READ + msg(GET_FEATURES) + msg(SET_OWNER, flags=NR))
add(T, 'gen-postcopy-table-unsent', PC_START + HANG_UP_READ + memtable() + GO_AHEAD)
add(T, 'gen-postcopy-region-unsent',
    PC_START + HANG_UP_READ + msg(ADD_MEM_REG, p_memreg(region(0, MEM, UA)), flags=NR, fds=[memfd(MEM)]))

# 17 memfds in one input: the ones past the harness's pool of 16 are
# sealable, so the library seals them against shrinking
add(T, 'gen-mem-sealable-memfd',
    negotiate() + msg(GET_FEATURES, fds=[memfd(4096)] * 15) + msg(GET_FEATURES, fds=[memfd(4096)]) +
    memtable() + vring(0) + traffic(0))

# a queue started by an in-band kick without SET_VRING_KICK: its inflight
# area is never checked, so the data path does not track it
INB_PF = ALL_PF | bits(PF_INBAND)
d0, u0, a0 = ring_addrs(0)
add(T, 'gen-inflight-inband-start',
    config(0xffffff | FEAT, INB_PF, 1) + negotiate(INB_PF) + memtable() +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096)]) +
    msg(SET_VRING_NUM, p_state(0, 8)) + msg(SET_VRING_BASE, p_state(0, 0)) +
    msg(SET_VRING_ADDR, p_addr(0, d0, u0, a0)) + msg(SET_VRING_CALL, p_u64(0), fds=[eventfd()]) +
    msg(VRING_KICK, p_state(0, 0), flags=NR) +
    ops(o_chain(0, 0, 1, 1, 64, DATA) + o_chain(0, 1, 1, 1, 64, DATA + 0x100) + o_pop(0) + o_unpop(0) +
        o_pop(0) + o_pop(0) + o_push(0, 0, 8) + o_push(0, 0, 8)))

# dirty log edges: a used-ring log address that wraps at the avail event,
# a buffer pushed after the memory it was in went away, a log eventfd that
# cannot be written
LOG_FEAT = FEAT | bits(F_LOG_ALL)
LOGBASE = msg(SET_LOG_BASE, p_log(MEM // 4096 // 8, 0), flags=NR, fds=[memfd(4096)])
add(T, 'gen-log-used-address-wraps',
    negotiate(feat=LOG_FEAT) + memtable() + LOGBASE +
    msg(SET_VRING_NUM, p_state(0, 8)) + msg(SET_VRING_BASE, p_state(0, 0)) +
    msg(SET_VRING_ADDR, p_addr(0, d0, u0, a0, log=0xffffffffffffffff - (4 + 8 * 8), flags=1)) +
    msg(SET_VRING_KICK, p_u64(0), fds=[eventfd()]) + msg(SET_VRING_CALL, p_u64(0), fds=[eventfd()]) +
    ops(o_chain(0, 0, 1, 1, 64, DATA) + o_pop(0)))
add(T, 'gen-log-buffer-left-memory',
    negotiate(feat=LOG_FEAT) + memtable() + LOGBASE + vring(0) +
    ops(o_chain(0, 0, 1, 1, 64, DATA) + o_pop(0)) +
    memtable() + ops(o_push(0, 0, 64)))
add(T, 'gen-log-kick-fd-unwritable',
    negotiate(feat=LOG_FEAT) + memtable() + LOGBASE + msg(SET_LOG_FD, fds=[pipe()]) + vring(0) +
    traffic(0))

# a backend channel that is not a socket (/dev/null): the request is
# written, reading the frontend's ack fails
add(T, 'gen-backend-channel-not-a-socket',
    negotiate() + msg(SET_BACKEND_REQ_FD, flags=NR, fds=[other()]) + ops(o_config_change()))

# backend-channel answers that name the wrong request (and a lookup answer
# without its fd), or a channel the frontend shuts instead of answering
BACKEND_OPS = ops(o_config_change() + o_shared_object(2) + o_host_notifier(0, 1, 4096, 0))
for flag, name in ((0x10, 'wrong-answers'), (0x20, 'hung-up')):
    for i, op in enumerate([o_config_change(), o_shared_object(2), o_host_notifier(0, 1, 4096, 0)]):
        add(T, 'gen-backend-%s-%d' % (name, i),
            config(0xffffff | FEAT, ALL_PF, 1, flag) + negotiate() +
            msg(SET_BACKEND_REQ_FD, flags=NR, fds=[sock()]) + memtable() + vring(0) + ops(op))

# the frontend closes the connection with the library's reply unread
add(T, 'gen-msg-connection-reset', negotiate() + b'X')

# credentials with every message (SO_PASSCRED): a control message that is
# not SCM_RIGHTS
add(T, 'gen-msg-credentials', config(0xffffff | FEAT, ALL_PF, 1, 0x40) + negotiate() + memtable() +
    vring(0) + traffic(0))

# device misuse through the API: an element smaller than its header
add(T, 'gen-api-pop-too-small', ready() + ops(o_misc(0, 0) + o_misc(0xffffffff, 0) + o_pop(0)))

# all 509 memory slots, then one more
add(T, 'gen-mem-all-slots',
    msg(SET_FEATURES, p_u64(FEAT)) + msg(SET_PROTOCOL_FEATURES, p_u64(bits(PF_MEM_SLOTS, PF_REPLY_ACK))) +
    b''.join(msg(ADD_MEM_REG, p_memreg(region(i * 0x1000, 0x1000, UA + i * 0x1000, i * 0x1000)),
                 fds=[memfd(510 * 0x1000)] if i == 0 else [dup(0)]) for i in range(509)) +
    msg(ADD_MEM_REG, p_memreg(region(509 * 0x1000, 0x1000, UA + 509 * 0x1000, 509 * 0x1000)), flags=NR,
        fds=[dup(0)]))

# a queue shrunk (SET_VRING_NUM) below a head still waiting for resubmission
_area = u16(1) + u16(8) + u16(0) + u16(0) + bytes(16 * 5) + u8(1) + bytes(5) + u16(0) + u64(1)
add(T, 'gen-inflight-resubmit-after-shrink',
    negotiate() + memtable() +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096, _area, 8)]) +
    vring(0) + msg(SET_VRING_NUM, p_state(0, 4), flags=NR) +
    ops(o_desc(0, 5, DATA, 64, 2, 0) + o_pop(0)))

# out of fds ('L': the next message is dispatched under RLIMIT_NOFILE
# lowered to the lowest free fd): ADVISE cannot open a userfaultfd,
# GET_INFLIGHT_FD cannot create its memfd, received fds are truncated
NO_FDS = b'L'
add(T, 'gen-msg-out-of-fds-advise',
    config(0xffffff | FEAT, PC_PF, 1) + negotiate(PC_PF) + NO_FDS + msg(POSTCOPY_ADVISE, flags=NR))
add(T, 'gen-msg-out-of-fds',
    negotiate() + NO_FDS + msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 128), flags=NR) +
    NO_FDS + msg(SET_VRING_CALL, p_u64(0), flags=NR, fds=[eventfd()]) +
    NO_FDS + msg(GET_FEATURES) + NO_FDS + ops(o_kick(0)))

# memfds sealed against writing (size bit 63): every shared writable
# mapping of them fails (region, log, inflight area)
WSEAL = 1 << 63
add(T, 'gen-mem-write-sealed',
    negotiate(feat=LOG_FEAT) + memtable() +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA)]), flags=NR, fds=[memfd(WSEAL | MEM)]) +
    msg(ADD_MEM_REG, p_memreg(region(MEM, 0x1000, UA + MEM)), flags=NR, fds=[memfd(WSEAL | 0x1000)]) +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(WSEAL | 4096)]) +
    vring(0) + traffic(0) +
    msg(SET_LOG_BASE, p_log(MEM // 4096 // 8, 0), flags=NR, fds=[memfd(WSEAL | 4096)]))

# no file may grow ('F': RLIMIT_FSIZE 0 for the next message): the inflight
# area the library creates cannot be sized
add(T, 'gen-msg-no-file-growth',
    negotiate() + b'F' + msg(GET_INFLIGHT_FD, p_inflight(0, 0, 1, 128), flags=NR) + msg(GET_FEATURES))

# a device that answers with an oversized reply (its bug): not sent
add(T, 'gen-msg-device-reply-oversized',
    config(0xffffff | FEAT, ALL_PF, 1, 0x04) + negotiate() + msg(IOTLB_MSG, b'\x00' * 16, flags=NR) +
    msg(IOTLB_MSG, b'\xff' * 16, flags=NR) + msg(GET_FEATURES))

# pops the inflight area does not track: after a second SET_INFLIGHT_FD on
# a running queue (until its next start), and on a queue grown past its area
add(T, 'gen-inflight-untracked',
    negotiate() + memtable() +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096)]) + vring(0) +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096)]) +
    ops(o_chain(0, 0, 1, 1, 64, DATA) + o_pop(0) + o_push(0, 0, 8)) +
    msg(SET_VRING_KICK, p_u64(0), flags=NR, fds=[eventfd()]) + msg(SET_VRING_NUM, p_state(0, 16), flags=NR) +
    ops(o_chain(0, 1, 1, 1, 64, DATA) + o_pop(0) + o_push(0, 0, 8)))
# a start by in-band kick refused for an inflight area of unknown version
add(T, 'gen-inflight-inband-start-refused',
    config(0xffffff | FEAT, INB_PF, 1) + negotiate(INB_PF) + memtable() +
    msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096, u16(7) + u16(8), 8)]) +
    msg(SET_VRING_NUM, p_state(0, 8)) + msg(SET_VRING_BASE, p_state(0, 0)) +
    msg(SET_VRING_ADDR, p_addr(0, d0, u0, a0)) + msg(SET_VRING_CALL, p_u64(0), fds=[eventfd()]) +
    msg(VRING_KICK, p_state(0, 0), flags=NR) + ops(o_pop(0)))

# pushes while a new memory table has unmapped the rings do nothing: the
# device still holds the heads and completes them once the rings are back
# (found by fuzz_dispatch as a harness false positive: the harness had
# forgotten those heads, so their later push looked like a fake)
add(T, 'gen-ring-push-while-unmapped',
    ready() + ops(o_chain(0, 0, 1, 1, 64, DATA) + o_chain(0, 1, 1, 1, 64, DATA + 0x100) +
                  o_chain(0, 2, 1, 1, 64, DATA + 0x200) + o_pop(0) + o_pop_batch(0, 2)) +
    msg(SET_MEM_TABLE, p_memtable([region(0, MEM, UA + 0x100000)]), flags=NR, fds=[memfd(MEM)]) +
    ops(o_push(0, 0, 16) + o_fill(0, 0, 16, 0) + o_push_batch(0, 0, 3, 0, 8) + o_kick(0)) +
    memtable() + ops(o_fake_push(0, 0) + o_fake_push(0, 1) + o_push(0, 0, 16) + o_push_batch(0, 0, 2)))

# queue index out of range in the u64 of SET_VRING_CALL
add(T, 'gen-msg-vring-fd-index', negotiate() + msg(SET_VRING_CALL, p_u64(5), flags=NR, fds=[eventfd()]) +
    msg(SET_VRING_KICK, p_u64(0x80 | NOFD), flags=NR))

# ======================================================================
# fuzz_virtq: u8 flags, u8 size exponent, u16 base, [placement], ops
# ======================================================================
V = 'fuzz_virtq'
IND, EVI, LOG, PLACE, NOE = 1, 2, 4, 8, 0x10


def vq(name, flags, exp, ops_, base=0, place=b''):
    add(V, 'gen-' + name, u8(flags) + u8(exp) + u16(base) + place + ops_)


R0_R1 = 0x10000   # the gpa where R0 ends and R1 starts (apart in the host)
vq('basic', 0, 3, o_chain(0, 0, 3, 0b100, 64, 0x8000) + o_pop(0) + o_push(0, 0, 64) + o_notify(0))
vq('all-features-4q', IND | EVI | LOG | NOE | 0x60, 8,
   b''.join(o_chain(q, 0, 4, 0b1100, 256, 0x31000) + o_pop(q) + o_avail_bytes(q, 1 << 20, 1 << 20) +
            o_push(q, 0, 300) + o_notify(q) for q in range(4)))
vq('loop', 0, 3, o_desc(0, 0, 0x8000, 16, 1, 1) + o_desc(0, 1, 0x8000, 16, 1, 0) + o_avail_put(0, 0) +
   o_pop(0) + o_avail_bytes(0, 100, 100))
vq('loop-zero-len', IND, 3, o_desc(0, 0, 0x8000, 0, 1, 0) + o_avail_put(0, 0) + o_pop(0))
vq('chain-1024', 0, 10, o_chain(0, 0, 32, 0, 1, 0x8000) + o_pop(0) +
   b''.join(o_desc(0, i, 0x31000 + i, 1, 1, (i + 1) % 1024) for i in range(1024)) +
   o_avail_put(0, 0) + o_pop(0))
vq('index-bounds', 0, 2, o_avail_put(0, 4) + o_pop(0) + o_desc(0, 0, 0x8000, 8, 1, 7) + o_avail_put(0, 0) +
   o_pop(0))
vq('avail-jump', 0, 2, o_avail_idx(0, 5) + o_pop(0) + o_avail_idx(0, 0xfffe) + o_avail_bytes(0, 1, 1))
vq('avail-wrap', EVI, 2, o_chain(0, 0, 1, 0, 8, 0x8000) + o_pop(0) + o_push(0, 0, 0) +
   o_chain(0, 1, 1, 0, 8, 0x8000) + o_pop(0) + o_push(0), base=0xffff)
vq('duplicate-heads', 0, 4, o_chain(0, 0, 1, 0, 8, 0x8000) + o_avail_put(0, 0) + o_avail_put(0, 0) +
   o_pop(0) + o_pop(0) + o_pop(0))
vq('address-ranges', 0, 3, o_desc(0, 0, 0x20000, 16, 0, 0) + o_avail_put(0, 0) + o_pop(0) +
   o_desc(0, 1, 0x1fff8, 64, 0, 0) + o_avail_put(0, 1) + o_pop(0) +
   o_desc(0, 2, 0xfffffffffffffff0, 32, 0, 0) + o_avail_put(0, 2) + o_pop(0) +
   o_desc(0, 3, 0x50000, 0, 0, 0) + o_avail_put(0, 3) + o_pop(0))
vq('region-crossing-buffer', 0, 3, o_desc(0, 0, R0_R1 - 100, 200, 0, 0) + o_avail_put(0, 0) + o_pop(0) +
   o_push(0, 0, 0) + o_desc(0, 1, R0_R1 - 8, 4096, 2, 0) + o_avail_put(0, 1) + o_pop(0) + o_push(0, 0, 4096))
vq('region-crossing-indirect', IND, 3, o_indirect(0, 0, 8, 0xf0, 64, R0_R1 - 64, 0x31000) + o_pop(0) +
   o_push(0, 0, 100))
vq('indirect-bad', IND, 3,
   o_desc(0, 0, 0x8000, 0, 4, 0) + o_avail_put(0, 0) + o_pop(0) +
   o_desc(0, 1, 0x8000, 17, 4, 0) + o_avail_put(0, 1) + o_pop(0) +
   o_desc(0, 2, 0x8000, 16 * 1024 + 16, 4, 0) + o_avail_put(0, 2) + o_pop(0) +
   o_desc(0, 3, 0x8000, 32, 5, 4) + o_avail_put(0, 3) + o_pop(0) +
   o_desc(0, 4, 0x8000, 32, 6, 0) + o_avail_put(0, 4) + o_pop(0) +
   o_desc(0, 5, 0x20000, 32, 4, 0) + o_avail_put(0, 5) + o_pop(0))
vq('indirect-nested-and-loop', IND, 3,
   o_guest_write(0x8000, u64(0x9000) + u32(16) + u16(4) + u16(0)) + o_desc(0, 0, 0x8000, 16, 4, 0) +
   o_avail_put(0, 0) + o_pop(0) +
   o_guest_write(0x9000, u64(0x31000) + u32(8) + u16(1) + u16(1) + u64(0x31000) + u32(8) + u16(1) + u16(0)) +
   o_desc(0, 1, 0x9000, 32, 4, 0) + o_avail_put(0, 1) + o_pop(0) +
   o_guest_write(0xa000, u64(0x31000) + u32(8) + u16(1) + u16(7)) +
   o_desc(0, 2, 0xa000, 16, 4, 0) + o_avail_put(0, 2) + o_pop(0))
vq('indirect-not-negotiated', 0, 3, o_indirect(0, 0, 2, 0, 8, 0x8000, 0x31000) + o_pop(0))
vq('length-sums', 0, 3, o_desc(0, 0, 0x31000, 0xffffffff, 1, 1) + o_desc(0, 1, 0x31000, 0xffffffff, 1, 2) +
   o_desc(0, 2, 0x31000, 2, 0, 0) + o_avail_put(0, 0) + o_avail_bytes(0, 0xffffffff, 0xffffffff) + o_pop(0))
vq('descriptor-order', 0, 3, o_desc(0, 0, 0x31000, 8, 3, 1) + o_desc(0, 1, 0x31100, 8, 1 | 0x70, 2) +
   o_desc(0, 2, 0x31200, 8, 0, 0) + o_avail_put(0, 0) + o_pop(0))
vq('too-many-segments', IND, 10,
   b''.join(o_desc(0, i, 0x31000 + i, 1, 1 | (2 if i > 511 else 0), i + 1) for i in range(1023)) +
   o_desc(0, 1023, 0x32000, 1, 2, 0) + o_avail_put(0, 0) + o_avail_bytes(0, 5000, 5000) + o_pop(0) + o_push(0, 0, 1024))
vq('event-idx', EVI, 3, o_used_event(0, 0xffff) + o_chain(0, 0, 1, 1, 8, 0x31000) + o_pop(0) + o_push(0, 0, 8) +
   o_notify(0) + o_used_event(0, 0) + o_set_notif(0, 0) + o_chain(0, 1, 1, 1, 8, 0x31000) + o_pop(0) +
   o_push(0, 0, 8) + o_notify(0) + o_set_notif(0, 1), base=0xfffe)
vq('notify-flags', NOE, 3, o_avail_flags(0, 1) + o_notify(0) + o_avail_flags(0, 0) + o_notify(0) +
   o_empty(0) + o_notify_sync(0))
vq('api-misuse', 0, 3, o_fake_push(0, 8) + o_fake_push(0, 0xffffffff) + o_fake_push(0, 3) + o_unpop(0) +
   o_rewind(0, 1) + o_flush(0, 1))
vq('fill-flush-rewind', EVI, 3, o_chain(0, 0, 1, 1, 16, 0x31000) + o_chain(0, 1, 1, 1, 16, 0x31100) +
   o_chain(0, 2, 1, 1, 16, 0x31200) + o_pop(0) + o_pop(0) + o_pop(0) + o_rewind(0, 1) + o_pop(0) +
   o_fill(0, 0, 16, 0) + o_fill(0, 0, 16, 1) + o_flush(0, 2) + o_unpop(0) + o_pop(0) + o_push(0, 0, 0))
vq('log-dirty', LOG | EVI, 3, o_chain(0, 0, 2, 0b10, 0x1800, 0x30800) + o_pop(0) + o_push(0, 0, 0x2000) +
   o_chain(0, 2, 1, 1, 64, R0_R1 - 32) + o_pop(0) + o_push(0, 0, 64))
vq('placement-custom', PLACE, 3, o_chain(0, 0, 1, 0, 8, 0x31000) + o_pop(0) + o_push(0),
   place=u32(0x8000) + u32(0x9000) + u32(0xa000))
vq('placement-bad', PLACE, 3, o_pop(0), place=u32(0x8008) + u32(0x9001) + u32(R0_R1 - 8))
vq('placement-overlap', PLACE, 3, o_chain(0, 0, 1, 1, 8, 0x31000) + o_pop(0) + o_push(0, 0, 8) + o_pop(0),
   place=u32(0x8000) + u32(0x8000) + u32(0x8000))
vq('queue-size-1', 0, 0, o_chain(0, 0, 1, 0, 8, 0x31000) + o_pop(0) + o_push(0, 0, 0) + o_pop(0))
VBATCH = (o_chain(0, 0, 2, 0b10, 64, 0x31000) + o_chain(0, 2, 1, 1, 32, R0_R1 - 16) +
          o_chain(0, 3, 3, 0b110, 16, 0x32000))
vq('batch', EVI | LOG, 3, VBATCH + o_pop_batch(0, 2) + o_pop_batch(0, 8) + o_avail_bytes(0, 64, 64) +
   o_push_batch(0, 0, 2, 0, 48) + o_push_batch(0, 0, 1, PU_NO_LENS) + o_notify(0) + VBATCH +
   o_pop(0) + o_pop_batch(0, 8) + o_push(0, 1, 8) + o_fill(0, 0, 4, 0) + o_flush(0, 1) +
   o_push_batch(0, 0, 8, 0, 100) + o_notify(0))
vq('batch-refused', 0, 3, VBATCH + o_pop_batch(0, 3, PB_SHORT_IOV) + o_pop_batch(0, 3, PB_NO_ELEMS) +
   o_pop_batch(0, 3, PB_NO_IOV) + o_pop_batch(0, 0) + o_pop_batch(0, 3) + o_push_batch(0, 0, 0) +
   o_unpop(0) + o_rewind(0, 1) + o_pop_batch(0, 3) + o_push_batch(0, 1, 3, 0, 1))
vq('batch-mixed-4q', IND | EVI | NOE | 0x60, 5,
   b''.join(o_chain(q, 0, 4, 0b1100, 256, 0x31000) + o_indirect(q, 4, 3, 0b100, 64, 0x8000 + 0x800 * q, 0x33000) +
            o_pop(q) + o_pop_batch(q, 4) + o_push_batch(q, 1, 2, 0, 300) + o_push(q) + o_notify(q)
            for q in range(4)))
vq('batch-misuse-dup', 0, 3, VBATCH + o_pop_batch(0, 8) + o_push_batch(0, 0, 2, PU_DUP) + o_pop_batch(0, 8))
vq('batch-misuse-fake', 0, 3, VBATCH + o_pop_batch(0, 1) + o_push_batch(0, 0, 1, PU_FAKE))
vq('batch-misuse-null', 0, 3, VBATCH + o_pop_batch(0, 1) + o_push_batch(0, 0, 1, PU_NO_ARRAY))
vq('batch-unmapped', PLACE, 3, o_pop_batch(0, 4) + o_push_batch(0, 0, 1, PU_FAKE),
   place=u32(0x8008) + u32(0x9001) + u32(R0_R1 - 8))
vq('batch-guest-error', 0, 3, o_chain(0, 0, 1, 0, 8, 0x31000) + o_avail_put(0, 9) + o_pop_batch(0, 8) +
   o_push_batch(0, 0, 1))
# iov room: 256 descriptors that each straddle R0/R1 (two iovecs each) make
# a chain of 512 iovecs, and a second head chained into it one of 514: with an
# iov array of exactly 1024 the second does not fit after the first and stays
# on the ring for the next call.
vq('batch-iov-room', 0, 9,
   b''.join(o_desc(0, i, R0_R1 - 8, 16, 1 if i < 255 else 0, i + 1) for i in range(256)) +
   o_desc(0, 256, R0_R1 - 8, 16, 1, 0) + o_avail_put(0, 0) + o_avail_put(0, 256) +
   o_pop_batch(0, 8, PB_EXACT_IOV) + o_pop_batch(0, 8, PB_EXACT_IOV) + o_push_batch(0, 0, 2, 0, 4))
# a chain of 520 descriptors that each straddle R0/R1: 1040 iovecs, more
# than any element may have (the descriptor table written with raw guest
# writes, the densest encoding)
_tbl = b''.join(u64(R0_R1 - 8) + u32(16) + u16(1 if i < 519 else 0) + u16(i + 1) for i in range(520))
vq('chain-too-many-iovecs', 0, 10,
   b''.join(o_guest_write(k, _tbl[k:k + 255]) for k in range(0, len(_tbl), 255)) + o_avail_put(0, 0) +
   o_pop(0) + o_pop_batch(0, 1))
# a zero-length writable descriptor ahead of a real one, with the dirty log
vq('log-zero-length-in', LOG, 3, o_desc(0, 0, 0x31000, 0, 3, 1) + o_desc(0, 1, 0x31100, 64, 2, 0) +
   o_avail_put(0, 0) + o_pop(0) + o_push(0, 0, 64))

# ======================================================================
# fuzz_memtable: ops (0 set table, 1 add, 2 rem, 3 query)
# ======================================================================
M = 'fuzz_memtable'


def creg(gpa_pg, pages, ua_pg, off_pg, fd, mode=0):
    return u8(mode) + u16(gpa_pg) + u8(pages) + u16(ua_pg) + u8(off_pg) + u8(fd)


def rreg(gpa, size, ua, off, fd):
    return u8(0x80) + u64(gpa) + u64(size) + u64(ua) + u64(off) + u8(fd)


def smt(regs, n=None, fdmode=0, tweak=0):
    return u8(0) + u8(len(regs) if n is None else n) + u8(fdmode) + u8(tweak) + b''.join(regs)


def addr_(r): return u8(1) + r
def rem(r): return u8(2) + r
def query(a, ln): return u8(3) + u64(a) + u32(ln)


add(M, 'gen-basic', smt([creg(0, 16, 0, 0, 1), creg(16, 16, 0x100, 0, 2)]) + addr_(creg(0x100, 4, 0x200, 1, 3)) +
    query(0x10010, 100) + query(0xfff0, 0x20) + rem(creg(0, 16, 0, 0, 0)) + query(0x10, 4))
add(M, 'gen-region-arithmetic', addr_(rreg(0xfffffffffffff000, 0x2000, 0x7f0000000000, 0, 1)) +
    addr_(rreg(0, 0x2000, 0xfffffffffffff000, 0, 1)) + addr_(rreg(0, 0x1000, 0x7f0000000000, 0xfffffffffffff000, 1)) +
    addr_(rreg(0, 0, 0x7f0000000000, 0, 1)) + addr_(creg(0, 1, 0, 0, 1, mode=0x1f)) +
    addr_(creg(0, 1, 0, 0, 1, mode=0x03)) + addr_(creg(2, 1, 5, 0, 1, mode=0x04)))
add(M, 'gen-overlap', smt([creg(0, 8, 0, 0, 1), creg(4, 8, 0x100, 0, 1)]) + smt([creg(0, 8, 0, 0, 1), creg(16, 8, 4, 0, 1)]) +
    addr_(creg(0, 8, 0, 0, 1)) + addr_(creg(7, 2, 0x400, 0, 1)) + addr_(creg(0x400, 2, 7, 0, 1)) +
    addr_(creg(8, 8, 8, 0, 1)) + query(0x7fff, 2) + query(0x8000, 1))
add(M, 'gen-fd-small', addr_(creg(0, 2, 0, 0, 0)) + addr_(creg(0, 1, 0, 1, 0)) + addr_(creg(0, 16, 0, 1, 1)) +
    addr_(creg(0, 255, 0, 0, 2)) + addr_(creg(0, 1, 0, 0, 6)) + addr_(creg(0, 1, 0, 0, 7)) + addr_(creg(0, 1, 0, 0, 8)) +
    addr_(creg(0, 255, 0, 255, 5)))
add(M, 'gen-fd-count', smt([creg(0, 1, 0, 0, 1), creg(1, 1, 1, 0, 1)], fdmode=1) +
    smt([creg(0, 1, 0, 0, 1)], fdmode=2) + smt([creg(i, 1, i, 0, 0) for i in range(8)], n=9) +
    smt([creg(i, 1, i, 0, 0) for i in range(8)]) + smt([creg(0, 1, 0, 0, 1)], tweak=1) +
    smt([creg(0, 1, 0, 0, 1)], tweak=2) + smt([]) + query(0, 1))
add(M, 'gen-rem', smt([creg(0, 4, 0, 0, 1), creg(4, 4, 4, 0, 1), creg(0x10, 1, 0x10, 0, 4)]) +
    rem(creg(4, 4, 4, 0, 0)) + rem(creg(4, 4, 4, 0, 0)) + rem(creg(0, 4, 1, 0, 0)) + rem(creg(0, 4, 0, 0, 2)) +
    rem(creg(0, 4, 0, 0, 1)) + addr_(creg(4, 4, 4, 0, 1)) + query(0x4000, 0x4000))
add(M, 'gen-many', b''.join(addr_(creg(2 * i, 1, 2 * i, i % 16, i % 6)) for i in range(60)) +
    b''.join(query(0x2000 * i + 0x10, 0x2000) for i in range(0, 60, 7)))
add(M, 'gen-replace-keeps-old-on-failure', smt([creg(0, 4, 0, 0, 2)]) + smt([creg(0, 4, 0, 0, 2), creg(2, 4, 0x20, 0, 2)]) +
    query(0x1000, 0x1000) + smt([creg(0x20, 4, 0x30, 0, 3), creg(0x10, 4, 0x40, 0, 3)]) + query(0x10000, 8))

# ======================================================================
# fuzz_inflight
# ======================================================================
I = 'fuzz_inflight'
EXACT = 0x08 | 0x10 | 0x20


def area(version, desc_num, last_batch, used, recs):
    s = u16(version) + u16(desc_num) + u16(last_batch) + u16(used) + u8(len(recs))
    for idx, infl, nxt, counter in recs:
        s += u16(idx) + u8(infl) + u16(nxt) + u32(counter)
    return s


def infl(name, flags, exp, used, avail, fields=b'', areas=b'', patches=b'\x00', ops_=b'', post=b''):
    add(I, 'gen-' + name, u8(flags) + u8(exp) + u16(used) + u16(avail) + fields + u8(0) + post + areas +
        patches + ops_)


RESUB = o_chain(0, 0, 1, 1, 64, 0x130000)   # make head descriptors valid
DESCS = b''.join(o_desc(0, i, 0x130000 + 0x100 * i, 64, 2, 0) for i in range(8))
infl('fresh-area', EXACT, 3, 0, 0, areas=area(0, 0, 0, 0, []),
     ops_=RESUB + o_pop(0) + o_push(0, 0, 8) + o_pop(0))
infl('unpop-rewind', EXACT, 3, 0, 0, areas=area(0, 0, 0, 0, []),
     ops_=RESUB + o_chain(0, 1, 1, 1, 64, 0x130100) + o_pop(0) + o_unpop(0) + o_pop(0) + o_pop(0) +
     o_rewind(0, 1) + o_pop(0) + o_push(0, 0, 8) + o_push(0, 0, 8))
infl('resubmit', EXACT, 3, 2, 5, areas=area(1, 8, 0, 2, [(1, 1, 0, 5), (3, 1, 0, 3), (6, 1, 0, 9)]),
     ops_=DESCS + o_pop(0) + o_pop(0) + o_pop(0) + o_push(0, 0, 4) + o_push(0, 1, 4) + o_pop(0) + o_push(0))
infl('desc-num-mismatch', EXACT, 3, 0, 0, areas=area(1, 16, 0, 0, [(1, 1, 0, 1)]), ops_=o_pop(0))
infl('bad-version', EXACT, 3, 0, 0, areas=area(7, 8, 0, 0, []), ops_=o_pop(0))
infl('last-batch-out-of-range', EXACT, 3, 2, 2, areas=area(1, 8, 200, 0, [(0, 1, 9, 1)]), ops_=o_pop(0))
infl('last-batch-list', EXACT, 3, 3, 4, areas=area(1, 8, 2, 1, [(2, 1, 5, 1), (5, 1, 0, 2), (0, 1, 2, 3), (7, 1, 0, 4)]),
     ops_=DESCS + o_pop(0) + o_pop(0) + o_push(0) + o_push(0))
infl('used-idx-far', EXACT, 3, 0x8000, 0x8000, areas=area(1, 8, 0, 0, [(1, 1, 0, 1)]), ops_=o_pop(0))
infl('flags-on-bad-heads', 0x08 | 0x20, 3, 0, 0, fields=u16(64),
     areas=area(1, 8, 0, 0, [(40, 1, 0, 1), (63, 1, 0, 2), (2, 1, 0, 3)]), ops_=DESCS + o_pop(0) + o_pop(0))
infl('all-inflight-same-counter', EXACT, 3, 0, 8,
     areas=area(1, 8, 0, 0, [(i, 1, 0, 7) for i in range(8)]), ops_=DESCS + b''.join(o_pop(0) for _ in range(9)) +
     b''.join(o_push(0) for _ in range(8)))
infl('num-queues-too-many', EXACT | 0x80, 3, 0, 0, fields=u16(5), areas=area(0, 0, 0, 0, []), ops_=o_pop(0))
infl('queue-size-0', 0x08 | 0x20, 3, 0, 0, fields=u16(0), ops_=o_pop(0))
infl('queue-size-2048', 0x08 | 0x20, 3, 0, 0, fields=u16(2048), ops_=o_pop(0))
infl('mmap-size-small', 0x10 | 0x20, 3, 0, 0, fields=u32(100), ops_=o_pop(0))
infl('file-small', 0x08 | 0x10, 3, 0, 0, post=u32(64), ops_=o_pop(0))
infl('offset-unaligned', EXACT | 0x40, 3, 0, 0, ops_=o_pop(0))
infl('queue-larger-than-area', 0x08 | 0x20, 5, 0, 0, fields=u16(8), areas=area(0, 0, 0, 0, []),
     ops_=o_chain(0, 0, 1, 1, 8, 0x130000) + o_pop(0))
infl('two-queues', EXACT | 1, 3, 1, 2, areas=area(1, 8, 0, 1, [(4, 1, 0, 1)]) + area(0, 0, 0, 0, []),
     ops_=DESCS + o_pop(0) + o_pop(1) + o_push(0) + o_chain(1, 0, 1, 1, 8, 0x130000) + o_pop(1) + o_push(1))
infl('patched', EXACT | 3, 4, 7, 9, areas=area(1, 16, 3, 5, [(3, 1, 4, 1), (4, 1, 3, 2)]) +
     area(0, 0, 0, 0, []) * 3,
     patches=u8(2) + u32(0x20) + u8(4) + b'\xff\xff\xff\xff' + u32(0x1000) + u8(2) + b'\x01\x00',
     ops_=DESCS + o_pop(0) + o_pop(0) + o_pop(0))
infl('batch-resubmit', EXACT, 3, 2, 5, areas=area(1, 8, 0, 2, [(1, 1, 0, 5), (3, 1, 0, 3), (6, 1, 0, 9)]),
     ops_=DESCS + o_pop_batch(0, 2) + o_pop_batch(0, 8) + o_push_batch(0, 1, 2, 0, 4) + o_unpop(0) +
     o_pop_batch(0, 8) + o_push_batch(0, 0, 8, 0, 8) + o_pop_batch(0, 8))


# ======================================================================
# reproducers of library bugs found by fuzzing (kept as regressions)
# ======================================================================
# inuse exceeds the queue size: vu_queue_fill clears the head's "popped" bit
# before vu_queue_flush publishes it, so a guest that re-posts the head in
# between gets it popped again: inuse 2 on a ring of 1 (unbounded with more
# rounds).  Found by fuzz_virtq.
regress = {
    # vu_queue_rewind(1) after the device pushed its last popped element
    # first (out of pop order) gave back that element's avail slot although
    # the element was complete: the guest was handed head 1 again (and head
    # 0 stayed held but uncounted).  Found by fuzz_dispatch.
    ('fuzz_virtq', 'regress-rewind-over-completed-slot'):
        u8(0) + u8(3) + u16(0) + o_chain(0, 0, 1, 0, 16, 0x31000) + o_chain(0, 1, 1, 0, 16, 0x31100) +
        o_pop(0) + o_pop(0) + o_push(0, 1, 16) + o_rewind(0, 1) + o_pop(0) + o_fake_push(0, 0) +
        o_push(0, 0, 16),
    # A queue started by an in-band kick (VRING_KICK, no SET_VRING_KICK) was
    # started without the inflight check: head 5, in flight in the area when
    # the backend restarted, was never resubmitted (nor anything tracked).
    ('fuzz_dispatch', 'regress-inband-start-skips-inflight-check'):
        config(0xffffff | FEAT, INB_PF, 1) + negotiate(INB_PF) + memtable() +
        msg(SET_INFLIGHT_FD, p_inflight(192, 0, 1, 8), flags=NR, fds=[memfd(4096, _area, 8)]) +
        msg(SET_VRING_NUM, p_state(0, 8)) + msg(SET_VRING_BASE, p_state(0, 1)) +
        msg(SET_VRING_ADDR, p_addr(0, d0, u0, a0)) + msg(SET_VRING_CALL, p_u64(0), fds=[eventfd()]) +
        ops(o_desc(0, 5, DATA, 64, 2, 0) + o_avail_put(0, 5)) + msg(VRING_KICK, p_state(0, 0), flags=NR) +
        ops(o_pop(0) + o_push(0, 0, 8)),
    ('fuzz_virtq', 'regress-inuse-exceeds-queue-size'):
        u8(0) + u8(0) + u16(0) + o_chain(0, 0, 1, 0, 16, 0x1000) + o_pop(0) + o_fill(0, 0, 0, 0) +
        o_avail_put(0, 0) + o_pop(0),
    # vu_queue_flush(n) with fewer than n slots filled since the last flush
    # publishes stale used entries (here the zeroed slot 0: head 0, which the
    # device still holds) and, with inflight tracking, clears their in-flight
    # marks.  Found by fuzz_inflight.
    ('fuzz_virtq', 'regress-flush-without-fill'):
        u8(0) + u8(3) + u16(0) + o_chain(0, 0, 1, 0, 16, 0x1000) + o_pop(0) + o_flush(0, 1),
    # A guest re-posts head 0 after the device filled it but before the
    # flush: pop hands head 0 out again (its popped bit went at fill), then
    # the flush publishes the first completion and clears head 0's in-flight
    # mark although the device holds head 0 again: after a crash that request
    # is lost.  Found by fuzz_inflight.
    ('fuzz_inflight', 'regress-refilled-head-loses-mark'):
        u8(0x38) + u8(3) + u16(0) + u16(0) + u8(0) + area(0, 0, 0, 0, []) + u8(0) +
        o_chain(0, 0, 1, 1, 16, 0x130000) + o_pop(0) + o_fill(0, 0, 0, 0) + o_avail_put(0, 0) +
        o_pop(0) + o_flush(0, 1),
    # After a reconnect, inuse counts heads waiting for resubmission, so
    # vu_queue_rewind(1) succeeds although the device popped nothing: it
    # releases the guest's avail slot before last_avail_idx (head 3, which is
    # also waiting for resubmission), clearing its in-flight mark and popped
    # bit; the next pop hands out head 3 unmarked, the one after could hand it
    # out again from the avail ring.  Found by fuzz_inflight.
    ('fuzz_inflight', 'regress-rewind-of-resubmitted-heads'):
        u8(0x38) + u8(3) + u16(0) + u16(1) + u8(0) + area(1, 8, 0, 0, [(3, 1, 0, 1)]) + u8(0) +
        o_desc(0, 3, 0x130000, 64, 2, 0) + o_guest_write(0x110004, u16(3)) + o_rewind(0, 1) +
        o_pop(0) + o_pop(0),
    # SET_VRING_KICK refused for an inconsistent inflight area has already
    # cleared inflight flags of the area (settle_last_batch writes while it
    # walks a list it then finds broken): a refused request changed state.
    # Found by fuzz_inflight.
    ('fuzz_inflight', 'regress-refused-kick-modifies-area'):
        u8(0x38) + u8(3) + u16(2) + u16(2) + u8(0) +
        area(1, 8, 0, 0, [(0, 1, 100, 1)]) + u8(0),
}


def main():
    for (target, name), data in regress.items():
        seeds[target][name] = data
    for target, files in seeds.items():
        d = os.path.join(OUT, target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith('gen-'):  # regress-* are only ever added (others add some too)
                os.unlink(os.path.join(d, f))
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), 'wb') as fh:
                fh.write(data)
        print('%s: %d seeds' % (target, len(files)))


if __name__ == '__main__':
    main()
