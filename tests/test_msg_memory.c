/*
 * threats.md "Messages" table, memory rows: fd count vs nregions, region
 * arithmetic, overlapping regions, fd smaller than the region (or shrunk
 * later), stale ring pointers after the table changes, and the log base.
 * Every refusal is checked with fe_expect_refused (clean answer, fds
 * closed, no callbacks, stream in sync) plus "no state changed".
 */
#include "frontend.h"
#include "test_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define PROTO (P(MQ) | P(LOG_SHMFD) | P(REPLY_ACK) | P(CONFIGURE_MEM_SLOTS))
#define MAX_Q 2
#define MIB 0x100000ull
#define QSIZE 64
#define PATTERN_GPA 0x800ull

/* A second memfd region next to the session's (gpa 1 MiB, own uaddr). */
static unsigned add_second_region(struct vu_session *s)
{
    return fe_add_region(&s->fe, MIB, MIB, SESS_RAM_UADDR + 0x10000000ull);
}

/* The installed table still translates to the frontend's memory. */
static void expect_table_intact(struct vu_session *s, uint32_t nregions)
{
    uint32_t *mine = fe_gpa_ptr(&s->fe, PATTERN_GPA, 4);
    uint64_t len = 4;

    EXPECT_EQ(s->td.dev.nregions, nregions);
    if (nregions == 0) {
        return;
    }
    uint32_t *theirs = vu_gpa_to_va(&s->td.dev, &len, PATTERN_GPA);
    EXPECT_NOT_NULL(theirs);
    *mine = 0xfeedf00d;
    EXPECT_EQ(*theirs, 0xfeedf00d);
    *mine = 0;
}

static void refuse_table(struct vu_session *s, const VhostUserMemory *mem,
                         uint32_t n_wire, const int *fds, int nfds)
{
    fe_expect_refused(&s->fe, FE_REFUSED_ACK, VHOST_USER_SET_MEM_TABLE, FE_ACK,
                      mem, 8 + n_wire * (uint32_t)sizeof(VhostUserMemoryRegion),
                      fds, nfds);
}

static void refuse_add(struct vu_session *s, const VhostUserMemoryRegion *r,
                       int fd)
{
    VhostUserMemRegMsg m = { .region = *r };

    fe_expect_refused(&s->fe, FE_REFUSED_ACK, VHOST_USER_ADD_MEM_REG, FE_ACK,
                      &m, sizeof(m), &fd, 1);
}

/* One region, refused both as a one-entry table and as ADD_MEM_REG; the
 * existing one-region table must survive both. */
static void refuse_region_both_ways(const VhostUserMemoryRegion *r, int fd)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 1 };

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    mem.regions[0] = *r;
    refuse_table(&s, &mem, 1, &fd, 1);
    expect_table_intact(&s, 1);
    refuse_add(&s, r, fd);
    expect_table_intact(&s, 1);
    sess_close(&s);
}

/* ---- row "fd count vs field" ---- */

static void test_nregions_vs_fds(void)
{
    struct vu_session s;
    VhostUserMemory mem = { 0 };
    int fds[VHOST_MEMORY_BASELINE_NREGIONS];

    sess_open(&s, MAX_Q, PROTO);
    add_second_region(&s);
    sess_memory(&s);
    for (unsigned i = 0; i < VHOST_MEMORY_BASELINE_NREGIONS; i++) {
        mem.regions[i] = fe_region_wire(&s.fe, i % 2);
        fds[i] = s.fe.regions[i % 2].fd;
    }
    mem.nregions = 2; /* two regions, one fd */
    refuse_table(&s, &mem, 2, fds, 1);
    mem.nregions = 1; /* one region, two fds */
    refuse_table(&s, &mem, 1, fds, 2);
    mem.nregions = 0; /* no region, one fd */
    refuse_table(&s, &mem, 0, fds, 1);
    mem.nregions = 9; /* more than the table holds, 8 fds */
    refuse_table(&s, &mem, 8, fds, 8);
    mem.nregions = 0xffffffffu;
    refuse_table(&s, &mem, 8, fds, 8);
    mem.nregions = 0x80000001u; /* 8 + n*32 wraps to a small number */
    refuse_table(&s, &mem, 1, fds, 1);
    expect_table_intact(&s, 2);
    sess_close(&s);
}

/* ---- row "region arithmetic" ---- */

static void test_region_arithmetic(void)
{
    struct vu_frontend tmp;
    fe_init_pair(&tmp);
    fe_add_region(&tmp, 0, MIB, SESS_RAM_UADDR);
    const VhostUserMemoryRegion good = fe_region_wire(&tmp, 0);
    const uint64_t top = 0xfffffffffffff000ull;
    VhostUserMemoryRegion bad[] = { good, good, good, good, good, good, good };

    bad[0].guest_phys_addr = top; /* gpa + size wraps */
    bad[1].userspace_addr = top;  /* uaddr + size wraps */
    bad[2].mmap_offset = top;     /* offset + size wraps */
    bad[3].memory_size = 0;       /* empty */
    bad[4].memory_size = ~0ull;   /* page round-up wraps */
    bad[5].memory_size = ~0ull - 0x100;
    bad[6].mmap_offset = 0x10000000000ull; /* far past the file */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        refuse_region_both_ways(&bad[i], tmp.regions[0].fd);
    }
    close(tmp.dev_sock);
    fe_destroy(&tmp);
}

/* ---- row "overlapping regions" ---- */

static void test_overlap_in_one_table(void)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 2 };

    sess_open(&s, MAX_Q, PROTO);
    add_second_region(&s);
    int fds[2] = { s.fe.regions[0].fd, s.fe.regions[1].fd };
    mem.regions[0] = fe_region_wire(&s.fe, 0);
    mem.regions[1] = fe_region_wire(&s.fe, 1);
    mem.regions[1].guest_phys_addr = MIB / 2; /* guest-physical overlap */
    refuse_table(&s, &mem, 2, fds, 2);
    mem.regions[1] = fe_region_wire(&s.fe, 1);
    mem.regions[1].userspace_addr = SESS_RAM_UADDR + MIB - 4096; /* qva */
    refuse_table(&s, &mem, 2, fds, 2);
    mem.regions[1] = mem.regions[0]; /* exact duplicate */
    refuse_table(&s, &mem, 2, fds, 2);
    expect_table_intact(&s, 0);
    /* Adjacent is fine. */
    mem.regions[1] = fe_region_wire(&s.fe, 1);
    fe_set(&s.fe, VHOST_USER_SET_MEM_TABLE, &mem, 8 + 2 * 32, fds, 2);
    expect_table_intact(&s, 2);
    sess_close(&s);
}

static void test_overlap_with_added_region(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    unsigned second = add_second_region(&s);
    fe_add_mem_reg(&s.fe, 0);
    VhostUserMemoryRegion r = fe_region_wire(&s.fe, second);
    r.guest_phys_addr = MIB - 4096;
    refuse_add(&s, &r, s.fe.regions[second].fd);
    r = fe_region_wire(&s.fe, second);
    r.userspace_addr = SESS_RAM_UADDR - 4096;
    refuse_add(&s, &r, s.fe.regions[second].fd);
    r = fe_region_wire(&s.fe, 0);
    r.mmap_offset += 4096; /* the same addresses backed by other file bytes */
    refuse_add(&s, &r, s.fe.regions[0].fd);
    expect_table_intact(&s, 1);
    sess_close(&s);
}

/* QEMU 7.2's multiqueue net sends the same ADD_MEM_REG once per queue pair
 * and one REM_MEM_REG per pair: an exact repeat is counted, not refused, and
 * the region stays mapped until its last REM. */
static void test_repeated_add_is_counted(void)
{
    struct vu_session s;
    int fds_before;

    sess_open(&s, MAX_Q, PROTO);
    fe_add_mem_reg(&s.fe, 0);
    fds_before = test_open_fd_count();
    fe_add_mem_reg(&s.fe, 0); /* the second queue pair's view */
    EXPECT_EQ(test_open_fd_count(), fds_before); /* its fd was closed */
    expect_table_intact(&s, 1);
    fe_rem_mem_reg(&s.fe, 0);
    expect_table_intact(&s, 1);
    fe_rem_mem_reg(&s.fe, 0);
    EXPECT_EQ(s.td.dev.nregions, 0);
    sess_close(&s);
}

/* A table refused at its second region leaves no mapping of its first. */
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

static void test_refused_table_maps_nothing(void)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 2 };

    sess_open(&s, MAX_Q, PROTO);
    add_second_region(&s);
    int fds[2] = { s.fe.regions[0].fd, s.fe.regions[1].fd };
    mem.regions[0] = fe_region_wire(&s.fe, 0);
    mem.regions[1] = fe_region_wire(&s.fe, 1);
    mem.regions[1].memory_size = 64 * MIB; /* larger than its file */
    int maps = count_maps();
    for (int i = 0; i < 50; i++) {
        refuse_table(&s, &mem, 2, fds, 2);
    }
    EXPECT_LE(count_maps(), maps + 1);
    expect_table_intact(&s, 0);
    sess_close(&s);
}

/* REM_MEM_REG must name an existing region exactly. */
static void test_rem_mem_reg_unknown(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    fe_add_mem_reg(&s.fe, 0);
    VhostUserMemRegMsg m = { .region = fe_region_wire(&s.fe, 0) };
    m.region.memory_size /= 2; /* a part of it */
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_REM_MEM_REG, FE_ACK, &m,
                      sizeof(m), NULL, 0);
    m.region = fe_region_wire(&s.fe, 0);
    m.region.guest_phys_addr += MIB; /* nowhere */
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_REM_MEM_REG, FE_ACK, &m,
                      sizeof(m), NULL, 0);
    expect_table_intact(&s, 1);
    sess_close(&s);
}

/* QEMU may attach the region's fd to REM_MEM_REG: accepted and closed. */
static void test_rem_mem_reg_with_fd(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    fe_add_mem_reg(&s.fe, 0);
    int fds = test_open_fd_count();
    VhostUserMemRegMsg m = { .region = fe_region_wire(&s.fe, 0) };
    fe_set(&s.fe, VHOST_USER_REM_MEM_REG, &m, sizeof(m), &s.fe.regions[0].fd,
           1);
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_EQ(test_open_fd_count(), fds);
    sess_close(&s);
}

/* ---- row "fd smaller than region, or shrunk later" ---- */

static void test_fd_smaller_than_region(void)
{
    struct vu_frontend tmp;
    fe_init_pair(&tmp);
    /* a 4 KiB memfd described as 1 MiB */
    unsigned small = fe_add_region_ex(&tmp, 0, MIB, SESS_RAM_UADDR, 0, 4096);
    refuse_region_both_ways(
        &(VhostUserMemoryRegion){ 0, MIB, SESS_RAM_UADDR, 0 },
        tmp.regions[small].fd);
    /* offset + size one page past the end of a 1 MiB file */
    unsigned exact = fe_add_region_ex(&tmp, 0, MIB, SESS_RAM_UADDR, 0, MIB);
    refuse_region_both_ways(
        &(VhostUserMemoryRegion){ 0, MIB, SESS_RAM_UADDR, 4096 },
        tmp.regions[exact].fd);
    /* not a file at all */
    int efd = eventfd(0, EFD_CLOEXEC);
    EXPECT_SUCCESS(efd);
    refuse_region_both_ways(
        &(VhostUserMemoryRegion){ 0, 4096, SESS_RAM_UADDR, 0 }, efd);
    close(efd);
    close(tmp.dev_sock);
    fe_destroy(&tmp);
}

/* A hugetlbfs file is mapped at a huge-page-aligned file offset (mmap
 * refuses anything else there) and the region starts at the remainder.  No
 * huge page needs to be reserved: the mapping is never touched. */
static void test_hugetlbfs_region_alignment(void)
{
    struct vu_session s;
    VhostUserMemRegMsg m = { .region = { .guest_phys_addr = 0,
                                         .memory_size = 4096,
                                         .userspace_addr = SESS_RAM_UADDR,
                                         .mmap_offset = 2 * MIB + 4096 } };
    int fd = memfd_create("hugetlb-region", MFD_CLOEXEC | MFD_HUGETLB);
    struct stat st;

    if (fd < 0 || ftruncate(fd, 4 * MIB) != 0 || fstat(fd, &st) != 0 ||
        st.st_blksize != 2 * MIB) {
        fprintf(stderr, "SKIP test_hugetlbfs_region_alignment: no 2 MiB "
                        "hugetlbfs memfd here (memfd_create(MFD_HUGETLB))\n");
        if (fd >= 0) {
            close(fd);
        }
        return;
    }
    sess_open(&s, MAX_Q, PROTO);
    EXPECT_EQ(
        fe_call_acked(&s.fe, VHOST_USER_ADD_MEM_REG, &m, sizeof(m), &fd, 1), 0);
    EXPECT_EQ(s.td.dev.nregions, 1);
    EXPECT_EQ(s.td.dev.regions[0].mmap_offset, 4096);
    EXPECT_EQ(s.td.dev.regions[0].mmap_addr % (2 * MIB), 0);
    sess_close(&s);
    close(fd);
}

/* A sealable memfd cannot be shrunk under the backend's mapping later. */
static void test_region_cannot_shrink_later(void)
{
    struct vu_session s;
    int fd = memfd_create("shrink", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    VhostUserMemory mem = { .nregions = 1 };

    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, (off_t)MIB));
    sess_open(&s, MAX_Q, PROTO);
    mem.regions[0] = (VhostUserMemoryRegion){ 0, MIB, SESS_RAM_UADDR, 0 };
    fe_set(&s.fe, VHOST_USER_SET_MEM_TABLE, &mem, 40, &fd, 1);
    EXPECT_EQ(s.td.dev.nregions, 1);
    EXPECT_FAILURE_WITH_ERRNO(ftruncate(fd, 4096), EPERM);
    uint64_t len = 8;
    volatile uint8_t *p = vu_gpa_to_va(&s.td.dev, &len, MIB - 8);
    EXPECT_NOT_NULL(p);
    EXPECT_EQ(p[0], 0); /* would be SIGBUS if the file had shrunk */
    sess_close(&s);
    close(fd);
}

/* ---- row "stale ring pointers" ---- */

/* One device-readable buffer through the ring; true if it popped. */
static bool pop_one(struct vu_session *s, unsigned q)
{
    VuVirtq *vq = &s->td.dev.vq[q];

    fe_ring_post(&s->rings[q], 0x80000, 64, false);
    VuVirtqElement *e = vu_queue_pop(&s->td.dev, vq, sizeof(*e));
    if (!e) {
        return false;
    }
    EXPECT_EQ(e->out_num, 1);
    EXPECT_EQ(e->out_sg[0].iov_len, 64);
    vu_queue_push(&s->td.dev, vq, e, 0);
    free(e);
    return true;
}

/* The same layout in a new memfd: rings must follow to the new mapping. */
static void test_rings_follow_new_table(void)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 1 };

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    sess_ring(&s, 0, QSIZE);
    EXPECT_TRUE(pop_one(&s, 0));
    unsigned fresh = fe_add_region(&s.fe, 0, MIB, SESS_RAM_UADDR);
    mem.regions[0] = fe_region_wire(&s.fe, fresh);
    fe_set(&s.fe, VHOST_USER_SET_MEM_TABLE, &mem, 40, &s.fe.regions[fresh].fd,
           1);
    /* The frontend now writes the ring in the new memory only. */
    struct fe_ring *r = &s.rings[0];
    uint16_t next = r->next_avail;
    fe_ring_place(&s.fe, r, SESS_RING_GPA(0), QSIZE);
    /* fe_gpa_ptr finds the old region first: address the new one. */
    r->desc = (void *)(s.fe.regions[fresh].map + SESS_RING_GPA(0));
    r->avail = (void *)(s.fe.regions[fresh].map + r->avail_gpa);
    r->used = (void *)(s.fe.regions[fresh].map + r->used_gpa);
    r->avail->idx = htole16(next);
    r->used->idx = htole16(next);
    r->next_avail = next;
    EXPECT_TRUE(pop_one(&s, 0));
    EXPECT_EQ(le16toh(r->used->idx), next + 1);
    sess_close(&s);
}

/* A new table that no longer holds the rings: pop must fail safely. */
static void test_rings_dropped_by_new_table(void)
{
    struct vu_session s;
    VhostUserMemory mem = { .nregions = 1 };

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    sess_ring(&s, 0, QSIZE);
    unsigned other = add_second_region(&s);
    mem.regions[0] = fe_region_wire(&s.fe, other);
    fe_set(&s.fe, VHOST_USER_SET_MEM_TABLE, &mem, 40, &s.fe.regions[other].fd,
           1);
    EXPECT_NULL(s.td.dev.vq[0].vring.desc);
    EXPECT_FALSE(pop_one(&s, 0));
    EXPECT_TRUE(vu_queue_empty(&s.td.dev, &s.td.dev.vq[0]));
    vu_queue_notify(&s.td.dev, &s.td.dev.vq[0]);
    sess_close(&s);
}

/* REM_MEM_REG of the region holding the rings, then ADD it back. */
static void test_rings_after_rem_mem_reg(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    fe_add_mem_reg(&s.fe, 0);
    sess_ring(&s, 0, QSIZE);
    EXPECT_TRUE(pop_one(&s, 0));
    fe_rem_mem_reg(&s.fe, 0);
    EXPECT_EQ(s.td.dev.nregions, 0);
    EXPECT_NULL(s.td.dev.vq[0].vring.desc);
    EXPECT_FALSE(pop_one(&s, 0));
    /* The frontend takes back the unconsumed buffer before re-adding. */
    s.rings[0].next_avail--;
    s.rings[0].avail->idx = htole16(s.rings[0].next_avail);
    fe_add_mem_reg(&s.fe, 0);
    EXPECT_NOT_NULL(s.td.dev.vq[0].vring.desc);
    EXPECT_TRUE(pop_one(&s, 0));
    sess_close(&s);
}

/* GET_VRING_BASE stops the queue: nothing may touch its rings after. */
static void test_rings_after_get_vring_base(void)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    sess_ring(&s, 0, QSIZE);
    EXPECT_EQ(fe_get_vring_base(&s.fe, 0), 0);
    EXPECT_FALSE(pop_one(&s, 0));
    sess_close(&s);
}

/* ---- row "log base" ---- */

static void refuse_log(const VhostUserLog *log, const int *fds, int nfds)
{
    struct vu_session s;

    sess_open(&s, MAX_Q, PROTO);
    fe_expect_refused(&s.fe, FE_REFUSED_EITHER, VHOST_USER_SET_LOG_BASE,
                      FE_VERSION, log, sizeof(*log), fds, nfds);
    EXPECT_NULL(s.td.dev.log_table);
    EXPECT_EQ(s.td.dev.log_size, 0);
    sess_close(&s);
}

static void test_log_base(void)
{
    int fd = memfd_create("log", MFD_CLOEXEC);
    int fds[2] = { fd, fd };

    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, 8192));
    refuse_log(&(VhostUserLog){ 0, 0 }, fds, 1);              /* size 0 */
    refuse_log(&(VhostUserLog){ 4096, ~0ull - 100 }, fds, 1); /* wraps */
    refuse_log(&(VhostUserLog){ ~0ull, 4096 }, fds, 1);       /* wraps */
    refuse_log(&(VhostUserLog){ 4096, 0 }, fds, 0);           /* no fd */
    refuse_log(&(VhostUserLog){ 4096, 0 }, fds, 2);           /* two */
    refuse_log(&(VhostUserLog){ 16384, 0 }, fds, 1);   /* past the file */
    refuse_log(&(VhostUserLog){ 4096, 8192 }, fds, 1); /* past the file */
    int efd = eventfd(0, EFD_CLOEXEC);
    refuse_log(&(VhostUserLog){ 4096, 0 }, &efd, 1); /* not a file */
    close(efd);
    close(fd);
}

/* Writes for pages the log does not cover never land past the log. */
static void test_log_write_past_log(void)
{
    struct vu_session s;
    int fd = memfd_create("log", MFD_CLOEXEC);
    VhostUserLog log = { .mmap_size = 1, .mmap_offset = 0 };
    struct fe_msg m;

    EXPECT_SUCCESS(fd);
    EXPECT_SUCCESS(ftruncate(fd, 4096));
    uint8_t *view = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_TRUE(view != MAP_FAILED);
    sess_open(&s, MAX_Q, PROTO);
    sess_memory(&s);
    fe_set_features(&s.fe, s.td.dev.features | (1ULL << VHOST_F_LOG_ALL));
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_SET_LOG_BASE, FE_VERSION, &log,
                        sizeof(log), &fd, 1));
    fe_expect_reply(&s.fe, VHOST_USER_SET_LOG_BASE, 8, &m);
    sess_ring(&s, 0, QSIZE);
    /* A device-writable buffer at 512 KiB: page 128, log byte 16 > size. */
    fe_ring_post(&s.rings[0], 0x80000, 64, true);
    VuVirtqElement *e = vu_queue_pop(&s.td.dev, &s.td.dev.vq[0], sizeof(*e));
    EXPECT_NOT_NULL(e);
    vu_queue_push(&s.td.dev, &s.td.dev.vq[0], e, 64);
    free(e);
    for (unsigned i = 1; i < 4096; i++) {
        EXPECT_EQ(view[i], 0);
    }
    munmap(view, 4096);
    close(fd);
    sess_close(&s);
}

int main(void)
{
    alarm(120);
    RUN_TEST(test_nregions_vs_fds);
    RUN_TEST(test_region_arithmetic);
    RUN_TEST(test_overlap_in_one_table);
    RUN_TEST(test_overlap_with_added_region);
    RUN_TEST(test_repeated_add_is_counted);
    RUN_TEST(test_refused_table_maps_nothing);
    RUN_TEST(test_rem_mem_reg_unknown);
    RUN_TEST(test_rem_mem_reg_with_fd);
    RUN_TEST(test_fd_smaller_than_region);
    RUN_TEST(test_hugetlbfs_region_alignment);
    RUN_TEST(test_region_cannot_shrink_later);
    RUN_TEST(test_rings_follow_new_table);
    RUN_TEST(test_rings_dropped_by_new_table);
    RUN_TEST(test_rings_after_rem_mem_reg);
    RUN_TEST(test_rings_after_get_vring_base);
    RUN_TEST(test_log_base);
    RUN_TEST(test_log_write_past_log);
    END_TESTS();
}
