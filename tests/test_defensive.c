/*
 * Checks no frontend can reach through the socket because an earlier layer
 * already enforces them (the dispatcher's size table before a handler's own
 * parse, the built-in reader before the header check), reached here the
 * other ways they exist for: a handler called directly, a custom read_msg
 * callback handing over any message, and API misuse by the device.  Also the
 * per-region repeat cap and the slot limit, which need more messages than a
 * fuzz input holds.
 */
#include "dispatch.h"
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PF(bit) (1ULL << VHOST_USER_PROTOCOL_F_##bit)

/* Every handler that parses a payload refuses one that is too short itself,
 * whatever the table in front of it says. */
static void test_handlers_refuse_short_payloads(void)
{
    static const vu_handler_fn parsing[] = {
        vu_h_set_features,      vu_h_set_protocol_features,
        vu_h_set_mem_table,     vu_h_add_mem_reg,
        vu_h_rem_mem_reg,       vu_h_set_log_base,
        vu_h_set_vring_num,     vu_h_set_vring_addr,
        vu_h_set_vring_base,    vu_h_get_vring_base,
        vu_h_set_vring_kick,    vu_h_set_vring_call,
        vu_h_set_vring_err,     vu_h_set_config,
        vu_h_get_inflight_fd,   vu_h_set_inflight_fd,
        vu_h_get_shared_object,
    };
    struct vu_session s;

    sess_open(&s, 2, PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS));
    for (size_t i = 0; i < sizeof(parsing) / sizeof(parsing[0]); i++) {
        VhostUserMsg m;
        struct vu_msg_ctx ctx = { .msg = &m, .reply_fd = -1 };

        memset(&m, 0, sizeof(m));
        m.flags = FE_VERSION;
        m.size = 0;
        for (int f = 0; f < VHOST_MEMORY_BASELINE_NREGIONS; f++) {
            m.fds[f] = -1;
        }
        if (parsing[i](&s.td.dev, &ctx)) {
            VU_TEST_FAIL("handler %zu accepted an empty payload", i);
        }
        if (strcmp(ctx.why, "payload too short") != 0) {
            VU_TEST_FAIL("handler %zu: \"%s\"", i, ctx.why);
        }
        EXPECT_EQ(ctx.reply_fd, -1);
    }
    /* GET_CONFIG answers with an empty config and remembers why */
    {
        VhostUserMsg m;
        struct vu_msg_ctx ctx = { .msg = &m, .reply_fd = -1 };

        memset(&m, 0, sizeof(m));
        EXPECT_TRUE(vu_h_get_config(&s.td.dev, &ctx));
        EXPECT_EQ(m.size, 0);
        EXPECT_CONTAINS(vu_last_error(&s.td.dev), "payload too short");
    }
    /* SET_MEM_TABLE whose count promises more regions than the bytes hold */
    {
        VhostUserMsg m;
        struct vu_msg_ctx ctx = { .msg = &m, .reply_fd = -1 };

        memset(&m, 0, sizeof(m));
        m.payload.memory.nregions = 2;
        m.size = 8 + sizeof(VhostUserMemoryRegion); /* one region's bytes */
        m.fd_num = 2;
        m.fds[0] = m.fds[1] = -1;
        EXPECT_FALSE(vu_h_set_mem_table(&s.td.dev, &ctx));
        EXPECT_CONTAINS(ctx.why, "expected for 2 regions");
    }
    EXPECT_FALSE(s.td.dev.broken);
    EXPECT_EQ(s.td.dev.nregions, 0);
    sess_close(&s);
}

/* A custom read_msg hands over whatever it likes: the dispatcher's header
 * rules still hold. */
static VhostUserMsg next_msg;
static bool custom_read(VuDev *dev, int sock, VhostUserMsg *vmsg)
{
    (void)dev;
    (void)sock;
    *vmsg = next_msg;
    return true;
}

static void custom_panic(VuDev *dev, const char *err)
{
    (void)dev;
    (void)err;
}
static void custom_set_watch(VuDev *dev, int fd, int cond, vu_watch_cb cb,
                             void *data)
{
    (void)dev;
    (void)fd;
    (void)cond;
    (void)cb;
    (void)data;
}
static void custom_remove_watch(VuDev *dev, int fd)
{
    (void)dev;
    (void)fd;
}
static uint64_t custom_get_features(VuDev *dev)
{
    (void)dev;
    return 0;
}
static const VuDevIface custom_iface = { .get_features = custom_get_features };

static void test_custom_reader_header_rules(void)
{
    struct vu_frontend fe;
    VuDev dev;
    struct fe_msg m;

    /* the recorder must cope with the same messages */
    setenv("LIBVHOST_USER_RECORD", "/dev/null", 1);
    fe_init_pair(&fe);
    EXPECT_TRUE(vu_init(&dev, 1, fe.dev_sock, custom_panic, custom_read,
                        custom_set_watch, custom_remove_watch, &custom_iface));
    unsetenv("LIBVHOST_USER_RECORD");
    fe_attach(&fe, &dev);

    memset(&next_msg, 0, sizeof(next_msg));
    next_msg.request = VHOST_USER_SET_OWNER;
    next_msg.flags = FE_ACK;
    next_msg.size = sizeof(next_msg.payload) + 1;
    EXPECT_TRUE(vu_dispatch(&dev));
    EXPECT_EQ(fe_recv(&fe, &m), 1);
    EXPECT_EQ(m.payload.u64, 1);
    EXPECT_CONTAINS(vu_last_error(&dev), "is larger than any request");

    next_msg.size = 0;
    next_msg.fd_num = -1;
    EXPECT_TRUE(vu_dispatch(&dev));
    EXPECT_EQ(fe_recv(&fe, &m), 1);
    EXPECT_EQ(m.payload.u64, 1);
    EXPECT_CONTAINS(vu_last_error(&dev), "fd count -1 is out of range");
    EXPECT_FALSE(dev.broken);

    /* LISTEN without ADVISE: no userfaultfd to arm */
    {
        VhostUserMsg lm;
        struct vu_msg_ctx ctx = { .msg = &lm, .reply_fd = -1 };

        memset(&lm, 0, sizeof(lm));
        EXPECT_FALSE(vu_h_postcopy_listen(&dev, &ctx));
        EXPECT_CONTAINS(ctx.why, "no POSTCOPY_ADVISE came first");
        EXPECT_FALSE(dev.postcopy_listening);
    }
    vu_deinit(&dev);
    vu_deinit(&dev); /* twice is harmless */
    vu_deinit(NULL);
    EXPECT_NULL(dev.regions);
    EXPECT_FALSE(vu_dispatch(&dev));
    EXPECT_FALSE(vu_dispatch(NULL));
    /* vu_init refuses what the original asserts on */
    EXPECT_FALSE(vu_init(NULL, 1, fe.dev_sock, custom_panic, NULL,
                         custom_set_watch, custom_remove_watch, &custom_iface));
    EXPECT_FALSE(vu_init(&dev, 0, fe.sock, custom_panic, NULL, custom_set_watch,
                         custom_remove_watch, &custom_iface));
    EXPECT_NULL(dev.regions);
    EXPECT_FALSE(vu_init(&dev, 1, fe.sock, custom_panic, NULL, custom_set_watch,
                         custom_remove_watch, NULL));
    EXPECT_NULL(dev.regions);
    fe_destroy(&fe);
}

/* The writer refuses a message that could not have come from us. */
static void test_message_write_refuses_bad_messages(void)
{
    VhostUserMsg m;
    int sv[2];

    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    memset(&m, 0, sizeof(m));
    m.size = sizeof(m.payload) + 1;
    EXPECT_FALSE(vu_message_write(sv[0], &m));
    m.size = 0;
    m.fd_num = VHOST_MEMORY_BASELINE_NREGIONS + 1;
    EXPECT_FALSE(vu_message_write(sv[0], &m));
    m.fd_num = -1;
    EXPECT_FALSE(vu_message_write(sv[0], &m));
    m.fd_num = 0;
    EXPECT_TRUE(vu_message_write(sv[0], &m));
    close(sv[0]);
    close(sv[1]);
}

/* A queue that is not the device's own is ignored by every entry point. */
static void test_foreign_queue_is_ignored(void)
{
    struct vu_session s;
    VuVirtq foreign;

    sess_open(&s, 1, PF(REPLY_ACK));
    memset(&foreign, 0, sizeof(foreign));
    foreign.kick_fd = -1;
    vu_set_queue_handler(&s.td.dev, &foreign, tdev_queue_handler);
    EXPECT_NULL(foreign.handler);
    EXPECT_FALSE(vu_inflight_check(&s.td.dev, &foreign));
    /* a pointer into the middle of the device's own first queue: nothing
     * may be read or written through it */
    VuVirtq *inside = (VuVirtq *)(void *)((char *)&s.td.dev.vq[0] + 8);
    VuVirtq before = s.td.dev.vq[0];
    vu_set_queue_handler(&s.td.dev, inside, tdev_queue_handler);
    EXPECT_FALSE(vu_inflight_check(&s.td.dev, inside));
    EXPECT_NULL(vu_queue_pop(&s.td.dev, inside, sizeof(VuVirtqElement)));
    EXPECT_EQ(memcmp(&before, &s.td.dev.vq[0], sizeof(before)), 0);
    /* a kick callback for a queue index the device does not have */
    vu_kick_cb(&s.td.dev, VU_WATCH_IN, (void *)(intptr_t)7);
    vu_kick_cb(&s.td.dev, VU_WATCH_IN, (void *)(intptr_t)-1);
    EXPECT_EQ(tdev_count(&s.td, TDEV_QUEUE_HANDLER), 0);
    /* a ring without a size never maps */
    s.td.dev.vq[0].vring.num = 0;
    EXPECT_FALSE(vu_vring_map(&s.td.dev, &s.td.dev.vq[0]));
    /* logging is off: nothing to mark, no failure */
    vu_log_host_range(&s.td.dev, &foreign, 8, "test");
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

/* An unpop when the device has zeroed the public inuse counter under a held
 * element is refused with the reason rather than wrapping inuse around. */
static void test_unpop_with_nothing_in_use(void)
{
    struct vu_session s;
    VuVirtqElement *e;
    VuVirtq *vq;

    sess_open(&s, 1, PF(REPLY_ACK));
    sess_memory(&s);
    sess_ring(&s, 0, 8);
    vq = &s.td.dev.vq[0];
    fe_ring_post(&s.rings[0], 0x40000, 64, true);
    e = vu_queue_pop(&s.td.dev, vq, sizeof(*e));
    EXPECT_NOT_NULL(e);
    EXPECT_EQ(vq->inuse, 1);
    vq->inuse = 0;
    vu_queue_unpop(&s.td.dev, vq, e, 0);
    EXPECT_TRUE(s.td.dev.broken);
    EXPECT_CONTAINS(s.td.panic_msg, "nothing in use");
    EXPECT_EQ(vq->inuse, 0);
    free(e);
    sess_close(&s);
}

/* QEMU repeats an ADD_MEM_REG per queue pair; the count per region is
 * capped so a frontend cannot wrap it. */
static void test_region_repeat_cap(void)
{
    struct vu_session s;
    VhostUserMemRegMsg reg;
    unsigned i;

    sess_open(&s, 1, PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS));
    memset(&reg, 0, sizeof(reg));
    reg.region = fe_region_wire(&s.fe, 0);
    for (i = 0; i < 4096; i++) {
        EXPECT_EQ(fe_call_acked(&s.fe, VHOST_USER_ADD_MEM_REG, &reg,
                                sizeof(reg), &s.fe.regions[0].fd, 1),
                  0);
    }
    EXPECT_EQ(fe_call_acked(&s.fe, VHOST_USER_ADD_MEM_REG, &reg, sizeof(reg),
                            &s.fe.regions[0].fd, 1),
              1);
    EXPECT_CONTAINS(vu_last_error(&s.td.dev), "added too many times");
    EXPECT_EQ(s.td.dev.nregions, 1);
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

/* 509 slots, then the next ADD_MEM_REG is refused and changes nothing. */
static void test_all_slots_in_use(void)
{
    struct vu_session s;
    VhostUserMemRegMsg reg;
    const uint64_t page = 4096;
    int fd = memfd_create("slots", MFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(
        ftruncate(fd, (off_t)(page * (VHOST_USER_MAX_RAM_SLOTS + 1))));
    sess_open(&s, 1, PF(REPLY_ACK) | PF(CONFIGURE_MEM_SLOTS));
    for (unsigned i = 0; i <= VHOST_USER_MAX_RAM_SLOTS; i++) {
        memset(&reg, 0, sizeof(reg));
        reg.region.guest_phys_addr = 0x100000000ull + i * 2 * page;
        reg.region.memory_size = page;
        reg.region.userspace_addr = 0x7e0000000000ull + i * 2 * page;
        reg.region.mmap_offset = i * page;
        EXPECT_EQ(fe_call_acked(&s.fe, VHOST_USER_ADD_MEM_REG, &reg,
                                sizeof(reg), &fd, 1),
                  i < VHOST_USER_MAX_RAM_SLOTS ? 0 : 1);
    }
    EXPECT_CONTAINS(vu_last_error(&s.td.dev), "memory slots are in use");
    EXPECT_EQ(s.td.dev.nregions, VHOST_USER_MAX_RAM_SLOTS);
    close(fd);
    sess_close(&s);
}

int main(void)
{
    RUN_TEST(test_handlers_refuse_short_payloads);
    RUN_TEST(test_custom_reader_header_rules);
    RUN_TEST(test_message_write_refuses_bad_messages);
    RUN_TEST(test_foreign_queue_is_ignored);
    RUN_TEST(test_unpop_with_nothing_in_use);
    RUN_TEST(test_region_repeat_cap);
    RUN_TEST(test_all_slots_in_use);
    END_TESTS();
}
