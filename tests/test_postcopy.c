/*
 * Postcopy migration messages (compat.md 3.4): ADVISE hands over a
 * userfaultfd, LISTEN arms it, the next SET_MEM_TABLE is answered with our
 * addresses and waits for the frontend's go-ahead, END closes it.
 */
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PF_PAGEFAULT (1ULL << VHOST_USER_PROTOCOL_F_PAGEFAULT)
#define PF_REPLY_ACK (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)

static bool fd_is_userfaultfd(int fd)
{
    char path[64], link[PATH_MAX] = { 0 };

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return readlink(path, link, sizeof(link) - 1) > 0 &&
           strstr(link, "userfaultfd");
}

static void send_mem_table(struct vu_frontend *fe)
{
    VhostUserMemory mem = { .nregions = fe->nregions };
    int fds[VHOST_MEMORY_BASELINE_NREGIONS];

    for (unsigned i = 0; i < fe->nregions; i++) {
        mem.regions[i] = fe_region_wire(fe, i);
        fds[i] = fe->regions[i].fd;
    }
    EXPECT_TRUE(fe_send(fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, &mem,
                        8 + fe->nregions * sizeof(VhostUserMemoryRegion), fds,
                        (int)fe->nregions));
}

static void test_full_postcopy_sequence(void)
{
    struct vu_frontend fe;
    struct test_device t;
    struct fe_msg m;
    uint64_t go_ahead = 0;
    const VuDevRegion *r;

    fe_init_pair(&fe);
    tdev_init(&t, 2, fe.dev_sock);
    fe_attach_tdev(&fe, &t);
    EXPECT_TRUE(fe_get_protocol_features(&fe) & PF_PAGEFAULT);
    fe_negotiate(&fe, 0, PF_PAGEFAULT | PF_REPLY_ACK);

    /* ADVISE: an empty reply that carries the userfaultfd. */
    EXPECT_TRUE(
        fe_call(&fe, VHOST_USER_POSTCOPY_ADVISE, FE_VERSION, NULL, 0, NULL, 0));
    fe_expect_reply(&fe, VHOST_USER_POSTCOPY_ADVISE, 0, &m);
    EXPECT_EQ(m.nfds, 1);
    EXPECT_TRUE(fd_is_userfaultfd(m.fds[0]));
    fe_msg_close_fds(&m);
    EXPECT_TRUE(t.dev.postcopy_ufd >= 0);

    /* LISTEN while memory is registered is refused, without it accepted. */
    fe_add_region(&fe, 0, 1 << 20, 0x7f0000000000ULL);
    fe_set_mem_table(&fe);
    EXPECT_EQ(fe_call_acked(&fe, VHOST_USER_POSTCOPY_LISTEN, NULL, 0, NULL, 0),
              1);
    EXPECT_FALSE(t.dev.postcopy_listening);
    EXPECT_TRUE(strstr(vu_last_error(&t.dev), "already registered") != NULL);
    EXPECT_EQ(fe_call_acked(&fe, VHOST_USER_SET_MEM_TABLE,
                            &(VhostUserMemory){ .nregions = 0 }, 8, NULL, 0),
              0);
    EXPECT_EQ(fe_call_acked(&fe, VHOST_USER_POSTCOPY_LISTEN, NULL, 0, NULL, 0),
              0);
    EXPECT_TRUE(t.dev.postcopy_listening);

    /* The table is answered with our own mapping address of the region; the
     * go-ahead is queued first because the device reads it itself. */
    send_mem_table(&fe);
    EXPECT_TRUE(fe_send(&fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, &go_ahead, 8,
                        NULL, 0));
    EXPECT_TRUE(fe_dispatch(&fe));
    EXPECT_FALSE(t.dev.broken);
    fe_expect_reply(&fe, VHOST_USER_SET_MEM_TABLE,
                    8 + sizeof(VhostUserMemoryRegion), &m);
    EXPECT_EQ(t.dev.nregions, 1);
    r = &t.dev.regions[0];
    {
        VhostUserMemory back;

        memcpy(&back, m.payload.bytes, m.size);
        EXPECT_EQ(back.nregions, 1);
        EXPECT_EQ(back.regions[0].userspace_addr,
                  r->mmap_addr + r->mmap_offset);
        EXPECT_EQ(back.regions[0].guest_phys_addr, 0);
    }

    /* END: u64 0 and the userfaultfd is gone. */
    EXPECT_TRUE(
        fe_call(&fe, VHOST_USER_POSTCOPY_END, FE_VERSION, NULL, 0, NULL, 0));
    fe_expect_ack(&fe, VHOST_USER_POSTCOPY_END, 0);
    EXPECT_EQ(t.dev.postcopy_ufd, -1);
    EXPECT_FALSE(t.dev.postcopy_listening);
    tdev_deinit(&t);
    fe_destroy(&fe);
}

/* A bad go-ahead (wrong request) refuses the table with a reason. */
static void test_bad_go_ahead_is_refused(void)
{
    struct vu_frontend fe;
    struct test_device t;
    struct fe_msg m;
    uint64_t junk = 7;

    fe_init_pair(&fe);
    tdev_init(&t, 1, fe.dev_sock);
    fe_attach_tdev(&fe, &t);
    fe_negotiate(&fe, 0, PF_PAGEFAULT);
    EXPECT_TRUE(
        fe_call(&fe, VHOST_USER_POSTCOPY_ADVISE, FE_VERSION, NULL, 0, NULL, 0));
    fe_expect_reply(&fe, VHOST_USER_POSTCOPY_ADVISE, 0, &m);
    fe_msg_close_fds(&m);
    EXPECT_TRUE(
        fe_call(&fe, VHOST_USER_POSTCOPY_LISTEN, FE_VERSION, NULL, 0, NULL, 0));
    fe_add_region(&fe, 0, 1 << 20, 0x7f0000000000ULL);
    send_mem_table(&fe);
    EXPECT_TRUE(
        fe_send(&fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, &junk, 8, NULL, 0));
    EXPECT_TRUE(fe_dispatch(&fe));
    fe_expect_reply(&fe, VHOST_USER_SET_MEM_TABLE,
                    8 + sizeof(VhostUserMemoryRegion), &m);
    EXPECT_TRUE(t.dev.broken);
    EXPECT_TRUE(strstr(t.panic_msg, "go-ahead") != NULL);
    tdev_deinit(&t);
    fe_destroy(&fe);
}

/* Without PAGEFAULT negotiated every postcopy request is refused. */
static void test_ungated_postcopy_is_refused(void)
{
    struct vu_frontend fe;
    struct test_device t;

    fe_init_pair(&fe);
    tdev_init(&t, 1, fe.dev_sock);
    fe_attach_tdev(&fe, &t);
    fe_negotiate(&fe, 0, PF_REPLY_ACK);
    EXPECT_EQ(fe_call_acked(&fe, VHOST_USER_POSTCOPY_LISTEN, NULL, 0, NULL, 0),
              1);
    EXPECT_TRUE(
        fe_call(&fe, VHOST_USER_POSTCOPY_ADVISE, FE_VERSION, NULL, 0, NULL, 0));
    fe_expect_no_reply(&fe);
    EXPECT_TRUE(t.dev.broken);
    EXPECT_TRUE(strstr(t.panic_msg, "POSTCOPY_ADVISE") != NULL);
    EXPECT_EQ(t.dev.postcopy_ufd, -1);
    tdev_deinit(&t);
    fe_destroy(&fe);
}

int main(void)
{
    int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC);

    if (fd < 0) {
        fprintf(stderr,
                "SKIP: this kernel refuses userfaultfd (%s); only the refusal "
                "paths run\n",
                strerror(errno));
        RUN_TEST(test_ungated_postcopy_is_refused);
        END_TESTS();
    }
    close(fd);
    RUN_TEST(test_full_postcopy_sequence);
    RUN_TEST(test_bad_go_ahead_is_refused);
    RUN_TEST(test_ungated_postcopy_is_refused);
    END_TESTS();
}
