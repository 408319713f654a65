/*
 * Fake guest memory and a driver-side ring view for data-path tests.
 * See fake_guest.h for the memory layout.
 */
#include "fake_guest.h"

#include "internal.h"
#include "test_util.h"

#include <endian.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static void fg_panic(VuDev *dev, const char *err)
{
    struct fake_guest *g = (struct fake_guest *)(void *)dev;

    g->panics++;
    snprintf(g->last_panic, sizeof(g->last_panic), "%s", err);
}

static void fg_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb,
                         void *data)
{
    (void)dev, (void)fd, (void)condition, (void)cb, (void)data;
}

static void fg_remove_watch(VuDev *dev, int fd)
{
    (void)dev, (void)fd;
}

static const VuDevIface fg_iface;

void fg_init_empty(struct fake_guest *g, uint16_t max_queues)
{
    int sv[2];

    memset(g, 0, sizeof(*g));
    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    EXPECT_TRUE(vu_init(&g->dev, max_queues, sv[0], fg_panic, NULL,
                        fg_set_watch, fg_remove_watch, &fg_iface));
    g->peer_sock = sv[1];
    g->heap = FG_HEAP_BASE;
}

#define FG_PAGE 4096ULL

static uint64_t page_round(uint64_t len)
{
    return (len + FG_PAGE - 1) & ~(FG_PAGE - 1);
}

/*
 * Reserve len bytes of address space between two PROT_NONE guard pages
 * (kept until fg_destroy) and return the hole between them.  With unmap,
 * the hole is released so that the library's next mmap of that size, which
 * the kernel places in the highest gap that fits, lands right there.
 */
static uint8_t *guarded_hole(struct fake_guest *g, uint64_t len, bool unmap)
{
    uint64_t span = page_round(len) + 2 * FG_PAGE;
    uint8_t *res =
        mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    EXPECT_TRUE(res != MAP_FAILED);
    g->guards[g->nguards++] = res;
    g->guards[g->nguards++] = res + FG_PAGE + page_round(len);
    if (unmap) {
        munmap(res + FG_PAGE, page_round(len));
    }
    return res + FG_PAGE;
}

void fg_add_region(struct fake_guest *g, uint64_t gpa, uint64_t size)
{
    struct fg_region *r = &g->regions[g->nregions];
    VhostUserMemoryRegion m = {
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = gpa + FG_UADDR_OFFSET,
        .mmap_offset = 0,
    };
    const char *why;

    EXPECT_LT(g->nregions, FG_MAX_REGIONS);
    r->fd = memfd_create("fake-guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    EXPECT_SUCCESS(r->fd);
    EXPECT_SUCCESS(ftruncate(r->fd, (off_t)size));
    /* Both mappings get PROT_NONE neighbours (best effort for the
     * library's), so that an access past a region faults. */
    (void)guarded_hole(g, size, true);
    why = vu_mem_add_region(&g->dev, &m, r->fd);
    if (why) {
        VU_TEST_FAIL("vu_mem_add_region: %s", why);
    }
    r->map = mmap(guarded_hole(g, size, false), size, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_FIXED, r->fd, 0);
    EXPECT_TRUE(r->map != MAP_FAILED);
    r->gpa = gpa;
    r->size = size;
    g->nregions++;
}

void fg_init(struct fake_guest *g, uint16_t max_queues)
{
    fg_init_empty(g, max_queues);
    fg_add_region(g, 0, FG_REGION_B);
    fg_add_region(g, FG_REGION_B, FG_HOLE - FG_REGION_B);
    fg_add_region(g, FG_REGION_C, 0x100000);
}

void fg_destroy(struct fake_guest *g)
{
    vu_deinit(&g->dev);
    for (unsigned i = 0; i < g->nregions; i++) {
        munmap(g->regions[i].map, g->regions[i].size);
        close(g->regions[i].fd);
    }
    close(g->peer_sock);
    for (unsigned i = 0; i < g->nguards; i++) {
        munmap(g->guards[i], FG_PAGE);
    }
}

void *fg_ptr(struct fake_guest *g, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < g->nregions; i++) {
        struct fg_region *r = &g->regions[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size &&
            len <= r->size - (gpa - r->gpa)) {
            return r->map + (gpa - r->gpa);
        }
    }
    VU_TEST_FAIL("fg_ptr: gpa 0x%" PRIx64 "+%" PRIu64 " not in one region", gpa,
                 len);
}

uint64_t fg_alloc(struct fake_guest *g, uint64_t len)
{
    uint64_t gpa = g->heap;

    g->heap = (g->heap + len + 15) & ~15ULL;
    EXPECT_LE(g->heap, FG_REGION_B);
    memset(fg_ptr(g, gpa, len), 0, len);
    return gpa;
}

VuVirtq *fg_vq(struct fake_guest *g, unsigned q)
{
    return &g->dev.vq[q];
}

void fg_setup_queue_at(struct fake_guest *g, unsigned q, unsigned num,
                       uint64_t desc, uint64_t avail, uint64_t used)
{
    VuVirtq *vq = fg_vq(g, q);

    g->q[q] = (struct fg_queue){
        .num = num, .desc = desc, .avail = avail, .used = used
    };
    vq->vring.num = num;
    vq->vra.index = q;
    vq->vra.desc_user_addr = desc + FG_UADDR_OFFSET;
    vq->vra.avail_user_addr = avail + FG_UADDR_OFFSET;
    vq->vra.used_user_addr = used + FG_UADDR_OFFSET;
    vq->vra.log_guest_addr = used;
    vq->vring.log_guest_addr = used;
    vu_impl(&g->dev)->vqp[q].addr_set = true;
    EXPECT_TRUE(vu_vring_map(&g->dev, vq));
    vq->enable = 1;
    vq->started = true;
}

void fg_setup_queue(struct fake_guest *g, unsigned q, unsigned num)
{
    uint64_t base = FG_RING_BASE + q * FG_RING_STRIDE;

    EXPECT_LT(q, FG_MAX_QUEUES);
    memset(fg_ptr(g, base, FG_RING_STRIDE), 0, FG_RING_STRIDE);
    fg_setup_queue_at(g, q, num, base, base + 0x4000, base + 0x5000);
}

static void put16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

static uint16_t get16(const void *p)
{
    return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

void fg_table_desc(struct fake_guest *g, uint64_t table_gpa, unsigned i,
                   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc d = {
        .addr = htole64(addr),
        .len = htole32(len),
        .flags = htole16(flags),
        .next = htole16(next),
    };

    memcpy(fg_ptr(g, table_gpa + 16ULL * i, 16), &d, 16);
}

void fg_desc(struct fake_guest *g, unsigned q, unsigned i, uint64_t addr,
             uint32_t len, uint16_t flags, uint16_t next)
{
    fg_table_desc(g, g->q[q].desc, i, addr, len, flags, next);
}

void fg_set_avail_slot(struct fake_guest *g, unsigned q, unsigned slot,
                       uint16_t head)
{
    put16(fg_ptr(g, g->q[q].avail + 4 + 2ULL * slot, 2), head);
}

void fg_set_avail_idx(struct fake_guest *g, unsigned q, uint16_t idx)
{
    g->q[q].avail_idx = idx;
    put16(fg_ptr(g, g->q[q].avail + 2, 2), idx);
}

void fg_avail_add(struct fake_guest *g, unsigned q, uint16_t head)
{
    struct fg_queue *fq = &g->q[q];

    fg_set_avail_slot(g, q, fq->avail_idx % fq->num, head);
    fg_set_avail_idx(g, q, (uint16_t)(fq->avail_idx + 1));
}

void fg_set_avail_flags(struct fake_guest *g, unsigned q, uint16_t flags)
{
    put16(fg_ptr(g, g->q[q].avail, 2), flags);
}

void fg_set_used_event(struct fake_guest *g, unsigned q, uint16_t v)
{
    put16(fg_ptr(g, g->q[q].avail + 4 + 2ULL * g->q[q].num, 2), v);
}

uint16_t fg_used_idx(struct fake_guest *g, unsigned q)
{
    return get16(fg_ptr(g, g->q[q].used + 2, 2));
}

uint16_t fg_used_flags(struct fake_guest *g, unsigned q)
{
    return get16(fg_ptr(g, g->q[q].used, 2));
}

uint16_t fg_avail_event(struct fake_guest *g, unsigned q)
{
    return get16(fg_ptr(g, g->q[q].used + 4 + 8ULL * g->q[q].num, 2));
}

void fg_used_elem(struct fake_guest *g, unsigned q, unsigned slot, uint32_t *id,
                  uint32_t *len)
{
    struct vring_used_elem e;

    memcpy(&e, fg_ptr(g, g->q[q].used + 4 + 8ULL * slot, 8), 8);
    *id = le32toh(e.id);
    *len = le32toh(e.len);
}

uint16_t fg_post_chain(struct fake_guest *g, unsigned q, unsigned first,
                       unsigned n_out, unsigned n_in, uint32_t len)
{
    unsigned n = n_out + n_in;

    for (unsigned k = 0; k < n; k++) {
        uint16_t flags = k + 1 < n ? VRING_DESC_F_NEXT : 0;

        if (k >= n_out) {
            flags |= VRING_DESC_F_WRITE;
        }
        fg_desc(g, q, first + k, fg_alloc(g, len), len, flags,
                (uint16_t)(first + k + 1));
    }
    fg_avail_add(g, q, (uint16_t)first);
    return (uint16_t)first;
}

int fg_set_call_eventfd(struct fake_guest *g, unsigned q)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    EXPECT_SUCCESS(fd);
    fg_vq(g, q)->call_fd = fd;
    return fd;
}

uint64_t fg_eventfd_count(int fd)
{
    uint64_t v = 0;

    if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
        return 0;
    }
    return v;
}

void *fg_lib_ptr(struct fake_guest *g, uint64_t gpa, uint64_t len)
{
    uint64_t plen = len;
    void *p = vu_gpa_to_va(&g->dev, &plen, gpa);

    EXPECT_EQ(plen, len);
    return p;
}

uint64_t fg_desc_addr(struct fake_guest *g, unsigned q, unsigned i)
{
    struct vring_desc d;

    memcpy(&d, fg_ptr(g, g->q[q].desc + 16ULL * i, 16), 16);
    return le64toh(d.addr);
}

void fg_expect_healthy(struct fake_guest *g)
{
    if (g->dev.broken) {
        VU_TEST_FAIL("device broken: %s", g->last_panic);
    }
    EXPECT_EQ(g->panics, 0);
}
