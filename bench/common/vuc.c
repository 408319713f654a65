/* vuc: a minimal vhost-user frontend for the benchmarks (see vuc.h). */
#include "vuc.h"

#include "libvhost-user.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VUC_VERSION 0x1u
#define VUC_REPLY 0x4u
#define VUC_NEED_REPLY 0x8u
#define VUC_HDR 12u
#define VUC_MAX_PAYLOAD 4096u
#define VUC_REPLY_TIMEOUT_MS 10000

struct vuc_hdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed));

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "vuc: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

double vuc_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void vuc_connect(struct vuc *c, const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    double deadline = vuc_now() + timeout_ms / 1000.0;

    memset(c, 0, sizeof(*c));
    c->mem_fd = -1;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        die("socket path too long: %s", path);
    }
    strcpy(sa.sun_path, path);
    for (;;) {
        c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->sock < 0) {
            die("socket: %s", strerror(errno));
        }
        if (connect(c->sock, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return;
        }
        close(c->sock);
        if ((errno != ENOENT && errno != ECONNREFUSED) ||
            vuc_now() > deadline) {
            die("connect %s: %s", path, strerror(errno));
        }
        usleep(10000);
    }
}

void vuc_close(struct vuc *c)
{
    if (c->sock >= 0) {
        close(c->sock);
    }
    if (c->mem) {
        munmap(c->mem, c->mem_size);
    }
    if (c->mem_fd >= 0) {
        close(c->mem_fd);
    }
    c->sock = c->mem_fd = -1;
    c->mem = NULL;
}

void vuc_send(struct vuc *c, uint32_t req, uint32_t flags, const void *payload,
              uint32_t size, const int *fds, int nfds)
{
    struct vuc_hdr h = { req, flags | VUC_VERSION, size };
    struct iovec iov[2] = { { &h, VUC_HDR }, { (void *)payload, size } };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } u;
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
    size_t want = VUC_HDR + size;
    ssize_t n;

    if (nfds > 8) {
        die("too many fds");
    }
    if (nfds > 0) {
        struct cmsghdr *cm;

        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    do {
        n = sendmsg(c->sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)want) {
        die("send %s: %s", vu_request_to_string(req),
            n < 0 ? strerror(errno) : "short write");
    }
}

static void read_full(struct vuc *c, void *buf, size_t len, uint32_t req)
{
    uint8_t *p = buf;

    while (len > 0) {
        struct pollfd pfd = { .fd = c->sock, .events = POLLIN };
        ssize_t n;

        if (poll(&pfd, 1, VUC_REPLY_TIMEOUT_MS) <= 0) {
            die("no reply to %s", vu_request_to_string(req));
        }
        n = recv(c->sock, p, len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("reply to %s: %s", vu_request_to_string(req),
                n < 0 ? strerror(errno) : "connection closed");
        }
        p += n;
        len -= (size_t)n;
    }
}

uint32_t vuc_recv_reply(struct vuc *c, uint32_t req, void *payload,
                        uint32_t cap)
{
    struct vuc_hdr h;
    uint8_t buf[VUC_MAX_PAYLOAD];

    read_full(c, &h, VUC_HDR, req);
    if (h.request != req || h.flags != (VUC_VERSION | VUC_REPLY) ||
        h.size > VUC_MAX_PAYLOAD) {
        die("bad reply to %s: request %u flags 0x%x size %u",
            vu_request_to_string(req), h.request, h.flags, h.size);
    }
    read_full(c, buf, h.size, req);
    memcpy(payload, buf, h.size < cap ? h.size : cap);
    return h.size;
}

uint64_t vuc_get_u64(struct vuc *c, uint32_t req)
{
    uint64_t v = 0;

    vuc_send(c, req, 0, NULL, 0, NULL, 0);
    if (vuc_recv_reply(c, req, &v, sizeof(v)) != sizeof(v)) {
        die("%s: reply is not a u64", vu_request_to_string(req));
    }
    return v;
}

void vuc_set(struct vuc *c, uint32_t req, const void *payload, uint32_t size,
             const int *fds, int nfds)
{
    uint64_t ack = 0;

    vuc_send(c, req, c->reply_ack ? VUC_NEED_REPLY : 0, payload, size, fds,
             nfds);
    if (c->reply_ack) {
        if (vuc_recv_reply(c, req, &ack, sizeof(ack)) != sizeof(ack) ||
            ack != 0) {
            die("%s failed (ack %llu)", vu_request_to_string(req),
                (unsigned long long)ack);
        }
    }
}

void vuc_set_u64(struct vuc *c, uint32_t req, uint64_t v)
{
    vuc_set(c, req, &v, sizeof(v), NULL, 0);
}

void vuc_negotiate(struct vuc *c, uint64_t want, uint64_t want_proto)
{
    uint64_t offered = vuc_get_u64(c, VHOST_USER_GET_FEATURES);
    uint64_t need =
        (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES);

    if ((offered & need) != need) {
        die("backend lacks VERSION_1 or PROTOCOL_FEATURES (0x%llx)",
            (unsigned long long)offered);
    }
    c->proto_features =
        vuc_get_u64(c, VHOST_USER_GET_PROTOCOL_FEATURES) & want_proto;
    vuc_set_u64(c, VHOST_USER_SET_PROTOCOL_FEATURES, c->proto_features);
    c->reply_ack =
        c->proto_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK);
    vuc_set(c, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0);
    c->features = offered & (want | need);
    vuc_set_u64(c, VHOST_USER_SET_FEATURES, c->features);
}

void vuc_setup_memory(struct vuc *c, uint64_t size)
{
    VhostUserMemory m;

    c->mem_fd = memfd_create("vuc-guest", MFD_CLOEXEC);
    if (c->mem_fd < 0 || ftruncate(c->mem_fd, (off_t)size) < 0) {
        die("memfd: %s", strerror(errno));
    }
    c->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c->mem_fd, 0);
    if (c->mem == MAP_FAILED) {
        die("mmap: %s", strerror(errno));
    }
    c->mem_size = size;
    memset(c->mem, 0, size); /* fault every page in before timing */
    memset(&m, 0, sizeof(m));
    m.nregions = 1;
    m.regions[0].guest_phys_addr = 0;
    m.regions[0].memory_size = size;
    m.regions[0].userspace_addr = (uint64_t)(uintptr_t)c->mem;
    m.regions[0].mmap_offset = 0;
    vuc_set(
        c, VHOST_USER_SET_MEM_TABLE, &m,
        (uint32_t)(offsetof(VhostUserMemory, regions) + sizeof(m.regions[0])),
        &c->mem_fd, 1);
}

static void set_state(struct vuc *c, uint32_t req, unsigned idx, unsigned num)
{
    struct vhost_vring_state s = { .index = idx, .num = num };

    vuc_set(c, req, &s, sizeof(s), NULL, 0);
}

void vuc_start_queue(struct vuc *c, unsigned idx, unsigned num, uint64_t desc,
                     uint64_t avail, uint64_t used, int kick_fd, int call_fd)
{
    struct vhost_vring_addr a = {
        .index = idx,
        .flags = 0,
        .desc_user_addr = (uint64_t)(uintptr_t)vuc_ptr(c, desc),
        .used_user_addr = (uint64_t)(uintptr_t)vuc_ptr(c, used),
        .avail_user_addr = (uint64_t)(uintptr_t)vuc_ptr(c, avail),
        .log_guest_addr = used,
    };
    uint64_t v = idx;

    set_state(c, VHOST_USER_SET_VRING_NUM, idx, num);
    set_state(c, VHOST_USER_SET_VRING_BASE, idx, 0);
    vuc_set(c, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
    vuc_set(c, VHOST_USER_SET_VRING_CALL, &v, sizeof(v), &call_fd, 1);
    vuc_set(c, VHOST_USER_SET_VRING_KICK, &v, sizeof(v), &kick_fd, 1);
    set_state(c, VHOST_USER_SET_VRING_ENABLE, idx, 1);
}

unsigned vuc_stop_queue(struct vuc *c, unsigned idx)
{
    struct vhost_vring_state s = { .index = idx, .num = 0 };

    set_state(c, VHOST_USER_SET_VRING_ENABLE, idx, 0);
    vuc_send(c, VHOST_USER_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0);
    if (vuc_recv_reply(c, VHOST_USER_GET_VRING_BASE, &s, sizeof(s)) !=
        sizeof(s)) {
        die("GET_VRING_BASE: bad reply size");
    }
    return s.num;
}
