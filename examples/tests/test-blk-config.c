/*
 * Unit tests of the vhost-user-blk features and config space: GET_CONFIG
 * honours len, SET_CONFIG accepts only the wce byte.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

#include "blk-config.h"
#include "libvhost-user.h"
#include "test_util.h"

#define BIT(n) (1ULL << (n))

static void test_features(void)
{
    struct blk_store st;
    uint64_t f;

    blk_store_open_null(&st, 1 << 20, false);
    f = blk_features(&st);
    EXPECT_TRUE(f & BIT(VIRTIO_F_VERSION_1));
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_FLUSH));
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_CONFIG_WCE));
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_DISCARD));
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_MQ));
    EXPECT_TRUE(f & BIT(VIRTIO_RING_F_INDIRECT_DESC));
    EXPECT_TRUE(f & BIT(VIRTIO_RING_F_EVENT_IDX));
    EXPECT_FALSE(f & BIT(VIRTIO_BLK_F_RO));

    st.read_only = true;
    f = blk_features(&st);
    EXPECT_TRUE(f & BIT(VIRTIO_BLK_F_RO));
    EXPECT_FALSE(f & BIT(VIRTIO_BLK_F_DISCARD));
    EXPECT_FALSE(f & BIT(VIRTIO_BLK_F_WRITE_ZEROES));

    f = blk_protocol_features();
    EXPECT_TRUE(f & BIT(VHOST_USER_PROTOCOL_F_CONFIG));
    EXPECT_TRUE(f & BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD));
    EXPECT_TRUE(f & BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));
    EXPECT_TRUE(f & BIT(VHOST_USER_PROTOCOL_F_MQ));
    EXPECT_TRUE(f & BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
}

static void test_config_fields(void)
{
    struct virtio_blk_config cfg;
    struct blk_store st;

    blk_store_open_null(&st, 3ULL << 30, false);
    blk_config_build(&cfg, &st, 4);
    EXPECT_EQ(le64toh(cfg.capacity), (3ULL << 30) / 512);
    EXPECT_EQ(le32toh(cfg.blk_size), 512);
    EXPECT_EQ(le32toh(cfg.seg_max), BLK_SEG_MAX);
    EXPECT_EQ(le32toh(cfg.size_max), BLK_SIZE_MAX);
    EXPECT_EQ(le16toh(cfg.num_queues), 4);
    EXPECT_EQ(cfg.wce, 1);
    EXPECT_EQ(le32toh(cfg.max_discard_sectors), BLK_MAX_DWZ_SECTORS);
    EXPECT_EQ(le32toh(cfg.max_discard_seg), BLK_MAX_DWZ_SEG);
    EXPECT_EQ(le32toh(cfg.discard_sector_alignment), BLK_DISCARD_ALIGN);
    EXPECT_EQ(le32toh(cfg.max_write_zeroes_sectors), BLK_MAX_DWZ_SECTORS);
    EXPECT_EQ(le32toh(cfg.max_write_zeroes_seg), BLK_MAX_DWZ_SEG);
    EXPECT_EQ(cfg.write_zeroes_may_unmap, 1);
}

static void test_get_config_len(void)
{
    struct virtio_blk_config cfg;
    struct blk_store st;
    uint8_t out[256];

    blk_store_open_null(&st, 1 << 20, false);
    blk_config_build(&cfg, &st, 1);
    memset(out, 0xcc, sizeof(out));
    EXPECT_EQ(blk_config_read(&cfg, out, 8), 0); /* capacity only */
    EXPECT_EQ(memcmp(out, &cfg, 8), 0);
    EXPECT_EQ(out[8], 0xcc);
    EXPECT_EQ(blk_config_read(&cfg, out, 60), 0); /* QEMU 7.2's config_len */
    EXPECT_EQ(memcmp(out, &cfg, 60), 0);
    EXPECT_EQ(out[60], 0xcc);
    EXPECT_EQ(blk_config_read(&cfg, out, sizeof(out)), 0);
    EXPECT_EQ(memcmp(out, &cfg, sizeof(cfg)), 0);
    EXPECT_EQ(out[sizeof(cfg)], 0); /* beyond the struct: zeroes */
    EXPECT_EQ(out[sizeof(out) - 1], 0);
    EXPECT_EQ(blk_config_read(&cfg, out, 0), 0);
}

static void test_set_config(void)
{
    const uint32_t wce = offsetof(struct virtio_blk_config, wce);
    struct virtio_blk_config cfg, before;
    struct blk_store st;
    uint8_t zero = 0, one = 1, two = 2, pair[2] = { 0, 0 };

    EXPECT_EQ(wce,
              32); /* after capacity, limits, geometry, blk_size, topology */
    blk_store_open_null(&st, 1 << 20, false);
    blk_config_build(&cfg, &st, 1);
    before = cfg;
    EXPECT_EQ(blk_config_write(&cfg, &st, &zero, wce, 1), 0);
    EXPECT_EQ(cfg.wce, 0);
    EXPECT_FALSE(st.writeback);
    EXPECT_EQ(blk_config_write(&cfg, &st, &one, wce, 1), 0);
    EXPECT_EQ(cfg.wce, 1);
    EXPECT_TRUE(st.writeback);
    /* Anything but the wce byte, or a value other than 0/1, is refused. */
    EXPECT_EQ(blk_config_write(&cfg, &st, &two, wce, 1), -1);
    EXPECT_EQ(blk_config_write(&cfg, &st, pair, wce, 2), -1);
    EXPECT_EQ(blk_config_write(&cfg, &st, &zero, 0, 1), -1);
    EXPECT_EQ(blk_config_write(&cfg, &st, &zero, wce + 1, 1), -1);
    EXPECT_EQ(blk_config_write(&cfg, &st, &zero, wce, 0), -1);
    EXPECT_EQ(blk_config_write(&cfg, &st, &zero, UINT32_MAX, 1), -1);
    EXPECT_EQ(memcmp(&cfg, &before, sizeof(cfg)), 0);
    EXPECT_TRUE(st.writeback);
}

int main(void)
{
    test_features();
    test_config_fields();
    test_get_config_len();
    test_set_config();
    printf("test-blk-config: all passed\n");
    return 0;
}
