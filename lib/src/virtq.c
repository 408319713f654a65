/*
 * Split virtqueue data path: taking elements off the avail ring and giving
 * them back through the used ring.
 *
 * Ring pointers come from vu_vring_map, which guarantees that the whole of
 * each ring lies in mapped memory; anything read from the rings is still
 * guest-controlled and checked before use.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN_UP(n, a) (((n) + (a)-1) & ~((size_t)(a)-1))

static struct vu_vq_priv *queue_priv(VuDev *dev, VuVirtq *vq)
{
    int qidx = vu_queue_index(dev, vq);

    return qidx < 0 ? NULL : &vu_impl(dev)->vqp[qidx];
}

/* Rings usable: device healthy, rings mapped, queue started.  The size
 * bound also keeps every head inside the popped bitmap. */
static bool queue_ready(const VuDev *dev, const VuVirtq *vq)
{
    return !dev->broken && vq->vring.desc && vq->vring.avail &&
           vq->vring.used && vq->started && vq->vring.num > 0 &&
           vq->vring.num <= VU_MAX_QUEUE_SIZE;
}

/* The hooks below cost a call each; most queues have neither a logged used
 * ring nor an inflight area, so look before calling. */
static inline void log_used(VuDev *dev, VuVirtq *vq, uint64_t off, uint64_t len)
{
    if (VU_UNLIKELY(vq->vring.flags & (1u << VHOST_VRING_F_LOG))) {
        vu_log_used_ring(dev, vq, off, len);
    }
}

static uint16_t *avail_event_ptr(VuVirtq *vq)
{
    return (uint16_t *)(void *)&vq->vring.used->ring[vq->vring.num];
}

static void set_avail_event(VuDev *dev, VuVirtq *vq, uint16_t val)
{
    vu_ring_store16(avail_event_ptr(vq), val);
    log_used(dev, vq,
             offsetof(struct vring_used, ring) +
                 sizeof(struct vring_used_elem) * vq->vring.num,
             sizeof(uint16_t));
}

/*
 * Number of new avail entries, after refreshing the shadow index.  An index
 * that moved by more than the ring size (forwards or "backwards", which is
 * the same in 16-bit arithmetic) is a guest error.
 */
static bool avail_count(VuDev *dev, VuVirtq *vq, const char *who,
                        unsigned *count)
{
    uint16_t known = (uint16_t)(vq->shadow_avail_idx - vq->last_avail_idx);
    uint16_t idx;

    /* Entries already seen behind the index we last read (and fenced): no
     * need to touch the cache line the driver keeps writing. */
    if (known != 0 && known <= vq->vring.num) {
        *count = known;
        return true;
    }
    idx = vu_ring_load16(&vq->vring.avail->idx);
    uint16_t n = (uint16_t)(idx - vq->last_avail_idx);

    if (n > vq->vring.num) {
        vu_fail(dev, "%s: avail index moved by %u on a ring of %u", who, n,
                vq->vring.num);
        return false;
    }
    vq->shadow_avail_idx = idx;
    /* Entries must not be read before the index that published them. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    *count = n;
    return true;
}

static bool read_head(VuDev *dev, VuVirtq *vq, uint16_t slot, unsigned *head,
                      const char *who)
{
    unsigned h = vu_ring_load16(&vq->vring.avail->ring[vu_ring_slot(vq, slot)]);

    if (h >= vq->vring.num) {
        vu_fail(dev, "%s: head %u out of range (ring of %u)", who, h,
                vq->vring.num);
        return false;
    }
    *head = h;
    return true;
}

static size_t element_size(size_t sz, const struct vu_chain *c)
{
    return ALIGN_UP(sz, _Alignof(struct iovec)) +
           sizeof(struct iovec) * (c->in_num + c->out_num);
}

/* One allocation: the caller's sz bytes (zeroed), then in_sg, then out_sg. */
static VuVirtqElement *alloc_element(size_t sz, unsigned head,
                                     const struct vu_chain *c)
{
    char *base = malloc(element_size(sz, c));
    VuVirtqElement *elem = (VuVirtqElement *)(void *)base;

    if (!base) {
        return NULL;
    }
    memset(base, 0, sz);
    elem->index = head;
    elem->out_num = c->out_num;
    elem->in_num = c->in_num;
    elem->in_sg =
        (struct iovec *)(void *)(base + ALIGN_UP(sz, _Alignof(struct iovec)));
    elem->out_sg = elem->in_sg + c->in_num;
    memcpy(elem->in_sg, &c->iov[c->out_num], sizeof(struct iovec) * c->in_num);
    memcpy(elem->out_sg, c->iov, sizeof(struct iovec) * c->out_num);
    return elem;
}

/*
 * Taking one element is done in two steps: peek_next finds the next head
 * (a head recovered from the inflight area first, else the next avail
 * entry), checks it and walks its chain into c, consuming nothing; then,
 * once the caller has a place for the element, take_head consumes it.  An
 * allocation failure in between leaves the queue as it was.
 */
struct vu_next {
    unsigned head;
    bool resubmitted; /* from the resubmit list, not the avail ring */
};

static bool peek_resubmitted(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                             struct vu_chain *c, struct vu_next *next,
                             const char *who)
{
    unsigned head = vq->resubmit_list[vq->resubmit_num - 1].index;

    if (head >= vq->vring.num || !vu_bit_test(p->pending, head)) {
        vu_fail(dev, "%s: resubmitted head %u is not pending", who, head);
        return false;
    }
    next->head = head;
    next->resubmitted = true;
    return vu_chain_walk(dev, vq, head, true, c, who);
}

static bool peek_avail(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                       struct vu_chain *c, struct vu_next *next,
                       const char *who)
{
    unsigned count, head;

    if (!avail_count(dev, vq, who, &count) || count == 0 ||
        !read_head(dev, vq, vq->last_avail_idx, &head, who)) {
        return false;
    }
    /* A driver never has more buffers outstanding than the ring holds; a
     * guest re-posting filled-but-unflushed heads would otherwise grow
     * inuse without bound. */
    if (vq->inuse >= vq->vring.num) {
        vu_fail(dev, "%s: %u elements already in flight on a ring of %u", who,
                vq->inuse, vq->vring.num);
        return false;
    }
    if (vu_bit_test(p->unflushed, head)) {
        vu_fail(dev,
                "%s: head %u re-posted before its completion was published",
                who, head);
        return false;
    }
    if (vu_popped_test(p, head) || vu_bit_test(p->pending, head)) {
        vu_fail(dev, "%s: head %u is already in flight", who, head);
        return false;
    }
    next->head = head;
    next->resubmitted = false;
    return vu_chain_walk(dev, vq, head, true, c, who);
}

static bool peek_next(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                      struct vu_chain *c, struct vu_next *next, const char *who)
{
    if (vq->resubmit_num > 0 && vq->resubmit_list) {
        return peek_resubmitted(dev, vq, p, c, next, who);
    }
    return peek_avail(dev, vq, p, c, next, who);
}

/* The element of next is handed out: record who holds what.  The avail
 * event is moved by the caller, once per call. */
static void take_head(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                      const struct vu_next *next)
{
    unsigned head = next->head;

    if (next->resubmitted) {
        /* Its avail entry was consumed before the restart, and inuse
         * already counts it. */
        if (--vq->resubmit_num == 0) {
            free(vq->resubmit_list);
            vq->resubmit_list = NULL;
        }
        vu_bit_clear(p->pending, head);
        vu_bit_set(p->resubmitted, head);
        p->resubmitted_out++;
        vu_popped_set(p, head);
        return;
    }
    p->avail_head[vu_ring_slot(vq, vq->last_avail_idx)] = (uint16_t)head;
    vq->last_avail_idx++;
    vu_popped_set(p, head);
    vq->inuse++;
    if (VU_UNLIKELY(vq->inflight)) {
        vu_inflight_pop(dev, vq, head);
    }
}

/* With EVENT_IDX, ask for a kick when the driver goes past what we took. */
static void publish_avail_event(VuDev *dev, VuVirtq *vq)
{
    if (vu_has_feature(dev, VIRTIO_RING_F_EVENT_IDX) && vq->notification) {
        set_avail_event(dev, vq, vq->last_avail_idx);
    }
}

/* unpop of a resubmitted element: back to the front of the resubmit list,
 * still in flight in the area; the avail ring is not involved. */
static bool requeue_resubmitted(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                                unsigned head)
{
    VuVirtqInflightDesc *list =
        realloc(vq->resubmit_list, sizeof(*list) * (vq->resubmit_num + 1u));

    if (!list) {
        vu_fail(dev, "vu_queue_unpop: out of memory");
        return false;
    }
    list[vq->resubmit_num].index = (uint16_t)head;
    list[vq->resubmit_num].counter = 0;
    vq->resubmit_list = list;
    vq->resubmit_num++;
    vu_bit_clear(p->resubmitted, head);
    p->resubmitted_out--;
    vu_popped_clear(p, head);
    vu_bit_set(p->pending, head);
    return true;
}

VU_EXPORT void *vu_queue_pop(VuDev *dev, VuVirtq *vq, size_t sz)
{
    /* Where the chain is gathered before the element, sized to fit it, is
     * allocated: per thread rather than 16 KiB of stack on every call. */
    static _Thread_local struct iovec iov[VIRTQUEUE_MAX_SIZE];
    struct vu_vq_priv *p = queue_priv(dev, vq);
    struct vu_chain c = { .iov = iov, .iov_cap = VIRTQUEUE_MAX_SIZE };
    struct vu_next next;
    VuVirtqElement *elem;

    if (!p || !queue_ready(dev, vq)) {
        return NULL;
    }
    if (sz < sizeof(VuVirtqElement) || sz > SIZE_MAX / 2) {
        vu_fail(dev, "vu_queue_pop: element size %zu is invalid", sz);
        return NULL;
    }
    if (!peek_next(dev, vq, p, &c, &next, "vu_queue_pop")) {
        return NULL;
    }
    elem = alloc_element(sz, next.head, &c);
    if (!elem) {
        return NULL; /* nothing consumed: an allocation failure can retry */
    }
    take_head(dev, vq, p, &next);
    if (!next.resubmitted) {
        publish_avail_event(dev, vq);
    }
    return elem;
}

VU_EXPORT unsigned int vu_queue_pop_batch(VuDev *dev, VuVirtq *vq,
                                          VuVirtqElement *elems,
                                          unsigned int max, struct iovec *iov,
                                          unsigned int iov_cap)
{
    struct vu_vq_priv *p = queue_priv(dev, vq);
    unsigned n = 0, used = 0;
    bool from_avail = false;

    if (!p || !queue_ready(dev, vq) || max == 0) {
        return 0;
    }
    if (!elems || !iov || iov_cap < VIRTQUEUE_MAX_SIZE) {
        vu_note_error(dev, "vu_queue_pop_batch: needs an element array and at "
                           "least VIRTQUEUE_MAX_SIZE iovecs");
        return 0;
    }
    while (n < max) {
        unsigned left = iov_cap - used;
        struct vu_chain c = {
            .iov = iov + used,
            .iov_cap = left < VIRTQUEUE_MAX_SIZE ? left : VIRTQUEUE_MAX_SIZE,
            .room_limited = left < VIRTQUEUE_MAX_SIZE,
        };
        struct vu_next next;

        if (!peek_next(dev, vq, p, &c, &next, "vu_queue_pop_batch")) {
            break;
        }
        elems[n].index = next.head;
        elems[n].out_num = c.out_num;
        elems[n].in_num = c.in_num;
        elems[n].out_sg = c.iov;
        elems[n].in_sg = c.iov + c.out_num;
        take_head(dev, vq, p, &next);
        from_avail |= !next.resubmitted;
        used += c.out_num + c.in_num;
        n++;
    }
    if (from_avail) {
        publish_avail_event(dev, vq);
    }
    return n;
}

/* Common check of an element the device gives back. */
static bool held_by_device(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                           const VuVirtqElement *elem, const char *who)
{
    if (!elem || elem->index >= vq->vring.num ||
        elem->index >= VU_MAX_QUEUE_SIZE || !vu_popped_test(p, elem->index)) {
        vu_fail(dev, "%s: element %u was not popped from this queue", who,
                elem ? elem->index : 0u);
        return false;
    }
    return true;
}

VU_EXPORT void vu_queue_unpop(VuDev *dev, VuVirtq *vq, VuVirtqElement *elem,
                              size_t len)
{
    struct vu_vq_priv *p = queue_priv(dev, vq);

    (void)len;
    if (!p || dev->broken || !vq->vring.avail ||
        !held_by_device(dev, vq, p, elem, "vu_queue_unpop")) {
        return;
    }
    if (vq->inuse == 0) {
        vu_fail(dev, "vu_queue_unpop: nothing in use");
        return;
    }
    if (vu_bit_test(p->resubmitted, elem->index)) {
        (void)requeue_resubmitted(dev, vq, p, elem->index);
        return;
    }
    vu_popped_clear(p, elem->index);
    vu_inflight_unpop(dev, vq, elem->index);
    vq->last_avail_idx--;
    vq->inuse--;
}

/* Forget the holder of one avail slot being given back by rewind. */
static void release_slot(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                         uint16_t slot)
{
    unsigned head = p->avail_head[vu_ring_slot(vq, slot)];

    if (head < vq->vring.num && vu_popped_test(p, head) &&
        !vu_bit_test(p->resubmitted, head)) {
        vu_popped_clear(p, head);
        vu_inflight_unpop(dev, vq, head);
    }
}

/* The last num avail slots hold num distinct heads the device still holds.
 * A slot whose element was already completed (pushed out of pop order) must
 * not be given back: the guest would get that head again. */
static bool slots_held(VuVirtq *vq, struct vu_vq_priv *p, unsigned num)
{
    uint8_t seen[VU_MAX_QUEUE_SIZE / 8] = { 0 };

    for (unsigned i = 1; i <= num; i++) {
        unsigned head =
            p->avail_head[vu_ring_slot(vq, (uint16_t)(vq->last_avail_idx - i))];

        if (head >= vq->vring.num || head >= VU_MAX_QUEUE_SIZE ||
            !vu_popped_test(p, head) || vu_bit_test(p->resubmitted, head) ||
            vu_bit_test(seen, head)) {
            return false;
        }
        vu_bit_set(seen, head);
    }
    return true;
}

VU_EXPORT bool vu_queue_rewind(VuDev *dev, VuVirtq *vq, unsigned int num)
{
    struct vu_vq_priv *p = queue_priv(dev, vq);
    unsigned recovered;

    if (!p) {
        return false;
    }
    /* Only elements popped from the avail ring can be given back to it. */
    recovered = vq->resubmit_num + p->resubmitted_out;
    if (recovered > vq->inuse || num > vq->inuse - recovered ||
        !slots_held(vq, p, num)) {
        return false;
    }
    /* (The holders are the library's own record: no ring access needed.) */
    for (unsigned i = 1; i <= num; i++) {
        release_slot(dev, vq, p, (uint16_t)(vq->last_avail_idx - i));
    }
    vq->last_avail_idx -= num;
    vq->inuse -= num;
    return true;
}

/*
 * Mark the bytes the device wrote into the element's in-buffers dirty.  The
 * guest addresses come from the iovecs pop built (host pointers into our
 * own mappings), never from the guest's descriptors again: the guest may
 * have rewritten those since.
 */
static void log_written(VuDev *dev, const VuVirtqElement *elem, uint64_t len)
{
    if (!vu_has_feature(dev, VHOST_F_LOG_ALL) || !dev->log_table) {
        return;
    }
    for (unsigned k = 0; k < elem->in_num && len > 0 && !dev->broken; k++) {
        const struct iovec *v = &elem->in_sg[k];
        uint64_t n = len < v->iov_len ? len : v->iov_len;

        vu_log_host_range(dev, v->iov_base, n, "vu_queue_fill");
        len -= n;
    }
}

static void write_used_elem(VuDev *dev, VuVirtq *vq, unsigned slot,
                            unsigned head, unsigned len)
{
    struct vring_used_elem *e = &vq->vring.used->ring[slot];

    vu_ring_store32(&e->id, head);
    vu_ring_store32(&e->len, len);
    log_used(dev, vq, offsetof(struct vring_used, ring) + sizeof(*e) * slot,
             sizeof(*e));
}

VU_EXPORT void vu_queue_fill(VuDev *dev, VuVirtq *vq,
                             const VuVirtqElement *elem, unsigned int len,
                             unsigned int idx)
{
    struct vu_vq_priv *p = queue_priv(dev, vq);
    unsigned slot;

    if (!p || dev->broken || !vq->vring.used ||
        !held_by_device(dev, vq, p, elem, "vu_queue_fill")) {
        return;
    }
    if (idx >= vq->inuse) {
        vu_fail(dev, "vu_queue_fill: batch position %u beyond %u in use", idx,
                vq->inuse);
        return;
    }
    log_written(dev, elem, len);
    if (dev->broken) {
        return; /* the log was unusable: publish nothing more */
    }
    slot = vu_ring_slot(vq, (unsigned)vq->used_idx + idx);
    write_used_elem(dev, vq, slot, elem->index, len);
    vu_popped_clear(p, elem->index);
    if (vu_bit_test(p->resubmitted, elem->index)) {
        vu_bit_clear(p->resubmitted, elem->index);
        p->resubmitted_out--;
    }
    p->filled_head[slot] = (uint16_t)(elem->index + 1);
    vu_bit_set(p->unflushed, elem->index);
    if (VU_UNLIKELY(vq->inflight)) {
        vu_inflight_fill(dev, vq, elem->index);
    }
}

/* Every slot a flush publishes must have been filled since its last flush:
 * otherwise the guest would see a stale (already completed) entry again. */
static bool slots_filled(VuDev *dev, VuVirtq *vq, struct vu_vq_priv *p,
                         unsigned num)
{
    for (unsigned k = 0; k < num; k++) {
        unsigned slot = vu_ring_slot(vq, (unsigned)vq->used_idx + k);

        if (!p->filled_head[slot]) {
            vu_fail(dev,
                    "vu_queue_flush: %u completions but used slot %u was not "
                    "filled",
                    num, slot);
            return false;
        }
    }
    return true;
}

static void clear_filled(VuVirtq *vq, struct vu_vq_priv *p, uint16_t old,
                         unsigned num)
{
    for (unsigned k = 0; k < num; k++) {
        unsigned slot = vu_ring_slot(vq, (unsigned)old + k);

        vu_bit_clear(p->unflushed, p->filled_head[slot] - 1u);
        p->filled_head[slot] = 0;
    }
}

VU_EXPORT void vu_queue_flush(VuDev *dev, VuVirtq *vq, unsigned int num)
{
    struct vu_vq_priv *p = queue_priv(dev, vq);
    uint16_t old, new_idx;

    if (!p || dev->broken || !vq->vring.used) {
        return;
    }
    if (num > vq->inuse) {
        vu_fail(dev, "vu_queue_flush: %u completions but %u in use", num,
                vq->inuse);
        return;
    }
    if (!slots_filled(dev, vq, p, num)) {
        return;
    }
    old = vq->used_idx;
    new_idx = (uint16_t)(old + num);
    /* The used entries must be visible before the index that covers them. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    vu_ring_store16(&vq->vring.used->idx, new_idx);
    log_used(dev, vq, offsetof(struct vring_used, idx), sizeof(uint16_t));
    vq->used_idx = new_idx;
    vq->inuse -= num;
    /* If the last signalled index fell inside this batch (or is somehow
     * ahead of it), the EVENT_IDX window is stale: the next notify must
     * signal unconditionally.  A spare call is harmless, a lost one hangs. */
    if ((int16_t)(new_idx - vq->signalled_used) < (int)(uint16_t)num) {
        vq->signalled_used_valid = false;
    }
    if (VU_UNLIKELY(vq->inflight)) {
        vu_inflight_flush(dev, vq, old, num);
    }
    clear_filled(vq, p, old, num);
    vu_log_kick(dev);
}

VU_EXPORT void vu_queue_push(VuDev *dev, VuVirtq *vq,
                             const VuVirtqElement *elem, unsigned int len)
{
    bool was_broken = dev ? dev->broken : true;

    vu_queue_fill(dev, vq, elem, len, 0);
    if (!was_broken && !dev->broken) {
        vu_queue_flush(dev, vq, 1);
    }
}

VU_EXPORT void vu_queue_push_batch(VuDev *dev, VuVirtq *vq,
                                   const VuVirtqElement *elems,
                                   const unsigned int *lens, unsigned int n)
{
    if (!dev || dev->broken || n == 0) {
        return;
    }
    if (!elems) {
        vu_fail(dev, "vu_queue_push_batch: %u elements but no array", n);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        vu_queue_fill(dev, vq, &elems[i], lens ? lens[i] : 0, i);
        if (dev->broken) {
            return; /* publish nothing of a batch the device got wrong */
        }
    }
    vu_queue_flush(dev, vq, n);
}
