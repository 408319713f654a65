/*
 * net-rx.c: rx queue filling, with merged rx buffers.
 */
#include "net-rx.h"

#include <endian.h>
#include <stdlib.h>

#include "iov.h"

struct rx_batch {
    VuVirtqElement *elem[NET_RX_MAX_BUFS];
    unsigned int len[NET_RX_MAX_BUFS];
    unsigned int n;
};

static bool queue_running(VuDev *dev, VuVirtq *vq)
{
    return vu_queue_enabled(dev, vq) && vu_queue_started(dev, vq);
}

/* The rx queue of pair qp, or of pair 0 when that one is not running. */
static VuVirtq *pick_rx_queue(struct net_port *port, unsigned int *qp)
{
    VuDev *dev = &port->session.dev;
    VuVirtq *vq;

    if (!vu_session_live(&port->session)) {
        return NULL;
    }
    if (2 * *qp < dev->max_queues) {
        vq = vu_get_queue(dev, (int)(2 * *qp));
        if (queue_running(dev, vq)) {
            return vq;
        }
    }
    *qp = 0;
    vq = vu_get_queue(dev, 0);
    return queue_running(dev, vq) ? vq : NULL;
}

/* Write bytes [pos, pos + chunk) of "header then frame" into one buffer. */
static size_t fill_buffer(const VuVirtqElement *e, size_t pos, size_t chunk,
                          const void *hdr, size_t hdr_len,
                          const struct iovec *frame, unsigned int cnt)
{
    size_t h = 0;

    if (pos < hdr_len) {
        h = hdr_len - pos < chunk ? hdr_len - pos : chunk;
        iov_from_buf(e->in_sg, e->in_num, 0, (const char *)hdr + pos, h);
    }
    return h + iov_copy(e->in_sg, e->in_num, h, frame, cnt, pos + h - hdr_len,
                        chunk - h);
}

static void release(struct rx_batch *b)
{
    unsigned int i;

    for (i = 0; i < b->n; i++) {
        free(b->elem[i]);
    }
    b->n = 0;
}

/* Pop buffers and copy into them until the frame is in.  false: the
 * queue ran dry (or a buffer was unusable) before that. */
static bool gather_buffers(struct net_port *port, VuVirtq *vq,
                           struct rx_batch *b, const struct iovec *frame,
                           unsigned int cnt, size_t total)
{
    static const struct virtio_net_hdr_mrg_rxbuf zero_hdr;
    unsigned int max = port->mrg_rxbuf ? NET_RX_MAX_BUFS : 1;
    VuDev *dev = &port->session.dev;
    VuVirtqElement *e;
    size_t pos = 0, room, chunk;

    while (pos < total) {
        if (b->n == max) {
            return false;
        }
        e = vu_queue_pop(dev, vq, sizeof(*e));
        if (!e) {
            return false;
        }
        b->elem[b->n++] = e;
        room = iov_size(e->in_sg, e->in_num);
        /* Every rx buffer must at least hold a header (virtio spec). */
        if (room < port->hdr_len) {
            return false;
        }
        chunk = room < total - pos ? room : total - pos;
        b->len[b->n - 1] = (unsigned int)fill_buffer(e, pos, chunk, &zero_hdr,
                                                     port->hdr_len, frame, cnt);
        pos += chunk;
    }
    return true;
}

int net_rx_deliver(struct net_port *port, unsigned int qp,
                   const struct iovec *frame, unsigned int cnt,
                   size_t frame_len)
{
    VuVirtq *vq = pick_rx_queue(port, &qp);
    VuDev *dev = &port->session.dev;
    struct rx_batch b;
    uint16_t num_buffers;
    unsigned int i;

    if (!vq) {
        return -1;
    }
    b.n = 0;
    if (!gather_buffers(port, vq, &b, frame, cnt, port->hdr_len + frame_len) ||
        b.n == 0) {
        vu_queue_rewind(dev, vq, b.n); /* the guest keeps its buffers */
        release(&b);
        return -1;
    }
    if (port->hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)) {
        num_buffers = htole16((uint16_t)b.n);
        iov_from_buf(b.elem[0]->in_sg, b.elem[0]->in_num,
                     offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
                     &num_buffers, sizeof(num_buffers));
    }
    for (i = 0; i < b.n; i++) {
        vu_queue_fill(dev, vq, b.elem[i], b.len[i], i);
    }
    vu_queue_flush(dev, vq, b.n);
    release(&b);
    port->rx_to_notify |= 1u << qp;
    port->sw->notify_ports |= 1ULL << port->index;
    return 0;
}
