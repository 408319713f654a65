/*
 * record.c: the traffic recorder.
 *
 * With LIBVHOST_USER_RECORD=path in the environment, every message the
 * library receives is appended to path as one 'M' record of the
 * fuzz_dispatch input format (record_format.h, fuzz/README.md), so a
 * session with a real frontend becomes a fuzz seed with one command.
 *
 * File descriptors are described, never copied: a regular file or memfd
 * by its size (contents omitted), an eventfd as an eventfd, a socket as a
 * socket, a pipe as a pipe, anything else as "other".  An fd that refers
 * to the same file as an earlier fd of the same message is recorded as a
 * duplicate of it.  Recording never changes what the library does: every
 * error here is ignored.
 */
#include "internal.h"
#include "record_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest record: header, payload, fd count, and eight memfd descriptions. */
#define RECORD_MAX                                                             \
    (VU_TLV_MSG_HDR_LEN + VU_MAX_PAYLOAD + 1 +                                 \
     (size_t)VU_TLV_MAX_FDS * (1 + 8 + 4 + 2))

struct rec_buf {
    uint8_t bytes[RECORD_MAX];
    size_t len;
};

static void put_bytes(struct rec_buf *b, const void *p, size_t n)
{
    if (n > sizeof(b->bytes) - b->len) {
        return; /* cannot happen: RECORD_MAX bounds every record */
    }
    memcpy(b->bytes + b->len, p, n);
    b->len += n;
}

static void put_le(struct rec_buf *b, uint64_t v, unsigned width)
{
    uint8_t tmp[8];

    for (unsigned i = 0; i < width; i++) {
        tmp[i] = (uint8_t)(v >> (8 * i));
    }
    put_bytes(b, tmp, width);
}

void vu_record_init(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);
    const char *path = secure_getenv("LIBVHOST_USER_RECORD");

    impl->record_fd = -1;
    impl->fd_counter = 0;
    if (!path || !*path) {
        return;
    }
    impl->record_fd =
        open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static bool is_eventfd(int fd)
{
    char link[64], target[64];
    ssize_t n;

    (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0) {
        return false;
    }
    target[n] = '\0';
    return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static void put_fd(struct rec_buf *b, const VhostUserMsg *vmsg, int i,
                   const struct stat *st, const bool *st_ok, unsigned first)
{
    int fd = vmsg->fds[i];

    if (!st_ok[i]) {
        put_le(b, VU_TLV_FD_OTHER, 1);
        return;
    }
    for (int j = 0; j < i; j++) {
        if (st_ok[j] && st[j].st_dev == st[i].st_dev &&
            st[j].st_ino == st[i].st_ino) {
            put_le(b, VU_TLV_FD_DUP, 1);
            put_le(b, (uint16_t)(first + (unsigned)j), 2);
            return;
        }
    }
    if (S_ISREG(st[i].st_mode)) {
        put_le(b, VU_TLV_FD_MEMFD, 1);
        put_le(b, (uint64_t)st[i].st_size, 8);
        put_le(b, 0, 4); /* content offset */
        put_le(b, 0, 2); /* content omitted */
    } else if (S_ISSOCK(st[i].st_mode)) {
        put_le(b, VU_TLV_FD_SOCKET, 1);
    } else if (S_ISFIFO(st[i].st_mode)) {
        put_le(b, VU_TLV_FD_PIPE, 1);
    } else if (is_eventfd(fd)) {
        put_le(b, VU_TLV_FD_EVENTFD, 1);
    } else {
        put_le(b, VU_TLV_FD_OTHER, 1);
    }
}

void vu_record_msg(VuDev *dev, const VhostUserMsg *vmsg)
{
    struct vu_impl *impl = vu_impl(dev);
    struct rec_buf b;
    struct stat st[VU_TLV_MAX_FDS];
    bool st_ok[VU_TLV_MAX_FDS];
    uint32_t plen = vmsg->size;
    int nfds = vmsg->fd_num;

    if (impl->record_fd < 0) {
        return;
    }
    if (plen > VU_MAX_PAYLOAD) {
        plen = 0; /* the payload was not read */
    }
    if (nfds < 0) {
        nfds = 0;
    }
    if (nfds > VU_TLV_MAX_FDS) {
        nfds = VU_TLV_MAX_FDS;
    }
    b.len = 0;
    put_le(&b, VU_TLV_TAG_MSG, 1);
    put_le(&b, (uint32_t)vmsg->request, 4);
    put_le(&b, vmsg->flags, 4);
    put_le(&b, vmsg->size, 4);
    put_le(&b, plen, 2);
    put_bytes(&b, &vmsg->payload, plen);
    put_le(&b, (uint8_t)nfds, 1);
    for (int i = 0; i < nfds; i++) {
        st_ok[i] = vmsg->fds[i] >= 0 && fstat(vmsg->fds[i], &st[i]) == 0;
    }
    for (int i = 0; i < nfds; i++) {
        put_fd(&b, vmsg, i, st, st_ok, impl->fd_counter);
    }
    impl->fd_counter += (unsigned)nfds;

    /* One write per record; O_APPEND keeps records whole. */
    ssize_t n;
    do {
        n = write(impl->record_fd, b.bytes, b.len);
    } while (n < 0 && errno == EINTR);
}

void vu_record_close(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);

    if (impl->record_fd >= 0) {
        close(impl->record_fd);
    }
    impl->record_fd = -1;
}
