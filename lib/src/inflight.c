/*
 * Inflight I/O tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, split rings).
 *
 * The frontend keeps a shared area per queue across backend restarts: for
 * every head we hold it records "in flight" and the fetch order, plus the
 * last batch of completions, so a restarted backend can finish a half-done
 * completion and resubmit what was lost.  The frontend can write the area at
 * any time, so every value read back is bounded before use, every field is
 * accessed with a single load or store, and every loop is bounded by the
 * queue size.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VU_INFLIGHT_VERSION 1

static uint16_t load16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static void store16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static void set_inflight(VuDescStateSplit *d, uint8_t v)
{
    __atomic_store_n(&d->inflight, v, __ATOMIC_RELAXED);
}
/* Keeps the order of our stores to the area: what a crash leaves behind
 * must follow the spec's sequence, even though only our own CPU writes. */
static void area_barrier(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* The queue's area, when tracking is on and the area has been checked. */
static VuVirtqInflight *tracked_area(VuDev *dev, VuVirtq *vq, unsigned head)
{
    int q;

    if (VU_LIKELY(!vq->inflight)) {
        return NULL; /* the common case: no tracking, nothing else to look at */
    }
    q = vu_queue_index(dev, vq);
    if (q < 0 || !vu_impl(dev)->vqp[q].inflight_checked ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) ||
        head >= vq->vring.num ||
        vq->vring.num > vu_impl(dev)->vqp[q].inflight_desc_cap) {
        return NULL;
    }
    return vq->inflight;
}

void vu_inflight_pop(VuDev *dev, VuVirtq *vq, unsigned head)
{
    VuVirtqInflight *a = tracked_area(dev, vq, head);

    if (!a) {
        return;
    }
    __atomic_store_n(&a->desc[head].counter, vq->counter++, __ATOMIC_RELAXED);
    area_barrier();
    set_inflight(&a->desc[head], 1);
}

void vu_inflight_unpop(VuDev *dev, VuVirtq *vq, unsigned head)
{
    VuVirtqInflight *a = tracked_area(dev, vq, head);

    if (a) {
        set_inflight(&a->desc[head], 0);
    }
}

void vu_inflight_fill(VuDev *dev, VuVirtq *vq, unsigned head)
{
    VuVirtqInflight *a = tracked_area(dev, vq, head);

    if (!a) {
        return;
    }
    /* Link head into the list of the batch about to be published. */
    store16(&a->desc[head].next, load16(&a->last_batch_head));
    area_barrier();
    store16(&a->last_batch_head, (uint16_t)head);
}

void vu_inflight_flush(VuDev *dev, VuVirtq *vq, uint16_t old_used,
                       unsigned count)
{
    VuVirtqInflight *a = tracked_area(dev, vq, 0);

    if (!a) {
        return;
    }
    struct vu_vq_priv *p = &vu_impl(dev)->vqp[vu_queue_index(dev, vq)];

    area_barrier();
    /* The batch is what fill wrote into the slots just published, as we
     * recorded it: the used ring itself is guest-writable. */
    for (unsigned k = 0; k < count; k++) {
        unsigned slot = (uint16_t)(old_used + k) % vq->vring.num;
        unsigned head = p->filled_head[slot];

        if (head != 0 && head - 1 < vq->vring.num) {
            set_inflight(&a->desc[head - 1], 0);
        }
    }
    area_barrier();
    store16(&a->used_idx, (uint16_t)(old_used + count));
}

/* The caller (SET_VRING_KICK) refuses the request; the reason is kept for
 * vu_last_error.  The device itself stays usable. */
static bool inflight_fail(VuDev *dev, VuVirtq *vq, const char *rule)
{
    char reason[160];

    (void)snprintf(reason, sizeof(reason), "vu_inflight_check: queue %d: %s",
                   vu_queue_index(dev, vq), rule);
    vu_note_error(dev, reason);
    return false;
}

/* A zeroed area (first start after GET_INFLIGHT_FD): make it ours. */
static void init_area(VuVirtqInflight *a, unsigned num, uint16_t used)
{
    memset(a->desc, 0, sizeof(a->desc[0]) * num);
    store16(&a->desc_num, (uint16_t)num);
    store16(&a->last_batch_head, 0);
    store16(&a->used_idx, used);
    area_barrier();
    store16(&a->version, VU_INFLIGHT_VERSION);
}

/* A crash between publishing used->idx and recording it: the heads of that
 * last batch are completed, whatever their inflight flag says. */
static bool settle_last_batch(VuDev *dev, VuVirtq *vq, VuVirtqInflight *a,
                              uint16_t used)
{
    uint16_t batch = (uint16_t)(used - load16(&a->used_idx));
    uint16_t heads[VU_MAX_QUEUE_SIZE];
    unsigned head = load16(&a->last_batch_head);

    if (batch > vq->vring.num) {
        return inflight_fail(dev, vq, "used_idx far from the used ring index");
    }
    /* Walk the whole list into a local copy first: a refusal must leave the
     * area untouched, and the frontend may rewrite links while we walk. */
    for (unsigned k = 0; k < batch; k++) {
        if (head >= vq->vring.num) {
            return inflight_fail(dev, vq, "last batch list leaves the queue");
        }
        heads[k] = (uint16_t)head;
        head = load16(&a->desc[head].next);
    }
    for (unsigned k = 0; k < batch; k++) {
        set_inflight(&a->desc[heads[k]], 0);
    }
    store16(&a->used_idx, used);
    return true;
}

/* Newest first, so that pop takes the oldest from the end of the list. */
static int newest_first(const void *x, const void *y)
{
    const VuVirtqInflightDesc *a = x, *b = y;

    return a->counter < b->counter ? 1 : a->counter > b->counter ? -1 : 0;
}

static bool collect_inflight(VuDev *dev, VuVirtq *vq, VuVirtqInflight *a,
                             uint16_t used)
{
    struct vu_vq_priv *p = &vu_impl(dev)->vqp[vu_queue_index(dev, vq)];
    unsigned num = vq->vring.num, count = 0;
    VuVirtqInflightDesc *list = malloc(sizeof(*list) * num);

    if (!list) {
        return inflight_fail(dev, vq, "out of memory");
    }
    for (unsigned i = 0; i < num; i++) {
        if (__atomic_load_n(&a->desc[i].inflight, __ATOMIC_RELAXED)) {
            list[count].index = (uint16_t)i;
            list[count].counter =
                __atomic_load_n(&a->desc[i].counter, __ATOMIC_RELAXED);
            vu_bit_set(p->pending, i);
            count++;
        }
    }
    qsort(list, count, sizeof(*list), newest_first);
    free(vq->resubmit_list);
    vq->resubmit_list = count ? list : NULL;
    vq->resubmit_num = (uint16_t)count;
    if (!count) {
        free(list);
    } else {
        vq->counter = list[0].counter + 1;
    }
    /* Every pop took one avail entry; every completion gave one used entry. */
    vq->inuse = count;
    vq->used_idx = used;
    vq->last_avail_idx = vq->shadow_avail_idx = (uint16_t)(used + count);
    return true;
}

bool vu_inflight_check(VuDev *dev, VuVirtq *vq)
{
    int q = vu_queue_index(dev, vq);
    VuVirtqInflight *a;
    uint16_t used, version;
    unsigned num;

    if (q < 0) {
        return false;
    }
    a = vq->inflight;
    /* Checked since the queue was last reset: the device may hold some of
     * the recorded heads already, so never build the list twice. */
    if (vu_impl(dev)->vqp[q].inflight_checked) {
        return true;
    }
    if (!a ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD)) {
        return true;
    }
    num = vq->vring.num;
    if (!vq->vring.used) {
        return inflight_fail(dev, vq, "rings are not mapped");
    }
    if (num == 0 || num > VU_MAX_QUEUE_SIZE ||
        num > vu_impl(dev)->vqp[q].inflight_desc_cap) {
        return inflight_fail(dev, vq, "queue larger than its inflight area");
    }
    used = vu_ring_load16(&vq->vring.used->idx);
    version = load16(&a->version);
    if (version == 0) {
        init_area(a, num, used);
    } else if (version != VU_INFLIGHT_VERSION) {
        return inflight_fail(dev, vq, "unknown inflight area version");
    } else if (load16(&a->desc_num) != num) {
        return inflight_fail(dev, vq, "desc_num does not match the queue");
    } else if (!settle_last_batch(dev, vq, a, used) ||
               !collect_inflight(dev, vq, a, used)) {
        return false;
    }
    vu_impl(dev)->vqp[q].inflight_checked = true;
    return true;
}

void vu_inflight_unmap(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);

    for (uint16_t i = 0; dev->vq && i < dev->max_queues; i++) {
        VuVirtq *vq = &dev->vq[i];

        vq->inflight = NULL;
        free(vq->resubmit_list);
        vq->resubmit_list = NULL;
        vq->resubmit_num = 0;
        if (impl->vqp) {
            impl->vqp[i].inflight_desc_cap = 0;
            impl->vqp[i].inflight_checked = false;
        }
    }
    if (dev->inflight_info.addr) {
        munmap(dev->inflight_info.addr, dev->inflight_info.size);
    }
    if (dev->inflight_info.fd >= 0) {
        close(dev->inflight_info.fd);
    }
    dev->inflight_info.addr = NULL;
    dev->inflight_info.size = 0;
    dev->inflight_info.fd = -1;
}
