/*
 * Inflight I/O tracking (INFLIGHT_SHMFD): the shared area follows the
 * vhost-user spec's protocol so a restarted backend resubmits exactly the
 * requests that were lost, and a hostile area is refused with bounded work.
 */
#include "dispatch.h"
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <sys/mman.h>
#include <unistd.h>

#define NUM 8

struct env {
    struct fake_guest g;
    VuVirtqInflight *a;
};

static VuVirtq *vq0(struct env *e)
{
    return fg_vq(&e->g, 0);
}

/* A device with queue 0 of NUM entries and a zeroed inflight area, owned
 * by the library (inflight_info) as after SET_INFLIGHT_FD. */
static void env_init(struct env *e, uint16_t cap)
{
    uint64_t size = vu_inflight_queue_size(cap);
    int fd;

    fg_init(&e->g, 1);
    fg_setup_queue(&e->g, 0, NUM);
    e->g.dev.protocol_features |= 1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD;
    fd = memfd_create("inflight", MFD_CLOEXEC);
    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, (off_t)size));
    e->a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_TRUE(e->a != MAP_FAILED);
    e->g.dev.inflight_info.fd = fd;
    e->g.dev.inflight_info.addr = e->a;
    e->g.dev.inflight_info.size = size;
    vq0(e)->inflight = e->a;
    vu_impl(&e->g.dev)->vqp[0].inflight_desc_cap = cap;
}

/* What a backend restart looks like to the queue: state forgotten, rings
 * and the inflight area kept, then the queue starts again. */
static bool restart(struct env *e)
{
    struct fg_queue q = e->g.q[0];

    vu_vring_reset(&e->g.dev, vq0(e));
    fg_setup_queue_at(&e->g, 0, NUM, q.desc, q.avail, q.used);
    e->g.q[0].avail_idx = q.avail_idx; /* the driver side did not restart */
    return vu_inflight_check(&e->g.dev, vq0(e));
}

static VuVirtqElement *pop(struct env *e)
{
    return vu_queue_pop(&e->g.dev, vq0(e), sizeof(VuVirtqElement));
}

static void test_queue_size_formula(void)
{
    for (unsigned n = 1; n <= VIRTQUEUE_MAX_SIZE; n++) {
        uint64_t spec = (16 + 16ULL * n + 63) & ~63ULL;
        /* The formula the original library and its frontends agreed on. */
        uint64_t original = (16ULL * n + 2 + 63) & ~63ULL;

        EXPECT_EQ(vu_inflight_queue_size((uint16_t)n), spec);
        EXPECT_EQ(vu_inflight_queue_size((uint16_t)n), original);
    }
    EXPECT_EQ(sizeof(VuVirtqInflight), 16);
    EXPECT_EQ(sizeof(VuDescStateSplit), 16);
}

static void test_fresh_area_is_initialised(void)
{
    struct env e;

    env_init(&e, NUM);
    memset(e.a->desc, 0xaa, sizeof(e.a->desc[0]) * NUM);
    *(uint16_t *)fg_ptr(&e.g, e.g.q[0].used + 2, 2) = htole16(5);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    EXPECT_EQ(e.a->version, 1);
    EXPECT_EQ(e.a->desc_num, NUM);
    EXPECT_EQ(e.a->used_idx, 5);
    for (unsigned i = 0; i < NUM; i++) {
        EXPECT_EQ(e.a->desc[i].inflight, 0);
    }
    EXPECT_EQ(vq0(&e)->resubmit_num, 0);
    fg_destroy(&e.g);
}

static void test_pop_push_unpop_track_state(void)
{
    struct env e;
    VuVirtqElement *x, *y;

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    fg_post_chain(&e.g, 0, 4, 1, 0, 8);
    fg_post_chain(&e.g, 0, 6, 1, 0, 8);
    x = pop(&e);
    y = pop(&e);
    EXPECT_EQ(e.a->desc[4].inflight, 1);
    EXPECT_EQ(e.a->desc[4].counter, 0);
    EXPECT_EQ(e.a->desc[6].inflight, 1);
    EXPECT_EQ(e.a->desc[6].counter, 1);
    vu_queue_push(&e.g.dev, vq0(&e), x, 0);
    EXPECT_EQ(e.a->desc[4].inflight, 0);
    EXPECT_EQ(e.a->last_batch_head, 4);
    EXPECT_EQ(e.a->used_idx, 1);
    vu_queue_unpop(&e.g.dev, vq0(&e), y, 0);
    EXPECT_EQ(e.a->desc[6].inflight, 0);
    EXPECT_FALSE(e.g.dev.broken);
    free(x);
    free(y);
    fg_destroy(&e.g);
}

/* fill + flush of a batch: the batch list links the heads, and the flags
 * are cleared only once used->idx covers them. */
static void test_batch_fill_flush(void)
{
    struct env e;
    VuVirtqElement *el[3];

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&e.g, 0, i + 1, 1, 0, 8);
        el[i] = pop(&e);
    }
    for (unsigned i = 0; i < 3; i++) {
        vu_queue_fill(&e.g.dev, vq0(&e), el[i], 0, i);
        EXPECT_EQ(e.a->desc[i + 1].inflight, 1);
    }
    EXPECT_EQ(e.a->last_batch_head, 3);
    EXPECT_EQ(e.a->desc[3].next, 2);
    EXPECT_EQ(e.a->desc[2].next, 1);
    vu_queue_flush(&e.g.dev, vq0(&e), 3);
    for (unsigned i = 0; i < 3; i++) {
        EXPECT_EQ(e.a->desc[i + 1].inflight, 0);
        free(el[i]);
    }
    EXPECT_EQ(e.a->used_idx, 3);
    fg_destroy(&e.g);
}

/* Flush clears inflight marks from what fill recorded, never from the used
 * ring, which the guest can rewrite: a guest that puts a held head's id into
 * the slot being flushed cannot make us forget that head is in flight. */
static void test_flush_ignores_guest_rewritten_used_ring(void)
{
    struct env e;
    VuVirtqElement *x, *y;

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    fg_post_chain(&e.g, 0, 2, 1, 0, 8);
    fg_post_chain(&e.g, 0, 5, 1, 0, 8);
    x = pop(&e);
    y = pop(&e);
    vu_queue_fill(&e.g.dev, vq0(&e), x, 0, 0);
    /* the guest overwrites the filled entry with the other held head */
    vq0(&e)->vring.used->ring[0].id = htole32(5);
    vu_queue_flush(&e.g.dev, vq0(&e), 1);
    EXPECT_EQ(e.a->desc[2].inflight, 0);
    EXPECT_EQ(e.a->desc[5].inflight, 1);
    /* a flush with no fill behind it is refused and clears nothing */
    vu_queue_flush(&e.g.dev, vq0(&e), 1);
    EXPECT_TRUE(e.g.dev.broken);
    EXPECT_EQ(e.a->desc[5].inflight, 1);
    free(x);
    free(y);
    fg_destroy(&e.g);
}

/* Recovered heads after a restart: a device cannot complete one before it
 * popped it, unpop puts it back at the front of the resubmit list (still in
 * flight, the avail ring untouched), and rewind cannot hand it to the avail
 * ring. */
static void test_resubmitted_unpop_and_misuse(void)
{
    struct env e;
    VuVirtqElement *x[2], *r, *again, fake = { .index = 4 };

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    fg_post_chain(&e.g, 0, 3, 1, 0, 8);
    fg_post_chain(&e.g, 0, 4, 1, 0, 8);
    x[0] = pop(&e);
    x[1] = pop(&e);
    free(x[0]);
    free(x[1]);
    EXPECT_TRUE(restart(&e));
    EXPECT_EQ(vq0(&e)->resubmit_num, 2);
    EXPECT_FALSE(
        vu_queue_rewind(&e.g.dev, vq0(&e), 1)); /* nothing from avail */
    r = pop(&e);
    EXPECT_EQ(r->index, 3);
    vu_queue_unpop(&e.g.dev, vq0(&e), r, 0);
    EXPECT_EQ(e.a->desc[3].inflight, 1);
    EXPECT_EQ(vq0(&e)->last_avail_idx, 2);
    again = pop(&e);
    EXPECT_EQ(again->index, 3);
    EXPECT_EQ(e.a->desc[3].inflight, 1);
    vu_queue_push(&e.g.dev, vq0(&e), again, 0);
    EXPECT_FALSE(e.g.dev.broken);
    EXPECT_EQ(e.a->desc[3].inflight, 0);
    /* head 4 is still waiting in the resubmit list: not the device's yet */
    vu_queue_push(&e.g.dev, vq0(&e), &fake, 0);
    EXPECT_TRUE(e.g.dev.broken);
    EXPECT_EQ(e.a->desc[4].inflight, 1);
    free(r);
    free(again);
    fg_destroy(&e.g);
}

/* Heads fetched 1, 0, 2; head 0 completed; then the backend restarts:
 * 1 and 2 come back first, in fetch order, before new avail entries. */
static void test_resubmit_in_fetch_order(void)
{
    struct env e;
    VuVirtqElement *x[3], *r;
    const unsigned order[3] = { 1, 0, 2 };

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&e.g, 0, order[i], 1, 0, 8);
        x[i] = pop(&e);
    }
    vu_queue_push(&e.g.dev, vq0(&e), x[1], 0);
    for (unsigned i = 0; i < 3; i++) {
        free(x[i]); /* the "crashed" backend's memory */
    }
    EXPECT_TRUE(restart(&e));
    EXPECT_EQ(vq0(&e)->resubmit_num, 2);
    EXPECT_EQ(vq0(&e)->inuse, 2);
    EXPECT_EQ(vq0(&e)->last_avail_idx, 3); /* 1 used + 2 in flight */
    fg_post_chain(&e.g, 0, 5, 1, 0, 8);
    r = pop(&e);
    EXPECT_EQ(r->index, 1);
    free(r);
    r = pop(&e);
    EXPECT_EQ(r->index, 2);
    free(r);
    r = pop(&e);
    if (!r) {
        VU_TEST_FAIL("pop failed: %s", e.g.last_panic);
    }
    EXPECT_EQ(r->index, 5);
    EXPECT_EQ(e.a->desc[5].counter, 3); /* the counter resumed */
    free(r);
    EXPECT_NULL(vq0(&e)->resubmit_list);
    EXPECT_FALSE(e.g.dev.broken);
    fg_destroy(&e.g);
}

/* A crash after used->idx was published but before used_idx was recorded:
 * the head of that last batch is complete and must not be resubmitted. */
static void test_crash_inside_push(void)
{
    struct env e;
    VuVirtqElement *x;

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    fg_post_chain(&e.g, 0, 3, 1, 0, 8);
    x = pop(&e);
    /* The steps of a push up to the crash point. */
    e.a->desc[3].next = e.a->last_batch_head;
    e.a->last_batch_head = 3;
    *(uint32_t *)fg_ptr(&e.g, e.g.q[0].used + 4, 4) = htole32(3);
    *(uint16_t *)fg_ptr(&e.g, e.g.q[0].used + 2, 2) = htole16(1);
    free(x);
    EXPECT_TRUE(restart(&e));
    EXPECT_EQ(e.a->desc[3].inflight, 0);
    EXPECT_EQ(e.a->used_idx, 1);
    EXPECT_EQ(vq0(&e)->resubmit_num, 0);
    EXPECT_EQ(vq0(&e)->inuse, 0);
    EXPECT_EQ(vq0(&e)->last_avail_idx, 1);
    fg_destroy(&e.g);
}

/* Threat row "inflight region: corrupted contents on reconnect". */
static void expect_refused(struct env *e, const char *why)
{
    EXPECT_FALSE(restart(e));
    EXPECT_CONTAINS(vu_last_error(&e->g.dev), why);
    /* Refused, not broken: the caller fails the KICK request. */
    EXPECT_FALSE(e->g.dev.broken);
    EXPECT_EQ(vq0(e)->resubmit_num, 0);
    fg_destroy(&e->g);
}

static void used_area(struct env *e)
{
    EXPECT_TRUE(vu_inflight_check(&e->g.dev, vq0(e)));
}

static void test_hostile_version_and_desc_num(void)
{
    struct env e;

    env_init(&e, NUM);
    used_area(&e);
    e.a->version = 7;
    expect_refused(&e, "unknown inflight area version");

    env_init(&e, NUM);
    used_area(&e);
    e.a->desc_num = NUM * 2;
    expect_refused(&e, "desc_num does not match");
}

static void test_hostile_used_idx_and_batch_list(void)
{
    struct env e;

    env_init(&e, NUM);
    used_area(&e);
    e.a->used_idx = 0x8000; /* used->idx is 0: a "batch" of 0x8000 */
    expect_refused(&e, "used_idx far");

    env_init(&e, NUM);
    used_area(&e);
    e.a->used_idx = 0xffff; /* batch of 1 */
    e.a->last_batch_head = NUM;
    expect_refused(&e, "last batch list leaves the queue");

    env_init(&e, NUM);
    used_area(&e);
    e.a->used_idx = 0xfffe; /* batch of 2 */
    e.a->last_batch_head = 1;
    e.a->desc[1].next = 999;
    expect_refused(&e, "last batch list leaves the queue");
}

static void test_hostile_area_smaller_than_queue(void)
{
    struct env e;

    env_init(&e, NUM / 2);
    EXPECT_FALSE(vu_inflight_check(&e.g.dev, vq0(&e)));
    EXPECT_CONTAINS(vu_last_error(&e.g.dev), "queue larger than");
    EXPECT_EQ(e.a->version, 0); /* nothing written */
    fg_destroy(&e.g);
}

/* Every flag set with garbage counters: the list is bounded by the queue
 * size, and a head recorded as in flight cannot be popped twice. */
static void test_hostile_all_flags_set(void)
{
    struct env e;
    VuVirtqElement *r;

    env_init(&e, NUM);
    used_area(&e);
    for (unsigned i = 0; i < NUM; i++) {
        e.a->desc[i].inflight = 0xff;
        e.a->desc[i].counter = UINT64_MAX - i;
        fg_desc(&e.g, 0, i, fg_alloc(&e.g, 8), 8, 0, 0);
    }
    EXPECT_TRUE(restart(&e));
    EXPECT_EQ(vq0(&e)->resubmit_num, NUM);
    EXPECT_EQ(vq0(&e)->inuse, NUM);
    EXPECT_EQ(vq0(&e)->last_avail_idx, NUM);
    r = pop(&e); /* smallest counter first: head NUM-1 */
    EXPECT_EQ(r->index, NUM - 1);
    vu_queue_push(&e.g.dev, vq0(&e), r, 0);
    free(r);
    /* The guest lists head 0, which is still waiting for resubmission. */
    for (unsigned i = 1; i < NUM; i++) {
        free(pop(&e));
    }
    EXPECT_FALSE(e.g.dev.broken);
    fg_avail_add(&e.g, 0, 0); /* head 0 is still held by the device */
    fg_set_avail_idx(&e.g, 0, (uint16_t)(NUM + 1));
    vq0(&e)->last_avail_idx = NUM;
    EXPECT_NULL(pop(&e));
    EXPECT_CONTAINS(e.g.last_panic, "already in flight");
    fg_destroy(&e.g);
}

/* A second start without a reset must not rebuild the list: the device
 * already holds some of those heads. */
static void test_check_runs_once_per_start(void)
{
    struct env e;
    VuVirtqElement *x, *r;

    env_init(&e, NUM);
    used_area(&e);
    fg_post_chain(&e.g, 0, 2, 1, 0, 8);
    x = pop(&e);
    free(x);
    EXPECT_TRUE(restart(&e));
    r = pop(&e);
    EXPECT_EQ(r->index, 2);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    EXPECT_EQ(vq0(&e)->resubmit_num, 0);
    EXPECT_EQ(vq0(&e)->inuse, 1);
    free(r);
    fg_destroy(&e.g);
}

/* A queue restarted by an in-band kick (VHOST_USER_VRING_KICK without
 * SET_VRING_KICK, as the spec allows with INBAND_NOTIFICATIONS) gets the
 * same inflight check as SET_VRING_KICK: the request lost in the crash is
 * resubmitted, not forgotten (regress-inband-start-skips-inflight-check). */
static void test_inband_kick_start_checks_area(void)
{
    struct env e;
    VuVirtqElement *x, *r;
    VhostUserMsg m = { .request = VHOST_USER_VRING_KICK,
                       .flags = 1,
                       .size = sizeof(struct vhost_vring_state) };
    struct vu_msg_ctx ctx = { .msg = &m, .reply_fd = -1 };
    struct fg_queue q;

    env_init(&e, NUM);
    EXPECT_TRUE(vu_inflight_check(&e.g.dev, vq0(&e)));
    fg_post_chain(&e.g, 0, 3, 1, 0, 8);
    x = pop(&e);
    free(x); /* the "crashed" backend held head 3 */
    q = e.g.q[0];
    vu_vring_reset(&e.g.dev, vq0(&e));
    fg_setup_queue_at(&e.g, 0, NUM, q.desc, q.avail, q.used);
    e.g.q[0].avail_idx = q.avail_idx;
    vq0(&e)->started = false; /* rings set again, no SET_VRING_KICK */
    m.payload.state = (struct vhost_vring_state){ .index = 0, .num = 0 };
    EXPECT_TRUE(vu_h_vring_kick(&e.g.dev, &ctx));
    EXPECT_TRUE(vq0(&e)->started);
    EXPECT_EQ(vq0(&e)->resubmit_num, 1);
    EXPECT_EQ(vq0(&e)->last_avail_idx, 1);
    r = pop(&e);
    EXPECT_TRUE(r != NULL);
    EXPECT_EQ(r->index, 3);
    EXPECT_EQ(e.a->desc[3].inflight, 1);
    free(r);
    EXPECT_FALSE(e.g.dev.broken);
    fg_destroy(&e.g);
}

/* Rewound pops are no longer in flight: after a crash they must not be
 * resubmitted on top of being fetched again from the avail ring. */
static void test_rewind_clears_marks(void)
{
    struct env e;

    env_init(&e, NUM);
    used_area(&e);
    fg_post_chain(&e.g, 0, 2, 1, 0, 8);
    fg_post_chain(&e.g, 0, 5, 1, 0, 8);
    free(pop(&e));
    free(pop(&e));
    EXPECT_EQ(e.a->desc[2].inflight, 1);
    EXPECT_EQ(e.a->desc[5].inflight, 1);
    EXPECT_TRUE(vu_queue_rewind(&e.g.dev, vq0(&e), 2));
    EXPECT_EQ(e.a->desc[2].inflight, 0);
    EXPECT_EQ(e.a->desc[5].inflight, 0);
    EXPECT_TRUE(restart(&e));
    EXPECT_EQ(vq0(&e)->resubmit_num, 0);
    EXPECT_EQ(vq0(&e)->last_avail_idx, 0);
    fg_destroy(&e.g);
}

/* Rings not mapped (no SET_VRING_ADDR yet): the area cannot be reconciled
 * with the used ring, so the start is refused. */
static void test_check_needs_rings(void)
{
    struct env e;

    env_init(&e, NUM);
    vu_vring_reset(&e.g.dev, vq0(&e));
    EXPECT_FALSE(vu_inflight_check(&e.g.dev, vq0(&e)));
    EXPECT_CONTAINS(vu_last_error(&e.g.dev), "rings are not mapped");
    EXPECT_EQ(e.a->version, 0);
    fg_destroy(&e.g);
}

static void test_unmap_releases_area(void)
{
    struct env e;

    env_init(&e, NUM);
    used_area(&e);
    vu_inflight_unmap(&e.g.dev);
    EXPECT_NULL(vq0(&e)->inflight);
    EXPECT_NULL(e.g.dev.inflight_info.addr);
    EXPECT_EQ(e.g.dev.inflight_info.fd, -1);
    EXPECT_EQ(vu_impl(&e.g.dev)->vqp[0].inflight_desc_cap, 0);
    /* The data path keeps working without tracking. */
    fg_post_chain(&e.g, 0, 0, 1, 0, 8);
    free(pop(&e));
    EXPECT_FALSE(e.g.dev.broken);
    fg_destroy(&e.g);
}

int main(void)
{
    RUN_TEST(test_queue_size_formula);
    RUN_TEST(test_fresh_area_is_initialised);
    RUN_TEST(test_pop_push_unpop_track_state);
    RUN_TEST(test_batch_fill_flush);
    RUN_TEST(test_resubmitted_unpop_and_misuse);
    RUN_TEST(test_flush_ignores_guest_rewritten_used_ring);
    RUN_TEST(test_resubmit_in_fetch_order);
    RUN_TEST(test_crash_inside_push);
    RUN_TEST(test_hostile_version_and_desc_num);
    RUN_TEST(test_hostile_used_idx_and_batch_list);
    RUN_TEST(test_hostile_area_smaller_than_queue);
    RUN_TEST(test_hostile_all_flags_set);
    RUN_TEST(test_check_runs_once_per_start);
    RUN_TEST(test_inband_kick_start_checks_area);
    RUN_TEST(test_rewind_clears_marks);
    RUN_TEST(test_check_needs_rings);
    RUN_TEST(test_unmap_releases_area);
    END_TESTS();
}
