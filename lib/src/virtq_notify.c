/*
 * Split virtqueue state queries and notifications in both directions:
 * suppressing guest kicks, deciding whether the guest wants a call, and
 * peeking at how much buffer space the guest has made available.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

static bool rings_mapped(const VuVirtq *vq)
{
    return vq->vring.desc && vq->vring.avail && vq->vring.used;
}

static bool usable(const VuDev *dev, const VuVirtq *vq)
{
    return vu_queue_index(dev, vq) >= 0 && !dev->broken && rings_mapped(vq);
}

VU_EXPORT bool vu_queue_enabled(VuDev *dev, VuVirtq *vq)
{
    (void)dev;
    return vq && vq->enable;
}

VU_EXPORT bool vu_queue_started(const VuDev *dev, const VuVirtq *vq)
{
    (void)dev;
    return vq && vq->started;
}

VU_EXPORT bool vu_queue_empty(VuDev *dev, VuVirtq *vq)
{
    if (!usable(dev, vq)) {
        return true;
    }
    if (vq->shadow_avail_idx != vq->last_avail_idx) {
        return false;
    }
    vq->shadow_avail_idx = vu_ring_load16(&vq->vring.avail->idx);
    return vq->shadow_avail_idx == vq->last_avail_idx;
}

static void set_used_flag(VuDev *dev, VuVirtq *vq, uint16_t flag, bool on)
{
    uint16_t flags = vu_ring_load16(&vq->vring.used->flags);

    flags = on ? (uint16_t)(flags | flag) : (uint16_t)(flags & ~flag);
    vu_ring_store16(&vq->vring.used->flags, flags);
    vu_log_used_ring(dev, vq, offsetof(struct vring_used, flags),
                     sizeof(uint16_t));
}

VU_EXPORT void vu_queue_set_notification(VuDev *dev, VuVirtq *vq, int enable)
{
    if (!usable(dev, vq)) {
        return;
    }
    vq->notification = enable != 0;
    if (vu_has_feature(dev, VIRTIO_RING_F_EVENT_IDX)) {
        /* Suppression is simply not moving avail_event forward. */
        if (enable) {
            uint16_t *ev =
                (uint16_t *)(void *)&vq->vring.used->ring[vq->vring.num];

            vu_ring_store16(ev, vu_ring_load16(&vq->vring.avail->idx));
            vu_log_used_ring(dev, vq,
                             (uint64_t)((char *)ev - (char *)vq->vring.used),
                             sizeof(uint16_t));
        }
    } else {
        set_used_flag(dev, vq, VRING_USED_F_NO_NOTIFY, !enable);
    }
    if (enable) {
        /* Our enable must be visible before the caller re-checks the ring,
         * or a kick sent in between is lost. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}

/* virtio's event-index test: did [old, new) step over event? */
static bool event_crossed(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Whether the guest wants to hear about the used entries published so far. */
static bool call_due(VuDev *dev, VuVirtq *vq)
{
    uint16_t old, used_event;
    bool was_valid;

    /* The used->idx store must land before we look at the guest's wishes. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vu_has_feature(dev, VIRTIO_F_NOTIFY_ON_EMPTY) && vq->inuse == 0 &&
        vu_queue_empty(dev, vq)) {
        return true;
    }
    if (!vu_has_feature(dev, VIRTIO_RING_F_EVENT_IDX)) {
        return !(vu_ring_load16(&vq->vring.avail->flags) &
                 VRING_AVAIL_F_NO_INTERRUPT);
    }
    was_valid = vq->signalled_used_valid;
    old = vq->signalled_used;
    vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    used_event = vu_ring_load16(&vq->vring.avail->ring[vq->vring.num]);
    return !was_valid || event_crossed(used_event, vq->used_idx, old);
}

static void send_call(VuDev *dev, VuVirtq *vq, bool sync)
{
    struct vhost_vring_state state = {
        .index = (unsigned)vu_queue_index(dev, vq),
        .num = 0,
    };
    bool ack;

    if (vq->call_fd >= 0) {
        /* EAGAIN: the counter is saturated, so a call is pending anyway. */
        if (eventfd_write(vq->call_fd, 1) < 0 && errno != EAGAIN) {
            vu_fail(dev, "vu_queue_notify: writing the call eventfd failed: %s",
                    strerror(errno));
        }
        return;
    }
    /* No call fd: either in-band calls were negotiated or the frontend polls. */
    if (!vu_has_protocol_feature(dev,
                                 VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS)) {
        return;
    }
    ack = sync && vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK);
    (void)vu_backend_request(dev, VHOST_USER_BACKEND_VRING_CALL, &state,
                             sizeof(state), -1, ack, NULL);
}

static void notify(VuDev *dev, VuVirtq *vq, bool sync)
{
    if (!usable(dev, vq) || !call_due(dev, vq)) {
        return;
    }
    send_call(dev, vq, sync);
}

VU_EXPORT void vu_queue_notify(VuDev *dev, VuVirtq *vq)
{
    notify(dev, vq, false);
}

VU_EXPORT void vu_queue_notify_sync(VuDev *dev, VuVirtq *vq)
{
    notify(dev, vq, true);
}

/* Sum the buffer sizes of every available chain, without consuming any. */
static bool sum_avail(VuDev *dev, VuVirtq *vq, uint64_t *in, uint64_t *out,
                      unsigned max_in, unsigned max_out)
{
    const char *who = "vu_queue_get_avail_bytes";
    uint16_t idx = vu_ring_load16(&vq->vring.avail->idx);
    uint16_t n = (uint16_t)(idx - vq->last_avail_idx);
    struct vu_chain c = { .iov = NULL }; /* sizes only: no iovecs */

    if (n > vq->vring.num) {
        vu_fail(dev, "%s: avail index moved by %u on a ring of %u", who, n,
                vq->vring.num);
        return false;
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    for (uint16_t i = 0; i < n && (*in < max_in || *out < max_out); i++) {
        unsigned slot = vu_ring_slot(vq, (unsigned)vq->last_avail_idx + i);
        unsigned head = vu_ring_load16(&vq->vring.avail->ring[slot]);

        if (head >= vq->vring.num) {
            vu_fail(dev, "%s: head %u out of range", who, head);
            return false;
        }
        if (!vu_chain_walk(dev, vq, head, false, &c, who)) {
            return false;
        }
        *in += c.in_bytes;
        *out += c.out_bytes;
    }
    return true;
}

static unsigned clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

VU_EXPORT void vu_queue_get_avail_bytes(VuDev *dev, VuVirtq *vq,
                                        unsigned int *in_bytes,
                                        unsigned int *out_bytes,
                                        unsigned max_in_bytes,
                                        unsigned max_out_bytes)
{
    uint64_t in = 0, out = 0;

    if (!usable(dev, vq) ||
        !sum_avail(dev, vq, &in, &out, max_in_bytes, max_out_bytes)) {
        in = out = 0;
    }
    if (in_bytes) {
        *in_bytes = clamp_u32(in);
    }
    if (out_bytes) {
        *out_bytes = clamp_u32(out);
    }
}

VU_EXPORT bool vu_queue_avail_bytes(VuDev *dev, VuVirtq *vq,
                                    unsigned int in_bytes,
                                    unsigned int out_bytes)
{
    unsigned in_total, out_total;

    vu_queue_get_avail_bytes(dev, vq, &in_total, &out_total, in_bytes,
                             out_bytes);
    return in_bytes <= in_total && out_bytes <= out_total;
}
