/*
 * threats.md "Messages" table, framing rows: short header/payload, oversized
 * size, inexact payload sizes, unknown requests and bad flags, unexpected
 * fds; plus the dispatcher policies every refusal relies on.
 *
 * Memory rows are in test_msg_memory.c, vring rows in test_msg_vring.c,
 * inflight/config/ungated/repeat rows in test_msg_features.c.
 */
#include "frontend.h"
#include "internal.h" /* vu_message_read_default, for a custom reader */
#include "test_util.h"

#include <fcntl.h>
#include <linux/virtio_config.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
/* Everything the library and the test device can offer together. */
#define ALL_PROTO                                                              \
    (P(MQ) | P(LOG_SHMFD) | P(REPLY_ACK) | P(BACKEND_REQ) | P(CONFIG) |        \
     P(INFLIGHT_SHMFD) | P(CONFIGURE_MEM_SLOTS) | P(RARP) | P(NET_MTU))
#define MAX_Q 4

static int new_eventfd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    return fd;
}

/* ---- row "short header / short payload" ---- */

/* EOF before any byte is a clean disconnect: false, not broken. */
static void test_eof_before_header(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_shutdown_write(&s.fe);
    EXPECT_FALSE(fe_dispatch(&s.fe));
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

/* Five header bytes (with an fd) then EOF: false, the fd is closed. */
static void test_short_header_then_eof(void)
{
    struct vu_session s;
    uint8_t partial[5] = { VHOST_USER_SET_FEATURES, 0, 0, 0, 1 };
    int efd = new_eventfd();

    sess_open(&s, MAX_Q, ALL_PROTO);
    int before = test_open_fd_count();
    unsigned set_features = tdev_count(&s.td, TDEV_SET_FEATURES);
    EXPECT_TRUE(fe_send_raw(&s.fe, partial, sizeof(partial), &efd, 1));
    fe_shutdown_write(&s.fe);
    EXPECT_FALSE(fe_dispatch(&s.fe));
    EXPECT_EQ(test_open_fd_count(), before);
    EXPECT_EQ(tdev_count(&s.td, TDEV_SET_FEATURES), set_features);
    /* Unlike a clean disconnect, a cut message is reported. */
    EXPECT_TRUE(s.td.dev.broken);
    EXPECT_EQ(tdev_count(&s.td, TDEV_PANIC), 1);
    close(efd);
    sess_close(&s);
}

/* SET_FEATURES announcing 8 bytes but carrying 3, then EOF. */
static void test_short_payload_then_eof(void)
{
    struct vu_session s;
    uint8_t three[3] = { 0xff, 0xff, 0xff };

    sess_open(&s, MAX_Q, ALL_PROTO);
    uint64_t features = s.td.dev.features;
    EXPECT_TRUE(fe_send_hdr(&s.fe, VHOST_USER_SET_FEATURES, FE_VERSION, 8,
                            three, sizeof(three), NULL, 0));
    fe_shutdown_write(&s.fe);
    EXPECT_FALSE(fe_dispatch(&s.fe));
    EXPECT_EQ(s.td.dev.features, features);
    EXPECT_EQ(tdev_count(&s.td, TDEV_SET_FEATURES), 1); /* negotiation only */
    sess_close(&s);
}

/* A truncated SET_MEM_TABLE with its fd: nothing mapped, fd closed. */
static void test_short_mem_table_then_eof(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    VhostUserMemory mem = { .nregions = 1 };
    mem.regions[0] = fe_region_wire(&s.fe, 0);
    int before = test_open_fd_count();
    EXPECT_TRUE(fe_send_hdr(&s.fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, 40,
                            &mem, 20, &s.fe.regions[0].fd, 1));
    fe_shutdown_write(&s.fe);
    EXPECT_FALSE(fe_dispatch(&s.fe));
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_EQ(test_open_fd_count(), before);
    sess_close(&s);
}

/* ---- row "oversized size" ---- */

/* A size past the largest payload must never be read into the message:
 * no hang, no overflow (ASan/valgrind), fd closed, and the connection is
 * given up (false) or the device is broken with the request named. */
static void oversized_once(uint32_t size)
{
    struct vu_session s;
    uint8_t junk[300];
    int efd = new_eventfd();

    memset(junk, 0xee, sizeof(junk));
    sess_open(&s, MAX_Q, ALL_PROTO);
    int before = test_open_fd_count();
    EXPECT_TRUE(fe_send_hdr(&s.fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, size,
                            junk, sizeof(junk), &efd, 1));
    bool ok = fe_dispatch(&s.fe);
    EXPECT_TRUE(!ok || s.td.dev.broken);
    if (s.td.dev.broken) {
        EXPECT_CONTAINS(s.td.panic_msg,
                        vu_request_to_string(VHOST_USER_SET_MEM_TABLE));
    }
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_EQ(test_open_fd_count(), before);
    close(efd);
    sess_close(&s);
}

static void test_oversized_size(void)
{
    const uint32_t sizes[] = { sizeof(((VhostUserMsg *)0)->payload) + 1,
                               300,
                               4096,
                               0x10000,
                               0x7fffffff,
                               0x80000000u,
                               0xffffffffu };

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        oversized_once(sizes[i]);
    }
}

/* ---- row "inexact payload size" ---- */

struct size_rule {
    uint32_t request;
    uint32_t size; /* the one valid size */
    int nfds;      /* fds a valid message carries */
    bool asks;     /* the request always has its own reply */
};

static const struct size_rule size_rules[] = {
    { VHOST_USER_GET_FEATURES, 0, 0, true },
    { VHOST_USER_SET_FEATURES, 8, 0, false },
    { VHOST_USER_SET_OWNER, 0, 0, false },
    { VHOST_USER_RESET_OWNER, 0, 0, false },
    { VHOST_USER_SET_LOG_BASE, 16, 1, true },
    { VHOST_USER_SET_VRING_NUM, 8, 0, false },
    { VHOST_USER_SET_VRING_ADDR, 40, 0, false },
    { VHOST_USER_SET_VRING_BASE, 8, 0, false },
    { VHOST_USER_GET_VRING_BASE, 8, 0, true },
    { VHOST_USER_SET_VRING_KICK, 8, 1, false },
    { VHOST_USER_SET_VRING_CALL, 8, 1, false },
    { VHOST_USER_SET_VRING_ERR, 8, 1, false },
    { VHOST_USER_GET_PROTOCOL_FEATURES, 0, 0, true },
    { VHOST_USER_SET_PROTOCOL_FEATURES, 8, 0, false },
    { VHOST_USER_GET_QUEUE_NUM, 0, 0, true },
    { VHOST_USER_SET_VRING_ENABLE, 8, 0, false },
    { VHOST_USER_SEND_RARP, 8, 0, false },
    { VHOST_USER_NET_SET_MTU, 8, 0, false },
    { VHOST_USER_SET_BACKEND_REQ_FD, 0, 1, false },
    { VHOST_USER_GET_INFLIGHT_FD, sizeof(VhostUserInflight), 0, true },
    { VHOST_USER_SET_INFLIGHT_FD, sizeof(VhostUserInflight), 1, false },
    { VHOST_USER_GET_MAX_MEM_SLOTS, 0, 0, true },
    { VHOST_USER_ADD_MEM_REG, sizeof(VhostUserMemRegMsg), 1, false },
    { VHOST_USER_REM_MEM_REG, sizeof(VhostUserMemRegMsg), 0, false },
};

/* One wrong size on a fresh session (a refusal may break the device). */
static void inexact_once(const struct size_rule *r, uint32_t size)
{
    struct vu_session s;
    uint8_t zeros[300] = { 0 };
    int fds[2] = { new_eventfd(), new_eventfd() };

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_expect_refused(&s.fe, r->asks ? FE_REFUSED_EITHER : FE_REFUSED_ACK,
                      r->request, FE_ACK, zeros, size, fds, r->nfds);
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_NULL(s.td.dev.log_table);
    EXPECT_NULL(s.td.dev.inflight_info.addr);
    close(fds[0]);
    close(fds[1]);
    sess_close(&s);
}

static void test_inexact_payload_sizes(void)
{
    for (size_t i = 0; i < sizeof(size_rules) / sizeof(size_rules[0]); i++) {
        const struct size_rule *r = &size_rules[i];
        const uint32_t wrong[] = { 0, r->size - 1, r->size + 1, 8, 16, 268 };
        for (size_t j = 0; j < sizeof(wrong) / sizeof(wrong[0]); j++) {
            if (wrong[j] != r->size && wrong[j] <= 268) {
                inexact_once(r, wrong[j]);
            }
        }
    }
}

/* SET_MEM_TABLE: size must be exactly 8 + nregions * 32. */
static void test_inexact_mem_table_size(void)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 1 };

    sess_open(&s, MAX_Q, ALL_PROTO);
    mem.regions[0] = fe_region_wire(&s.fe, 0);
    const uint32_t wrong[] = { 8, 39, 41, 72, 264 };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_MEM_TABLE,
                          FE_ACK, &mem, wrong[i], &s.fe.regions[0].fd, 1);
        EXPECT_EQ(s.td.dev.nregions, 0);
    }
    sess_close(&s);
}

/* ---- row "unknown request / bad flags" ---- */

/* Request numbers nobody may send: holes, never-offered, out of the table. */
static void test_unknown_requests(void)
{
    const uint32_t reqs[] = { 0,  26,  27,         28,          29,
                              30, 34,  39,         40,          42,
                              43, 100, 0x7fffffff, 0x80000000u, 0xffffffffu };

    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        struct vu_session s;
        uint64_t v = 0;
        sess_open(&s, MAX_Q, ALL_PROTO);
        fe_expect_refused(&s.fe, FE_REFUSED_EITHER, reqs[i], FE_ACK, &v, 0,
                          NULL, 0);
        fe_expect_refused(&s.fe, FE_REFUSED_EITHER, reqs[i], FE_ACK, &v, 8,
                          NULL, 0);
        sess_close(&s);
    }
}

/* Request 0 (NONE): the original calls exit(0); we must refuse and live. */
static void test_request_none_does_not_exit(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_NONE, FE_ACK, NULL, 0,
                      NULL, 0);
    fe_expect_refused(&s.fe, FE_REFUSED_BROKEN, VHOST_USER_NONE, FE_VERSION,
                      NULL, 0, NULL, 0);
    sess_close(&s);
}

/* Version must be 1; REPLY and reserved bits must be clear.  A valid
 * SET_FEATURES body so only the flags are wrong. */
static void test_bad_flags(void)
{
    const uint32_t flags[] = { 0x0,   0x2,         0x3,        0x8,  0xa,
                               0xb,   0x5,         0xd,        0x11, 0x19,
                               0x101, 0x80000001u, 0xffffffffu };

    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        struct vu_session s;
        sess_open(&s, MAX_Q, ALL_PROTO);
        uint64_t feats = s.td.dev.features;
        fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_SET_FEATURES,
                          flags[i], &feats, sizeof(feats), NULL, 0);
        EXPECT_EQ(s.td.dev.features, feats);
        sess_close(&s);
    }
}

/* ---- row "unexpected fds" ---- */

static void test_fds_on_requests_without_fds(void)
{
    struct vu_session s;
    int fds[FE_MAX_FDS];

    for (int i = 0; i < FE_MAX_FDS; i++) {
        fds[i] = new_eventfd();
    }
    sess_open(&s, MAX_Q, ALL_PROTO);
    uint64_t feats = s.td.dev.features;
    struct vhost_vring_state st = { .index = 0, .num = 256 };
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_FEATURES, FE_ACK,
                      &feats, 8, fds, 1);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_VRING_NUM, FE_ACK,
                      &st, sizeof(st), fds, 2);
    EXPECT_EQ(s.td.dev.vq[0].vring.num, 0);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_OWNER, FE_ACK, NULL,
                      0, fds, 8);
    /* Exactly one fd expected, two sent. */
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_BACKEND_REQ_FD,
                      FE_ACK, NULL, 0, fds, 2);
    EXPECT_EQ(s.td.dev.backend_fd, -1);
    fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_GET_FEATURES,
                      FE_VERSION, NULL, 0, fds, 1);
    sess_close(&s);
    for (int i = 0; i < FE_MAX_FDS; i++) {
        close(fds[i]);
    }
}

/* More fds than any request takes: 9 (just over) and 16 (the kernel
 * truncates with MSG_CTRUNC).  Every one must be closed; the message is
 * fully read, so the connection stays usable. */
static void too_many_fds_once(int n)
{
    struct vu_session s;
    int fds[FE_MAX_FDS];

    for (int i = 0; i < n; i++) {
        fds[i] = new_eventfd();
    }
    sess_open(&s, MAX_Q, ALL_PROTO);
    VhostUserMemory mem = { .nregions = 1 };
    mem.regions[0] = fe_region_wire(&s.fe, 0);
    fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_SET_MEM_TABLE,
                      FE_ACK, &mem, 40, fds, n);
    EXPECT_EQ(s.td.dev.nregions, 0);
    sess_close(&s);
    for (int i = 0; i < n; i++) {
        close(fds[i]);
    }
}

static void test_too_many_fds(void)
{
    too_many_fds_once(VHOST_MEMORY_BASELINE_NREGIONS + 1);
    too_many_fds_once(FE_MAX_FDS);
}

/* ---- messages the device handles itself (process_msg) ---- */

struct takeover {
    int fd;           /* the fd the device kept, or -1 */
    uint32_t request; /* what it saw */
    bool saw_none;
};

/* Like vhost-user-gpu: GPU_SET_SOCKET (33) with an fd the device keeps;
 * like qemu-storage-daemon: NONE turned into a disconnect by the device. */
static int takeover_msg(struct test_device *t, VhostUserMsg *vmsg,
                        int *do_reply)
{
    struct takeover *k = t->opaque;

    *do_reply = 0;
    k->request = (uint32_t)vmsg->request;
    if (vmsg->request == VHOST_USER_GPU_SET_SOCKET && vmsg->fd_num == 1) {
        k->fd = vmsg->fds[0];
        vmsg->fds[0] = -1; /* taken: the library must not close it */
        return 1;
    }
    if (vmsg->request == VHOST_USER_NONE) {
        k->saw_none = true;
        t->dev.panic(&t->dev, "disconnect");
        return 1;
    }
    return 0;
}

static void test_device_takes_fd(void)
{
    struct vu_session s;
    struct takeover k = { .fd = -1 };
    int sv[2];

    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    sess_open(&s, MAX_Q, ALL_PROTO);
    s.td.process_msg = takeover_msg;
    s.td.opaque = &k;
    fe_set(&s.fe, VHOST_USER_GPU_SET_SOCKET, NULL, 0, &sv[1], 1);
    EXPECT_EQ(k.request, VHOST_USER_GPU_SET_SOCKET);
    EXPECT_TRUE(k.fd >= 0);
    EXPECT_SUCCESS(fcntl(k.fd, F_GETFD)); /* still open: the device owns it */
    EXPECT_EQ(write(k.fd, "x", 1), 1);
    char c = 0;
    EXPECT_EQ(read(sv[0], &c, 1), 1);
    EXPECT_EQ(c, 'x');
    close(k.fd);
    close(sv[0]);
    close(sv[1]);
    sess_close(&s);
}

/* The same request when the device does not take it: refused, fd closed. */
static void test_device_ignores_fd(void)
{
    struct vu_session s;
    struct takeover k = { .fd = -1 };
    int efd = new_eventfd();

    sess_open(&s, MAX_Q, ALL_PROTO);
    s.td.process_msg = takeover_msg;
    s.td.opaque = &k;
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_GPU_SET_SOCKET, FE_ACK,
                      NULL, 0, NULL, 0); /* no fd: the device declines */
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_GPU_SET_SOCKET, FE_ACK,
                      NULL, 0, (int[]){ efd, efd }, 2);
    EXPECT_EQ(k.fd, -1);
    close(efd);
    sess_close(&s);
}

/* qemu-storage-daemon intercepts NONE in process_msg: it must see it. */
static void test_device_sees_request_none(void)
{
    struct vu_session s;
    struct takeover k = { .fd = -1 };

    sess_open(&s, MAX_Q, ALL_PROTO);
    s.td.process_msg = takeover_msg;
    s.td.opaque = &k;
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_NONE, FE_VERSION, NULL, 0, NULL, 0));
    EXPECT_TRUE(k.saw_none);
    EXPECT_STREQ(s.td.panic_msg, "disconnect");
    fe_expect_no_reply(&s.fe);
    sess_close(&s);
}

/* ---- custom readers (vu_init's read_msg, as qemu-storage-daemon uses) ---- */

static unsigned custom_reads;
static int lie_fd_num; /* what the lying reader reports, 0: the truth */

/* Reads with the default reader's wire format, then lies about fd_num
 * (once). */
static bool lying_reader(VuDev *dev, int sock, VhostUserMsg *vmsg)
{
    custom_reads++;
    if (!vu_message_read_default(dev, sock, vmsg)) {
        return false;
    }
    if (lie_fd_num) {
        vmsg->fd_num = lie_fd_num;
        lie_fd_num = 0; /* one message only */
    }
    return true;
}

static void test_custom_reader_is_used(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    s.td.dev.read_msg = lying_reader;
    custom_reads = 0;
    lie_fd_num = 0;
    EXPECT_NE(fe_get_features(&s.fe), 0);
    EXPECT_EQ(custom_reads, 1);
    fe_shutdown_write(&s.fe);
    EXPECT_FALSE(fe_dispatch(&s.fe)); /* the reader's false ends it */
    EXPECT_EQ(custom_reads, 2);
    sess_close(&s);
}

/* A reader claiming more fds than the message can hold: refused, and the
 * fds it did deliver are closed. */
static void test_custom_reader_bad_fd_num(void)
{
    const int lies[] = { VHOST_MEMORY_BASELINE_NREGIONS + 1, 1000, -1 };

    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        struct vu_session s;
        int efd = new_eventfd();
        sess_open(&s, MAX_Q, ALL_PROTO);
        s.td.dev.read_msg = lying_reader;
        lie_fd_num = lies[i];
        uint64_t feats = s.td.dev.features;
        int fds[2] = { efd, efd };
        fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_SET_FEATURES,
                          FE_ACK, &feats, 8, fds, 2);
        close(efd);
        sess_close(&s);
    }
}

/* ---- dispatcher policies ---- */

/* NEED_REPLY on an accepted request: ack 0; without it: no reply. */
static void test_policy_need_reply(void)
{
    struct vu_session s;
    struct fe_msg m;

    sess_open(&s, MAX_Q, ALL_PROTO);
    uint64_t feats = s.td.dev.features;
    EXPECT_EQ(fe_call_acked(&s.fe, VHOST_USER_SET_FEATURES, &feats, 8, NULL, 0),
              0);
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_SET_FEATURES, FE_VERSION, &feats, 8,
                        NULL, 0));
    EXPECT_EQ(fe_recv(&s.fe, &m), 0);
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

/* A refused request under REPLY_ACK + NEED_REPLY: ack u64 = 1, and the
 * device stays usable (it merely refused). */
static void test_policy_refusal_acks_one(void)
{
    struct vu_session s;
    struct vhost_vring_state st = { .index = 0, .num = 3 };

    sess_open(&s, MAX_Q, ALL_PROTO);
    EXPECT_EQ(fe_call_acked(&s.fe, VHOST_USER_SET_VRING_NUM, &st, sizeof(st),
                            NULL, 0),
              1);
    EXPECT_FALSE(s.td.dev.broken);
    EXPECT_EQ(tdev_count(&s.td, TDEV_PANIC), 0);
    fe_set_vring_num(&s.fe, 0, 256);
    EXPECT_EQ(s.td.dev.vq[0].vring.num, 256);
    sess_close(&s);
}

/* Without REPLY_ACK a refusal marks the device broken and names the
 * request in the panic text; vu_dispatch still returns true. */
static void test_policy_refusal_without_ack_breaks(void)
{
    struct vu_session s;
    struct vhost_vring_state st = { .index = 0, .num = 3 };

    sess_open(&s, MAX_Q, P(MQ));
    EXPECT_FALSE(s.fe.need_reply);
    fe_expect_refused(&s.fe, FE_REFUSED_BROKEN, VHOST_USER_SET_VRING_NUM,
                      FE_VERSION, &st, sizeof(st), NULL, 0);
    EXPECT_CONTAINS(s.td.panic_msg, "SET_VRING_NUM");
    EXPECT_EQ(tdev_count(&s.td, TDEV_PANIC), 1);
    EXPECT_EQ(s.td.dev.vq[0].vring.num, 0);
    sess_close(&s);
}

/* SET_FEATURES may only carry bits that were offered, and VERSION_1. */
static void test_policy_features_offered(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, ALL_PROTO);
    uint64_t good = s.td.dev.features;
    uint64_t unoffered = good | (1ULL << 55);
    uint64_t legacy = good & ~(1ULL << VIRTIO_F_VERSION_1);
    unsigned calls = tdev_count(&s.td, TDEV_SET_FEATURES);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_FEATURES, FE_ACK,
                      &unoffered, 8, NULL, 0);
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_SET_FEATURES, FE_ACK,
                      &legacy, 8, NULL, 0);
    EXPECT_EQ(s.td.dev.features, good);
    EXPECT_EQ(tdev_count(&s.td, TDEV_SET_FEATURES), calls);
    sess_close(&s);
}

/* Every request name is printable: the original returns NULL for holes. */
static void test_policy_request_names(void)
{
    for (unsigned r = 0; r < 64; r++) {
        EXPECT_NOT_NULL(vu_request_to_string(r));
    }
    EXPECT_STREQ(vu_request_to_string(0xffffffffu), "unknown");
}

int main(void)
{
    alarm(120);
    RUN_TEST(test_eof_before_header);
    RUN_TEST(test_short_header_then_eof);
    RUN_TEST(test_short_payload_then_eof);
    RUN_TEST(test_short_mem_table_then_eof);
    RUN_TEST(test_oversized_size);
    RUN_TEST(test_inexact_payload_sizes);
    RUN_TEST(test_inexact_mem_table_size);
    RUN_TEST(test_unknown_requests);
    RUN_TEST(test_request_none_does_not_exit);
    RUN_TEST(test_bad_flags);
    RUN_TEST(test_fds_on_requests_without_fds);
    RUN_TEST(test_too_many_fds);
    RUN_TEST(test_device_takes_fd);
    RUN_TEST(test_device_ignores_fd);
    RUN_TEST(test_device_sees_request_none);
    RUN_TEST(test_custom_reader_is_used);
    RUN_TEST(test_custom_reader_bad_fd_num);
    RUN_TEST(test_policy_need_reply);
    RUN_TEST(test_policy_refusal_acks_one);
    RUN_TEST(test_policy_refusal_without_ack_breaks);
    RUN_TEST(test_policy_features_offered);
    RUN_TEST(test_policy_request_names);
    END_TESTS();
}
