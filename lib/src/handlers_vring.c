/*
 * Handlers for per-queue requests: size, ring addresses, indices, the
 * kick/call/err eventfds, enable, and in-band kicks.
 */
#include "dispatch.h"

#include <endian.h>
#include <sys/eventfd.h>
#include <unistd.h>

static bool parse_state(struct vu_msg_ctx *ctx, struct vhost_vring_state *s)
{
    struct vu_cursor c = vu_payload_cursor(ctx->msg);

    if (!vu_take(&c, s, sizeof(*s))) {
        return vu_refuse(ctx, "payload too short");
    }
    return true;
}

static struct vu_vq_priv *vq_priv(VuDev *dev, VuVirtq *vq)
{
    return &vu_impl(dev)->vqp[vq - dev->vq];
}

bool vu_h_set_vring_num(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vhost_vring_state s;
    VuVirtq *vq;
    unsigned old;

    if (!parse_state(ctx, &s) || !(vq = vu_msg_queue(dev, ctx, s.index))) {
        return false;
    }
    if (s.num == 0 || s.num > VU_MAX_QUEUE_SIZE || (s.num & (s.num - 1))) {
        return vu_refuse(ctx, "queue size %u is not a power of two in 1..%d",
                         s.num, VU_MAX_QUEUE_SIZE);
    }
    /* The size indexes everything the device holds (heads, used slots):
     * it changes only while the queue is stopped (GET_VRING_BASE). */
    if (vq->started) {
        return vu_refuse(ctx,
                         "queue %u is running (stop it with "
                         "GET_VRING_BASE before resizing)",
                         s.index);
    }
    /* A queue larger than its inflight area could not be tracked: its
     * requests would silently stop surviving a backend restart. */
    if (vq->inflight &&
        vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) &&
        s.num > vq_priv(dev, vq)->inflight_desc_cap) {
        return vu_refuse(ctx, "queue %u size %u exceeds its inflight area (%u)",
                         s.index, s.num, vq_priv(dev, vq)->inflight_desc_cap);
    }
    old = vq->vring.num;
    vq->vring.num = s.num;
    if (vq_priv(dev, vq)->addr_set && !vu_vring_map(dev, vq)) {
        vq->vring.num = old;
        (void)vu_vring_map(dev, vq);
        return vu_refuse(
            ctx, "rings of queue %u do not fit in memory with %u entries",
            s.index, s.num);
    }
    return true;
}

/* After a restart the device may resume from used->idx when it completes
 * requests in order (the backend crashed with requests in flight). */
static void resume_in_order(VuDev *dev, VuVirtq *vq, int qidx)
{
    vq->used_idx =
        le16toh(__atomic_load_n(&vq->vring.used->idx, __ATOMIC_RELAXED));
    if (vq->last_avail_idx != vq->used_idx &&
        dev->iface->queue_is_processed_in_order &&
        dev->iface->queue_is_processed_in_order(dev, qidx)) {
        vq->last_avail_idx = vq->used_idx;
        vq->shadow_avail_idx = vq->used_idx;
    }
}

bool vu_h_set_vring_addr(VuDev *dev, struct vu_msg_ctx *ctx)
{
    const unsigned known_flags = 1u << VHOST_VRING_F_LOG;
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    struct vhost_vring_addr a, old;
    VuVirtq *vq;

    if (!vu_take(&c, &a, sizeof(a))) {
        return vu_refuse(ctx, "payload too short");
    }
    if (!(vq = vu_msg_queue(dev, ctx, a.index))) {
        return false;
    }
    if (a.flags & ~known_flags) {
        return vu_refuse(ctx, "unknown ring flags 0x%x",
                         a.flags & ~known_flags);
    }
    if (vq->vring.num == 0) {
        return vu_refuse(ctx, "queue %u has no size yet (SET_VRING_NUM first)",
                         a.index);
    }
    old = vq->vra;
    vq->vra = a;
    if (!vu_vring_map(dev, vq)) {
        vq->vra = old;
        if (vq_priv(dev, vq)->addr_set) {
            (void)vu_vring_map(dev, vq);
        }
        return vu_refuse(
            ctx,
            "rings of queue %u are misaligned or not wholly inside "
            "mapped memory",
            a.index);
    }
    vq->vring.flags = a.flags;
    vq->vring.log_guest_addr = a.log_guest_addr;
    vq_priv(dev, vq)->addr_set = true;
    resume_in_order(dev, vq, (int)a.index);
    return true;
}

bool vu_h_set_vring_base(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vhost_vring_state s;
    VuVirtq *vq;

    if (!parse_state(ctx, &s) || !(vq = vu_msg_queue(dev, ctx, s.index))) {
        return false;
    }
    if (s.num > UINT16_MAX) {
        return vu_refuse(ctx, "ring base %u does not fit 16 bits", s.num);
    }
    vq->last_avail_idx = (uint16_t)s.num;
    vq->shadow_avail_idx = (uint16_t)s.num;
    return true;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

bool vu_h_get_vring_base(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vhost_vring_state s;
    VuVirtq *vq;

    if (!parse_state(ctx, &s) || !(vq = vu_msg_queue(dev, ctx, s.index))) {
        return false;
    }
    s.num = vq->last_avail_idx;
    vq->started = false;
    if (dev->iface->queue_set_started) {
        dev->iface->queue_set_started(dev, (int)s.index, false);
    }
    /* The queue is stopped: forget ring pointers so nothing can touch memory
     * the frontend may now unmap; a restart sends ADDR again. */
    vu_vring_reset(dev, vq);
    close_fd(&vq->call_fd);
    ctx->msg->payload.state = s;
    ctx->msg->size = sizeof(s);
    return true;
}

/* The u64 of KICK/CALL/ERR: queue index in bits 0-7, NOFD in bit 8. */
static VuVirtq *parse_vring_fd_msg(VuDev *dev, struct vu_msg_ctx *ctx, int *fd)
{
    const uint64_t known =
        VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK;
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    uint64_t v;
    VuVirtq *vq;

    if (!vu_take(&c, &v, sizeof(v))) {
        vu_refuse(ctx, "payload too short");
        return NULL;
    }
    if (v & ~known) {
        vu_refuse(ctx, "reserved bits 0x%llx set",
                  (unsigned long long)(v & ~known));
        return NULL;
    }
    vq = vu_msg_queue(dev, ctx, v & VHOST_USER_VRING_IDX_MASK);
    if (!vq) {
        return NULL;
    }
    /* The dispatcher already matched the fd count against the NOFD bit. */
    *fd = (v & VHOST_USER_VRING_NOFD_MASK) ? -1 : ctx->msg->fds[0];
    if (*fd >= 0) {
        ctx->msg->fds[0] = -1; /* taken */
        vu_set_nonblocking(*fd);
    }
    return vq;
}

bool vu_h_set_vring_kick(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VuVirtq *vq;
    int fd = -1;
    int qidx;

    if (!(vq = parse_vring_fd_msg(dev, ctx, &fd))) {
        return false;
    }
    qidx = (int)(vq - dev->vq);
    /* Requests still in flight from before a reconnect are queued for
     * resubmission before the device learns the queue started. */
    if (vq->inflight && !vu_inflight_check(dev, vq)) {
        if (fd >= 0) {
            close(fd);
        }
        return vu_refuse(ctx, "queue %d: %s", qidx, vu_last_error(dev));
    }
    vu_vring_close_kick(dev, vq);
    vq->kick_fd = fd;
    vq->started = true;
    if (dev->iface->queue_set_started) {
        dev->iface->queue_set_started(dev, qidx, true);
    }
    vu_vring_update_watch(dev, vq);
    return true;
}

bool vu_h_set_vring_call(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VuVirtq *vq;
    int fd = -1;

    if (!(vq = parse_vring_fd_msg(dev, ctx, &fd))) {
        return false;
    }
    close_fd(&vq->call_fd);
    vq->call_fd = fd;
    /* One spurious interrupt, so that a driver waiting across a backend
     * restart looks at the used ring again. */
    if (fd >= 0) {
        (void)eventfd_write(fd, 1);
    }
    return true;
}

bool vu_h_set_vring_err(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VuVirtq *vq;
    int fd = -1;

    if (!(vq = parse_vring_fd_msg(dev, ctx, &fd))) {
        return false;
    }
    close_fd(&vq->err_fd);
    vq->err_fd = fd;
    return true;
}

bool vu_h_set_vring_enable(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vhost_vring_state s;
    VuVirtq *vq;

    if (!parse_state(ctx, &s) || !(vq = vu_msg_queue(dev, ctx, s.index))) {
        return false;
    }
    if (s.num > 1) {
        return vu_refuse(ctx, "enable value %u is neither 0 nor 1", s.num);
    }
    vq->enable = s.num;
    return true;
}

bool vu_h_vring_kick(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vhost_vring_state s;
    VuVirtq *vq;

    if (!parse_state(ctx, &s) || !(vq = vu_msg_queue(dev, ctx, s.index))) {
        return false;
    }
    if (!vq->started) {
        /* A start by in-band kick: the same inflight check as a start by
         * SET_VRING_KICK, or requests lost in a crash stay lost. */
        if (vq->inflight && !vu_inflight_check(dev, vq)) {
            return vu_refuse(ctx, "queue %u: %s", s.index, vu_last_error(dev));
        }
        vq->started = true;
        if (dev->iface->queue_set_started) {
            dev->iface->queue_set_started(dev, (int)s.index, true);
        }
    }
    if (vq->handler) {
        vq->handler(dev, (int)s.index);
    }
    return true;
}
