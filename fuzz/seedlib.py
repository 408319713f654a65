"""Helpers that write inputs in the fuzz_dispatch TLV format (fuzz/README.md)
and ring-operation streams (fuzz_common.h).  Used by gen_seeds.py."""
import struct

# vhost-user requests
NONE, GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 0, 1, 2, 3, 4, 5
SET_LOG_BASE, SET_LOG_FD, SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE = 6, 7, 8, 9, 10
GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 11, 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM = 15, 16, 17
SET_VRING_ENABLE, SEND_RARP, NET_SET_MTU, SET_BACKEND_REQ_FD = 18, 19, 20, 21
IOTLB_MSG, SET_VRING_ENDIAN, GET_CONFIG, SET_CONFIG = 22, 23, 24, 25
CREATE_CRYPTO_SESSION, CLOSE_CRYPTO_SESSION = 26, 27
POSTCOPY_ADVISE, POSTCOPY_LISTEN, POSTCOPY_END = 28, 29, 30
GET_INFLIGHT_FD, SET_INFLIGHT_FD, GPU_SET_SOCKET, RESET_DEVICE = 31, 32, 33, 34
VRING_KICK, GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 35, 36, 37, 38
SET_STATUS, GET_STATUS, GET_SHARED_OBJECT = 39, 40, 41

V1 = 1
NEED_REPLY = 8
NOFD = 0x100

# protocol features
PF_MQ, PF_LOG_SHMFD, PF_RARP, PF_REPLY_ACK, PF_NET_MTU, PF_BACKEND_REQ = 0, 1, 2, 3, 4, 5
PF_CROSS_ENDIAN, PF_CRYPTO, PF_PAGEFAULT, PF_CONFIG, PF_BACKEND_SEND_FD = 6, 7, 8, 9, 10
PF_HOST_NOTIFIER, PF_INFLIGHT, PF_INBAND, PF_MEM_SLOTS, PF_SHARED_OBJECT = 11, 12, 14, 15, 18

# virtio features
F_NOTIFY_ON_EMPTY, F_LOG_ALL, F_ANY_LAYOUT, F_INDIRECT, F_EVENT_IDX = 24, 26, 27, 28, 29
F_PROTOCOL_FEATURES, F_VERSION_1 = 30, 32

# fd kinds
FD_NONE, FD_MEMFD, FD_EVENTFD, FD_DUP, FD_SOCKET, FD_PIPE, FD_OTHER = range(7)

def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)

def bits(*b):
    v = 0
    for x in b:
        v |= 1 << x
    return v

# ---- fd descriptions ----
def memfd(size, content=b'', off=0): return u8(FD_MEMFD) + u64(size) + u32(off) + u16(len(content)) + content
def eventfd(): return u8(FD_EVENTFD)
def dup(i): return u8(FD_DUP) + u16(i)
def sock(): return u8(FD_SOCKET)
def pipe(): return u8(FD_PIPE)
def other(): return u8(FD_OTHER)
def nofd(): return u8(FD_NONE)

# ---- records ----
def msg(req, payload=b'', flags=V1, size=None, fds=(), nfds=None):
    if size is None:
        size = len(payload)
    n = len(fds) if nfds is None else nfds
    return b'M' + u32(req) + u32(flags) + u32(size) + u16(len(payload)) + payload + u8(n) + b''.join(fds)

def config(features, pfeatures, max_queues=4, flags=0):
    return b'C' + u64(features) + u64(pfeatures) + u16(max_queues) + u8(flags)

def ops(b): return b'O' + u16(len(b)) + b
def rest(b): return b'R' + b
def raw(b): return b'W' + u16(len(b)) + b
def eof(): return b'E'

# ---- payloads ----
def p_u64(v): return u64(v)
def p_state(i, n): return u32(i) + u32(n)
def p_addr(i, desc, used, avail, log=0, flags=0):
    return u32(i) + u32(flags) + u64(desc) + u64(used) + u64(avail) + u64(log)
def region(gpa, size, uaddr, off=0): return u64(gpa) + u64(size) + u64(uaddr) + u64(off)
def p_memtable(regions, nregions=None):
    n = len(regions) if nregions is None else nregions
    return u32(n) + u32(0) + b''.join(regions)
def p_memreg(r): return u64(0) + r
def p_log(size, off): return u64(size) + u64(off)
def p_config(off, size, flags=0, data=None):
    if data is None:
        data = bytes(size)
    return u32(off) + u32(size) + u32(flags) + data
def p_inflight(mmap_size, off, nq, qsize): return u64(mmap_size) + u64(off) + u16(nq) + u16(qsize) + u32(0)  # 24 bytes: C struct padding

def inflight_queue_size(qsize):
    raw_ = 16 + 16 * qsize
    return (raw_ + 63) & ~63

# ---- ring operations (fuzz_common.h enum fz_op) ----
OP_POP, OP_PUSH, OP_FILL, OP_FLUSH, OP_REWIND, OP_UNPOP, OP_AVAIL_BYTES = 0, 1, 2, 3, 4, 5, 6
OP_NOTIFY, OP_SET_NOTIF, OP_EMPTY, OP_DESC, OP_AVAIL_PUT, OP_AVAIL_IDX = 7, 8, 9, 10, 11, 12
OP_USED_EVENT, OP_CHAIN, OP_INDIRECT, OP_GUEST_WRITE, OP_KICK, OP_FAKE_PUSH = 13, 14, 15, 16, 17, 18
OP_CONFIG_CHANGE, OP_NOTIFY_SYNC, OP_AVAIL_FLAGS = 19, 20, 21
OP_HOST_NOTIFIER, OP_SHARED_OBJECT, OP_MISC = 22, 23, 24
OP_POP_BATCH, OP_PUSH_BATCH = 25, 26
# pop_batch modes: 0 normal, 1 iov array one short (refused), 2 no element
# array, 3 no iov array, 4 iov array of exactly VIRTQUEUE_MAX_SIZE
PB_NORMAL, PB_SHORT_IOV, PB_NO_ELEMS, PB_NO_IOV, PB_EXACT_IOV = range(5)
# push_batch mode bits: lens NULL, first element twice, a head never popped,
# no element array
PU_NO_LENS, PU_DUP, PU_FAKE, PU_NO_ARRAY = 1, 2, 4, 8

def o_pop(q): return u8(OP_POP) + u8(q)
def o_push(q, which=0, ln=0): return u8(OP_PUSH) + u8(q) + u8(which) + u32(ln)
def o_fill(q, which, ln, idx): return u8(OP_FILL) + u8(q) + u8(which) + u32(ln) + u8(idx)
def o_flush(q, n): return u8(OP_FLUSH) + u8(q) + u8(n)
def o_rewind(q, n): return u8(OP_REWIND) + u8(q) + u8(n)
def o_unpop(q): return u8(OP_UNPOP) + u8(q)
def o_avail_bytes(q, mi, mo): return u8(OP_AVAIL_BYTES) + u8(q) + u32(mi) + u32(mo)
def o_notify(q): return u8(OP_NOTIFY) + u8(q)
def o_notify_sync(q): return u8(OP_NOTIFY_SYNC) + u8(q)
def o_set_notif(q, e): return u8(OP_SET_NOTIF) + u8(q) + u8(e)
def o_empty(q): return u8(OP_EMPTY) + u8(q)
def o_desc(q, i, addr, ln, flags=0, nxt=0): return u8(OP_DESC) + u8(q) + u16(i) + u64(addr) + u32(ln) + u16(flags) + u16(nxt)
def o_avail_put(q, head): return u8(OP_AVAIL_PUT) + u8(q) + u16(head)
def o_avail_idx(q, v): return u8(OP_AVAIL_IDX) + u8(q) + u16(v)
def o_avail_flags(q, v): return u8(OP_AVAIL_FLAGS) + u8(q) + u16(v)
def o_used_event(q, v): return u8(OP_USED_EVENT) + u8(q) + u16(v)
def o_chain(q, head, n, wmask, seglen, gpa): return u8(OP_CHAIN) + u8(q) + u16(head) + u8(n - 1) + u8(wmask) + u16(seglen) + u64(gpa)
def o_indirect(q, head, n, wmask, seglen, table, gpa):
    return u8(OP_INDIRECT) + u8(q) + u16(head) + u8(n - 1) + u8(wmask) + u16(seglen) + u64(table) + u64(gpa)
def o_guest_write(gpa, data): return u8(OP_GUEST_WRITE) + u64(gpa) + u8(len(data)) + data
def o_kick(q): return u8(OP_KICK) + u8(q)
def o_fake_push(q, index, ln=0): return u8(OP_FAKE_PUSH) + u8(q) + u32(index) + u32(ln)
def o_config_change(): return u8(OP_CONFIG_CHANGE)
def o_host_notifier(q, kind, size, off): return u8(OP_HOST_NOTIFIER) + u8(q) + u8(kind) + u32(size) + u32(off)
def o_shared_object(which, uuid=bytes(range(16))): return u8(OP_SHARED_OBJECT) + u8(which) + uuid
def o_misc(req, qidx): return u8(OP_MISC) + u32(req) + u32(qidx)
def o_pop_batch(q, mx, mode=PB_NORMAL): return u8(OP_POP_BATCH) + u8(q) + u8(mx) + u8(mode)
def o_push_batch(q, which=0, n=1, mode=0, ln=0):
    return u8(OP_PUSH_BATCH) + u8(q) + u8(which) + u8(n) + u8(mode) + u32(ln)

VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_F_INDIRECT = 1, 2, 4
