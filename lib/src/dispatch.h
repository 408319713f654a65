/*
 * The request table and what its handlers share.  One row per request says
 * how large its payload is, how many fds it carries, whether it always
 * replies and which protocol feature gates it; the dispatcher enforces all of
 * that before a handler sees the message.
 */
#ifndef VU_DISPATCH_H
#define VU_DISPATCH_H

#include "internal.h"

/* Per-message state handed to a handler. */
struct vu_msg_ctx {
    VhostUserMsg *msg;
    int reply_fd;  /* an fd to send with the reply; stays owned by its owner */
    char why[192]; /* reason for a refusal */
};

/* true: accepted (reply, if any, is in msg).  false: refused; ctx->why set
 * and nothing changed.  Handlers take an fd by setting msg->fds[i] = -1;
 * the dispatcher closes every fd still in msg afterwards. */
typedef bool (*vu_handler_fn)(VuDev *dev, struct vu_msg_ctx *ctx);

/* Record a refusal reason; always returns false so handlers can
 * `return vu_refuse(ctx, ...)`. */
bool vu_refuse(struct vu_msg_ctx *ctx, const char *fmt, ...) VU_PRINTF(2, 3);

/* Reply helpers: set the payload and its size. */
void vu_reply_u64(VhostUserMsg *msg, uint64_t value);

/* Bounded reads from a message payload (memcpy: the payload is packed). */
struct vu_cursor {
    const uint8_t *p;
    size_t left;
};

static inline struct vu_cursor vu_payload_cursor(const VhostUserMsg *msg)
{
    return (struct vu_cursor){ .p = (const uint8_t *)&msg->payload,
                               .left = msg->size };
}

/* Copy n bytes out; false (cursor unchanged) when fewer are left. */
bool vu_take(struct vu_cursor *c, void *out, size_t n) VU_MUST_CHECK;

/* Handlers, grouped by file. */
bool vu_h_get_features(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_features(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_protocol_features(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_protocol_features(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_owner(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_reset(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_queue_num(VuDev *dev, struct vu_msg_ctx *ctx);

bool vu_h_set_mem_table(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_add_mem_reg(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_rem_mem_reg(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_max_mem_slots(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_log_base(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_log_fd(VuDev *dev, struct vu_msg_ctx *ctx);

bool vu_h_set_vring_num(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_addr(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_base(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_vring_base(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_kick(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_call(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_err(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_vring_enable(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_vring_kick(VuDev *dev, struct vu_msg_ctx *ctx);

bool vu_h_get_config(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_config(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_inflight_fd(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_inflight_fd(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_set_backend_req_fd(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_get_shared_object(VuDev *dev, struct vu_msg_ctx *ctx);

bool vu_h_postcopy_advise(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_postcopy_listen(VuDev *dev, struct vu_msg_ctx *ctx);
bool vu_h_postcopy_end(VuDev *dev, struct vu_msg_ctx *ctx);
/* Does this kernel give us a working userfaultfd? */
bool vu_postcopy_supported(void);
/* SET_MEM_TABLE while listening: register, announce, await the go-ahead. */
bool vu_postcopy_announce_table(VuDev *dev, struct vu_msg_ctx *ctx);
/* ADD_MEM_REG while listening: register r and answer with our address. */
bool vu_postcopy_announce_region(VuDev *dev, struct vu_msg_ctx *ctx,
                                 const VhostUserMemoryRegion *r);

/* The queue named by a vring message, or NULL (and a refusal) if out of range. */
VuVirtq *vu_msg_queue(VuDev *dev, struct vu_msg_ctx *ctx, uint64_t index);

/* Feature sets offered by the library itself (the device adds its own). */
#define VU_LIB_FEATURES                                                        \
    ((1ULL << VHOST_F_LOG_ALL) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))
#define VU_LIB_PROTOCOL_FEATURES                                               \
    ((1ULL << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |                               \
     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |                             \
     (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |                         \
     (1ULL << VHOST_USER_PROTOCOL_F_HOST_NOTIFIER) |                           \
     (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))

#endif /* VU_DISPATCH_H */
