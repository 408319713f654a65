/*
 * Private declarations shared by the library's translation units.
 * Nothing here is exported; see libvhost-user.h for the API.
 */
#ifndef VU_INTERNAL_H
#define VU_INTERNAL_H

#include "libvhost-user.h"

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
    void *base;   /* what mmap returned */
    size_t len;   /* what was mapped */
};

/* Private per-queue state, parallel to dev->vq[]. */
struct vu_vq_priv {
    bool addr_set;          /* SET_VRING_ADDR accepted since the last reset */
    bool inflight_checked;  /* reconnect resubmission list already built */
    uint8_t popped[VU_MAX_QUEUE_SIZE / 8]; /* heads handed to the device */
    /* desc[] entries this queue's inflight area really has (set by
     * SET_INFLIGHT_FD from the validated queue_size; the desc_num field in the
     * shared area itself is frontend-writable and never trusted). */
    uint16_t inflight_desc_cap;
};

/* Bytes of one queue's area in the inflight region: the VuVirtqInflight
 * header and queue_size VuDescStateSplit records, rounded up to 64. */
static inline uint64_t vu_inflight_queue_size(uint16_t queue_size)
{
    uint64_t raw = sizeof(VuVirtqInflight) + sizeof(VuDescStateSplit) * (uint64_t)queue_size;

    return (raw + 63) & ~(uint64_t)63;
}

/*
 * Everything private to one VuDev.  dev->regions points at regions[0], so the
 * private block is found from the public struct without changing its layout.
 */
struct vu_impl {
    VuDevRegion regions[VHOST_USER_MAX_RAM_SLOTS]; /* must stay first */
    struct vu_region_map maps[VHOST_USER_MAX_RAM_SLOTS];
    struct vu_vq_priv *vqp;  /* max_queues entries */
    void *log_map_base;      /* mapping that holds dev->log_table */
    size_t log_map_len;
    int record_fd;           /* LIBVHOST_USER_RECORD output, or -1 */
    unsigned fd_counter;     /* fds recorded so far (for the TLV dup kind) */
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

/* Mark the device broken and hand the formatted reason to dev->panic. */
void vu_fail(VuDev *dev, const char *fmt, ...) VU_PRINTF(2, 3);

/* ---- guest memory (memory.c) ---- */

/* Host address of [gpa, gpa+len) if it lies wholly in one region, else NULL. */
void *vu_mem_gpa_range(VuDev *dev, uint64_t gpa, uint64_t len);
/* Same for frontend virtual addresses (ring addresses). */
void *vu_mem_qva_range(VuDev *dev, uint64_t qva, uint64_t len);
/* Unmap every region; dev->nregions becomes 0. */
void vu_mem_unmap_all(VuDev *dev);
/* Validate one region against the table and the fd, map it and insert it in
 * gpa order.  The fd is never closed here.  NULL on success, else the reason. */
const char *vu_mem_add_region(VuDev *dev, const VhostUserMemoryRegion *r, int fd);
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
void vu_log_close(VuDev *dev);

/* ---- inflight tracking (inflight.c) ---- */

/* Validate the shared inflight contents of vq and build the resubmit list.
 * Called when the queue starts; false when the contents are unusable. */
bool vu_inflight_check(VuDev *dev, VuVirtq *vq);
void vu_inflight_unmap(VuDev *dev);

/* ---- backend channel (backend.c) ---- */

/* Send a backend request; with need_reply wait for the u64 answer.
 * fd < 0 sends no fd.  false on any failure (which also marks broken). */
bool vu_backend_request(VuDev *dev, uint32_t request, const void *payload,
                        uint32_t size, int fd, bool need_reply,
                        uint64_t *reply_u64);

/* ---- message I/O (message.c) ---- */

/* Close every fd of vmsg and set fd_num to 0. */
void vu_msg_close_fds(VhostUserMsg *vmsg);
/* The built-in reader (also used when read_msg is NULL). */
bool vu_message_read_default(VuDev *dev, int sock, VhostUserMsg *vmsg);
/* ---- traffic recorder (record.c) ----
 * With LIBVHOST_USER_RECORD=path in the environment, every message received
 * is appended to path in the fuzz_dispatch TLV format (fuzz/README.md). */
void vu_record_init(VuDev *dev);  /* called by vu_init; sets record_fd */
void vu_record_msg(VuDev *dev, const VhostUserMsg *vmsg);
void vu_record_close(VuDev *dev); /* called by vu_deinit */

#endif /* VU_INTERNAL_H */
