/*
 * vhost-user-net handshakes driven through vu_dispatch:
 *  - QEMU with two queue pairs on one socket (compat.md 3.3): global queue
 *    indices 2p/2p+1, per-device requests once, NET_SET_MTU and SEND_RARP
 *    handled by the device's process_msg, migration's LOG_ALL + SET_LOG_BASE;
 *  - DPDK virtio_user (frontends.md): SET_VRING_CALL before SET_FEATURES and
 *    before any memory, one region with gpa == userspace address.
 */
#include "frontend.h"
#include "test_util.h"

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <sys/mman.h>
#include <unistd.h>

#define NPAIRS 2
#define NQUEUES (2 * NPAIRS)
#define QSIZE 256
#define RAM_GPA 0x0ull
#define RAM_SIZE 0x200000ull
#define RAM_UADDR 0x7f5500000000ull
#define RING_GPA(q) (0x10000ull + (q)*0x4000ull)
#define BUF_GPA 0x100000ull
#define MTU 9000

#define NET_FEATURES                                                           \
    ((1ULL << VIRTIO_NET_F_MRG_RXBUF) | (1ULL << VIRTIO_NET_F_MTU) |           \
     (1ULL << VIRTIO_NET_F_MQ) | (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE) |       \
     (1ULL << VIRTIO_F_VERSION_1))
#define NET_PROTOCOL                                                           \
    ((1ULL << VHOST_USER_PROTOCOL_F_MQ) |                                      \
     (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |                               \
     (1ULL << VHOST_USER_PROTOCOL_F_RARP) |                                    \
     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                               \
     (1ULL << VHOST_USER_PROTOCOL_F_NET_MTU))

/* What the device's process_msg saw of the net-only requests. */
struct net_seen {
    uint64_t mtu;
    uint8_t mac[6];
    unsigned rarps;
    bool ack_itself; /* build the NET_SET_MTU ack in process_msg */
};

/* A device that handles NET_SET_MTU and SEND_RARP itself, as
 * vhost-user-bridge does; everything else goes to the library. */
static int net_process_msg(struct test_device *t, VhostUserMsg *vmsg,
                           int *do_reply)
{
    struct net_seen *seen = t->opaque;

    switch (vmsg->request) {
    case VHOST_USER_NET_SET_MTU:
        seen->mtu = vmsg->payload.u64;
        if (seen->ack_itself) {
            /* flags left as received: the library must fix them up */
            vmsg->payload.u64 = 0;
            vmsg->size = sizeof(vmsg->payload.u64);
            *do_reply = 1;
        } else {
            *do_reply = 0;
        }
        return 1;
    case VHOST_USER_SEND_RARP:
        memcpy(seen->mac, &vmsg->payload.u64, sizeof(seen->mac));
        seen->rarps++;
        *do_reply = 0;
        return 1;
    default:
        return 0;
    }
}

struct net {
    struct vu_frontend fe;
    struct test_device td;
    struct net_seen seen;
    struct fe_ring rings[NQUEUES];
    uint64_t features;
};

static void net_open(struct net *n, uint16_t max_queues)
{
    memset(&n->seen, 0, sizeof(n->seen));
    fe_init_pair(&n->fe);
    tdev_init(&n->td, max_queues, n->fe.dev_sock);
    n->td.features = NET_FEATURES;
    n->td.protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_RARP) |
                              (1ULL << VHOST_USER_PROTOCOL_F_NET_MTU);
    n->td.process_msg = net_process_msg;
    n->td.opaque = &n->seen;
    n->td.in_order = true;
    fe_attach_tdev(&n->fe, &n->td);
    /* gpa == userspace address, as DPDK's virtio_user sends it */
    fe_add_region(&n->fe, RAM_GPA, RAM_SIZE, RAM_UADDR);
    n->features = NET_FEATURES | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);
}

static void net_close(struct net *n)
{
    tdev_deinit(&n->td);
    fe_destroy(&n->fe);
}

/* compat.md 3.1 for pair p (vq_index 2p): per-device requests only once. */
static void pair_connect(struct net *n, unsigned p)
{
    uint64_t f = fe_get_features(&n->fe);

    EXPECT_EQ(f & NET_FEATURES, NET_FEATURES);
    EXPECT_EQ(fe_get_protocol_features(&n->fe) & NET_PROTOCOL, NET_PROTOCOL);
    fe_set_protocol_features(&n->fe, NET_PROTOCOL);
    n->fe.need_reply = false;
    if (p == 0) {
        EXPECT_EQ(fe_get_u64(&n->fe, VHOST_USER_GET_QUEUE_NUM), NQUEUES);
        fe_set(&n->fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    }
    EXPECT_EQ(fe_get_features(&n->fe), f);
    for (unsigned q = 2 * p; q < 2 * p + 2; q++) {
        fe_set_vring_fd(&n->fe, VHOST_USER_SET_VRING_CALL, q,
                        fe_call_fd(&n->fe, q));
        fe_set_vring_fd(&n->fe, VHOST_USER_SET_VRING_ERR, q,
                        fe_err_fd(&n->fe, q));
        EXPECT_TRUE(n->td.dev.vq[q].call_fd >= 0);
        EXPECT_TRUE(n->td.dev.vq[q].err_fd >= 0);
    }
}

static void set_mtu(struct net *n, bool ack_itself)
{
    uint64_t mtu = MTU;

    n->seen.ack_itself = ack_itself;
    EXPECT_EQ(fe_call_acked(&n->fe, VHOST_USER_NET_SET_MTU, &mtu, sizeof(mtu),
                            NULL, 0),
              0);
    EXPECT_EQ(n->seen.mtu, MTU);
    EXPECT_FALSE(n->td.dev.broken);
}

static void queue_start(struct net *n, unsigned q)
{
    VuVirtq *vq = &n->td.dev.vq[q];

    fe_ring_place(&n->fe, &n->rings[q], RING_GPA(q), QSIZE);
    fe_ring_setup(&n->fe, q, &n->rings[q]);
    EXPECT_EQ(vq->vring.num, QSIZE);
    EXPECT_NOT_NULL(vq->vring.used);
    fe_set_vring_fd(&n->fe, VHOST_USER_SET_VRING_KICK, q,
                    fe_kick_fd(&n->fe, q));
    const struct tdev_event *e = tdev_last(&n->td, TDEV_QUEUE_SET_STARTED);
    EXPECT_EQ(e->qidx, q);
    EXPECT_EQ(e->a, 1);
    fe_set_vring_fd(&n->fe, VHOST_USER_SET_VRING_CALL, q,
                    fe_call_fd(&n->fe, q));
}

/* vhost_dev_start(vrings = false) for pair p. */
static void pair_start(struct net *n, unsigned p)
{
    n->fe.need_reply = true;
    fe_set_features(&n->fe, n->features);
    if (p == 0) {
        fe_set_mem_table(&n->fe);
        EXPECT_EQ(n->td.dev.nregions, 1);
    }
    n->fe.need_reply = false;
    EXPECT_EQ(tdev_last(&n->td, TDEV_SET_FEATURES)->a, n->features);
    for (unsigned q = 2 * p; q < 2 * p + 2; q++) {
        queue_start(n, q);
    }
}

/* A packet on queue q goes through the device and signals the call fd. */
static void one_packet(struct net *n, unsigned q, bool device_writes)
{
    VuVirtq *vq = &n->td.dev.vq[q];

    (void)fe_take_call(&n->fe, q); /* SET_VRING_CALL may signal it once */
    fe_ring_post(&n->rings[q], BUF_GPA + q * 0x1000, 1514, device_writes);
    VuVirtqElement *elem = vu_queue_pop(&n->td.dev, vq, sizeof(*elem));
    EXPECT_NOT_NULL(elem);
    EXPECT_EQ(device_writes ? elem->in_num : elem->out_num, 1);
    vu_queue_push(&n->td.dev, vq, elem, device_writes ? 1514 : 0);
    free(elem);
    vu_queue_notify(&n->td.dev, vq);
    EXPECT_EQ(fe_take_call(&n->fe, q), 1);
}

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
    uint64_t page = gpa / VHOST_LOG_PAGE;

    return (log[page / 8] >> (page % 8)) & 1;
}

/* Dirty logging while migrating: the rx buffer the device writes and the
 * used ring it updates are both marked in the shared log. */
static void migrate_rx_is_logged(struct net *n, const uint8_t *log)
{
    struct fe_ring *r = &n->rings[0];
    uint64_t buf = BUF_GPA; /* one_packet's rx buffer for queue 0 */

    n->fe.need_reply = true; /* ADDR with F_LOG asks for an ack */
    fe_set_vring_addr(&n->fe, 0, fe_gpa_to_uaddr(&n->fe, r->desc_gpa),
                      fe_gpa_to_uaddr(&n->fe, r->avail_gpa),
                      fe_gpa_to_uaddr(&n->fe, r->used_gpa), r->used_gpa,
                      1u << VHOST_VRING_F_LOG);
    n->fe.need_reply = false;
    EXPECT_FALSE(log_bit(log, buf));
    EXPECT_FALSE(log_bit(log, r->used_gpa));
    one_packet(n, 0, true);
    EXPECT_TRUE(log_bit(log, buf));
    EXPECT_TRUE(log_bit(log, r->used_gpa));
    EXPECT_FALSE(log_bit(log, BUF_GPA + 0x10000)); /* nothing else */
}

static void migrate_and_announce(struct net *n)
{
    uint64_t log_size = 4096;
    int log_fd = memfd_create("net-log", MFD_CLOEXEC);
    VhostUserLog log = { .mmap_size = log_size, .mmap_offset = 0 };
    struct fe_msg m;

    EXPECT_SUCCESS(log_fd);
    EXPECT_SUCCESS(ftruncate(log_fd, (off_t)log_size));
    uint8_t *view = mmap(NULL, log_size, PROT_READ, MAP_SHARED, log_fd, 0);
    EXPECT_TRUE(view != MAP_FAILED);
    n->fe.need_reply = true;
    fe_set_features(&n->fe, n->features | (1ULL << VHOST_F_LOG_ALL));
    n->fe.need_reply = false;
    /* SET_LOG_BASE always answers (QEMU waits for it). */
    EXPECT_TRUE(fe_call(&n->fe, VHOST_USER_SET_LOG_BASE, FE_VERSION, &log,
                        sizeof(log), &log_fd, 1));
    fe_expect_reply(&n->fe, VHOST_USER_SET_LOG_BASE, sizeof(uint64_t), &m);
    EXPECT_EQ(m.nfds, 0);
    close(log_fd);
    EXPECT_NOT_NULL(n->td.dev.log_table);
    EXPECT_EQ(n->td.dev.log_size, log_size);
    migrate_rx_is_logged(n, view);
    munmap(view, log_size);
    /* SEND_RARP: u64 carrying the MAC in its first six bytes. */
    uint8_t rarp[8] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0, 0 };
    EXPECT_TRUE(fe_call(&n->fe, VHOST_USER_SEND_RARP, FE_VERSION, rarp,
                        sizeof(rarp), NULL, 0));
    fe_expect_no_reply(&n->fe);
    EXPECT_EQ(n->seen.rarps, 1);
    EXPECT_MEMEQ(n->seen.mac, rarp, 6);
    EXPECT_FALSE(n->td.dev.broken);
}

static void stop_all(struct net *n)
{
    for (unsigned q = 0; q < NQUEUES; q++) {
        fe_set_vring_enable(&n->fe, q, 0);
        fe_get_vring_base(&n->fe, q);
        EXPECT_FALSE(vu_queue_started(&n->td.dev, &n->td.dev.vq[q]));
        const struct tdev_event *e = tdev_last(&n->td, TDEV_QUEUE_SET_STARTED);
        EXPECT_EQ(e->qidx, q);
        EXPECT_EQ(e->a, 0);
    }
}

static void test_net_two_queue_pairs(void)
{
    struct net n;

    net_open(&n, NQUEUES);
    for (unsigned p = 0; p < NPAIRS; p++) {
        pair_connect(&n, p);
    }
    set_mtu(&n, true);
    for (unsigned p = 0; p < NPAIRS; p++) {
        pair_start(&n, p);
    }
    /* Pair 0 active, pair 1 not (the guest uses one pair so far). */
    for (unsigned q = 0; q < NQUEUES; q++) {
        fe_set_vring_enable(&n.fe, q, q < 2);
        EXPECT_EQ(vu_queue_enabled(&n.td.dev, &n.td.dev.vq[q]), q < 2);
    }
    for (unsigned q = 0; q < 2; q++) {
        one_packet(&n, q, (q & 1) == 0); /* rx: device writes; tx: reads */
    }
    migrate_and_announce(&n);
    stop_all(&n);
    EXPECT_EQ(tdev_count(&n.td, TDEV_PANIC), 0);
    net_close(&n);
}

/* The REPLY_ACK default: a message the device handled without replying
 * still gets ack 0 when NEED_REPLY was set. */
static void test_net_mtu_ack_default(void)
{
    struct net n;

    net_open(&n, NQUEUES);
    pair_connect(&n, 0);
    set_mtu(&n, false);
    net_close(&n);
}

/* DPDK virtio_user: SET_OWNER first, calls before features and memory,
 * GET_VRING_BASE with stale bytes in num. */
static void test_net_dpdk_virtio_user_order(void)
{
    struct net n;
    uint64_t proto = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
                     (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);

    net_open(&n, 2);
    fe_set(&n.fe, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    uint64_t offered = fe_get_features(&n.fe);
    EXPECT_EQ(fe_get_protocol_features(&n.fe) & proto, proto);
    fe_set_protocol_features(&n.fe, proto);
    for (unsigned q = 0; q < 2; q++) {
        fe_set_vring_fd(&n.fe, VHOST_USER_SET_VRING_CALL, q,
                        fe_call_fd(&n.fe, q));
    }
    uint64_t want =
        offered & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) |
                   (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                   (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) |
                   (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_IN_ORDER));
    fe_set_features(&n.fe, want);
    /* The call fds sent before SET_FEATURES survive it. */
    EXPECT_TRUE(n.td.dev.vq[0].call_fd >= 0);
    EXPECT_TRUE(n.td.dev.vq[1].call_fd >= 0);
    n.fe.need_reply = true; /* SET_MEM_TABLE with NEED_REPLY */
    fe_set_mem_table(&n.fe);
    n.fe.need_reply = false;
    for (unsigned q = 0; q < 2; q++) {
        fe_ring_place(&n.fe, &n.rings[q], RING_GPA(q), QSIZE);
        fe_ring_setup(&n.fe, q, &n.rings[q]);
        fe_set_vring_fd(&n.fe, VHOST_USER_SET_VRING_KICK, q,
                        fe_kick_fd(&n.fe, q));
        fe_set_vring_enable(&n.fe, q, 1);
    }
    one_packet(&n, 0, true);
    one_packet(&n, 1, false);
    for (unsigned q = 0; q < 2; q++) {
        struct vhost_vring_state s = { .index = q, .num = 0xdeadbeef };
        struct fe_msg m;
        fe_set_vring_enable(&n.fe, q, 0);
        EXPECT_TRUE(fe_call(&n.fe, VHOST_USER_GET_VRING_BASE, FE_VERSION, &s,
                            sizeof(s), NULL, 0));
        fe_expect_reply(&n.fe, VHOST_USER_GET_VRING_BASE, sizeof(s), &m);
        EXPECT_EQ(m.payload.state.index, q);
        EXPECT_EQ(m.payload.state.num, 1); /* one packet each, not 0xdeadbeef */
    }
    EXPECT_FALSE(n.td.dev.broken);
    net_close(&n);
}

int main(void)
{
    alarm(60);
    RUN_TEST(test_net_two_queue_pairs);
    RUN_TEST(test_net_mtu_ack_default);
    RUN_TEST(test_net_dpdk_virtio_user_order);
    END_TESTS();
}
