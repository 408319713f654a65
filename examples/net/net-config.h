/*
 * net-config.h: what vhost-user-net offers: feature bits, protocol features
 * and the virtio-net configuration space.
 */
#ifndef EXAMPLES_NET_CONFIG_H
#define EXAMPLES_NET_CONFIG_H

#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_PORTS 64 /* a port set is a 64-bit mask */
#define NET_MAX_QUEUE_PAIRS 16

uint64_t net_features(uint16_t queue_pairs);
uint64_t net_protocol_features(void);

/* Bytes of virtio-net header in front of every frame for these features:
 * the 12-byte mrg_rxbuf header with VERSION_1 or MRG_RXBUF, else 10. */
size_t net_header_len(uint64_t features);

/* Config space (little-endian): a locally administered MAC made from
 * port_index, link up, max_virtqueue_pairs. */
void net_config_build(struct virtio_net_config *cfg, unsigned int port_index,
                      uint16_t queue_pairs);

/* GET_CONFIG: copy min(len, sizeof(*cfg)), zero the rest. */
int net_config_read(const struct virtio_net_config *cfg, uint8_t *out,
                    uint32_t len);

#endif /* EXAMPLES_NET_CONFIG_H */
