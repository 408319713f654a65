/*
 * net-config.c: features and configuration space of vhost-user-net.
 */
#include "net-config.h"

#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <string.h>

#include "libvhost-user.h"

#define BIT(n) (1ULL << (n))

uint64_t net_features(uint16_t queue_pairs)
{
    uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
                 BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE) |
                 BIT(VIRTIO_RING_F_INDIRECT_DESC) |
                 BIT(VIRTIO_RING_F_EVENT_IDX);

    if (queue_pairs > 1) {
        f |= BIT(VIRTIO_NET_F_MQ);
    }
    return f;
}

uint64_t net_protocol_features(void)
{
    return BIT(VHOST_USER_PROTOCOL_F_MQ) |
           BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |
           BIT(VHOST_USER_PROTOCOL_F_RARP) | BIT(VHOST_USER_PROTOCOL_F_CONFIG);
}

size_t net_header_len(uint64_t features)
{
    if (features & (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF))) {
        return sizeof(struct virtio_net_hdr_mrg_rxbuf);
    }
    return sizeof(struct virtio_net_hdr);
}

void net_config_build(struct virtio_net_config *cfg, unsigned int port_index,
                      uint16_t queue_pairs)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mac[0] = 0x02; /* locally administered, unicast */
    cfg->mac[4] = (uint8_t)(port_index >> 8);
    cfg->mac[5] = (uint8_t)(port_index + 1);
    cfg->status = htole16(VIRTIO_NET_S_LINK_UP);
    cfg->max_virtqueue_pairs = htole16(queue_pairs);
}

int net_config_read(const struct virtio_net_config *cfg, uint8_t *out,
                    uint32_t len)
{
    uint32_t n = len < sizeof(*cfg) ? len : (uint32_t)sizeof(*cfg);

    memcpy(out, cfg, n);
    memset(out + n, 0, len - n);
    return 0;
}
