/*
 * threats.md "Messages" table, vring rows: queue index out of range in every
 * vring message, NOFD bit vs fd presence, queue size, ring placement.
 * "No state changed" is checked byte for byte: the whole vq array is
 * snapshotted before each refused message and compared after it.
 */
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <sys/eventfd.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define PROTO (P(MQ) | P(REPLY_ACK))
#define MAX_Q 2
#define QSIZE 64

struct vq_snapshot {
    VuVirtq vq[MAX_Q];
};

static void snap(const struct vu_session *s, struct vq_snapshot *out)
{
    memcpy(out->vq, s->td.dev.vq, sizeof(out->vq));
}

static void expect_unchanged(const struct vu_session *s,
                             const struct vq_snapshot *before)
{
    for (unsigned q = 0; q < MAX_Q; q++) {
        if (memcmp(&before->vq[q], &s->td.dev.vq[q], sizeof(VuVirtq)) != 0) {
            VU_TEST_FAIL("queue %u state changed by a refused message", q);
        }
    }
}

/* A session with memory and queue 0 running, queue 1 untouched. */
static void open_running(struct vu_session *s)
{
    sess_open(s, MAX_Q, PROTO);
    sess_memory(s);
    sess_ring(s, 0, QSIZE);
}

/* Refuse one message on a running session; nothing in any queue moves. */
static void refuse_vring(enum fe_refusal how, uint32_t request,
                         const void *payload, uint32_t size, const int *fds,
                         int nfds)
{
    struct vu_session s;
    struct vq_snapshot before;

    open_running(&s);
    snap(&s, &before);
    fe_expect_refused(&s.fe, how, request,
                      how == FE_REFUSED_BROKEN ? FE_VERSION : FE_ACK, payload,
                      size, fds, nfds);
    expect_unchanged(&s, &before);
    sess_close(&s);
}

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    return fd;
}

/* ---- row "queue index" ---- */

static const uint32_t bad_index[] = { MAX_Q,   0xff,       0x100,      0xffff,
                                      0x10000, 0x7fffffff, 0xffffffffu };
#define N_BAD_INDEX (sizeof(bad_index) / sizeof(bad_index[0]))

static void test_queue_index_state_messages(void)
{
    const uint32_t reqs[] = { VHOST_USER_SET_VRING_NUM,
                              VHOST_USER_SET_VRING_BASE,
                              VHOST_USER_SET_VRING_ENABLE };

    for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
        for (size_t i = 0; i < N_BAD_INDEX; i++) {
            struct vhost_vring_state st = { .index = bad_index[i], .num = 1 };
            refuse_vring(FE_REFUSED_ACK, reqs[r], &st, sizeof(st), NULL, 0);
        }
    }
}

/* GET_VRING_BASE is a question: refusal may break the device. */
static void test_queue_index_get_vring_base(void)
{
    for (size_t i = 0; i < N_BAD_INDEX; i++) {
        struct vhost_vring_state st = { .index = bad_index[i] };
        refuse_vring(FE_REFUSED_EITHER, VHOST_USER_GET_VRING_BASE, &st,
                     sizeof(st), NULL, 0);
    }
}

static void test_queue_index_vring_addr(void)
{
    for (size_t i = 0; i < N_BAD_INDEX; i++) {
        struct vhost_vring_addr a = {
            .index = bad_index[i],
            .desc_user_addr = SESS_RAM_UADDR + 0x10000,
            .avail_user_addr = SESS_RAM_UADDR + 0x11000,
            .used_user_addr = SESS_RAM_UADDR + 0x12000,
        };
        refuse_vring(FE_REFUSED_ACK, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a),
                     NULL, 0);
    }
}

/* KICK/CALL/ERR carry the index in the low byte of a u64; bits other than
 * the index and NOFD are reserved. */
static void test_queue_index_vring_fds(void)
{
    const uint32_t reqs[] = { VHOST_USER_SET_VRING_KICK,
                              VHOST_USER_SET_VRING_CALL,
                              VHOST_USER_SET_VRING_ERR };
    const uint64_t bad[] = { MAX_Q,      0xff,       0x200,
                             1ull << 32, 1ull << 63, 0xffffffffffffff00ull };
    int efd = new_eventfd();

    for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            refuse_vring(FE_REFUSED_ACK, reqs[r], &bad[i], 8, &efd, 1);
            uint64_t nofd = bad[i] | VHOST_USER_VRING_NOFD_MASK;
            refuse_vring(FE_REFUSED_ACK, reqs[r], &nofd, 8, NULL, 0);
        }
    }
    close(efd);
}

/* Without REPLY_ACK the refusal breaks the device; still no OOB write. */
static void test_queue_index_without_ack(void)
{
    struct vhost_vring_state st = { .index = 0xffff, .num = 64 };

    refuse_vring(FE_REFUSED_BROKEN, VHOST_USER_SET_VRING_NUM, &st, sizeof(st),
                 NULL, 0);
}

/* Ring indices are 16 bits: a larger SET_VRING_BASE is malformed. */
static void test_vring_base_16_bits(void)
{
    const uint32_t bad[] = { 0x10000, 0x12345, 0xffffffffu };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vhost_vring_state st = { .index = 0, .num = bad[i] };
        refuse_vring(FE_REFUSED_ACK, VHOST_USER_SET_VRING_BASE, &st, sizeof(st),
                     NULL, 0);
    }
}

/* SET_VRING_ENABLE takes 0 or 1; anything else is a malformed message. */
static void test_vring_enable_values(void)
{
    const uint32_t bad[] = { 2, 0x100, 0xffffffffu };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vhost_vring_state st = { .index = 0, .num = bad[i] };
        refuse_vring(FE_REFUSED_ACK, VHOST_USER_SET_VRING_ENABLE, &st,
                     sizeof(st), NULL, 0);
    }
}

/* ---- row "NOFD bit vs fd presence" ---- */

static void test_nofd_vs_fds(void)
{
    const uint32_t reqs[] = { VHOST_USER_SET_VRING_KICK,
                              VHOST_USER_SET_VRING_CALL,
                              VHOST_USER_SET_VRING_ERR };
    int fds[2] = { new_eventfd(), new_eventfd() };

    for (size_t r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
        uint64_t with_nofd = 1 | VHOST_USER_VRING_NOFD_MASK;
        uint64_t without = 1;
        refuse_vring(FE_REFUSED_ACK, reqs[r], &with_nofd, 8, fds, 1);
        refuse_vring(FE_REFUSED_ACK, reqs[r], &without, 8, NULL, 0);
        refuse_vring(FE_REFUSED_ACK, reqs[r], &without, 8, fds, 2);
        refuse_vring(FE_REFUSED_ACK, reqs[r], &with_nofd, 8, fds, 2);
    }
    close(fds[0]);
    close(fds[1]);
}

/* NOFD done right: accepted, and the queue's fd is simply cleared. */
static void test_nofd_accepted(void)
{
    struct vu_session s;

    open_running(&s);
    EXPECT_TRUE(s.td.dev.vq[0].call_fd >= 0);
    int before = test_open_fd_count();
    fe_set_vring_fd(&s.fe, VHOST_USER_SET_VRING_CALL, 0, -1);
    EXPECT_EQ(s.td.dev.vq[0].call_fd, -1);
    EXPECT_EQ(test_open_fd_count(), before - 1); /* the old one was closed */
    sess_close(&s);
}

/* ---- row "queue size" ---- */

static void test_queue_size(void)
{
    const uint32_t bad[] = {
        0,    3,     6,     100,   1023,        1025,
        2048, 32768, 65536, 65535, 0x80000000u, 0xffffffffu
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct vhost_vring_state st = { .index = 0, .num = bad[i] };
        refuse_vring(FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, &st, sizeof(st),
                     NULL, 0);
        st.index = 1; /* a queue that never had a size */
        refuse_vring(FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, &st, sizeof(st),
                     NULL, 0);
    }
}

static void test_queue_size_valid_edges(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    fe_set_vring_num(&s.fe, 1, 1);
    EXPECT_EQ(s.td.dev.vq[1].vring.num, 1);
    fe_set_vring_num(&s.fe, 1, VIRTQUEUE_MAX_SIZE);
    EXPECT_EQ(s.td.dev.vq[1].vring.num, VIRTQUEUE_MAX_SIZE);
    sess_close(&s);
}

/* Growing a placed ring past the end of memory is refused. */
static void test_queue_size_growth_past_memory(void)
{
    struct vu_session s;
    struct fe_ring r;
    uint64_t gpa = SESS_RAM_SIZE - 0x800; /* room for 64 entries, not 1024 */

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    fe_ring_place(&s.fe, &r, gpa, QSIZE);
    fe_ring_setup(&s.fe, 1, &r);
    struct vq_snapshot before;
    snap(&s, &before);
    struct vhost_vring_state st = { .index = 1, .num = 1024 };
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, FE_ACK,
                      &st, sizeof(st), NULL, 0);
    expect_unchanged(&s, &before);
    EXPECT_EQ(s.td.dev.vq[1].vring.num, QSIZE);
    sess_close(&s);
}

/* Resizing a running queue is refused and changes nothing: the size
 * indexes the heads the device holds (a shrink under held elements left
 * inuse above the queue size: found by AFL++ on fuzz_dispatch).  After
 * GET_VRING_BASE stops it, the same request is accepted. */
static void test_queue_size_of_running_queue(void)
{
    struct vu_session s;
    struct vq_snapshot before;
    struct vhost_vring_state st = { .index = 0, .num = QSIZE / 2 };

    open_running(&s);
    EXPECT_TRUE(s.td.dev.vq[0].started);
    snap(&s, &before);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, FE_ACK,
                      &st, sizeof(st), NULL, 0);
    expect_unchanged(&s, &before);
    EXPECT_CONTAINS(vu_last_error(&s.td.dev), "running");
    (void)fe_get_vring_base(&s.fe, 0);
    EXPECT_FALSE(s.td.dev.vq[0].started);
    fe_set_vring_num(&s.fe, 0, QSIZE / 2);
    EXPECT_EQ(s.td.dev.vq[0].vring.num, QSIZE / 2);
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

/* 100000 SET_VRING_NUM: no fd or memory growth (valgrind checks leaks). */
static void test_queue_size_repeated(void)
{
    struct vu_session s;
    struct vhost_vring_state st = { .index = 1 }; /* a stopped queue */

    open_running(&s);
    int fds = test_open_fd_count();
    s.fe.need_reply = false;
    for (unsigned i = 0; i < 100000; i++) {
        st.num = (i & 1) ? QSIZE : QSIZE / 2;
        EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_SET_VRING_NUM, FE_VERSION, &st,
                            sizeof(st), NULL, 0));
    }
    fe_expect_no_reply(&s.fe);
    EXPECT_FALSE(s.td.dev.broken);
    EXPECT_EQ(test_open_fd_count(), fds);
    EXPECT_EQ(s.td.dev.vq[1].vring.num, QSIZE);
    sess_close(&s);
}

/* ---- row "ring placement" ---- */

static void refuse_addr(uint64_t desc, uint64_t avail, uint64_t used,
                        unsigned flags, bool with_memory)
{
    struct vu_session s;
    struct vq_snapshot before;
    struct vhost_vring_addr a = { .index = 1,
                                  .flags = flags,
                                  .desc_user_addr = desc,
                                  .used_user_addr = used,
                                  .avail_user_addr = avail };

    sess_open(&s, MAX_Q, PROTO);
    if (with_memory) {
        sess_memory(&s);
    }
    fe_set_vring_num(&s.fe, 1, QSIZE);
    snap(&s, &before);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_ADDR, FE_ACK,
                      &a, sizeof(a), NULL, 0);
    expect_unchanged(&s, &before);
    EXPECT_NULL(s.td.dev.vq[1].vring.desc);
    sess_close(&s);
}

static void test_ring_placement(void)
{
    const uint64_t base = SESS_RAM_UADDR + 0x10000;
    const uint64_t desc = base, avail = base + 0x1000, used = base + 0x2000;
    const uint64_t end = SESS_RAM_UADDR + SESS_RAM_SIZE;

    refuse_addr(desc + 8, avail, used, 0, true); /* desc not 16-aligned */
    refuse_addr(desc, avail + 1, used, 0, true); /* avail odd */
    refuse_addr(desc, avail, used + 2, 0, true); /* used not 4-aligned */
    refuse_addr(end - 16 * QSIZE / 2, avail, used, 0, true); /* desc spills */
    refuse_addr(desc, end - 8, used, 0, true);               /* avail spills */
    refuse_addr(desc, avail, end - 8, 0, true);              /* used spills */
    refuse_addr(desc, avail, end, 0, true);         /* used just past */
    refuse_addr(0x1000, avail, used, 0, true);      /* desc unmapped */
    refuse_addr(~0ull - 0xf, avail, used, 0, true); /* desc end wraps */
    refuse_addr(desc, avail, ~0ull - 3, 0, true);   /* used end wraps */
    refuse_addr(desc, avail, used, 0x2, true);      /* unknown flag */
    refuse_addr(desc, avail, used, 0, false);       /* before any memory */
}

/* SET_VRING_ADDR before SET_VRING_NUM: no size to check the extent with. */
static void test_ring_addr_before_num(void)
{
    struct vu_session s;
    struct vhost_vring_addr a = {
        .index = 1,
        .desc_user_addr = SESS_RAM_UADDR + 0x10000,
        .avail_user_addr = SESS_RAM_UADDR + 0x11000,
        .used_user_addr = SESS_RAM_UADDR + 0x12000,
    };

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_ADDR, FE_ACK,
                      &a, sizeof(a), NULL, 0);
    EXPECT_NULL(s.td.dev.vq[1].vring.desc);
    sess_close(&s);
}

/* A kick on a queue whose rings were never placed must not touch memory. */
static void test_kick_before_rings(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    vu_set_queue_handler(&s.td.dev, &s.td.dev.vq[1], tdev_queue_handler);
    fe_set_vring_fd(&s.fe, VHOST_USER_SET_VRING_KICK, 1, fe_kick_fd(&s.fe, 1));
    fe_kick(&s.fe, 1);
    tdev_fire_watch(&s.td, s.td.dev.vq[1].kick_fd, VU_WATCH_IN);
    EXPECT_NULL(
        vu_queue_pop(&s.td.dev, &s.td.dev.vq[1], sizeof(VuVirtqElement)));
    EXPECT_TRUE(vu_queue_empty(&s.td.dev, &s.td.dev.vq[1]));
    sess_close(&s);
}

int main(void)
{
    alarm(240);
    RUN_TEST(test_queue_index_state_messages);
    RUN_TEST(test_queue_index_get_vring_base);
    RUN_TEST(test_queue_index_vring_addr);
    RUN_TEST(test_queue_index_vring_fds);
    RUN_TEST(test_queue_index_without_ack);
    RUN_TEST(test_vring_enable_values);
    RUN_TEST(test_vring_base_16_bits);
    RUN_TEST(test_nofd_vs_fds);
    RUN_TEST(test_nofd_accepted);
    RUN_TEST(test_queue_size);
    RUN_TEST(test_queue_size_valid_edges);
    RUN_TEST(test_queue_size_growth_past_memory);
    RUN_TEST(test_queue_size_of_running_queue);
    RUN_TEST(test_queue_size_repeated);
    RUN_TEST(test_ring_placement);
    RUN_TEST(test_ring_addr_before_num);
    RUN_TEST(test_kick_before_rings);
    END_TESTS();
}
