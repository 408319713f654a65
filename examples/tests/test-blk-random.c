/*
 * Randomised requests against vhost-user-blk's request code: headers,
 * types, sectors, lengths, ranges and the way buffers are split into
 * iovecs all come from a seeded PRNG, as a hostile guest would choose
 * them.  Invariants: no crash or out-of-bounds access (run it under
 * ASan/valgrind), the status is one of the three defined values, the used
 * length never exceeds what the guest made writable, and a successful
 * read returns exactly the disk's bytes.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk-config.h"
#include "blk-request.h"
#include "iov.h"
#include "test_util.h"

#define SECTORS 64u
#define ROUNDS 200000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t below(uint64_t n)
{
    return n ? next() % n : 0;
}

static struct blk_store store;
static uint8_t disk[SECTORS * 512];
static uint8_t out_buf[4096], in_buf[8192];
static const char id[VIRTIO_BLK_ID_BYTES] = "random";

/* Mostly plausible values, sometimes anything. */
static uint32_t pick_type(void)
{
    static const uint32_t types[] = {
        VIRTIO_BLK_T_IN,     VIRTIO_BLK_T_OUT,     VIRTIO_BLK_T_FLUSH,
        VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
    };

    return below(8) ? types[below(6)] : (uint32_t)next();
}

static uint64_t pick_sector(void)
{
    switch (below(4)) {
    case 0:
        return next(); /* anything, overflow included */
    case 1:
        return SECTORS - below(4);
    default:
        return below(SECTORS);
    }
}

/* Split len bytes of buf into 1..8 iovecs (empty ones included). */
static unsigned int split(uint8_t *buf, size_t len, struct iovec *iov,
                          unsigned int max)
{
    unsigned int n = 0;
    size_t off = 0, chunk;

    while (off < len && n + 1 < max) {
        chunk = below(4) ? below(len - off + 1) : len - off;
        iov[n++] = (struct iovec){ buf + off, chunk };
        off += chunk;
    }
    if (off < len) {
        iov[n++] = (struct iovec){ buf + off, len - off };
    }
    return n;
}

/* Sector counts of ranges: aligned ones half of the time. */
static uint32_t pick_count(void)
{
    if (below(2)) {
        return (uint32_t)(8 * below(4));
    }
    return below(4) ? (uint32_t)below(24) : (uint32_t)next();
}

static void fill_out(uint32_t type, size_t len)
{
    struct virtio_blk_outhdr hdr = { htole32(type), (uint32_t)next(),
                                     htole64(pick_sector()) };
    struct virtio_blk_discard_write_zeroes seg;
    size_t off;

    for (off = 0; off < len; off++) {
        out_buf[off] = (uint8_t)next();
    }
    memcpy(out_buf, &hdr, len < sizeof(hdr) ? len : sizeof(hdr));
    /* Ranges for discard and write zeroes: mostly well-formed. */
    for (off = 16; off + sizeof(seg) <= len && below(8); off += sizeof(seg)) {
        seg.sector = htole64(below(2) ? pick_sector() : 8 * below(8));
        seg.num_sectors = htole32(pick_count());
        seg.flags = htole32(below(2) ? 0 : (uint32_t)below(3));
        memcpy(out_buf + off, &seg, sizeof(seg));
    }
}

static size_t pick_len(size_t max)
{
    switch (below(4)) {
    case 0:
        return below(max + 1);
    case 1:
        return 16 + 512 * below(4);
    default:
        return 16 + 16 * below(5);
    }
}

static void check_read(const struct iovec *in, unsigned int in_num,
                       size_t in_len)
{
    struct virtio_blk_outhdr hdr;
    uint64_t sector;
    uint8_t data[8192];

    memcpy(&hdr, out_buf, sizeof(hdr));
    sector = le64toh(hdr.sector);
    EXPECT_EQ(iov_to_buf(in, in_num, 0, data, in_len - 1), in_len - 1);
    EXPECT_LE(sector * 512 + (in_len - 1), sizeof(disk));
    EXPECT_EQ(memcmp(data, disk + sector * 512, in_len - 1), 0);
}

/* How often each type succeeded: the test must not be vacuous. */
static unsigned int ok_count[16];

static void one_request(void)
{
    struct iovec out[9], in[9];
    VuVirtqElement elem = { .out_sg = out, .in_sg = in };
    uint32_t type = pick_type(), used;
    size_t out_len = pick_len(sizeof(out_buf)), in_len;
    uint8_t status;

    in_len = below(3) ? 1 + 512 * below(5) : below(sizeof(in_buf) + 1);
    fill_out(type, out_len);
    memset(in_buf, 0xee, in_len);
    elem.out_num = split(out_buf, out_len, out, 9);
    elem.in_num = split(in_buf, in_len, in, 9);
    used = blk_request_process(&store, id, &elem);
    EXPECT_LE(used, in_len);
    if (in_len == 0) {
        EXPECT_EQ(used, 0);
        return;
    }
    EXPECT_TRUE(used >= 1);
    iov_to_buf(in, elem.in_num, in_len - 1, &status, 1);
    EXPECT_LE(status, VIRTIO_BLK_S_UNSUPP);
    if (status == VIRTIO_BLK_S_OK && type < 16) {
        ok_count[type]++;
    }
    if (status == VIRTIO_BLK_S_OK &&
        le32toh(*(uint32_t *)out_buf) == VIRTIO_BLK_T_IN) {
        EXPECT_EQ(used, in_len);
        EXPECT_EQ(pread(store.fd, disk, sizeof(disk), 0), sizeof(disk));
        check_read(in, elem.in_num, in_len);
    }
}

int main(int argc, char **argv)
{
    /* tmpfs: flushes are cheap, and ZERO_RANGE falls back to writes */
    char path[] = "/dev/shm/test-blk-random-XXXXXX";
    int fd = mkstemp(path), i, rounds = argc > 1 ? atoi(argv[1]) : ROUNDS;

    EXPECT_TRUE(fd >= 0);
    for (i = 0; i < (int)sizeof(disk); i++) {
        disk[i] = (uint8_t)(i * 31);
    }
    EXPECT_EQ(write(fd, disk, sizeof(disk)), sizeof(disk));
    close(fd);
    EXPECT_EQ(blk_store_open(&store, path, false), 0);
    unlink(path);
    for (i = 0; i < rounds; i++) {
        store.read_only = below(8) == 0;
        one_request();
    }
    blk_store_close(&store);
    printf("test-blk-random: %d requests; ok: in %u out %u flush %u id %u "
           "discard %u write-zeroes %u\n",
           rounds, ok_count[VIRTIO_BLK_T_IN], ok_count[VIRTIO_BLK_T_OUT],
           ok_count[VIRTIO_BLK_T_FLUSH], ok_count[VIRTIO_BLK_T_GET_ID],
           ok_count[VIRTIO_BLK_T_DISCARD], ok_count[VIRTIO_BLK_T_WRITE_ZEROES]);
    if (rounds >= ROUNDS) {
        EXPECT_LT(1000, ok_count[VIRTIO_BLK_T_IN]);
        EXPECT_LT(1000, ok_count[VIRTIO_BLK_T_OUT]);
        EXPECT_LT(100, ok_count[VIRTIO_BLK_T_DISCARD]);
        EXPECT_LT(100, ok_count[VIRTIO_BLK_T_WRITE_ZEROES]);
    }
    return 0;
}
