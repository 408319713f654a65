/*
 * The split virtqueue API on well-formed rings: what each function returns,
 * what it writes into the rings, and when it signals the guest.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static VuVirtqElement *pop(struct fake_guest *g, unsigned q)
{
    return vu_queue_pop(&g->dev, fg_vq(g, q), sizeof(VuVirtqElement));
}

struct my_req {
    VuVirtqElement elem;
    char tag[40];
};

static void test_pop_push_simple_chain(void)
{
    struct fake_guest g;
    struct my_req *req;
    uint32_t id, len;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 3, 1, 2, 100);
    req = vu_queue_pop(&g.dev, fg_vq(&g, 0), sizeof(*req));
    EXPECT_NOT_NULL(req);
    fg_expect_healthy(&g);
    EXPECT_EQ(req->elem.index, 3);
    EXPECT_EQ(req->elem.out_num, 1);
    EXPECT_EQ(req->elem.in_num, 2);
    /* The device's part of the element starts zeroed. */
    for (size_t i = 0; i < sizeof(req->tag); i++) {
        EXPECT_EQ(req->tag[i], 0);
    }
    EXPECT_TRUE(req->elem.out_sg[0].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 3), 100));
    EXPECT_TRUE(req->elem.in_sg[0].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 4), 100));
    EXPECT_TRUE(req->elem.in_sg[1].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 5), 100));
    EXPECT_EQ(req->elem.out_sg[0].iov_len, 100);
    EXPECT_EQ(req->elem.in_sg[0].iov_len, 100);
    EXPECT_EQ(req->elem.in_sg[1].iov_len, 100);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 1);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 1);

    vu_queue_push(&g.dev, fg_vq(&g, 0), &req->elem, 150);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_used_idx(&g, 0), 1);
    fg_used_elem(&g, 0, 0, &id, &len);
    EXPECT_EQ(id, 3);
    EXPECT_EQ(len, 150);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    free(req);
    fg_destroy(&g);
}

static void test_pop_empty_queue_is_null_not_broken(void)
{
    struct fake_guest g;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    EXPECT_NULL(pop(&g, 0));
    EXPECT_TRUE(vu_queue_empty(&g.dev, fg_vq(&g, 0)));
    fg_expect_healthy(&g);
    fg_post_chain(&g, 0, 0, 1, 0, 8);
    EXPECT_FALSE(vu_queue_empty(&g.dev, fg_vq(&g, 0)));
    fg_destroy(&g);
}

/* A buffer contiguous in guest-physical space but split over two host
 * mappings comes back as two iovecs with the right bytes behind them. */
static void test_buffer_across_regions_gives_two_iovecs(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    uint64_t gpa = FG_REGION_B - 10;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    memcpy(fg_ptr(&g, gpa, 10), "0123456789", 10);
    memcpy(fg_ptr(&g, FG_REGION_B, 6), "abcdef", 6);
    fg_desc(&g, 0, 0, gpa, 16, 0, 0);
    fg_avail_add(&g, 0, 0);
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    EXPECT_EQ(e->out_num, 2);
    EXPECT_EQ(e->in_num, 0);
    EXPECT_EQ(e->out_sg[0].iov_len, 10);
    EXPECT_EQ(e->out_sg[1].iov_len, 6);
    EXPECT_MEMEQ(e->out_sg[0].iov_base, "0123456789", 10);
    EXPECT_MEMEQ(e->out_sg[1].iov_base, "abcdef", 6);
    free(e);
    fg_destroy(&g);
}

static void test_indirect_table_in_one_region(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    uint64_t table, b0, b1, b2;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    fg_setup_queue(&g, 0, 4);
    table = fg_alloc(&g, 3 * 16);
    b0 = fg_alloc(&g, 10);
    b1 = fg_alloc(&g, 20);
    b2 = fg_alloc(&g, 30);
    /* Table order differs from chain order: 0 -> 2 -> 1. */
    fg_table_desc(&g, table, 0, b0, 10, VRING_DESC_F_NEXT, 2);
    fg_table_desc(&g, table, 2, b1, 20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
                  1);
    fg_table_desc(&g, table, 1, b2, 30, VRING_DESC_F_WRITE, 0);
    fg_desc(&g, 0, 2, table, 3 * 16, VRING_DESC_F_INDIRECT, 0);
    fg_avail_add(&g, 0, 2);
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    fg_expect_healthy(&g);
    EXPECT_EQ(e->index, 2);
    EXPECT_EQ(e->out_num, 1);
    EXPECT_EQ(e->in_num, 2);
    EXPECT_TRUE(e->out_sg[0].iov_base == fg_lib_ptr(&g, b0, 10));
    EXPECT_TRUE(e->in_sg[0].iov_base == fg_lib_ptr(&g, b1, 20));
    EXPECT_TRUE(e->in_sg[1].iov_base == fg_lib_ptr(&g, b2, 30));
    EXPECT_EQ(e->in_sg[1].iov_len, 30);
    free(e);
    fg_destroy(&g);
}

/* Pushes in any order, batched with fill(idx) + flush(n). */
static void test_fill_flush_batch(void)
{
    struct fake_guest g;
    VuVirtqElement *e[3];
    uint32_t id, len;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, 2 * i, 1, 1, 64);
        e[i] = pop(&g, 0);
        EXPECT_NOT_NULL(e[i]);
    }
    vu_queue_fill(&g.dev, fg_vq(&g, 0), e[2], 7, 0);
    vu_queue_fill(&g.dev, fg_vq(&g, 0), e[0], 8, 1);
    EXPECT_EQ(fg_used_idx(&g, 0), 0); /* nothing published before flush */
    vu_queue_fill(&g.dev, fg_vq(&g, 0), e[1], 9, 2);
    vu_queue_flush(&g.dev, fg_vq(&g, 0), 3);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_used_idx(&g, 0), 3);
    fg_used_elem(&g, 0, 0, &id, &len);
    EXPECT_EQ(id, 4);
    EXPECT_EQ(len, 7);
    fg_used_elem(&g, 0, 1, &id, &len);
    EXPECT_EQ(id, 0);
    EXPECT_EQ(len, 8);
    fg_used_elem(&g, 0, 2, &id, &len);
    EXPECT_EQ(id, 2);
    EXPECT_EQ(len, 9);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    for (unsigned i = 0; i < 3; i++) {
        free(e[i]);
    }
    fg_destroy(&g);
}

static void test_unpop_returns_the_same_element_again(void)
{
    struct fake_guest g;
    VuVirtqElement *a, *b;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    fg_post_chain(&g, 0, 1, 1, 0, 32);
    a = pop(&g, 0);
    EXPECT_NOT_NULL(a);
    vu_queue_unpop(&g.dev, fg_vq(&g, 0), a, 0);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 0);
    b = pop(&g, 0);
    fg_expect_healthy(&g);
    EXPECT_NOT_NULL(b);
    EXPECT_EQ(b->index, 1);
    free(a);
    free(b);
    fg_destroy(&g);
}

static void test_rewind(void)
{
    struct fake_guest g;
    VuVirtqElement *a, *b;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    fg_post_chain(&g, 0, 0, 1, 0, 32);
    fg_post_chain(&g, 0, 1, 1, 0, 32);
    a = pop(&g, 0);
    b = pop(&g, 0);
    EXPECT_NOT_NULL(a);
    EXPECT_NOT_NULL(b);
    free(a);
    free(b);
    EXPECT_FALSE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 3));
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 2);
    EXPECT_TRUE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 2));
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    a = pop(&g, 0);
    b = pop(&g, 0);
    fg_expect_healthy(&g);
    EXPECT_NOT_NULL(a);
    EXPECT_NOT_NULL(b);
    EXPECT_EQ(a->index, 0);
    EXPECT_EQ(b->index, 1);
    free(a);
    free(b);
    fg_destroy(&g);
}

/* A rewind over a slot whose element was already pushed (out of pop order)
 * is refused: the guest would be handed that completed head again
 * (regress-rewind-over-completed-slot). */
static void test_rewind_over_completed_slot(void)
{
    struct fake_guest g;
    VuVirtqElement *a, *b;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    fg_post_chain(&g, 0, 0, 1, 0, 32);
    fg_post_chain(&g, 0, 1, 1, 0, 32);
    a = pop(&g, 0);
    b = pop(&g, 0);
    EXPECT_NOT_NULL(a);
    EXPECT_NOT_NULL(b);
    vu_queue_push(&g.dev, fg_vq(&g, 0), b, 32); /* the last popped, first */
    EXPECT_FALSE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 1));
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 1);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 2);
    EXPECT_FALSE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 2));
    fg_expect_healthy(&g);
    EXPECT_NULL(pop(&g, 0)); /* head 1 is not handed out again */
    vu_queue_push(&g.dev, fg_vq(&g, 0), a, 32);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    free(a);
    free(b);
    fg_destroy(&g);
}

/* With the rings unmapped (a new memory table) a rewind still releases
 * the heads it gives back: popped again later, they are no duplicates. */
static void test_rewind_with_rings_unmapped(void)
{
    struct fake_guest g;
    VuVirtqElement *a;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    fg_post_chain(&g, 0, 2, 1, 0, 32);
    a = pop(&g, 0);
    EXPECT_NOT_NULL(a);
    fg_vq(&g, 0)->vring.used = NULL;
    fg_vq(&g, 0)->vring.avail = NULL;
    EXPECT_TRUE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 1));
    EXPECT_FALSE(vu_popped_test(&vu_impl(&g.dev)->vqp[0], 2));
    free(a);
    fg_destroy(&g);
}

static void test_enabled_started_flags(void)
{
    struct fake_guest g;
    VuVirtq *vq;

    fg_init(&g, 2);
    vq = fg_vq(&g, 1);
    EXPECT_FALSE(vu_queue_enabled(&g.dev, vq));
    EXPECT_FALSE(vu_queue_started(&g.dev, vq));
    fg_setup_queue(&g, 1, 4);
    EXPECT_TRUE(vu_queue_enabled(&g.dev, vq));
    EXPECT_TRUE(vu_queue_started(&g.dev, vq));
    fg_post_chain(&g, 1, 0, 1, 0, 8);
    /* A queue that is not started hands out nothing. */
    vq->started = false;
    EXPECT_NULL(pop(&g, 1));
    EXPECT_EQ(vq->last_avail_idx, 0);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

static void test_avail_bytes(void)
{
    struct fake_guest g;
    unsigned in = 1, out = 1;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    vu_queue_get_avail_bytes(&g.dev, fg_vq(&g, 0), &in, &out, ~0u, ~0u);
    EXPECT_EQ(in, 0);
    EXPECT_EQ(out, 0);
    fg_post_chain(&g, 0, 0, 1, 2, 100); /* out 100, in 200 */
    fg_post_chain(&g, 0, 3, 2, 1, 50);  /* out 100, in 50 */
    vu_queue_get_avail_bytes(&g.dev, fg_vq(&g, 0), &in, &out, ~0u, ~0u);
    EXPECT_EQ(in, 250);
    EXPECT_EQ(out, 200);
    /* Stops once both limits are reached: only the first chain counted. */
    vu_queue_get_avail_bytes(&g.dev, fg_vq(&g, 0), &in, &out, 150, 50);
    EXPECT_EQ(in, 200);
    EXPECT_EQ(out, 100);
    vu_queue_get_avail_bytes(&g.dev, fg_vq(&g, 0), NULL, NULL, ~0u, ~0u);
    EXPECT_TRUE(vu_queue_avail_bytes(&g.dev, fg_vq(&g, 0), 250, 200));
    EXPECT_FALSE(vu_queue_avail_bytes(&g.dev, fg_vq(&g, 0), 251, 0));
    EXPECT_FALSE(vu_queue_avail_bytes(&g.dev, fg_vq(&g, 0), 0, 201));
    /* Nothing was consumed. */
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 0);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

static void test_set_notification_flags(void)
{
    struct fake_guest g;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 4);
    vu_queue_set_notification(&g.dev, fg_vq(&g, 0), 0);
    EXPECT_EQ(fg_used_flags(&g, 0), VRING_USED_F_NO_NOTIFY);
    EXPECT_FALSE(fg_vq(&g, 0)->notification);
    vu_queue_set_notification(&g.dev, fg_vq(&g, 0), 1);
    EXPECT_EQ(fg_used_flags(&g, 0), 0);
    EXPECT_TRUE(fg_vq(&g, 0)->notification);
    fg_destroy(&g);
}

static void test_event_idx_avail_event(void)
{
    struct fake_guest g;
    VuVirtqElement *e;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    fg_setup_queue(&g, 0, 4);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, i, 1, 0, 8);
    }
    /* Suppressed: pop leaves avail_event alone (no used-flag either). */
    vu_queue_set_notification(&g.dev, fg_vq(&g, 0), 0);
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    free(e);
    EXPECT_EQ(fg_avail_event(&g, 0), 0);
    EXPECT_EQ(fg_used_flags(&g, 0), 0);
    /* Enabling asks for a kick at the current avail index. */
    vu_queue_set_notification(&g.dev, fg_vq(&g, 0), 1);
    EXPECT_EQ(fg_avail_event(&g, 0), 3);
    /* Enabled: each pop moves avail_event to the next entry it will take. */
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    free(e);
    EXPECT_EQ(fg_avail_event(&g, 0), 2);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 2);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* Pop and push one chain (at descriptors 2*slot..) and notify. */
static void complete_one(struct fake_guest *g, unsigned slot)
{
    VuVirtqElement *e;

    fg_post_chain(g, 0, 2 * slot, 1, 1, 16);
    e = pop(g, 0);
    EXPECT_NOT_NULL(e);
    vu_queue_push(&g->dev, fg_vq(g, 0), e, 1);
    free(e);
    vu_queue_notify(&g->dev, fg_vq(g, 0));
}

static void test_notify_plain(void)
{
    struct fake_guest g;
    int fd;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fd = fg_set_call_eventfd(&g, 0);
    complete_one(&g, 0);
    EXPECT_EQ(fg_eventfd_count(fd), 1);
    fg_set_avail_flags(&g, 0, VRING_AVAIL_F_NO_INTERRUPT);
    complete_one(&g, 1);
    EXPECT_EQ(fg_eventfd_count(fd), 0);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* NOTIFY_ON_EMPTY: a call is due once the device has nothing in use and the
 * ring is empty, even when the driver suppressed interrupts. */
static void test_notify_on_empty(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    int fd;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY;
    fg_setup_queue(&g, 0, 8);
    fd = fg_set_call_eventfd(&g, 0);
    fg_set_avail_flags(&g, 0, VRING_AVAIL_F_NO_INTERRUPT);
    fg_post_chain(&g, 0, 0, 1, 0, 16);
    fg_post_chain(&g, 0, 1, 1, 0, 16);
    e = pop(&g, 0);
    vu_queue_push(&g.dev, fg_vq(&g, 0), e, 0);
    free(e);
    vu_queue_notify(&g.dev, fg_vq(&g, 0)); /* one still available */
    EXPECT_EQ(fg_eventfd_count(fd), 0);
    e = pop(&g, 0);
    vu_queue_push(&g.dev, fg_vq(&g, 0), e, 0);
    free(e);
    vu_queue_notify(&g.dev, fg_vq(&g, 0)); /* now empty, nothing in use */
    EXPECT_EQ(fg_eventfd_count(fd), 1);
    fg_destroy(&g);
}

static void test_notify_event_idx(void)
{
    struct fake_guest g;
    int fd;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    fg_setup_queue(&g, 0, 8);
    fd = fg_set_call_eventfd(&g, 0);
    fg_set_used_event(&g, 0, 2); /* wake me when used idx passes 2 */
    complete_one(&g, 0);         /* first call always goes out */
    EXPECT_EQ(fg_eventfd_count(fd), 1);
    complete_one(&g, 1); /* used idx 2: event 2 not crossed yet */
    EXPECT_EQ(fg_eventfd_count(fd), 0);
    complete_one(&g, 2); /* used idx 3: crossed 2 */
    EXPECT_EQ(fg_eventfd_count(fd), 1);
    complete_one(&g, 3); /* already past the event */
    EXPECT_EQ(fg_eventfd_count(fd), 0);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* A frontend can saturate its own call eventfd; with a non-blocking fd the
 * call is simply already pending: no failure, no blocking. */
static void test_notify_saturated_eventfd(void)
{
    struct fake_guest g;
    uint64_t max = 0xfffffffffffffffeULL;
    int fd;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fd = fg_set_call_eventfd(&g, 0);
    EXPECT_EQ(write(fd, &max, sizeof(max)), sizeof(max));
    complete_one(&g, 0);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_eventfd_count(fd), max);
    /* A call fd that is not an eventfd at all is a real failure. */
    fg_vq(&g, 0)->call_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    complete_one(&g, 1);
    EXPECT_TRUE(g.dev.broken);
    EXPECT_CONTAINS(g.last_panic, "writing the call eventfd failed");
    close(fd);
    fg_destroy(&g);
}

/* A signalled index left ahead of the used index (rings re-based under a
 * live queue) must not suppress the next call. */
static void test_notify_stale_signalled_index(void)
{
    struct fake_guest g;
    VuVirtq *vq;
    int fd;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    fg_setup_queue(&g, 0, 8);
    vq = fg_vq(&g, 0);
    fd = fg_set_call_eventfd(&g, 0);
    vq->used_idx = vq->last_avail_idx = vq->shadow_avail_idx = 10;
    vu_ring_store16(&vq->vring.used->idx, 10);
    fg_set_avail_idx(&g, 0, 10);
    vq->signalled_used = 20;
    vq->signalled_used_valid = true;
    fg_set_used_event(&g, 0, 15);
    complete_one(&g, 0);
    EXPECT_EQ(fg_used_idx(&g, 0), 11);
    EXPECT_EQ(fg_eventfd_count(fd), 1);
    fg_destroy(&g);
}

/* With no call fd and no in-band notifications the frontend polls: notify
 * does nothing and the device is not broken. */
static void test_notify_without_call_fd_is_noop(void)
{
    struct fake_guest g;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    complete_one(&g, 0);
    vu_queue_notify_sync(&g.dev, fg_vq(&g, 0));
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* In-band notifications: VRING_CALL on the backend channel, waiting for the
 * ack only in the sync variant with REPLY_ACK. */
static void test_notify_in_band(void)
{
    struct fake_guest g;
    int sv[2];
    VhostUserMsg m;
    struct {
        uint32_t request, flags, size;
        uint64_t u64;
    } __attribute__((packed))
    ack = { VHOST_USER_BACKEND_VRING_CALL, 0x5, 8, 0 };

    fg_init(&g, 2);
    fg_setup_queue(&g, 1, 8);
    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    g.dev.backend_fd = sv[0];
    g.dev.protocol_features =
        (1ULL << VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS) |
        (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
        (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    vu_queue_notify(&g.dev, fg_vq(&g, 1));
    memset(&m, 0, sizeof(m));
    EXPECT_EQ(read(sv[1], &m, 12 + sizeof(struct vhost_vring_state)),
              12 + sizeof(struct vhost_vring_state));
    EXPECT_EQ(m.request, VHOST_USER_BACKEND_VRING_CALL);
    EXPECT_EQ(m.flags, 1);
    EXPECT_EQ(m.payload.state.index, 1);

    /* The ack is queued first so the single-threaded test cannot block. */
    EXPECT_EQ(write(sv[1], &ack, sizeof(ack)), sizeof(ack));
    vu_queue_notify_sync(&g.dev, fg_vq(&g, 1));
    EXPECT_EQ(read(sv[1], &m, 12 + sizeof(struct vhost_vring_state)),
              12 + sizeof(struct vhost_vring_state));
    EXPECT_EQ(m.flags, 1 | VHOST_USER_NEED_REPLY_MASK);
    fg_expect_healthy(&g);
    close(sv[1]);
    fg_destroy(&g);
}

static void test_element_layout_is_one_allocation(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    char *lo, *hi;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 2, 3, 8);
    e = vu_queue_pop(&g.dev, fg_vq(&g, 0), 333);
    EXPECT_NOT_NULL(e);
    lo = (char *)e;
    hi = (char *)(e->out_sg + e->out_num);
    /* Both arrays live after the caller's 333 bytes, in_sg first. */
    EXPECT_TRUE((char *)e->in_sg >= lo + 333);
    EXPECT_TRUE(e->out_sg == e->in_sg + e->in_num);
    EXPECT_LT(hi - lo, 333 + 1024);
    EXPECT_EQ((uintptr_t)e->in_sg % _Alignof(struct iovec), 0);
    free(e); /* valgrind/ASan: one free releases everything */
    fg_destroy(&g);
}

int main(void)
{
    RUN_TEST(test_pop_push_simple_chain);
    RUN_TEST(test_pop_empty_queue_is_null_not_broken);
    RUN_TEST(test_buffer_across_regions_gives_two_iovecs);
    RUN_TEST(test_indirect_table_in_one_region);
    RUN_TEST(test_fill_flush_batch);
    RUN_TEST(test_unpop_returns_the_same_element_again);
    RUN_TEST(test_rewind);
    RUN_TEST(test_rewind_over_completed_slot);
    RUN_TEST(test_rewind_with_rings_unmapped);
    RUN_TEST(test_enabled_started_flags);
    RUN_TEST(test_avail_bytes);
    RUN_TEST(test_set_notification_flags);
    RUN_TEST(test_event_idx_avail_event);
    RUN_TEST(test_notify_plain);
    RUN_TEST(test_notify_on_empty);
    RUN_TEST(test_notify_event_idx);
    RUN_TEST(test_notify_saturated_eventfd);
    RUN_TEST(test_notify_stale_signalled_index);
    RUN_TEST(test_notify_without_call_fd_is_noop);
    RUN_TEST(test_notify_in_band);
    RUN_TEST(test_element_layout_is_one_allocation);
    END_TESTS();
}
