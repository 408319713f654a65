/*
 * The batch data path of vhost-user-ext.h (vu_queue_pop_batch and
 * vu_queue_push_batch): what it hands out, what it publishes, where it stops
 * and what it refuses.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <stdlib.h>

#define ARENA VIRTQUEUE_MAX_SIZE

static struct iovec arena[ARENA + 64];

/* Every chain of the ring comes out, each with its own iovecs in the arena,
 * the queue's counters move as with vu_queue_pop. */
static void test_pop_batch_takes_every_chain(void)
{
    struct fake_guest g;
    VuVirtqElement e[8];
    unsigned n;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 16);
    fg_post_chain(&g, 0, 0, 1, 2, 64);  /* head 0: descs 0..2 */
    fg_post_chain(&g, 0, 3, 2, 0, 32);  /* head 3: descs 3..4 */
    fg_post_chain(&g, 0, 5, 0, 1, 128); /* head 5: desc 5 */
    n = vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 8, arena, ARENA);
    fg_expect_healthy(&g);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(e[0].index, 0);
    EXPECT_EQ(e[0].out_num, 1);
    EXPECT_EQ(e[0].in_num, 2);
    EXPECT_EQ(e[1].index, 3);
    EXPECT_EQ(e[1].out_num, 2);
    EXPECT_EQ(e[1].in_num, 0);
    EXPECT_EQ(e[2].index, 5);
    EXPECT_EQ(e[2].out_num, 0);
    EXPECT_EQ(e[2].in_num, 1);
    /* Laid out back to back in the arena: out segments, then in segments. */
    EXPECT_TRUE(e[0].out_sg == &arena[0]);
    EXPECT_TRUE(e[0].in_sg == &arena[1]);
    EXPECT_TRUE(e[1].out_sg == &arena[3]);
    EXPECT_TRUE(e[2].in_sg == &arena[5]);
    EXPECT_TRUE(e[0].out_sg[0].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 0), 64));
    EXPECT_TRUE(e[0].in_sg[1].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 2), 64));
    EXPECT_TRUE(e[1].out_sg[1].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 4), 32));
    EXPECT_TRUE(e[2].in_sg[0].iov_base ==
                fg_lib_ptr(&g, fg_desc_addr(&g, 0, 5), 128));
    EXPECT_EQ(e[2].in_sg[0].iov_len, 128);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 3);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 3);
    /* Nothing more: an empty queue gives 0 and leaves the device healthy. */
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 8, arena, ARENA), 0);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

static void test_pop_batch_honours_max(void)
{
    struct fake_guest g;
    VuVirtqElement e[4];

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 5; i++) {
        fg_post_chain(&g, 0, i, 1, 0, 16);
    }
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA), 2);
    EXPECT_EQ(e[1].index, 1);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 4, arena, ARENA), 3);
    EXPECT_EQ(e[0].index, 2);
    EXPECT_EQ(e[2].index, 4);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 5);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* With EVENT_IDX the avail event moves once, to what the batch took. */
static void test_pop_batch_moves_avail_event(void)
{
    struct fake_guest g;
    VuVirtqElement e[4];

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, i, 1, 0, 16);
    }
    EXPECT_EQ(fg_avail_event(&g, 0), 0);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 4, arena, ARENA), 3);
    EXPECT_EQ(fg_avail_event(&g, 0), 3);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* A caller's iov array too short for a full chain, or no array, is refused
 * without taking anything and without blaming the guest. */
static void test_pop_batch_refuses_short_arrays(void)
{
    struct fake_guest g;
    VuVirtqElement e[2];

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 16);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA - 1),
              0);
    EXPECT_CONTAINS(vu_last_error(&g.dev), "vu_queue_pop_batch");
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), NULL, 2, arena, ARENA),
              0);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, NULL, ARENA), 0);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 0);
    fg_expect_healthy(&g);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA), 1);
    fg_destroy(&g);
}

/* Post a chain of one indirect descriptor (at ring index head) whose table
 * holds n readable buffers of 8 bytes. */
static void post_indirect(struct fake_guest *g, unsigned head, unsigned n)
{
    uint64_t table = fg_alloc(g, 16ULL * n);

    for (unsigned k = 0; k < n; k++) {
        fg_table_desc(g, table, k, fg_alloc(g, 8), 8,
                      k + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(k + 1));
    }
    fg_desc(g, 0, head, table, 16 * n, VRING_DESC_F_INDIRECT, 0);
    fg_avail_add(g, 0, (uint16_t)head);
}

/* Chains of 300 buffers: three fit in 1024 iovecs, the fourth stays on the
 * ring (no room is not a guest error) and comes out next time. */
static void test_pop_batch_stops_when_arena_is_full(void)
{
    struct fake_guest g;
    VuVirtqElement e[8];

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    fg_setup_queue(&g, 0, 8);
    for (unsigned c = 0; c < 4; c++) {
        post_indirect(&g, c, 300);
    }
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 8, arena, ARENA), 3);
    fg_expect_healthy(&g);
    EXPECT_EQ(e[2].index, 2);
    EXPECT_TRUE(e[2].out_sg == &arena[600]);
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 3);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 8, arena, ARENA), 1);
    EXPECT_EQ(e[0].index, 3);
    EXPECT_EQ(e[0].out_num, 300);
    fg_expect_healthy(&g);
    fg_destroy(&g);
}

/* A bad chain after good ones: the good ones are handed out, the device is
 * broken with the batch's name in the reason. */
static void test_pop_batch_stops_at_a_bad_chain(void)
{
    struct fake_guest g;
    VuVirtqElement e[4];

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 16);
    fg_desc(&g, 0, 1, FG_HOLE, 16, 0, 0); /* buffer outside guest memory */
    fg_avail_add(&g, 0, 1);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 4, arena, ARENA), 1);
    EXPECT_TRUE(g.dev.broken);
    EXPECT_CONTAINS(g.last_panic, "vu_queue_pop_batch");
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 1);
    fg_destroy(&g);
}

/* push_batch: used entries in the given order with their lengths, one used
 * index update covering all of them. */
static void test_push_batch_publishes_in_order(void)
{
    struct fake_guest g;
    VuVirtqElement e[4];
    unsigned lens[3] = { 10, 20, 30 };
    uint32_t id, len;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, 2 * i, 1, 1, 64);
    }
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 4, arena, ARENA), 3);
    /* Completed out of order: 4, 0, 2. */
    VuVirtqElement done[3] = { e[2], e[0], e[1] };
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), done, lens, 3);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_used_idx(&g, 0), 3);
    fg_used_elem(&g, 0, 0, &id, &len);
    EXPECT_EQ(id, 4);
    EXPECT_EQ(len, 10);
    fg_used_elem(&g, 0, 1, &id, &len);
    EXPECT_EQ(id, 0);
    EXPECT_EQ(len, 20);
    fg_used_elem(&g, 0, 2, &id, &len);
    EXPECT_EQ(id, 2);
    EXPECT_EQ(len, 30);
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 0);
    fg_destroy(&g);
}

/* lens NULL means nothing was written; batch and single calls mix. */
static void test_push_batch_without_lens_and_mixed_with_pop(void)
{
    struct fake_guest g;
    VuVirtqElement e[2], *single;
    uint32_t id, len;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, i, 1, 0, 16);
    }
    single = vu_queue_pop(&g.dev, fg_vq(&g, 0), sizeof(*single));
    EXPECT_NOT_NULL(single);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA), 2);
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), e, NULL, 2);
    vu_queue_push(&g.dev, fg_vq(&g, 0), single, 7);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_used_idx(&g, 0), 3);
    fg_used_elem(&g, 0, 1, &id, &len);
    EXPECT_EQ(id, 2);
    EXPECT_EQ(len, 0);
    fg_used_elem(&g, 0, 2, &id, &len);
    EXPECT_EQ(id, 0);
    EXPECT_EQ(len, 7);
    free(single);
    fg_destroy(&g);
}

/* An element the device does not hold (here: pushed twice) breaks the
 * device and nothing of that batch is published. */
static void test_push_batch_refuses_an_element_not_held(void)
{
    struct fake_guest g;
    VuVirtqElement e[2];

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 16);
    fg_post_chain(&g, 0, 1, 1, 0, 16);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA), 2);
    VuVirtqElement twice[2] = { e[0], e[0] };
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), twice, NULL, 2);
    EXPECT_TRUE(g.dev.broken);
    EXPECT_CONTAINS(g.last_panic, "was not popped");
    EXPECT_EQ(fg_used_idx(&g, 0), 0);
    fg_destroy(&g);
}

/* Batch-popped elements can be given back with rewind, in pop order. */
static void test_rewind_after_pop_batch(void)
{
    struct fake_guest g;
    VuVirtqElement e[4];

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    for (unsigned i = 0; i < 3; i++) {
        fg_post_chain(&g, 0, i, 1, 0, 16);
    }
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 4, arena, ARENA), 3);
    EXPECT_TRUE(vu_queue_rewind(&g.dev, fg_vq(&g, 0), 2));
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 1);
    EXPECT_EQ(
        vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e + 1, 3, arena + 8, ARENA),
        2);
    EXPECT_EQ(e[1].index, 1);
    EXPECT_EQ(e[2].index, 2);
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), e, NULL, 3);
    fg_expect_healthy(&g);
    EXPECT_EQ(fg_used_idx(&g, 0), 3);
    fg_destroy(&g);
}

/* Not ready (no rings) or max 0: nothing, and no complaint. */
static void test_pop_batch_on_a_stopped_queue(void)
{
    struct fake_guest g;
    VuVirtqElement e[2];

    fg_init(&g, 1);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 2, arena, ARENA), 0);
    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 16);
    EXPECT_EQ(vu_queue_pop_batch(&g.dev, fg_vq(&g, 0), e, 0, arena, ARENA), 0);
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), NULL, NULL, 0);
    fg_expect_healthy(&g);
    vu_queue_push_batch(&g.dev, fg_vq(&g, 0), NULL, NULL, 1);
    EXPECT_TRUE(g.dev.broken);
    EXPECT_CONTAINS(g.last_panic, "no array");
    fg_destroy(&g);
}

int main(void)
{
    RUN_TEST(test_pop_batch_takes_every_chain);
    RUN_TEST(test_pop_batch_honours_max);
    RUN_TEST(test_pop_batch_moves_avail_event);
    RUN_TEST(test_pop_batch_refuses_short_arrays);
    RUN_TEST(test_pop_batch_stops_when_arena_is_full);
    RUN_TEST(test_pop_batch_stops_at_a_bad_chain);
    RUN_TEST(test_push_batch_publishes_in_order);
    RUN_TEST(test_push_batch_without_lens_and_mixed_with_pop);
    RUN_TEST(test_push_batch_refuses_an_element_not_held);
    RUN_TEST(test_rewind_after_pop_batch);
    RUN_TEST(test_pop_batch_on_a_stopped_queue);
    END_TESTS();
}
