/*
 * blk-config.c: features and configuration space of vhost-user-blk.
 */
#include "blk-config.h"

#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <string.h>

#include "libvhost-user.h"

#define BIT(n) (1ULL << (n))

uint64_t blk_features(const struct blk_store *st)
{
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SIZE_MAX) |
                 BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
                 BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_CONFIG_WCE) |
                 BIT(VIRTIO_BLK_F_MQ) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
                 BIT(VIRTIO_RING_F_EVENT_IDX);

    /* A read-only disk has nothing to discard or zero. */
    if (st->read_only) {
        f |= BIT(VIRTIO_BLK_F_RO);
    } else {
        f |= BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    }
    return f;
}

uint64_t blk_protocol_features(void)
{
    return BIT(VHOST_USER_PROTOCOL_F_CONFIG) |
           BIT(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
           BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
           BIT(VHOST_USER_PROTOCOL_F_MQ) |
           BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
}

void blk_config_build(struct virtio_blk_config *cfg, const struct blk_store *st,
                      uint16_t num_queues)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->capacity = htole64(st->size / 512);
    cfg->size_max = htole32(BLK_SIZE_MAX);
    cfg->seg_max = htole32(BLK_SEG_MAX);
    cfg->blk_size = htole32(512);
    cfg->wce = st->writeback ? 1 : 0;
    cfg->num_queues = htole16(num_queues);
    cfg->max_discard_sectors = htole32(BLK_MAX_DWZ_SECTORS);
    cfg->max_discard_seg = htole32(BLK_MAX_DWZ_SEG);
    cfg->discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
    cfg->max_write_zeroes_sectors = htole32(BLK_MAX_DWZ_SECTORS);
    cfg->max_write_zeroes_seg = htole32(BLK_MAX_DWZ_SEG);
    cfg->write_zeroes_may_unmap = 1;
}

int blk_config_read(const struct virtio_blk_config *cfg, uint8_t *out,
                    uint32_t len)
{
    uint32_t n = len < sizeof(*cfg) ? len : (uint32_t)sizeof(*cfg);

    memcpy(out, cfg, n);
    memset(out + n, 0, len - n);
    return 0;
}

int blk_config_write(struct virtio_blk_config *cfg, struct blk_store *st,
                     const uint8_t *data, uint32_t offset, uint32_t size)
{
    if (offset != offsetof(struct virtio_blk_config, wce) || size != 1 ||
        data[0] > 1) {
        return -1;
    }
    /* Going write-through: what is cached now must be durable too. */
    if (st->writeback && data[0] == 0 && blk_store_flush(st) < 0) {
        return -1;
    }
    cfg->wce = data[0];
    st->writeback = data[0] == 1;
    return 0;
}
