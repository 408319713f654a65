/*
 * Ring placement and kick plumbing: where each ring of a queue lives in our
 * address space, and how guest kicks reach the device's queue handler.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Split-ring extents for a queue of num entries (virtio 1.x, 2.6). */
static inline uint64_t desc_bytes(unsigned num)
{
    return 16ULL * num;
}
static inline uint64_t avail_bytes(unsigned num)
{
    return 4 + 2ULL * num + 2; /* flags, idx, ring[num], used_event */
}
static inline uint64_t used_bytes(unsigned num)
{
    return 4 + 8ULL * num + 2; /* flags, idx, ring[num], avail_event */
}

static bool aligned(const void *p, uintptr_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

static void clear_ring_pointers(VuVirtq *vq)
{
    vq->vring.desc = NULL;
    vq->vring.avail = NULL;
    vq->vring.used = NULL;
}

bool vu_vring_map(VuDev *dev, VuVirtq *vq)
{
    const struct vhost_vring_addr *a = &vq->vra;
    unsigned num = vq->vring.num;
    void *desc, *avail, *used;

    clear_ring_pointers(vq);
    if (num == 0) {
        return false;
    }
    desc = vu_mem_qva_range(dev, a->desc_user_addr, desc_bytes(num));
    avail = vu_mem_qva_range(dev, a->avail_user_addr, avail_bytes(num));
    used = vu_mem_qva_range(dev, a->used_user_addr, used_bytes(num));
    /* Alignment is checked on our pointers: aligned single stores to the
     * used ring are what keep the driver from seeing torn indices. */
    if (!desc || !avail || !used || !aligned(desc, 16) || !aligned(avail, 2) ||
        !aligned(used, 4)) {
        return false;
    }
    vq->vring.desc = desc;
    vq->vring.avail = avail;
    vq->vring.used = used;
    return true;
}

void vu_vring_remap_all(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);

    for (uint16_t i = 0; i < dev->max_queues; i++) {
        if (impl->vqp[i].addr_set) {
            (void)vu_vring_map(dev, &dev->vq[i]);
        } else {
            clear_ring_pointers(&dev->vq[i]);
        }
    }
}

void vu_vring_close_kick(VuDev *dev, VuVirtq *vq)
{
    if (vq->kick_fd >= 0) {
        dev->remove_watch(dev, vq->kick_fd);
        close(vq->kick_fd);
        vq->kick_fd = -1;
    }
}

void vu_vring_reset(VuDev *dev, VuVirtq *vq)
{
    struct vu_vq_priv *p = &vu_impl(dev)->vqp[vq - dev->vq];

    vu_vring_close_kick(dev, vq);
    clear_ring_pointers(vq);
    p->addr_set = false;
    p->inflight_checked = false;
    memset(p->popped, 0, sizeof(p->popped));
    memset(p->filled_head, 0, sizeof(p->filled_head));
    memset(p->pending, 0, sizeof(p->pending));
    memset(p->unflushed, 0, sizeof(p->unflushed));
    memset(p->resubmitted, 0, sizeof(p->resubmitted));
    p->resubmitted_out = 0;
    vq->started = false;
    vq->last_avail_idx = 0;
    vq->shadow_avail_idx = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->inuse = 0;
    vq->counter = 0;
    free(vq->resubmit_list);
    vq->resubmit_list = NULL;
    vq->resubmit_num = 0;
}

void vu_kick_cb(VuDev *dev, int condition, void *data)
{
    intptr_t qidx = (intptr_t)data;
    VuVirtq *vq;
    eventfd_t count;

    (void)condition;
    if (qidx < 0 || qidx >= dev->max_queues) {
        return;
    }
    vq = &dev->vq[qidx];
    if (vq->kick_fd >= 0 && eventfd_read(vq->kick_fd, &count) < 0 &&
        errno != EAGAIN && errno != EINTR) {
        dev->remove_watch(dev, vq->kick_fd);
        vu_fail(dev, "kick: reading the kick eventfd of queue %d failed: %s",
                (int)qidx, strerror(errno));
        return;
    }
    if (vq->handler) {
        vq->handler(dev, (int)qidx);
    }
}

/* Install or remove the kick watch to match the queue's handler. */
void vu_vring_update_watch(VuDev *dev, VuVirtq *vq)
{
    int qidx = vu_queue_index(dev, vq);

    if (qidx < 0 || vq->kick_fd < 0) {
        return;
    }
    if (vq->handler) {
        dev->set_watch(dev, vq->kick_fd, VU_WATCH_IN, vu_kick_cb,
                       (void *)(intptr_t)qidx);
    } else {
        dev->remove_watch(dev, vq->kick_fd);
    }
}

VU_EXPORT void vu_set_queue_handler(VuDev *dev, VuVirtq *vq,
                                    vu_queue_handler_cb handler)
{
    if (vu_queue_index(dev, vq) < 0) {
        return;
    }
    vq->handler = handler;
    vu_vring_update_watch(dev, vq);
}
