/*
 * threats.md "Messages" table: the inflight region, config space, ungated
 * requests and repeats rows.
 */
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define ALL_PROTO                                                              \
    (P(MQ) | P(LOG_SHMFD) | P(REPLY_ACK) | P(BACKEND_REQ) | P(CONFIG) |        \
     P(INFLIGHT_SHMFD) | P(CONFIGURE_MEM_SLOTS))
#define MAX_Q 2
#define QSIZE 64

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    return fd;
}

static int new_memfd(uint64_t size)
{
    int fd = memfd_create("feat", MFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, (off_t)size));
    return fd;
}

/* Mappings in this process: a leak of mmaps shows up here. */
static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0;
    int c;

    EXPECT_NOT_NULL(f);
    while ((c = fgetc(f)) != EOF) {
        n += c == '\n';
    }
    fclose(f);
    return n;
}

/* Bytes of one queue's slice: 16 per descriptor + 2, rounded up to 64. */
static uint64_t inflight_stride(uint16_t qsize)
{
    return (16ull * qsize + 2 + 63) & ~63ull;
}

/* ---- row "inflight region" ---- */

static void refuse_set_inflight(const VhostUserInflight *fields, const int *fds,
                                int nfds)
{
    struct vu_session s;
    VhostUserInflight in_buf;

    /* copy field by field: the struct's tail padding must be defined bytes */
    memset(&in_buf, 0, sizeof(in_buf));
    in_buf.mmap_size = fields->mmap_size;
    in_buf.mmap_offset = fields->mmap_offset;
    in_buf.num_queues = fields->num_queues;
    in_buf.queue_size = fields->queue_size;
    const VhostUserInflight *in = &in_buf;

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_INFLIGHT_FD, FE_ACK,
                      in, sizeof(*in), fds, nfds);
    EXPECT_NULL(s.td.dev.inflight_info.addr);
    for (unsigned q = 0; q < MAX_Q; q++) {
        EXPECT_NULL(s.td.dev.vq[q].inflight);
    }
    sess_close(&s);
}

static void test_set_inflight_fd_bad(void)
{
    const uint64_t need = MAX_Q * inflight_stride(QSIZE);
    int fd = new_memfd(need + 4096);
    int fds[2] = { fd, fd };
    int efd = new_eventfd();

    /* num_queues past max_queues, zero */
    refuse_set_inflight(&(VhostUserInflight){ need * 2, 0, MAX_Q + 1, QSIZE },
                        fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, 0, QSIZE }, fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, 0xffff, QSIZE }, fds, 1);
    /* queue_size 0, past 1024 */
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, 0 }, fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, 1025 }, fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, 0xffff }, fds, 1);
    /* mmap_size too small for num_queues * queue_size, or zero */
    refuse_set_inflight(&(VhostUserInflight){ need - 1, 0, MAX_Q, QSIZE }, fds,
                        1);
    refuse_set_inflight(&(VhostUserInflight){ 0, 0, MAX_Q, QSIZE }, fds, 1);
    /* offset + size wraps; offset unaligned; past the end of the file */
    refuse_set_inflight(
        &(VhostUserInflight){ need, ~0ull - 4095, MAX_Q, QSIZE }, fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 1, MAX_Q, QSIZE }, fds, 1);
    refuse_set_inflight(&(VhostUserInflight){ need, 8192, MAX_Q, QSIZE }, fds,
                        1);
    refuse_set_inflight(&(VhostUserInflight){ ~0ull, 0, MAX_Q, QSIZE }, fds, 1);
    /* no fd, two fds, an fd that is not a file */
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, QSIZE }, fds, 0);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, QSIZE }, fds, 2);
    refuse_set_inflight(&(VhostUserInflight){ need, 0, MAX_Q, QSIZE }, &efd, 1);
    close(efd);
    close(fd);
}

static void refuse_get_inflight(uint16_t num_queues, uint16_t queue_size)
{
    struct vu_session s;
    VhostUserInflight in;

    memset(&in, 0, sizeof(in)); /* padding included */
    in.num_queues = num_queues;
    in.queue_size = queue_size;

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_GET_INFLIGHT_FD,
                      FE_VERSION, &in, sizeof(in), NULL, 0);
    EXPECT_NULL(s.td.dev.inflight_info.addr);
    sess_close(&s);
}

/* num_queues * stride past the library's cap (64 MiB): refused, not a
 * gigabyte memfd. */
static void test_get_inflight_fd_too_large(void)
{
    struct vu_session s;
    VhostUserInflight in;

    memset(&in, 0, sizeof(in));
    in.num_queues = 0xffff;
    in.queue_size = 1024;
    sess_open(&s, 0xffff, ALL_PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_GET_INFLIGHT_FD,
                      FE_VERSION, &in, sizeof(in), NULL, 0);
    EXPECT_NULL(s.td.dev.inflight_info.addr);
    sess_close(&s);
}

static void test_get_inflight_fd_bad(void)
{
    refuse_get_inflight(0, QSIZE);
    refuse_get_inflight(MAX_Q + 1, QSIZE);
    refuse_get_inflight(0xffff, 0xffff);
    refuse_get_inflight(MAX_Q, 0);
    refuse_get_inflight(MAX_Q, 1025);
    refuse_get_inflight(MAX_Q, 0x8000);
}

/* A session with memory, an inflight area prepared by `fill`, and queue 0
 * placed with valid descriptors everywhere; returns the SET_VRING_KICK ack. */
static uint64_t kick_with_inflight(struct vu_session *s,
                                   void (*fill)(VuVirtqInflight *q))
{
    VhostUserInflight got;
    struct fe_msg m;

    sess_open(s, MAX_Q, ALL_PROTO);
    sess_memory(s);
    int fd = fe_get_inflight_fd(&s->fe, MAX_Q, QSIZE, &got);
    uint8_t *area =
        mmap(NULL, got.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_TRUE(area != MAP_FAILED);
    fill((VuVirtqInflight *)area);
    munmap(area, got.mmap_size);
    fe_set_inflight_fd(&s->fe, &got, fd);
    close(fd);
    fe_ring_place(&s->fe, &s->rings[0], SESS_RING_GPA(0), QSIZE);
    for (unsigned i = 0; i < QSIZE; i++) {
        s->rings[0].desc[i].addr = htole64(0x80000 + i * 64ull);
        s->rings[0].desc[i].len = htole32(64);
    }
    fe_ring_setup(&s->fe, 0, &s->rings[0]);
    uint64_t v = 0;
    int kick = fe_kick_fd(&s->fe, 0);
    EXPECT_TRUE(
        fe_call(&s->fe, VHOST_USER_SET_VRING_KICK, FE_ACK, &v, 8, &kick, 1));
    fe_expect_reply(&s->fe, VHOST_USER_SET_VRING_KICK, 8, &m);
    return m.payload.u64;
}

/* Whatever is popped is bounded by the queue size and lies in the ring. */
static unsigned pop_all(struct vu_session *s, unsigned *first_heads)
{
    unsigned popped = 0;
    VuVirtqElement *e;

    while ((e = vu_queue_pop(&s->td.dev, &s->td.dev.vq[0], sizeof(*e)))) {
        EXPECT_LT(e->index, QSIZE);
        if (first_heads && popped < 2) {
            first_heads[popped] = e->index;
        }
        free(e);
        EXPECT_LE(++popped, QSIZE);
    }
    return popped;
}

/* Inconsistent contents: SET_VRING_KICK is refused, nothing resubmitted. */
static void corrupt_inflight_refused(void (*corrupt)(VuVirtqInflight *q))
{
    struct vu_session s;

    EXPECT_NE(kick_with_inflight(&s, corrupt), 0);
    EXPECT_FALSE(vu_queue_started(&s.td.dev, &s.td.dev.vq[0]));
    EXPECT_EQ(s.td.dev.vq[0].resubmit_num, 0);
    EXPECT_EQ(pop_all(&s, NULL), 0);
    sess_close(&s);
}

static void inflight_heads(VuVirtqInflight *q, uint16_t used_idx)
{
    q->version = 1;
    q->desc_num = QSIZE;
    q->used_idx = used_idx;
    for (unsigned i = 0; i < QSIZE; i++) {
        q->desc[i].inflight = 1;
        q->desc[i].counter = i + 1;
    }
}

static void corrupt_desc_num(VuVirtqInflight *q)
{
    inflight_heads(q, 0);
    q->desc_num = 4096; /* not the queue size */
}

static void corrupt_version(VuVirtqInflight *q)
{
    inflight_heads(q, 0);
    q->version = 7;
}

static void corrupt_used_idx_far(VuVirtqInflight *q)
{
    inflight_heads(q, 0x1234); /* the used ring says 0: 0xedcc behind */
}

static void corrupt_batch_head(VuVirtqInflight *q)
{
    inflight_heads(q, 0xffff);   /* one completion to settle... */
    q->last_batch_head = 0xffff; /* ...from a head outside the queue */
}

static void corrupt_batch_next(VuVirtqInflight *q)
{
    inflight_heads(q, 0xfffe); /* two completions to settle */
    q->last_batch_head = 3;
    q->desc[3].next = 0x8000; /* the second one is outside the queue */
}

static void test_inflight_corrupt_contents(void)
{
    corrupt_inflight_refused(corrupt_desc_num);
    corrupt_inflight_refused(corrupt_version);
    corrupt_inflight_refused(corrupt_used_idx_far);
    corrupt_inflight_refused(corrupt_batch_head);
    corrupt_inflight_refused(corrupt_batch_next);
}

/* Odd but consistent contents: accepted, and resubmission stays bounded. */
static void every_head_twice(VuVirtqInflight *q)
{
    inflight_heads(q, 0);
    q->last_batch_head = 3;
    for (unsigned i = 0; i < QSIZE; i++) {
        q->desc[i].inflight = 0xff; /* any non-zero byte */
        q->desc[i].next = 3;        /* the batch list loops (unused) */
        q->desc[i].counter = 7;     /* every counter equal */
    }
}

static void test_inflight_odd_contents_bounded(void)
{
    struct vu_session s;

    EXPECT_EQ(kick_with_inflight(&s, every_head_twice), 0);
    EXPECT_EQ(pop_all(&s, NULL), QSIZE);
    sess_close(&s);
}

/* A genuine reconnect: two heads in flight are handed out again first,
 * oldest (lowest counter) first. */
static void two_in_flight(VuVirtqInflight *q)
{
    q->version = 1;
    q->desc_num = QSIZE;
    q->desc[9].inflight = 1;
    q->desc[9].counter = 5;
    q->desc[4].inflight = 1;
    q->desc[4].counter = 3;
}

static void test_inflight_resubmits_after_reconnect(void)
{
    struct vu_session s;
    unsigned heads[2] = { 0, 0 };

    EXPECT_EQ(kick_with_inflight(&s, two_in_flight), 0);
    EXPECT_EQ(s.td.dev.vq[0].resubmit_num, 2);
    EXPECT_EQ(pop_all(&s, heads), 2);
    EXPECT_EQ(heads[0], 4);
    EXPECT_EQ(heads[1], 9);
    sess_close(&s);
}

/* A sealable inflight fd cannot be shrunk under the backend's mapping. */
static void test_inflight_fd_cannot_shrink_later(void)
{
    struct vu_session s;
    uint64_t need = MAX_Q * inflight_stride(QSIZE);
    int fd = memfd_create("inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    VhostUserInflight in;

    memset(&in, 0, sizeof(in)); /* the padding goes on the wire too */
    in.mmap_size = need;
    in.num_queues = MAX_Q;
    in.queue_size = QSIZE;
    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, (off_t)need));
    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_set_inflight_fd(&s.fe, &in, fd);
    EXPECT_FALSE(s.td.dev.broken);
    EXPECT_TRUE(ftruncate(fd, 0) != 0); /* F_SEAL_SHRINK was added */
    sess_close(&s);
    close(fd);
}

/* With an inflight area for queues of QSIZE, SET_VRING_NUM above QSIZE is
 * refused (tracking would silently stop); QSIZE and below are accepted. */
static void test_queue_size_bounded_by_inflight_area(void)
{
    struct vu_session s;
    VhostUserInflight got;
    struct vhost_vring_state st = { .index = 1, .num = 2 * QSIZE };

    sess_open(&s, MAX_Q, ALL_PROTO);
    sess_memory(&s);
    int fd = fe_get_inflight_fd(&s.fe, MAX_Q, QSIZE, &got);
    fe_set_inflight_fd(&s.fe, &got, fd);
    close(fd);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, FE_ACK,
                      &st, sizeof(st), NULL, 0);
    EXPECT_CONTAINS(vu_last_error(&s.td.dev), "inflight area");
    EXPECT_NE(s.td.dev.vq[1].vring.num, 2 * QSIZE);
    fe_set_vring_num(&s.fe, 1, QSIZE);
    fe_set_vring_num(&s.fe, 1, QSIZE / 2);
    EXPECT_FALSE(s.td.dev.broken);
    EXPECT_EQ(s.td.dev.vq[1].vring.num, QSIZE / 2);
    sess_close(&s);
}

/* ---- row "config space" ---- */

/* A bad GET_CONFIG is answered with an empty reply (QEMU reads size 0 as
 * an error) and never reaches get_config. */
static void refuse_get_config(uint32_t offset, uint32_t size_field,
                              uint32_t payload_data)
{
    struct vu_session s;
    VhostUserConfig c = { .offset = offset, .size = size_field };
    struct fe_msg m;

    sess_open(&s, MAX_Q, ALL_PROTO);
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_GET_CONFIG, FE_VERSION, &c,
                        VHOST_USER_CONFIG_HDR_SIZE + payload_data, NULL, 0));
    fe_expect_reply(&s.fe, VHOST_USER_GET_CONFIG, 0, &m);
    EXPECT_EQ(m.nfds, 0);
    EXPECT_EQ(tdev_count(&s.td, TDEV_GET_CONFIG), 0);
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

static void refuse_set_config(uint32_t offset, uint32_t size_field,
                              uint32_t payload_data, uint32_t flags)
{
    struct vu_session s;
    VhostUserConfig c = { .offset = offset,
                          .size = size_field,
                          .flags = flags };

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_CONFIG, FE_ACK, &c,
                      VHOST_USER_CONFIG_HDR_SIZE + payload_data, NULL, 0);
    EXPECT_EQ(tdev_count(&s.td, TDEV_SET_CONFIG), 0);
    sess_close(&s);
}

static void test_config_space(void)
{
    /* offset + size past 256, also wrapping in 32 bits */
    refuse_get_config(200, 100, 100);
    refuse_get_config(256, 1, 1);
    refuse_get_config(0xffffffffu, 1, 1);
    refuse_get_config(0xfffffff0u, 32, 32);
    /* size 0; size field not what was sent */
    refuse_get_config(0, 0, 0);
    refuse_get_config(0, 60, 30);
    refuse_get_config(0, 30, 60);
    refuse_get_config(0, 256, 0);
    refuse_set_config(200, 100, 100, 0);
    refuse_set_config(256, 1, 1, 0);
    refuse_set_config(0xffffffffu, 1, 1, 0);
    refuse_set_config(0, 0, 0, 0);
    refuse_set_config(0, 60, 30, 0);
    refuse_set_config(0, 30, 60, 0);
    refuse_set_config(20, 1, 1, 7); /* unknown flags */
}

/* The full config space is fine, and get_config gets exactly `size`. */
static void test_config_space_full(void)
{
    struct vu_session s;
    VhostUserConfig c;

    sess_open(&s, MAX_Q, ALL_PROTO);
    EXPECT_EQ(fe_get_config(&s.fe, 0, VHOST_USER_MAX_CONFIG_SIZE, &c),
              VHOST_USER_MAX_CONFIG_SIZE);
    EXPECT_EQ(tdev_last(&s.td, TDEV_GET_CONFIG)->a, VHOST_USER_MAX_CONFIG_SIZE);
    uint8_t byte = 0x42;
    fe_set_config(&s.fe, 255, &byte, 1);
    EXPECT_EQ(s.td.config[255], 0x42);
    sess_close(&s);
}

/* ---- row "ungated requests" ---- */

struct gated {
    uint32_t request;
    uint32_t size;
    int nfds;
    bool asks; /* has its own reply: a refusal may break the device */
};

static const struct gated gated[] = {
    { VHOST_USER_GET_INFLIGHT_FD, sizeof(VhostUserInflight), 0, true },
    { VHOST_USER_SET_INFLIGHT_FD, sizeof(VhostUserInflight), 1, false },
    { VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + 4, 0, true },
    { VHOST_USER_SET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + 4, 0, false },
    { VHOST_USER_GET_MAX_MEM_SLOTS, 0, 0, true },
    { VHOST_USER_ADD_MEM_REG, sizeof(VhostUserMemRegMsg), 1, false },
    { VHOST_USER_REM_MEM_REG, sizeof(VhostUserMemRegMsg), 0, false },
    { VHOST_USER_GET_SHARED_OBJECT, sizeof(VhostUserShared), 0, true },
    { VHOST_USER_SET_BACKEND_REQ_FD, 0, 1, false },
    { VHOST_USER_POSTCOPY_ADVISE, 0, 0, true },
    { VHOST_USER_POSTCOPY_LISTEN, 0, 0, false },
    { VHOST_USER_POSTCOPY_END, 0, 0, true },
    { VHOST_USER_SET_LOG_BASE, sizeof(VhostUserLog), 1, true },
    { VHOST_USER_SET_LOG_FD, 0, 1, false },
    { VHOST_USER_NET_SET_MTU, 8, 0, false },
    { VHOST_USER_SEND_RARP, 8, 0, false },
    { VHOST_USER_SET_VRING_ENDIAN, 8, 0, false },
    { VHOST_USER_VRING_KICK, 8, 0, false },
    { VHOST_USER_CLOSE_CRYPTO_SESSION, 8, 0, false },
    { 34 /* RESET_DEVICE */, 0, 0, false },
    { 39 /* SET_STATUS */, 8, 0, false },
    { 40 /* GET_STATUS */, 0, 0, true },
};

/* Only REPLY_ACK negotiated: every feature-gated request is refused before
 * any handler or device callback runs. */
static void test_ungated_requests(void)
{
    uint8_t body[64] = { 0 };
    VhostUserInflight in;
    memset(&in, 0, sizeof(in)); /* padding included */
    in.mmap_size = 4096;
    in.num_queues = 1;
    in.queue_size = QSIZE;
    VhostUserConfig cfg = { .offset = 0, .size = 4 };
    VhostUserLog log = { 4096, 0 };

    for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++) {
        const struct gated *g = &gated[i];
        struct vu_session s;
        int fd = new_memfd(1 << 20);
        const void *payload = body;
        if (g->request == VHOST_USER_GET_INFLIGHT_FD ||
            g->request == VHOST_USER_SET_INFLIGHT_FD) {
            payload = &in;
        } else if (g->request == VHOST_USER_GET_CONFIG ||
                   g->request == VHOST_USER_SET_CONFIG) {
            payload = &cfg;
        } else if (g->request == VHOST_USER_SET_LOG_BASE) {
            payload = &log;
        }
        sess_open(&s, MAX_Q, P(REPLY_ACK));
        fe_expect_refused(&s.fe, g->asks ? FE_REFUSED_EITHER : FE_REFUSED_ACK,
                          g->request, FE_ACK, payload, g->size, &fd, g->nfds);
        EXPECT_EQ(s.td.dev.nregions, 0);
        EXPECT_EQ(s.td.dev.backend_fd, -1);
        EXPECT_NULL(s.td.dev.inflight_info.addr);
        EXPECT_NULL(s.td.dev.log_table);
        EXPECT_EQ(s.td.dev.log_call_fd, -1);
        sess_close(&s);
        close(fd);
    }
}

/* A protocol feature the backend never offered cannot be negotiated. */
static void test_unoffered_protocol_feature(void)
{
    struct vu_session s;
    uint64_t bogus = P(REPLY_ACK) | (1ull << 60);

    sess_open(&s, MAX_Q, P(REPLY_ACK));
    uint64_t before = s.td.dev.protocol_features;
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_PROTOCOL_FEATURES,
                      FE_ACK, &bogus, 8, NULL, 0);
    EXPECT_EQ(s.td.dev.protocol_features, before);
    sess_close(&s);
}

/* ---- row "repeats" ---- */

/* A second SET_BACKEND_REQ_FD replaces the first: the old one is closed
 * (its peer sees EOF) and the fd count does not grow. */
static void test_repeat_backend_req_fd(void)
{
    struct vu_session s;
    int a[2], b[2];

    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a));
    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b));
    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_set(&s.fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &a[1], 1);
    int after_first = test_open_fd_count();
    fe_set(&s.fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &b[1], 1);
    EXPECT_EQ(test_open_fd_count(), after_first);
    close(a[1]);
    char c;
    EXPECT_EQ(read(a[0], &c, 1), 0); /* no one holds the old end any more */
    for (int i = 0; i < 1000; i++) {
        fe_set(&s.fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &b[1], 1);
    }
    EXPECT_EQ(test_open_fd_count(), after_first - 1);
    sess_close(&s);
    close(a[0]);
    close(b[0]);
    close(b[1]);
}

static void test_repeat_get_inflight_fd(void)
{
    struct vu_session s;
    VhostUserInflight got;

    sess_open(&s, MAX_Q, ALL_PROTO);
    close(fe_get_inflight_fd(&s.fe, MAX_Q, QSIZE, &got));
    int fds = test_open_fd_count();
    int maps = count_maps();
    for (int i = 0; i < 1000; i++) {
        close(fe_get_inflight_fd(&s.fe, MAX_Q, (uint16_t)(QSIZE << (i % 5)),
                                 &got));
    }
    EXPECT_EQ(test_open_fd_count(), fds);
    /* A leak would leave 1000 mappings; the slack is for the allocator and
     * sanitizer runtimes, which map memory of their own as they go. */
    EXPECT_LE(count_maps(), maps + 16);
    sess_close(&s);
}

static void test_repeat_set_inflight_fd(void)
{
    struct vu_session s;
    uint64_t need = MAX_Q * inflight_stride(QSIZE);
    int fd = new_memfd(need);
    VhostUserInflight in;

    memset(&in, 0, sizeof(in)); /* padding included */
    in.mmap_size = need;
    in.num_queues = MAX_Q;
    in.queue_size = QSIZE;

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_set_inflight_fd(&s.fe, &in, fd);
    int fds = test_open_fd_count();
    int maps = count_maps();
    for (int i = 0; i < 500; i++) {
        fe_set_inflight_fd(&s.fe, &in, fd);
    }
    EXPECT_EQ(test_open_fd_count(), fds);
    EXPECT_LE(count_maps(), maps + 16); /* runtimes map memory too */
    sess_close(&s);
    close(fd);
}

static void test_repeat_vring_fds_and_tables(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    sess_memory(&s);
    sess_ring(&s, 0, QSIZE);
    int fds = test_open_fd_count();
    int maps = count_maps();
    for (int i = 0; i < 500; i++) {
        fe_set_vring_fd(&s.fe, VHOST_USER_SET_VRING_CALL, 0,
                        fe_call_fd(&s.fe, 0));
        fe_set_vring_fd(&s.fe, VHOST_USER_SET_VRING_KICK, 0,
                        fe_kick_fd(&s.fe, 0));
        fe_set_vring_fd(&s.fe, VHOST_USER_SET_VRING_ERR, 0,
                        fe_err_fd(&s.fe, 0));
        fe_set_mem_table(&s.fe);
    }
    /* the err fd is new (first ERR); everything else was replaced */
    EXPECT_EQ(test_open_fd_count(), fds + 2);
    EXPECT_LE(count_maps(), maps + 16); /* runtimes map memory too */
    EXPECT_NOT_NULL(s.td.dev.vq[0].vring.desc);
    sess_close(&s);
}

static void test_repeat_add_rem_mem_reg(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    int fds = test_open_fd_count();
    int maps = count_maps();
    for (int i = 0; i < 1000; i++) {
        fe_add_mem_reg(&s.fe, 0);
        fe_rem_mem_reg(&s.fe, 0);
    }
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_EQ(test_open_fd_count(), fds);
    /* A leak would leave 1000 mappings; the slack is for the allocator and
     * sanitizer runtimes, which map memory of their own as they go. */
    EXPECT_LE(count_maps(), maps + 16);
    sess_close(&s);
}

static void test_repeat_log_base(void)
{
    struct vu_session s;
    int fd = new_memfd(4096);
    VhostUserLog log = { 4096, 0 };
    struct fe_msg m;

    sess_open(&s, MAX_Q, ALL_PROTO);
    int fds = test_open_fd_count();
    int maps = count_maps();
    for (int i = 0; i < 500; i++) {
        EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_SET_LOG_BASE, FE_VERSION, &log,
                            sizeof(log), &fd, 1));
        fe_expect_reply(&s.fe, VHOST_USER_SET_LOG_BASE, 8, &m);
    }
    EXPECT_EQ(test_open_fd_count(), fds);
    EXPECT_LE(count_maps(), maps + 16); /* runtimes map memory too */
    sess_close(&s);
    close(fd);
}

/* SET_LOG_FD again and again: each replaces (closes) the previous one. */
static void test_repeat_log_fd(void)
{
    struct vu_session s;
    int efd = new_eventfd();

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_set(&s.fe, VHOST_USER_SET_LOG_FD, NULL, 0, &efd, 1);
    EXPECT_TRUE(s.td.dev.log_call_fd >= 0);
    int fds = test_open_fd_count();
    for (int i = 0; i < 500; i++) {
        fe_set(&s.fe, VHOST_USER_SET_LOG_FD, NULL, 0, &efd, 1);
    }
    EXPECT_EQ(test_open_fd_count(), fds);
    sess_close(&s);
    close(efd);
}

int main(void)
{
    alarm(240);
    RUN_TEST(test_set_inflight_fd_bad);
    RUN_TEST(test_get_inflight_fd_bad);
    RUN_TEST(test_get_inflight_fd_too_large);
    RUN_TEST(test_inflight_corrupt_contents);
    RUN_TEST(test_inflight_odd_contents_bounded);
    RUN_TEST(test_inflight_resubmits_after_reconnect);
    RUN_TEST(test_inflight_fd_cannot_shrink_later);
    RUN_TEST(test_config_space);
    RUN_TEST(test_config_space_full);
    RUN_TEST(test_ungated_requests);
    RUN_TEST(test_unoffered_protocol_feature);
    RUN_TEST(test_repeat_backend_req_fd);
    RUN_TEST(test_repeat_get_inflight_fd);
    RUN_TEST(test_repeat_set_inflight_fd);
    RUN_TEST(test_repeat_vring_fds_and_tables);
    RUN_TEST(test_repeat_add_rem_mem_reg);
    RUN_TEST(test_repeat_log_base);
    RUN_TEST(test_repeat_log_fd);
    RUN_TEST(test_queue_size_bounded_by_inflight_area);
    END_TESTS();
}
