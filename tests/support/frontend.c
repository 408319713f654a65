/*
 * A fake vhost-user frontend and a recording device for tests.
 * See frontend.h for the model.
 */
#include "frontend.h"
#include "test_util.h"
#include "vhost-user-ext.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* In-process replies are already queued; this only guards against hangs. */
#define FE_INPROCESS_TIMEOUT_MS 5000

/* ------------------------------------------------------------------ setup */

static void fe_reset_fields(struct vu_frontend *fe)
{
    memset(fe, 0, sizeof(*fe));
    fe->sock = -1;
    fe->dev_sock = -1;
    fe->timeout_ms = 10000;
    for (unsigned q = 0; q < FE_MAX_QUEUES; q++) {
        fe->kick[q] = fe->call[q] = fe->err[q] = -1;
    }
}

void fe_init_pair(struct vu_frontend *fe)
{
    int sv[2];

    fe_reset_fields(fe);
    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    fe->sock = sv[0];
    fe->dev_sock = sv[1];
}

void fe_init_fd(struct vu_frontend *fe, int sock)
{
    fe_reset_fields(fe);
    fe->sock = sock;
}

static bool fe_try_connect(int sock, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return false;
    }
    strcpy(sa.sun_path, path);
    return connect(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

bool fe_connect_path(struct vu_frontend *fe, const char *path, int timeout_ms)
{
    fe_reset_fields(fe);
    fe->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fe->sock < 0) {
        return false;
    }
    /* The backend may still be starting: retry until the deadline. */
    for (int waited = 0;; waited += 10) {
        if (fe_try_connect(fe->sock, path)) {
            return true;
        }
        if (waited >= timeout_ms ||
            (errno != ENOENT && errno != ECONNREFUSED)) {
            close(fe->sock);
            fe->sock = -1;
            return false;
        }
        usleep(10 * 1000);
    }
}

void fe_attach(struct vu_frontend *fe, VuDev *dev)
{
    fe->dev = dev;
    fe->tdev = NULL;
}

void fe_attach_tdev(struct vu_frontend *fe, struct test_device *t)
{
    fe->dev = &t->dev;
    fe->tdev = t;
}

static const char *fe_panic_text(const struct vu_frontend *fe)
{
    if (!fe->dev || !fe->dev->broken) {
        return "";
    }
    return fe->tdev ? fe->tdev->panic_msg : "(broken)";
}

static void close_if_open(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

void fe_destroy(struct vu_frontend *fe)
{
    for (unsigned i = 0; i < fe->nregions; i++) {
        struct fe_region *r = &fe->regions[i];
        if (r->map) {
            munmap(r->map, r->file_size);
        }
        close_if_open(&r->fd);
    }
    for (unsigned q = 0; q < FE_MAX_QUEUES; q++) {
        close_if_open(&fe->kick[q]);
        close_if_open(&fe->call[q]);
        close_if_open(&fe->err[q]);
    }
    close_if_open(&fe->sock);
    fe->nregions = 0;
    fe->dev = NULL;
    fe->tdev = NULL;
}

/* ----------------------------------------------------------------- memory */

unsigned fe_add_region_ex(struct vu_frontend *fe, uint64_t gpa, uint64_t size,
                          uint64_t uaddr, uint64_t mmap_offset,
                          uint64_t file_size)
{
    EXPECT_LT(fe->nregions, FE_MAX_REGIONS);
    struct fe_region *r = &fe->regions[fe->nregions];

    r->gpa = gpa;
    r->size = size;
    r->uaddr = uaddr;
    r->mmap_offset = mmap_offset;
    r->file_size = file_size ? file_size : size + mmap_offset;
    r->fd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
    EXPECT_SUCCESS(r->fd);
    EXPECT_SUCCESS(ftruncate(r->fd, (off_t)r->file_size));
    r->map =
        mmap(NULL, r->file_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
    EXPECT_TRUE(r->map != MAP_FAILED);
    return fe->nregions++;
}

unsigned fe_add_region(struct vu_frontend *fe, uint64_t gpa, uint64_t size,
                       uint64_t uaddr)
{
    return fe_add_region_ex(fe, gpa, size, uaddr, 0, 0);
}

static struct fe_region *fe_region_of(struct vu_frontend *fe, uint64_t gpa,
                                      uint64_t len)
{
    for (unsigned i = 0; i < fe->nregions; i++) {
        struct fe_region *r = &fe->regions[i];
        uint64_t mapped =
            r->file_size > r->mmap_offset ? r->file_size - r->mmap_offset : 0;
        uint64_t usable = r->size < mapped ? r->size : mapped;
        if (gpa >= r->gpa && gpa - r->gpa <= usable &&
            len <= usable - (gpa - r->gpa)) {
            return r;
        }
    }
    return NULL;
}

void *fe_gpa_ptr(struct vu_frontend *fe, uint64_t gpa, uint64_t len)
{
    struct fe_region *r = fe_region_of(fe, gpa, len);

    return r ? r->map + r->mmap_offset + (gpa - r->gpa) : NULL;
}

uint64_t fe_gpa_to_uaddr(struct vu_frontend *fe, uint64_t gpa)
{
    struct fe_region *r = fe_region_of(fe, gpa, 0);

    return r ? r->uaddr + (gpa - r->gpa) : 0;
}

VhostUserMemoryRegion fe_region_wire(const struct vu_frontend *fe, unsigned i)
{
    const struct fe_region *r = &fe->regions[i];
    VhostUserMemoryRegion w = {
        .guest_phys_addr = r->gpa,
        .memory_size = r->size,
        .userspace_addr = r->uaddr,
        .mmap_offset = r->mmap_offset,
    };
    return w;
}

static int lazy_eventfd(int *slot)
{
    if (*slot < 0) {
        *slot = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        EXPECT_SUCCESS(*slot);
    }
    return *slot;
}

int fe_kick_fd(struct vu_frontend *fe, unsigned q)
{
    EXPECT_LT(q, FE_MAX_QUEUES);
    return lazy_eventfd(&fe->kick[q]);
}

int fe_call_fd(struct vu_frontend *fe, unsigned q)
{
    EXPECT_LT(q, FE_MAX_QUEUES);
    return lazy_eventfd(&fe->call[q]);
}

int fe_err_fd(struct vu_frontend *fe, unsigned q)
{
    EXPECT_LT(q, FE_MAX_QUEUES);
    return lazy_eventfd(&fe->err[q]);
}

void fe_kick(struct vu_frontend *fe, unsigned q)
{
    EXPECT_SUCCESS(eventfd_write(fe_kick_fd(fe, q), 1));
}

uint64_t fe_take_call(struct vu_frontend *fe, unsigned q)
{
    eventfd_t v = 0;

    if (eventfd_read(fe_call_fd(fe, q), &v) < 0) {
        EXPECT_EQ(errno, EAGAIN);
        return 0;
    }
    return v;
}

/* -------------------------------------------------------------- raw I/O */

bool fe_send_raw(struct vu_frontend *fe, const void *buf, size_t len,
                 const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * FE_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

    EXPECT_LE(nfds, FE_MAX_FDS);
    if (nfds > 0) {
        memset(&ctl, 0, sizeof(ctl));
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n;
    do {
        n = sendmsg(fe->sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len;
}

bool fe_send_hdr(struct vu_frontend *fe, uint32_t request, uint32_t flags,
                 uint32_t size_field, const void *payload, size_t payload_len,
                 const int *fds, int nfds)
{
    uint8_t *buf = calloc(1, FE_HDR_SIZE + payload_len);

    EXPECT_NOT_NULL(buf);
    memcpy(buf, &request, 4);
    memcpy(buf + 4, &flags, 4);
    memcpy(buf + 8, &size_field, 4);
    if (payload && payload_len) {
        memcpy(buf + FE_HDR_SIZE, payload, payload_len);
    }
    bool ok = fe_send_raw(fe, buf, FE_HDR_SIZE + payload_len, fds, nfds);
    free(buf);
    return ok;
}

bool fe_send(struct vu_frontend *fe, uint32_t request, uint32_t flags,
             const void *payload, uint32_t size, const int *fds, int nfds)
{
    return fe_send_hdr(fe, request, flags, size, payload, size, fds, nfds);
}

bool fe_dispatch(struct vu_frontend *fe)
{
    fe->last_dispatch = fe->dev ? vu_dispatch(fe->dev) : true;
    return fe->last_dispatch;
}

bool fe_call(struct vu_frontend *fe, uint32_t request, uint32_t flags,
             const void *payload, uint32_t size, const int *fds, int nfds)
{
    EXPECT_TRUE(fe_send(fe, request, flags, payload, size, fds, nfds));
    return fe_dispatch(fe);
}

static int fe_wait_ms(const struct vu_frontend *fe)
{
    return fe->dev ? FE_INPROCESS_TIMEOUT_MS : fe->timeout_ms;
}

/* Read exactly len bytes (after the header); false on EOF/timeout. */
static bool fe_read_full(struct vu_frontend *fe, uint8_t *buf, size_t len)
{
    while (len > 0) {
        struct pollfd p = { .fd = fe->sock, .events = POLLIN };
        if (poll(&p, 1, fe_wait_ms(fe)) <= 0) {
            return false;
        }
        ssize_t n = read(fe->sock, buf, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static void fe_take_cmsg_fds(struct msghdr *mh, struct fe_msg *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n && m->nfds < FE_MAX_FDS; i++) {
            memcpy(&m->fds[m->nfds++], CMSG_DATA(c) + i * sizeof(int),
                   sizeof(int));
        }
    }
}

/* First recvmsg: some header bytes plus any fds. 0 none, -1 EOF, else n. */
static ssize_t fe_recv_first(struct vu_frontend *fe, uint8_t *hdr,
                             struct fe_msg *m)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * FE_MAX_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { .iov_base = hdr, .iov_len = FE_HDR_SIZE };
    struct msghdr mh = { .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf) };
    int wait = fe->dev ? 0 : fe->timeout_ms;
    struct pollfd p = { .fd = fe->sock, .events = POLLIN };

    if (poll(&p, 1, wait) <= 0) {
        return 0;
    }
    ssize_t n;
    do {
        n = recvmsg(fe->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        return 0;
    }
    if (n <= 0) {
        return -1;
    }
    fe_take_cmsg_fds(&mh, m);
    return n;
}

int fe_recv(struct vu_frontend *fe, struct fe_msg *m)
{
    uint8_t hdr[FE_HDR_SIZE];

    m->nfds = 0;
    m->request = m->flags = m->size = 0;
    ssize_t n = fe_recv_first(fe, hdr, m);
    if (n <= 0) {
        return (int)n;
    }
    if (!fe_read_full(fe, hdr + n, FE_HDR_SIZE - (size_t)n)) {
        fe_msg_close_fds(m);
        return -1;
    }
    memcpy(&m->request, hdr, 4);
    memcpy(&m->flags, hdr + 4, 4);
    memcpy(&m->size, hdr + 8, 4);
    memset(&m->payload, 0, sizeof(m->payload));
    if (m->size > FE_MAX_REPLY_PAYLOAD ||
        !fe_read_full(fe, m->payload.bytes, m->size)) {
        fe_msg_close_fds(m);
        return -1;
    }
    return 1;
}

void fe_msg_close_fds(struct fe_msg *m)
{
    for (int i = 0; i < m->nfds; i++) {
        close(m->fds[i]);
    }
    m->nfds = 0;
}

void fe_shutdown_write(struct vu_frontend *fe)
{
    EXPECT_SUCCESS(shutdown(fe->sock, SHUT_WR));
}

/* ------------------------------------------------------ checked exchanges */

static const char *req_name(uint32_t request)
{
    return vu_request_to_string(request);
}

void fe_expect_reply(struct vu_frontend *fe, uint32_t request, uint32_t size,
                     struct fe_msg *m)
{
    int r = fe_recv(fe, m);

    if (r != 1) {
        VU_TEST_FAIL("%s: no reply (%d) %s", req_name(request), r,
                     fe_panic_text(fe));
    }
    if (m->request != request || m->flags != FE_REPLY_FLAGS ||
        m->size != size) {
        VU_TEST_FAIL("%s: reply request %u flags 0x%x size %u, expected "
                     "%u/0x%x/%u",
                     req_name(request), m->request, m->flags, m->size, request,
                     FE_REPLY_FLAGS, size);
    }
}

void fe_expect_ack(struct vu_frontend *fe, uint32_t request, uint64_t value)
{
    struct fe_msg m;

    fe_expect_reply(fe, request, sizeof(uint64_t), &m);
    if (m.nfds != 0 || m.payload.u64 != value) {
        VU_TEST_FAIL("%s: ack 0x%" PRIx64 " with %d fds, expected 0x%" PRIx64,
                     req_name(request), m.payload.u64, m.nfds, value);
    }
}

void fe_expect_no_reply(struct vu_frontend *fe)
{
    struct fe_msg m;
    int r = fe_recv(fe, &m);

    if (r != 0) {
        fe_msg_close_fds(&m);
        VU_TEST_FAIL("unexpected reply (%d): request %s flags 0x%x size %u", r,
                     req_name(m.request), m.flags, m.size);
    }
}

uint64_t fe_call_acked(struct vu_frontend *fe, uint32_t request,
                       const void *payload, uint32_t size, const int *fds,
                       int nfds)
{
    struct fe_msg m;

    EXPECT_TRUE(fe_call(fe, request, FE_VERSION | VHOST_USER_NEED_REPLY_MASK,
                        payload, size, fds, nfds));
    fe_expect_reply(fe, request, sizeof(uint64_t), &m);
    EXPECT_EQ(m.nfds, 0);
    return m.payload.u64;
}

static void fe_check_refusal_answer(struct vu_frontend *fe, enum fe_refusal how,
                                    uint32_t request, bool was_broken)
{
    struct fe_msg m;
    int r = fe_recv(fe, &m);
    const char *name = req_name(request);

    if (r == 1) {
        fe_msg_close_fds(&m);
        if (how == FE_REFUSED_BROKEN) {
            VU_TEST_FAIL("%s: refusal answered with a reply (flags 0x%x size "
                         "%u), expected broken",
                         name, m.flags, m.size);
        }
        if (m.request != request || m.flags != FE_REPLY_FLAGS || m.size != 8 ||
            m.payload.u64 == 0 || m.nfds != 0) {
            VU_TEST_FAIL("%s: refusal reply request %u flags 0x%x size %u "
                         "u64 %" PRIu64 " fds %d is not a failed ack",
                         name, m.request, m.flags, m.size, m.payload.u64,
                         m.nfds);
        }
        if (fe->dev->broken && !was_broken) {
            VU_TEST_FAIL("%s: refused with an ack, but marked broken: %s", name,
                         fe_panic_text(fe));
        }
        /* The reason is kept for the embedder, naming the request. */
        EXPECT_CONTAINS(vu_last_error(fe->dev), name);
        return;
    }
    if (r != 0 || how == FE_REFUSED_ACK) {
        VU_TEST_FAIL("%s: no failed ack (recv %d)%s%s", name, r,
                     fe->dev->broken ? ", broken: " : "", fe_panic_text(fe));
    }
    if (!fe->dev->broken) {
        VU_TEST_FAIL("%s: neither a failed ack nor marked broken", name);
    }
    EXPECT_CONTAINS(fe->tdev->panic_msg, name);
}

/* Only process_msg and panic may run for a refused message. */
static void fe_check_callbacks_silent(struct vu_frontend *fe, unsigned mark,
                                      uint32_t request)
{
    for (unsigned i = mark; i < fe->tdev->nevents; i++) {
        enum tdev_event_kind k = fe->tdev->events[i].kind;
        if (k != TDEV_PROCESS_MSG && k != TDEV_PANIC) {
            VU_TEST_FAIL("%s: refused, but device callback kind %d ran",
                         req_name(request), (int)k);
        }
    }
}

void fe_expect_refused(struct vu_frontend *fe, enum fe_refusal how,
                       uint32_t request, uint32_t flags, const void *payload,
                       uint32_t size, const int *fds, int nfds)
{
    EXPECT_NOT_NULL(fe->tdev);
    int fds_before = test_open_fd_count();
    unsigned mark = fe->tdev->nevents;
    bool was_broken = fe->dev->broken;

    if (!fe_call(fe, request, flags, payload, size, fds, nfds)) {
        VU_TEST_FAIL("%s: vu_dispatch returned false for a refusal (%s)",
                     req_name(request), fe_panic_text(fe));
    }
    fe_check_refusal_answer(fe, how, request, was_broken);
    if (test_open_fd_count() != fds_before) {
        VU_TEST_FAIL("%s: %d fds open after the refusal, %d before",
                     req_name(request), test_open_fd_count(), fds_before);
    }
    fe_check_callbacks_silent(fe, mark, request);
    if (!fe->dev->broken) {
        struct fe_msg m;
        EXPECT_TRUE(
            fe_call(fe, VHOST_USER_GET_FEATURES, FE_VERSION, NULL, 0, NULL, 0));
        fe_expect_reply(fe, VHOST_USER_GET_FEATURES, 8, &m);
    }
}

static void fe_expect_healthy(struct vu_frontend *fe, uint32_t request)
{
    if (fe->dev && fe->dev->broken) {
        VU_TEST_FAIL("%s: device broken: %s", req_name(request),
                     fe_panic_text(fe));
    }
}

void fe_set(struct vu_frontend *fe, uint32_t request, const void *payload,
            uint32_t size, const int *fds, int nfds)
{
    if (fe->need_reply) {
        uint64_t ack = fe_call_acked(fe, request, payload, size, fds, nfds);
        if (ack != 0) {
            VU_TEST_FAIL("%s: ack %" PRIu64 ", expected 0", req_name(request),
                         ack);
        }
    } else {
        if (!fe_call(fe, request, FE_VERSION, payload, size, fds, nfds)) {
            VU_TEST_FAIL("%s: vu_dispatch returned false", req_name(request));
        }
        if (fe->dev) {
            fe_expect_no_reply(fe);
        }
    }
    fe_expect_healthy(fe, request);
}

uint64_t fe_get_u64(struct vu_frontend *fe, uint32_t request)
{
    struct fe_msg m;

    EXPECT_TRUE(fe_call(fe, request, FE_VERSION, NULL, 0, NULL, 0));
    fe_expect_reply(fe, request, sizeof(uint64_t), &m);
    EXPECT_EQ(m.nfds, 0);
    fe_expect_healthy(fe, request);
    return m.payload.u64;
}

void fe_set_u64(struct vu_frontend *fe, uint32_t request, uint64_t value)
{
    fe_set(fe, request, &value, sizeof(value), NULL, 0);
}

uint64_t fe_get_features(struct vu_frontend *fe)
{
    return fe_get_u64(fe, VHOST_USER_GET_FEATURES);
}

void fe_set_features(struct vu_frontend *fe, uint64_t features)
{
    fe_set_u64(fe, VHOST_USER_SET_FEATURES, features);
}

uint64_t fe_get_protocol_features(struct vu_frontend *fe)
{
    return fe_get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES);
}

void fe_set_protocol_features(struct vu_frontend *fe, uint64_t features)
{
    fe_set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES, features);
}

void fe_set_mem_table(struct vu_frontend *fe)
{
    VhostUserMemory mem = { .nregions = fe->nregions };
    int fds[VHOST_MEMORY_BASELINE_NREGIONS];

    EXPECT_LE(fe->nregions, VHOST_MEMORY_BASELINE_NREGIONS);
    for (unsigned i = 0; i < fe->nregions; i++) {
        mem.regions[i] = fe_region_wire(fe, i);
        fds[i] = fe->regions[i].fd;
    }
    fe_set(fe, VHOST_USER_SET_MEM_TABLE, &mem,
           (uint32_t)(8 + fe->nregions * sizeof(VhostUserMemoryRegion)), fds,
           (int)fe->nregions);
}

void fe_add_mem_reg(struct vu_frontend *fe, unsigned region)
{
    VhostUserMemRegMsg m = { .region = fe_region_wire(fe, region) };

    fe_set(fe, VHOST_USER_ADD_MEM_REG, &m, sizeof(m), &fe->regions[region].fd,
           1);
}

void fe_rem_mem_reg(struct vu_frontend *fe, unsigned region)
{
    VhostUserMemRegMsg m = { .region = fe_region_wire(fe, region) };

    fe_set(fe, VHOST_USER_REM_MEM_REG, &m, sizeof(m), NULL, 0);
}

static void fe_set_state(struct vu_frontend *fe, uint32_t request, unsigned idx,
                         unsigned num)
{
    struct vhost_vring_state s = { .index = idx, .num = num };

    fe_set(fe, request, &s, sizeof(s), NULL, 0);
}

void fe_set_vring_num(struct vu_frontend *fe, unsigned idx, unsigned num)
{
    fe_set_state(fe, VHOST_USER_SET_VRING_NUM, idx, num);
}

void fe_set_vring_base(struct vu_frontend *fe, unsigned idx, unsigned base)
{
    fe_set_state(fe, VHOST_USER_SET_VRING_BASE, idx, base);
}

void fe_set_vring_enable(struct vu_frontend *fe, unsigned idx, unsigned on)
{
    fe_set_state(fe, VHOST_USER_SET_VRING_ENABLE, idx, on);
}

unsigned fe_get_vring_base(struct vu_frontend *fe, unsigned idx)
{
    struct vhost_vring_state s = { .index = idx };
    struct fe_msg m;

    EXPECT_TRUE(fe_call(fe, VHOST_USER_GET_VRING_BASE, FE_VERSION, &s,
                        sizeof(s), NULL, 0));
    fe_expect_reply(fe, VHOST_USER_GET_VRING_BASE, sizeof(s), &m);
    EXPECT_EQ(m.nfds, 0);
    EXPECT_EQ(m.payload.state.index, idx);
    fe_expect_healthy(fe, VHOST_USER_GET_VRING_BASE);
    return m.payload.state.num;
}

void fe_set_vring_addr(struct vu_frontend *fe, unsigned idx, uint64_t desc,
                       uint64_t avail, uint64_t used, uint64_t log,
                       unsigned flags)
{
    struct vhost_vring_addr a = {
        .index = idx,
        .flags = flags,
        .desc_user_addr = desc,
        .used_user_addr = used,
        .avail_user_addr = avail,
        .log_guest_addr = log,
    };
    fe_set(fe, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

void fe_set_vring_fd(struct vu_frontend *fe, uint32_t request, unsigned idx,
                     int fd)
{
    uint64_t v = idx;

    if (fd < 0) {
        v |= VHOST_USER_VRING_NOFD_MASK;
        fe_set(fe, request, &v, sizeof(v), NULL, 0);
    } else {
        fe_set(fe, request, &v, sizeof(v), &fd, 1);
    }
}

uint32_t fe_get_config(struct vu_frontend *fe, uint32_t offset, uint32_t size,
                       VhostUserConfig *out)
{
    VhostUserConfig c = { .offset = offset, .size = size };
    uint32_t len = VHOST_USER_CONFIG_HDR_SIZE + size;
    struct fe_msg m;

    EXPECT_LE(size, VHOST_USER_MAX_CONFIG_SIZE);
    EXPECT_TRUE(
        fe_call(fe, VHOST_USER_GET_CONFIG, FE_VERSION, &c, len, NULL, 0));
    EXPECT_EQ(fe_recv(fe, &m), 1);
    EXPECT_EQ(m.request, VHOST_USER_GET_CONFIG);
    EXPECT_EQ(m.flags, FE_REPLY_FLAGS);
    EXPECT_EQ(m.nfds, 0);
    EXPECT_LE(m.size, sizeof(VhostUserConfig));
    memcpy(out, &m.payload.config, sizeof(*out));
    return m.size >= VHOST_USER_CONFIG_HDR_SIZE
               ? m.size - VHOST_USER_CONFIG_HDR_SIZE
               : 0;
}

void fe_set_config(struct vu_frontend *fe, uint32_t offset, const void *data,
                   uint32_t size)
{
    VhostUserConfig c = { .offset = offset, .size = size };

    EXPECT_LE(size, VHOST_USER_MAX_CONFIG_SIZE);
    memcpy(c.region, data, size);
    fe_set(fe, VHOST_USER_SET_CONFIG, &c, VHOST_USER_CONFIG_HDR_SIZE + size,
           NULL, 0);
}

int fe_get_inflight_fd(struct vu_frontend *fe, uint16_t num_queues,
                       uint16_t queue_size, VhostUserInflight *out)
{
    VhostUserInflight in;
    struct fe_msg m;

    memset(&in, 0, sizeof(in)); /* the tail padding goes on the wire too */
    in.num_queues = num_queues;
    in.queue_size = queue_size;

    EXPECT_TRUE(fe_call(fe, VHOST_USER_GET_INFLIGHT_FD, FE_VERSION, &in,
                        sizeof(in), NULL, 0));
    fe_expect_reply(fe, VHOST_USER_GET_INFLIGHT_FD, sizeof(in), &m);
    EXPECT_EQ(m.nfds, 1);
    memcpy(out, &m.payload.inflight, sizeof(*out));
    fe_expect_healthy(fe, VHOST_USER_GET_INFLIGHT_FD);
    return m.fds[0];
}

void fe_set_inflight_fd(struct vu_frontend *fe, const VhostUserInflight *in,
                        int fd)
{
    fe_set(fe, VHOST_USER_SET_INFLIGHT_FD, in, sizeof(*in), &fd, 1);
}

void fe_negotiate(struct vu_frontend *fe, uint64_t extra_features,
                  uint64_t proto)
{
    uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
                    (1ULL << VHOST_USER_F_PROTOCOL_FEATURES) | extra_features;
    uint64_t offered = fe_get_features(fe);

    EXPECT_EQ(offered & want, want);
    uint64_t offered_proto = fe_get_protocol_features(fe);
    EXPECT_EQ(offered_proto & proto, proto);
    fe_set_protocol_features(fe, proto);
    fe->need_reply = (proto >> VHOST_USER_PROTOCOL_F_REPLY_ACK) & 1;
    fe_set_features(fe, want);
}

/* ------------------------------------------------------------------ rings */

uint64_t fe_ring_place(struct vu_frontend *fe, struct fe_ring *r, uint64_t gpa,
                       unsigned num)
{
    uint64_t desc_len = 16ull * num;
    uint64_t avail_len = 6ull + 2ull * num;
    uint64_t used_off = (desc_len + avail_len + 3) & ~3ull;
    uint64_t used_len = 6ull + 8ull * num;
    uint64_t total = used_off + used_len;

    memset(r, 0, sizeof(*r));
    r->num = num;
    r->desc_gpa = gpa;
    r->avail_gpa = gpa + desc_len;
    r->used_gpa = gpa + used_off;
    r->desc = fe_gpa_ptr(fe, r->desc_gpa, desc_len);
    r->avail = fe_gpa_ptr(fe, r->avail_gpa, avail_len);
    r->used = fe_gpa_ptr(fe, r->used_gpa, used_len);
    EXPECT_NOT_NULL(r->desc);
    EXPECT_NOT_NULL(r->avail);
    EXPECT_NOT_NULL(r->used);
    return total;
}

void fe_ring_setup(struct vu_frontend *fe, unsigned idx,
                   const struct fe_ring *r)
{
    fe_set_vring_num(fe, idx, r->num);
    fe_set_vring_base(fe, idx, 0);
    fe_set_vring_addr(fe, idx, fe_gpa_to_uaddr(fe, r->desc_gpa),
                      fe_gpa_to_uaddr(fe, r->avail_gpa),
                      fe_gpa_to_uaddr(fe, r->used_gpa), r->used_gpa, 0);
}

void fe_ring_post(struct fe_ring *r, uint64_t buf_gpa, uint32_t len,
                  bool writable)
{
    uint16_t slot = (uint16_t)(r->next_avail % r->num);

    r->desc[slot].addr = htole64(buf_gpa);
    r->desc[slot].len = htole32(len);
    r->desc[slot].flags = htole16(writable ? VRING_DESC_F_WRITE : 0);
    r->desc[slot].next = 0;
    r->avail->ring[slot] = htole16(slot);
    r->next_avail++;
    /* The device must see the descriptor before the index that exposes it. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    r->avail->idx = htole16(r->next_avail);
}

/* --------------------------------------------------------- recording device */

static struct test_device *tdev_of(VuDev *dev)
{
    return (struct test_device *)(void *)dev;
}

static void tdev_record(VuDev *dev, enum tdev_event_kind kind, int qidx,
                        uint64_t a, uint64_t b)
{
    struct test_device *t = tdev_of(dev);

    t->counts[kind]++;
    if (t->nevents < TDEV_MAX_EVENTS) {
        t->events[t->nevents++] = (struct tdev_event){ kind, qidx, a, b };
    }
}

static uint64_t tdev_get_features(VuDev *dev)
{
    tdev_record(dev, TDEV_GET_FEATURES, -1, 0, 0);
    return tdev_of(dev)->features;
}

static void tdev_set_features(VuDev *dev, uint64_t features)
{
    tdev_record(dev, TDEV_SET_FEATURES, -1, features, 0);
}

static uint64_t tdev_get_protocol_features(VuDev *dev)
{
    tdev_record(dev, TDEV_GET_PROTOCOL_FEATURES, -1, 0, 0);
    return tdev_of(dev)->protocol_features;
}

static void tdev_set_protocol_features(VuDev *dev, uint64_t features)
{
    tdev_record(dev, TDEV_SET_PROTOCOL_FEATURES, -1, features, 0);
}

static int tdev_process_msg(VuDev *dev, VhostUserMsg *vmsg, int *do_reply)
{
    struct test_device *t = tdev_of(dev);

    tdev_record(dev, TDEV_PROCESS_MSG, -1, (uint32_t)vmsg->request, vmsg->size);
    return t->process_msg ? t->process_msg(t, vmsg, do_reply) : 0;
}

static void tdev_queue_set_started(VuDev *dev, int qidx, bool started)
{
    tdev_record(dev, TDEV_QUEUE_SET_STARTED, qidx, started, 0);
}

static bool tdev_in_order(VuDev *dev, int qidx)
{
    tdev_record(dev, TDEV_IN_ORDER, qidx, 0, 0);
    return tdev_of(dev)->in_order;
}

static int tdev_get_config(VuDev *dev, uint8_t *config, uint32_t len)
{
    struct test_device *t = tdev_of(dev);

    tdev_record(dev, TDEV_GET_CONFIG, -1, len, 0);
    /* Never trust len here: a library bug must not become a test crash. */
    memcpy(config, t->config,
           len < sizeof(t->config) ? len : sizeof(t->config));
    return t->get_config_result;
}

static int tdev_set_config(VuDev *dev, const uint8_t *data, uint32_t offset,
                           uint32_t size, uint32_t flags)
{
    struct test_device *t = tdev_of(dev);

    (void)flags;
    tdev_record(dev, TDEV_SET_CONFIG, -1, offset, size);
    if (offset <= sizeof(t->config) && size <= sizeof(t->config) - offset) {
        memcpy(t->config + offset, data, size);
    }
    return t->set_config_result;
}

static int tdev_get_shared_object(VuDev *dev, const unsigned char *uuid)
{
    (void)uuid;
    tdev_record(dev, TDEV_GET_SHARED_OBJECT, -1, 0, 0);
    return tdev_of(dev)->shared_object_fd;
}

static void tdev_panic(VuDev *dev, const char *err)
{
    struct test_device *t = tdev_of(dev);

    tdev_record(dev, TDEV_PANIC, -1, 0, 0);
    snprintf(t->panic_msg, sizeof(t->panic_msg), "%s", err ? err : "(null)");
}

static struct tdev_watch *tdev_watch_slot(struct test_device *t, int fd)
{
    for (unsigned i = 0; i < t->nwatches; i++) {
        if (t->watches[i].fd == fd) {
            return &t->watches[i];
        }
    }
    return NULL;
}

static void tdev_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb,
                           void *data)
{
    struct test_device *t = tdev_of(dev);
    struct tdev_watch *w = tdev_watch_slot(t, fd);

    tdev_record(dev, TDEV_SET_WATCH, -1, (uint64_t)fd, (uint64_t)condition);
    if (!w) {
        EXPECT_LT(t->nwatches, TDEV_MAX_WATCHES);
        w = &t->watches[t->nwatches++];
    }
    *w = (struct tdev_watch){ fd, condition, cb, data };
}

static void tdev_remove_watch(VuDev *dev, int fd)
{
    struct test_device *t = tdev_of(dev);
    struct tdev_watch *w = tdev_watch_slot(t, fd);

    tdev_record(dev, TDEV_REMOVE_WATCH, -1, (uint64_t)fd, 0);
    if (w) {
        *w = t->watches[--t->nwatches];
    }
}

void tdev_queue_handler(VuDev *dev, int qidx)
{
    tdev_record(dev, TDEV_QUEUE_HANDLER, qidx, 0, 0);
}

static const VuDevIface tdev_iface = {
    .get_features = tdev_get_features,
    .set_features = tdev_set_features,
    .get_protocol_features = tdev_get_protocol_features,
    .set_protocol_features = tdev_set_protocol_features,
    .process_msg = tdev_process_msg,
    .queue_set_started = tdev_queue_set_started,
    .queue_is_processed_in_order = tdev_in_order,
    .get_config = tdev_get_config,
    .set_config = tdev_set_config,
    .get_shared_object = tdev_get_shared_object,
};

void tdev_init(struct test_device *t, uint16_t max_queues, int sock)
{
    memset(t, 0, sizeof(*t));
    t->iface = tdev_iface;
    t->features = 1ULL << VIRTIO_F_VERSION_1;
    t->shared_object_fd = -1;
    EXPECT_TRUE(vu_init(&t->dev, max_queues, sock, tdev_panic, NULL,
                        tdev_set_watch, tdev_remove_watch, &t->iface));
}

void tdev_deinit(struct test_device *t)
{
    vu_deinit(&t->dev);
}

void tdev_clear_events(struct test_device *t)
{
    t->nevents = 0;
    memset(t->counts, 0, sizeof(t->counts));
}

unsigned tdev_count(const struct test_device *t, enum tdev_event_kind kind)
{
    return t->counts[kind];
}

int tdev_find(const struct test_device *t, enum tdev_event_kind kind,
              unsigned from)
{
    for (unsigned i = from; i < t->nevents; i++) {
        if (t->events[i].kind == kind) {
            return (int)i;
        }
    }
    return -1;
}

const struct tdev_event *tdev_last(const struct test_device *t,
                                   enum tdev_event_kind kind)
{
    for (unsigned i = t->nevents; i-- > 0;) {
        if (t->events[i].kind == kind) {
            return &t->events[i];
        }
    }
    VU_TEST_FAIL("no event of kind %d recorded", (int)kind);
}

const struct tdev_watch *tdev_watch_for(const struct test_device *t, int fd)
{
    return tdev_watch_slot((struct test_device *)t, fd);
}

void tdev_fire_watch(struct test_device *t, int fd, int condition)
{
    const struct tdev_watch *w = tdev_watch_for(t, fd);

    EXPECT_NOT_NULL(w);
    struct tdev_watch copy = *w; /* the callback may remove the watch */
    copy.cb(&t->dev, condition, copy.data);
}

void sess_open(struct vu_session *s, uint16_t max_queues, uint64_t proto)
{
    memset(s, 0, sizeof(*s));
    fe_init_pair(&s->fe);
    tdev_init(&s->td, max_queues, s->fe.dev_sock);
    s->td.protocol_features = proto;
    s->td.config_len = VHOST_USER_MAX_CONFIG_SIZE;
    fe_attach_tdev(&s->fe, &s->td);
    fe_add_region(&s->fe, SESS_RAM_GPA, SESS_RAM_SIZE, SESS_RAM_UADDR);
    fe_negotiate(&s->fe, 0, proto);
}

void sess_memory(struct vu_session *s)
{
    fe_set_mem_table(&s->fe);
    EXPECT_EQ(s->td.dev.nregions, s->fe.nregions);
}

void sess_ring(struct vu_session *s, unsigned q, unsigned num)
{
    EXPECT_LT(q, FE_MAX_QUEUES);
    fe_ring_place(&s->fe, &s->rings[q], SESS_RING_GPA(q), num);
    fe_ring_setup(&s->fe, q, &s->rings[q]);
    fe_set_vring_fd(&s->fe, VHOST_USER_SET_VRING_KICK, q,
                    fe_kick_fd(&s->fe, q));
    fe_set_vring_fd(&s->fe, VHOST_USER_SET_VRING_CALL, q,
                    fe_call_fd(&s->fe, q));
    EXPECT_NOT_NULL(s->td.dev.vq[q].vring.desc);
}

void sess_close(struct vu_session *s)
{
    tdev_deinit(&s->td);
    fe_destroy(&s->fe);
}

int test_open_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    EXPECT_NOT_NULL(d);
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the directory's own fd */
}
