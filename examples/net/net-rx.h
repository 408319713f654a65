/*
 * net-rx.h: putting one frame into a port's rx queue.
 */
#ifndef EXAMPLES_NET_RX_H
#define EXAMPLES_NET_RX_H

#include <stddef.h>
#include <sys/uio.h>

#include "net-port.h"

/* Most rx buffers one frame may fill with MRG_RXBUF. */
#define NET_RX_MAX_BUFS 64

/* Copy the frame (frame_len bytes described by frame/cnt, no virtio-net
 * header) behind a fresh header into the rx queue of pair qp (pair 0 if
 * that one is not running).  Buffers are taken only if the whole frame
 * fits; otherwise they are given back and the frame is dropped.
 * 0 on delivery, -1 on drop. */
int net_rx_deliver(struct net_port *port, unsigned int qp,
                   const struct iovec *frame, unsigned int cnt,
                   size_t frame_len);

#endif /* EXAMPLES_NET_RX_H */
