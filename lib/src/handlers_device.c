/*
 * Handlers for device-wide requests: feature negotiation, ownership and
 * reset, queue count.
 */
#include "dispatch.h"

#include <linux/virtio_config.h>
#include <unistd.h>

/* Features the library cannot honour even if the device offers them. */
#define VU_UNSUPPORTED_FEATURES (1ULL << VIRTIO_F_RING_PACKED)

static uint64_t offer_features(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);
    uint64_t f = VU_LIB_FEATURES;

    if (dev->iface->get_features) {
        f |= dev->iface->get_features(dev);
    }
    f &= ~VU_UNSUPPORTED_FEATURES;
    impl->offered_features = f;
    impl->features_offered = true;
    return f;
}

static uint64_t offer_protocol_features(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);
    uint64_t f = VU_LIB_PROTOCOL_FEATURES;

    if (dev->iface->get_config && dev->iface->set_config) {
        f |= 1ULL << VHOST_USER_PROTOCOL_F_CONFIG;
    }
    if (vu_postcopy_supported()) {
        f |= 1ULL << VHOST_USER_PROTOCOL_F_PAGEFAULT;
    }
    if (dev->iface->get_protocol_features) {
        f |= dev->iface->get_protocol_features(dev);
    }
    impl->offered_protocol_features = f;
    impl->protocol_features_offered = true;
    return f;
}

bool vu_h_get_features(VuDev *dev, struct vu_msg_ctx *ctx)
{
    vu_reply_u64(ctx->msg, offer_features(dev));
    return true;
}

bool vu_h_set_features(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vu_impl *impl = vu_impl(dev);
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    uint64_t f, offered;

    if (!vu_take(&c, &f, sizeof(f))) {
        return vu_refuse(ctx, "payload too short");
    }
    offered =
        impl->features_offered ? impl->offered_features : offer_features(dev);
    if (f & ~offered) {
        return vu_refuse(ctx, "feature bits 0x%llx were never offered",
                         (unsigned long long)(f & ~offered));
    }
    if (!(f & (1ULL << VIRTIO_F_VERSION_1))) {
        return vu_refuse(
            ctx, "VIRTIO_F_VERSION_1 is required (legacy devices are not "
                 "supported)");
    }
    dev->features = f;
    /* Without protocol features there is no SET_VRING_ENABLE: rings start
     * enabled (the spec's rule; the original tested the bit number instead
     * of the bit). */
    if (!(f & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))) {
        for (uint16_t i = 0; i < dev->max_queues; i++) {
            dev->vq[i].enable = 1;
        }
    }
    if (dev->iface->set_features) {
        dev->iface->set_features(dev, f);
    }
    return true;
}

bool vu_h_get_protocol_features(VuDev *dev, struct vu_msg_ctx *ctx)
{
    vu_reply_u64(ctx->msg, offer_protocol_features(dev));
    return true;
}

bool vu_h_set_protocol_features(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vu_impl *impl = vu_impl(dev);
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    uint64_t f, offered;

    if (!vu_take(&c, &f, sizeof(f))) {
        return vu_refuse(ctx, "payload too short");
    }
    offered = impl->protocol_features_offered ? impl->offered_protocol_features
                                              : offer_protocol_features(dev);
    if (f & ~offered) {
        return vu_refuse(ctx, "protocol feature bits 0x%llx were never offered",
                         (unsigned long long)(f & ~offered));
    }
    dev->protocol_features = f;
    if (dev->iface->set_protocol_features) {
        dev->iface->set_protocol_features(dev, f);
    }
    return true;
}

bool vu_h_set_owner(VuDev *dev, struct vu_msg_ctx *ctx)
{
    (void)dev;
    (void)ctx;
    return true;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* RESET_OWNER / RESET_DEVICE: every queue stops and forgets its rings and
 * fds; the memory table and protocol features stay. */
bool vu_h_reset(VuDev *dev, struct vu_msg_ctx *ctx)
{
    (void)ctx;
    for (uint16_t i = 0; i < dev->max_queues; i++) {
        VuVirtq *vq = &dev->vq[i];

        if (vq->started && dev->iface->queue_set_started) {
            dev->iface->queue_set_started(dev, i, false);
        }
        vu_vring_reset(dev, vq);
        close_fd(&vq->call_fd);
        close_fd(&vq->err_fd);
        vq->enable = 0;
    }
    dev->features = 0;
    return true;
}

bool vu_h_get_queue_num(VuDev *dev, struct vu_msg_ctx *ctx)
{
    vu_reply_u64(ctx->msg, dev->max_queues);
    return true;
}
