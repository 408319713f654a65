/*
 * The dispatcher.  Every message goes through the same checks in the same
 * order: header, then the request's row (gate, fd count, payload size), then
 * the device's process_msg, then the handler's typed parse and semantic
 * checks, and only then a state change and the reply.
 */
#include "dispatch.h"

#include <stdio.h>
#include <string.h>

enum fd_rule {
    FDS_NONE,     /* no fds */
    FDS_ONE,      /* exactly one */
    FDS_VRING,    /* one, or none when the NOFD bit is set in the u64 */
    FDS_MEMTABLE, /* one per region; checked by the handler against nregions */
    FDS_OPTIONAL, /* zero or one, closed if unused */
    FDS_ANY,      /* device-defined requests: the device decides */
};

enum reply_rule {
    REPLY_ON_REQUEST, /* ack only when NEED_REPLY is set */
    REPLY_ALWAYS,     /* the request is a question */
};

#define NO_GATE (-1)

struct request_rule {
    const char *name;
    uint16_t min_size, max_size; /* payload bytes */
    uint8_t fds;
    uint8_t reply;
    int8_t gate; /* protocol feature that must be negotiated, or NO_GATE */
    vu_handler_fn handler; /* NULL: only the device's process_msg handles it */
};

#define U64 sizeof(uint64_t)
#define STATE sizeof(struct vhost_vring_state)
#define ADDR sizeof(struct vhost_vring_addr)
#define MEMREG sizeof(VhostUserMemRegMsg)
#define CFG_MIN VHOST_USER_CONFIG_HDR_SIZE
#define CFG_MAX (VHOST_USER_CONFIG_HDR_SIZE + VHOST_USER_MAX_CONFIG_SIZE)
#define MEM_MIN (2 * sizeof(uint32_t))
#define MEM_MAX sizeof(VhostUserMemory)
#define PF(x) VHOST_USER_PROTOCOL_F_##x

/* Names as the original library spells them ("VHOST_USER_GET_FEATURES"). */
#define ROW(req, lo, hi, f, r, g, h)                                           \
    [VHOST_USER_##req] = { "VHOST_USER_" #req, lo, hi, f, r, g, h }

/* Requests 34, 39 and 40 are not in the API's enum; they are named here so
 * logs stay readable, and refused because their features are never offered. */
#define REQ_RESET_DEVICE 34
#define REQ_SET_STATUS 39
#define REQ_GET_STATUS 40
#define PF_RESET_DEVICE 13
#define PF_STATUS 16

static const struct request_rule rules[] = {
    ROW(NONE, 0, 0, FDS_NONE, REPLY_ON_REQUEST, NO_GATE, NULL),
    ROW(GET_FEATURES, 0, 0, FDS_NONE, REPLY_ALWAYS, NO_GATE, vu_h_get_features),
    ROW(SET_FEATURES, U64, U64, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_features),
    ROW(SET_OWNER, 0, 0, FDS_NONE, REPLY_ON_REQUEST, NO_GATE, vu_h_set_owner),
    ROW(RESET_OWNER, 0, 0, FDS_NONE, REPLY_ON_REQUEST, NO_GATE, vu_h_reset),
    ROW(SET_MEM_TABLE, MEM_MIN, MEM_MAX, FDS_MEMTABLE, REPLY_ON_REQUEST,
        NO_GATE, vu_h_set_mem_table),
    ROW(SET_LOG_BASE, sizeof(VhostUserLog), sizeof(VhostUserLog), FDS_ONE,
        REPLY_ALWAYS, PF(LOG_SHMFD), vu_h_set_log_base),
    ROW(SET_LOG_FD, 0, U64, FDS_ONE, REPLY_ON_REQUEST, PF(LOG_SHMFD),
        vu_h_set_log_fd),
    ROW(SET_VRING_NUM, STATE, STATE, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_num),
    ROW(SET_VRING_ADDR, ADDR, ADDR, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_addr),
    ROW(SET_VRING_BASE, STATE, STATE, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_base),
    ROW(GET_VRING_BASE, STATE, STATE, FDS_NONE, REPLY_ALWAYS, NO_GATE,
        vu_h_get_vring_base),
    ROW(SET_VRING_KICK, U64, U64, FDS_VRING, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_kick),
    ROW(SET_VRING_CALL, U64, U64, FDS_VRING, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_call),
    ROW(SET_VRING_ERR, U64, U64, FDS_VRING, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_err),
    ROW(GET_PROTOCOL_FEATURES, 0, 0, FDS_NONE, REPLY_ALWAYS, NO_GATE,
        vu_h_get_protocol_features),
    ROW(SET_PROTOCOL_FEATURES, U64, U64, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_protocol_features),
    ROW(GET_QUEUE_NUM, 0, 0, FDS_NONE, REPLY_ALWAYS, NO_GATE,
        vu_h_get_queue_num),
    ROW(SET_VRING_ENABLE, STATE, STATE, FDS_NONE, REPLY_ON_REQUEST, NO_GATE,
        vu_h_set_vring_enable),
    ROW(SEND_RARP, U64, U64, FDS_NONE, REPLY_ON_REQUEST, PF(RARP), NULL),
    ROW(NET_SET_MTU, U64, U64, FDS_NONE, REPLY_ON_REQUEST, PF(NET_MTU), NULL),
    ROW(SET_BACKEND_REQ_FD, 0, 0, FDS_ONE, REPLY_ON_REQUEST, PF(BACKEND_REQ),
        vu_h_set_backend_req_fd),
    ROW(IOTLB_MSG, 0, MEM_MAX, FDS_ANY, REPLY_ON_REQUEST, NO_GATE, NULL),
    ROW(SET_VRING_ENDIAN, STATE, STATE, FDS_NONE, REPLY_ON_REQUEST,
        PF(CROSS_ENDIAN), NULL),
    ROW(GET_CONFIG, CFG_MIN, CFG_MAX, FDS_NONE, REPLY_ALWAYS, PF(CONFIG),
        vu_h_get_config),
    ROW(SET_CONFIG, CFG_MIN, CFG_MAX, FDS_NONE, REPLY_ON_REQUEST, PF(CONFIG),
        vu_h_set_config),
    ROW(CREATE_CRYPTO_SESSION, 0, CFG_MAX, FDS_ANY, REPLY_ALWAYS,
        PF(CRYPTO_SESSION), NULL),
    ROW(CLOSE_CRYPTO_SESSION, U64, U64, FDS_NONE, REPLY_ON_REQUEST,
        PF(CRYPTO_SESSION), NULL),
    ROW(POSTCOPY_ADVISE, 0, 0, FDS_NONE, REPLY_ALWAYS, PF(PAGEFAULT),
        vu_h_postcopy_advise),
    ROW(POSTCOPY_LISTEN, 0, 0, FDS_NONE, REPLY_ON_REQUEST, PF(PAGEFAULT),
        vu_h_postcopy_listen),
    ROW(POSTCOPY_END, 0, 0, FDS_NONE, REPLY_ALWAYS, PF(PAGEFAULT),
        vu_h_postcopy_end),
    ROW(GET_INFLIGHT_FD, sizeof(VhostUserInflight), sizeof(VhostUserInflight),
        FDS_NONE, REPLY_ALWAYS, PF(INFLIGHT_SHMFD), vu_h_get_inflight_fd),
    ROW(SET_INFLIGHT_FD, sizeof(VhostUserInflight), sizeof(VhostUserInflight),
        FDS_ONE, REPLY_ON_REQUEST, PF(INFLIGHT_SHMFD), vu_h_set_inflight_fd),
    ROW(GPU_SET_SOCKET, 0, 0, FDS_ANY, REPLY_ON_REQUEST, NO_GATE, NULL),
    [REQ_RESET_DEVICE] = { "VHOST_USER_RESET_DEVICE", 0, 0, FDS_NONE,
                           REPLY_ON_REQUEST, PF_RESET_DEVICE, vu_h_reset },
    ROW(VRING_KICK, STATE, STATE, FDS_NONE, REPLY_ON_REQUEST,
        PF(INBAND_NOTIFICATIONS), vu_h_vring_kick),
    ROW(GET_MAX_MEM_SLOTS, 0, 0, FDS_NONE, REPLY_ALWAYS,
        PF(CONFIGURE_MEM_SLOTS), vu_h_get_max_mem_slots),
    ROW(ADD_MEM_REG, MEMREG, MEMREG, FDS_ONE, REPLY_ON_REQUEST,
        PF(CONFIGURE_MEM_SLOTS), vu_h_add_mem_reg),
    ROW(REM_MEM_REG, MEMREG, MEMREG, FDS_OPTIONAL, REPLY_ON_REQUEST,
        PF(CONFIGURE_MEM_SLOTS), vu_h_rem_mem_reg),
    [REQ_SET_STATUS] = { "VHOST_USER_SET_STATUS", U64, U64, FDS_NONE,
                         REPLY_ON_REQUEST, PF_STATUS, NULL },
    [REQ_GET_STATUS] = { "VHOST_USER_GET_STATUS", 0, 0, FDS_NONE, REPLY_ALWAYS,
                         PF_STATUS, NULL },
    ROW(GET_SHARED_OBJECT, sizeof(VhostUserShared), sizeof(VhostUserShared),
        FDS_NONE, REPLY_ALWAYS, PF(SHARED_OBJECT), vu_h_get_shared_object),
};

#define N_RULES (sizeof(rules) / sizeof(rules[0]))

static const struct request_rule *rule_for(uint32_t request)
{
    if (request >= N_RULES || !rules[request].name) {
        return NULL;
    }
    return &rules[request];
}

VU_EXPORT const char *vu_request_to_string(unsigned int req)
{
    const struct request_rule *r = rule_for(req);

    return r ? r->name : "unknown";
}

bool vu_refuse(struct vu_msg_ctx *ctx, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(ctx->why, sizeof(ctx->why), fmt, ap);
    va_end(ap);
    return false;
}

bool vu_take(struct vu_cursor *c, void *out, size_t n)
{
    if (n > c->left) {
        return false;
    }
    memcpy(out, c->p, n);
    c->p += n;
    c->left -= n;
    return true;
}

void vu_reply_u64(VhostUserMsg *msg, uint64_t value)
{
    msg->payload.u64 = value;
    msg->size = sizeof(uint64_t);
}

/* Header rules shared by every request (version 1, no reply bit, no unknown
 * flag bits, payload and fd counts within the message buffer). */
static bool check_header(const VhostUserMsg *m, struct vu_msg_ctx *ctx)
{
    const uint32_t known = VHOST_USER_VERSION_MASK | VHOST_USER_NEED_REPLY_MASK;

    if ((m->flags & VHOST_USER_VERSION_MASK) != 1) {
        return vu_refuse(ctx, "protocol version %u is not 1",
                         m->flags & VHOST_USER_VERSION_MASK);
    }
    if (m->flags & VHOST_USER_REPLY_MASK) {
        return vu_refuse(ctx, "the REPLY flag is set on a request");
    }
    if (m->flags & ~known) {
        return vu_refuse(ctx, "reserved flag bits 0x%x are set",
                         m->flags & ~known);
    }
    if (m->size > sizeof(m->payload)) {
        return vu_refuse(ctx, "payload size %u is larger than any request",
                         m->size);
    }
    if (m->fd_num == VU_FD_COUNT_OVERFLOW) {
        return vu_refuse(
            ctx, "more than %d fds attached (or truncated by the kernel)",
            VHOST_MEMORY_BASELINE_NREGIONS);
    }
    if (m->fd_num < 0 || m->fd_num > VHOST_MEMORY_BASELINE_NREGIONS) {
        return vu_refuse(ctx, "fd count %d is out of range", m->fd_num);
    }
    return true;
}

static bool check_fds(const struct request_rule *r, const VhostUserMsg *m,
                      struct vu_msg_ctx *ctx)
{
    int want = -1;

    switch ((enum fd_rule)r->fds) {
    case FDS_NONE:
        want = 0;
        break;
    case FDS_ONE:
        want = 1;
        break;
    case FDS_VRING:
        want = (m->size >= U64 && (m->payload.u64 & VHOST_USER_VRING_NOFD_MASK))
                   ? 0
                   : 1;
        break;
    case FDS_OPTIONAL:
        if (m->fd_num > 1) {
            return vu_refuse(ctx, "%d fds attached, at most 1 expected",
                             m->fd_num);
        }
        return true;
    case FDS_MEMTABLE:
    case FDS_ANY:
        return true;
    }
    if (m->fd_num != want) {
        return vu_refuse(ctx, "%d fds attached, %d expected", m->fd_num, want);
    }
    return true;
}

static bool check_row(VuDev *dev, const struct request_rule *r,
                      const VhostUserMsg *m, struct vu_msg_ctx *ctx)
{
    if (r->gate != NO_GATE &&
        !vu_has_protocol_feature(dev, (unsigned)r->gate)) {
        return vu_refuse(ctx, "protocol feature %d was not negotiated",
                         r->gate);
    }
    if (!check_fds(r, m, ctx)) {
        return false;
    }
    if (m->size < r->min_size || m->size > r->max_size) {
        if (r->min_size == r->max_size) {
            return vu_refuse(ctx, "payload is %u bytes, %u expected", m->size,
                             r->min_size);
        }
        return vu_refuse(ctx, "payload is %u bytes, %u..%u expected", m->size,
                         r->min_size, r->max_size);
    }
    return true;
}

static bool send_reply(VuDev *dev, VhostUserMsg *m)
{
    m->flags = 1 | VHOST_USER_REPLY_MASK; /* exactly VERSION|REPLY */
    if (!vu_message_write(dev->sock, m)) {
        vu_fail(dev, "%s: sending the reply failed",
                vu_request_to_string((unsigned)m->request));
        return false;
    }
    return true;
}

/* A refused request: a failed ack when the frontend asked for one, else the
 * device is marked broken with the reason. */
static bool refuse(VuDev *dev, VhostUserMsg *m, const struct request_rule *r,
                   const struct vu_msg_ctx *ctx)
{
    bool ackable = !r || r->reply == REPLY_ON_REQUEST;
    char reason[256];

    (void)snprintf(reason, sizeof(reason), "%s (%d): %s",
                   vu_request_to_string((unsigned)m->request), m->request,
                   ctx->why);
    vu_msg_close_fds(m);
    if (ackable && (m->flags & VHOST_USER_NEED_REPLY_MASK) &&
        (m->flags & VHOST_USER_VERSION_MASK) == 1) {
        vu_note_error(dev, reason);
        m->size = 0;
        vu_reply_u64(m, 1);
        return send_reply(dev, m);
    }
    vu_fail(dev, "%s", reason);
    return true;
}

/* Offer the message to the device first.  true when the device took it. */
static bool device_takes(VuDev *dev, VhostUserMsg *m, bool *ok)
{
    int do_reply = 0;

    *ok = true;
    if (!dev->iface->process_msg ||
        !dev->iface->process_msg(dev, m, &do_reply)) {
        return false;
    }
    if (do_reply) {
        *ok = send_reply(dev, m);
    } else if (m->flags & VHOST_USER_NEED_REPLY_MASK) {
        /* The device handled it silently: the frontend still gets its ack. */
        m->fd_num = 0;
        vu_reply_u64(m, 0);
        *ok = send_reply(dev, m);
    }
    return true;
}

static bool run_handler(VuDev *dev, VhostUserMsg *m,
                        const struct request_rule *r)
{
    struct vu_msg_ctx ctx = { .msg = m, .reply_fd = -1 };
    bool need_reply = m->flags & VHOST_USER_NEED_REPLY_MASK;

    if (!r->handler) {
        vu_refuse(&ctx, "not handled by the device");
        return refuse(dev, m, r, &ctx);
    }
    if (!r->handler(dev, &ctx)) {
        return refuse(dev, m, r, &ctx);
    }
    vu_msg_close_fds(m); /* whatever the handler did not take */
    if (ctx.reply_fd >= 0) {
        m->fds[0] = ctx.reply_fd;
        m->fd_num = 1;
    }
    if (r->reply == REPLY_ALWAYS) {
        return send_reply(dev, m);
    }
    if (need_reply) {
        vu_reply_u64(m, 0);
        return send_reply(dev, m);
    }
    return true;
}

VuVirtq *vu_msg_queue(VuDev *dev, struct vu_msg_ctx *ctx, uint64_t index)
{
    if (index >= dev->max_queues) {
        vu_refuse(ctx, "queue index %llu is out of range (max_queues %u)",
                  (unsigned long long)index, dev->max_queues);
        return NULL;
    }
    return &dev->vq[index];
}

VU_EXPORT bool vu_dispatch(VuDev *dev)
{
    VhostUserMsg msg;
    struct vu_msg_ctx ctx = { .msg = &msg, .reply_fd = -1 };
    const struct request_rule *r;
    bool ok;

    if (!dev || !dev->regions) {
        return false;
    }
    memset(&msg, 0, sizeof(msg));
    if (!dev->read_msg(dev, dev->sock, &msg)) {
        return false;
    }
    vu_record_msg(dev, &msg);
    r = rule_for((uint32_t)msg.request);
    if (!check_header(&msg, &ctx) || (r && !check_row(dev, r, &msg, &ctx))) {
        return refuse(dev, &msg, r, &ctx);
    }
    if (device_takes(dev, &msg, &ok)) {
        return ok;
    }
    if (!r) {
        vu_refuse(&ctx, "unknown request");
        return refuse(dev, &msg, r, &ctx);
    }
    return run_handler(dev, &msg, r);
}
