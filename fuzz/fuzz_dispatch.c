/*
 * fuzz_dispatch: the whole message layer through the real socket path.
 *
 * The input is a sequence of records (fuzz/README.md, fuzz/tlv.h): vhost-user
 * messages with the fds they carry (memfds with contents, eventfds, sockets,
 * pipes, duplicates), plus blocks of ring operations that act as the guest
 * (descriptors in guest memory) and as the device (pop, push, notify).  A
 * fake frontend writes each message into a persistent socketpair and calls
 * vu_dispatch once for it; replies are read back and checked.
 *
 * Invariants (abort on violation): replies are well-formed (flags exactly
 * VERSION|REPLY, at most one per request, at most one fd, exactly one when
 * NEED_REPLY was honoured); backend-channel requests are well-formed; the
 * device callbacks see only validated arguments (queue index, config range,
 * negotiated features); a panic always comes with dev->broken; every watch
 * is removed by vu_deinit; ring pointers always lie in current guest memory;
 * all ring-operation invariants of fuzz_common.c; and the process has the
 * same number of open fds after every input.
 */
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MSGS 512     /* dispatches per input */
#define MAX_INPUT_FDS 64 /* fds created per input */
#define MEMFD_POOL 16
#define MEMFD_MAX_SIZE (1ULL << 30)
/* fd descriptions per message, taken mod (MAX_SEND_FDS + 1): up to 15, more
 * than any request may carry (8) and more than the library's receive buffer
 * holds (room for 9, rounded up to 10), so that the kernel truncates them. */
#define MAX_SEND_FDS FZ_MAX_SEND_FDS

/* Record tags of this harness beyond record_format.h.  'H': the frontend
 * stops reading (shutdown of its end for reading): whatever the library
 * sends on the connection from then on fails with EPIPE.  'X': the frontend
 * asks for the features and closes the connection without reading the
 * answer, so the library's next read fails (ECONNRESET); the input ends. */
#define TAG_HANG_UP_READ 0x48 /* 'H' */
#define TAG_RESET 0x58        /* 'X' */
/* 'L': the next message (an M record follows) is dispatched with the
 * process out of fds (RLIMIT_NOFILE lowered to the lowest free fd number):
 * the library's userfaultfd, memfd and received fds fail as they would. */
#define TAG_NO_FDS_LEFT 0x4c /* 'L' */
/* 'F': the same with RLIMIT_FSIZE 0: no file can grow (the library's own
 * inflight memfd). */
#define TAG_NO_FILE_GROWTH 0x46 /* 'F' */

/* CONFIG record flags. */
#define CFG_IN_ORDER 0x01 /* queue_is_processed_in_order returns true */
#define CFG_RECORD 0x02   /* run the traffic recorder (to /dev/null) */
#define CFG_DEVICE_TAKES                                                       \
    0x04 /* process_msg handles RARP, MTU, GPU socket, IOTLB */
#define CFG_NO_CONFIG 0x08 /* the device has no get_config/set_config */
#define CFG_BAD_ANSWERS                                                        \
    0x10 /* backend-channel answers name the next request, the lookup's     \
            comes without its fd */
#define CFG_HANG_UP_BACKEND                                                    \
    0x20 /* the frontend shuts the backend channel (for writing) instead of \
            answering */
#define CFG_PASSCRED                                                           \
    0x40 /* SO_PASSCRED on the library's end: credentials come with every   \
            message */

struct cfg {
    uint64_t features;
    uint64_t protocol_features;
    uint16_t max_queues;
    uint8_t flags;
};

static const struct cfg default_cfg = {
    .features =
        (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
        (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) |
        (1ULL << VIRTIO_F_ANY_LAYOUT) | 0xffffffULL /* device bits */,
    .protocol_features = (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
                         (1ULL << VHOST_USER_PROTOCOL_F_LOG_SHMFD) |
                         (1ULL << VHOST_USER_PROTOCOL_F_RARP) |
                         (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                         (1ULL << VHOST_USER_PROTOCOL_F_NET_MTU) |
                         (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) |
                         (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |
                         (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) |
                         (1ULL << VHOST_USER_PROTOCOL_F_HOST_NOTIFIER) |
                         (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
                         (1ULL << VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS) |
                         (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
                         (1ULL << VHOST_USER_PROTOCOL_F_SHARED_OBJECT),
    .max_queues = 4,
    .flags = 0,
};

/* ---- persistent state ---- */

static int fe_sock = -1;  /* the fake frontend's end */
static int lib_sock = -1; /* the library's end (vu_init gets a dup) */
static int memfd_pool[MEMFD_POOL];
static int devnull = -1;

/* ---- per-input state ---- */

struct peer {
    int ours;   /* our end of a socketpair we sent */
    ino_t sent; /* inode of the end we sent */
};

static struct {
    VuDev dev;
    struct cfg cfg;
    struct fz_rings rings;
    int fds[MAX_INPUT_FDS]; /* every fd sent so far, for VU_TLV_FD_DUP */
    bool
        owned[MAX_INPUT_FDS]; /* we close it at the end (pool memfds are not) */
    unsigned nfds;
    unsigned memfds_used;
    struct peer peers[MAX_INPUT_FDS];
    unsigned npeers;
    bool eof;     /* the frontend shut its side down */
    bool no_read; /* the frontend stopped reading (TAG_HANG_UP_READ) */
    uint8_t config_space[VHOST_USER_MAX_CONFIG_SIZE];
} S;

static void make_socketpair(void)
{
    int sv[2];

    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
             "socketpair: %s", strerror(errno));
    fe_sock = sv[0];
    lib_sock = sv[1];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_verbose = getenv("FUZZ_VERBOSE") != NULL;
    signal(SIGPIPE, SIG_IGN); /* a closed peer must show up as EPIPE */
    make_socketpair();
    for (int i = 0; i < MEMFD_POOL; i++) {
        /* No MFD_ALLOW_SEALING: the library cannot seal the pool, so it can be
         * resized for the next input. */
        memfd_pool[i] = memfd_create("fuzz-guest", MFD_CLOEXEC);
        FZ_CHECK(memfd_pool[i] >= 0, "memfd_create: %s", strerror(errno));
    }
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    FZ_CHECK(devnull >= 0, "open /dev/null");
    return 0;
}

/* ---- device callbacks ---- */

/* Postcopy LISTEN accepted and not yet ended: the library's mappings of
 * guest memory may be registered with its userfaultfd, which nobody serves
 * (the harness closes its copy from the ADVISE reply).  Nothing may touch
 * guest memory through them then: no ring operations, no queue handler, no
 * ring checks, no request whose handler reads the rings.  END closes the
 * userfaultfd, which drops every registration. */
static bool postcopy_frozen(void)
{
    return S.dev.postcopy_listening;
}

static uint64_t cb_get_features(VuDev *dev)
{
    (void)dev;
    return S.cfg.features;
}

static void cb_set_features(VuDev *dev, uint64_t f)
{
    uint64_t allowed = S.cfg.features | (1ULL << VHOST_F_LOG_ALL) |
                       (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);

    (void)dev;
    FZ_CHECK((f & ~allowed) == 0,
             "set_features 0x%llx has bits never offered (0x%llx)",
             (unsigned long long)f, (unsigned long long)allowed);
}

static uint64_t cb_get_protocol_features(VuDev *dev)
{
    (void)dev;
    return S.cfg.protocol_features;
}

static void cb_set_protocol_features(VuDev *dev, uint64_t f)
{
    (void)dev;
    (void)f;
}

static int cb_process_msg(VuDev *dev, VhostUserMsg *m, int *do_reply)
{
    (void)dev;
    FZ_CHECK(m->size <= sizeof(m->payload), "process_msg: size %u", m->size);
    FZ_CHECK(m->fd_num >= 0 && m->fd_num <= VHOST_MEMORY_BASELINE_NREGIONS,
             "process_msg: fd_num %d", m->fd_num);
    for (int i = 0; i < m->fd_num; i++) {
        FZ_CHECK(fcntl(m->fds[i], F_GETFD) >= 0,
                 "process_msg: fd %d is not open", m->fds[i]);
    }
    if (postcopy_frozen() && (m->request == VHOST_USER_SET_VRING_ADDR ||
                              m->request == VHOST_USER_SET_VRING_KICK ||
                              m->request == VHOST_USER_VRING_KICK)) {
        /* While postcopy listens, guest memory is registered with a
         * userfaultfd that nobody serves: a touch of a page not yet in the
         * file would block forever.  These two are the only requests whose
         * handlers read guest memory (used->idx: the in-order resume, the
         * inflight check of a starting queue; the in-band kick also starts
         * and then runs the queue handler): the device takes them and
         * does nothing (silently: the library sends the ack asked for). */
        *do_reply = 0;
        for (int i = 0; i < m->fd_num; i++) {
            close(m->fds[i]);
        }
        m->fd_num = 0;
        return 1;
    }
    if (!(S.cfg.flags & CFG_DEVICE_TAKES)) {
        return 0;
    }
    switch (m->request) {
    case VHOST_USER_SEND_RARP:
    case VHOST_USER_NET_SET_MTU:
    case VHOST_USER_GPU_SET_SOCKET:
    case VHOST_USER_IOTLB_MSG: {
        /* A device bug on request: an IOTLB message whose first byte is
         * 0xff gets a reply claiming more than any payload, which the
         * library must refuse to send. */
        bool oversized = m->request == VHOST_USER_IOTLB_MSG && m->size > 0 &&
                         ((const uint8_t *)&m->payload)[0] == 0xff;

        for (int i = 0; i < m->fd_num; i++) {
            close(m->fds[i]);
        }
        m->fd_num = 0;
        *do_reply = !!(m->flags & VHOST_USER_NEED_REPLY_MASK);
        if (*do_reply) {
            m->payload.u64 = 0;
            m->size =
                oversized ? sizeof(m->payload) + 1 : sizeof(m->payload.u64);
        }
        return 1;
    }
    default:
        return 0;
    }
}

static void cb_queue_set_started(VuDev *dev, int qidx, bool started)
{
    (void)started;
    FZ_CHECK(qidx >= 0 && qidx < dev->max_queues, "queue_set_started(%d)",
             qidx);
}

static bool cb_in_order(VuDev *dev, int qidx)
{
    FZ_CHECK(qidx >= 0 && qidx < dev->max_queues,
             "queue_is_processed_in_order(%d)", qidx);
    return S.cfg.flags & CFG_IN_ORDER;
}

static int cb_get_config(VuDev *dev, uint8_t *config, uint32_t len)
{
    (void)dev;
    FZ_CHECK(len > 0 && len <= VHOST_USER_MAX_CONFIG_SIZE, "get_config len %u",
             len);
    memcpy(config, S.config_space, len);
    return len == 7 ? -1 : 0; /* one length fails, to reach the error path */
}

static int cb_set_config(VuDev *dev, const uint8_t *data, uint32_t offset,
                         uint32_t size, uint32_t flags)
{
    (void)dev;
    (void)flags;
    FZ_CHECK(size > 0 && offset <= VHOST_USER_MAX_CONFIG_SIZE &&
                 size <= VHOST_USER_MAX_CONFIG_SIZE - offset,
             "set_config offset %u size %u", offset, size);
    memcpy(S.config_space + offset, data, size);
    return size == 3 ? -1 : 0;
}

static int cb_get_shared_object(VuDev *dev, const unsigned char *uuid)
{
    unsigned char copy[UUID_LEN];

    (void)dev;
    memcpy(copy, uuid, UUID_LEN); /* the whole uuid must be readable */
    return copy[0] == 0xfe && copy[15] == 0xfe ? -2 : -1;
}

static const VuDevIface iface_full = {
    .get_features = cb_get_features,
    .set_features = cb_set_features,
    .get_protocol_features = cb_get_protocol_features,
    .set_protocol_features = cb_set_protocol_features,
    .process_msg = cb_process_msg,
    .queue_set_started = cb_queue_set_started,
    .queue_is_processed_in_order = cb_in_order,
    .get_config = cb_get_config,
    .set_config = cb_set_config,
    .get_shared_object = cb_get_shared_object,
};

static const VuDevIface iface_min = {
    .get_features = cb_get_features,
    .get_protocol_features = cb_get_protocol_features,
    .process_msg = cb_process_msg,
};

static void queue_handler(VuDev *dev, int qidx)
{
    FZ_CHECK(dev == &S.dev && qidx >= 0 && qidx < dev->max_queues,
             "handler(%d)", qidx);
    if (postcopy_frozen()) {
        return; /* the rings may be in registered memory */
    }
    fz_rings_service(&S.rings, (unsigned)qidx);
}

/* ---- fds described by the input ---- */

static void remember_fd(int fd, bool owned)
{
    if (S.nfds < MAX_INPUT_FDS) {
        S.fds[S.nfds] = fd;
        S.owned[S.nfds] = owned;
        S.nfds++;
    } else if (owned) {
        close(fd); /* cannot happen: make_fd stops at MAX_INPUT_FDS */
    }
}

static int make_memfd(struct tlv *t)
{
    uint64_t size = tlv_u64(t);
    uint32_t off = tlv_u32(t);
    size_t got;
    const uint8_t *bytes = tlv_bytes(t, tlv_u16(t), &got);
    int fd;
    bool owned = false;
    bool write_sealed = size >> 63; /* bit 63: sealed against writing */

    size &= ~(1ULL << 63);
    if (size > MEMFD_MAX_SIZE) {
        size = MEMFD_MAX_SIZE;
    }
    if (S.memfds_used < MEMFD_POOL && !write_sealed) {
        fd = memfd_pool[S.memfds_used++];
        if (ftruncate(fd, 0) != 0) {
            return -1;
        }
    } else {
        /* Not reused: sealable, so the library's shrink seal is exercised. */
        fd = memfd_create("fuzz-guest-extra", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        owned = true;
    }
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        if (owned && fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (got && off < size) {
        size_t n = got < size - off ? got : (size_t)(size - off);
        if (pwrite(fd, bytes, n, off) < 0) {
            /* contents are best effort */
        }
    }
    if (write_sealed) {
        /* A shared writable mapping of it is refused (EPERM). */
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE);
    }
    remember_fd(fd, owned);
    return fd;
}

static int make_socket(void)
{
    int sv[2];
    struct stat st;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        return -1;
    }
    if (S.npeers < MAX_INPUT_FDS && fstat(sv[1], &st) == 0) {
        S.peers[S.npeers++] = (struct peer){ .ours = sv[0], .sent = st.st_ino };
    } else {
        close(sv[0]);
    }
    remember_fd(sv[1], true);
    return sv[1];
}

/* Create the fd one description asks for; -1 when it sends nothing. */
static int make_fd(struct tlv *t)
{
    unsigned kind = tlv_u8(t) % VU_TLV_FD_KIND_MAX;
    int fd = -1;

    if (S.nfds >= MAX_INPUT_FDS && kind != VU_TLV_FD_DUP) {
        kind = VU_TLV_FD_NONE;
    }
    switch ((enum vu_tlv_fd_kind)kind) {
    case VU_TLV_FD_NONE:
    case VU_TLV_FD_KIND_MAX:
        return -1;
    case VU_TLV_FD_MEMFD:
        return make_memfd(t);
    case VU_TLV_FD_EVENTFD:
        fd = eventfd(0, EFD_CLOEXEC);
        break;
    case VU_TLV_FD_DUP: {
        uint16_t i = tlv_u16(t);
        return S.nfds ? S.fds[i % S.nfds] : -1;
    }
    case VU_TLV_FD_SOCKET:
        return make_socket();
    case VU_TLV_FD_PIPE: {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) {
            return -1;
        }
        close(p[1]);
        fd = p[0];
        break;
    }
    case VU_TLV_FD_OTHER:
        fd = fcntl(devnull, F_DUPFD_CLOEXEC, 0);
        break;
    }
    if (fd >= 0) {
        remember_fd(fd, true);
    }
    return fd;
}

/* ---- socket I/O of the fake frontend ---- */

/* Read what is waiting on sock without blocking; close any fds that came
 * with it.  Returns the byte count (up to cap stored in buf). */
static size_t recv_now(int sock, uint8_t *buf, size_t cap, int *nfds_out)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * 16)];
        struct cmsghdr align;
    } control;
    size_t total = 0;
    int nfds = 0;

    for (;;) {
        /* static: a big local costs an ASan shadow poison/unpoison per call */
        static uint8_t trash[4096];
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        ssize_t n;

        if (total < cap) {
            iov = (struct iovec){ .iov_base = buf + total,
                                  .iov_len = cap - total };
        } else {
            iov = (struct iovec){ .iov_base = trash, .iov_len = sizeof(trash) };
        }
        n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n <= 0) {
            break;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
             c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                    close(fd);
                    nfds++;
                }
            }
        }
        if (total < cap) {
            total += (size_t)n;
        }
        if ((size_t)n < iov.iov_len && !(mh.msg_flags & MSG_CTRUNC)) {
            break; /* a stream read returns all there is: no need to ask again */
        }
    }
    if (nfds_out) {
        *nfds_out = nfds;
    }
    return total;
}

/* Check the replies to one request (at most max); returns how many there
 * were. */
static unsigned check_replies_max(uint32_t request, unsigned max)
{
    static uint8_t buf[4096];
    int nfds = 0;
    size_t n = recv_now(fe_sock, buf, sizeof(buf), &nfds);
    size_t pos = 0;
    unsigned count = 0;

    while (pos < n) {
        uint32_t req, flags, size;

        FZ_CHECK(n - pos >= VHOST_USER_HDR_SIZE, "reply: %zu stray bytes",
                 n - pos);
        memcpy(&req, buf + pos, 4);
        memcpy(&flags, buf + pos + 4, 4);
        memcpy(&size, buf + pos + 8, 4);
        FZ_CHECK(flags == (1u | VHOST_USER_REPLY_MASK),
                 "reply flags 0x%x are not "
                 "VERSION|REPLY",
                 flags);
        FZ_CHECK(req == request, "reply to request %u names request %u",
                 request, req);
        FZ_CHECK(size <= sizeof(((VhostUserMsg *)0)->payload), "reply size %u",
                 size);
        FZ_CHECK(n - pos - VHOST_USER_HDR_SIZE >= size,
                 "reply shorter than its size");
        pos += VHOST_USER_HDR_SIZE + size;
        count++;
    }
    FZ_CHECK(count <= max, "%u replies to one request %u", count, request);
    FZ_CHECK(nfds <= (int)count, "reply carried %d fds", nfds);
    return count;
}

static unsigned check_replies(uint32_t request)
{
    return check_replies_max(request, 1);
}

static struct peer *backend_peer(void)
{
    struct stat st;

    if (S.dev.backend_fd < 0 || fstat(S.dev.backend_fd, &st) != 0) {
        return NULL;
    }
    for (unsigned i = 0; i < S.npeers; i++) {
        if (S.peers[i].sent == st.st_ino) {
            return &S.peers[i];
        }
    }
    return NULL;
}

static bool same_file(int fd, ino_t ino)
{
    struct stat st;

    return fd >= 0 && fstat(fd, &st) == 0 && st.st_ino == ino;
}

/* The frontend may hand the same socket as backend channel and as a call
 * or error notifier: then eventfd-style 8-byte writes share the stream and
 * it cannot be parsed. */
static bool socket_also_notifier(ino_t ino)
{
    if (same_file(S.dev.log_call_fd, ino)) {
        return true;
    }
    for (unsigned i = 0; i < S.dev.max_queues; i++) {
        if (same_file(S.dev.vq[i].call_fd, ino) ||
            same_file(S.dev.vq[i].err_fd, ino) ||
            same_file(S.dev.vq[i].kick_fd, ino)) {
            return true;
        }
    }
    return false;
}

/* Drop anything the library left unread on one of its sockets. */
static void drain_lib_side(int fd)
{
    if (fd >= 0) {
        (void)recv_now(fd, NULL, 0, NULL);
    }
}

/* Read and check what the library sent on the backend channel; drain the
 * other socket peers, and lib_fd (>= 0: the library's backend_fd) too.  One
 * poll() finds the sockets with something to read (data, fds or EOF); only
 * those are read. */
static void drain_peers_and(int lib_fd)
{
    struct pollfd pf[MAX_INPUT_FDS + 1];
    unsigned nfds = 0;
    struct peer *bp;

    for (unsigned i = 0; i < S.npeers; i++) {
        pf[nfds++] = (struct pollfd){ .fd = S.peers[i].ours, .events = POLLIN };
    }
    if (lib_fd >= 0) {
        pf[nfds++] = (struct pollfd){ .fd = lib_fd, .events = POLLIN };
    }
    if (nfds == 0 || poll(pf, nfds, 0) <= 0) {
        return;
    }
    if (lib_fd >= 0 && pf[nfds - 1].revents) {
        drain_lib_side(lib_fd);
    }
    bp = backend_peer();
    if (bp && socket_also_notifier(bp->sent)) {
        bp = NULL;
    }
    for (unsigned i = 0; i < S.npeers; i++) {
        static uint8_t buf[4096];
        size_t n;
        size_t pos = 0;

        if (!pf[i].revents) {
            continue; /* nothing to read: recvmsg would say EAGAIN */
        }
        n = recv_now(S.peers[i].ours, buf, sizeof(buf), NULL);
        if (&S.peers[i] != bp) {
            continue;
        }
        while (pos < n) {
            uint32_t req, flags, size;

            FZ_CHECK(n - pos >= VHOST_USER_HDR_SIZE,
                     "backend channel: %zu stray bytes", n - pos);
            memcpy(&req, buf + pos, 4);
            memcpy(&flags, buf + pos + 4, 4);
            memcpy(&size, buf + pos + 8, 4);
            FZ_CHECK(req > 0 && req < VHOST_USER_BACKEND_MAX,
                     "backend request %u", req);
            FZ_CHECK((flags & ~(uint32_t)VHOST_USER_NEED_REPLY_MASK) == 1,
                     "backend request flags 0x%x", flags);
            FZ_CHECK(size <= sizeof(((VhostUserMsg *)0)->payload) &&
                         n - pos - VHOST_USER_HDR_SIZE >= size,
                     "backend request size %u", size);
            pos += VHOST_USER_HDR_SIZE + size;
        }
    }
}

static void drain_peers(void)
{
    drain_peers_and(-1);
}

/* Queue the frontend's ack for a backend request the library will wait for. */
static void queue_backend_ack(uint32_t request)
{
    struct peer *bp = backend_peer();
    uint8_t m[VHOST_USER_HDR_SIZE + 8] = { 0 };
    uint32_t flags = 1u | VHOST_USER_REPLY_MASK, size = 8;

    if (!bp) {
        return;
    }
    if (S.cfg.flags & CFG_HANG_UP_BACKEND) {
        shutdown(bp->ours, SHUT_WR);
        return;
    }
    if (S.cfg.flags & CFG_BAD_ANSWERS) {
        request++;
    }
    memcpy(m, &request, 4);
    memcpy(m + 4, &flags, 4);
    memcpy(m + 8, &size, 4);
    (void)send(bp->ours, m, sizeof(m), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Queue a reply carrying an fd (SHARED_OBJECT_LOOKUP's answer). */
static void queue_backend_reply_fd(uint32_t request)
{
    struct peer *bp = backend_peer();
    uint8_t m[VHOST_USER_HDR_SIZE + 8] = { 0 };
    uint32_t flags = 1u | VHOST_USER_REPLY_MASK, size = 8;
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = m, .iov_len = sizeof(m) };
    struct msghdr mh = { .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.b,
                         .msg_controllen = sizeof(control.b) };
    int fd;

    if (bp && (S.cfg.flags & (CFG_BAD_ANSWERS | CFG_HANG_UP_BACKEND))) {
        queue_backend_ack(request); /* an answer without the fd, or none */
        return;
    }
    if (!bp || (fd = eventfd(0, EFD_CLOEXEC)) < 0) {
        return;
    }
    memcpy(m, &request, 4);
    memcpy(m + 4, &flags, 4);
    memcpy(m + 8, &size, 4);
    memset(&control, 0, sizeof(control));
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    (void)sendmsg(bp->ours, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    close(fd);
}

static void rings_after_op(struct fz_rings *r)
{
    (void)r;
    drain_peers_and(S.dev.backend_fd); /* and stale acks queued for it */
}

static void rings_kick(struct fz_rings *r, unsigned qi)
{
    VuVirtq *vq = &S.dev.vq[qi];

    (void)r;
    if (vq->kick_fd >= 0) {
        struct stat st;
        /* Only an eventfd is signalled: writing to another kind of fd could
         * block (a full socket) or change guest memory. */
        if (fstat(vq->kick_fd, &st) == 0 && !S_ISREG(st.st_mode) &&
            !S_ISSOCK(st.st_mode) && !S_ISFIFO(st.st_mode) &&
            !S_ISCHR(st.st_mode)) {
            (void)eventfd_write(vq->kick_fd, 1);
        }
    }
    fz_run_watches(&S.dev);
}

static bool has_pf(unsigned bit)
{
    return S.dev.protocol_features & (1ULL << bit);
}

/* With in-band notifications and REPLY_ACK, notify_sync waits for the
 * frontend's ack on the backend channel: queue it beforehand. */
static void rings_before_op(struct fz_rings *r, unsigned op, unsigned qi)
{
    (void)r;
    if (op == FZ_OP_NOTIFY_SYNC && S.dev.vq[qi].call_fd < 0 &&
        has_pf(VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS) &&
        has_pf(VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
        queue_backend_ack(VHOST_USER_BACKEND_VRING_CALL);
    }
    if (op == FZ_OP_CONFIG_CHANGE &&
        has_pf(VHOST_USER_PROTOCOL_F_BACKEND_REQ) &&
        has_pf(VHOST_USER_PROTOCOL_F_REPLY_ACK)) {
        queue_backend_ack(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    }
    if (op == FZ_OP_HOST_NOTIFIER) {
        queue_backend_ack(VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
    }
    if (op == FZ_OP_SHARED_OBJECT) {
        queue_backend_reply_fd(VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
    }
}

/* ---- one message record ---- */

/* Send the message of one M record (after its tag) with its fds; a payload
 * cut short (shorter than size) ends the frontend's side. */
static void send_message(struct tlv *t, uint32_t *request, uint32_t *flags,
                         uint32_t *size, size_t *got)
{
    static uint8_t buf[VHOST_USER_HDR_SIZE + 65536]; /* not on the stack: the
        ASan shadow of 64 KiB would be poisoned and cleared per message */
    uint16_t plen;
    const uint8_t *payload;
    unsigned nfd_desc;
    int fds[MAX_SEND_FDS];
    int nfds = 0;

    *request = tlv_u32(t);
    *flags = tlv_u32(t);
    *size = tlv_u32(t);
    plen = tlv_u16(t);
    payload = tlv_bytes(t, plen, got);
    nfd_desc = tlv_u8(t) % (MAX_SEND_FDS + 1);
    for (unsigned i = 0; i < nfd_desc; i++) {
        int fd = make_fd(t);
        if (fd >= 0) {
            fds[nfds++] = fd;
        }
    }
    memcpy(buf, request, 4);
    memcpy(buf + 4, flags, 4);
    memcpy(buf + 8, size, 4);
    memcpy(buf + VHOST_USER_HDR_SIZE, payload, *got);
    fz_send_all(fe_sock, buf, VHOST_USER_HDR_SIZE + *got, fds, nfds);
    if (*got < *size) {
        /* The payload is cut short: the frontend goes away mid-message. */
        shutdown(fe_sock, SHUT_WR);
        S.eof = true;
    }
}

/* Returns false when the connection is over.  low/old (both or neither):
 * the fd limit to dispatch under, and the one to restore. */
static bool do_message_limited(struct tlv *t, int resource,
                               const struct rlimit *low,
                               const struct rlimit *old)
{
    uint32_t request, flags, size;
    size_t got;
    bool was_broken = S.dev.broken;
    bool ok;
    unsigned replies, max_replies = 1;
    bool go_ahead = false, cut_short;

    send_message(t, &request, &flags, &size, &got);
    cut_short = S.eof;
    if (postcopy_frozen() && !S.eof &&
        (request == VHOST_USER_SET_MEM_TABLE ||
         request == VHOST_USER_ADD_MEM_REG)) {
        /* A listening postcopy answers a new table or region with our
         * addresses (one more reply) ... */
        max_replies = 2;
    }
    if (postcopy_frozen() && !S.eof && request == VHOST_USER_SET_MEM_TABLE) {
        /* ... and for a table reads the frontend's go-ahead inside the
         * dispatch: it must be on the socket already, or the read would
         * block.  The next M record is sent now as that go-ahead; without
         * one (or with bytes beyond size, which would be read as its
         * header) the frontend goes away instead, and the read sees EOF. */
        if (got == size && !tlv_done(t) && t->p[t->pos] == VU_TLV_TAG_MSG) {
            uint32_t r2, f2, s2;
            size_t g2;

            (void)tlv_u8(t);
            send_message(t, &r2, &f2, &s2, &g2);
            go_ahead = true;
        } else {
            shutdown(fe_sock, SHUT_WR);
            S.eof = true;
        }
    }
    if (low) {
        (void)setrlimit(resource, low);
    }
    ok = vu_dispatch(&S.dev);
    fz_log("message %u (%s) flags 0x%x size %u: %s%s\n", request,
           vu_request_to_string(request), flags, size, ok ? "ok" : "failed",
           S.dev.broken ? ", broken" : "");
    if (old) {
        (void)setrlimit(resource, old);
    }
    replies = check_replies_max(request, max_replies);
    if (ok && !S.dev.broken && !was_broken &&
        (flags & VHOST_USER_NEED_REPLY_MASK) &&
        (flags & VHOST_USER_VERSION_MASK) == 1) {
        FZ_CHECK(replies >= 1,
                 "request %u with NEED_REPLY handled without a reply", request);
    }
    if ((got > size || go_ahead) && ok) {
        /* Bytes beyond `size` belong to no message; a go-ahead the table's
         * refusal left unread is dropped (the stream stays in step). */
        drain_lib_side(lib_sock);
    }
    drain_peers();
    if (cut_short) {
        /* (An EOF instead of a go-ahead only refuses the table.) */
        FZ_CHECK(!ok, "vu_dispatch returned true at end of stream");
    }
    return ok && !S.eof;
}

static bool do_message(struct tlv *t)
{
    return do_message_limited(t, 0, NULL, NULL);
}

static void end_of_stream(const uint8_t *raw, size_t len)
{
    bool ok;

    if (len) {
        fz_send_all(fe_sock, raw, len, NULL, 0);
    }
    shutdown(fe_sock, SHUT_WR);
    S.eof = true;
    ok = vu_dispatch(&S.dev);
    (void)check_replies(len >= 4 ? raw[0] | raw[1] << 8 | raw[2] << 16 |
                                       (uint32_t)raw[3] << 24
                                 : 0);
    if (len < VHOST_USER_HDR_SIZE) {
        FZ_CHECK(!ok, "vu_dispatch returned true on a %zu-byte stream", len);
    }
}

/* TAG_RESET: a reply left unread when the frontend closes its end makes the
 * library's next read fail with ECONNRESET rather than see EOF. */
static void reset_connection(void)
{
    uint8_t m[VHOST_USER_HDR_SIZE] = { VHOST_USER_GET_FEATURES, 0, 0, 0, 1 };
    bool ok;

    fz_send_all(fe_sock, m, sizeof(m), NULL, 0);
    (void)vu_dispatch(&S.dev);
    close(fe_sock);
    fe_sock = -1;
    S.eof = true;
    ok = vu_dispatch(&S.dev);
    FZ_CHECK(!ok, "vu_dispatch returned true on a reset connection");
}

/* TAG_NO_FDS_LEFT / TAG_NO_FILE_GROWTH: one message record under a lowered
 * RLIMIT_NOFILE (the lowest free fd number) or RLIMIT_FSIZE (0, with
 * SIGXFSZ ignored so that the growth fails with EFBIG). */
static bool message_limited(struct tlv *t, int resource)
{
    struct rlimit old, low;
    struct sigaction ign = { .sa_handler = SIG_IGN }, saved;
    bool go_on;

    if (tlv_done(t) || t->p[t->pos] != VU_TLV_TAG_MSG ||
        getrlimit(resource, &old) != 0) {
        return false;
    }
    (void)tlv_u8(t);
    low = old;
    if (resource == RLIMIT_NOFILE) {
        int lowest = fcntl(devnull, F_DUPFD_CLOEXEC, 0);

        if (lowest < 0) {
            return false;
        }
        close(lowest);
        low.rlim_cur = (rlim_t)lowest;
    } else {
        low.rlim_cur = 0;
    }
    sigaction(SIGXFSZ, &ign, &saved);
    /* The fds of the message itself are made before the limit drops. */
    go_on = do_message_limited(t, resource, &low, &old);
    sigaction(SIGXFSZ, &saved, NULL);
    return go_on;
}

static void parse_config(struct tlv *t)
{
    S.cfg.features = tlv_u64(t);
    S.cfg.protocol_features = tlv_u64(t);
    S.cfg.max_queues = tlv_u16(t) % 17;
    S.cfg.flags = tlv_u8(t);
    if (S.cfg.max_queues == 0) {
        S.cfg.max_queues = 1;
    }
}

static void cleanup_input(void)
{
    fz_rings_fini(&S.rings);
    vu_deinit(&S.dev);
    fz_watches_check_empty();
    fz_watches_clear();
    for (unsigned i = 0; i < S.nfds; i++) {
        if (S.owned[i]) {
            close(S.fds[i]);
        }
    }
    for (unsigned i = 0; i < S.npeers; i++) {
        close(S.peers[i].ours);
    }
    if (S.eof || S.no_read) {
        if (fe_sock >= 0) {
            close(fe_sock);
        }
        close(lib_sock);
        make_socketpair();
    } else {
        /* Leftovers on either end of the persistent connection: one poll,
         * and a read only of the side that has some. */
        struct pollfd pf[2] = { { .fd = fe_sock, .events = POLLIN },
                                { .fd = lib_sock, .events = POLLIN } };

        if (poll(pf, 2, 0) > 0) {
            if (pf[0].revents) {
                (void)recv_now(fe_sock, NULL, 0, NULL);
            }
            if (pf[1].revents) {
                drain_lib_side(lib_sock);
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tlv t;
    unsigned msgs = 0;
    int sock;

    if (fe_sock < 0) {
        LLVMFuzzerInitialize(NULL, NULL);
    }
    sock = fz_fd_check_begin_dup(lib_sock);
    memset(&S, 0, offsetof(typeof(S), config_space));
    S.cfg = default_cfg;
    tlv_init(&t, data, size);
    if (size > 0 && data[0] == VU_TLV_TAG_CONFIG) {
        (void)tlv_u8(&t);
        parse_config(&t);
    }
    if (S.cfg.flags & CFG_RECORD) {
        setenv("LIBVHOST_USER_RECORD", "/dev/null", 1);
    }
    if (S.cfg.flags & CFG_PASSCRED) {
        int on = 1;

        (void)setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
        S.no_read = true; /* a new socket pair for the next input */
    }
    FZ_CHECK(vu_init(&S.dev, S.cfg.max_queues, sock, fz_panic, NULL,
                     fz_set_watch, fz_remove_watch,
                     (S.cfg.flags & CFG_NO_CONFIG) ? &iface_min : &iface_full),
             "vu_init failed");
    if (S.cfg.flags & CFG_RECORD) {
        unsetenv("LIBVHOST_USER_RECORD");
    }
    fz_rings_init(&S.rings, &S.dev);
    S.rings.kick = rings_kick;
    S.rings.after_op = rings_after_op;
    S.rings.before_op = rings_before_op;
    for (unsigned i = 0; i < S.cfg.max_queues; i++) {
        vu_set_queue_handler(&S.dev, vu_get_queue(&S.dev, (int)i),
                             queue_handler);
    }

    while (!tlv_done(&t) && msgs < MAX_MSGS) {
        uint8_t tag = tlv_u8(&t);
        bool go_on = true;

        switch (tag) {
        case VU_TLV_TAG_MSG:
            msgs++;
            go_on = do_message(&t);
            break;
        case VU_TLV_TAG_OPS: {
            struct tlv sub = tlv_sub(&t, tlv_u16(&t));
            if (!postcopy_frozen()) {
                fz_rings_run(&S.rings, &sub);
            }
            break;
        }
        case VU_TLV_TAG_REST:
            if (!postcopy_frozen()) {
                fz_rings_run(&S.rings, &t);
            }
            go_on = false;
            break;
        case VU_TLV_TAG_RAW: {
            size_t got;
            const uint8_t *raw = tlv_bytes(&t, tlv_u16(&t), &got);
            end_of_stream(raw, got);
            go_on = false;
            break;
        }
        case VU_TLV_TAG_EOF:
            end_of_stream(NULL, 0);
            go_on = false;
            break;
        case TAG_HANG_UP_READ:
            shutdown(fe_sock, SHUT_RD);
            S.no_read = true;
            break;
        case TAG_RESET:
            reset_connection();
            go_on = false;
            break;
        case TAG_NO_FDS_LEFT:
            msgs++;
            go_on = message_limited(&t, RLIMIT_NOFILE);
            break;
        case TAG_NO_FILE_GROWTH:
            msgs++;
            go_on = message_limited(&t, RLIMIT_FSIZE);
            break;
        default:
            go_on = false; /* unknown tag: the input ends here */
            break;
        }
        if (!go_on) {
            break;
        }
        if (postcopy_frozen()) {
            continue; /* the checks read used->idx */
        }
        if (tag == VU_TLV_TAG_MSG || tag == TAG_NO_FDS_LEFT ||
            tag == TAG_NO_FILE_GROWTH) {
            /* Any message may have moved the rings to other memory. */
            fz_rings_resync(&S.rings);
        }
        fz_rings_check(&S.rings);
    }
    if (!postcopy_frozen()) {
        fz_rings_check(&S.rings);
    }
    cleanup_input();
    fz_fd_check_end("fuzz_dispatch");
    return 0;
}
