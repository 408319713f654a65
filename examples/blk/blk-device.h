/*
 * blk-device.h: the vhost-user-blk device: libvhost-user callbacks and the
 * request queues.
 */
#ifndef EXAMPLES_BLK_DEVICE_H
#define EXAMPLES_BLK_DEVICE_H

#include <linux/virtio_blk.h>

#include "blk-store.h"
#include "vu-session.h"

struct blk_device {
    struct vu_session session;
    struct blk_store store;
    struct virtio_blk_config config;
    uint16_t num_queues;
    uint64_t poll_ns; /* busy-poll window after work (queue-poll.h), 0: none */
    char id[VIRTIO_BLK_ID_BYTES]; /* serial number answered to GET_ID */
};

/* The store must be open.  The session is set up but not yet listening.
 * 0, or -1 when out of memory. */
int blk_device_init(struct blk_device *blk, struct ev_loop *loop,
                    uint16_t num_queues, const char *serial, uint64_t poll_ns);

#endif /* EXAMPLES_BLK_DEVICE_H */
