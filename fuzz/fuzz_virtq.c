/*
 * fuzz_virtq: the virtqueue data path (pop, push, fill/flush, rewind, unpop,
 * avail bytes, notify, notification suppression) over fuzzed guest memory.
 *
 * Guest memory is three regions that persist across inputs:
 *
 *   gpa 0x00000-0x0ffff  R0  memfd A, offset 0
 *   gpa 0x10000-0x1ffff  R1  memfd B, offset 0x1000   (contiguous with R0 in
 *                                                      guest-physical space)
 *   gpa 0x20000-0x2ffff  hole
 *   gpa 0x30000-0x3ffff  R2  memfd C, offset 0
 *
 * Each region is mapped once, between PROT_NONE guard pages, so R0 and R1
 * are apart in our address space and any access past a region's end faults.
 * The regions are handed to the library's table directly (internal.h), and
 * zeroed between inputs (fz_mem_reset: the pages written are cleared).
 *
 * Input: u8 flags, u8 queue-size exponent, u16 ring base, then optional ring
 * placement (flag 0x08: u32 desc gpa, u32 avail gpa, u32 used gpa), then ring
 * operations (fuzz_common.h) to the end.
 *
 * Invariants: those of fuzz_common.c (every iovec inside guest memory, used
 * idx moving exactly by what was pushed/flushed, inuse never underflowing,
 * no head handed out twice, ...), plus, with VHOST_F_LOG_ALL, a differential
 * check of the dirty log: every page of guest memory the library completed
 * (the used ring, and `len` bytes of each pushed element's in-buffers) has
 * its bit set.
 */
#include "fuzz_common.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define NREG 3
#define REG_SIZE 0x10000ULL
#define GUARD 0x10000ULL
#define MAX_Q 4
#define LOG_BYTES 64 /* 512 pages of 4 KiB: all of gpa 0..2 MiB */

/* flags byte */
#define VF_INDIRECT 0x01
#define VF_EVENT_IDX 0x02
#define VF_LOG 0x04
#define VF_PLACE 0x08
#define VF_NOTIFY_EMPTY 0x10
#define VF_QUEUES_SHIFT 5 /* bits 5-6: queues - 1 */

struct region {
    uint64_t gpa, qva, off;
    int fd;
    uint8_t *host; /* start of the region in our mapping */
    uint8_t *map;  /* what mmap returned (off rounded down = off here) */
};

static struct region regs[NREG] = {
    { .gpa = 0x00000, .qva = 0x7f0000000000ULL, .off = 0 },
    { .gpa = 0x10000, .qva = 0x7f0000200000ULL, .off = 0x1000 },
    { .gpa = 0x30000, .qva = 0x7f0000800000ULL, .off = 0 },
};
static int sock_keep = -1;
static uint8_t log_table[LOG_BYTES];
static VuDev dev;
static struct fz_rings rings;

static void setup_once(void)
{
    uint8_t *area;
    int sv[2];

    fz_verbose = getenv("FUZZ_VERBOSE") != NULL;
    /* One reservation, regions placed with guard gaps between them. */
    area = mmap(NULL, NREG * (REG_SIZE + GUARD) + GUARD, PROT_NONE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    FZ_CHECK(area != MAP_FAILED, "mmap reservation: %s", strerror(errno));
    for (int i = 0; i < NREG; i++) {
        /* R1 goes below R0 in our address space: contiguous in gpa, not here. */
        static const int slot[NREG] = { 1, 0, 2 };
        uint8_t *at = area + GUARD + slot[i] * (REG_SIZE + GUARD);

        regs[i].fd = memfd_create("fuzz-virtq", MFD_CLOEXEC);
        FZ_CHECK(regs[i].fd >= 0 &&
                     ftruncate(regs[i].fd, (off_t)(regs[i].off + REG_SIZE)) ==
                         0,
                 "memfd: %s", strerror(errno));
        regs[i].map =
            mmap(at, REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                 regs[i].fd, (off_t)regs[i].off);
        FZ_CHECK(regs[i].map == at, "mmap region: %s", strerror(errno));
        regs[i].host = regs[i].map;
    }
    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
             "socketpair");
    sock_keep = sv[0];
    close(sv[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sock_keep < 0) {
        setup_once();
    }
    return 0;
}

static void install_regions(void)
{
    struct vu_impl *impl = vu_impl(&dev);

    for (int i = 0; i < NREG; i++) { /* regs[] is in gpa order */
        dev.regions[i] = (VuDevRegion){
            .gpa = regs[i].gpa,
            .size = REG_SIZE,
            .qva = regs[i].qva,
            .mmap_offset = 0,
            .mmap_addr = (uint64_t)(uintptr_t)regs[i].map,
        };
        impl->maps[i] =
            (struct vu_region_map){ .base = regs[i].map, .len = REG_SIZE };
    }
    dev.nregions = NREG;
}

/* The harness owns the mappings: take them out of the table before
 * vu_deinit so that it does not unmap them. */
static void uninstall_regions(void)
{
    dev.nregions = 0;
}

static void reset_memory(void)
{
    static struct fz_mem mem[NREG];

    for (int i = 0; i < NREG; i++) {
        if (!mem[i].map) {
            mem[i] = (struct fz_mem){ .fd = regs[i].fd,
                                      .off = (off_t)regs[i].off,
                                      .map = regs[i].map,
                                      .len = REG_SIZE };
        }
    }
    fz_mem_reset(mem, NREG);
    memset(log_table, 0, sizeof(log_table));
}

static uint64_t gpa_to_qva(uint64_t gpa)
{
    for (int i = 0; i < NREG; i++) {
        if (gpa >= regs[i].gpa && gpa - regs[i].gpa < REG_SIZE) {
            return regs[i].qva + (gpa - regs[i].gpa);
        }
    }
    return gpa; /* not in memory: vu_vring_map must refuse it */
}

/* gpa of a host address inside one of our regions, or UINT64_MAX. */
static uint64_t host_to_gpa(const void *p)
{
    uintptr_t a = (uintptr_t)p;

    for (int i = 0; i < NREG; i++) {
        uintptr_t s = (uintptr_t)regs[i].host;

        if (a >= s && a - s < REG_SIZE) {
            return regs[i].gpa + (a - s);
        }
    }
    return UINT64_MAX;
}

static bool logging(void)
{
    return dev.features & (1ULL << VHOST_F_LOG_ALL);
}

static bool page_dirty(uint64_t gpa)
{
    uint64_t page = gpa / VHOST_LOG_PAGE;

    return page / 8 < LOG_BYTES && (log_table[page / 8] >> (page % 8)) & 1;
}

static void check_push_logged(struct fz_rings *r, unsigned qi,
                              const VuVirtqElement *e, unsigned len,
                              unsigned moved)
{
    VuVirtq *vq = &dev.vq[qi];
    uint64_t left = len;

    (void)r;
    if (!moved || !logging() || dev.broken) {
        return;
    }
    if (vq->vring.flags & (1u << VHOST_VRING_F_LOG)) {
        uint64_t idx_gpa = vq->vring.log_guest_addr + 2;
        FZ_CHECK(page_dirty(idx_gpa),
                 "queue %u: used->idx written but page of gpa 0x%llx "
                 "not marked dirty",
                 qi, (unsigned long long)idx_gpa);
    }
    for (unsigned i = 0; i < e->in_num && left; i++) {
        uint64_t n = e->in_sg[i].iov_len < left ? e->in_sg[i].iov_len : left;
        uint64_t g = host_to_gpa(e->in_sg[i].iov_base);

        if (n == 0) {
            continue;
        }
        FZ_CHECK(g != UINT64_MAX, "in iovec outside the regions");
        for (uint64_t p = g / VHOST_LOG_PAGE; p <= (g + n - 1) / VHOST_LOG_PAGE;
             p++) {
            FZ_CHECK(page_dirty(p * VHOST_LOG_PAGE),
                     "queue %u: %u bytes pushed into "
                     "gpa 0x%llx.. but page 0x%llx not marked dirty",
                     qi, len, (unsigned long long)g, (unsigned long long)p);
        }
        left -= n;
    }
}

static void setup_queue(unsigned qi, unsigned num, uint16_t base, bool place,
                        struct tlv *t, bool log)
{
    struct vu_impl *impl = vu_impl(&dev);
    VuVirtq *vq = &dev.vq[qi];
    uint64_t desc = 0x4000ULL * qi, avail = 0x10000 + 0x1000ULL * qi,
             used = 0x30000 + 0x3000ULL * qi;
    uint16_t le_base = base;

    if (place) {
        desc = tlv_u32(t);
        avail = tlv_u32(t);
        used = tlv_u32(t);
    }
    vq->vring.num = num;
    vq->vra = (struct vhost_vring_addr){
        .index = qi,
        .flags = log ? 1u << VHOST_VRING_F_LOG : 0,
        .desc_user_addr = gpa_to_qva(desc),
        .used_user_addr = gpa_to_qva(used),
        .avail_user_addr = gpa_to_qva(avail),
        .log_guest_addr = used,
    };
    vq->vring.flags = vq->vra.flags;
    vq->vring.log_guest_addr = used;
    if (!vu_vring_map(&dev, vq)) {
        return; /* misplaced rings: the queue stays unusable */
    }
    impl->vqp[qi].addr_set = true;
    vq->last_avail_idx = vq->shadow_avail_idx = vq->used_idx = base;
    fz_dirty_note(&vq->vring.used->idx, 2);
    fz_dirty_note(&vq->vring.avail->idx, 2);
    memcpy(&vq->vring.used->idx, &le_base, 2);
    memcpy(&vq->vring.avail->idx, &le_base, 2);
    vq->enable = 1;
    vq->started = true;
}

static void remove_watch_noop(VuDev *d, int fd)
{
    (void)d;
    (void)fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tlv t;
    uint8_t flags;
    unsigned num, nq;
    uint16_t base;
    static const VuDevIface iface = { 0 };
    int sock;

    if (sock_keep < 0) {
        setup_once();
    }
    sock = fz_fd_check_begin_dup(sock_keep);
    tlv_init(&t, data, size);
    flags = tlv_u8(&t);
    num = 1u << (tlv_u8(&t) % 11);
    base = tlv_u16(&t);
    nq = 1 + ((flags >> VF_QUEUES_SHIFT) & 3);

    reset_memory();
    FZ_CHECK(vu_init(&dev, (uint16_t)nq, sock, fz_panic, NULL, fz_set_watch,
                     remove_watch_noop, &iface),
             "vu_init");
    install_regions();
    dev.features =
        (1ULL << VIRTIO_F_VERSION_1) |
        ((flags & VF_INDIRECT) ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0) |
        ((flags & VF_EVENT_IDX) ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
        ((flags & VF_NOTIFY_EMPTY) ? 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY : 0) |
        ((flags & VF_LOG) ? 1ULL << VHOST_F_LOG_ALL : 0);
    if (flags & VF_LOG) {
        dev.log_table = log_table;
        dev.log_size = LOG_BYTES;
    }
    for (unsigned q = 0; q < nq; q++) {
        setup_queue(q, num, base, flags & VF_PLACE, &t, flags & VF_LOG);
    }

    fz_rings_init(&rings, &dev);
    rings.after_push = check_push_logged;
    fz_rings_run(&rings, &t);
    fz_rings_check(&rings);
    fz_rings_fini(&rings);

    /* The log table and the regions are ours: detach them first. */
    dev.log_table = NULL;
    dev.log_size = 0;
    uninstall_regions();
    vu_deinit(&dev);
    fz_watches_clear();
    fz_fd_check_end("fuzz_virtq");
    return 0;
}
