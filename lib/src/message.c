/*
 * Message I/O on the vhost-user socket: the built-in reader (header and
 * payload read in full, fds taken with SCM_RIGHTS) and the reply writer.
 */
#include "internal.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void vu_msg_close_fds(VhostUserMsg *vmsg)
{
    int n = vmsg->fd_num;

    if (n < 0 || n > VHOST_MEMORY_BASELINE_NREGIONS) {
        n = VHOST_MEMORY_BASELINE_NREGIONS; /* a custom reader lied: close all */
    }
    for (int i = 0; i < n; i++) {
        if (vmsg->fds[i] >= 0) {
            close(vmsg->fds[i]);
        }
        vmsg->fds[i] = -1;
    }
    vmsg->fd_num = 0;
}

/* How long a frontend may pause in the middle of a message on a
 * non-blocking socket before we give up on it (one stalled peer must not
 * freeze a process serving several). */
#define VU_MIDMESSAGE_TIMEOUT_MS 5000

/* Wait until fd is ready for events (used when the socket is non-blocking);
 * timeout_ms < 0 waits as long as it takes. */
static bool wait_ready(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int rc;

    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

/* Fds collected over the recvmsg calls of one message. */
struct fd_bag {
    int fds[VHOST_MEMORY_BASELINE_NREGIONS];
    int n;
    bool overflow; /* more fds than fit, or the kernel truncated them */
};

static void bag_take_cmsgs(struct fd_bag *bag, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        size_t count;
        int fd;

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0)) {
            continue;
        }
        count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (bag->n < VHOST_MEMORY_BASELINE_NREGIONS) {
                bag->fds[bag->n++] = fd;
            } else {
                close(fd);
                bag->overflow = true;
            }
        }
    }
    if (mh->msg_flags & MSG_CTRUNC) {
        bag->overflow = true;
    }
}

enum read_result { READ_OK, READ_EOF, READ_ERROR, READ_STALLED };

/* Read exactly len bytes, collecting any fds that come with them.  started:
 * earlier bytes of this message were already read. */
static enum read_result read_full(int sock, void *buf, size_t len,
                                  struct fd_bag *bag, bool started)
{
    /* Room for one more fd than we accept, so an excess shows up as overflow
     * rather than being silently cut by the kernel. */
    union {
        char
            buf[CMSG_SPACE(sizeof(int) * (VHOST_MEMORY_BASELINE_NREGIONS + 1))];
        struct cmsghdr align;
    } control;
    size_t done = 0;

    while (done < len) {
        struct iovec iov = { .iov_base = (char *)buf + done,
                             .iov_len = len - done };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_ready(sock, POLLIN,
                               started || done ? VU_MIDMESSAGE_TIMEOUT_MS
                                               : -1)) {
                    continue;
                }
                return READ_STALLED;
            }
            return READ_ERROR;
        }
        bag_take_cmsgs(bag, &mh);
        if (n == 0) {
            return READ_EOF;
        }
        done += (size_t)n;
    }
    return READ_OK;
}

static void bag_close(struct fd_bag *bag)
{
    for (int i = 0; i < bag->n; i++) {
        close(bag->fds[i]);
    }
    bag->n = 0;
}

bool vu_message_read_default(VuDev *dev, int sock, VhostUserMsg *vmsg)
{
    struct fd_bag bag = { .n = 0 };
    enum read_result r;

    memset(vmsg, 0, sizeof(*vmsg));
    r = read_full(sock, vmsg, VHOST_USER_HDR_SIZE, &bag, false);
    if (r == READ_OK && vmsg->size > sizeof(vmsg->payload)) {
        /* The stream cannot be resynchronised without trusting size. */
        bag_close(&bag);
        vu_fail(dev,
                "%s: payload size %u exceeds the largest payload (%zu bytes)",
                vu_request_to_string((unsigned)vmsg->request), vmsg->size,
                sizeof(vmsg->payload));
        return false;
    }
    if (r == READ_OK && vmsg->size) {
        r = read_full(sock, &vmsg->payload, vmsg->size, &bag, true);
    }
    if (r != READ_OK) {
        bool started =
            r == READ_EOF && (vmsg->request || vmsg->flags || vmsg->size);

        bag_close(&bag);
        if (r == READ_STALLED) {
            vu_fail(dev,
                    "the frontend stopped in the middle of a message for %d ms",
                    VU_MIDMESSAGE_TIMEOUT_MS);
        } else if (r == READ_ERROR) {
            vu_fail(dev, "socket read failed: %s", strerror(errno));
        } else if (started) {
            vu_fail(dev, "connection closed in the middle of a message");
        }
        return false;
    }
    if (bag.overflow) {
        /* The message itself is intact: close every fd and let the
         * dispatcher refuse it by its impossible fd count. */
        bag_close(&bag);
        for (int i = 0; i < VHOST_MEMORY_BASELINE_NREGIONS; i++) {
            vmsg->fds[i] = -1;
        }
        vmsg->fd_num = VU_FD_COUNT_OVERFLOW;
        return true;
    }
    memcpy(vmsg->fds, bag.fds, sizeof(int) * (size_t)bag.n);
    for (int i = bag.n; i < VHOST_MEMORY_BASELINE_NREGIONS; i++) {
        vmsg->fds[i] = -1;
    }
    vmsg->fd_num = bag.n;
    vmsg->data = NULL;
    return true;
}

/* Write header and payload (with fds on the first chunk), looping on short
 * writes. */
bool vu_message_write(int sock, const VhostUserMsg *vmsg)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * VHOST_MEMORY_BASELINE_NREGIONS)];
        struct cmsghdr align;
    } control;
    size_t len = VHOST_USER_HDR_SIZE + vmsg->size;
    size_t done = 0;
    int nfds = vmsg->fd_num;

    if (vmsg->size > sizeof(vmsg->payload) || nfds < 0 ||
        nfds > VHOST_MEMORY_BASELINE_NREGIONS) {
        return false;
    }
    while (done < len) {
        struct iovec iov = { .iov_base = (char *)vmsg + done,
                             .iov_len = len - done };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        ssize_t n;

        if (nfds > 0 && done == 0) {
            memset(&control, 0, sizeof(control));
            mh.msg_control = control.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(c), vmsg->fds, sizeof(int) * (size_t)nfds);
        }
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
                wait_ready(sock, POLLOUT, VU_MIDMESSAGE_TIMEOUT_MS)) {
                continue;
            }
            return false;
        }
        done += (size_t)n;
    }
    return true;
}
