/*
 * Allocation- and syscall-failure walk.  The test binary is linked with
 * -Wl,--wrap for every allocator and system call the library makes
 * (tests/CMakeLists.txt), so the wrappers below can fail the Nth such call
 * made while the library runs (FI.armed: only around library entry points,
 * never while the fake frontend works).  A full session (handshake, memory
 * table, inflight area, dirty log, ring traffic, postcopy) is replayed for
 * N = 1, 2, ... until a run completes without reaching the Nth call.
 *
 * Every run whose failure was reached must end cleanly: a failed ack with a
 * reason, the device broken with a reason, vu_dispatch returning false, a
 * NULL pop that a retry recovers from, or the failure tolerated and the
 * session still working to the end.  After each run the process has exactly
 * the fds it had before (ASan and valgrind see the leaks).
 */
#include "dispatch.h"
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the injector ---- */

static struct {
    bool armed;
    long calls;       /* counted calls while armed */
    long fail_at;     /* fail this call (1-based); 0: never */
    const char *only; /* count only this function (NULL: all) */
    int err;          /* errno of the failure (0: the function's default) */
    const char *then; /* after the failure, fail the next call of this */
    int then_err;
    int hits;
    char hit_fn[32];
} FI;

static bool fi_fail(const char *fn, int default_err)
{
    if (!FI.armed || (FI.only && strcmp(FI.only, fn) != 0)) {
        return false;
    }
    if (++FI.calls != FI.fail_at) {
        return false;
    }
    FI.hits++;
    snprintf(FI.hit_fn, sizeof(FI.hit_fn), "%s", fn);
    errno = FI.err ? FI.err : default_err;
    if (FI.then) {
        FI.only = FI.then;
        FI.err = FI.then_err;
        FI.then = NULL;
        FI.calls = 0;
        FI.fail_at = 1;
    }
    return true;
}

static void fi_setup(long fail_at, const char *only, int err)
{
    memset(&FI, 0, sizeof(FI));
    FI.fail_at = fail_at;
    FI.only = only;
    FI.err = err;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off);
int __real_fstat(int fd, struct stat *st);
int __real_fstatfs(int fd, struct statfs *st);
int __real_fcntl(int fd, int cmd, ...);
int __real_eventfd_write(int fd, eventfd_t v);
int __real_eventfd_read(int fd, eventfd_t *v);
ssize_t __real_sendmsg(int fd, const struct msghdr *mh, int flags);
ssize_t __real_recvmsg(int fd, struct msghdr *mh, int flags);
int __real_memfd_create(const char *name, unsigned flags);
int __real_ftruncate(int fd, off_t len);
int __real_poll(struct pollfd *p, nfds_t n, int timeout);
int __real_ioctl(int fd, unsigned long req, ...);
long __real_syscall(long n, ...);
int __real_open(const char *path, int flags, ...);
ssize_t __real_write(int fd, const void *buf, size_t n);

void *__wrap_malloc(size_t n)
{
    return fi_fail("malloc", ENOMEM) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fi_fail("calloc", ENOMEM) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fi_fail("realloc", ENOMEM) ? NULL : __real_realloc(p, n);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  off_t off)
{
    return fi_fail("mmap", ENOMEM)
               ? MAP_FAILED
               : __real_mmap(addr, len, prot, flags, fd, off);
}

int __wrap_fstat(int fd, struct stat *st)
{
    return fi_fail("fstat", EIO) ? -1 : __real_fstat(fd, st);
}

int __wrap_fstatfs(int fd, struct statfs *st)
{
    return fi_fail("fstatfs", EIO) ? -1 : __real_fstatfs(fd, st);
}

int __wrap_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    int arg;

    if (fi_fail("fcntl", EINVAL)) {
        return -1;
    }
    if (cmd == F_GETFL || cmd == F_GETFD || cmd == F_GET_SEALS) {
        return __real_fcntl(fd, cmd);
    }
    va_start(ap, cmd);
    arg = va_arg(ap, int);
    va_end(ap);
    return __real_fcntl(fd, cmd, arg);
}

int __wrap_eventfd_write(int fd, eventfd_t v)
{
    return fi_fail("eventfd_write", EIO) ? -1 : __real_eventfd_write(fd, v);
}

int __wrap_eventfd_read(int fd, eventfd_t *v)
{
    return fi_fail("eventfd_read", EIO) ? -1 : __real_eventfd_read(fd, v);
}

ssize_t __wrap_sendmsg(int fd, const struct msghdr *mh, int flags)
{
    return fi_fail("sendmsg", EIO) ? -1 : __real_sendmsg(fd, mh, flags);
}

ssize_t __wrap_recvmsg(int fd, struct msghdr *mh, int flags)
{
    return fi_fail("recvmsg", EIO) ? -1 : __real_recvmsg(fd, mh, flags);
}

int __wrap_memfd_create(const char *name, unsigned flags)
{
    return fi_fail("memfd_create", EMFILE) ? -1
                                           : __real_memfd_create(name, flags);
}

int __wrap_ftruncate(int fd, off_t len)
{
    return fi_fail("ftruncate", EIO) ? -1 : __real_ftruncate(fd, len);
}

/* A failed poll is a timeout, unless EINTR was asked for. */
int __wrap_poll(struct pollfd *p, nfds_t n, int timeout)
{
    if (fi_fail("poll", ETIMEDOUT)) {
        return errno == EINTR ? -1 : 0;
    }
    return __real_poll(p, n, timeout);
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    return fi_fail("ioctl", EINVAL) ? -1 : __real_ioctl(fd, req, arg);
}

long __wrap_syscall(long n, ...)
{
    va_list ap;
    long a;

    va_start(ap, n);
    a = va_arg(ap, long); /* the library's only syscall takes one argument */
    va_end(ap);
    return fi_fail("syscall", EPERM) ? -1 : __real_syscall(n, a);
}

int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    int mode;

    va_start(ap, flags);
    mode = (flags & O_CREAT) ? va_arg(ap, int) : 0;
    va_end(ap);
    return fi_fail("open", EACCES) ? -1 : __real_open(path, flags, mode);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    return fi_fail("write", EIO) ? -1 : __real_write(fd, buf, n);
}

/* ---- what the walk saw ---- */

#define MAX_REASONS 128
static char reasons[MAX_REASONS][160];
static unsigned nreasons;

static void note_reason(const char *fn, const char *why)
{
    char r[160];

    snprintf(r, sizeof(r), "%.40s: %.110s", fn, why);
    for (unsigned i = 0; i < nreasons; i++) {
        if (strcmp(reasons[i], r) == 0) {
            return;
        }
    }
    if (nreasons < MAX_REASONS) {
        snprintf(reasons[nreasons++], sizeof(reasons[0]), "%s", r);
    }
}

static bool reason_seen(const char *fn, const char *needle)
{
    for (unsigned i = 0; i < nreasons; i++) {
        if (strncmp(reasons[i], fn, strlen(fn)) == 0 &&
            strstr(reasons[i], needle)) {
            return true;
        }
    }
    return false;
}

/* ---- one session under injection ---- */

#define PF(bit) (1ULL << VHOST_USER_PROTOCOL_F_##bit)
#define RAM_A 0x100000ull
#define RAM_B 0x10000ull
#define UADDR_A 0x7f0000000000ull
#define UADDR_B 0x7f1000000000ull
#define RING_GPA 0x1000ull
#define BUF_GPA 0x40000ull
#define QSIZE 8u

struct run {
    struct vu_frontend fe;
    struct test_device td;
    struct fe_ring ring;
    bool stopped; /* the injected failure ended the session cleanly */
    bool postcopy;
};

enum outcome { DONE, REFUSED, BROKEN, CLOSED };

/* The outcome of a library step: a refusal is only acceptable when the
 * injected failure was reached during the step, and then ends the run. */
static bool after_step(struct run *r, int hits_before, enum outcome o,
                       const char *what)
{
    VuDev *dev = &r->td.dev;

    if (FI.hits == hits_before) {
        if (o != DONE) {
            VU_TEST_FAIL("%s failed without an injected failure (%s)", what,
                         dev->broken ? r->td.panic_msg : vu_last_error(dev));
        }
        return true;
    }
    switch (o) {
    case DONE:
        note_reason(FI.hit_fn, "tolerated");
        return true;
    case REFUSED:
        EXPECT_FALSE(dev->broken);
        EXPECT_TRUE(vu_last_error(dev)[0] != '\0');
        note_reason(FI.hit_fn, vu_last_error(dev));
        break;
    case BROKEN:
        EXPECT_TRUE(r->td.panic_msg[0] != '\0');
        note_reason(FI.hit_fn, r->td.panic_msg);
        break;
    case CLOSED:
        note_reason(FI.hit_fn, dev->broken ? r->td.panic_msg : "closed");
        break;
    }
    r->stopped = true;
    return false;
}

/* Send one request (set-style ones with NEED_REPLY), dispatch it armed,
 * collect the reply.  false: the run is over. */
static bool msg(struct run *r, uint32_t request, bool get, const void *payload,
                uint32_t size, const int *fds, int nfds, struct fe_msg *out)
{
    VuDev *dev = &r->td.dev;
    struct fe_msg m;
    int hits = FI.hits;
    bool ok, refused = false;
    enum outcome o;

    EXPECT_TRUE(fe_send(&r->fe, request, get ? FE_VERSION : FE_ACK, payload,
                        size, fds, nfds));
    FI.armed = true;
    ok = vu_dispatch(dev);
    FI.armed = false;
    while (fe_recv(&r->fe, &m) == 1) {
        EXPECT_EQ(m.flags, FE_REPLY_FLAGS);
        if (m.request == request && !get && m.size == 8 && m.payload.u64) {
            refused = true;
        }
        if (out && m.request == request) {
            *out = m;
            out = NULL;
        } else {
            fe_msg_close_fds(&m);
        }
    }
    o = !ok ? CLOSED : dev->broken ? BROKEN : refused ? REFUSED : DONE;
    return after_step(r, hits, o, vu_request_to_string(request));
}

/* A library call on the data path, armed. */
#define ARMED(call)                                                            \
    do {                                                                       \
        FI.armed = true;                                                       \
        call;                                                                  \
        FI.armed = false;                                                      \
    } while (0)

static void run_close(struct run *r)
{
    tdev_deinit(&r->td);
    fe_destroy(&r->fe);
}

static bool handshake(struct run *r)
{
    uint64_t feat = (1ULL << VIRTIO_F_VERSION_1) |
                    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) |
                    (1ULL << VHOST_F_LOG_ALL);
    uint64_t proto = PF(MQ) | PF(REPLY_ACK) | PF(LOG_SHMFD) |
                     PF(INFLIGHT_SHMFD) | PF(CONFIGURE_MEM_SLOTS) |
                     (r->postcopy ? PF(PAGEFAULT) : 0);
    struct fe_msg m;

    r->td.protocol_features = proto;
    if (!msg(r, VHOST_USER_GET_FEATURES, true, NULL, 0, NULL, 0, NULL) ||
        !msg(r, VHOST_USER_SET_FEATURES, false, &feat, 8, NULL, 0, NULL) ||
        !msg(r, VHOST_USER_GET_PROTOCOL_FEATURES, true, NULL, 0, NULL, 0, &m)) {
        return false;
    }
    EXPECT_EQ(m.payload.u64 & proto, proto);
    return msg(r, VHOST_USER_SET_PROTOCOL_FEATURES, false, &proto, 8, NULL, 0,
               NULL);
}

static bool mem_table(struct run *r, unsigned n)
{
    VhostUserMemory mem = { .nregions = n };
    int fds[1] = { r->fe.regions[0].fd };

    if (n) {
        mem.regions[0] = fe_region_wire(&r->fe, 0);
    }
    return msg(r, VHOST_USER_SET_MEM_TABLE, false, &mem,
               8 + n * (uint32_t)sizeof(VhostUserMemoryRegion), fds, (int)n,
               NULL);
}

static bool add_region_b(struct run *r, struct fe_msg *out)
{
    VhostUserMemRegMsg reg = { .region = fe_region_wire(&r->fe, 1) };

    return msg(r, VHOST_USER_ADD_MEM_REG, false, &reg, sizeof(reg),
               &r->fe.regions[1].fd, 1, out);
}

static bool inflight_and_log(struct run *r)
{
    VhostUserInflight in = { .num_queues = 1, .queue_size = QSIZE };
    VhostUserLog log = { .mmap_size = 4096, .mmap_offset = 0 };
    struct fe_msg m;
    int logfd, efd;
    bool ok;

    if (!msg(r, VHOST_USER_GET_INFLIGHT_FD, true, &in, sizeof(in), NULL, 0,
             &m)) {
        return false;
    }
    EXPECT_EQ(m.nfds, 1);
    in = m.payload.inflight;
    ok = msg(r, VHOST_USER_SET_INFLIGHT_FD, false, &in, sizeof(in), m.fds, 1,
             NULL);
    fe_msg_close_fds(&m);
    if (!ok) {
        return false;
    }
    logfd = memfd_create("fi-log", MFD_CLOEXEC);
    EXPECT_SUCCESS(logfd);
    EXPECT_SUCCESS(ftruncate(logfd, 4096));
    ok =
        msg(r, VHOST_USER_SET_LOG_BASE, true, &log, sizeof(log), &logfd, 1, &m);
    close(logfd);
    if (!ok) {
        return false;
    }
    fe_msg_close_fds(&m);
    efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    EXPECT_SUCCESS(efd);
    ok = msg(r, VHOST_USER_SET_LOG_FD, false, NULL, 0, &efd, 1, NULL);
    close(efd);
    return ok;
}

static bool ring_setup(struct run *r)
{
    struct vhost_vring_state num = { 0, QSIZE }, base = { 0, 0 };
    struct vhost_vring_addr addr = { .index = 0 };
    uint64_t kick = 0, call = 0;
    int kfd = fe_kick_fd(&r->fe, 0), cfd = fe_call_fd(&r->fe, 0);

    fe_ring_place(&r->fe, &r->ring, RING_GPA, QSIZE);
    addr.desc_user_addr = fe_gpa_to_uaddr(&r->fe, r->ring.desc_gpa);
    addr.avail_user_addr = fe_gpa_to_uaddr(&r->fe, r->ring.avail_gpa);
    addr.used_user_addr = fe_gpa_to_uaddr(&r->fe, r->ring.used_gpa);
    addr.log_guest_addr = r->ring.used_gpa;
    addr.flags = 1u << VHOST_VRING_F_LOG;
    return msg(r, VHOST_USER_SET_VRING_NUM, false, &num, sizeof(num), NULL, 0,
               NULL) &&
           msg(r, VHOST_USER_SET_VRING_BASE, false, &base, sizeof(base), NULL,
               0, NULL) &&
           msg(r, VHOST_USER_SET_VRING_ADDR, false, &addr, sizeof(addr), NULL,
               0, NULL) &&
           msg(r, VHOST_USER_SET_VRING_CALL, false, &call, 8, &cfd, 1, NULL) &&
           msg(r, VHOST_USER_SET_VRING_KICK, false, &kick, 8, &kfd, 1, NULL);
}

/* An armed pop; a NULL without the device broken must have consumed
 * nothing, so the unarmed retry gets the element. */
static bool pop(struct run *r, VuVirtqElement **e)
{
    VuDev *dev = &r->td.dev;
    int hits = FI.hits;

    ARMED(*e = vu_queue_pop(dev, &dev->vq[0], sizeof(VuVirtqElement)));
    if (!*e && FI.hits > hits && !dev->broken) {
        note_reason(FI.hit_fn, "pop returned NULL");
        *e = vu_queue_pop(dev, &dev->vq[0], sizeof(VuVirtqElement));
        EXPECT_NOT_NULL(*e);
        return true;
    }
    if (!after_step(r, hits, dev->broken ? BROKEN : DONE, "pop")) {
        return false;
    }
    EXPECT_NOT_NULL(*e);
    return true;
}

/* The guest posts a readable and a writable buffer; the device pops both
 * (giving one back and taking it again), completes them and notifies. */
static bool traffic(struct run *r)
{
    VuDev *dev = &r->td.dev;
    VuVirtq *vq = &dev->vq[0];
    VuVirtqElement *e[2] = { NULL, NULL };
    bool ok;
    int hits;

    fe_ring_post(&r->ring, BUF_GPA, 64, false);
    fe_ring_post(&r->ring, BUF_GPA + 4096, 64, true);
    vu_set_queue_handler(dev, vq, tdev_queue_handler);
    fe_kick(&r->fe, 0);
    hits = FI.hits;
    ARMED(tdev_fire_watch(&r->td, vq->kick_fd, VU_WATCH_IN));
    if (!after_step(r, hits, dev->broken ? BROKEN : DONE, "kick")) {
        return false;
    }
    ok = pop(r, &e[0]) && pop(r, &e[1]);
    if (ok) {
        EXPECT_EQ(e[0]->out_num, 1);
        EXPECT_EQ(e[1]->in_num, 1);
        hits = FI.hits;
        ARMED(vu_queue_unpop(dev, vq, e[1], 0));
        free(e[1]);
        e[1] = NULL;
        ok = after_step(r, hits, dev->broken ? BROKEN : DONE, "unpop") &&
             pop(r, &e[1]);
    }
    if (ok) {
        memset(e[1]->in_sg[0].iov_base, 0xab, 16);
        (void)fe_take_call(&r->fe, 0);
        hits = FI.hits;
        ARMED(vu_queue_push(dev, vq, e[0], 0));
        ARMED(vu_queue_push(dev, vq, e[1], 16));
        ARMED(vu_queue_notify(dev, vq));
        ok = after_step(r, hits, dev->broken ? BROKEN : DONE, "push");
    }
    free(e[0]);
    free(e[1]);
    if (ok) {
        EXPECT_EQ(le16toh(r->ring.used->idx), 2);
        EXPECT_EQ(fe_take_call(&r->fe, 0), 1);
    }
    return ok;
}

static bool postcopy(struct run *r)
{
    struct fe_msg m;
    uint64_t go_ahead = 0;
    VhostUserMemory mem = { .nregions = 1 };
    VhostUserMemRegMsg reg = { .region = fe_region_wire(&r->fe, 1) };
    uint64_t announced;
    int hits;
    bool ok;

    if (!msg(r, VHOST_USER_POSTCOPY_ADVISE, true, NULL, 0, NULL, 0, &m)) {
        return false;
    }
    EXPECT_EQ(m.nfds, 1);
    fe_msg_close_fds(&m);
    if (!mem_table(r, 0) ||
        !msg(r, VHOST_USER_POSTCOPY_LISTEN, false, NULL, 0, NULL, 0, NULL)) {
        return false;
    }
    /* the table, with the go-ahead queued behind it */
    mem.regions[0] = fe_region_wire(&r->fe, 0);
    EXPECT_TRUE(fe_send(&r->fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, &mem,
                        8 + sizeof(VhostUserMemoryRegion), &r->fe.regions[0].fd,
                        1));
    EXPECT_TRUE(fe_send(&r->fe, VHOST_USER_SET_MEM_TABLE, FE_VERSION, &go_ahead,
                        8, NULL, 0));
    hits = FI.hits;
    ARMED(ok = vu_dispatch(&r->td.dev));
    while (fe_recv(&r->fe, &m) == 1) {
        fe_msg_close_fds(&m);
    }
    if (!after_step(r, hits,
                    !ok                ? CLOSED
                    : r->td.dev.broken ? BROKEN
                                       : DONE,
                    "postcopy table")) {
        return false;
    }
    EXPECT_EQ(r->td.dev.nregions, 1);
    /* a hot-added region is announced with our address */
    EXPECT_TRUE(fe_send(&r->fe, VHOST_USER_ADD_MEM_REG, FE_VERSION, &reg,
                        sizeof(reg), &r->fe.regions[1].fd, 1));
    hits = FI.hits;
    ARMED(ok = vu_dispatch(&r->td.dev));
    announced = 0;
    while (fe_recv(&r->fe, &m) == 1) {
        if (m.request == VHOST_USER_ADD_MEM_REG &&
            m.size == sizeof(VhostUserMemRegMsg)) {
            memcpy(&reg, m.payload.bytes, sizeof(reg));
            announced = reg.region.userspace_addr;
        }
        fe_msg_close_fds(&m);
    }
    if (!after_step(r, hits,
                    !ok                ? CLOSED
                    : r->td.dev.broken ? BROKEN
                                       : DONE,
                    "postcopy region")) {
        return false;
    }
    EXPECT_EQ(r->td.dev.nregions, 2);
    /* the answer carries our own mapping of the new region (gpa RAM_A) */
    EXPECT_EQ(announced, r->td.dev.regions[1].mmap_addr +
                             r->td.dev.regions[1].mmap_offset);
    EXPECT_EQ(r->td.dev.regions[1].gpa, RAM_A);
    return msg(r, VHOST_USER_POSTCOPY_END, true, NULL, 0, NULL, 0, NULL);
}

/* One session; true when it ran to the end. */
static bool run_session(bool with_postcopy)
{
    struct run *r = calloc(1, sizeof(*r));
    VuDev *dev;
    int sock;
    bool done = false;
    int hits;
    uint16_t base_state;

    EXPECT_NOT_NULL(r);
    r->postcopy = with_postcopy;
    fe_init_pair(&r->fe);
    /* vu_init itself runs armed: tdev_init on a spare socket gives the
     * recording callbacks, then the device is set up again on the real one */
    sock = dup(r->fe.dev_sock);
    EXPECT_SUCCESS(sock);
    tdev_init(&r->td, 2, sock);
    dev = &r->td.dev;
    {
        vu_panic_cb panic = dev->panic;
        vu_set_watch_cb sw = dev->set_watch;
        vu_remove_watch_cb rw = dev->remove_watch;
        bool ok;

        vu_deinit(dev);
        hits = FI.hits;
        ARMED(ok = vu_init(dev, 2, r->fe.dev_sock, panic, NULL, sw, rw,
                           &r->td.iface));
        if (!ok) {
            EXPECT_TRUE(FI.hits > hits);
            note_reason(FI.hit_fn, "vu_init returned false");
            close(r->fe.dev_sock);
            fe_destroy(&r->fe);
            free(r);
            return false;
        }
    }
    fe_attach_tdev(&r->fe, &r->td);
    fe_add_region(&r->fe, 0, RAM_A, UADDR_A);
    fe_add_region(&r->fe, RAM_A, RAM_B, UADDR_B);
    if (!handshake(r)) {
        goto out;
    }
    if (with_postcopy) {
        done = postcopy(r);
        goto out;
    }
    if (!mem_table(r, 1) || !mem_table(r, 1) || !add_region_b(r, NULL) ||
        !inflight_and_log(r) || !ring_setup(r) || !traffic(r)) {
        goto out;
    }
    {
        struct vhost_vring_state st = { 0, 0 };
        struct fe_msg m;

        if (!msg(r, VHOST_USER_GET_VRING_BASE, true, &st, sizeof(st), NULL, 0,
                 &m)) {
            goto out;
        }
        base_state = (uint16_t)m.payload.state.num;
        EXPECT_EQ(base_state, 2);
    }
    done = true;
out:
    EXPECT_TRUE(done || r->stopped);
    run_close(r);
    free(r);
    return done;
}

/* Walk N = 1, 2, ... over the calls of the session. */
static void walk(bool with_postcopy)
{
    int fds_before = test_open_fd_count();
    long n;
    unsigned hit_runs = 0;

    for (n = 1; n < 2000; n++) {
        bool done;

        fi_setup(n, NULL, 0);
        done = run_session(with_postcopy);
        EXPECT_EQ(test_open_fd_count(), fds_before);
        if (FI.hits == 0) {
            EXPECT_TRUE(done); /* the whole session ran without a failure */
            break;
        }
        hit_runs++;
    }
    EXPECT_LT(n, 2000);
    fprintf(stderr, "%u runs with one failed call, then a clean one\n",
            hit_runs);
    EXPECT_TRUE(hit_runs > 20);
}

static void test_walk_session(void)
{
    walk(false);
    for (unsigned i = 0; i < nreasons; i++) {
        fprintf(stderr, "  %s\n", reasons[i]);
    }
    /* each failure reached is refused where it happens, with the reason */
    EXPECT_TRUE(reason_seen("calloc", "vu_init returned false"));
    EXPECT_TRUE(reason_seen("malloc", "SET_MEM_TABLE") &&
                reason_seen("malloc", "out of memory"));
    EXPECT_TRUE(reason_seen("mmap", "mmap of region failed"));
    EXPECT_TRUE(reason_seen("fstat", "region fd is not usable"));
    EXPECT_TRUE(reason_seen("memfd_create", "memfd_create failed"));
    EXPECT_TRUE(reason_seen("ftruncate", "allocating the inflight area"));
    EXPECT_TRUE(reason_seen("mmap", "allocating the inflight area"));
    EXPECT_TRUE(reason_seen("mmap", "mmap of the inflight area failed"));
    EXPECT_TRUE(reason_seen("mmap", "mmap of the log failed"));
    EXPECT_TRUE(reason_seen("sendmsg", "sending the reply failed"));
    EXPECT_TRUE(reason_seen("recvmsg", "socket read failed"));
    EXPECT_TRUE(reason_seen("malloc", "pop returned NULL"));
    EXPECT_TRUE(reason_seen("eventfd_write", "log eventfd"));
    EXPECT_TRUE(reason_seen("eventfd_read", "kick eventfd"));
}

static void test_walk_postcopy(void)
{
    nreasons = 0;
    walk(true);
    for (unsigned i = 0; i < nreasons; i++) {
        fprintf(stderr, "  %s\n", reasons[i]);
    }
    EXPECT_TRUE(reason_seen("syscall", "refused userfaultfd"));
    EXPECT_TRUE(reason_seen("ioctl", "refused userfaultfd"));
    EXPECT_TRUE(reason_seen("ioctl", "registering region 0"));
    EXPECT_TRUE(reason_seen("sendmsg", "sending the postcopy table failed"));
    EXPECT_TRUE(reason_seen("recvmsg", "go-ahead"));
    EXPECT_TRUE(reason_seen("sendmsg", "sending the postcopy region failed"));
}

/* The socket I/O retry paths: a call that fails once with EINTR or EAGAIN
 * (poll then finding the socket ready) is retried and the message goes
 * through; a poll that times out instead breaks the device with the reason. */
static void one_get_features(const char *fn, int err, const char *then,
                             int then_err, const char *panic)
{
    struct vu_session s;
    struct fe_msg m;
    bool ok;

    sess_open(&s, 1, PF(REPLY_ACK));
    EXPECT_TRUE(
        fe_send(&s.fe, VHOST_USER_GET_FEATURES, FE_VERSION, NULL, 0, NULL, 0));
    fi_setup(1, fn, err);
    FI.then = then;
    FI.then_err = then_err;
    ARMED(ok = vu_dispatch(&s.td.dev));
    EXPECT_EQ(FI.hits, then ? 2 : 1);
    if (!panic) {
        EXPECT_TRUE(ok);
        fe_expect_reply(&s.fe, VHOST_USER_GET_FEATURES, 8, &m);
        EXPECT_FALSE(s.td.dev.broken);
    } else {
        EXPECT_FALSE(ok);
        EXPECT_TRUE(s.td.dev.broken);
        EXPECT_CONTAINS(s.td.panic_msg, panic);
    }
    fi_setup(0, NULL, 0);
    sess_close(&s);
}

static void test_socket_retries(void)
{
    int one = 1;
    struct vu_session s;

    one_get_features("recvmsg", EINTR, NULL, 0, NULL);
    one_get_features("recvmsg", EAGAIN, NULL, 0, NULL);
    one_get_features("recvmsg", EAGAIN, "poll", EINTR, NULL);
    one_get_features("recvmsg", EAGAIN, "poll", ETIMEDOUT,
                     "stopped in the middle of a message");
    one_get_features("sendmsg", EINTR, NULL, 0, NULL);
    one_get_features("sendmsg", EAGAIN, NULL, 0, NULL);
    one_get_features("sendmsg", EAGAIN, "poll", ETIMEDOUT,
                     "sending the reply failed");
    /* credentials arriving beside a message are not fds */
    sess_open(&s, 1, PF(REPLY_ACK));
    EXPECT_SUCCESS(
        setsockopt(s.td.dev.sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)));
    EXPECT_EQ(fe_get_features(&s.fe) & (1ULL << VIRTIO_F_VERSION_1),
              1ULL << VIRTIO_F_VERSION_1);
    EXPECT_FALSE(s.td.dev.broken);
    sess_close(&s);
}

int main(void)
{
    int fd;

    /* the traffic recorder runs too (its open and write can fail) */
    setenv("LIBVHOST_USER_RECORD", "/dev/null", 1);
    /* probed once per process: not under injection, or the walk would turn
     * postcopy off for good */
    (void)vu_postcopy_supported();
    RUN_TEST(test_walk_session);
    RUN_TEST(test_socket_retries);
    fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        RUN_TEST(test_walk_postcopy);
    } else {
        fprintf(stderr, "SKIP postcopy walk: no userfaultfd (%s)\n",
                strerror(errno));
    }
    END_TESTS();
}
