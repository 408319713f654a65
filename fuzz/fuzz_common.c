/*
 * fuzz_common.c: invariant reporting, fd-leak check, the watch table and
 * the ring-operation interpreter shared by the fuzz targets.
 */
#include "fuzz_common.h"
#include "internal.h"
#include "vhost-user-ext.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

bool fz_verbose;
int fz_fds_at_start;
unsigned fz_panics;

/* Present in -fprofile-instr-generate builds: keep the coverage of a run that
 * ends in a reported violation. */
extern int __llvm_profile_write_file(void) __attribute__((weak));

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "\nFUZZ INVARIANT VIOLATED at %s:%d: %s\n  ", file, line,
            cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    if (__llvm_profile_write_file) {
        (void)__llvm_profile_write_file();
    }
    abort();
}

void fz_log(const char *fmt, ...)
{
    va_list ap;

    if (!fz_verbose) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

FZ_NO_COVERAGE int fz_fd_count(void)
{
    /* A persistent directory fd rewound each time: no allocation, one
     * getdents64 round trip for the usual few dozen fds. */
    static int dirfd = -1;
    static char buf[32768];
    int n = 0;
    long got;

    if (dirfd < 0) {
        dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
            return -1;
        }
    }
    if (lseek(dirfd, 0, SEEK_SET) != 0) {
        return -1;
    }
    while ((got = syscall(SYS_getdents64, dirfd, buf, sizeof(buf))) > 0) {
        for (long pos = 0; pos < got;) {
            struct {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(buf + pos);
            if (d->name[0] != '.') {
                n++;
            }
            pos += d->reclen;
        }
    }
    return n;
}

static int fd_list(char *out, size_t cap)
{
    char cmd[64];

    (void)out;
    (void)cap;
    snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)getpid());
    return system(cmd);
}

/* The lowest free fd number: one dup and one close.  A leaked fd takes the
 * lowest free number, so this moves on almost every leak. */
FZ_NO_COVERAGE static int lowest_free_fd(void)
{
    int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);

    if (fd >= 0) {
        close(fd);
    }
    return fd;
}

static unsigned fd_checks;
static int fz_lowest_at_start;
static bool full_check;

/* fds the ring ops hand to the library without giving them away (host
 * notifiers): made once, before the first fd count, so that they are part
 * of the baseline rather than an fd pair made and closed per op. */
static int notifier_eventfd = -1, notifier_memfd = -1;

FZ_NO_COVERAGE static void persistent_fds(void)
{
    if (notifier_eventfd < 0) {
        notifier_eventfd = eventfd(0, EFD_CLOEXEC);
        notifier_memfd = memfd_create("fuzz-notifier", MFD_CLOEXEC);
        FZ_CHECK(notifier_eventfd >= 0 && notifier_memfd >= 0,
                 "notifier fds: %s", strerror(errno));
    }
}

FZ_NO_COVERAGE void fz_fd_check_begin(void)
{
    persistent_fds();
    /* The exact count (a /proc walk) on every input when replaying, else on
     * every 64th; the lowest free fd on every input. */
    full_check = getenv("FUZZ_FD_CHECK_ALWAYS") || fd_checks++ % 64 == 0;
    fz_fds_at_start = full_check ? fz_fd_count() : 0;
    fz_lowest_at_start = lowest_free_fd();
}

FZ_NO_COVERAGE int fz_fd_check_begin_dup(int fd)
{
    int copy;

    persistent_fds();
    full_check = getenv("FUZZ_FD_CHECK_ALWAYS") || fd_checks++ % 64 == 0;
    fz_fds_at_start = full_check ? fz_fd_count() : 0;
    /* F_DUPFD from 0 returns the lowest free fd: the dup the input needs
     * anyway doubles as the probe (its number is free again once the library
     * closes it in vu_deinit). */
    copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    FZ_CHECK(copy >= 0, "dup: %s", strerror(errno));
    fz_lowest_at_start = copy;
    return copy;
}

FZ_NO_COVERAGE void fz_fd_check_end(const char *target)
{
    int now = full_check ? fz_fd_count() : 0;
    int lowest = lowest_free_fd();

    if (now != fz_fds_at_start || lowest != fz_lowest_at_start) {
        (void)fd_list(NULL, 0);
    }
    FZ_CHECK(now == fz_fds_at_start,
             "%s: %d fds open after this input, %d before it: "
             "an fd leaked (or was closed twice)",
             target, now, fz_fds_at_start);
    FZ_CHECK(lowest == fz_lowest_at_start,
             "%s: lowest free fd %d after this input, %d "
             "before it: an fd leaked (or was closed twice)",
             target, lowest, fz_lowest_at_start);
}

/* ---- guest memory reset ---- */

FZ_NO_COVERAGE void fz_mem_zero(struct fz_mem *m)
{
    /* Every page of a hole reads as zero; a page an input touched (read or
     * written, through any mapping) is resident.  Zero the resident pages in
     * place rather than punching them out and faulting them back in; punch
     * the whole range every 64th reset so that pages touched once do not
     * stay resident (and get zeroed) forever.  Either way the range holds
     * only zeros afterwards.  mincore() cannot see a page that went to swap:
     * the pages are locked as they are faulted in (MLOCK_ONFAULT), and when
     * that is refused every reset punches. */
    unsigned char vec[FZ_MEM_ZERO_MAX / 4096];
    size_t pages = m->len / 4096;

    FZ_CHECK(m->len % 4096 == 0 && pages <= sizeof(vec) &&
                 (uintptr_t)m->map % 4096 == 0,
             "fz_mem_zero: %zu bytes at %p", m->len, (void *)m->map);
    if (m->resets == 0) {
        m->locked = mlock2(m->map, m->len, MLOCK_ONFAULT) == 0;
    }
    if (!m->locked || m->resets++ % 64 == 0 ||
        mincore(m->map, m->len, vec) != 0) {
        FZ_CHECK(fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                           m->off, (off_t)m->len) == 0,
                 "punch hole: %s", strerror(errno));
        return;
    }
    /* A fixed trip count and no branch on residency: the same input gives
     * the same coverage whatever the earlier inputs left resident. */
    for (size_t i = 0; i < pages; i++) {
        memset(m->map + i * 4096, 0, 4096 * (size_t)(vec[i] & 1));
    }
}

/* Pages noted since the last fz_mem_reset (page addresses, unsorted, maybe
 * repeated: the same page noted twice is zeroed twice, which is cheap). */
#define FZ_DIRTY_MAX 256
static uintptr_t dirty_pages[FZ_DIRTY_MAX];
static unsigned ndirty;
static bool dirty_overflow;

FZ_NO_COVERAGE void fz_dirty_note(const void *p, size_t len)
{
    uintptr_t first = (uintptr_t)p & ~(uintptr_t)4095;
    uintptr_t last = ((uintptr_t)p + (len ? len - 1 : 0)) & ~(uintptr_t)4095;

    for (uintptr_t pg = first; !dirty_overflow; pg += 4096) {
        if (ndirty > 0 && dirty_pages[ndirty - 1] == pg) {
            /* the common case: the same page as the last write */
        } else if (ndirty == FZ_DIRTY_MAX) {
            dirty_overflow = true;
        } else {
            dirty_pages[ndirty++] = pg;
        }
        if (pg == last) {
            break;
        }
    }
}

/* Abort when a resident page of m holds a nonzero byte. */
FZ_NO_COVERAGE static void check_all_zero(const struct fz_mem *m)
{
    static const uint8_t zero_page[4096];
    unsigned char vec[FZ_MEM_ZERO_MAX / 4096];
    size_t pages = m->len / 4096;

    if (mincore(m->map, m->len, vec) != 0) {
        return; /* cannot tell: fz_mem_zero punches the range anyway */
    }
    for (size_t i = 0; i < pages; i++) {
        const uint8_t *pg = m->map + i * 4096;

        if (!(vec[i] & 1)) {
            continue;
        }
        if (memcmp(pg, zero_page, 4096) == 0) {
            continue;
        }
        for (size_t j = 0; j < 4096; j++) {
            FZ_CHECK(pg[j] == 0,
                     "guest memory byte at %p (page %zu of the area at %p) "
                     "is 0x%02x after the reset: written by nobody who noted "
                     "it (the library writes only used rings)",
                     (const void *)(pg + j), i, (void *)m->map, pg[j]);
        }
    }
}

FZ_NO_COVERAGE void fz_mem_reset(struct fz_mem *m, unsigned n)
{
    static int verify_always = -1;
    bool verify;

    if (verify_always < 0) {
        verify_always = getenv("FUZZ_FD_CHECK_ALWAYS") != NULL;
    }
    for (unsigned k = 0; k < n; k++) {
        for (unsigned i = 0; i < ndirty && !dirty_overflow; i++) {
            uintptr_t a = (uintptr_t)m[k].map;

            if (dirty_pages[i] - a < m[k].len) {
                memset((void *)dirty_pages[i], 0, 4096);
            }
        }
    }
    for (unsigned k = 0; k < n; k++) {
        /* fz_mem_zero punches on its 64th call (resets counts from 0). */
        verify = verify_always || m[k].resets % 64 == 0;
        if (verify && !dirty_overflow && m[k].resets > 0) {
            check_all_zero(&m[k]);
        }
        if (verify || dirty_overflow || !m[k].locked) {
            fz_mem_zero(&m[k]);
        } else {
            m[k].resets++;
        }
    }
    ndirty = 0;
    dirty_overflow = false;
}

/* ---- staged requests ---- */

static VhostUserMsg staged;
static bool have_staged;

void fz_stage_msg(uint32_t request, uint32_t flags, const void *payload,
                  uint32_t size, const int *fds, int nfds)
{
    FZ_CHECK(size <= sizeof(staged.payload) && nfds >= 0 &&
                 nfds <= VHOST_MEMORY_BASELINE_NREGIONS && !have_staged,
             "fz_stage_msg: %u bytes, %d fds", size, nfds);
    memset(&staged, 0, sizeof(staged));
    staged.request = (int)request;
    staged.flags = flags;
    staged.size = size;
    memcpy(&staged.payload, payload, size);
    memcpy(staged.fds, fds, sizeof(int) * (size_t)nfds);
    staged.fd_num = nfds;
    have_staged = true;
}

bool fz_read_staged(VuDev *dev, int sock, VhostUserMsg *vmsg)
{
    if (!have_staged) {
        return vu_message_read_default(dev, sock, vmsg);
    }
    have_staged = false;
    *vmsg = staged;
    for (int i = 0; i < staged.fd_num; i++) {
        vmsg->fds[i] = fcntl(staged.fds[i], F_DUPFD_CLOEXEC, 0);
        FZ_CHECK(vmsg->fds[i] >= 0, "dup: %s", strerror(errno));
    }
    return true;
}

void fz_send_all(int sock, const uint8_t *buf, size_t len, const int *fds,
                 int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * FZ_MAX_SEND_FDS)];
        struct cmsghdr align;
    } control;
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { .iov_base = (void *)(buf + done),
                             .iov_len = len - done };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (done == 0 && nfds > 0) {
            memset(&control, 0, sizeof(control));
            mh.msg_control = control.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
        }
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        FZ_CHECK(n > 0, "frontend sendmsg: %s", strerror(errno));
        done += (size_t)n;
    }
}

bool fz_dispatch_acked(VuDev *dev, int fe, uint32_t req)
{
    uint8_t r[VHOST_USER_HDR_SIZE + 8];
    uint32_t rreq, flags, size;
    uint64_t v;

    FZ_CHECK(vu_dispatch(dev), "vu_dispatch failed on request %u", req);
    FZ_CHECK(recv(fe, r, sizeof(r), MSG_DONTWAIT) == (ssize_t)sizeof(r),
             "request %u with NEED_REPLY got no 20-byte ack", req);
    memcpy(&rreq, r, 4);
    memcpy(&flags, r + 4, 4);
    memcpy(&size, r + 8, 4);
    memcpy(&v, r + 12, 8);
    FZ_CHECK(rreq == req && flags == (1u | VHOST_USER_REPLY_MASK) && size == 8,
             "bad ack: request %u flags 0x%x size %u", rreq, flags, size);
    return v == 0;
}

/* ---- watches ---- */

#define FZ_MAX_WATCHES 64

struct fz_watch {
    int fd;
    vu_watch_cb cb;
    void *data;
    int condition;
};

static struct fz_watch watches[FZ_MAX_WATCHES];
static unsigned nwatches;

void fz_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb, void *data)
{
    (void)dev;
    FZ_CHECK(fd >= 0 && fcntl(fd, F_GETFD) >= 0,
             "set_watch on fd %d that is not open", fd);
    FZ_CHECK(cb != NULL, "set_watch without a callback");
    for (unsigned i = 0; i < nwatches; i++) {
        if (watches[i].fd == fd) {
            watches[i] = (struct fz_watch){ fd, cb, data, condition };
            return;
        }
    }
    FZ_CHECK(nwatches < FZ_MAX_WATCHES, "more than %d watches at once",
             FZ_MAX_WATCHES);
    watches[nwatches++] = (struct fz_watch){ fd, cb, data, condition };
}

void fz_remove_watch(VuDev *dev, int fd)
{
    (void)dev;
    for (unsigned i = 0; i < nwatches; i++) {
        if (watches[i].fd == fd) {
            watches[i] = watches[--nwatches];
            return;
        }
    }
}

void fz_run_watches(VuDev *dev)
{
    /* A callback may change the table: take a snapshot first. */
    struct fz_watch snap[FZ_MAX_WATCHES];
    unsigned n = nwatches;

    memcpy(snap, watches, n * sizeof(snap[0]));
    for (unsigned i = 0; i < n; i++) {
        struct pollfd p = { .fd = snap[i].fd,
                            .events = (short)snap[i].condition };
        bool still = false;

        for (unsigned j = 0; j < nwatches; j++) {
            still |= watches[j].fd == snap[i].fd && watches[j].cb == snap[i].cb;
        }
        if (!still) {
            continue;
        }
        FZ_CHECK(poll(&p, 1, 0) >= 0 && !(p.revents & POLLNVAL),
                 "watched fd %d was closed without remove_watch", p.fd);
        if (p.revents & POLLIN) {
            snap[i].cb(dev, p.revents, snap[i].data);
        }
    }
}

void fz_watches_check_empty(void)
{
    FZ_CHECK(nwatches == 0, "%u watches left after vu_deinit (first on fd %d)",
             nwatches, watches[0].fd);
}

void fz_watches_clear(void)
{
    nwatches = 0;
}

void fz_panic(VuDev *dev, const char *reason)
{
    FZ_CHECK(reason != NULL && strnlen(reason, 4096) < 4096,
             "panic without a reason");
    FZ_CHECK(dev->broken,
             "panic callback called on a device not marked broken: %s", reason);
    fz_panics++;
    fz_log("panic: %s\n", reason);
}

/* ---- guest memory, seen through the device's region table ---- */

bool fz_in_guest(const VuDev *dev, const void *p, uint64_t len)
{
    uintptr_t a = (uintptr_t)p;

    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *r = &dev->regions[i];
        uintptr_t start = (uintptr_t)(r->mmap_addr + r->mmap_offset);

        if (a >= start && a - start <= r->size &&
            len <= r->size - (a - start)) {
            return true;
        }
    }
    return false;
}

void *fz_guest_ptr(const VuDev *dev, uint64_t gpa, uint64_t len)
{
    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *r = &dev->regions[i];

        if (gpa >= r->gpa && gpa - r->gpa < r->size &&
            len <= r->size - (gpa - r->gpa)) {
            return (void *)(uintptr_t)(r->mmap_addr + r->mmap_offset +
                                       (gpa - r->gpa));
        }
    }
    return NULL;
}

/* ---- rings ---- */

/* Room asked of vu_queue_pop beyond the element header; written by us. */
#define FZ_ELEM_TAIL 24
#define FZ_ELEM_SZ (sizeof(VuVirtqElement) + FZ_ELEM_TAIL)

#define FZ_STATIC_QUEUES 32
static struct fz_queue static_queues[FZ_STATIC_QUEUES];

/* Elements of vu_queue_pop_batch live in a static pool (no allocation per
 * input), bump-allocated and recycled when none is outstanding; the others
 * were allocated by vu_queue_pop. */
#define FZ_BATCH_ELEMS 256
#define FZ_BATCH_IOV (4 * VIRTQUEUE_MAX_SIZE)
static VuVirtqElement batch_elems[FZ_BATCH_ELEMS];
static struct iovec batch_iov[FZ_BATCH_IOV];
static unsigned batch_elems_used, batch_iov_used, batch_out;

static bool is_batch_elem(const VuVirtqElement *e)
{
    uintptr_t a = (uintptr_t)e, s = (uintptr_t)batch_elems;

    return a >= s && a - s < sizeof(batch_elems);
}

/* The device is done with e (given back, or the input ends). */
static void release_elem(VuVirtqElement *e)
{
    if (!is_batch_elem(e)) {
        free(e);
    } else if (--batch_out == 0) {
        batch_elems_used = batch_iov_used = 0;
    }
}

void fz_rings_init(struct fz_rings *r, VuDev *dev)
{
    memset(r, 0, sizeof(*r));
    r->dev = dev;
    batch_elems_used = batch_iov_used = batch_out = 0;
    r->nq = dev->max_queues;
    if (r->nq <= FZ_STATIC_QUEUES) {
        /* Only the counts need clearing: no 8 KiB memset per queue per input. */
        r->q = static_queues;
        for (unsigned i = 0; i < r->nq; i++) {
            r->q[i].n = 0;
            r->q[i].used_tainted = false;
            r->q[i].ok_num = 0;
            r->q[i].filled = 0;
        }
    } else {
        r->q = calloc(r->nq, sizeof(*r->q));
        FZ_CHECK(r->q != NULL, "out of memory");
    }
}

/* The used ring (flags, idx, ring, avail_event) is what the library writes. */
static void note_used_ring(const VuVirtq *vq)
{
    if (vq->vring.used && vq->vring.num <= VIRTQUEUE_MAX_SIZE) {
        fz_dirty_note(vq->vring.used, 6 + 8ULL * vq->vring.num + 2);
    }
}

void fz_rings_fini(struct fz_rings *r)
{
    for (unsigned i = 0; i < r->nq; i++) {
        note_used_ring(&r->dev->vq[i]);
        for (unsigned j = 0; j < r->q[i].n; j++) {
            release_elem(r->q[i].out[j]);
        }
        r->q[i].n = 0;
    }
    if (r->q != static_queues) {
        free(r->q);
    }
    r->q = NULL;
}

static uint16_t ld16(const void *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return v;
}

static void st16(void *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* The guest wrote [p, p+len): remember queues whose used->idx it covered
 * (only the library should write there, but the guest may). */
static void note_guest_write(struct fz_rings *r, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;

    fz_dirty_note(p, len);

    for (unsigned i = 0; i < r->nq; i++) {
        uintptr_t u = (uintptr_t)r->dev->vq[i].vring.used;

        if (u && a < u + 4 && u < a + len) {
            r->q[i].used_tainted = true;
        }
    }
}

/* Another queue's rings overlap this queue's used->idx (the frontend may
 * place two queues on the same memory): the library's writes for that queue
 * legitimately change it. */
static bool used_shared(struct fz_rings *r, unsigned qi)
{
    uintptr_t u = (uintptr_t)r->dev->vq[qi].vring.used;

    for (unsigned j = 0; j < r->nq; j++) {
        const VuVirtq *o = &r->dev->vq[j];
        uintptr_t s = (uintptr_t)o->vring.used;

        if (j != qi && s && u + 4 > s && u < s + 6 + 8ULL * o->vring.num) {
            return true;
        }
    }
    return false;
}

/* The ring pointers a queue holds must lie wholly in current guest memory. */
static void check_queue_rings(struct fz_rings *r, unsigned qi)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    unsigned num = vq->vring.num;

    if (!vq->vring.desc && !vq->vring.avail && !vq->vring.used) {
        return;
    }
    FZ_CHECK(vq->vring.desc && vq->vring.avail && vq->vring.used,
             "queue %u: only some ring pointers are set", qi);
    if (q->ok_num == num && q->ok_epoch == r->epoch &&
        q->ok_desc == vq->vring.desc && q->ok_avail == vq->vring.avail &&
        q->ok_used == vq->vring.used) {
        goto checked; /* same pointers, same memory table: already verified */
    }
    FZ_CHECK(num > 0 && num <= VIRTQUEUE_MAX_SIZE && (num & (num - 1)) == 0,
             "queue %u: rings mapped with size %u", qi, num);
    FZ_CHECK(fz_in_guest(dev, vq->vring.desc, 16ULL * num),
             "queue %u: descriptor table pointer %p is not inside guest memory "
             "(stale map?)",
             qi, (void *)vq->vring.desc);
    FZ_CHECK(fz_in_guest(dev, vq->vring.avail, 6 + 2ULL * num),
             "queue %u: avail ring pointer is not inside guest memory", qi);
    FZ_CHECK(fz_in_guest(dev, vq->vring.used, 6 + 8ULL * num),
             "queue %u: used ring pointer is not inside guest memory", qi);
    q->ok_desc = vq->vring.desc;
    q->ok_avail = vq->vring.avail;
    q->ok_used = vq->vring.used;
    note_used_ring(vq);
    q->ok_num = num;
    q->ok_epoch = r->epoch;
checked:
    FZ_CHECK(vq->inuse <= num,
             "queue %u: inuse %u > queue size %u (underflow?)", qi, vq->inuse,
             num);
    if (!dev->broken && !r->q[qi].used_tainted && !used_shared(r, qi)) {
        FZ_CHECK(vq->used_idx == ld16(&vq->vring.used->idx),
                 "queue %u: shadow used_idx %u != used->idx %u", qi,
                 vq->used_idx, ld16(&vq->vring.used->idx));
    }
}

void fz_rings_resync(struct fz_rings *r)
{
    r->epoch++;
    for (unsigned i = 0; i < r->nq; i++) {
        VuVirtq *vq = &r->dev->vq[i];

        r->q[i].used_tainted =
            vq->vring.used && ld16(&vq->vring.used->idx) != vq->used_idx;
    }
}

void fz_rings_check(struct fz_rings *r)
{
    for (unsigned i = 0; i < r->nq; i++) {
        check_queue_rings(r, i);
    }
}

static void check_iov(struct fz_rings *r, const struct iovec *iov, unsigned n,
                      bool write)
{
    for (unsigned i = 0; i < n; i++) {
        volatile uint8_t *b = iov[i].iov_base;
        size_t len = iov[i].iov_len;

        if (len == 0) {
            continue;
        }
        FZ_CHECK(fz_in_guest(r->dev, iov[i].iov_base, len),
                 "%s iovec %u [%p, +%zu) is not inside guest memory",
                 write ? "in" : "out", i, iov[i].iov_base, len);
        /* Touch both ends, as a device would. */
        if (write) {
            note_guest_write(r, iov[i].iov_base, 1);
            note_guest_write(r, (uint8_t *)iov[i].iov_base + len - 1, 1);
            b[0] = 0xd0;
            b[len - 1] = 0xd1;
        } else {
            (void)b[0];
            (void)b[len - 1];
        }
    }
}

static int find_out(const struct fz_queue *q, unsigned head)
{
    for (unsigned i = 0; i < q->n; i++) {
        if (q->out[i]->index == head) {
            return (int)i;
        }
    }
    return -1;
}

static VuVirtqElement *take_out(struct fz_queue *q, unsigned i)
{
    VuVirtqElement *e = q->out[i];

    memmove(&q->out[i], &q->out[i + 1], (q->n - i - 1) * sizeof(q->out[0]));
    q->n--;
    return e;
}

/* vu_queue_pop plus every check of its result.  NULL when nothing popped. */
static VuVirtqElement *do_pop(struct fz_rings *r, unsigned qi)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    bool was_broken = dev->broken;
    unsigned inuse = vq->inuse;
    /* A head resubmitted after a reconnect was counted in inuse already. */
    bool resubmit = vq->resubmit_num > 0 && vq->resubmit_list;
    VuVirtqElement *e = vu_queue_pop(dev, vq, FZ_ELEM_SZ);

    if (!e) {
        FZ_CHECK(vq->inuse == inuse,
                 "queue %u: failed pop changed inuse %u -> %u", qi, inuse,
                 vq->inuse);
        return NULL;
    }
    FZ_CHECK(!was_broken,
             "queue %u: pop returned an element on a broken device", qi);
    FZ_CHECK(vq->vring.num > 0 && e->index < vq->vring.num,
             "queue %u: popped head %u >= queue size %u", qi, e->index,
             vq->vring.num);
    FZ_CHECK(vq->inuse == inuse + !resubmit,
             "queue %u: %spop moved inuse %u -> %u", qi,
             resubmit ? "resubmission " : "", inuse, vq->inuse);
    FZ_CHECK(find_out(q, e->index) < 0,
             "queue %u: head %u popped again while the device still holds it",
             qi, e->index);
    FZ_CHECK(e->in_num == 0 || e->in_sg, "in_sg NULL with in_num %u",
             e->in_num);
    FZ_CHECK(e->out_num == 0 || e->out_sg, "out_sg NULL with out_num %u",
             e->out_num);
    FZ_CHECK(e->in_num + e->out_num <= 4 * VIRTQUEUE_MAX_SIZE,
             "queue %u: element with %u iovecs", qi, e->in_num + e->out_num);
    memset((uint8_t *)e + sizeof(*e), 0xa5, FZ_ELEM_TAIL); /* room asked for */
    check_iov(r, e->out_sg, e->out_num, false);
    check_iov(r, e->in_sg, e->in_num, true);
    FZ_CHECK(q->n < FZ_MAX_OUT, "queue %u: more than %d elements outstanding",
             qi, FZ_MAX_OUT);
    q->out[q->n++] = e;
    fz_log("pop q%u head %u out %u in %u\n", qi, e->index, e->out_num,
           e->in_num);
    return e;
}

struct used_snap {
    bool mapped;
    struct vring_used *used;
    uint16_t idx;
    unsigned inuse;
    bool broken;
};

static struct used_snap snap_used(struct fz_rings *r, VuVirtq *vq)
{
    struct used_snap s = { .used = vq->vring.used,
                           .inuse = vq->inuse,
                           .broken = r->dev->broken };

    s.mapped = s.used != NULL;
    s.idx =
        vq->used_idx; /* the library's shadow: the guest may scribble on used->idx */
    return s;
}

/* used->idx moved by 0 or `want` and inuse by the same amount, without wrap. */
static unsigned check_used_moved(struct fz_rings *r, unsigned qi,
                                 const struct used_snap *b, unsigned want,
                                 const char *what)
{
    VuVirtq *vq = &r->dev->vq[qi];
    uint16_t delta;

    FZ_CHECK(vq->inuse <= b->inuse,
             "queue %u: %s raised inuse %u -> %u (underflow?)", qi, what,
             b->inuse, vq->inuse);
    if (!b->mapped || vq->vring.used != b->used) {
        return 0;
    }
    delta = (uint16_t)(vq->used_idx - b->idx);
    if (delta && !r->q[qi].used_tainted) {
        FZ_CHECK(ld16(&b->used->idx) == vq->used_idx,
                 "queue %u: %s: used->idx %u in guest "
                 "memory, %u in the library",
                 qi, what, ld16(&b->used->idx), vq->used_idx);
    }
    FZ_CHECK(delta == 0 || delta == want,
             "queue %u: %s of %u moved used->idx by %u", qi, what, want, delta);
    FZ_CHECK(b->inuse - vq->inuse == delta,
             "queue %u: %s moved used->idx by %u but inuse "
             "by %u",
             qi, what, delta, b->inuse - vq->inuse);
    return delta;
}

/* After a push or fill: e is given back, unless the call did nothing while
 * the device stays healthy (its rings were unmapped by a new memory table):
 * then the device still holds e and may push it later (a push of that head
 * is no fake), so it stays outstanding. */
static void settle_elem(struct fz_rings *r, unsigned qi, VuVirtqElement *e)
{
    struct fz_queue *q = &r->q[qi];

    if (!r->dev->broken &&
        vu_popped_test(&vu_impl(r->dev)->vqp[qi], e->index) &&
        q->n < FZ_MAX_OUT) {
        q->out[q->n++] = e;
    } else {
        release_elem(e);
    }
}

static void do_push(struct fz_rings *r, unsigned qi, unsigned which,
                    uint32_t len)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    VuVirtqElement *e;
    struct used_snap b;
    unsigned moved;

    if (q->n == 0) {
        return;
    }
    e = take_out(q, which % q->n);
    b = snap_used(r, vq);
    vu_queue_push(dev, vq, e, len);
    moved = check_used_moved(r, qi, &b, 1, "push");
    if (q->filled < 1) {
        q->filled = 1;
    }
    q->filled -= moved;
    if (b.mapped && !b.broken && !dev->broken && vq->vring.used == b.used) {
        FZ_CHECK(moved == 1,
                 "queue %u: push of popped head %u did not complete it", qi,
                 e->index);
    }
    if (moved) {
        struct vring_used_elem ue;

        memcpy(&ue, &b.used->ring[b.idx % vq->vring.num], sizeof(ue));
        FZ_CHECK(ue.id == e->index,
                 "queue %u: used entry id %u, pushed head %u", qi, ue.id,
                 e->index);
        FZ_CHECK(ue.len <= len, "queue %u: used len %u > pushed len %u", qi,
                 ue.len, len);
    }
    if (r->after_push) {
        r->after_push(r, qi, e, len, moved);
    }
    settle_elem(r, qi, e);
}

static void do_fill(struct fz_rings *r, unsigned qi, unsigned which,
                    uint32_t len, unsigned idx)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    VuVirtqElement *e;
    struct used_snap b;

    if (q->n == 0) {
        return;
    }
    e = take_out(q, which % q->n);
    b = snap_used(r, vq);
    vu_queue_fill(dev, vq, e, len, idx);
    if (!dev->broken && idx + 1 > q->filled) {
        q->filled = idx + 1;
    }
    FZ_CHECK(vq->used_idx == b.idx, "queue %u: fill moved used_idx", qi);
    FZ_CHECK(vq->inuse == b.inuse, "queue %u: fill changed inuse", qi);
    settle_elem(r, qi, e);
}

static void do_fake_push(struct fz_rings *r, unsigned qi, uint32_t index,
                         uint32_t len)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    VuVirtqElement e = { .index = index };
    struct used_snap b = snap_used(r, vq);

    if (find_out(&r->q[qi], index) >= 0) {
        return; /* the device does hold this head: not a fake */
    }
    vu_queue_push(dev, vq, &e, len);
    FZ_CHECK(vq->used_idx == b.idx,
             "queue %u: push of head %u, which was never popped, completed it",
             qi, index);
    FZ_CHECK(vq->inuse == b.inuse,
             "queue %u: push of an unpopped head changed inuse", qi);
}

static void do_rewind(struct fz_rings *r, unsigned qi, unsigned num)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    unsigned inuse = vq->inuse;
    uint16_t last = vq->last_avail_idx;
    bool ok = vu_queue_rewind(dev, vq, num);

    if (num > inuse) {
        FZ_CHECK(!ok, "queue %u: rewind of %u with only %u in use succeeded",
                 qi, num, inuse);
    }
    if (ok) {
        FZ_CHECK(vq->inuse == inuse - num,
                 "queue %u: rewind %u moved inuse %u -> %u", qi, num, inuse,
                 vq->inuse);
        FZ_CHECK((uint16_t)(last - vq->last_avail_idx) == num,
                 "queue %u: rewind %u moved last_avail_idx %u -> %u", qi, num,
                 last, vq->last_avail_idx);
        /* The heads of the last num avail slots went back: whichever
         * outstanding elements the library no longer holds (not simply our
         * last num: pushes out of pop order and pushes that did nothing
         * reorder our list). */
        unsigned removed = 0;

        for (unsigned i = q->n; i > 0; i--) {
            if (!vu_popped_test(&vu_impl(dev)->vqp[qi], q->out[i - 1]->index)) {
                release_elem(take_out(q, i - 1));
                removed++;
            }
        }
        /* Fewer: a rewound slot's element was completed already, and the
         * guest will be handed that head again. */
        FZ_CHECK(dev->broken || removed >= num,
                 "queue %u: rewind of %u gave back only %u held elements", qi,
                 num, removed);
    } else {
        FZ_CHECK(vq->inuse == inuse && vq->last_avail_idx == last,
                 "queue %u: failed rewind changed state", qi);
    }
}

static void do_unpop(struct fz_rings *r, unsigned qi)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    unsigned inuse = vq->inuse;
    VuVirtqElement fake = { .index = 0 };
    VuVirtqElement *e = q->n ? q->out[q->n - 1] : &fake;

    vu_queue_unpop(dev, vq, e, 0);
    FZ_CHECK(vq->inuse <= inuse,
             "queue %u: unpop raised inuse %u -> %u (underflow)", qi, inuse,
             vq->inuse);
    FZ_CHECK(inuse - vq->inuse <= 1, "queue %u: unpop dropped inuse by %u", qi,
             inuse - vq->inuse);
    /* Whether the library took the element back shows in its held-heads
     * bitmap (inuse alone cannot tell: a recovered head returned to the
     * resubmit list stays counted in inuse). */
    if (e != &fake && !vu_popped_test(&vu_impl(dev)->vqp[qi], e->index)) {
        release_elem(take_out(q, q->n - 1));
    }
}

static void do_avail_bytes(struct fz_rings *r, unsigned qi, uint32_t max_in,
                           uint32_t max_out)
{
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    unsigned in = 0xdead, out = 0xbeef;
    unsigned inuse = vq->inuse;
    uint16_t last = vq->last_avail_idx;

    vu_queue_get_avail_bytes(dev, vq, &in, &out, max_in, max_out);
    (void)vu_queue_avail_bytes(dev, vq, max_in, max_out);
    vu_queue_get_avail_bytes(dev, vq, NULL, NULL, max_in, max_out);
    FZ_CHECK(vq->inuse == inuse && vq->last_avail_idx == last,
             "queue %u: get_avail_bytes consumed buffers", qi);
}

/* An element's iovecs [sg, sg+n) inside the caller's array of one
 * vu_queue_pop_batch call, and in no other element's: mark them in seen. */
static void check_batch_sg(unsigned qi, const struct iovec *sg, unsigned n,
                           const struct iovec *iov, unsigned cap, uint8_t *seen)
{
    uintptr_t a = (uintptr_t)sg, s = (uintptr_t)iov;
    size_t first;

    if (n == 0) {
        return;
    }
    FZ_CHECK(sg && a >= s && (a - s) % sizeof(*iov) == 0 &&
                 (a - s) / sizeof(*iov) <= cap &&
                 n <= cap - (a - s) / sizeof(*iov),
             "queue %u: pop_batch element iovecs [%p, +%u) outside the "
             "caller's array [%p, +%u)",
             qi, (const void *)sg, n, (const void *)iov, cap);
    first = (a - s) / sizeof(*iov);
    for (unsigned k = 0; k < n; k++) {
        FZ_CHECK(!seen[first + k],
                 "queue %u: pop_batch gave iovec %zu to two elements", qi,
                 first + k);
        seen[first + k] = 1;
    }
}

/* vu_queue_pop_batch into the static pool, and every check of its result.
 * mode 1: an iov array one short of VIRTQUEUE_MAX_SIZE, 2: no element array,
 * 3: no iov array (these three are refused without taking anything); 4: an
 * iov array of exactly VIRTQUEUE_MAX_SIZE (a chain that does not fit in what
 * is left stays on the ring). */
static void do_pop_batch(struct fz_rings *r, unsigned qi, unsigned max,
                         unsigned mode)
{
    static uint8_t seen[FZ_BATCH_IOV];
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    bool was_broken = dev->broken;
    unsigned inuse = vq->inuse,
             resub = vq->resubmit_list ? vq->resubmit_num : 0;
    uint16_t last = vq->last_avail_idx;
    VuVirtqElement *elems = batch_elems + batch_elems_used;
    struct iovec *iov = batch_iov + batch_iov_used;
    unsigned cap = FZ_BATCH_IOV - batch_iov_used;
    unsigned n, used = 0, taken;

    if (max > FZ_BATCH_ELEMS - batch_elems_used) {
        max = FZ_BATCH_ELEMS - batch_elems_used;
    }
    if (max > FZ_MAX_OUT - q->n) {
        max = FZ_MAX_OUT - q->n;
    }
    mode %= 5;
    if (mode == 1 && cap >= VIRTQUEUE_MAX_SIZE) {
        cap = VIRTQUEUE_MAX_SIZE - 1;
    } else if (mode == 4 && cap > VIRTQUEUE_MAX_SIZE) {
        cap = VIRTQUEUE_MAX_SIZE;
    }
    n = vu_queue_pop_batch(dev, vq, mode == 2 ? NULL : elems, max,
                           mode == 3 ? NULL : iov, cap);
    FZ_CHECK(n <= max, "queue %u: pop_batch of at most %u returned %u", qi, max,
             n);
    if ((mode != 0 && mode != 4) || cap < VIRTQUEUE_MAX_SIZE) {
        FZ_CHECK(n == 0 && vq->inuse == inuse && vq->last_avail_idx == last &&
                     dev->broken == was_broken,
                 "queue %u: pop_batch with %s was not refused cleanly "
                 "(%u taken)",
                 qi,
                 mode == 2   ? "no element array"
                 : mode == 3 ? "no iov array"
                             : "a short iov array",
                 n);
        return;
    }
    if (n == 0) {
        FZ_CHECK(vq->inuse == inuse,
                 "queue %u: empty pop_batch changed inuse %u -> %u", qi, inuse,
                 vq->inuse);
        return;
    }
    FZ_CHECK(!was_broken,
             "queue %u: pop_batch returned elements on a broken device", qi);
    /* Resubmissions (counted in inuse already) come first. */
    taken = resub - (vq->resubmit_list ? vq->resubmit_num : 0);
    FZ_CHECK(taken <= n && vq->inuse == inuse + (n - taken),
             "queue %u: pop_batch of %u (%u resubmitted) moved inuse %u -> %u",
             qi, n, taken, inuse, vq->inuse);
    memset(seen, 0, cap < sizeof(seen) ? cap : sizeof(seen));
    for (unsigned i = 0; i < n; i++) {
        VuVirtqElement *e = &elems[i];

        FZ_CHECK(e->index < vq->vring.num,
                 "queue %u: pop_batch head %u >= queue size %u", qi, e->index,
                 vq->vring.num);
        FZ_CHECK(find_out(q, e->index) < 0,
                 "queue %u: head %u popped again while the device still "
                 "holds it",
                 qi, e->index);
        FZ_CHECK(e->out_num + e->in_num <= VIRTQUEUE_MAX_SIZE,
                 "queue %u: pop_batch element with %u iovecs", qi,
                 e->out_num + e->in_num);
        check_batch_sg(qi, e->out_sg, e->out_num, iov, cap, seen);
        check_batch_sg(qi, e->in_sg, e->in_num, iov, cap, seen);
        check_iov(r, e->out_sg, e->out_num, false);
        check_iov(r, e->in_sg, e->in_num, true);
        used += e->out_num + e->in_num;
        q->out[q->n++] = e;
        fz_log("pop_batch q%u head %u out %u in %u\n", qi, e->index, e->out_num,
               e->in_num);
    }
    /* Bump past the highest iovec handed out (they are laid out in order). */
    for (unsigned k = cap < sizeof(seen) ? cap : sizeof(seen); k > used; k--) {
        if (seen[k - 1]) {
            used = k;
            break;
        }
    }
    batch_elems_used += n;
    batch_iov_used += used;
    batch_out += n;
}

/* vu_queue_push_batch of cnt outstanding elements (from the which-th on).
 * mode 0x01: lens NULL; 0x02: the first element a second time and 0x04: a
 * head never popped, at the end (device misuse: nothing may be published);
 * 0x08: no element array. */
static void do_push_batch(struct fz_rings *r, unsigned qi, unsigned which,
                          unsigned cnt, unsigned mode, uint32_t len)
{
    static VuVirtqElement arr[FZ_MAX_OUT + 1];
    static unsigned lens[FZ_MAX_OUT + 1];
    static VuVirtqElement *held[FZ_MAX_OUT];
    VuDev *dev = r->dev;
    VuVirtq *vq = &dev->vq[qi];
    struct fz_queue *q = &r->q[qi];
    unsigned n = cnt < q->n ? cnt : q->n, total, moved;
    bool misuse = false;
    struct used_snap b;

    for (unsigned i = 0; i < n; i++) {
        held[i] = take_out(q, (which + i) % q->n);
        arr[i] = *held[i];
        lens[i] = len + i;
    }
    total = n;
    if ((mode & 0x02) && n > 0) {
        arr[total] = arr[0];
        lens[total++] = 0;
        misuse = true;
    } else if (mode & 0x04) {
        arr[total] = (VuVirtqElement){ .index = vq->vring.num };
        lens[total++] = 0;
        misuse = true;
    }
    misuse |= (mode & 0x08) && total > 0;
    b = snap_used(r, vq);
    vu_queue_push_batch(dev, vq, (mode & 0x08) ? NULL : arr,
                        (mode & 0x01) ? NULL : lens, total);
    moved = check_used_moved(r, qi, &b, total, "push_batch");
    if (q->filled < total) {
        q->filled = total;
    }
    q->filled -= moved;
    if (misuse) {
        FZ_CHECK(moved == 0 && (!b.mapped || b.broken || dev->broken),
                 "queue %u: push_batch of an element the device does not "
                 "hold published %u entries",
                 qi, moved);
    } else if (b.mapped && !b.broken && !dev->broken &&
               vq->vring.used == b.used) {
        FZ_CHECK(moved == total,
                 "queue %u: push_batch of %u popped heads published %u", qi,
                 total, moved);
    }
    for (unsigned i = 0; i < n; i++) {
        if (moved) {
            struct vring_used_elem ue;
            unsigned l = (mode & 0x01) ? 0 : lens[i];

            memcpy(&ue, &b.used->ring[(uint16_t)(b.idx + i) % vq->vring.num],
                   sizeof(ue));
            FZ_CHECK(ue.id == arr[i].index && ue.len <= l,
                     "queue %u: push_batch position %u: used entry (%u, %u), "
                     "pushed (%u, %u)",
                     qi, i, ue.id, ue.len, arr[i].index, l);
            if (r->after_push) {
                r->after_push(r, qi, &arr[i], l, 1);
            }
        }
        settle_elem(r, qi, held[i]);
    }
}

/* Write a descriptor into the guest's table of queue vq (little-endian). */
static void put_desc(struct fz_rings *r, struct vring_desc *d, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc v = {
        .addr = addr, .len = len, .flags = flags, .next = next
    };

    note_guest_write(r, d, sizeof(v));
    memcpy(d, &v, sizeof(v));
}

static void avail_put(struct fz_rings *r, VuVirtq *vq, uint16_t head)
{
    uint16_t idx;

    if (!vq->vring.avail) {
        return;
    }
    idx = ld16(&vq->vring.avail->idx);
    note_guest_write(r, &vq->vring.avail->ring[idx % vq->vring.num], 2);
    note_guest_write(r, &vq->vring.avail->idx, 2);
    st16(&vq->vring.avail->ring[idx % vq->vring.num], head);
    st16(&vq->vring.avail->idx, (uint16_t)(idx + 1));
}

static void build_chain(struct fz_rings *r, VuVirtq *vq, struct tlv *t,
                        bool indirect)
{
    uint16_t head = tlv_u16(t);
    unsigned n = 1 + tlv_u8(t) % 32;
    uint8_t wmask = tlv_u8(t);
    uint16_t seglen = tlv_u16(t);
    uint64_t table = indirect ? tlv_u64(t) : 0;
    uint64_t gpa = tlv_u64(t);
    unsigned num = vq->vring.num;
    struct vring_desc *tbl;

    if (!vq->vring.desc || num == 0) {
        return;
    }
    head %= num;
    if (indirect) {
        tbl = fz_guest_ptr(r->dev, table, 16ULL * n);
        for (unsigned k = 0; tbl && k < n; k++) {
            put_desc(
                r, &tbl[k], gpa + (uint64_t)k * seglen, seglen,
                (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
                           ((wmask >> (k % 8)) & 1 ? VRING_DESC_F_WRITE : 0)),
                (uint16_t)(k + 1));
        }
        put_desc(r, &vq->vring.desc[head], table, 16 * n, VRING_DESC_F_INDIRECT,
                 0);
    } else {
        for (unsigned k = 0; k < n; k++) {
            unsigned i = (head + k) % num;
            put_desc(
                r, &vq->vring.desc[i], gpa + (uint64_t)k * seglen, seglen,
                (uint16_t)((k + 1 < n ? VRING_DESC_F_NEXT : 0) |
                           ((wmask >> (k % 8)) & 1 ? VRING_DESC_F_WRITE : 0)),
                (uint16_t)((i + 1) % num));
        }
    }
    avail_put(r, vq, head);
}

void fz_rings_service(struct fz_rings *r, unsigned qi)
{
    VuDev *dev = r->dev;
    VuVirtq *vq;
    unsigned pops = 0;
    VuVirtqElement *e;

    if (qi >= r->nq) {
        return;
    }
    vq = &dev->vq[qi];
    while ((e = do_pop(r, qi)) != NULL) {
        pops++;
        FZ_CHECK(
            pops <= VIRTQUEUE_MAX_SIZE,
            "queue %u: one kick yielded more than %d elements (unbounded work)",
            qi, VIRTQUEUE_MAX_SIZE);
    }
    /* Each outstanding element once: one whose push does nothing (rings
     * unmapped) stays outstanding. */
    for (unsigned k = r->q[qi].n; k > 0 && r->q[qi].n; k--) {
        do_push(r, qi, 0, 1);
    }
    vu_queue_notify(dev, vq);
}

void fz_rings_run(struct fz_rings *r, struct tlv *t)
{
    VuDev *dev = r->dev;

    while (!tlv_done(t)) {
        unsigned op = tlv_u8(t) % FZ_OP_MAX;
        unsigned qi = 0;
        VuVirtq *vq;
        struct vring_avail *av;

        if (op != FZ_OP_GUEST_WRITE && op != FZ_OP_CONFIG_CHANGE &&
            op != FZ_OP_SHARED_OBJECT && op != FZ_OP_MISC) {
            qi = tlv_u8(t) % r->nq;
        }
        vq = &dev->vq[qi];
        av = vq->vring.avail;
        if (fz_verbose) {
            fz_log("op %u q%u (inuse %u last_avail %u used %u/%d broken %d)\n",
                   op, qi, vq->inuse, vq->last_avail_idx, vq->used_idx,
                   vq->vring.used ? (int)ld16(&vq->vring.used->idx) : -1,
                   dev->broken);
        }
        if (r->ops_run == 0) {
            fz_rings_check(r); /* later ops are checked after they run */
        }
        if (r->before_op) {
            r->before_op(r, op, qi);
        }
        switch ((enum fz_op)op) {
        case FZ_OP_POP:
            (void)do_pop(r, qi);
            break;
        case FZ_OP_PUSH: {
            unsigned which = tlv_u8(t);
            do_push(r, qi, which, tlv_u32(t));
            break;
        }
        case FZ_OP_FILL: {
            unsigned which = tlv_u8(t);
            uint32_t len = tlv_u32(t);
            do_fill(r, qi, which, len, tlv_u8(t));
            break;
        }
        case FZ_OP_FLUSH: {
            unsigned num = tlv_u8(t);
            struct used_snap b = snap_used(r, vq);
            unsigned moved;
            vu_queue_flush(dev, vq, num);
            moved = check_used_moved(r, qi, &b, num, "flush");
            /* Only filled slots may be published: anything more hands the
             * guest stale used entries (heads the device may still hold). */
            FZ_CHECK(moved <= r->q[qi].filled,
                     "queue %u: flush of %u published %u used "
                     "entries but only %u were filled since the last flush",
                     qi, num, moved, r->q[qi].filled);
            r->q[qi].filled -= moved;
            break;
        }
        case FZ_OP_REWIND:
            do_rewind(r, qi, tlv_u8(t));
            break;
        case FZ_OP_UNPOP:
            do_unpop(r, qi);
            break;
        case FZ_OP_AVAIL_BYTES: {
            uint32_t mi = tlv_u32(t);
            do_avail_bytes(r, qi, mi, tlv_u32(t));
            break;
        }
        case FZ_OP_NOTIFY:
            vu_queue_notify(dev, vq);
            break;
        case FZ_OP_NOTIFY_SYNC:
            vu_queue_notify_sync(dev, vq);
            break;
        case FZ_OP_SET_NOTIF:
            vu_queue_set_notification(dev, vq, tlv_u8(t) & 1);
            break;
        case FZ_OP_EMPTY: {
            unsigned inuse = vq->inuse;
            (void)vu_queue_empty(dev, vq);
            (void)vu_queue_enabled(dev, vq);
            (void)vu_queue_started(dev, vq);
            FZ_CHECK(vq->inuse == inuse,
                     "queue %u: vu_queue_empty changed inuse", qi);
            break;
        }
        case FZ_OP_DESC: {
            uint16_t i = tlv_u16(t);
            uint64_t addr = tlv_u64(t);
            uint32_t len = tlv_u32(t);
            uint16_t flags = tlv_u16(t);
            uint16_t next = tlv_u16(t);
            if (vq->vring.desc) {
                put_desc(r, &vq->vring.desc[i % vq->vring.num], addr, len,
                         flags, next);
            }
            break;
        }
        case FZ_OP_AVAIL_PUT:
            avail_put(r, vq, tlv_u16(t));
            break;
        case FZ_OP_AVAIL_IDX: {
            uint16_t v = tlv_u16(t);
            if (av) {
                note_guest_write(r, &av->idx, 2);
                st16(&av->idx, v);
            }
            break;
        }
        case FZ_OP_AVAIL_FLAGS: {
            uint16_t v = tlv_u16(t);
            if (av) {
                note_guest_write(r, &av->flags, 2);
                st16(&av->flags, v);
            }
            break;
        }
        case FZ_OP_USED_EVENT: {
            uint16_t v = tlv_u16(t);
            if (av) {
                note_guest_write(r, &av->ring[vq->vring.num], 2);
                st16(&av->ring[vq->vring.num], v);
            }
            break;
        }
        case FZ_OP_CHAIN:
            build_chain(r, vq, t, false);
            break;
        case FZ_OP_INDIRECT:
            build_chain(r, vq, t, true);
            break;
        case FZ_OP_GUEST_WRITE: {
            uint64_t gpa = tlv_u64(t);
            size_t got;
            const uint8_t *p = tlv_bytes(t, tlv_u8(t), &got);
            void *h = fz_guest_ptr(dev, gpa, got);
            if (h && got) {
                note_guest_write(r, h, got);
                memcpy(h, p, got);
            }
            break;
        }
        case FZ_OP_KICK:
            if (r->kick) {
                r->kick(r, qi);
            } else {
                fz_rings_service(r, qi);
            }
            break;
        case FZ_OP_FAKE_PUSH: {
            uint32_t index = tlv_u32(t);
            do_fake_push(r, qi, index, tlv_u32(t));
            break;
        }
        case FZ_OP_CONFIG_CHANGE:
            vu_config_change_msg(dev);
            break;
        case FZ_OP_HOST_NOTIFIER: {
            unsigned kind = tlv_u8(t) % 3;
            int32_t size = (int32_t)tlv_u32(t);
            int32_t off = (int32_t)tlv_u32(t);
            int fd = kind == 1   ? notifier_eventfd
                     : kind == 2 ? notifier_memfd
                                 : -1;
            /* The library sends a copy; ours stays ours (the fd check at
             * the end of the input catches a close). */
            (void)vu_set_queue_host_notifier(dev, vq, fd, size, off);
            FZ_CHECK(fd < 0 || fcntl(fd, F_GETFD) >= 0,
                     "vu_set_queue_host_notifier closed the caller's fd");
            break;
        }
        case FZ_OP_SHARED_OBJECT: {
            unsigned which = tlv_u8(t) % 3;
            unsigned char uuid[UUID_LEN] = { 0 };
            size_t got;
            const uint8_t *p = tlv_bytes(t, UUID_LEN, &got);
            int dmabuf = -1;
            memcpy(uuid, p, got);
            if (which == 0) {
                (void)vu_add_shared_object(dev, uuid);
            } else if (which == 1) {
                (void)vu_rm_shared_object(dev, uuid);
            } else if (vu_lookup_shared_object(dev, uuid, &dmabuf)) {
                FZ_CHECK(dmabuf >= 0 && fcntl(dmabuf, F_GETFD) >= 0,
                         "lookup_shared_object succeeded with fd %d", dmabuf);
                close(dmabuf);
            }
            break;
        }
        case FZ_OP_MISC: {
            uint32_t req = tlv_u32(t);
            int32_t qidx = (int32_t)tlv_u32(t);
            const char *name = vu_request_to_string(req);
            const char *err = vu_last_error(dev);
            VuVirtq *got = vu_get_queue(dev, qidx);
            FZ_CHECK(name != NULL && strnlen(name, 64) < 64,
                     "request name of %u", req);
            FZ_CHECK(err != NULL && strnlen(err, 4096) < 4096, "vu_last_error");
            FZ_CHECK(vu_version() != NULL, "vu_version");
            FZ_CHECK((qidx >= 0 && qidx < (int)r->nq) ? got == &dev->vq[qidx]
                                                      : got == NULL,
                     "vu_get_queue(%d) with %u queues returned %p", qidx, r->nq,
                     (void *)got);
            /* A pointer just past the queue array: the library must notice. */
            (void)vu_queue_empty(dev, dev->vq + r->nq);
            (void)vu_queue_pop(dev, dev->vq + r->nq, 64);
            vu_queue_notify(dev, dev->vq + r->nq);
            vu_queue_flush(dev, dev->vq + r->nq, 1);
            (void)vu_queue_rewind(dev, dev->vq + r->nq, 1);
            (void)vu_dispatch(NULL);
            vu_deinit(NULL);
            if (req == UINT32_MAX && got) {
                /* An element smaller than its header (device misuse). */
                void *e = vu_queue_pop(dev, got, 1);
                FZ_CHECK(e == NULL, "vu_queue_pop of 1 byte returned %p", e);
            }
            vu_set_queue_handler(dev, dev->vq + r->nq, NULL);
            if (got) {
                /* The handler taken away (its kick watch goes) and back. */
                vu_queue_handler_cb h = got->handler;

                vu_set_queue_handler(dev, got, NULL);
                vu_set_queue_handler(dev, got, h);
            }
            break;
        }
        case FZ_OP_POP_BATCH: {
            unsigned max = tlv_u8(t);
            do_pop_batch(r, qi, max, tlv_u8(t));
            break;
        }
        case FZ_OP_PUSH_BATCH: {
            unsigned which = tlv_u8(t);
            unsigned cnt = tlv_u8(t);
            unsigned mode = tlv_u8(t);
            do_push_batch(r, qi, which, cnt, mode, tlv_u32(t));
            break;
        }
        case FZ_OP_MAX:
            break;
        }
        r->ops_run++;
        if (r->after_op) {
            r->after_op(r);
        }
        if (op == FZ_OP_GUEST_WRITE || op == FZ_OP_KICK || op == FZ_OP_MISC ||
            op == FZ_OP_SHARED_OBJECT || op == FZ_OP_CONFIG_CHANGE) {
            fz_rings_check(r); /* may touch every queue */
        } else {
            check_queue_rings(r, qi);
        }
    }
}
