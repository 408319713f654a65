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

static void release(struct rx_batch *b)
{
    unsigned int i;

    for (i = 0; i < b->n; i++) {
        free(b->elem[i]);
    }
    b->n = 0;
}

/* Pop buffers and copy the frame into them; the header goes in front of
 * it in the first buffer, written once the buffer count is known.  false:
 * the queue ran dry (or a buffer was unusable) before the frame was in. */
static bool gather_buffers(struct net_port *port, VuVirtq *vq,
                           struct rx_batch *b, const struct iovec *frame,
                           unsigned int cnt, size_t frame_len)
{
    unsigned int max = port->mrg_rxbuf ? NET_RX_MAX_BUFS : 1;
    VuDev *dev = &port->session.dev;
    size_t done = 0, room, skip;
    VuVirtqElement *e;

    do {
        if (b->n == max) {
            return false;
        }
        e = vu_queue_pop(dev, vq, sizeof(*e));
        if (!e) {
            return false;
        }
        b->elem[b->n++] = e;
        room = iov_size(e->in_sg, e->in_num);
        /* Every rx buffer holds at least a header (virtio spec), so the
         * header always fits in the first one. */
        if (room < port->hdr_len) {
            return false;
        }
        skip = b->n == 1 ? port->hdr_len : 0;
        room = room - skip < frame_len - done ? room - skip : frame_len - done;
        iov_copy(e->in_sg, e->in_num, skip, frame, cnt, done, room);
        b->len[b->n - 1] = (unsigned int)(skip + room);
        done += room;
    } while (done < frame_len);
    return true;
}

static void write_header(struct net_port *port, const struct rx_batch *b)
{
    struct virtio_net_hdr_mrg_rxbuf hdr = { .num_buffers = htole16(b->n) };

    /* No offloads are offered: all fields but num_buffers are zero. */
    iov_from_buf(b->elem[0]->in_sg, b->elem[0]->in_num, 0, &hdr, port->hdr_len);
}

int net_rx_deliver(struct net_port *port, unsigned int qp,
                   const struct iovec *frame, unsigned int cnt,
                   size_t frame_len)
{
    VuVirtq *vq = pick_rx_queue(port, &qp);
    VuDev *dev = &port->session.dev;
    struct rx_batch b;
    unsigned int i;

    if (!vq) {
        return -1;
    }
    b.n = 0;
    if (!gather_buffers(port, vq, &b, frame, cnt, frame_len) || b.n == 0) {
        vu_queue_rewind(dev, vq, b.n); /* the guest keeps its buffers */
        release(&b);
        return -1;
    }
    write_header(port, &b);
    for (i = 0; i < b.n; i++) {
        vu_queue_fill(dev, vq, b.elem[i], b.len[i], i);
    }
    vu_queue_flush(dev, vq, b.n);
    release(&b);
    port->rx_to_notify |= 1u << qp;
    port->sw->notify_ports |= 1ULL << port->index;
    return 0;
}
