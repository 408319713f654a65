/*
 * Regression tests for the "Rings and descriptors" table of threats.md: a
 * hostile guest writes the rings; every case must end with the device
 * broken and a reason given (or a clean refusal), no access outside guest
 * memory, no endless loop and no leak.  Each test names its table row.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define F_NEXT VRING_DESC_F_NEXT
#define F_WRITE VRING_DESC_F_WRITE
#define F_INDIRECT VRING_DESC_F_INDIRECT

static VuVirtqElement *pop(struct fake_guest *g, unsigned q)
{
    return vu_queue_pop(&g->dev, fg_vq(g, q), sizeof(VuVirtqElement));
}

static void expect_broken(struct fake_guest *g, const char *why)
{
    EXPECT_TRUE(g->dev.broken);
    EXPECT_EQ(g->panics, 1);
    EXPECT_CONTAINS(g->last_panic, why);
}

static void expect_healthy(struct fake_guest *g)
{
    if (g->dev.broken) {
        VU_TEST_FAIL("device broken: %s", g->last_panic);
    }
}

/* A queue of num entries with indirect descriptors negotiated. */
static void setup(struct fake_guest *g, unsigned num)
{
    fg_init(g, 1);
    g->dev.features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
    fg_setup_queue(g, 0, num);
}

/* Post head, pop it, and expect a refusal naming why. */
static void expect_pop_rejected(struct fake_guest *g, uint16_t head,
                                const char *why)
{
    fg_avail_add(g, 0, head);
    EXPECT_NULL(pop(g, 0));
    expect_broken(g, why);
    /* Once broken, nothing more is handed out or written. */
    EXPECT_NULL(pop(g, 0));
    EXPECT_EQ(g->panics, 1);
    fg_destroy(g);
}

/* Row "loops": a next cycle. */
static void test_loops_next_cycle(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, F_NEXT, 1);
    fg_desc(&g, 0, 1, fg_alloc(&g, 8), 8, F_NEXT, 0);
    expect_pop_rejected(&g, 0, "loops");
}

/* Row "loops": a self loop with every length 0. */
static void test_loops_zero_lengths(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 5, 0x40000, 0, F_NEXT, 5);
    expect_pop_rejected(&g, 5, "zero-length");
}

/* Row "loops": a cycle inside an indirect table. */
static void test_loops_in_indirect_table(void)
{
    struct fake_guest g;
    uint64_t t;

    setup(&g, 8);
    t = fg_alloc(&g, 4 * 16);
    for (unsigned i = 0; i < 4; i++) {
        fg_table_desc(&g, t, i, fg_alloc(&g, 4), 4, F_NEXT, (i + 1) % 4);
    }
    fg_desc(&g, 0, 0, t, 4 * 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "loops");
}

/* Row "loops": a chain longer than the queue size is refused even when
 * avail_bytes, which walks without mapping, looks at it. */
static void test_loops_seen_by_avail_bytes(void)
{
    struct fake_guest g;
    unsigned in = 7, out = 7;

    setup(&g, 4);
    for (unsigned i = 0; i < 4; i++) {
        fg_desc(&g, 0, i, fg_alloc(&g, 4), 4, F_NEXT, (i + 1) % 4);
    }
    fg_avail_add(&g, 0, 2);
    vu_queue_get_avail_bytes(&g.dev, fg_vq(&g, 0), &in, &out, ~0u, ~0u);
    EXPECT_EQ(in, 0);
    EXPECT_EQ(out, 0);
    expect_broken(&g, "loops");
    fg_destroy(&g);
}

/* Row "index bounds": head from the avail ring >= num. */
static void test_index_head_out_of_range(void)
{
    struct fake_guest g;

    setup(&g, 8);
    expect_pop_rejected(&g, 8, "head 8 out of range");
}

/* Row "index bounds": next >= table size. */
static void test_index_next_out_of_range(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, F_NEXT, 0xffff);
    expect_pop_rejected(&g, 0, "index out of range");
}

/* Row "index bounds": next >= indirect table size. */
static void test_index_next_out_of_indirect_table(void)
{
    struct fake_guest g;
    uint64_t t;

    setup(&g, 8);
    t = fg_alloc(&g, 2 * 16);
    fg_table_desc(&g, t, 0, fg_alloc(&g, 4), 4, F_NEXT, 2);
    fg_table_desc(&g, t, 1, fg_alloc(&g, 4), 4, 0, 0);
    fg_desc(&g, 0, 0, t, 2 * 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "index out of range");
}

/* Row "index bounds", defence in depth: a queue size above 1024 (which
 * SET_VRING_NUM refuses) set behind the library's back still cannot make a
 * head index the popped bitmap or the iovec arrays. */
static void test_queue_size_beyond_limit(void)
{
    struct fake_guest g;
    VuVirtqElement fake = { .index = 1500 };

    fg_init(&g, 1);
    fg_setup_queue_at(&g, 0, 2048, FG_REGION_C, FG_REGION_C + 0x8000,
                      FG_REGION_C + 0x10000);
    fg_desc(&g, 0, 1500, fg_alloc(&g, 8), 8, 0, 0);
    fg_avail_add(&g, 0, 1500);
    EXPECT_NULL(pop(&g, 0));
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 0);
    vu_queue_push(&g.dev, fg_vq(&g, 0), &fake, 0);
    expect_broken(&g, "was not popped");
    EXPECT_EQ(fg_used_idx(&g, 0), 0);
    fg_destroy(&g);
}

/* Row "avail index jump": idx - last_avail_idx > num. */
static void test_avail_index_jump(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_set_avail_idx(&g, 0, 9);
    EXPECT_NULL(pop(&g, 0));
    expect_broken(&g, "avail index moved by 9");
    fg_destroy(&g);
}

/* Row "avail index jump": the index moving backwards. */
static void test_avail_index_backwards(void)
{
    struct fake_guest g;
    VuVirtqElement *e;

    setup(&g, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 8);
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    free(e);
    fg_set_avail_idx(&g, 0, 0);
    EXPECT_NULL(pop(&g, 0));
    expect_broken(&g, "avail index moved by 65535");
    fg_destroy(&g);
}

/* Row "avail index jump": a legal 16-bit wrap is not an error. */
static void test_avail_index_wraps(void)
{
    struct fake_guest g;
    VuVirtq *vq;

    setup(&g, 4);
    vq = fg_vq(&g, 0);
    vq->last_avail_idx = vq->shadow_avail_idx = 0xfffe;
    vq->used_idx = 0xfffe;
    fg_set_avail_idx(&g, 0, 0xfffe);
    for (unsigned i = 0; i < 4; i++) {
        VuVirtqElement *e;

        fg_post_chain(&g, 0, i, 1, 0, 8);
        e = pop(&g, 0);
        EXPECT_NOT_NULL(e);
        EXPECT_EQ(e->index, i);
        vu_queue_push(&g.dev, vq, e, 0);
        free(e);
    }
    EXPECT_EQ(vq->last_avail_idx, 2);
    EXPECT_EQ(fg_used_idx(&g, 0), 2);
    expect_healthy(&g);
    fg_destroy(&g);
}

/* Row "duplicate heads": the same head listed again while in flight. */
static void test_duplicate_head_in_flight(void)
{
    struct fake_guest g;
    VuVirtqElement *e;

    setup(&g, 8);
    fg_post_chain(&g, 0, 3, 1, 0, 8);
    e = pop(&g, 0);
    EXPECT_NOT_NULL(e);
    fg_avail_add(&g, 0, 3);
    EXPECT_NULL(pop(&g, 0));
    expect_broken(&g, "already in flight");
    EXPECT_EQ(fg_vq(&g, 0)->inuse, 1);
    free(e);
    fg_destroy(&g);
}

/* Row "duplicate heads": reusing a head after it was used is fine. */
static void test_head_reused_after_completion(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_post_chain(&g, 0, 3, 1, 0, 8);
    for (unsigned i = 0; i < 20; i++) {
        VuVirtqElement *e = pop(&g, 0);

        EXPECT_NOT_NULL(e);
        vu_queue_push(&g.dev, fg_vq(&g, 0), e, 0);
        free(e);
        fg_avail_add(&g, 0, 3);
    }
    expect_healthy(&g);
    fg_destroy(&g);
}

/* Row "address ranges": a buffer in the hole between regions. */
static void test_address_in_hole(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, FG_HOLE + 0x100, 64, 0, 0);
    expect_pop_rejected(&g, 0, "not in guest memory");
}

/* Row "address ranges": unmapped address with length 0. */
static void test_address_unmapped_len0(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, 0xdead0000000ULL, 0, 0, 0);
    expect_pop_rejected(&g, 0, "zero-length");
}

/* Row "address ranges": addr + len wraps around 2^64. */
static void test_address_wraps(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, UINT64_MAX - 15, 64, 0, 0);
    expect_pop_rejected(&g, 0, "wraps");
}

/* Row "address ranges": a buffer running past the last region's end. */
static void test_address_past_region_end(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, FG_REGION_C + 0x100000 - 8, 16, F_WRITE, 0);
    expect_pop_rejected(&g, 0, "not in guest memory");
}

/* Row "address ranges": starting in region B, running into the hole. */
static void test_address_into_hole(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, FG_HOLE - 8, 16, 0, 0);
    expect_pop_rejected(&g, 0, "not in guest memory");
}

/* Row "region-crossing buffers": an indirect table contiguous in guest
 * memory but split over two host mappings is copied byte by byte. */
static void test_indirect_table_across_regions(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    uint64_t t = FG_REGION_B - 40; /* 2.5 descriptors in A, 1.5 in B */
    uint64_t buf[4];

    setup(&g, 8);
    for (unsigned i = 0; i < 4; i++) {
        buf[i] = fg_alloc(&g, 100 + i);
    }
    /* Two readable then two writable; the table straddles the split, so
     * it is written byte by byte through the driver's two mappings. */
    for (unsigned i = 0; i < 4; i++) {
        static const uint16_t flags[4] = { F_NEXT, F_NEXT, F_NEXT | F_WRITE,
                                           F_WRITE };
        struct vring_desc d = {
            .addr = htole64(buf[i]),
            .len = htole32(100 + i),
            .flags = htole16(flags[i]),
            .next = htole16(i + 1),
        };
        const uint8_t *raw = (const uint8_t *)&d;

        for (unsigned b = 0; b < 16; b++) {
            *(uint8_t *)fg_ptr(&g, t + 16 * i + b, 1) = raw[b];
        }
    }
    fg_desc(&g, 0, 1, t, 4 * 16, F_INDIRECT, 0);
    fg_avail_add(&g, 0, 1);
    e = pop(&g, 0);
    expect_healthy(&g);
    EXPECT_NOT_NULL(e);
    EXPECT_EQ(e->out_num, 2);
    EXPECT_EQ(e->in_num, 2);
    EXPECT_EQ(e->out_sg[0].iov_len, 100);
    EXPECT_EQ(e->out_sg[1].iov_len, 101);
    EXPECT_EQ(e->in_sg[0].iov_len, 102);
    EXPECT_EQ(e->in_sg[1].iov_len, 103);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t plen = 100 + i;
        const struct iovec *v = i < 2 ? &e->out_sg[i] : &e->in_sg[i - 2];

        EXPECT_TRUE(v->iov_base == vu_gpa_to_va(&g.dev, &plen, buf[i]));
    }
    free(e);
    fg_destroy(&g);
}

static void indirect_case(uint64_t addr, uint32_t len, uint16_t flags,
                          const char *why)
{
    struct fake_guest g;

    setup(&g, 8);
    if (addr == 0) {
        addr = fg_alloc(&g, 32 * 1024);
        fg_table_desc(&g, addr, 0, fg_alloc(&g, 8), 8, 0, 0);
    }
    fg_desc(&g, 0, 0, addr, len, flags, 1);
    fg_desc(&g, 0, 1, fg_alloc(&g, 8), 8, 0, 0);
    expect_pop_rejected(&g, 0, why);
}

/* Row "indirect tables": length 0, not a multiple of 16, too long. */
static void test_indirect_bad_lengths(void)
{
    indirect_case(0, 0, F_INDIRECT, "bad indirect table length");
    indirect_case(0, 17, F_INDIRECT, "bad indirect table length");
    indirect_case(0, 16 * 1024 + 16, F_INDIRECT, "bad indirect table length");
}

/* Row "indirect tables": INDIRECT with NEXT or WRITE. */
static void test_indirect_with_next_or_write(void)
{
    indirect_case(0, 16, F_INDIRECT | F_NEXT, "NEXT or WRITE");
    indirect_case(0, 16, F_INDIRECT | F_WRITE, "NEXT or WRITE");
}

/* Row "indirect tables": table outside memory, or straddling the hole. */
static void test_indirect_table_outside_memory(void)
{
    indirect_case(FG_HOLE + 0x1000, 64, F_INDIRECT, "indirect table not in");
    indirect_case(FG_HOLE - 32, 64, F_INDIRECT, "indirect table not in");
}

/* Row "indirect tables": nested indirect. */
static void test_indirect_nested(void)
{
    struct fake_guest g;
    uint64_t outer, inner;

    setup(&g, 8);
    outer = fg_alloc(&g, 16);
    inner = fg_alloc(&g, 16);
    fg_table_desc(&g, inner, 0, fg_alloc(&g, 8), 8, 0, 0);
    fg_table_desc(&g, outer, 0, inner, 16, F_INDIRECT, 0);
    fg_desc(&g, 0, 0, outer, 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "nested indirect");
}

/* Row "indirect tables": INDIRECT used without the feature, or not as the
 * chain head. */
static void test_indirect_not_negotiated_or_not_head(void)
{
    struct fake_guest g;
    uint64_t t;

    fg_init(&g, 1);
    fg_setup_queue(&g, 0, 8);
    t = fg_alloc(&g, 16);
    fg_table_desc(&g, t, 0, fg_alloc(&g, 8), 8, 0, 0);
    fg_desc(&g, 0, 0, t, 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "without INDIRECT_DESC");

    setup(&g, 8);
    t = fg_alloc(&g, 16);
    fg_table_desc(&g, t, 0, fg_alloc(&g, 8), 8, 0, 0);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, F_NEXT, 1);
    fg_desc(&g, 0, 1, t, 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "not at the chain head");
}

/* Row "length sums": a chain of 2^32 bytes.  Region D is a sparse 4 GiB
 * memfd so that both buffers are really mapped. */
static void test_length_sum_over_4g(void)
{
    struct fake_guest g;
    const uint64_t d = 0x100000000ULL;

    setup(&g, 8);
    fg_add_region(&g, d, 0x100000000ULL);
    fg_desc(&g, 0, 0, d, 0x80000000u, F_NEXT, 1);
    fg_desc(&g, 0, 1, d + 0x80000000ULL, 0x80000000u, 0, 0);
    expect_pop_rejected(&g, 0, "exceeds 4 GiB");
}

/* Row "descriptor order": a readable descriptor after a writable one. */
static void test_readable_after_writable(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, F_WRITE | F_NEXT, 1);
    fg_desc(&g, 0, 1, fg_alloc(&g, 8), 8, 0, 0);
    expect_pop_rejected(&g, 0, "readable descriptor after a writable");
}

/* Row "descriptor order": unknown flag bits. */
static void test_unknown_flags(void)
{
    struct fake_guest g;

    setup(&g, 8);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, 0x8, 0);
    expect_pop_rejected(&g, 0, "unknown descriptor flags");
}

/* Row "too many segments": 1024 one-byte descriptors is the limit and
 * works; 1024 descriptors that each split over two mappings need 2048
 * iovecs and are refused. */
static void test_too_many_segments(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    uint64_t t;

    setup(&g, 1024);
    for (unsigned i = 0; i < 1024; i++) {
        fg_desc(&g, 0, i, 0x40000 + i, 1, i < 1023 ? F_NEXT : 0, i + 1);
    }
    fg_avail_add(&g, 0, 0);
    e = pop(&g, 0);
    expect_healthy(&g);
    EXPECT_NOT_NULL(e);
    EXPECT_EQ(e->out_num, 1024);
    free(e);
    fg_destroy(&g);

    setup(&g, 8);
    t = fg_alloc(&g, 1024 * 16);
    for (unsigned i = 0; i < 1024; i++) {
        fg_table_desc(&g, t, i, FG_REGION_B - 1, 2, i < 1023 ? F_NEXT : 0,
                      i + 1);
    }
    fg_desc(&g, 0, 0, t, 1024 * 16, F_INDIRECT, 0);
    expect_pop_rejected(&g, 0, "more than 1024 iovecs");
}

/* Row "double fetch": a thread keeps flipping a descriptor's length between
 * a size that fits (16) and one that runs off the end of guest memory.
 * Every pop must either fail cleanly or describe exactly 16 bytes: the
 * length that was checked is the length that is used. */
struct flipper {
    uint32_t *len;
    bool stop; /* accessed atomically */
};

static void *flip_len(void *arg)
{
    struct flipper *f = arg;

    while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
        __atomic_store_n(f->len, htole32(16), __ATOMIC_RELAXED);
        __atomic_store_n(f->len, htole32(4096), __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_double_fetch_len(void)
{
    struct fake_guest g;
    struct flipper f = { .stop = false };
    pthread_t th;
    unsigned ok = 0, refused = 0;

    setup(&g, 8);
    fg_desc(&g, 0, 0, FG_REGION_C + 0x100000 - 16, 16, 0, 0);
    f.len = fg_ptr(&g, g.q[0].desc + 8, 4);
    EXPECT_EQ(pthread_create(&th, NULL, flip_len, &f), 0);
    for (unsigned i = 0; i < 20000; i++) {
        VuVirtqElement *e;

        fg_avail_add(&g, 0, 0);
        e = pop(&g, 0);
        if (e) {
            EXPECT_EQ(e->out_num, 1);
            EXPECT_EQ(e->out_sg[0].iov_len, 16);
            vu_queue_push(&g.dev, fg_vq(&g, 0), e, 0);
            free(e);
            ok++;
        } else {
            EXPECT_CONTAINS(g.last_panic, "not in guest memory");
            /* Start over on a healthy device state. */
            g.dev.broken = false;
            fg_vq(&g, 0)->last_avail_idx = g.q[0].avail_idx;
            refused++;
        }
    }
    __atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    fprintf(stderr, "  %u accepted, %u refused\n", ok, refused);
    EXPECT_TRUE(ok + refused == 20000);
    fg_destroy(&g);
}

/* Row "event index": used_event at 0xffff across the 16-bit wrap. */
static void test_event_index_wrap(void)
{
    struct fake_guest g;
    VuVirtq *vq;
    int fd;

    setup(&g, 4);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    vq = fg_vq(&g, 0);
    vq->last_avail_idx = vq->shadow_avail_idx = vq->used_idx = 0xfffd;
    vq->signalled_used = 0xfffd;
    vq->signalled_used_valid = true;
    fg_set_avail_idx(&g, 0, 0xfffd);
    fd = fg_set_call_eventfd(&g, 0);
    fg_set_used_event(&g, 0, 0xffff);
    for (unsigned i = 0; i < 3; i++) {
        VuVirtqElement *e;

        fg_post_chain(&g, 0, i, 1, 0, 8);
        e = pop(&g, 0);
        EXPECT_NOT_NULL(e);
        vu_queue_push(&g.dev, vq, e, 0);
        free(e);
        vu_queue_notify(&g.dev, vq);
        /* Due only when used idx steps from 0xffff to 0x0000. */
        EXPECT_EQ(fg_eventfd_count(fd), i == 2 ? 1 : 0);
    }
    EXPECT_EQ(fg_used_idx(&g, 0), 0);
    /* avail_event sits in the used ring's slot num: written, no further. */
    EXPECT_EQ(fg_avail_event(&g, 0), 0);
    expect_healthy(&g);
    fg_destroy(&g);
}

/* Row "event index": the avail ring ends exactly at a region end, so its
 * used_event slot (ring[num]) is the region's last two bytes; the used
 * ring's avail_event slot sits right below. */
static void test_event_slots_at_region_end(void)
{
    struct fake_guest g;
    const unsigned num = 4;
    uint64_t avail = FG_REGION_C + 0x100000 - (4 + 2 * num + 2);
    uint64_t used = (avail - (4 + 8 * num + 2)) & ~3ULL;
    int fd;

    fg_init(&g, 1);
    g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    fg_setup_queue_at(&g, 0, num, FG_REGION_C, avail, used);
    fd = fg_set_call_eventfd(&g, 0);
    fg_set_used_event(&g, 0, 5);
    for (unsigned i = 0; i < 2; i++) {
        VuVirtqElement *e;

        fg_post_chain(&g, 0, i, 1, 0, 8);
        e = pop(&g, 0);
        EXPECT_NOT_NULL(e);
        EXPECT_EQ(fg_avail_event(&g, 0), i + 1);
        vu_queue_push(&g.dev, fg_vq(&g, 0), e, 0);
        free(e);
        vu_queue_notify(&g.dev, fg_vq(&g, 0));
        /* The first call always goes; then used_event 5 is not reached. */
        EXPECT_EQ(fg_eventfd_count(fd), i == 0 ? 1 : 0);
    }
    expect_healthy(&g);
    fg_destroy(&g);
}

/* Row "torn ring indices": used->idx moves 0x00ff -> 0x0100 (both bytes
 * change); a reader never sees a mix of old and new bytes. */
struct watcher {
    const uint16_t *idx;
    bool stop; /* accessed atomically */
    unsigned torn;
};

static void *watch_idx(void *arg)
{
    struct watcher *w = arg;

    while (!__atomic_load_n(&w->stop, __ATOMIC_RELAXED)) {
        uint16_t v = le16toh(__atomic_load_n(w->idx, __ATOMIC_RELAXED));

        if (v != 0x00ff && v != 0x0100) {
            w->torn++;
        }
    }
    return NULL;
}

static void test_used_idx_never_torn(void)
{
    struct fake_guest g;
    struct watcher w = { .stop = false };
    pthread_t th;
    VuVirtq *vq;

    setup(&g, 4);
    vq = fg_vq(&g, 0);
    w.idx = fg_ptr(&g, g.q[0].used + 2, 2);
    vq->used_idx = 0x00ff;
    vq->last_avail_idx = vq->shadow_avail_idx = 0x00ff;
    fg_set_avail_idx(&g, 0, 0x00ff);
    *(uint16_t *)fg_ptr(&g, g.q[0].used + 2, 2) = htole16(0x00ff);
    fg_desc(&g, 0, 0, fg_alloc(&g, 8), 8, 0, 0);
    EXPECT_EQ(pthread_create(&th, NULL, watch_idx, &w), 0);
    for (unsigned i = 0; i < 20000; i++) {
        VuVirtqElement *e;

        fg_avail_add(&g, 0, 0);
        e = pop(&g, 0);
        EXPECT_NOT_NULL(e);
        vu_queue_push(&g.dev, vq, e, 0);
        free(e);
        /* Back to 0x00ff for the next round. */
        vq->used_idx = 0x00ff;
        vu_ring_store16(&vq->vring.used->idx, 0x00ff);
        vq->last_avail_idx = 0x00ff;
        fg_set_avail_idx(&g, 0, 0x00ff);
    }
    __atomic_store_n(&w.stop, true, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    EXPECT_EQ(w.torn, 0);
    expect_healthy(&g);
    fg_destroy(&g);
}

/* Row "kicks out of state": before rings are set up, after a stop
 * (GET_VRING_BASE resets the queue), on a queue not started. */
static void test_out_of_state_calls(void)
{
    struct fake_guest g;
    VuVirtq *vq;
    unsigned in = 5, out = 5;

    fg_init(&g, 1);
    vq = fg_vq(&g, 0);
    vq->started = true; /* a kick arrived, but no rings yet */
    EXPECT_NULL(pop(&g, 0));
    EXPECT_TRUE(vu_queue_empty(&g.dev, vq));
    vu_queue_flush(&g.dev, vq, 0);
    vu_queue_notify(&g.dev, vq);
    vu_queue_set_notification(&g.dev, vq, 1);
    vu_queue_get_avail_bytes(&g.dev, vq, &in, &out, ~0u, ~0u);
    EXPECT_EQ(in, 0);
    EXPECT_EQ(out, 0);
    EXPECT_FALSE(g.dev.broken);

    fg_setup_queue(&g, 0, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 8);
    vu_vring_reset(&g.dev, vq); /* what GET_VRING_BASE does */
    EXPECT_NULL(pop(&g, 0));
    EXPECT_FALSE(g.dev.broken);
    EXPECT_EQ(g.panics, 0);
    fg_destroy(&g);
}

/* Row "API misuse by the device": push of an element never popped, head
 * >= num, a second push of the same element, a flush beyond what is in
 * use, an element size too small.  The used ring stays untouched. */
static void test_misuse_push_not_popped(void)
{
    struct fake_guest g;
    VuVirtqElement fake = { .index = 2 };

    setup(&g, 8);
    vu_queue_push(&g.dev, fg_vq(&g, 0), &fake, 10);
    expect_broken(&g, "was not popped");
    EXPECT_EQ(fg_used_idx(&g, 0), 0);
    fg_destroy(&g);

    setup(&g, 8);
    fake.index = 8;
    vu_queue_fill(&g.dev, fg_vq(&g, 0), &fake, 10, 0);
    expect_broken(&g, "was not popped");
    fg_destroy(&g);
}

static void test_misuse_double_push(void)
{
    struct fake_guest g;
    VuVirtqElement *e;
    uint32_t id, len;

    setup(&g, 8);
    fg_post_chain(&g, 0, 1, 1, 0, 8);
    fg_post_chain(&g, 0, 4, 1, 0, 8);
    e = pop(&g, 0);
    free(pop(&g, 0));
    vu_queue_push(&g.dev, fg_vq(&g, 0), e, 5);
    vu_queue_push(&g.dev, fg_vq(&g, 0), e, 6);
    expect_broken(&g, "was not popped");
    EXPECT_EQ(fg_used_idx(&g, 0), 1);
    fg_used_elem(&g, 0, 1, &id, &len);
    EXPECT_EQ(id, 0);
    EXPECT_EQ(len, 0);
    free(e);
    fg_destroy(&g);
}

static void test_misuse_flush_and_fill_beyond_inuse(void)
{
    struct fake_guest g;
    VuVirtqElement *e;

    setup(&g, 8);
    fg_post_chain(&g, 0, 1, 1, 0, 8);
    e = pop(&g, 0);
    vu_queue_fill(&g.dev, fg_vq(&g, 0), e, 0, 1);
    expect_broken(&g, "batch position 1");
    free(e);
    fg_destroy(&g);

    setup(&g, 8);
    vu_queue_flush(&g.dev, fg_vq(&g, 0), 1);
    expect_broken(&g, "1 completions but 0 in use");
    EXPECT_EQ(fg_used_idx(&g, 0), 0);
    fg_destroy(&g);
}

static void test_misuse_small_element_and_foreign_queue(void)
{
    struct fake_guest g, other;

    setup(&g, 8);
    fg_post_chain(&g, 0, 0, 1, 0, 8);
    EXPECT_NULL(vu_queue_pop(&g.dev, fg_vq(&g, 0), 4));
    expect_broken(&g, "element size 4");
    EXPECT_EQ(fg_vq(&g, 0)->last_avail_idx, 0);
    fg_destroy(&g);

    /* A queue of another device is ignored, not dereferenced as ours. */
    setup(&g, 8);
    setup(&other, 8);
    fg_post_chain(&other, 0, 0, 1, 0, 8);
    EXPECT_NULL(vu_queue_pop(&g.dev, fg_vq(&other, 0), 64));
    EXPECT_EQ(fg_vq(&other, 0)->last_avail_idx, 0);
    fg_destroy(&other);
    fg_destroy(&g);
}

/* The harness itself: guard pages make an access one byte past the
 * library's mapping of a region fault, so the address-range rows above
 * would crash rather than pass if the library read out of bounds. */
static void test_harness_guard_pages_fault(void)
{
    struct fake_guest g;
    uint64_t len = 1;
    volatile uint8_t *last;
    pid_t pid;
    int status;

    fg_init(&g, 1);
    EXPECT_LE(3, g.nguards);
    last = vu_gpa_to_va(&g.dev, &len, FG_HOLE - 1);
    EXPECT_NOT_NULL(last);
    (void)last[0];
    if (RUNNING_ON_VALGRIND) { /* its report of the child would count */
        fg_destroy(&g);
        return;
    }
    pid = fork();
    EXPECT_SUCCESS(pid);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        (void)last[1];
        _exit(0);
    }
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status));
    EXPECT_EQ(WTERMSIG(status), SIGSEGV);
    fg_destroy(&g);
}

int main(void)
{
    RUN_TEST(test_harness_guard_pages_fault);
    RUN_TEST(test_loops_next_cycle);
    RUN_TEST(test_loops_zero_lengths);
    RUN_TEST(test_loops_in_indirect_table);
    RUN_TEST(test_loops_seen_by_avail_bytes);
    RUN_TEST(test_index_head_out_of_range);
    RUN_TEST(test_index_next_out_of_range);
    RUN_TEST(test_index_next_out_of_indirect_table);
    RUN_TEST(test_queue_size_beyond_limit);
    RUN_TEST(test_avail_index_jump);
    RUN_TEST(test_avail_index_backwards);
    RUN_TEST(test_avail_index_wraps);
    RUN_TEST(test_duplicate_head_in_flight);
    RUN_TEST(test_head_reused_after_completion);
    RUN_TEST(test_address_in_hole);
    RUN_TEST(test_address_unmapped_len0);
    RUN_TEST(test_address_wraps);
    RUN_TEST(test_address_past_region_end);
    RUN_TEST(test_address_into_hole);
    RUN_TEST(test_indirect_table_across_regions);
    RUN_TEST(test_indirect_bad_lengths);
    RUN_TEST(test_indirect_with_next_or_write);
    RUN_TEST(test_indirect_table_outside_memory);
    RUN_TEST(test_indirect_nested);
    RUN_TEST(test_indirect_not_negotiated_or_not_head);
    RUN_TEST(test_length_sum_over_4g);
    RUN_TEST(test_readable_after_writable);
    RUN_TEST(test_unknown_flags);
    RUN_TEST(test_too_many_segments);
    RUN_TEST(test_double_fetch_len);
    RUN_TEST(test_event_index_wrap);
    RUN_TEST(test_event_slots_at_region_end);
    RUN_TEST(test_used_idx_never_torn);
    RUN_TEST(test_out_of_state_calls);
    RUN_TEST(test_misuse_push_not_popped);
    RUN_TEST(test_misuse_double_push);
    RUN_TEST(test_misuse_flush_and_fill_beyond_inuse);
    RUN_TEST(test_misuse_small_element_and_foreign_queue);
    END_TESTS();
}
