/*
 * fuzz_inflight: the shared inflight area on reconnect.  A backend restarts
 * and is handed, with SET_INFLIGHT_FD, an area whose contents the frontend
 * controls (version, desc_num, last_batch_head, used_idx, per-descriptor
 * inflight flags, counters and batch links).  The queues are then started
 * with SET_VRING_KICK, which validates the area and builds the resubmission
 * list, and the device pops (resubmitted heads first) and pushes.
 *
 * Input: u8 flags, u8 queue-size exponent, u16 guest used->idx, u16 guest
 * avail->idx, the SET_INFLIGHT_FD fields (exact or fuzzed per flag), the
 * file size, per-queue area headers and descriptor records, raw patches,
 * then ring operations (fuzz_common.h) to the end.  See fuzz/README.md.
 *
 * Invariants (abort on violation): SET_INFLIGHT_FD and SET_VRING_KICK always
 * answer their NEED_REPLY; the resubmission list never holds more than the
 * queue size; no byte of the file outside the areas of the queues that were
 * started (and outside [offset, offset + num_queues * stride)) ever changes;
 * every head the device holds is marked in flight in the area while tracking
 * is on; a completed head is marked not in flight and the area's used_idx
 * follows the used ring; plus every ring invariant of fuzz_common.c.
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
#include <sys/stat.h>
#include <unistd.h>

#define REG_GPA 0x100000ULL
#define REG_QVA 0x7f4000000000ULL
#define REG_SIZE 0x40000ULL
#define MAX_Q 4
#define MAX_FILE (1u << 20)

/* flags */
#define IF_EVENT_IDX 0x04
#define IF_EXACT_SIZE 0x08
#define IF_QSIZE_IS_NUM 0x10
#define IF_EXACT_FILE 0x20
#define IF_UNALIGNED 0x40
#define IF_FUZZ_NQ 0x80

static int region_fd = -1, inflight_fd = -1, fe = -1, lib = -1;
static uint8_t *region;
static struct fz_mem region_mem; /* resets region */
static VuDev dev;
static struct fz_rings rings;
static uint8_t before[MAX_FILE], after[MAX_FILE];
static uint64_t file_size;
static uint64_t area_off, stride;
static unsigned areas; /* num_queues accepted */
static bool accepted;

static void setup_once(void)
{
    int sv[2];

    fz_verbose = getenv("FUZZ_VERBOSE") != NULL;
    region_fd = memfd_create("fuzz-inflight-guest", MFD_CLOEXEC);
    FZ_CHECK(region_fd >= 0 && ftruncate(region_fd, REG_SIZE) == 0, "memfd");
    region =
        mmap(NULL, REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, region_fd, 0);
    FZ_CHECK(region != MAP_FAILED, "mmap");
    region_mem =
        (struct fz_mem){ .fd = region_fd, .map = region, .len = REG_SIZE };
    inflight_fd =
        memfd_create("fuzz-inflight-area", MFD_CLOEXEC); /* not sealable */
    FZ_CHECK(inflight_fd >= 0, "memfd");
    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
             "socketpair");
    fe = sv[0];
    lib = sv[1];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (fe < 0) {
        setup_once();
    }
    return 0;
}

/* The request reaches vu_dispatch through fz_read_staged; the ack comes
 * back over the socket. */
static void send_msg(uint32_t req, const void *payload, uint32_t size, int fd)
{
    fz_stage_msg(req, 1 | VHOST_USER_NEED_REPLY_MASK, payload, size, &fd,
                 fd >= 0);
}

/* Pages of `before` that may hold a nonzero byte (written by this input's
 * build_file): only those are cleared for the next input and written to the
 * file, whose other pages stay holes (zeros). */
#define PG 4096u
static uint8_t dirty[MAX_FILE / PG];

static void mark_dirty(uint64_t off, uint64_t len)
{
    for (uint64_t p = off / PG; len && p <= (off + len - 1) / PG; p++) {
        dirty[p] = 1;
    }
}

static void put16(uint8_t *area, uint64_t off, uint16_t v)
{
    if (off + 2 <= file_size) {
        memcpy(area + off, &v, 2);
        mark_dirty(off, 2);
    }
}

/* Build the file contents in `before` and write them. */
static void build_file(struct tlv *t, unsigned nq_areas, uint16_t qsize)
{
    for (unsigned p = 0; p < MAX_FILE / PG; p++) {
        if (dirty[p]) {
            memset(before + (size_t)p * PG, 0, PG);
            dirty[p] = 0;
        }
    }
    for (unsigned q = 0; q < nq_areas && q < MAX_Q; q++) {
        uint64_t a = area_off + q * stride;
        unsigned nrec;

        put16(before, a + 8, tlv_u16(t));  /* version */
        put16(before, a + 10, tlv_u16(t)); /* desc_num */
        put16(before, a + 12, tlv_u16(t)); /* last_batch_head */
        put16(before, a + 14, tlv_u16(t)); /* used_idx */
        nrec = tlv_u8(t) % 32;
        for (unsigned i = 0; i < nrec; i++) {
            unsigned idx = qsize ? tlv_u16(t) % qsize : tlv_u16(t);
            uint64_t d = a + 16 + 16ULL * idx;
            uint8_t infl = tlv_u8(t);
            uint16_t next = tlv_u16(t);
            uint32_t counter = tlv_u32(t);

            if (d + 16 <= file_size) {
                before[d] = infl;
                memcpy(before + d + 6, &next, 2);
                memcpy(before + d + 8, &counter, 4);
                mark_dirty(d, 16);
            }
        }
    }
    for (unsigned n = tlv_u8(t) % 8; n > 0; n--) { /* raw patches */
        uint32_t off = tlv_u32(t) % MAX_FILE;
        size_t got;
        const uint8_t *p = tlv_bytes(t, tlv_u8(t), &got);
        size_t i;

        for (i = 0; i < got && off + i < file_size; i++) {
            before[off + i] = p[i];
        }
        mark_dirty(off, i);
    }
    /* Emptied, then grown back: all zeros (holes) but the dirty pages. */
    FZ_CHECK(ftruncate(inflight_fd, 0) == 0 &&
                 ftruncate(inflight_fd, (off_t)file_size) == 0,
             "ftruncate");
    for (unsigned p = 0; (uint64_t)p * PG < file_size;) {
        unsigned e = p;
        uint64_t lo = (uint64_t)p * PG, hi;

        while ((uint64_t)e * PG < file_size && dirty[e]) {
            e++;
        }
        hi = (uint64_t)e * PG < file_size ? (uint64_t)e * PG : file_size;
        if (hi > lo) {
            FZ_CHECK(pwrite(inflight_fd, before + lo, hi - lo, (off_t)lo) ==
                         (ssize_t)(hi - lo),
                     "pwrite");
        }
        p = e + 1;
    }
}

static void setup_queue(unsigned q, unsigned num, uint16_t used_idx,
                        uint16_t avail_idx)
{
    VuVirtq *vq = &dev.vq[q];
    uint64_t desc = REG_GPA + 0x4000ULL * q,
             avail = REG_GPA + 0x10000 + 0x1000ULL * q,
             used = REG_GPA + 0x20000 + 0x3000ULL * q;

    vq->vring.num = num;
    vq->vra =
        (struct vhost_vring_addr){ .index = q,
                                   .desc_user_addr = REG_QVA + (desc - REG_GPA),
                                   .used_user_addr = REG_QVA + (used - REG_GPA),
                                   .avail_user_addr =
                                       REG_QVA + (avail - REG_GPA) };
    FZ_CHECK(vu_vring_map(&dev, vq), "rings of queue %u do not map", q);
    vu_impl(&dev)->vqp[q].addr_set = true;
    fz_dirty_note(&vq->vring.used->idx, 2);
    fz_dirty_note(&vq->vring.avail->idx, 2);
    memcpy(&vq->vring.used->idx, &used_idx, 2);
    memcpy(&vq->vring.avail->idx, &avail_idx, 2);
    vq->last_avail_idx = vq->shadow_avail_idx = avail_idx;
    vq->used_idx = used_idx;
    vq->enable = 1;
}

static bool tracking(unsigned q)
{
    VuVirtq *vq = &dev.vq[q];

    return vq->inflight && vu_impl(&dev)->vqp[q].inflight_checked &&
           !dev.broken &&
           vq->vring.num <= vu_impl(&dev)->vqp[q].inflight_desc_cap;
}

/* Queues started at any point of this input (a ring op may send another
 * SET_VRING_KICK that starts a queue whose first start was refused). */
static unsigned ever_started;

static void check_held_inflight(struct fz_rings *r)
{
    for (unsigned q = 0; q < r->nq; q++) {
        VuVirtq *vq = &dev.vq[q];

        if (vq->started) {
            ever_started |= 1u << q;
        }

        if (!tracking(q)) {
            continue;
        }
        FZ_CHECK(vq->resubmit_num <= vq->vring.num,
                 "queue %u: %u heads to resubmit on a "
                 "ring of %u",
                 q, vq->resubmit_num, vq->vring.num);
        for (unsigned i = 0; i < r->q[q].n; i++) {
            unsigned h = r->q[q].out[i]->index;
            FZ_CHECK(vq->inflight->desc[h].inflight != 0,
                     "queue %u: head %u is held by the "
                     "device but not marked in flight",
                     q, h);
        }
    }
}

static void after_push(struct fz_rings *r, unsigned q, const VuVirtqElement *e,
                       unsigned len, unsigned moved)
{
    VuVirtq *vq = &dev.vq[q];

    (void)r;
    (void)len;
    if (!moved || !tracking(q)) {
        return;
    }
    FZ_CHECK(vq->inflight->used_idx == vq->used_idx,
             "queue %u: area used_idx %u, ring %u "
             "after a push",
             q, vq->inflight->used_idx, vq->used_idx);
    FZ_CHECK(vq->inflight->desc[e->index].inflight == 0,
             "queue %u: completed head %u still "
             "marked in flight",
             q, e->index);
}

static void changed(uint64_t o, uint8_t now)
{
    FZ_CHECK(false,
             "byte 0x%llx of the inflight file changed (%02x -> %02x) outside "
             "the areas of the started queues",
             (unsigned long long)o, before[o], now);
}

/* [lo, hi) holds no byte of a started queue's area: it must be as built.
 * A hole reads as zeros, and only dirty pages of `before` are not zero. */
static void check_span(uint64_t lo, uint64_t hi, bool hole)
{
    if (!hole) {
        if (memcmp(before + lo, after + lo, hi - lo) != 0) {
            for (uint64_t o = lo; o < hi; o++) {
                if (before[o] != after[o]) {
                    changed(o, after[o]);
                }
            }
        }
        return;
    }
    for (uint64_t p = lo / PG; p <= (hi - 1) / PG; p++) {
        uint64_t s = p * PG > lo ? p * PG : lo;
        uint64_t e = (p + 1) * PG < hi ? (p + 1) * PG : hi;

        for (uint64_t o = s; dirty[p] && o < e; o++) {
            if (before[o] != 0) {
                changed(o, 0);
            }
        }
    }
}

/* check_span over [lo, hi) minus the areas of the started queues. */
static void check_outside_areas(uint64_t lo, uint64_t hi, bool hole,
                                unsigned started_mask)
{
    while (lo < hi) {
        uint64_t e = hi;
        bool inside = false;

        for (unsigned q = 0; q < areas && q < 32; q++) {
            uint64_t as = area_off + q * stride, ae = as + stride;

            if (!((started_mask >> q) & 1)) {
                continue;
            }
            if (lo >= as && lo < ae) {
                lo = ae;
                inside = true;
                break;
            }
            if (as > lo && as < e) {
                e = as;
            }
        }
        if (!inside) {
            check_span(lo, e, hole);
            lo = e;
        }
    }
}

static void check_untouched(unsigned started_mask)
{
    struct stat st;
    uint64_t pos = 0;

    if (!accepted) {
        return;
    }
    FZ_CHECK(fstat(inflight_fd, &st) == 0 && (uint64_t)st.st_size >= file_size,
             "inflight file shrunk to %lld bytes from %llu",
             (long long)st.st_size, (unsigned long long)file_size);
    /* Only the extents with data are read back (tmpfs reports holes). */
    while (pos < file_size) {
        off_t d = lseek(inflight_fd, (off_t)pos, SEEK_DATA);
        off_t h;

        if (d < 0 || (uint64_t)d >= file_size) {
            FZ_CHECK(d >= 0 || errno == ENXIO, "SEEK_DATA: %s",
                     strerror(errno));
            check_outside_areas(pos, file_size, true, started_mask);
            break;
        }
        if ((uint64_t)d > pos) {
            check_outside_areas(pos, (uint64_t)d, true, started_mask);
        }
        h = lseek(inflight_fd, d, SEEK_HOLE);
        FZ_CHECK(h > d, "SEEK_HOLE: %s", strerror(errno));
        if ((uint64_t)h > file_size) {
            h = (off_t)file_size;
        }
        FZ_CHECK(pread(inflight_fd, after + d, (size_t)(h - d), d) ==
                     (ssize_t)(h - d),
                 "pread");
        check_outside_areas((uint64_t)d, (uint64_t)h, false, started_mask);
        pos = (uint64_t)h;
    }
}

static void remove_watch_noop(VuDev *d, int fd)
{
    (void)d;
    (void)fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const VuDevIface iface = { 0 };
    struct tlv t;
    uint8_t flags;
    unsigned nq, num, started = 0;
    uint16_t used_idx, avail_idx, qsize, nqueues;
    uint64_t mmap_size;
    VhostUserInflight in;
    int sock;

    if (fe < 0) {
        setup_once();
    }
    sock = fz_fd_check_begin_dup(lib);
    tlv_init(&t, data, size);
    flags = tlv_u8(&t);
    nq = 1 + (flags & 3);
    num = 1u << (tlv_u8(&t) % 11);
    used_idx = tlv_u16(&t);
    avail_idx = tlv_u16(&t);
    qsize = (flags & IF_QSIZE_IS_NUM) ? (uint16_t)num : tlv_u16(&t);
    nqueues = (flags & IF_FUZZ_NQ) ? tlv_u16(&t) : (uint16_t)nq;
    stride = vu_inflight_queue_size(qsize);
    mmap_size =
        (flags & IF_EXACT_SIZE) ? nqueues * stride : tlv_u32(&t) % MAX_FILE;
    area_off =
        (uint64_t)(tlv_u8(&t) % 4) * 4096 + ((flags & IF_UNALIGNED) ? 8 : 0);
    file_size = (flags & IF_EXACT_FILE) ? area_off + mmap_size : tlv_u32(&t);
    if (file_size > MAX_FILE) {
        file_size = MAX_FILE;
    }
    if (mmap_size > MAX_FILE) {
        mmap_size = MAX_FILE;
    }
    build_file(&t, nqueues < MAX_Q ? nqueues : MAX_Q, qsize);

    fz_mem_reset(&region_mem, 1);
    FZ_CHECK(vu_init(&dev, (uint16_t)nq, sock, fz_panic, fz_read_staged,
                     fz_set_watch, remove_watch_noop, &iface),
             "vu_init");
    dev.regions[0] = (VuDevRegion){ .gpa = REG_GPA,
                                    .size = REG_SIZE,
                                    .qva = REG_QVA,
                                    .mmap_offset = 0,
                                    .mmap_addr = (uintptr_t)region };
    dev.nregions = 1;
    dev.features =
        (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
        ((flags & IF_EVENT_IDX) ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0);
    dev.protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
                            (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);

    memset(&in, 0, sizeof(in)); /* the tail padding goes on the wire too */
    in.mmap_size = mmap_size;
    in.mmap_offset = area_off;
    in.num_queues = nqueues;
    in.queue_size = qsize;
    send_msg(VHOST_USER_SET_INFLIGHT_FD, &in, sizeof(in), inflight_fd);
    accepted = fz_dispatch_acked(&dev, fe, VHOST_USER_SET_INFLIGHT_FD);
    areas = nqueues;
    if (accepted) {
        FZ_CHECK(nqueues >= 1 && nqueues <= nq && qsize >= 1 &&
                     qsize <= VIRTQUEUE_MAX_SIZE &&
                     mmap_size >= nqueues * stride && area_off % 4096 == 0 &&
                     area_off + mmap_size <= file_size,
                 "SET_INFLIGHT_FD accepted num_queues %u (max %u) queue_size "
                 "%u mmap_size "
                 "%llu offset %llu file %llu",
                 nqueues, nq, qsize, (unsigned long long)mmap_size,
                 (unsigned long long)area_off, (unsigned long long)file_size);
    }

    fz_rings_init(&rings, &dev);
    rings.after_push = after_push;
    rings.after_op = check_held_inflight;
    for (unsigned q = 0; q < nq; q++) {
        uint64_t u64 = q | VHOST_USER_VRING_NOFD_MASK;

        setup_queue(q, num, used_idx, avail_idx);
        send_msg(VHOST_USER_SET_VRING_KICK, &u64, sizeof(u64), -1);
        if (fz_dispatch_acked(&dev, fe, VHOST_USER_SET_VRING_KICK)) {
            started |= 1u << q;
            FZ_CHECK(dev.vq[q].started, "queue %u: kick acked but not started",
                     q);
        }
    }
    ever_started = started;
    check_held_inflight(&rings);
    fz_rings_run(&rings, &t);
    fz_rings_check(&rings);
    fz_rings_fini(&rings);
    check_untouched(ever_started);

    dev.nregions = 0; /* the guest region is ours */
    vu_deinit(&dev);
    fz_fd_check_end("fuzz_inflight");
    return 0;
}
