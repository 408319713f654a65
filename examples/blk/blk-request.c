/*
 * blk-request.c: virtio-blk request parsing and execution.
 */
#include "blk-request.h"

#include <endian.h>

#include "blk-config.h"
#include "iov.h"

#define SECTOR 512u

struct blk_req {
    struct blk_store *st;
    const VuVirtqElement *elem;
    uint64_t sector;
    size_t out_len; /* driver-to-device bytes, header included */
    size_t data_in; /* device-to-driver bytes before the status byte */
    size_t written; /* bytes we stored into the guest's data buffers */
};

/* [sector, sector + bytes/512) inside the disk, with no overflow. */
static bool range_ok(const struct blk_store *st, uint64_t sector,
                     uint64_t bytes)
{
    uint64_t capacity = st->size / SECTOR;

    return bytes % SECTOR == 0 && sector <= capacity &&
           bytes / SECTOR <= capacity - sector;
}

static uint8_t do_read(struct blk_req *r)
{
    struct iovec data[BLK_MAX_IOV];
    int n;

    /* The used length is 32 bits wide and counts the status byte too. */
    if (r->data_in >= UINT32_MAX || !range_ok(r->st, r->sector, r->data_in)) {
        return VIRTIO_BLK_S_IOERR;
    }
    n = iov_slice(r->elem->in_sg, r->elem->in_num, 0, r->data_in, data,
                  BLK_MAX_IOV);
    if (n < 0 ||
        blk_store_read(r->st, data, (unsigned int)n, r->sector * SECTOR) < 0) {
        return VIRTIO_BLK_S_IOERR;
    }
    r->written = r->data_in;
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_write(struct blk_req *r)
{
    size_t len = r->out_len - sizeof(struct virtio_blk_outhdr);
    struct iovec data[BLK_MAX_IOV];
    int n;

    if (r->st->read_only || !range_ok(r->st, r->sector, len)) {
        return VIRTIO_BLK_S_IOERR;
    }
    n = iov_slice(r->elem->out_sg, r->elem->out_num,
                  sizeof(struct virtio_blk_outhdr), len, data, BLK_MAX_IOV);
    if (n < 0 ||
        blk_store_write(r->st, data, (unsigned int)n, r->sector * SECTOR) < 0) {
        return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct blk_req *r, const char *id)
{
    size_t n =
        r->data_in < VIRTIO_BLK_ID_BYTES ? r->data_in : VIRTIO_BLK_ID_BYTES;

    r->written = iov_from_buf(r->elem->in_sg, r->elem->in_num, 0, id, n);
    return VIRTIO_BLK_S_OK;
}

static uint8_t check_range_flags(uint32_t type, uint32_t flags)
{
    uint32_t allowed = type == VIRTIO_BLK_T_WRITE_ZEROES
                           ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP
                           : 0; /* discard: the unmap bit is reserved */

    return flags & ~allowed ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_OK;
}

static bool discard_aligned(const struct blk_store *st, uint64_t sector,
                            uint32_t num)
{
    /* The end may be the unaligned end of the disk. */
    bool end_ok =
        num % BLK_DISCARD_ALIGN == 0 || sector + num == st->size / SECTOR;

    return sector % BLK_DISCARD_ALIGN == 0 && end_ok;
}

static uint8_t check_range(const struct blk_req *r, uint32_t type,
                           const struct virtio_blk_discard_write_zeroes *seg)
{
    uint64_t sector = le64toh(seg->sector);
    uint32_t num = le32toh(seg->num_sectors);
    uint8_t status = check_range_flags(type, le32toh(seg->flags));

    if (status != VIRTIO_BLK_S_OK) {
        return status;
    }
    if (num > BLK_MAX_DWZ_SECTORS ||
        !range_ok(r->st, sector, (uint64_t)num * SECTOR)) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (type == VIRTIO_BLK_T_DISCARD && !discard_aligned(r->st, sector, num)) {
        return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

static int apply_range(struct blk_req *r, uint32_t type,
                       const struct virtio_blk_discard_write_zeroes *seg)
{
    uint64_t offset = le64toh(seg->sector) * SECTOR;
    uint64_t len = (uint64_t)le32toh(seg->num_sectors) * SECTOR;
    bool unmap = le32toh(seg->flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

    if (type == VIRTIO_BLK_T_DISCARD) {
        return blk_store_discard(r->st, offset, len);
    }
    return blk_store_write_zeroes(r->st, offset, len, unmap);
}

/* Discard and write-zeroes carry an array of ranges instead of data. */
static uint8_t do_ranges(struct blk_req *r, uint32_t type)
{
    struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG];
    size_t len = r->out_len - sizeof(struct virtio_blk_outhdr);
    size_t i, nseg = len / sizeof(seg[0]);
    uint8_t status;

    if (r->st->read_only || len == 0 || len % sizeof(seg[0])) {
        return VIRTIO_BLK_S_IOERR;
    }
    if (nseg > BLK_MAX_DWZ_SEG) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    iov_to_buf(r->elem->out_sg, r->elem->out_num,
               sizeof(struct virtio_blk_outhdr), seg, len);
    /* Check every range before touching any: all or nothing. */
    for (i = 0; i < nseg; i++) {
        status = check_range(r, type, &seg[i]);
        if (status != VIRTIO_BLK_S_OK) {
            return status;
        }
    }
    for (i = 0; i < nseg; i++) {
        if (apply_range(r, type, &seg[i]) < 0) {
            return VIRTIO_BLK_S_IOERR;
        }
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t execute(struct blk_req *r, const char *id)
{
    struct virtio_blk_outhdr hdr;

    if (iov_to_buf(r->elem->out_sg, r->elem->out_num, 0, &hdr, sizeof(hdr)) !=
        sizeof(hdr)) {
        return VIRTIO_BLK_S_IOERR;
    }
    r->sector = le64toh(hdr.sector);
    switch (le32toh(hdr.type)) {
    case VIRTIO_BLK_T_IN:
        return do_read(r);
    case VIRTIO_BLK_T_OUT:
        return do_write(r);
    case VIRTIO_BLK_T_FLUSH:
        return blk_store_flush(r->st) < 0 ? VIRTIO_BLK_S_IOERR
                                          : VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID:
        return do_get_id(r, id);
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return do_ranges(r, le32toh(hdr.type));
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

uint32_t blk_request_process(struct blk_store *st,
                             const char id[VIRTIO_BLK_ID_BYTES],
                             const VuVirtqElement *elem)
{
    size_t in_len = iov_size(elem->in_sg, elem->in_num);
    struct blk_req r = { .st = st, .elem = elem };
    uint8_t status;

    if (in_len == 0) {
        return 0; /* no status byte: complete it so the ring moves on */
    }
    r.out_len = iov_size(elem->out_sg, elem->out_num);
    r.data_in = in_len - 1;
    status = execute(&r, id);
    /* The status byte is the last byte the driver made writable. */
    iov_from_buf(elem->in_sg, elem->in_num, r.data_in, &status, 1);
    return (uint32_t)(r.written + 1);
}
