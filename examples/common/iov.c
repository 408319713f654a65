/*
 * iov.c: iovec copy helpers.
 */
#include "iov.h"

#include <stdint.h>
#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned int cnt)
{
    size_t total = 0;
    unsigned int i;

    for (i = 0; i < cnt; i++) {
        if (__builtin_add_overflow(total, iov[i].iov_len, &total)) {
            return SIZE_MAX;
        }
    }
    return total;
}

/* Index of the entry holding byte *offset; *offset becomes local to it. */
static unsigned int iov_seek(const struct iovec *iov, unsigned int cnt,
                             size_t *offset)
{
    unsigned int i = 0;

    while (i < cnt && *offset >= iov[i].iov_len) {
        *offset -= iov[i].iov_len;
        i++;
    }
    return i;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                  void *buf, size_t len)
{
    unsigned int i = iov_seek(iov, cnt, &offset);
    size_t done = 0, n;

    for (; i < cnt && done < len; i++, offset = 0) {
        n = iov[i].iov_len - offset;
        n = n < len - done ? n : len - done;
        memcpy((char *)buf + done, (char *)iov[i].iov_base + offset, n);
        done += n;
    }
    return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned int cnt, size_t offset,
                    const void *buf, size_t len)
{
    unsigned int i = iov_seek(iov, cnt, &offset);
    size_t done = 0, n;

    for (; i < cnt && done < len; i++, offset = 0) {
        n = iov[i].iov_len - offset;
        n = n < len - done ? n : len - done;
        memcpy((char *)iov[i].iov_base + offset, (const char *)buf + done, n);
        done += n;
    }
    return done;
}

int iov_slice(const struct iovec *src, unsigned int cnt, size_t offset,
              size_t len, struct iovec *dst, unsigned int dst_max)
{
    unsigned int i = iov_seek(src, cnt, &offset);
    unsigned int n = 0;
    size_t chunk;

    while (len > 0) {
        if (i >= cnt || n >= dst_max) {
            return -1;
        }
        chunk = src[i].iov_len - offset;
        chunk = chunk < len ? chunk : len;
        if (chunk > 0) {
            dst[n].iov_base = (char *)src[i].iov_base + offset;
            dst[n].iov_len = chunk;
            n++;
        }
        len -= chunk;
        offset = 0;
        i++;
    }
    return (int)n;
}

size_t iov_copy(const struct iovec *dst, unsigned int dst_cnt, size_t dst_off,
                const struct iovec *src, unsigned int src_cnt, size_t src_off,
                size_t len)
{
    unsigned int d = iov_seek(dst, dst_cnt, &dst_off);
    unsigned int s = iov_seek(src, src_cnt, &src_off);
    size_t done = 0, n;

    while (done < len && d < dst_cnt && s < src_cnt) {
        n = dst[d].iov_len - dst_off;
        n = n < src[s].iov_len - src_off ? n : src[s].iov_len - src_off;
        n = n < len - done ? n : len - done;
        memcpy((char *)dst[d].iov_base + dst_off,
               (const char *)src[s].iov_base + src_off, n);
        done += n;
        dst_off += n;
        src_off += n;
        if (dst_off == dst[d].iov_len) {
            d++;
            dst_off = 0;
        }
        if (src_off == src[s].iov_len) {
            s++;
            src_off = 0;
        }
    }
    return done;
}

void iov_advance(struct iovec **iov, unsigned int *cnt, size_t n)
{
    while (*cnt > 0 && n >= (*iov)->iov_len) {
        n -= (*iov)->iov_len;
        (*iov)++;
        (*cnt)--;
    }
    if (*cnt > 0 && n > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + n;
        (*iov)->iov_len -= n;
    }
}
