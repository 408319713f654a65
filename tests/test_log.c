/*
 * Dirty page logging during migration (VHOST_F_LOG_ALL): exactly the pages
 * the device wrote are marked, the log is never written out of bounds, and
 * the frontend is told through log_call_fd.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <sys/eventfd.h>
#include <sys/mman.h>

#define LOG_BYTES 4096u /* covers 32768 pages = 128 MiB of guest memory */

struct log_env {
    struct fake_guest g;
    uint8_t *log; /* the library's log_table */
    int call;     /* log_call_fd, owned by the library */
};

/* A log of log_size bytes inside a LOG_BYTES mapping (the rest is a guard
 * that must stay untouched). */
static void log_setup(struct log_env *env, uint64_t log_size, bool ring_flag)
{
    struct fake_guest *g = &env->g;
    struct vu_impl *impl;

    fg_init(g, 2);
    fg_setup_queue(g, 0, 8);
    fg_setup_queue(g, 1, 8);
    impl = vu_impl(&g->dev);
    env->log = mmap(NULL, LOG_BYTES, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    EXPECT_TRUE(env->log != MAP_FAILED);
    impl->log_map_base = env->log;
    impl->log_map_len = LOG_BYTES;
    g->dev.log_table = env->log;
    g->dev.log_size = log_size;
    g->dev.features |= 1ULL << VHOST_F_LOG_ALL;
    env->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    EXPECT_SUCCESS(env->call);
    g->dev.log_call_fd = env->call;
    for (unsigned q = 0; q < 2; q++) {
        fg_vq(g, q)->vring.flags = ring_flag ? 1u << VHOST_VRING_F_LOG : 0;
    }
}

static bool page_dirty(const struct log_env *env, uint64_t page)
{
    return env->log[page / 8] & (1u << (page % 8));
}

static unsigned dirty_pages(const struct log_env *env)
{
    unsigned n = 0;

    for (unsigned i = 0; i < LOG_BYTES; i++) {
        n += (unsigned)__builtin_popcount(env->log[i]);
    }
    return n;
}

/* Post one chain (out buffer, then in buffer at in_gpa of in_len), pop it
 * and push it with len written. */
static void push_chain(struct log_env *env, uint64_t in_gpa, uint32_t in_len,
                       uint32_t written)
{
    struct fake_guest *g = &env->g;
    VuVirtqElement *e;

    fg_desc(g, 0, 0, 0x80000, 0x100, VRING_DESC_F_NEXT, 1);
    fg_desc(g, 0, 1, in_gpa, in_len, VRING_DESC_F_WRITE, 0);
    fg_avail_add(g, 0, 0);
    e = vu_queue_pop(&g->dev, fg_vq(g, 0), sizeof(*e));
    EXPECT_NOT_NULL(e);
    vu_queue_push(&g->dev, fg_vq(g, 0), e, written);
    free(e);
}

static void test_push_marks_written_pages_and_used_ring(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, true);
    push_chain(&env, 0x90800, 0x3000, 0x1000);
    EXPECT_FALSE(env.g.dev.broken);
    /* Bytes 0x90800..0x917ff were written: pages 0x90 and 0x91. */
    EXPECT_TRUE(page_dirty(&env, 0x90));
    EXPECT_TRUE(page_dirty(&env, 0x91));
    EXPECT_FALSE(page_dirty(&env, 0x92));
    /* The readable buffer was only read. */
    EXPECT_FALSE(page_dirty(&env, 0x80));
    /* Queue 0's used ring is at gpa 0x5000 (element and index). */
    EXPECT_TRUE(page_dirty(&env, 0x5));
    EXPECT_EQ(dirty_pages(&env), 3);
    EXPECT_EQ(fg_eventfd_count(env.call), 1);
    fg_destroy(&env.g);
}

/* The in-buffer crosses from region A into region B: both sides logged
 * from the guest addresses saved at pop time. */
static void test_written_bytes_across_regions(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, false);
    push_chain(&env, FG_REGION_B - 0x10, 0x20, 0x20);
    EXPECT_TRUE(page_dirty(&env, (FG_REGION_B >> 12) - 1));
    EXPECT_TRUE(page_dirty(&env, FG_REGION_B >> 12));
    /* Without VHOST_VRING_F_LOG the used ring is not logged. */
    EXPECT_FALSE(page_dirty(&env, 0x5));
    EXPECT_EQ(dirty_pages(&env), 2);
    fg_destroy(&env.g);
}

/* A device claiming more than the buffers hold logs only the buffers. */
static void test_len_beyond_buffers_is_clamped(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, false);
    push_chain(&env, 0x90000, 0x1000, 0x100000);
    EXPECT_FALSE(env.g.dev.broken);
    EXPECT_TRUE(page_dirty(&env, 0x90));
    EXPECT_EQ(dirty_pages(&env), 1);
    fg_destroy(&env.g);
}

static void test_nothing_logged_without_log_all(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, true);
    env.g.dev.features &= ~(1ULL << VHOST_F_LOG_ALL);
    push_chain(&env, 0x90000, 0x1000, 0x1000);
    EXPECT_EQ(dirty_pages(&env), 0);
    EXPECT_EQ(fg_eventfd_count(env.call), 0);
    fg_destroy(&env.g);
}

/* Threat row "log base: log writes past the log": the page lies beyond
 * log_size; the device fails and nothing past the log is touched. */
static void test_page_beyond_log_fails(void)
{
    struct log_env env;

    log_setup(&env, 0x10, false); /* pages 0..0x7f only */
    push_chain(&env, 0x90000, 0x1000, 0x1000);
    EXPECT_TRUE(env.g.dev.broken);
    EXPECT_CONTAINS(env.g.last_panic, "beyond the 16-byte log");
    EXPECT_EQ(dirty_pages(&env), 0);
    fg_destroy(&env.g);
}

static void test_log_write_ranges(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, false);
    vu_log_write(&env.g.dev, 0, 64 * 4096); /* pages 0..63 */
    for (unsigned i = 0; i < 8; i++) {
        EXPECT_EQ(env.log[i], 0xff);
    }
    EXPECT_EQ(env.log[8], 0);
    memset(env.log, 0, LOG_BYTES);
    vu_log_write(&env.g.dev, 3 * 4096 + 5, 9 * 4096); /* pages 3..12 */
    EXPECT_EQ(env.log[0], 0xf8);
    EXPECT_EQ(env.log[1], 0x1f);
    EXPECT_EQ(dirty_pages(&env), 10);
    memset(env.log, 0, LOG_BYTES);
    vu_log_write(&env.g.dev, 0x7000, 1); /* one byte, one page */
    EXPECT_EQ(env.log[0], 0x80);
    vu_log_write(&env.g.dev, 0x9000, 0); /* nothing */
    EXPECT_EQ(dirty_pages(&env), 1);
    EXPECT_FALSE(env.g.dev.broken);
    /* A range wrapping around 2^64 is refused, not wrapped into the log. */
    vu_log_write(&env.g.dev, UINT64_MAX - 10, 100);
    EXPECT_TRUE(env.g.dev.broken);
    EXPECT_CONTAINS(env.g.last_panic, "wraps");
    EXPECT_EQ(dirty_pages(&env), 1);
    fg_destroy(&env.g);
}

/* Ring metadata written outside push is logged too: the used flags by
 * set_notification, avail_event by pop (queue 1's used ring: 0xd000). */
static void test_ring_metadata_logged(void)
{
    struct log_env env;
    VuVirtqElement *e;

    log_setup(&env, LOG_BYTES, true);
    vu_queue_set_notification(&env.g.dev, fg_vq(&env.g, 1), 0);
    EXPECT_TRUE(page_dirty(&env, 0xd));
    EXPECT_EQ(dirty_pages(&env), 1);
    memset(env.log, 0, LOG_BYTES);
    env.g.dev.features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    vu_queue_set_notification(&env.g.dev, fg_vq(&env.g, 1), 1);
    EXPECT_TRUE(page_dirty(&env, 0xd));
    memset(env.log, 0, LOG_BYTES);
    fg_post_chain(&env.g, 1, 0, 1, 0, 8);
    e = vu_queue_pop(&env.g.dev, fg_vq(&env.g, 1), sizeof(*e));
    EXPECT_NOT_NULL(e);
    free(e);
    EXPECT_TRUE(page_dirty(&env, 0xd));
    EXPECT_EQ(dirty_pages(&env), 1);
    fg_destroy(&env.g);
}

/* fill logs what the element's in_sg covers, found from the host pointers
 * pop built; a device that copied the element struct still logs right, and
 * an iovec pointing outside guest memory is refused, not guessed at. */
static void test_fill_logs_from_in_sg(void)
{
    struct log_env env;
    VuVirtqElement *e, copy;
    struct iovec mine[1];
    char outside[64];

    log_setup(&env, LOG_BYTES, false);
    fg_desc(&env.g, 0, 0, 0x90000, 0x3000, VRING_DESC_F_WRITE, 0);
    fg_avail_add(&env.g, 0, 0);
    e = vu_queue_pop(&env.g.dev, fg_vq(&env.g, 0), sizeof(*e));
    EXPECT_NOT_NULL(e);
    copy = *e;
    mine[0] = e->in_sg[0];
    copy.in_sg = mine;
    vu_queue_fill(&env.g.dev, fg_vq(&env.g, 0), &copy, 0x1800, 0);
    EXPECT_FALSE(env.g.dev.broken);
    EXPECT_TRUE(page_dirty(&env, 0x90));
    EXPECT_TRUE(page_dirty(&env, 0x91));
    EXPECT_EQ(dirty_pages(&env), 2);
    free(e);
    fg_destroy(&env.g);

    log_setup(&env, LOG_BYTES, false);
    fg_desc(&env.g, 0, 0, 0x90000, 0x1000, VRING_DESC_F_WRITE, 0);
    fg_avail_add(&env.g, 0, 0);
    e = vu_queue_pop(&env.g.dev, fg_vq(&env.g, 0), sizeof(*e));
    mine[0].iov_base = outside;
    mine[0].iov_len = sizeof(outside);
    e->in_sg = mine;
    vu_queue_fill(&env.g.dev, fg_vq(&env.g, 0), e, 16, 0);
    EXPECT_TRUE(env.g.dev.broken);
    EXPECT_CONTAINS(env.g.last_panic, "written buffer is not in guest memory");
    EXPECT_EQ(dirty_pages(&env), 0);
    EXPECT_EQ(fg_used_idx(&env.g, 0), 0);
    free(e);
    fg_destroy(&env.g);
}

/* A used-ring log address that wraps with the ring offset is refused. */
static void test_used_ring_log_address_wraps(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, true);
    fg_vq(&env.g, 0)->vring.log_guest_addr = UINT64_MAX - 1;
    vu_queue_flush(&env.g.dev, fg_vq(&env.g, 0), 0); /* idx at offset 2 */
    EXPECT_TRUE(env.g.dev.broken);
    EXPECT_CONTAINS(env.g.last_panic, "used ring log address wraps");
    fg_destroy(&env.g);
}

static void test_log_close_releases_everything(void)
{
    struct log_env env;

    log_setup(&env, LOG_BYTES, true);
    vu_log_close(&env.g.dev);
    EXPECT_NULL(env.g.dev.log_table);
    EXPECT_EQ(env.g.dev.log_size, 0);
    EXPECT_EQ(env.g.dev.log_call_fd, -1);
    EXPECT_NULL(vu_impl(&env.g.dev)->log_map_base);
    /* Logging is off now: a push writes no log and raises nothing. */
    push_chain(&env, 0x90000, 0x1000, 0x1000);
    EXPECT_FALSE(env.g.dev.broken);
    vu_log_close(&env.g.dev); /* twice is harmless */
    fg_destroy(&env.g);
}

int main(void)
{
    RUN_TEST(test_push_marks_written_pages_and_used_ring);
    RUN_TEST(test_written_bytes_across_regions);
    RUN_TEST(test_len_beyond_buffers_is_clamped);
    RUN_TEST(test_nothing_logged_without_log_all);
    RUN_TEST(test_page_beyond_log_fails);
    RUN_TEST(test_log_write_ranges);
    RUN_TEST(test_ring_metadata_logged);
    RUN_TEST(test_fill_logs_from_in_sg);
    RUN_TEST(test_used_ring_log_address_wraps);
    RUN_TEST(test_log_close_releases_everything);
    END_TESTS();
}
