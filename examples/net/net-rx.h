/*
 * net-rx.h: putting frames into a port's rx queues.
 *
 * Rx buffers are taken from the guest in batches (vu_queue_pop_batch) into
 * a cache per queue pair, filled one frame after another, and handed back
 * in one vu_queue_push_batch when the burst ends (net_rx_commit): the used
 * index, which the guest's driver polls, moves once per burst, not once
 * per frame.  Buffers taken but not filled go back to the avail ring.
 */
#ifndef EXAMPLES_NET_RX_H
#define EXAMPLES_NET_RX_H

#include <stddef.h>
#include <sys/uio.h>

#include "libvhost-user.h"

/* Most rx buffers one frame may fill with MRG_RXBUF. */
#define NET_RX_MAX_BUFS 64
/* Buffers one cache holds, and how many it takes from the ring at once. */
#define NET_RX_CACHE (2 * NET_RX_MAX_BUFS)
#define NET_RX_CHUNK 32
/* Room for the iovecs of a full chunk and of one full chain after it. */
#define NET_RX_IOVS (2 * VIRTQUEUE_MAX_SIZE)

/* The rx buffers of one queue pair taken in the current burst:
 * elem[0..taken) hold frames, elem[taken..count) are still empty. */
struct net_rx_cache {
    unsigned int count, taken, iov_used;
    unsigned int len[NET_RX_CACHE];
    VuVirtqElement elem[NET_RX_CACHE];
    struct iovec iov[NET_RX_IOVS];
};

struct net_port;

/* Copy the frame (frame_len bytes described by frame/cnt, no virtio-net
 * header) behind a fresh header into rx buffers of pair qp (pair 0 if that
 * one is not running).  The frame goes in whole or not at all.  The guest
 * sees it at the next net_rx_commit.  0 on delivery, -1 on drop. */
int net_rx_deliver(struct net_port *port, unsigned int qp,
                   const struct iovec *frame, unsigned int cnt,
                   size_t frame_len);

/* End of a burst: publish the filled buffers of every queue pair of port,
 * give the empty ones back, mark the rx queues to notify. */
void net_rx_commit(struct net_port *port);

/* Forget every cached buffer without touching the rings (the connection
 * is gone). */
void net_rx_forget(struct net_port *port);

#endif /* EXAMPLES_NET_RX_H */
