/*
 * Unit tests of vhost-user-blk request processing: every guest-controlled
 * field is checked and a bad request completes with an error status.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk-config.h"
#include "blk-request.h"
#include "test_util.h"

#define SECTORS 2049u /* 1 MiB + 512: the end is not 4 KiB aligned */
#define DISK_SIZE ((uint64_t)SECTORS * 512)
#define ID "disk-serial-0123456789" /* longer than 20 bytes */

static char image_path[] = "/tmp/test-blk-request-XXXXXX";
static struct blk_store store;

struct req {
    VuVirtqElement elem;
    struct iovec out[1100];
    struct iovec in[1100];
    struct virtio_blk_outhdr hdr;
    uint8_t status;
};

static void req_init(struct req *r, uint32_t type, uint64_t sector)
{
    memset(r, 0, sizeof(*r));
    r->hdr.type = htole32(type);
    r->hdr.sector = htole64(sector);
    r->elem.out_sg = r->out;
    r->elem.in_sg = r->in;
    r->out[r->elem.out_num++] = (struct iovec){ &r->hdr, sizeof(r->hdr) };
    r->status = 0xee;
}

static void req_out(struct req *r, void *buf, size_t len)
{
    r->out[r->elem.out_num++] = (struct iovec){ buf, len };
}

static void req_in(struct req *r, void *buf, size_t len)
{
    r->in[r->elem.in_num++] = (struct iovec){ buf, len };
}

static void req_status(struct req *r)
{
    req_in(r, &r->status, 1);
}

static uint32_t run(struct req *r)
{
    return blk_request_process(&store, ID, &r->elem);
}

static void fill_pattern(uint8_t *buf, size_t len, uint8_t seed)
{
    size_t i;

    for (i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
}

static void write_disk(uint64_t offset, const void *buf, size_t len)
{
    EXPECT_EQ(pwrite(store.fd, buf, len, (off_t)offset), len);
}

static void read_disk(uint64_t offset, void *buf, size_t len)
{
    EXPECT_EQ(pread(store.fd, buf, len, (off_t)offset), len);
}

static bool disk_is_zero(uint64_t offset, size_t len)
{
    uint8_t buf[8192];
    size_t i;

    EXPECT_LE(len, sizeof(buf));
    read_disk(offset, buf, len);
    for (i = 0; i < len; i++) {
        if (buf[i]) {
            return false;
        }
    }
    return true;
}

static void reset_disk(void)
{
    static uint8_t pattern[DISK_SIZE];

    fill_pattern(pattern, sizeof(pattern), 1);
    write_disk(0, pattern, sizeof(pattern));
    store.read_only = false;
}

/* ---- reads and writes -------------------------------------------------- */

static void test_read_two_segments(void)
{
    uint8_t a[512], b[512], expect[1024];
    struct req r;

    reset_disk();
    req_init(&r, VIRTIO_BLK_T_IN, 2);
    req_in(&r, a, sizeof(a));
    req_in(&r, b, sizeof(b));
    req_status(&r);
    EXPECT_EQ(run(&r), 1025);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
    read_disk(1024, expect, sizeof(expect));
    EXPECT_EQ(memcmp(a, expect, 512), 0);
    EXPECT_EQ(memcmp(b, expect + 512, 512), 0);
}

/* The status byte may share a buffer with the data. */
static void test_read_status_in_data_buffer(void)
{
    uint8_t buf[513], expect[512];
    struct req r;

    reset_disk();
    req_init(&r, VIRTIO_BLK_T_IN, 0);
    req_in(&r, buf, sizeof(buf));
    EXPECT_EQ(run(&r), 513);
    EXPECT_EQ(buf[512], VIRTIO_BLK_S_OK);
    read_disk(0, expect, sizeof(expect));
    EXPECT_EQ(memcmp(buf, expect, 512), 0);
}

static void test_write(void)
{
    uint8_t data[1536], back[1536];
    struct req r;

    reset_disk();
    fill_pattern(data, sizeof(data), 99);
    req_init(&r, VIRTIO_BLK_T_OUT, 5);
    req_out(&r, data, 1000);
    req_out(&r, data + 1000, sizeof(data) - 1000);
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
    read_disk(5 * 512, back, sizeof(back));
    EXPECT_EQ(memcmp(data, back, sizeof(data)), 0);
}

/* Header and data in one buffer, header split over two buffers. */
static void test_header_layouts(void)
{
    uint8_t buf[16 + 512], back[512];
    struct virtio_blk_outhdr hdr = { htole32(VIRTIO_BLK_T_OUT), 0, htole64(7) };
    struct req r;

    reset_disk();
    memcpy(buf, &hdr, sizeof(hdr));
    memset(buf + 16, 0x5a, 512);
    req_init(&r, 0, 0);
    r.out[0] = (struct iovec){ buf, 8 };
    req_out(&r, buf + 8, sizeof(buf) - 8);
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
    read_disk(7 * 512, back, sizeof(back));
    EXPECT_EQ(back[0], 0x5a);
    EXPECT_EQ(back[511], 0x5a);
}

/* Writes with the cache in write-through mode (wce = 0) still complete. */
static void test_write_through(void)
{
    uint8_t data[512] = { 1, 2, 3 };
    struct req r;

    reset_disk();
    store.writeback = false;
    req_init(&r, VIRTIO_BLK_T_OUT, 0);
    req_out(&r, data, sizeof(data));
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
    store.writeback = true;
}

/* ---- malformed requests ------------------------------------------------ */

static void test_short_header(void)
{
    struct req r;

    req_init(&r, VIRTIO_BLK_T_IN, 0);
    r.out[0].iov_len = 15;
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_IOERR);
}

static void test_no_header(void)
{
    struct req r;

    req_init(&r, VIRTIO_BLK_T_IN, 0);
    r.elem.out_num = 0;
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_IOERR);
}

/* Without a writable byte nothing can be reported: used length 0. */
static void test_no_status_byte(void)
{
    uint8_t empty[1];
    struct req r;

    req_init(&r, VIRTIO_BLK_T_FLUSH, 0);
    EXPECT_EQ(run(&r), 0);
    req_in(&r, empty, 0);
    EXPECT_EQ(run(&r), 0);
}

static uint8_t read_status(uint64_t sector, size_t len)
{
    static uint8_t buf[4096];
    struct req r;

    req_init(&r, VIRTIO_BLK_T_IN, sector);
    req_in(&r, buf, len);
    req_status(&r);
    run(&r);
    return r.status;
}

static uint8_t write_status(uint64_t sector, size_t len)
{
    static uint8_t buf[4096];
    struct req r;

    req_init(&r, VIRTIO_BLK_T_OUT, sector);
    req_out(&r, buf, len);
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    return r.status;
}

static void test_sector_range(void)
{
    reset_disk();
    EXPECT_EQ(read_status(SECTORS - 1, 512), VIRTIO_BLK_S_OK);
    EXPECT_EQ(read_status(SECTORS - 1, 1024), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(read_status(SECTORS, 512), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(read_status(SECTORS, 0), VIRTIO_BLK_S_OK); /* empty, at end */
    EXPECT_EQ(read_status(SECTORS + 1, 0), VIRTIO_BLK_S_IOERR);
    /* sector * 512 and sector + count would wrap around 64 bits */
    EXPECT_EQ(read_status(UINT64_MAX, 512), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(read_status(UINT64_MAX / 512 + 1, 512), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(write_status(UINT64_MAX - 1, 1024), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(write_status(SECTORS, 512), VIRTIO_BLK_S_IOERR);
}

static void test_unaligned_length(void)
{
    EXPECT_EQ(read_status(0, 100), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(write_status(0, 513), VIRTIO_BLK_S_IOERR);
}

static void test_too_many_segments(void)
{
    static uint8_t buf[BLK_MAX_IOV + 1];
    struct req r;
    unsigned int i;

    req_init(&r, VIRTIO_BLK_T_IN, 0);
    for (i = 0; i < BLK_MAX_IOV + 1; i++) {
        req_in(&r, buf + i, 1); /* 1025 one-byte segments */
    }
    r.in[0].iov_len = 512 - BLK_MAX_IOV; /* data: 512 bytes, 1025 pieces */
    req_status(&r);
    run(&r);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_IOERR);
}

static void test_unknown_type(void)
{
    struct req r;

    req_init(&r, 99, 0);
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_UNSUPP);
}

static void test_read_only(void)
{
    uint8_t before[512], after[512];

    reset_disk();
    store.read_only = true;
    read_disk(0, before, sizeof(before));
    EXPECT_EQ(write_status(0, 512), VIRTIO_BLK_S_IOERR);
    read_disk(0, after, sizeof(after));
    EXPECT_EQ(memcmp(before, after, sizeof(before)), 0);
    EXPECT_EQ(read_status(0, 512), VIRTIO_BLK_S_OK);
    store.read_only = false;
}

/* ---- flush and get-id -------------------------------------------------- */

static void test_flush(void)
{
    struct req r;

    req_init(&r, VIRTIO_BLK_T_FLUSH, 0);
    req_status(&r);
    EXPECT_EQ(run(&r), 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
}

static void test_get_id(void)
{
    uint8_t id[VIRTIO_BLK_ID_BYTES + 4], small[8];
    struct req r;

    memset(id, 0xcc, sizeof(id));
    req_init(&r, VIRTIO_BLK_T_GET_ID, 0);
    req_in(&r, id, sizeof(id));
    req_status(&r);
    EXPECT_EQ(run(&r), VIRTIO_BLK_ID_BYTES + 1);
    EXPECT_EQ(r.status, VIRTIO_BLK_S_OK);
    EXPECT_EQ(memcmp(id, ID, VIRTIO_BLK_ID_BYTES), 0);
    EXPECT_EQ(id[VIRTIO_BLK_ID_BYTES], 0xcc); /* no byte past the 20 */

    req_init(&r, VIRTIO_BLK_T_GET_ID, 0);
    req_in(&r, small, sizeof(small));
    req_status(&r);
    EXPECT_EQ(run(&r), sizeof(small) + 1);
    EXPECT_EQ(memcmp(small, ID, sizeof(small)), 0);
}

/* ---- discard and write zeroes ------------------------------------------ */

struct range_req {
    struct req r;
    struct virtio_blk_discard_write_zeroes seg[BLK_MAX_DWZ_SEG + 1];
};

static void range_init(struct range_req *q, uint32_t type)
{
    req_init(&q->r, type, 0);
}

static void range_add(struct range_req *q, uint64_t sector, uint32_t num,
                      uint32_t flags)
{
    struct virtio_blk_discard_write_zeroes *s = &q->seg[q->r.elem.out_num - 1];

    s->sector = htole64(sector);
    s->num_sectors = htole32(num);
    s->flags = htole32(flags);
    req_out(&q->r, s, sizeof(*s));
}

static uint8_t range_run(struct range_req *q)
{
    req_status(&q->r);
    EXPECT_EQ(run(&q->r), 1);
    return q->r.status;
}

static uint8_t one_range(uint32_t type, uint64_t sector, uint32_t num,
                         uint32_t flags)
{
    struct range_req q;

    range_init(&q, type);
    range_add(&q, sector, num, flags);
    return range_run(&q);
}

static void test_discard(void)
{
    reset_disk();
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 8, 16, 0), VIRTIO_BLK_S_OK);
    EXPECT_TRUE(disk_is_zero(8 * 512, 16 * 512)); /* a punched hole */
    EXPECT_FALSE(disk_is_zero(24 * 512, 512));
}

static void test_discard_flags(void)
{
    /* The unmap flag is for write zeroes only; other bits are reserved. */
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 0, 8, 1), VIRTIO_BLK_S_UNSUPP);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 0, 8, 4), VIRTIO_BLK_S_UNSUPP);
}

static void test_discard_alignment(void)
{
    reset_disk();
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 1, 8, 0), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 0, 3, 0), VIRTIO_BLK_S_IOERR);
    EXPECT_FALSE(disk_is_zero(0, 4096));
    /* Up to the (unaligned) end of the disk is fine; the start must still
     * be aligned. */
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, SECTORS - 10, 10, 0),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 2032, 9, 0),
              VIRTIO_BLK_S_IOERR); /* unaligned end before the disk end */
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 2040, SECTORS - 2040, 0),
              VIRTIO_BLK_S_OK);
}

static void test_range_limits(void)
{
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 2048, 8, 0), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_WRITE_ZEROES, SECTORS, 1, 0),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX - 1, 4, 0),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(
        one_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, BLK_MAX_DWZ_SECTORS + 1, 0),
        VIRTIO_BLK_S_IOERR);
}

static void test_range_segment_count(void)
{
    struct range_req q;
    unsigned int i;

    range_init(&q, VIRTIO_BLK_T_DISCARD);
    for (i = 0; i < BLK_MAX_DWZ_SEG + 1; i++) {
        range_add(&q, 8 * i, 8, 0);
    }
    EXPECT_EQ(range_run(&q), VIRTIO_BLK_S_UNSUPP);

    range_init(&q, VIRTIO_BLK_T_DISCARD); /* no range at all */
    EXPECT_EQ(range_run(&q), VIRTIO_BLK_S_IOERR);

    range_init(&q, VIRTIO_BLK_T_DISCARD); /* 15 bytes: not a whole range */
    range_add(&q, 0, 8, 0);
    q.r.out[1].iov_len = 15;
    EXPECT_EQ(range_run(&q), VIRTIO_BLK_S_IOERR);
}

/* A bad range anywhere fails the request before any range is applied. */
static void test_ranges_all_or_nothing(void)
{
    struct range_req q;

    reset_disk();
    range_init(&q, VIRTIO_BLK_T_WRITE_ZEROES);
    range_add(&q, 0, 8, 0);
    range_add(&q, SECTORS, 8, 0);
    EXPECT_EQ(range_run(&q), VIRTIO_BLK_S_IOERR);
    EXPECT_FALSE(disk_is_zero(0, 4096));

    range_init(&q, VIRTIO_BLK_T_WRITE_ZEROES);
    range_add(&q, 0, 8, 0);
    range_add(&q, 100, 3, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
    EXPECT_EQ(range_run(&q), VIRTIO_BLK_S_OK);
    EXPECT_TRUE(disk_is_zero(0, 4096));
    EXPECT_TRUE(disk_is_zero(100 * 512, 3 * 512));
    EXPECT_FALSE(disk_is_zero(103 * 512, 512));
}

static void test_write_zeroes_flags(void)
{
    EXPECT_EQ(one_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2),
              VIRTIO_BLK_S_UNSUPP);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_WRITE_ZEROES, 1, 1,
                        VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
              VIRTIO_BLK_S_OK); /* no alignment rule for write zeroes */
}

static void test_ranges_read_only(void)
{
    store.read_only = true;
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0),
              VIRTIO_BLK_S_IOERR);
    store.read_only = false;
}

/* ---- the null store ---------------------------------------------------- */

static void test_null_store(void)
{
    struct blk_store saved = store;
    blk_store_open_null(&store, 4096 + 100, false); /* rounds down */
    EXPECT_EQ(store.size, 4096);
    EXPECT_EQ(read_status(0, 1024), VIRTIO_BLK_S_OK);
    EXPECT_EQ(read_status(7, 1024), VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(write_status(7, 512), VIRTIO_BLK_S_OK);
    EXPECT_EQ(one_range(VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_OK);
    store = saved;
}

int main(void)
{
    int fd = mkstemp(image_path);

    EXPECT_TRUE(fd >= 0);
    EXPECT_EQ(ftruncate(fd, (off_t)DISK_SIZE + 100), 0); /* partial sector */
    close(fd);
    EXPECT_EQ(blk_store_open(&store, image_path, false), 0);
    unlink(image_path);
    EXPECT_EQ(store.size, DISK_SIZE);

    test_read_two_segments();
    test_read_status_in_data_buffer();
    test_write();
    test_header_layouts();
    test_write_through();
    test_short_header();
    test_no_header();
    test_no_status_byte();
    test_sector_range();
    test_unaligned_length();
    test_too_many_segments();
    test_unknown_type();
    test_read_only();
    test_flush();
    test_get_id();
    test_discard();
    test_discard_flags();
    test_discard_alignment();
    test_range_limits();
    test_range_segment_count();
    test_ranges_all_or_nothing();
    test_write_zeroes_flags();
    test_ranges_read_only();
    test_null_store();
    blk_store_close(&store);
    printf("test-blk-request: all passed\n");
    return 0;
}
