/*
 * iov.h: helpers over guest buffers described by iovec arrays.
 *
 * Buffers popped from a virtqueue can be split anywhere, so headers are
 * always copied out (or in) through these instead of being cast in place.
 */
#ifndef EXAMPLES_IOV_H
#define EXAMPLES_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/* Total bytes, saturating at SIZE_MAX (guest lengths are untrusted). */
size_t iov_size(const struct iovec *iov, unsigned int cnt);

/* Copy up to len bytes starting offset bytes in; returns bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                    const void *buf, size_t len);

/* Describe bytes [offset, offset + len) of src in dst (at most dst_max
 * entries).  Returns the entry count, or -1 if the range does not fit in
 * src or needs more than dst_max entries. */
int iov_slice(const struct iovec *src, unsigned int cnt, size_t offset,
              size_t len, struct iovec *dst, unsigned int dst_max);

/* Copy len bytes from src (starting src_off) to dst (starting dst_off),
 * iovec to iovec without a bounce buffer.  Returns bytes copied. */
size_t iov_copy(const struct iovec *dst, unsigned int dst_cnt, size_t dst_off,
                const struct iovec *src, unsigned int src_cnt, size_t src_off,
                size_t len);

/* Drop the first n bytes of the array (*iov, *cnt) in place (after a short transfer). */
void iov_advance(struct iovec **iov, unsigned int *cnt, size_t n);

#endif /* EXAMPLES_IOV_H */
