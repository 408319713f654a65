/*
 * blk-store.h: the backing store of vhost-user-blk.
 *
 * A regular file, a block device, or nothing at all (--null: every request
 * completes at once without I/O, for benchmarks).  Offsets and lengths are
 * in bytes and already checked against the capacity by the caller.
 */
#ifndef EXAMPLES_BLK_STORE_H
#define EXAMPLES_BLK_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct blk_store {
    int fd; /* -1 for the null store */
    bool read_only;
    bool block_device;
    bool writeback; /* false: every write is made durable before completing */
    uint64_t size;  /* bytes, a multiple of 512 */
};

/* 0, or -errno with a message printed. */
int blk_store_open(struct blk_store *st, const char *path, bool read_only);
void blk_store_open_null(struct blk_store *st, uint64_t size, bool read_only);
void blk_store_close(struct blk_store *st);

/* Whole transfers or -errno.  The iovec array may be modified. */
int blk_store_read(struct blk_store *st, struct iovec *iov, unsigned int cnt,
                   uint64_t offset);
int blk_store_write(struct blk_store *st, struct iovec *iov, unsigned int cnt,
                    uint64_t offset);
int blk_store_flush(struct blk_store *st);
int blk_store_discard(struct blk_store *st, uint64_t offset, uint64_t len);
int blk_store_write_zeroes(struct blk_store *st, uint64_t offset, uint64_t len,
                           bool may_unmap);

#endif /* EXAMPLES_BLK_STORE_H */
