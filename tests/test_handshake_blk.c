/*
 * The vhost-user-blk handshake as QEMU sends it (compat.md 3.1 and 3.2),
 * driven through vu_dispatch: every reply and every device callback is
 * checked, for both ways memory arrives (SET_MEM_TABLE and ADD_MEM_REG).
 */
#include "frontend.h"
#include "test_util.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NVQS 2
#define QSIZE 128
#define BLK_CONFIG_LEN 60 /* about sizeof(struct virtio_blk_config) */
#define WCE_OFFSET 20
#define RAM0_GPA 0x0ull
#define RAM1_GPA 0x100000ull
#define RAM_SIZE 0x100000ull
#define RING_GPA(q) (0x1000ull + (q)*0x4000ull)
#define BUF_GPA 0x180000ull

#define BLK_FEATURES                                                           \
    ((1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |        \
     (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |          \
     (1ULL << VIRTIO_BLK_F_CONFIG_WCE) | (1ULL << VIRTIO_F_VERSION_1))
#define DEVICE_PROTOCOL_FEATURES                                               \
    ((1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |                                  \
     (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD))

struct blk {
    struct vu_frontend fe;
    struct test_device td;
    struct fe_ring rings[NVQS];
    uint64_t features;   /* what SET_FEATURES sends */
    uint64_t protocol;   /* what SET_PROTOCOL_FEATURES sends */
    int backend_pair[2]; /* SET_BACKEND_REQ_FD socketpair */
};

static void blk_open(struct blk *b, bool mem_slots)
{
    fe_init_pair(&b->fe);
    tdev_init(&b->td, NVQS, b->fe.dev_sock);
    b->td.features = BLK_FEATURES;
    b->td.protocol_features = DEVICE_PROTOCOL_FEATURES;
    b->td.config_len = BLK_CONFIG_LEN;
    for (unsigned i = 0; i < BLK_CONFIG_LEN; i++) {
        b->td.config[i] = (uint8_t)(0xa0 + i);
    }
    fe_attach_tdev(&b->fe, &b->td);
    fe_add_region(&b->fe, RAM0_GPA, RAM_SIZE, 0x7f0000000000ull);
    fe_add_region(&b->fe, RAM1_GPA, RAM_SIZE, 0x7f1000000000ull);
    b->protocol = DEVICE_PROTOCOL_FEATURES |
                  (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
                  (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                  (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ);
    if (mem_slots) {
        b->protocol |= 1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS;
    }
    b->features = BLK_FEATURES | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
    b->backend_pair[0] = b->backend_pair[1] = -1;
}

static void blk_close(struct blk *b)
{
    tdev_deinit(&b->td);
    fe_destroy(&b->fe);
    for (int i = 0; i < 2; i++) {
        if (b->backend_pair[i] >= 0) {
            close(b->backend_pair[i]);
        }
    }
}

/* The device's process_msg must see each message before any other callback. */
static void expect_process_msg_first(const struct test_device *t, unsigned from,
                                     uint32_t request,
                                     enum tdev_event_kind then)
{
    int pm = tdev_find(t, TDEV_PROCESS_MSG, from);
    int cb = tdev_find(t, then, from);

    EXPECT_TRUE(pm >= 0);
    EXPECT_EQ(t->events[pm].a, request);
    EXPECT_TRUE(cb > pm);
}

static void connect_features(struct blk *b)
{
    unsigned mark = b->td.nevents;
    uint64_t f = fe_get_features(&b->fe);

    EXPECT_EQ(f & BLK_FEATURES, BLK_FEATURES);
    EXPECT_TRUE(f & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES));
    expect_process_msg_first(&b->td, mark, VHOST_USER_GET_FEATURES,
                             TDEV_GET_FEATURES);
}

static void connect_protocol(struct blk *b)
{
    unsigned mark = b->td.nevents;
    uint64_t p = fe_get_protocol_features(&b->fe);

    EXPECT_EQ(p & b->protocol, b->protocol);
    expect_process_msg_first(&b->td, mark, VHOST_USER_GET_PROTOCOL_FEATURES,
                             TDEV_GET_PROTOCOL_FEATURES);
    fe_set_protocol_features(&b->fe, b->protocol);
    EXPECT_EQ(b->td.dev.protocol_features, b->protocol);
    EXPECT_EQ(tdev_last(&b->td, TDEV_SET_PROTOCOL_FEATURES)->a, b->protocol);
}

static void connect_backend_channel(struct blk *b)
{
    EXPECT_SUCCESS(
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b->backend_pair));
    EXPECT_EQ(fe_call_acked(&b->fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0,
                            &b->backend_pair[1], 1),
              0);
    EXPECT_TRUE(b->td.dev.backend_fd >= 0);
}

static void connect_per_vq_fds(struct blk *b)
{
    for (unsigned q = 0; q < NVQS; q++) {
        fe_set_vring_fd(&b->fe, VHOST_USER_SET_VRING_CALL, q,
                        fe_call_fd(&b->fe, q));
        EXPECT_TRUE(b->td.dev.vq[q].call_fd >= 0);
        fe_set_vring_fd(&b->fe, VHOST_USER_SET_VRING_ERR, q,
                        fe_err_fd(&b->fe, q));
        EXPECT_TRUE(b->td.dev.vq[q].err_fd >= 0);
    }
}

static void connect_config(struct blk *b)
{
    VhostUserConfig c;
    unsigned mark = b->td.nevents;

    EXPECT_EQ(fe_get_config(&b->fe, 0, BLK_CONFIG_LEN, &c), BLK_CONFIG_LEN);
    EXPECT_EQ(c.offset, 0);
    EXPECT_EQ(c.size, BLK_CONFIG_LEN);
    EXPECT_MEMEQ(c.region, b->td.config, BLK_CONFIG_LEN);
    EXPECT_EQ(tdev_last(&b->td, TDEV_GET_CONFIG)->a, BLK_CONFIG_LEN);
    expect_process_msg_first(&b->td, mark, VHOST_USER_GET_CONFIG,
                             TDEV_GET_CONFIG);
}

/* compat.md 3.1 plus GET_CONFIG: what QEMU sends on connect. */
static void blk_connect(struct blk *b, bool mem_slots)
{
    connect_features(b);
    connect_protocol(b);
    b->fe.need_reply = false; /* QEMU sets NEED_REPLY on chosen requests */
    EXPECT_EQ(fe_get_u64(&b->fe, VHOST_USER_GET_QUEUE_NUM), NVQS);
    if (mem_slots) {
        EXPECT_EQ(fe_get_u64(&b->fe, VHOST_USER_GET_MAX_MEM_SLOTS),
                  VHOST_USER_MAX_RAM_SLOTS);
    }
    connect_backend_channel(b);
    fe_set(&b->fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    connect_features(b);
    connect_per_vq_fds(b);
    connect_config(b);
    EXPECT_EQ(tdev_count(&b->td, TDEV_QUEUE_SET_STARTED), 0);
    EXPECT_EQ(tdev_count(&b->td, TDEV_PANIC), 0);
}

static void start_features(struct blk *b)
{
    unsigned mark = b->td.nevents;

    b->fe.need_reply = true;
    fe_set_features(&b->fe, b->features);
    b->fe.need_reply = false;
    EXPECT_EQ(b->td.dev.features, b->features);
    EXPECT_EQ(tdev_last(&b->td, TDEV_SET_FEATURES)->a, b->features);
    expect_process_msg_first(&b->td, mark, VHOST_USER_SET_FEATURES,
                             TDEV_SET_FEATURES);
}

/* The stride users rely on (compat.md 7.8): per queue, 16 bytes per
 * descriptor plus 2, rounded up to 64 bytes. */
static uint64_t inflight_queue_bytes(uint16_t qsize)
{
    return (16ull * qsize + 2 + 63) & ~63ull;
}

static void start_inflight(struct blk *b)
{
    VhostUserInflight got;
    struct stat st;
    int fd = fe_get_inflight_fd(&b->fe, NVQS, QSIZE, &got);

    EXPECT_EQ(got.mmap_offset, 0);
    EXPECT_EQ(got.num_queues, NVQS);
    EXPECT_EQ(got.queue_size, QSIZE);
    EXPECT_EQ(got.mmap_size, NVQS * inflight_queue_bytes(QSIZE));
    /* The reply's tail padding must not carry backend stack bytes. */
    uint32_t pad;
    memcpy(&pad, (const uint8_t *)&got + 20, sizeof(pad));
    EXPECT_EQ(pad, 0);
    EXPECT_SUCCESS(fstat(fd, &st));
    EXPECT_LE(got.mmap_size, (uint64_t)st.st_size);
    /* The region is shared: what the backend keeps there, we can read. */
    void *p = mmap(NULL, got.mmap_size, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_TRUE(p != MAP_FAILED);
    munmap(p, got.mmap_size);
    b->fe.need_reply = true;
    fe_set_inflight_fd(&b->fe, &got, fd);
    b->fe.need_reply = false;
    close(fd);
    EXPECT_TRUE(b->td.dev.inflight_info.addr != NULL);
    EXPECT_EQ(b->td.dev.inflight_info.size, got.mmap_size);
}

static void start_memory(struct blk *b, bool mem_slots)
{
    b->fe.need_reply = true;
    if (mem_slots) {
        fe_add_mem_reg(&b->fe, 0);
        EXPECT_EQ(b->td.dev.nregions, 1);
        fe_add_mem_reg(&b->fe, 1);
    } else {
        fe_set_mem_table(&b->fe);
    }
    b->fe.need_reply = false;
    EXPECT_EQ(b->td.dev.nregions, 2);
}

/* The backend must see exactly what the frontend wrote, in both regions. */
static void expect_memory_shared(struct blk *b)
{
    uint64_t gpas[2] = { RAM0_GPA + 0x800, RAM1_GPA + 0x10 };

    for (unsigned i = 0; i < 2; i++) {
        uint32_t *mine = fe_gpa_ptr(&b->fe, gpas[i], 4);
        uint64_t len = 4;
        uint32_t *theirs = vu_gpa_to_va(&b->td.dev, &len, gpas[i]);
        EXPECT_NOT_NULL(theirs);
        EXPECT_EQ(len, 4);
        *mine = 0x5a5a0000u + i;
        EXPECT_EQ(*theirs, 0x5a5a0000u + i);
    }
}

static void start_queue(struct blk *b, unsigned q, uint16_t base)
{
    VuVirtq *vq = &b->td.dev.vq[q];

    fe_ring_place(&b->fe, &b->rings[q], RING_GPA(q), QSIZE);
    b->rings[q].next_avail = base;
    fe_set_vring_num(&b->fe, q, QSIZE);
    EXPECT_EQ(vq->vring.num, QSIZE);
    fe_set_vring_base(&b->fe, q, base);
    EXPECT_EQ(vq->last_avail_idx, base);
    fe_set_vring_addr(&b->fe, q, fe_gpa_to_uaddr(&b->fe, b->rings[q].desc_gpa),
                      fe_gpa_to_uaddr(&b->fe, b->rings[q].avail_gpa),
                      fe_gpa_to_uaddr(&b->fe, b->rings[q].used_gpa),
                      b->rings[q].used_gpa, 0);
    EXPECT_NOT_NULL(vq->vring.desc);
    EXPECT_TRUE((void *)vq->vring.desc != (void *)b->rings[q].desc);
    EXPECT_FALSE(vu_queue_started(&b->td.dev, vq));
    unsigned started_before = tdev_count(&b->td, TDEV_QUEUE_SET_STARTED);
    fe_set_vring_fd(&b->fe, VHOST_USER_SET_VRING_KICK, q,
                    fe_kick_fd(&b->fe, q));
    /* queue_set_started(q, true) fires exactly on SET_VRING_KICK. */
    EXPECT_EQ(tdev_count(&b->td, TDEV_QUEUE_SET_STARTED), started_before + 1);
    const struct tdev_event *e = tdev_last(&b->td, TDEV_QUEUE_SET_STARTED);
    EXPECT_EQ(e->qidx, q);
    EXPECT_EQ(e->a, 1);
    EXPECT_TRUE(vu_queue_started(&b->td.dev, vq));
    fe_set_vring_fd(&b->fe, VHOST_USER_SET_VRING_CALL, q,
                    fe_call_fd(&b->fe, q));
}

static void enable_queues(struct blk *b, unsigned on)
{
    for (unsigned q = 0; q < NVQS; q++) {
        fe_set_vring_enable(&b->fe, q, on);
        EXPECT_EQ(vu_queue_enabled(&b->td.dev, &b->td.dev.vq[q]), on != 0);
    }
}

/* compat.md 3.2 "vhost_user_blk_start". */
static void blk_start(struct blk *b, bool mem_slots, bool first,
                      const uint16_t base[NVQS])
{
    start_features(b);
    if (first) {
        start_inflight(b);
    }
    start_features(b);
    if (first || !mem_slots) {
        start_memory(b, mem_slots);
    }
    expect_memory_shared(b);
    for (unsigned q = 0; q < NVQS; q++) {
        start_queue(b, q, base[q]);
    }
    enable_queues(b, 1);
    EXPECT_FALSE(b->td.dev.broken);
}

/* A guest kick reaches the queue handler through the device's watch. */
static void kick_reaches_handler(struct blk *b, unsigned q)
{
    VuVirtq *vq = &b->td.dev.vq[q];

    vu_set_queue_handler(&b->td.dev, vq, tdev_queue_handler);
    const struct tdev_watch *w = tdev_watch_for(&b->td, vq->kick_fd);
    EXPECT_NOT_NULL(w);
    EXPECT_EQ(w->condition, VU_WATCH_IN);
    fe_kick(&b->fe, q);
    tdev_fire_watch(&b->td, vq->kick_fd, VU_WATCH_IN);
    EXPECT_EQ(tdev_last(&b->td, TDEV_QUEUE_HANDLER)->qidx, q);
}

/* Pop one request so GET_VRING_BASE has a non-zero index to report. */
static void consume_one(struct blk *b, unsigned q)
{
    VuVirtq *vq = &b->td.dev.vq[q];

    fe_ring_post(&b->rings[q], BUF_GPA, 512, true);
    VuVirtqElement *elem = vu_queue_pop(&b->td.dev, vq, sizeof(*elem));
    EXPECT_NOT_NULL(elem);
    EXPECT_EQ(elem->in_num, 1);
    EXPECT_EQ(elem->in_sg[0].iov_len, 512);
    vu_queue_push(&b->td.dev, vq, elem, 512);
    free(elem);
}

static void stop_queue(struct blk *b, unsigned q, uint16_t expect_base)
{
    VuVirtq *vq = &b->td.dev.vq[q];
    unsigned mark = b->td.nevents;
    unsigned removes = tdev_count(&b->td, TDEV_REMOVE_WATCH);
    int kick_fd = vq->kick_fd;
    bool watched = tdev_watch_for(&b->td, kick_fd) != NULL;

    EXPECT_EQ(fe_get_vring_base(&b->fe, q), expect_base);
    /* queue_set_started(q, false) fires exactly on GET_VRING_BASE. */
    int e = tdev_find(&b->td, TDEV_QUEUE_SET_STARTED, mark);
    EXPECT_TRUE(e >= 0);
    EXPECT_EQ(b->td.events[e].qidx, q);
    EXPECT_EQ(b->td.events[e].a, 0);
    EXPECT_FALSE(vu_queue_started(&b->td.dev, vq));
    EXPECT_EQ(vq->kick_fd, -1);
    if (watched) {
        EXPECT_EQ(tdev_count(&b->td, TDEV_REMOVE_WATCH), removes + 1);
        EXPECT_NULL(tdev_watch_for(&b->td, kick_fd));
    }
}

static void blk_stop(struct blk *b, const uint16_t base[NVQS])
{
    enable_queues(b, 0);
    for (unsigned q = 0; q < NVQS; q++) {
        stop_queue(b, q, base[q]);
    }
    EXPECT_FALSE(b->td.dev.broken);
}

/* The guest's wce toggle: SET_CONFIG at offset 20, one byte, acked. */
static void blk_set_wce(struct blk *b)
{
    uint8_t wce = 1;
    unsigned mark = b->td.nevents;

    b->fe.need_reply = true;
    fe_set_config(&b->fe, WCE_OFFSET, &wce, 1);
    b->fe.need_reply = false;
    const struct tdev_event *e = tdev_last(&b->td, TDEV_SET_CONFIG);
    EXPECT_EQ(e->a, WCE_OFFSET);
    EXPECT_EQ(e->b, 1);
    EXPECT_EQ(b->td.config[WCE_OFFSET], 1);
    expect_process_msg_first(&b->td, mark, VHOST_USER_SET_CONFIG,
                             TDEV_SET_CONFIG);
}

/* Firmware probe cycle, then Linux: two start/stop cycles per connection. */
static void blk_full_session(bool mem_slots)
{
    struct blk b;
    const uint16_t zero[NVQS] = { 0, 0 };
    const uint16_t after_one[NVQS] = { 1, 0 };

    blk_open(&b, mem_slots);
    blk_connect(&b, mem_slots);
    blk_start(&b, mem_slots, true, zero);
    kick_reaches_handler(&b, 0);
    (void)fe_take_call(&b.fe, 0); /* SET_VRING_CALL may signal it once */
    consume_one(&b, 0);
    EXPECT_EQ(b.rings[0].used->idx, 1);
    vu_queue_notify(&b.td.dev, &b.td.dev.vq[0]);
    EXPECT_EQ(fe_take_call(&b.fe, 0), 1);
    blk_stop(&b, after_one);
    blk_set_wce(&b);
    blk_start(&b, mem_slots, false, after_one);
    blk_stop(&b, after_one);
    EXPECT_EQ(tdev_count(&b.td, TDEV_PANIC), 0);
    blk_close(&b);
}

static void test_blk_handshake_set_mem_table(void)
{
    blk_full_session(false);
}

static void test_blk_handshake_add_mem_reg(void)
{
    blk_full_session(true);
}

/* A backend restarted with requests still in flight: SET_VRING_BASE says 2
 * were taken, the used ring says 1 came back.  A device that completes in
 * order is asked (at SET_VRING_ADDR) and resumes from the used index. */
static void resume_case(bool in_order, uint16_t expect_last_avail)
{
    struct blk b;
    struct fe_ring *r = &b.rings[0];

    blk_open(&b, false);
    b.td.in_order = in_order;
    connect_features(&b);
    connect_protocol(&b);
    b.fe.need_reply = false;
    fe_set_features(&b.fe, b.features);
    fe_set_mem_table(&b.fe);
    fe_ring_place(&b.fe, r, RING_GPA(0), QSIZE);
    r->used->idx = htole16(1);
    fe_set_vring_num(&b.fe, 0, QSIZE);
    fe_set_vring_base(&b.fe, 0, 2);
    unsigned asked = tdev_count(&b.td, TDEV_IN_ORDER);
    fe_set_vring_addr(&b.fe, 0, fe_gpa_to_uaddr(&b.fe, r->desc_gpa),
                      fe_gpa_to_uaddr(&b.fe, r->avail_gpa),
                      fe_gpa_to_uaddr(&b.fe, r->used_gpa), r->used_gpa, 0);
    EXPECT_EQ(tdev_count(&b.td, TDEV_IN_ORDER), asked + 1);
    EXPECT_EQ(tdev_last(&b.td, TDEV_IN_ORDER)->qidx, 0);
    EXPECT_EQ(b.td.dev.vq[0].last_avail_idx, expect_last_avail);
    EXPECT_EQ(b.td.dev.vq[0].used_idx, 1);
    blk_close(&b);
}

static void test_blk_resume_in_order(void)
{
    resume_case(true, 1);
    resume_case(false, 2);
}

/* RESET_OWNER stops every started queue (callback), drops its rings and
 * fds, forgets the features, keeps memory; a new start works after it. */
static void test_blk_reset_owner(void)
{
    struct blk b;
    const uint16_t zero[NVQS] = { 0, 0 };

    blk_open(&b, false);
    blk_connect(&b, false);
    blk_start(&b, false, true, zero);
    unsigned mark = b.td.nevents;
    int fds = test_open_fd_count();
    fe_set(&b.fe, VHOST_USER_RESET_OWNER, NULL, 0, NULL, 0);
    for (unsigned q = 0; q < NVQS; q++) {
        VuVirtq *vq = &b.td.dev.vq[q];
        int e = tdev_find(&b.td, TDEV_QUEUE_SET_STARTED, mark);
        EXPECT_TRUE(e >= 0);
        EXPECT_EQ(b.td.events[e].a, 0);
        mark = (unsigned)e + 1;
        EXPECT_FALSE(vu_queue_started(&b.td.dev, vq));
        EXPECT_FALSE(vu_queue_enabled(&b.td.dev, vq));
        EXPECT_EQ(vq->kick_fd, -1);
        EXPECT_EQ(vq->call_fd, -1);
        EXPECT_EQ(vq->err_fd, -1);
        EXPECT_NULL(vq->vring.desc);
    }
    EXPECT_EQ(test_open_fd_count(), fds - 3 * NVQS);
    EXPECT_EQ(b.td.dev.features, 0);
    EXPECT_EQ(b.td.dev.nregions, 2);
    blk_start(&b, false, false, zero);
    consume_one(&b, 0);
    blk_close(&b);
}

/* Without PROTOCOL_FEATURES there is no SET_VRING_ENABLE, so SET_FEATURES
 * enables every ring; with it, rings wait for SET_VRING_ENABLE (the
 * original tested bit number 30 as a mask and got this wrong). */
static void test_blk_ring_enable_rule(void)
{
    for (int with_protocol = 0; with_protocol < 2; with_protocol++) {
        struct blk b;
        blk_open(&b, false);
        uint64_t f = BLK_FEATURES;
        if (with_protocol) {
            f |= 1ULL << VHOST_USER_F_PROTOCOL_FEATURES;
        }
        EXPECT_EQ(fe_get_features(&b.fe) & f, f);
        fe_set_features(&b.fe, f);
        for (unsigned q = 0; q < NVQS; q++) {
            EXPECT_EQ(vu_queue_enabled(&b.td.dev, &b.td.dev.vq[q]),
                      !with_protocol);
        }
        blk_close(&b);
    }
}

/* Without REPLY_ACK nothing but the GET_* answers may come back. */
static void test_blk_handshake_without_reply_ack(void)
{
    struct blk b;
    const uint16_t zero[NVQS] = { 0, 0 };

    blk_open(&b, false);
    b.protocol &= ~(1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    connect_features(&b);
    connect_protocol(&b);
    EXPECT_FALSE(b.fe.need_reply);
    fe_set(&b.fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    fe_set_features(&b.fe, b.features);
    fe_set_mem_table(&b.fe);
    for (unsigned q = 0; q < NVQS; q++) {
        fe_ring_place(&b.fe, &b.rings[q], RING_GPA(q), QSIZE);
        fe_ring_setup(&b.fe, q, &b.rings[q]);
        fe_set_vring_fd(&b.fe, VHOST_USER_SET_VRING_KICK, q,
                        fe_kick_fd(&b.fe, q));
        EXPECT_TRUE(vu_queue_started(&b.td.dev, &b.td.dev.vq[q]));
    }
    blk_stop(&b, zero);
    blk_close(&b);
}

/* After vu_deinit every fd the session handed over is closed again. */
static void test_blk_session_leaves_no_fds(void)
{
    int before = test_open_fd_count();

    test_blk_handshake_set_mem_table();
    test_blk_handshake_add_mem_reg();
    EXPECT_EQ(test_open_fd_count(), before);
}

int main(void)
{
    alarm(60);
    RUN_TEST(test_blk_handshake_set_mem_table);
    RUN_TEST(test_blk_handshake_add_mem_reg);
    RUN_TEST(test_blk_handshake_without_reply_ack);
    RUN_TEST(test_blk_resume_in_order);
    RUN_TEST(test_blk_reset_owner);
    RUN_TEST(test_blk_ring_enable_rule);
    RUN_TEST(test_blk_session_leaves_no_fds);
    END_TESTS();
}
