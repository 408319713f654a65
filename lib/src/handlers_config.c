/*
 * Handlers for the device configuration space: GET_CONFIG and SET_CONFIG.
 */
#include "dispatch.h"

#include <stdio.h>
#include <string.h>

struct config_hdr {
    uint32_t offset, size, flags;
};

/* The config header must describe exactly the bytes that follow it, inside
 * the 256-byte config space. */
static bool parse_config(struct vu_msg_ctx *ctx, struct config_hdr *h)
{
    struct vu_cursor c = vu_payload_cursor(ctx->msg);

    if (!vu_take(&c, &h->offset, 4) || !vu_take(&c, &h->size, 4) ||
        !vu_take(&c, &h->flags, 4)) {
        return vu_refuse(ctx, "payload too short");
    }
    if (h->size == 0 ||
        h->size != ctx->msg->size - VHOST_USER_CONFIG_HDR_SIZE) {
        return vu_refuse(
            ctx, "config size %u does not match the %u bytes sent", h->size,
            (unsigned)(ctx->msg->size - VHOST_USER_CONFIG_HDR_SIZE));
    }
    if ((uint64_t)h->offset + h->size > VHOST_USER_MAX_CONFIG_SIZE) {
        return vu_refuse(ctx, "config offset %u + size %u is past %d",
                         h->offset, h->size, VHOST_USER_MAX_CONFIG_SIZE);
    }
    return true;
}

/* GET_CONFIG answers every error with an empty reply, which frontends read
 * as "no config" and handle; the device stays usable. */
bool vu_h_get_config(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserMsg *m = ctx->msg;
    struct config_hdr h;

    if (!parse_config(ctx, &h) || !dev->iface->get_config ||
        dev->iface->get_config(dev, m->payload.config.region, h.size) != 0) {
        char reason[256];

        (void)snprintf(reason, sizeof(reason), "GET_CONFIG: %s",
                       ctx->why[0] ? ctx->why
                                   : "the device could not provide its config");
        vu_note_error(dev, reason);
        m->size = 0;
    }
    return true;
}

bool vu_h_set_config(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct config_hdr h;

    if (!parse_config(ctx, &h)) {
        return false;
    }
    if (h.flags != VHOST_SET_CONFIG_TYPE_FRONTEND &&
        h.flags != VHOST_SET_CONFIG_TYPE_MIGRATION) {
        return vu_refuse(ctx, "unknown config flags %u", h.flags);
    }
    if (!dev->iface->set_config) {
        return vu_refuse(ctx, "the device has no set_config");
    }
    if (dev->iface->set_config(dev, ctx->msg->payload.config.region, h.offset,
                               h.size, h.flags) != 0) {
        return vu_refuse(ctx, "the device refused the change");
    }
    return true;
}
