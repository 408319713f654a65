/*
 * net-rx.c: rx queue filling, with merged rx buffers, in batches.
 */
#include "net-rx.h"

#include <endian.h>
#include <linux/virtio_net.h>
#include <stdlib.h>

#include "iov.h"
#include "net-port.h"
#include "vhost-user-ext.h"

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

static void reset_cache(struct net_rx_cache *rc)
{
    rc->count = rc->taken = rc->iov_used = 0;
}

/* Publish what the cache of pair qp holds and start it afresh. */
static void commit_pair(struct net_port *port, unsigned int qp)
{
    struct net_rx_cache *rc = &port->rx[qp];
    VuDev *dev = &port->session.dev;
    VuVirtq *vq = vu_get_queue(dev, (int)(2 * qp));

    if (vu_session_live(&port->session)) {
        if (rc->taken) {
            vu_queue_push_batch(dev, vq, rc->elem, rc->len, rc->taken);
            port->rx_to_notify |= 1u << qp;
            port->sw->notify_ports |= 1ULL << port->index;
        }
        if (rc->count > rc->taken) {
            /* Taken last, so they are the ones rewind gives back. */
            vu_queue_rewind(dev, vq, rc->count - rc->taken);
        }
    }
    reset_cache(rc);
    port->rx_pending &= ~(1u << qp);
}

void net_rx_commit(struct net_port *port)
{
    uint32_t pairs = port->rx_pending;

    while (pairs) {
        unsigned int qp = (unsigned int)__builtin_ctz(pairs);

        pairs &= pairs - 1;
        commit_pair(port, qp);
    }
    port->sw->rx_pending_ports &= ~(1ULL << port->index);
}

void net_rx_forget(struct net_port *port)
{
    for (unsigned int qp = 0; qp < port->sw->queue_pairs; qp++) {
        reset_cache(&port->rx[qp]);
    }
    port->rx_pending = 0;
    port->sw->rx_pending_ports &= ~(1ULL << port->index);
}

/* The next empty buffer of the cache, taking more from the ring when it is
 * used up.  NULL when the ring (or the cache) has no more. */
static VuVirtqElement *next_buffer(struct net_port *port, VuVirtq *vq,
                                   unsigned int qp)
{
    struct net_rx_cache *rc = &port->rx[qp];
    unsigned int n, max = NET_RX_CACHE - rc->count;

    if (rc->taken == rc->count) {
        if (max > NET_RX_CHUNK) {
            max = NET_RX_CHUNK;
        }
        if (max == 0 || NET_RX_IOVS - rc->iov_used < VIRTQUEUE_MAX_SIZE) {
            return NULL;
        }
        n = vu_queue_pop_batch(&port->session.dev, vq, rc->elem + rc->count,
                               max, rc->iov + rc->iov_used,
                               NET_RX_IOVS - rc->iov_used);
        if (n == 0) {
            return NULL;
        }
        for (unsigned int i = rc->count; i < rc->count + n; i++) {
            rc->iov_used += rc->elem[i].out_num + rc->elem[i].in_num;
        }
        rc->count += n;
        port->rx_pending |= 1u << qp;
        port->sw->rx_pending_ports |= 1ULL << port->index;
    }
    return &rc->elem[rc->taken++];
}

/* Copy the frame into buffers from the cache; the header goes in front of
 * it in the first buffer, written once the buffer count is known.  false:
 * no more buffers (or one was unusable) before the frame was in. */
static bool gather_buffers(struct net_port *port, VuVirtq *vq, unsigned int qp,
                           const struct iovec *frame, unsigned int cnt,
                           size_t frame_len)
{
    unsigned int max = port->mrg_rxbuf ? NET_RX_MAX_BUFS : 1;
    struct net_rx_cache *rc = &port->rx[qp];
    unsigned int first = rc->taken, used = 0;
    size_t done = 0, room, skip;
    VuVirtqElement *e;

    do {
        if (used == max) {
            return false;
        }
        e = next_buffer(port, vq, qp);
        if (!e) {
            return false;
        }
        used++;
        room = iov_size(e->in_sg, e->in_num);
        /* Every rx buffer holds at least a header (virtio spec), so the
         * header always fits in the first one. */
        if (room < port->hdr_len) {
            return false;
        }
        skip = used == 1 ? port->hdr_len : 0;
        room = room - skip < frame_len - done ? room - skip : frame_len - done;
        iov_copy(e->in_sg, e->in_num, skip, frame, cnt, done, room);
        rc->len[first + used - 1] = (unsigned int)(skip + room);
        done += room;
    } while (done < frame_len);
    return true;
}

static void write_header(struct net_port *port, const VuVirtqElement *first,
                         unsigned int nbufs)
{
    struct virtio_net_hdr_mrg_rxbuf hdr = { .num_buffers = htole16(nbufs) };

    /* No offloads are offered: all fields but num_buffers are zero. */
    iov_from_buf(first->in_sg, first->in_num, 0, &hdr, port->hdr_len);
}

/* --single-api: one vu_queue_pop (one allocation) per buffer and one used
 * index update per frame, for comparison with the batch path. */
static int deliver_single(struct net_port *port, VuVirtq *vq, unsigned int qp,
                          const struct iovec *frame, unsigned int cnt,
                          size_t frame_len)
{
    unsigned int max = port->mrg_rxbuf ? NET_RX_MAX_BUFS : 1, n = 0, i;
    VuVirtqElement *elem[NET_RX_MAX_BUFS];
    unsigned int len[NET_RX_MAX_BUFS];
    VuDev *dev = &port->session.dev;
    size_t done = 0, room, skip;
    bool ok = false;

    while (n < max) {
        elem[n] = vu_queue_pop(dev, vq, sizeof(*elem[n]));
        if (!elem[n]) {
            break;
        }
        room = iov_size(elem[n]->in_sg, elem[n]->in_num);
        n++;
        if (room < port->hdr_len) {
            break;
        }
        skip = n == 1 ? port->hdr_len : 0;
        room = room - skip < frame_len - done ? room - skip : frame_len - done;
        iov_copy(elem[n - 1]->in_sg, elem[n - 1]->in_num, skip, frame, cnt,
                 done, room);
        len[n - 1] = (unsigned int)(skip + room);
        done += room;
        if (done == frame_len) {
            ok = true;
            break;
        }
    }
    if (ok) {
        write_header(port, elem[0], n);
        for (i = 0; i < n; i++) {
            vu_queue_fill(dev, vq, elem[i], len[i], i);
        }
        vu_queue_flush(dev, vq, n);
        port->rx_to_notify |= 1u << qp;
        port->sw->notify_ports |= 1ULL << port->index;
    } else {
        vu_queue_rewind(dev, vq, n); /* the guest keeps its buffers */
    }
    for (i = 0; i < n; i++) {
        free(elem[i]);
    }
    return ok ? 0 : -1;
}

int net_rx_deliver(struct net_port *port, unsigned int qp,
                   const struct iovec *frame, unsigned int cnt,
                   size_t frame_len)
{
    VuVirtq *vq = pick_rx_queue(port, &qp);
    struct net_rx_cache *rc;
    unsigned int first;

    if (!vq) {
        return -1;
    }
    if (port->sw->single_api) {
        return deliver_single(port, vq, qp, frame, cnt, frame_len);
    }
    rc = &port->rx[qp];
    /* A frame must find room for all its buffers: publish what is filled
     * (a frame boundary, so no header is still to be written). */
    if (rc->taken + NET_RX_MAX_BUFS > NET_RX_CACHE ||
        rc->iov_used + VIRTQUEUE_MAX_SIZE > NET_RX_IOVS) {
        commit_pair(port, qp);
    }
    first = rc->taken;
    if (!gather_buffers(port, vq, qp, frame, cnt, frame_len)) {
        rc->taken = first; /* the buffers stay empty, for the next frame */
        return -1;
    }
    write_header(port, &rc->elem[first], rc->taken - first);
    return 0;
}
