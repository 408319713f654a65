/*
 * net-port.c: vhost-user-net callbacks, tx processing and port life cycle.
 */
#include "net-port.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iov.h"
#include "net-rarp.h"
#include "net-rx.h"
#include "queue-poll.h"
#include "vhost-user-ext.h"

#define ETH_HLEN_ 14
#define NET_MAX_FRAME ((size_t)64 * 1024) /* more than any frame without GSO */
#define NET_MAX_FRAME_IOV 64              /* data segments of one tx frame */

static struct net_port *port_from_dev(VuDev *dev)
{
    return vu_session_from_dev(dev)->owner;
}

/* ---- forwarding --------------------------------------------------------- */

static void deliver(struct net_port *dst, unsigned int qp,
                    const struct iovec *frame, unsigned int cnt, size_t len)
{
    struct net_stats *stats = &dst->sw->stats;

    if (net_rx_deliver(dst, qp, frame, cnt, len) == 0) {
        stats->rx_frames++;
    } else {
        stats->rx_dropped++;
    }
}

static void deliver_to_set(struct net_switch *sw, uint64_t ports,
                           unsigned int qp, const struct iovec *frame,
                           unsigned int cnt, size_t len)
{
    unsigned int i;

    while (ports) {
        i = (unsigned int)__builtin_ctzll(ports);
        ports &= ports - 1;
        deliver(sw->port[i], qp, frame, cnt, len);
    }
}

/* --reflect: back to the sender with the addresses swapped, so that a
 * traffic generator sees its own frames come back to it. */
static void reflect(struct net_port *src, unsigned int qp,
                    const VuVirtqElement *elem, size_t len)
{
    struct iovec frame[1 + NET_MAX_FRAME_IOV];
    uint8_t swapped[2 * ETH_ALEN_], eth[2 * ETH_ALEN_];
    int cnt;

    iov_to_buf(elem->out_sg, elem->out_num, src->hdr_len, eth, sizeof(eth));
    memcpy(swapped, eth + ETH_ALEN_, ETH_ALEN_);
    memcpy(swapped + ETH_ALEN_, eth, ETH_ALEN_);
    frame[0] = (struct iovec){ swapped, sizeof(swapped) };
    cnt = iov_slice(elem->out_sg, elem->out_num, src->hdr_len + sizeof(eth),
                    len - sizeof(eth), frame + 1, NET_MAX_FRAME_IOV);
    if (cnt < 0) {
        src->sw->stats.bad_frames++;
        return;
    }
    deliver(src, qp, frame, (unsigned int)cnt + 1, len);
}

static void switch_frame(struct net_port *src, unsigned int qp,
                         const VuVirtqElement *elem, size_t len)
{
    struct net_switch *sw = src->sw;
    struct iovec frame[NET_MAX_FRAME_IOV];
    uint8_t eth[2 * ETH_ALEN_];
    uint64_t ports;
    int cnt;

    cnt = iov_slice(elem->out_sg, elem->out_num, src->hdr_len, len, frame,
                    NET_MAX_FRAME_IOV);
    if (cnt < 0) {
        sw->stats.bad_frames++;
        return;
    }
    iov_to_buf(frame, (unsigned int)cnt, 0, eth, sizeof(eth));
    ports =
        net_switch_route(&sw->macs, sw->up, src->index, eth, eth + ETH_ALEN_);
    deliver_to_set(sw, ports, qp, frame, (unsigned int)cnt, len);
}

static void forward(struct net_port *src, unsigned int qp,
                    const VuVirtqElement *elem)
{
    size_t total = iov_size(elem->out_sg, elem->out_num);
    size_t len = total - src->hdr_len;

    src->sw->stats.tx_frames++;
    if (total < src->hdr_len + ETH_HLEN_ || len > NET_MAX_FRAME) {
        src->sw->stats.bad_frames++;
        return;
    }
    if (src->sw->reflect) {
        reflect(src, qp, elem, len);
    } else {
        switch_frame(src, qp, elem, len);
    }
}

void net_switch_flush_notifications(struct net_switch *sw)
{
    struct net_port *port;
    unsigned int i, qp;
    uint32_t pairs;

    while (sw->rx_pending_ports) {
        i = (unsigned int)__builtin_ctzll(sw->rx_pending_ports);
        net_rx_commit(sw->port[i]); /* clears bit i */
    }
    while (sw->notify_ports) {
        i = (unsigned int)__builtin_ctzll(sw->notify_ports);
        sw->notify_ports &= sw->notify_ports - 1;
        port = sw->port[i];
        pairs = port->rx_to_notify;
        port->rx_to_notify = 0;
        while (pairs && vu_session_live(&port->session)) {
            qp = (unsigned int)__builtin_ctz(pairs);
            pairs &= pairs - 1;
            vu_queue_notify(&port->session.dev,
                            vu_get_queue(&port->session.dev, (int)(2 * qp)));
        }
    }
}

/* Frames taken per turn: one busy sender must not starve the other ports,
 * the control sockets and signals. */
#define TX_BUDGET 256

/* --single-api: one vu_queue_pop / vu_queue_push per frame. */
static unsigned int tx_drain_single(struct net_port *port, VuDev *dev, int qidx,
                                    unsigned int max)
{
    VuVirtq *vq = vu_get_queue(dev, qidx);
    VuVirtqElement *elem;
    unsigned int n = 0;

    while (n < max && (elem = vu_queue_pop(dev, vq, sizeof(*elem)))) {
        forward(port, (unsigned int)qidx / 2, elem);
        vu_queue_push(dev, vq, elem, 0);
        free(elem);
        n++;
    }
    if (n) {
        vu_queue_notify(dev, vq);
        net_switch_flush_notifications(port->sw);
    }
    return n;
}

/* Forward up to max frames (one burst), give the tx buffers back, then
 * publish the rx side and signal every queue touched. */
static unsigned int tx_drain(struct net_port *port, VuDev *dev, int qidx,
                             unsigned int max)
{
    VuVirtq *vq = vu_get_queue(dev, qidx);
    unsigned int i, n;

    if (port->sw->single_api) {
        return tx_drain_single(port, dev, qidx, max);
    }

    n = vu_queue_pop_batch(dev, vq, port->tx_elem,
                           max < NET_TX_BURST ? max : NET_TX_BURST,
                           port->tx_iov, VIRTQUEUE_MAX_SIZE);
    for (i = 0; i < n; i++) {
        forward(port, (unsigned int)qidx / 2, &port->tx_elem[i]);
    }
    if (n) {
        vu_queue_push_batch(dev, vq, port->tx_elem, NULL, n);
        vu_queue_notify(dev, vq);
        net_switch_flush_notifications(port->sw);
    }
    return n;
}

/* A tx kick: drain the queue, then poll it for a while (queue-poll.h). */
static void handle_tx(VuDev *dev, int qidx)
{
    struct net_port *port = port_from_dev(dev);
    struct queue_poller poller;
    unsigned int done = 0, n;

    queue_poller_start(&poller, port->sw->poll_ns);
    while (done < TX_BUDGET) {
        n = tx_drain(port, dev, qidx, TX_BUDGET - done);
        done += n;
        if (n) {
            queue_poller_start(&poller, port->sw->poll_ns);
        } else if (!vu_session_live(&port->session) ||
                   !queue_poller_again(&poller)) {
            return;
        }
    }
    vu_session_yield(&port->session, qidx, handle_tx);
}

/* ---- SEND_RARP ---------------------------------------------------------- */

/* The frontend asks us to announce the guest's MAC after a migration.  The
 * RARP goes out as if the guest had sent it: the switch learns where the
 * MAC lives and every other port hears it (in --reflect mode, "every
 * other port" is the sender itself). */
static void announce(struct net_port *port, const uint8_t mac[ETH_ALEN_])
{
    struct net_switch *sw = port->sw;
    uint8_t frame[RARP_FRAME_LEN];
    struct iovec iov;
    uint64_t ports;

    iov.iov_base = frame;
    iov.iov_len = net_rarp_build(frame, mac);
    if (sw->reflect) {
        ports = 1ULL << port->index;
    } else {
        ports = net_switch_route(&sw->macs, sw->up, port->index, frame, mac);
    }
    deliver_to_set(sw, ports, 0, &iov, 1, iov.iov_len);
    net_switch_flush_notifications(sw);
}

static int net_process_msg(VuDev *dev, VhostUserMsg *msg, int *do_reply)
{
    uint8_t mac[ETH_ALEN_];

    vu_session_trace_msg(dev, msg);
    /* Anything malformed is left to the library, which rejects it. */
    if (msg->request != VHOST_USER_SEND_RARP || msg->size != sizeof(uint64_t) ||
        msg->fd_num != 0) {
        return 0;
    }
    memcpy(mac, &msg->payload.u64, sizeof(mac)); /* first 6 bytes */
    announce(port_from_dev(dev), mac);
    *do_reply = 0; /* the library still acks if NEED_REPLY asked for it */
    return 1;
}

/* ---- the rest of the device interface ----------------------------------- */

static uint64_t net_get_features(VuDev *dev)
{
    return net_features(port_from_dev(dev)->sw->queue_pairs);
}

static void net_set_features(VuDev *dev, uint64_t features)
{
    struct net_port *port = port_from_dev(dev);

    port->hdr_len = net_header_len(features);
    port->mrg_rxbuf = features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
}

static uint64_t net_get_protocol_features(VuDev *dev)
{
    (void)dev;
    return net_protocol_features();
}

static int net_get_config(VuDev *dev, uint8_t *config, uint32_t len)
{
    return net_config_read(&port_from_dev(dev)->config, config, len);
}

static int net_set_config(VuDev *dev, const uint8_t *data, uint32_t offset,
                          uint32_t size, uint32_t flags)
{
    (void)dev;
    (void)data;
    (void)offset;
    (void)size;
    (void)flags;
    return -1; /* nothing in virtio-net config space is driver-writable */
}

/* Only tx queues need kicks: rx buffers are taken when frames arrive. */
static void net_queue_set_started(VuDev *dev, int qidx, bool started)
{
    if (qidx % 2 == 1) {
        vu_set_queue_handler(dev, vu_get_queue(dev, qidx),
                             started ? handle_tx : NULL);
    }
}

/* Buffers complete in the order they were taken. */
static bool net_in_order(VuDev *dev, int qidx)
{
    (void)dev;
    (void)qidx;
    return true;
}

static const VuDevIface net_iface = {
    .get_features = net_get_features,
    .set_features = net_set_features,
    .get_protocol_features = net_get_protocol_features,
    .process_msg = net_process_msg,
    .queue_set_started = net_queue_set_started,
    .queue_is_processed_in_order = net_in_order,
    .get_config = net_get_config,
    .set_config = net_set_config,
};

/* ---- port life cycle ---------------------------------------------------- */

static void port_connected(struct vu_session *s)
{
    struct net_port *port = s->owner;

    port->hdr_len = net_header_len(0);
    port->mrg_rxbuf = false;
    port->rx_to_notify = 0;
    port->sw->up |= 1ULL << port->index;
    fprintf(stderr, "vhost-user-net: port %u: frontend connected\n",
            port->index);
}

static void port_disconnected(struct vu_session *s)
{
    struct net_port *port = s->owner;
    struct net_switch *sw = port->sw;

    sw->up &= ~(1ULL << port->index);
    sw->notify_ports &= ~(1ULL << port->index);
    port->rx_to_notify = 0;
    net_rx_forget(port);
    mac_table_forget_port(&sw->macs, port->index);
    fprintf(stderr, "vhost-user-net: port %u: frontend disconnected\n",
            port->index);
}

static const struct vu_session_ops port_ops = {
    .connected = port_connected,
    .disconnected = port_disconnected,
};

void net_switch_init(struct net_switch *sw, struct ev_loop *loop,
                     uint16_t queue_pairs, bool reflect, uint64_t poll_ns)
{
    memset(sw, 0, sizeof(*sw));
    sw->poll_ns = poll_ns;
    sw->loop = loop;
    sw->queue_pairs = queue_pairs;
    sw->reflect = reflect;
    mac_table_init(&sw->macs);
}

int net_switch_add_port(struct net_switch *sw, const char *path)
{
    struct net_port *port;
    int rc;

    if (sw->nports >= NET_MAX_PORTS) {
        fprintf(stderr, "vhost-user-net: at most %d ports\n", NET_MAX_PORTS);
        return -1;
    }
    port = calloc(1, sizeof(*port));
    if (!port) {
        return -1;
    }
    port->rx = calloc(sw->queue_pairs, sizeof(*port->rx));
    if (!port->rx) {
        free(port);
        return -1;
    }
    port->sw = sw;
    port->index = sw->nports;
    net_config_build(&port->config, port->index, sw->queue_pairs);
    rc = vu_session_init(&port->session, sw->loop, "vhost-user-net",
                         (uint16_t)(2 * sw->queue_pairs), &net_iface, &port_ops,
                         port);
    if (rc == 0) {
        rc = vu_session_listen_path(&port->session, path);
    }
    if (rc < 0) {
        vu_session_close(&port->session);
        free(port->rx);
        free(port);
        return rc;
    }
    sw->port[sw->nports++] = port;
    return 0;
}

void net_switch_reap(struct net_switch *sw)
{
    unsigned int i;

    for (i = 0; i < sw->nports; i++) {
        vu_session_reap(&sw->port[i]->session);
    }
}

void net_switch_close(struct net_switch *sw)
{
    unsigned int i;

    for (i = 0; i < sw->nports; i++) {
        vu_session_close(&sw->port[i]->session);
        free(sw->port[i]->rx);
        free(sw->port[i]);
        sw->port[i] = NULL;
    }
    sw->nports = 0;
}
