/*
 * blk-config.h: what vhost-user-blk offers: feature bits, protocol
 * features and the virtio-blk configuration space.
 */
#ifndef EXAMPLES_BLK_CONFIG_H
#define EXAMPLES_BLK_CONFIG_H

#include <linux/virtio_blk.h>
#include <stdbool.h>
#include <stdint.h>

#include "blk-store.h"

/* Limits advertised in the config space and enforced per request. */
#define BLK_SEG_MAX 126u               /* data segments per request */
#define BLK_SIZE_MAX (1u << 20)        /* bytes per segment */
#define BLK_MAX_DWZ_SECTORS (1u << 22) /* per discard/write-zeroes range */
#define BLK_MAX_DWZ_SEG 16u            /* ranges per discard/write-zeroes */
#define BLK_DISCARD_ALIGN 8u           /* sectors: 4 KiB, a file-system block */
#define BLK_MAX_QUEUES 256u

uint64_t blk_features(const struct blk_store *st);
uint64_t blk_protocol_features(void);

/* Fill the config space (little-endian, as VERSION_1 requires). */
void blk_config_build(struct virtio_blk_config *cfg, const struct blk_store *st,
                      uint16_t num_queues);

/* GET_CONFIG: copy min(len, sizeof(*cfg)) bytes, zero the rest. */
int blk_config_read(const struct virtio_blk_config *cfg, uint8_t *out,
                    uint32_t len);

/* SET_CONFIG: only the one-byte wce field may change.  0 or -1. */
int blk_config_write(struct virtio_blk_config *cfg, struct blk_store *st,
                     const uint8_t *data, uint32_t offset, uint32_t size);

#endif /* EXAMPLES_BLK_CONFIG_H */
