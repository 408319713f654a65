/*
 * blk-device.c: vhost-user-blk callbacks: features, config space, queue
 * start/stop and the kick handler.
 */
#include "blk-device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk-config.h"
#include "blk-request.h"
#include "queue-poll.h"

static struct blk_device *blk_from_dev(VuDev *dev)
{
    return vu_session_from_dev(dev)->owner;
}

static uint64_t blk_get_features(VuDev *dev)
{
    return blk_features(&blk_from_dev(dev)->store);
}

static uint64_t blk_get_protocol_features(VuDev *dev)
{
    (void)dev;
    return blk_protocol_features();
}

static int blk_get_config(VuDev *dev, uint8_t *config, uint32_t len)
{
    return blk_config_read(&blk_from_dev(dev)->config, config, len);
}

static int blk_set_config(VuDev *dev, const uint8_t *data, uint32_t offset,
                          uint32_t size, uint32_t flags)
{
    struct blk_device *blk = blk_from_dev(dev);

    (void)flags; /* both frontend writes and migration carry the same byte */
    return blk_config_write(&blk->config, &blk->store, data, offset, size);
}

/* Only observes: VU_EXAMPLE_TRACE=1 logs every message. */
static int blk_process_msg(VuDev *dev, VhostUserMsg *msg, int *do_reply)
{
    (void)do_reply;
    vu_session_trace_msg(dev, msg);
    return 0;
}

/* Requests handled per turn: a guest that keeps its queue full must not
 * keep the other queues, the control socket and signals waiting. */
#define BLK_BUDGET 64

/* Pop, run and complete up to max requests (each one synchronously). */
static unsigned int blk_drain(struct blk_device *blk, VuDev *dev, VuVirtq *vq,
                              unsigned int max)
{
    VuVirtqElement *elem;
    unsigned int n = 0;
    uint32_t len;

    while (n < max && (elem = vu_queue_pop(dev, vq, sizeof(*elem)))) {
        len = blk_request_process(&blk->store, blk->id, elem);
        vu_queue_push(dev, vq, elem, len);
        free(elem);
        n++;
    }
    if (n) {
        vu_queue_notify(dev, vq);
    }
    return n;
}

/* A kick: drain the queue, then poll it for a while (see queue-poll.h). */
static void blk_handle_kick(VuDev *dev, int qidx)
{
    struct blk_device *blk = blk_from_dev(dev);
    VuVirtq *vq = vu_get_queue(dev, qidx);
    struct queue_poller poller;
    unsigned int done = 0, n;

    queue_poller_start(&poller, blk->poll_ns);
    while (done < BLK_BUDGET) {
        n = blk_drain(blk, dev, vq, BLK_BUDGET - done);
        done += n;
        if (n) {
            queue_poller_start(&poller, blk->poll_ns);
        } else if (!vu_session_live(&blk->session) ||
                   !queue_poller_again(&poller)) {
            return;
        }
    }
    vu_session_yield(&blk->session, qidx, blk_handle_kick);
}

static void blk_queue_set_started(VuDev *dev, int qidx, bool started)
{
    VuVirtq *vq = vu_get_queue(dev, qidx);

    vu_set_queue_handler(dev, vq, started ? blk_handle_kick : NULL);
}

/* Requests complete in order, so a reconnecting backend may resume from
 * the used index. */
static bool blk_in_order(VuDev *dev, int qidx)
{
    (void)dev;
    (void)qidx;
    return true;
}

static const VuDevIface blk_iface = {
    .get_features = blk_get_features,
    .get_protocol_features = blk_get_protocol_features,
    .process_msg = blk_process_msg,
    .queue_set_started = blk_queue_set_started,
    .queue_is_processed_in_order = blk_in_order,
    .get_config = blk_get_config,
    .set_config = blk_set_config,
};

static void blk_connected(struct vu_session *s)
{
    struct blk_device *blk = s->owner;

    /* A new frontend starts from the default cache mode. */
    blk->store.writeback = true;
    blk_config_build(&blk->config, &blk->store, blk->num_queues);
    fprintf(stderr, "vhost-user-blk: frontend connected\n");
}

static void blk_disconnected(struct vu_session *s)
{
    struct blk_device *blk = s->owner;

    blk_store_flush(&blk->store);
    fprintf(stderr, "vhost-user-blk: frontend disconnected\n");
}

static const struct vu_session_ops blk_session_ops = {
    .connected = blk_connected,
    .disconnected = blk_disconnected,
};

int blk_device_init(struct blk_device *blk, struct ev_loop *loop,
                    uint16_t num_queues, const char *serial, uint64_t poll_ns)
{
    size_t n = strlen(serial);

    if (vu_session_init(&blk->session, loop, "vhost-user-blk", num_queues,
                        &blk_iface, &blk_session_ops, blk) < 0) {
        return -1;
    }
    blk->num_queues = num_queues;
    blk->poll_ns = poll_ns;
    /* GET_ID answers at most 20 bytes, NUL padded, not NUL terminated. */
    memset(blk->id, 0, sizeof(blk->id));
    memcpy(blk->id, serial, n < sizeof(blk->id) ? n : sizeof(blk->id));
    blk_config_build(&blk->config, &blk->store, num_queues);
    return 0;
}
