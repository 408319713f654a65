/*
 * blk-store.c: file and block-device I/O for vhost-user-blk.
 */
#include "blk-store.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iov.h"

#define BLK_SECTOR 512u

static int store_size(int fd, const struct stat *st, uint64_t *size)
{
    if (S_ISREG(st->st_mode)) {
        *size = (uint64_t)st->st_size;
        return 0;
    }
    if (S_ISBLK(st->st_mode)) {
        return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
    }
    return -EINVAL;
}

int blk_store_open(struct blk_store *st, const char *path, bool read_only)
{
    struct stat sb;
    int rc;

    memset(st, 0, sizeof(*st));
    st->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (st->fd < 0) {
        rc = -errno;
        fprintf(stderr, "vhost-user-blk: cannot open %s: %s\n", path,
                strerror(-rc));
        return rc;
    }
    rc = fstat(st->fd, &sb) < 0 ? -errno : store_size(st->fd, &sb, &st->size);
    if (rc < 0) {
        fprintf(stderr,
                "vhost-user-blk: %s: not a usable file or block "
                "device: %s\n",
                path, strerror(-rc));
        blk_store_close(st);
        return rc;
    }
    st->block_device = S_ISBLK(sb.st_mode);
    st->read_only = read_only;
    st->writeback = true;
    st->size -= st->size % BLK_SECTOR; /* a partial last sector is unusable */
    return 0;
}

void blk_store_open_null(struct blk_store *st, uint64_t size, bool read_only)
{
    memset(st, 0, sizeof(*st));
    st->fd = -1;
    st->read_only = read_only;
    st->writeback = true;
    st->size = size - size % BLK_SECTOR;
}

void blk_store_close(struct blk_store *st)
{
    if (st->fd >= 0) {
        close(st->fd);
    }
    st->fd = -1;
}

int blk_store_read(struct blk_store *st, struct iovec *iov, unsigned int cnt,
                   uint64_t offset)
{
    ssize_t n;

    while (st->fd >= 0 && cnt > 0) {
        n = preadv(st->fd, iov, (int)cnt, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO; /* EOF: the file shrank */
        }
        iov_advance(&iov, &cnt, (size_t)n);
        offset += (uint64_t)n;
    }
    return 0;
}

int blk_store_write(struct blk_store *st, struct iovec *iov, unsigned int cnt,
                    uint64_t offset)
{
    ssize_t n;

    while (st->fd >= 0 && cnt > 0) {
        n = pwritev(st->fd, iov, (int)cnt, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        iov_advance(&iov, &cnt, (size_t)n);
        offset += (uint64_t)n;
    }
    return st->writeback ? 0 : blk_store_flush(st);
}

int blk_store_flush(struct blk_store *st)
{
    if (st->fd < 0) {
        return 0;
    }
    return fdatasync(st->fd) < 0 ? -errno : 0;
}

/* Errors that only say "this store cannot do that shortcut". */
static bool unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOTTY || err == EINVAL || err == ENOSYS;
}

int blk_store_discard(struct blk_store *st, uint64_t offset, uint64_t len)
{
    uint64_t range[2] = { offset, len };
    int rc;

    if (st->fd < 0) {
        return 0;
    }
    if (st->block_device) {
        rc = ioctl(st->fd, BLKDISCARD, range);
    } else {
        rc = fallocate(st->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       (off_t)offset, (off_t)len);
    }
    /* Discard is a hint: a store that cannot drop blocks just keeps them. */
    return rc < 0 && !unsupported(errno) ? -errno : 0;
}

static int write_zero_buffers(struct blk_store *st, uint64_t offset,
                              uint64_t len)
{
    static const char zeroes[64 * 1024];
    size_t chunk;
    ssize_t n;

    while (len > 0) {
        chunk = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
        n = pwrite(st->fd, zeroes, chunk, (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        offset += (uint64_t)n;
        len -= (uint64_t)n;
    }
    return 0;
}

static int zero_range_fast(struct blk_store *st, uint64_t offset, uint64_t len,
                           bool may_unmap)
{
    uint64_t range[2] = { offset, len };
    int mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

    if (st->block_device) {
        return ioctl(st->fd, BLKZEROOUT, range) < 0 ? -errno : 0;
    }
    if (may_unmap) {
        /* A hole reads back as zeroes and frees the space. */
        mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    }
    return fallocate(st->fd, mode, (off_t)offset, (off_t)len) < 0 ? -errno : 0;
}

int blk_store_write_zeroes(struct blk_store *st, uint64_t offset, uint64_t len,
                           bool may_unmap)
{
    int rc;

    if (st->fd < 0) {
        return 0;
    }
    rc = zero_range_fast(st, offset, len, may_unmap);
    if (rc < 0 && unsupported(-rc)) {
        rc = write_zero_buffers(st, offset, len);
    }
    if (rc == 0 && !st->writeback) {
        rc = blk_store_flush(st);
    }
    return rc;
}
