/*
 * Private declarations shared by the library's translation units.
 * Nothing here is exported; see libvhost-user.h for the API.
 */
#ifndef VU_INTERNAL_H
#define VU_INTERNAL_H

#include "libvhost-user.h"
#include "vhost-user-ext.h"

#include <endian.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VU_EXPORT __attribute__((visibility("default")))
#define VU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VU_MUST_CHECK __attribute__((warn_unused_result))
#define VU_LIKELY(x) __builtin_expect(!!(x), 1)
#define VU_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Largest queue size accepted by SET_VRING_NUM (iovec arrays are sized by it). */
#define VU_MAX_QUEUE_SIZE VIRTQUEUE_MAX_SIZE
/* Largest payload of any request we accept (SET_CONFIG with 256 bytes). */
#define VU_MAX_PAYLOAD sizeof(((VhostUserMsg *)0)->payload)
/* Largest size accepted for a GET_INFLIGHT_FD allocation (per connection). */
#define VU_MAX_INFLIGHT_SIZE (64u << 20)

/* Private state of one mapped memory region, parallel to dev->regions[]. */
struct vu_region_map {
    void *base;                  /* what mmap returned */
    size_t len;                  /* what was mapped */
    uint64_t file_offset;        /* the region's mmap_offset in its fd */
    uint64_t file_dev, file_ino; /* identity of the mapped file */
    uint32_t refs; /* ADD_MEM_REGs of this exact region not yet removed */
};

/* Cap on repeated ADD_MEM_REG of one region (QEMU sends one per queue pair). */
#define VU_MAX_REGION_REFS 4096u

/* Private per-queue state, parallel to dev->vq[]. */
struct vu_vq_priv {
    bool addr_set;         /* SET_VRING_ADDR accepted since the last reset */
    bool inflight_checked; /* reconnect resubmission list already built */
    uint8_t popped[VU_MAX_QUEUE_SIZE / 8]; /* heads handed to the device */
    /* Heads recovered from the inflight area after a restart: waiting in
     * resubmit_list (pending) or handed out from it (resubmitted). */
    uint8_t pending[VU_MAX_QUEUE_SIZE / 8];
    uint8_t resubmitted[VU_MAX_QUEUE_SIZE / 8];
    uint16_t resubmitted_out; /* bits set in resubmitted[] */
    /* Heads filled into the used ring whose slot is not yet flushed: the
     * guest cannot have them back yet, so a re-post is refused. */
    uint8_t unflushed[VU_MAX_QUEUE_SIZE / 8];
    /* The head pop took from each avail slot, so rewind gives back what we
     * took, not what the guest has written there since. */
    uint16_t avail_head[VU_MAX_QUEUE_SIZE];
    uint32_t region_hint; /* region of the last buffer mapped (a guess) */
    /* desc[] entries this queue's inflight area really has (set by
     * SET_INFLIGHT_FD from the validated queue_size; the desc_num field in the
     * shared area itself is frontend-writable and never trusted). */
    uint16_t inflight_desc_cap;
    /* 1 + the head fill wrote into each used slot since that slot was last
     * flushed, 0 for none.  Flush publishes only filled slots and clears
     * inflight marks from this record, never from the guest-writable ring. */
    uint16_t filled_head[VU_MAX_QUEUE_SIZE];
};

/* Bytes of one queue's area in the inflight region: the VuVirtqInflight
 * header and queue_size VuDescStateSplit records, rounded up to 64. */
static inline uint64_t vu_inflight_queue_size(uint16_t queue_size)
{
    uint64_t raw = sizeof(VuVirtqInflight) +
                   sizeof(VuDescStateSplit) * (uint64_t)queue_size;

    return (raw + 63) & ~(uint64_t)63;
}

/*
 * Everything private to one VuDev.  dev->regions points at regions[0], so the
 * private block is found from the public struct without changing its layout.
 */
struct vu_impl {
    /* regions must stay first; both tables are valid only below
     * dev->nregions (vu_init leaves the rest unwritten) and must stay ahead
     * of vqp, where the zeroed part begins. */
    VuDevRegion regions[VHOST_USER_MAX_RAM_SLOTS];
    struct vu_region_map maps[VHOST_USER_MAX_RAM_SLOTS];
    struct vu_vq_priv *vqp; /* max_queues entries */
    void *log_map_base;     /* mapping that holds dev->log_table */
    size_t log_map_len;
    int record_fd;             /* LIBVHOST_USER_RECORD output, or -1 */
    unsigned fd_counter;       /* fds recorded so far (for the TLV dup kind) */
    char last_error[256];      /* reason of the last refusal or failure */
    uint64_t offered_features; /* what GET_FEATURES answered */
    uint64_t
        offered_protocol_features; /* what GET_PROTOCOL_FEATURES answered */
    bool features_offered;
    bool protocol_features_offered;
};

static inline struct vu_impl *vu_impl(const VuDev *dev)
{
    return (struct vu_impl *)(void *)dev->regions;
}

static inline bool vu_has_feature(const VuDev *dev, unsigned bit)
{
    return bit < 64 && (dev->features & (1ULL << bit));
}

static inline bool vu_has_protocol_feature(const VuDev *dev, unsigned bit)
{
    return bit < 64 && (dev->protocol_features & (1ULL << bit));
}

/* Make an eventfd we signal or drain non-blocking: a frontend could hand us
 * a blocking one with a saturated counter and stall us forever. */
void vu_set_nonblocking(int fd);

/* Mark the device broken and hand the formatted reason to dev->panic. */
void vu_fail(VuDev *dev, const char *fmt, ...) VU_PRINTF(2, 3);
/* Remember a refusal reason without marking the device broken. */
void vu_note_error(VuDev *dev, const char *reason);

/* ---- guest memory (memory.c) ---- */

/* vu_gpa_to_va with a region hint (*plen > 0): the region at *hint is tried
 * first, and *hint is updated to the region that matched. */
void *vu_mem_translate(VuDev *dev, uint32_t *hint, uint64_t *plen,
                       uint64_t gpa);
/* Host address of [gpa, gpa+len) if it lies wholly in one region, else NULL. */
void *vu_mem_gpa_range(VuDev *dev, uint64_t gpa, uint64_t len);
/* Same for frontend virtual addresses (ring addresses). */
void *vu_mem_qva_range(VuDev *dev, uint64_t qva, uint64_t len);
/* Unmap every region; dev->nregions becomes 0. */
void vu_mem_unmap_all(VuDev *dev);
/* Validate one region against the table and the fd, map it and insert it in
 * gpa order.  The fd is never closed here.  NULL on success, else the reason. */
const char *vu_mem_add_region(VuDev *dev, const VhostUserMemoryRegion *r,
                              int fd);
/* Keep a shared file from shrinking under our mapping (which would SIGBUS). */
void vu_seal_against_shrink(int fd);
/* Index of the region matching r's gpa, size and userspace address, or -1. */
int vu_mem_find_exact(const VuDev *dev, const VhostUserMemoryRegion *r);
/* Drop region idx; rings are re-validated before its mapping goes away. */
void vu_mem_remove_region(VuDev *dev, uint32_t idx);
/* Install a whole new table (SET_MEM_TABLE) atomically: on failure the old
 * table is untouched.  NULL on success, else the reason. */
const char *vu_mem_replace_table(VuDev *dev, const VhostUserMemoryRegion *regs,
                                 const int *fds, uint32_t n);

/* ---- rings (vring.c) ---- */

/* Recompute the ring pointers of vq from vq->vra and the memory table;
 * false (and pointers cleared) when any ring no longer lies in memory. */
bool vu_vring_map(VuDev *dev, VuVirtq *vq);
/* Re-run vu_vring_map for every queue whose addresses were set. */
void vu_vring_remap_all(VuDev *dev);
/* Forget ring state of a queue (reset, stop). */
void vu_vring_reset(VuDev *dev, VuVirtq *vq);
/* Close and clear a queue's kick fd, removing its watch. */
void vu_vring_close_kick(VuDev *dev, VuVirtq *vq);
/* Install or remove the kick watch so it matches vq->handler. */
void vu_vring_update_watch(VuDev *dev, VuVirtq *vq);
/* The kick watch callback: drain the eventfd, then call the handler. */
void vu_kick_cb(VuDev *dev, int condition, void *data);

/* ---- dirty log (log.c) ---- */

/* Mark [gpa, gpa+len) dirty when VHOST_F_LOG_ALL and a log are present. */
void vu_log_write(VuDev *dev, uint64_t gpa, uint64_t len);
/* Signal log_call_fd after a batch of log writes, if one was given. */
void vu_log_kick(VuDev *dev);
/* Mark bytes [off, off+len) of vq's used ring dirty when that ring is logged
 * (VHOST_VRING_F_LOG in vq->vring.flags).  Added by the virtqueue owner. */
void vu_log_used_ring(VuDev *dev, VuVirtq *vq, uint64_t off, uint64_t len);
/* Mark the guest pages behind [host, host+len) dirty; host must lie in one
 * of our region mappings, else the device fails with "<who>: ...". */
void vu_log_host_range(VuDev *dev, const void *host, uint64_t len,
                       const char *who);
/* Unmap the log (impl->log_map_base/log_map_len), clear log_table/log_size
 * and close log_call_fd.  Called by vu_deinit. */
void vu_log_close(VuDev *dev);

/* ---- split virtqueue data path (virtq.c, virtq_desc.c) ----
 * Added by the virtqueue owner: shared between the virtq_*.c files only. */

/* Guest-visible ring fields are little-endian and may change under us: every
 * access is one aligned load or store of the field's full width. */
static inline uint16_t vu_ring_load16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}
static inline void vu_ring_store16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}
static inline void vu_ring_store32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

/* One validated descriptor chain, gathered before it is handed out.  iov
 * (iov_cap entries, at most VIRTQUEUE_MAX_SIZE, supplied by the caller; unused
 * without map) receives the readable (out) segments first, then the writable
 * (in) ones.  room_limited: iov_cap is what is left of a caller's batch array,
 * not the chain limit, so running out of it is not the guest's fault: the walk
 * then sets no_room and fails without marking the device broken. */
struct vu_chain {
    unsigned out_num, in_num;
    uint64_t out_bytes, in_bytes;
    struct iovec *iov;
    unsigned iov_cap;
    bool room_limited;
    bool no_room;
};

/* Walk and validate the chain starting at head.  With map, every buffer is
 * translated into c->iov; without, only the byte counts are summed.  On any
 * rule broken the device fails with "<who>: <rule>" and false is returned. */
bool vu_chain_walk(VuDev *dev, VuVirtq *vq, unsigned head, bool map,
                   struct vu_chain *c, const char *who);

/* Ring slot of a free-running 16-bit index.  Split ring sizes are powers of
 * two (SET_VRING_NUM refuses others), so this is the index modulo the size
 * without a division; for any size it stays below vq->vring.num. */
static inline unsigned vu_ring_slot(const VuVirtq *vq, unsigned idx)
{
    return idx & (vq->vring.num - 1u);
}

/* Byte offset of vq in dev->vq (dev and dev->vq non-NULL). */
static inline uintptr_t vu_queue_offset(const VuDev *dev, const VuVirtq *vq)
{
    return (uintptr_t)vq - (uintptr_t)dev->vq;
}

/* Index of vq in dev->vq, or -1 when vq is not one of dev's queues. */
static inline int vu_queue_index(const VuDev *dev, const VuVirtq *vq)
{
    /* One unsigned range check (NULL and pointers below the array wrap to
     * large offsets) and one alignment check: a pointer into the middle of
     * an element is not a queue either. */
    if (!dev || !dev->vq ||
        vu_queue_offset(dev, vq) >=
            (uintptr_t)dev->max_queues * sizeof(VuVirtq) ||
        vu_queue_offset(dev, vq) % sizeof(VuVirtq) != 0) {
        return -1;
    }
    return (int)(vu_queue_offset(dev, vq) / sizeof(VuVirtq));
}

/* ---- inflight tracking (inflight.c) ---- */

/* Validate the shared inflight contents of vq and build the resubmit list.
 * Called when the queue starts; false when the contents are unusable. */
bool vu_inflight_check(VuDev *dev, VuVirtq *vq);
/* Drop the inflight area: munmap inflight_info.addr/size, close
 * inflight_info.fd (fd = -1, addr = NULL, size = 0), set every vq->inflight
 * to NULL and free resubmit lists.  Called by vu_deinit and before a
 * GET/SET_INFLIGHT_FD installs a new area. */
void vu_inflight_unmap(VuDev *dev);
/* Hooks of the data path (added by the virtqueue owner).  Each is a no-op
 * unless INFLIGHT_SHMFD is negotiated and vq has a usable inflight area. */
void vu_inflight_pop(VuDev *dev, VuVirtq *vq, unsigned head);   /* fetched */
void vu_inflight_unpop(VuDev *dev, VuVirtq *vq, unsigned head); /* given back */
void vu_inflight_fill(VuDev *dev, VuVirtq *vq, unsigned head);  /* batched */
/* used->idx went from old_used by count: the batch is no longer in flight. */
void vu_inflight_flush(VuDev *dev, VuVirtq *vq, uint16_t old_used,
                       unsigned count);

/* Per-queue head bitmaps (heads < VU_MAX_QUEUE_SIZE). */
static inline bool vu_bit_test(const uint8_t *map, unsigned head)
{
    return map[head / 8] & (1u << (head % 8));
}
static inline void vu_bit_set(uint8_t *map, unsigned head)
{
    map[head / 8] |= (uint8_t)(1u << (head % 8));
}
static inline void vu_bit_clear(uint8_t *map, unsigned head)
{
    map[head / 8] &= (uint8_t) ~(1u << (head % 8));
}

/* The per-queue bitmap of heads currently held by the device. */
static inline bool vu_popped_test(const struct vu_vq_priv *p, unsigned head)
{
    return vu_bit_test(p->popped, head);
}
static inline void vu_popped_set(struct vu_vq_priv *p, unsigned head)
{
    vu_bit_set(p->popped, head);
}
static inline void vu_popped_clear(struct vu_vq_priv *p, unsigned head)
{
    vu_bit_clear(p->popped, head);
}

/* ---- backend channel (backend.c) ---- */

/* Send a backend request; with need_reply wait for the u64 answer.
 * fd < 0 sends no fd.  false on any failure (which also marks broken). */
bool vu_backend_request(VuDev *dev, uint32_t request, const void *payload,
                        uint32_t size, int fd, bool need_reply,
                        uint64_t *reply_u64);

/* ---- message I/O (message.c) ---- */

/* fd_num of a message that came with more fds than fit (all closed). */
#define VU_FD_COUNT_OVERFLOW (VHOST_MEMORY_BASELINE_NREGIONS + 1)
/* Close every fd of vmsg and set fd_num to 0. */
void vu_msg_close_fds(VhostUserMsg *vmsg);
/* The built-in reader (also used when read_msg is NULL). */
bool vu_message_read_default(VuDev *dev, int sock, VhostUserMsg *vmsg);
/* Write vmsg (header, size bytes of payload, fd_num fds); loops on short
 * writes.  Flags are sent as they are. */
bool vu_message_write(int sock, const VhostUserMsg *vmsg);

/* ---- traffic recorder (record.c) ----
 * With LIBVHOST_USER_RECORD=path in the environment, every message received
 * is appended to path in the fuzz_dispatch TLV format (fuzz/README.md). */
void vu_record_init(VuDev *dev); /* called by vu_init; sets record_fd */
void vu_record_msg(VuDev *dev, const VhostUserMsg *vmsg);
void vu_record_close(VuDev *dev); /* called by vu_deinit */

#endif /* VU_INTERNAL_H */
