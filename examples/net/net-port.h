/*
 * net-port.h: the switch and its vhost-user ports.
 *
 * Each port is one listening socket and, while a frontend is connected,
 * one VuDev with queue pairs (rx = 2p, tx = 2p + 1).  A kick on a tx queue
 * drains it: every frame goes to the rx queue of the same pair index on
 * the destination ports, then each touched rx queue is notified once.
 */
#ifndef EXAMPLES_NET_PORT_H
#define EXAMPLES_NET_PORT_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net-config.h"
#include "net-rx.h"
#include "net-switch.h"
#include "vu-session.h"

struct net_stats {
    uint64_t tx_frames;  /* frames the frontends sent us */
    uint64_t rx_frames;  /* copies delivered into rx queues */
    uint64_t rx_dropped; /* copies lost: no rx buffers, queue down, ... */
    uint64_t bad_frames; /* malformed tx buffers */
};

struct net_port;

/* Frames taken off a tx queue at once. */
#define NET_TX_BURST 32

struct net_switch {
    struct ev_loop *loop;
    struct net_port *port[NET_MAX_PORTS];
    unsigned int nports;
    uint64_t up;               /* bit n: port n has a frontend */
    uint64_t notify_ports;     /* ports with rx queues to notify */
    uint64_t rx_pending_ports; /* ports holding rx buffers (net-rx.h) */
    bool reflect;              /* send each frame back, MACs swapped */
    bool single_api; /* vu_queue_pop/push per element, not the batch calls */
    uint16_t queue_pairs;
    uint64_t poll_ns; /* busy-poll window of tx queues, 0: none */
    struct net_stats stats;
    struct mac_table macs;
};

struct net_port {
    struct vu_session session;
    struct net_switch *sw;
    unsigned int index;
    size_t hdr_len;          /* virtio-net header size negotiated */
    bool mrg_rxbuf;          /* a frame may span several rx buffers */
    uint32_t rx_to_notify;   /* bit p: rx queue of pair p got frames */
    uint32_t rx_pending;     /* bit p: rx[p] holds buffers of this burst */
    struct net_rx_cache *rx; /* one per queue pair */
    struct virtio_net_config config;
    /* The tx burst being forwarded (one tx queue at a time). */
    VuVirtqElement tx_elem[NET_TX_BURST];
    struct iovec tx_iov[VIRTQUEUE_MAX_SIZE];
};

void net_switch_init(struct net_switch *sw, struct ev_loop *loop,
                     uint16_t queue_pairs, bool reflect, uint64_t poll_ns);

/* Add a port listening on path.  0 or -errno (message printed). */
int net_switch_add_port(struct net_switch *sw, const char *path);

/* Tear down dead connections (from the loop's idle hook). */
void net_switch_reap(struct net_switch *sw);

void net_switch_close(struct net_switch *sw);

/* Notify every rx queue that received frames since the last call. */
void net_switch_flush_notifications(struct net_switch *sw);

#endif /* EXAMPLES_NET_PORT_H */
