/*
 * fuzz_memtable: SET_MEM_TABLE, ADD_MEM_REG and REM_MEM_REG sequences sent
 * through vu_dispatch, checked against a reference model (a differential
 * oracle).
 *
 * The model is a plain list of regions with the rules of the protocol and of
 * threats.md: a region is refused when its size is 0, when gpa+size,
 * userspace_addr+size or mmap_offset+size wraps, when it overlaps another
 * region in guest-physical or frontend-virtual space, when its fd is not a
 * regular file or is smaller than mmap_offset+size; SET_MEM_TABLE is refused
 * when nregions > 8, when the payload is not exactly 8 + 32*nregions bytes
 * or when the fd count differs from nregions, and then the old table stays;
 * REM_MEM_REG removes the region with the same gpa, size and userspace
 * address or is refused.  Every request carries NEED_REPLY, so the ack tells
 * acceptance: the library must accept exactly what the model accepts.
 *
 * After every request the library's table must equal the model's, and
 * translations are checked by content: byte o of pool memfd k holds
 * pattern(k, o), so the byte behind every pointer that vu_gpa_to_va (and the
 * internal gpa/qva range lookups) return must be the pattern byte of the
 * right file at the right offset, and *plen must be the model's.
 *
 * Input: ops until the end, each one byte (op % 4) and its fields:
 *   0 SET_MEM_TABLE  u8 nregions (mod 10), u8 fd mode, u8 size tweak, regions
 *   1 ADD_MEM_REG    region
 *   2 REM_MEM_REG    region (its fd selector: 0 none, 1 one fd, 2 two fds)
 *   3 QUERY          u64 address, u32 length
 * A region is u8 mode, then if mode & 0x80: u64 gpa, u64 size, u64 uaddr,
 * u64 offset; else u16 gpa page, u8 pages, u16 uaddr page, u8 offset page
 * (tweaked by mode bits 0-4), and then u8 fd selector.
 */
#include "fuzz_common.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define POOL 6
#define MAX_OPS 64
#define MAX_MODEL 64
#define UADDR_BASE 0x7f0000000000ULL

static const uint64_t pool_size[POOL] = { 0x1000,   0x10000, 0x100000,
                                          0x201000, 0x2000,  0x1000000 };
static int pool[POOL] = { -1 };
static int fe = -1, lib = -1;
/* Not regular files: the library must refuse them as region fds.  Created
 * once; the library gets (and closes) its own copy of each. */
static int ev_keep = -1, null_keep = -1;
static VuDev dev;

struct mreg {
    uint64_t gpa, size, uaddr, off;
    int k;         /* pool index of its fd */
    unsigned refs; /* exact repeats of ADD_MEM_REG not yet removed */
};

static struct mreg model[MAX_MODEL];
static unsigned nmodel;

static uint8_t pattern(int k, uint64_t o)
{
    return (uint8_t)(((o * 2654435761u) >> 13) ^ (o >> 20) ^
                     (uint64_t)(k * 37 + 1));
}

static void setup_once(void)
{
    int sv[2];
    static uint8_t buf[65536];

    fz_verbose = getenv("FUZZ_VERBOSE") != NULL;
    for (int k = 0; k < POOL; k++) {
        pool[k] = memfd_create("fuzz-memtable", MFD_CLOEXEC);
        FZ_CHECK(pool[k] >= 0 && ftruncate(pool[k], (off_t)pool_size[k]) == 0,
                 "memfd: %s", strerror(errno));
        for (uint64_t o = 0; o < pool_size[k]; o += sizeof(buf)) {
            uint64_t n =
                pool_size[k] - o < sizeof(buf) ? pool_size[k] - o : sizeof(buf);
            for (uint64_t i = 0; i < n; i++) {
                buf[i] = pattern(k, o + i);
            }
            FZ_CHECK(pwrite(pool[k], buf, n, (off_t)o) == (ssize_t)n, "pwrite");
        }
    }
    ev_keep = eventfd(0, EFD_CLOEXEC);
    null_keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FZ_CHECK(ev_keep >= 0 && null_keep >= 0, "eventfd, /dev/null");
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

/* ---- the model ---- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen; /* ends known not to wrap */
}

/* k < 0: the fd is not a usable regular file. */
static bool model_valid(const struct mreg *r, const struct mreg *tab,
                        unsigned n)
{
    uint64_t end;

    if (r->size == 0 || __builtin_add_overflow(r->gpa, r->size, &end) ||
        __builtin_add_overflow(r->uaddr, r->size, &end) ||
        __builtin_add_overflow(r->off, r->size, &end) ||
        r->size > (uint64_t)SIZE_MAX / 2) {
        return false;
    }
    if (n >= VHOST_USER_MAX_RAM_SLOTS || n >= MAX_MODEL) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (overlaps(r->gpa, r->size, tab[i].gpa, tab[i].size) ||
            overlaps(r->uaddr, r->size, tab[i].uaddr, tab[i].size)) {
            return false;
        }
    }
    return r->k >= 0 && r->off + r->size <= pool_size[r->k];
}

/* ---- wire ---- */

/* fd selector -> fd to send (pool memfd, eventfd, /dev/null or none); *k the
 * pool index or -1; *made an fd we must close (none: all are persistent). */
static int select_fd(uint8_t sel, int *k, int *made)
{
    sel %= POOL + 3;
    *k = -1;
    *made = -1;
    if (sel < POOL) {
        *k = sel;
        return pool[sel];
    }
    if (sel == POOL) {
        return ev_keep;
    }
    if (sel == POOL + 1) {
        return null_keep;
    }
    return -1;
}

static void read_region(struct tlv *t, struct mreg *r, uint8_t *fdsel)
{
    uint8_t mode = tlv_u8(t);

    if (mode & 0x80) {
        r->gpa = tlv_u64(t);
        r->size = tlv_u64(t);
        r->uaddr = tlv_u64(t);
        r->off = tlv_u64(t);
    } else {
        r->gpa = (uint64_t)tlv_u16(t) << 12;
        r->size = (uint64_t)tlv_u8(t) << 12;
        r->uaddr = UADDR_BASE + ((uint64_t)tlv_u16(t) << 12);
        r->off = (uint64_t)tlv_u8(t) << 12;
        if (mode & 0x01) {
            r->gpa += 0x123;
        }
        if (mode & 0x02) {
            r->size -= 1;
        }
        if (mode & 0x04) {
            r->off += 0x10;
        }
        if (mode & 0x08) {
            r->uaddr = UINT64_MAX - 0x3fff + (r->uaddr & 0xfff);
        }
        if (mode & 0x10) {
            r->gpa = UINT64_MAX - 0x1fff;
        }
    }
    *fdsel = tlv_u8(t);
}

static void put_region(uint8_t *p, const struct mreg *r)
{
    VhostUserMemoryRegion w = { .guest_phys_addr = r->gpa,
                                .memory_size = r->size,
                                .userspace_addr = r->uaddr,
                                .mmap_offset = r->off };

    memcpy(p, &w, sizeof(w));
}

static void send_msg(uint32_t req, const uint8_t *payload, uint32_t size,
                     const int *fds, int nfds)
{
    uint8_t buf[VHOST_USER_HDR_SIZE + sizeof(VhostUserMemory)];
    uint32_t flags = 1 | VHOST_USER_NEED_REPLY_MASK;

    if (nfds <= VHOST_MEMORY_BASELINE_NREGIONS) {
        fz_stage_msg(req, flags, payload, size, fds, nfds);
        return;
    }
    memcpy(buf, &req, 4);
    memcpy(buf + 4, &flags, 4);
    memcpy(buf + 8, &size, 4);
    memcpy(buf + VHOST_USER_HDR_SIZE, payload, size);
    fz_send_all(fe, buf, VHOST_USER_HDR_SIZE + size, fds, nfds);
}

/* ---- checks ---- */

static int model_find_gpa(uint64_t gpa)
{
    for (unsigned i = 0; i < nmodel; i++) {
        if (gpa >= model[i].gpa && gpa - model[i].gpa < model[i].size) {
            return (int)i;
        }
    }
    return -1;
}

static void check_byte(const void *p, int k, uint64_t off, const char *what,
                       uint64_t addr)
{
    uint8_t got = *(const volatile uint8_t *)p;

    FZ_CHECK(got == pattern(k, off),
             "%s 0x%llx: byte %02x, expected %02x (memfd %d offset "
             "0x%llx): wrong translation",
             what, (unsigned long long)addr, got, pattern(k, off), k,
             (unsigned long long)off);
}

static void check_query(uint64_t gpa, uint64_t len)
{
    uint64_t plen = len;
    uint8_t *p = vu_gpa_to_va(&dev, &plen, gpa);
    int i = model_find_gpa(gpa);

    if (len == 0 || i < 0) {
        FZ_CHECK(
            p == NULL,
            "vu_gpa_to_va(0x%llx, %llu) mapped an address the model has not",
            (unsigned long long)gpa, (unsigned long long)len);
        FZ_CHECK(plen == len, "vu_gpa_to_va changed *plen on failure");
    } else {
        const struct mreg *r = &model[i];
        uint64_t in = gpa - r->gpa;
        uint64_t want = len < r->size - in ? len : r->size - in;

        FZ_CHECK(p != NULL, "vu_gpa_to_va(0x%llx) failed inside a region",
                 (unsigned long long)gpa);
        FZ_CHECK(plen == want,
                 "vu_gpa_to_va(0x%llx, %llu): *plen %llu, expected %llu",
                 (unsigned long long)gpa, (unsigned long long)len,
                 (unsigned long long)plen, (unsigned long long)want);
        check_byte(p, r->k, r->off + in, "gpa", gpa);
        check_byte(p + plen - 1, r->k, r->off + in + plen - 1, "gpa end",
                   gpa + plen - 1);
    }
    /* The internal whole-range lookup: non-NULL exactly when the range fits. */
    p = vu_mem_gpa_range(&dev, gpa, len);
    if (i >= 0 && len <= model[i].size - (gpa - model[i].gpa)) {
        FZ_CHECK(p != NULL, "vu_mem_gpa_range refused a range inside a region");
        check_byte(p, model[i].k, model[i].off + (gpa - model[i].gpa),
                   "gpa range", gpa);
    } else {
        FZ_CHECK(
            p == NULL,
            "vu_mem_gpa_range(0x%llx, %llu) accepted a range not inside one "
            "region",
            (unsigned long long)gpa, (unsigned long long)len);
    }
}

static void check_qva(uint64_t qva, uint64_t len)
{
    uint8_t *p = vu_mem_qva_range(&dev, qva, len);
    int hit = -1;

    for (unsigned i = 0; i < nmodel; i++) {
        if (qva >= model[i].uaddr && qva - model[i].uaddr < model[i].size &&
            len <= model[i].size - (qva - model[i].uaddr)) {
            hit = (int)i;
        }
    }
    if (hit < 0) {
        FZ_CHECK(
            p == NULL,
            "vu_mem_qva_range(0x%llx, %llu) accepted a range not inside one "
            "region",
            (unsigned long long)qva, (unsigned long long)len);
    } else {
        FZ_CHECK(p != NULL, "vu_mem_qva_range refused a range inside a region");
        check_byte(p, model[hit].k, model[hit].off + (qva - model[hit].uaddr),
                   "qva", qva);
    }
}

static void check_table(void)
{
    FZ_CHECK(dev.nregions == nmodel, "library has %u regions, model %u",
             dev.nregions, nmodel);
    for (unsigned i = 0; i < nmodel; i++) {
        const struct mreg *r = &model[i];
        bool found = false;

        for (uint32_t j = 0; j < dev.nregions; j++) {
            const VuDevRegion *d = &dev.regions[j];
            found |=
                d->gpa == r->gpa && d->size == r->size && d->qva == r->uaddr;
        }
        FZ_CHECK(found,
                 "model region gpa 0x%llx size 0x%llx missing from the library",
                 (unsigned long long)r->gpa, (unsigned long long)r->size);
        check_query(r->gpa, r->size);
        check_query(r->gpa + r->size - 1, 1);
        check_qva(r->uaddr, r->size);
        check_qva(r->uaddr + r->size - 1, 2); /* one past: must be refused */
    }
    for (uint32_t j = 1; j < dev.nregions; j++) {
        FZ_CHECK(dev.regions[j - 1].gpa < dev.regions[j].gpa,
                 "regions not sorted by gpa");
    }
}

/* ---- ops ---- */

static void op_set_mem_table(struct tlv *t)
{
    uint8_t payload[sizeof(VhostUserMemory)] = { 0 };
    uint32_t nfield = tlv_u8(t) % 10;
    uint8_t fdmode = tlv_u8(t) % 3;
    uint8_t tweak = tlv_u8(t) % 4;
    unsigned count = nfield > 8 ? 8 : nfield;
    struct mreg nt[8];
    int fds[9], fdk[9], made[9];
    int nfds = 0, nmade = 0;
    bool valid = nfield <= 8;
    uint32_t size;

    memcpy(payload, &nfield, 4);
    for (unsigned i = 0; i < count; i++) {
        uint8_t sel;
        int k, m;

        read_region(t, &nt[i], &sel);
        fds[nfds] = select_fd(sel, &k, &m);
        nt[i].refs = 1;
        if (m >= 0) {
            made[nmade++] = m;
        }
        if (fds[nfds] >= 0) {
            fdk[nfds++] = k; /* -1: not a usable file */
        }
        put_region(payload + 8 + 32 * i, &nt[i]);
    }
    if (fdmode == 1 && nfds > 0) {
        nfds--;
    } else if (fdmode == 2) {
        fdk[nfds] = 0;
        fds[nfds++] = pool[0];
    }
    size = 8 + 32 * count;
    if (tweak == 1) {
        size -= 1;
        valid = false;
    } else if (tweak == 2 && size + 1 <= sizeof(payload)) {
        size += 1;
        valid = false;
    }
    /* The library pairs the i-th fd with the i-th region, whatever the
     * harness meant: judge the table by what is actually sent. */
    if (nfds != (int)count) {
        valid = false;
    }
    for (unsigned i = 0; i < count && valid; i++) {
        nt[i].k = fdk[i];
        valid = model_valid(&nt[i], nt, i);
        if (fz_verbose) {
            fprintf(stderr,
                    "table[%u] gpa 0x%llx size 0x%llx uaddr 0x%llx off 0x%llx "
                    "k %d%s\n",
                    i, (unsigned long long)nt[i].gpa,
                    (unsigned long long)nt[i].size,
                    (unsigned long long)nt[i].uaddr,
                    (unsigned long long)nt[i].off, fdk[i],
                    valid ? "" : " (model: invalid)");
        }
    }
    send_msg(VHOST_USER_SET_MEM_TABLE, payload, size, fds, nfds);
    bool acked = fz_dispatch_acked(&dev, fe, VHOST_USER_SET_MEM_TABLE);
    for (int i = 0; i < nmade; i++) {
        close(made[i]);
    }
    FZ_CHECK(acked == valid,
             "SET_MEM_TABLE of %u regions (%d fds): library %s, model %s",
             nfield, nfds, acked ? "accepted" : "refused",
             valid ? "accepts" : "refuses");
    if (valid) {
        memcpy(model, nt, count * sizeof(nt[0]));
        nmodel = count;
    }
}

static void op_add(struct tlv *t)
{
    uint8_t payload[40] = { 0 };
    struct mreg r;
    uint8_t sel;
    int k, m, fd;
    bool valid, acked;

    read_region(t, &r, &sel);
    fd = select_fd(sel, &k, &m);
    r.k = k;
    r.refs = 1;
    /* An exact repeat (same addresses, file and offset) is counted; QEMU's
     * multiqueue net sends one per queue pair.  Other bytes behind the same
     * addresses are refused. */
    int same = -1;
    for (unsigned i = 0; i < nmodel; i++) {
        if (model[i].gpa == r.gpa && model[i].size == r.size &&
            model[i].uaddr == r.uaddr) {
            same = (int)i;
        }
    }
    if (same >= 0) {
        valid = fd >= 0 && k == model[same].k && r.off == model[same].off &&
                model[same].refs < 4096;
        put_region(payload + 8, &r);
        send_msg(VHOST_USER_ADD_MEM_REG, payload, sizeof(payload), &fd,
                 fd >= 0);
        acked = fz_dispatch_acked(&dev, fe, VHOST_USER_ADD_MEM_REG);
        if (m >= 0) {
            close(m);
        }
        FZ_CHECK(acked == valid,
                 "repeated ADD_MEM_REG gpa 0x%llx: library %s, model %s",
                 (unsigned long long)r.gpa, acked ? "accepted" : "refused",
                 valid ? "accepts" : "refuses");
        model[same].refs += valid;
        return;
    }
    valid = fd >= 0 && model_valid(&r, model, nmodel);
    put_region(payload + 8, &r);
    send_msg(VHOST_USER_ADD_MEM_REG, payload, sizeof(payload), &fd, fd >= 0);
    acked = fz_dispatch_acked(&dev, fe, VHOST_USER_ADD_MEM_REG);
    if (m >= 0) {
        close(m);
    }
    FZ_CHECK(acked == valid,
             "ADD_MEM_REG gpa 0x%llx size 0x%llx uaddr 0x%llx off 0x%llx "
             "fd %d: library %s, model %s",
             (unsigned long long)r.gpa, (unsigned long long)r.size,
             (unsigned long long)r.uaddr, (unsigned long long)r.off, k,
             acked ? "accepted" : "refused", valid ? "accepts" : "refuses");
    if (valid) {
        model[nmodel++] = r;
    }
}

static void op_rem(struct tlv *t)
{
    uint8_t payload[40] = { 0 };
    struct mreg r;
    uint8_t sel;
    int fds[2] = { pool[0], pool[1] };
    int nfds, found = -1;
    bool acked;

    read_region(t, &r, &sel);
    nfds = sel % 3;
    for (unsigned i = 0; i < nmodel; i++) {
        if (model[i].gpa == r.gpa && model[i].size == r.size &&
            model[i].uaddr == r.uaddr) {
            found = (int)i;
        }
    }
    put_region(payload + 8, &r);
    send_msg(VHOST_USER_REM_MEM_REG, payload, sizeof(payload), fds, nfds);
    acked = fz_dispatch_acked(&dev, fe, VHOST_USER_REM_MEM_REG);
    FZ_CHECK(acked == (found >= 0 && nfds <= 1),
             "REM_MEM_REG gpa 0x%llx (%d fds): library "
             "%s, model %s",
             (unsigned long long)r.gpa, nfds, acked ? "accepted" : "refused",
             found >= 0 && nfds <= 1 ? "accepts" : "refuses");
    if (acked && --model[found].refs == 0) {
        model[found] = model[--nmodel];
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
    int sock;
    unsigned ops = 0;

    if (fe < 0) {
        setup_once();
    }
    sock = fz_fd_check_begin_dup(lib);
    tlv_init(&t, data, size);
    FZ_CHECK(vu_init(&dev, 1, sock, fz_panic, fz_read_staged, fz_set_watch,
                     remove_watch_noop, &iface),
             "vu_init");
    dev.protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                            (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    nmodel = 0;
    while (!tlv_done(&t) && ops++ < MAX_OPS) {
        switch (tlv_u8(&t) % 4) {
        case 0:
            op_set_mem_table(&t);
            break;
        case 1:
            op_add(&t);
            break;
        case 2:
            op_rem(&t);
            break;
        case 3: {
            uint64_t a = tlv_u64(&t);
            uint32_t len = tlv_u32(&t);
            check_query(a, len);
            check_qva(a, len);
            break;
        }
        }
        check_table();
    }
    vu_deinit(&dev);
    fz_fd_check_end("fuzz_memtable");
    return 0;
}
