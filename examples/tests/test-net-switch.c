/*
 * Unit tests of the switch logic: MAC learning, forwarding sets, the RARP
 * frame, header sizes, features and config space.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <string.h>

#include "libvhost-user.h"
#include "net-config.h"
#include "net-rarp.h"
#include "net-switch.h"
#include "test_util.h"

static struct mac_table table;

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t mac_c[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

#define PORTS(...) (ports_mask((const int[]){ __VA_ARGS__, -1 }))

static uint64_t ports_mask(const int *p)
{
    uint64_t m = 0;

    for (; *p >= 0; p++) {
        m |= 1ULL << *p;
    }
    return m;
}

static void test_learn_and_lookup(void)
{
    mac_table_init(&table);
    EXPECT_EQ(mac_table_lookup(&table, mac_a), -1);
    mac_table_learn(&table, mac_a, 3);
    EXPECT_EQ(mac_table_lookup(&table, mac_a), 3);
    mac_table_learn(&table, mac_a, 5); /* the station moved */
    EXPECT_EQ(mac_table_lookup(&table, mac_a), 5);
    mac_table_learn(&table, bcast, 1); /* group addresses are not learned */
    mac_table_learn(&table, mcast, 1);
    EXPECT_EQ(mac_table_lookup(&table, bcast), -1);
    EXPECT_EQ(mac_table_lookup(&table, mcast), -1);
}

static void test_forget_port(void)
{
    mac_table_init(&table);
    mac_table_learn(&table, mac_a, 1);
    mac_table_learn(&table, mac_b, 2);
    mac_table_forget_port(&table, 1);
    EXPECT_EQ(mac_table_lookup(&table, mac_a), -1);
    EXPECT_EQ(mac_table_lookup(&table, mac_b), 2);
}

/* Many more stations than slots: every lookup is right or unknown. */
static void test_table_overflow(void)
{
    uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
    unsigned int i, found = 0;
    int port;

    mac_table_init(&table);
    for (i = 0; i < 3 * MAC_TABLE_SIZE; i++) {
        memcpy(mac + 2, &i, sizeof(i));
        mac_table_learn(&table, mac, i % 64);
    }
    for (i = 0; i < 3 * MAC_TABLE_SIZE; i++) {
        memcpy(mac + 2, &i, sizeof(i));
        port = mac_table_lookup(&table, mac);
        if (port >= 0) {
            EXPECT_EQ(port, i % 64);
            found++;
        }
    }
    EXPECT_LE(found, MAC_TABLE_SIZE);
    EXPECT_LT(MAC_TABLE_SIZE / 2, found); /* the table is well used */
}

static void test_route(void)
{
    uint64_t up = PORTS(0, 1, 2);

    mac_table_init(&table);
    /* Unknown destination: flood to all up ports but the source. */
    EXPECT_EQ(net_switch_route(&table, up, 0, mac_b, mac_a), PORTS(1, 2));
    /* The source was learned: replies go straight back. */
    EXPECT_EQ(net_switch_route(&table, up, 1, mac_a, mac_b), PORTS(0));
    EXPECT_EQ(net_switch_route(&table, up, 2, mac_b, mac_c), PORTS(1));
    /* Group destinations always flood. */
    EXPECT_EQ(net_switch_route(&table, up, 2, bcast, mac_c), PORTS(0, 1));
    EXPECT_EQ(net_switch_route(&table, up, 0, mcast, mac_a), PORTS(1, 2));
    /* Never back to the source, even if the table says so. */
    EXPECT_EQ(net_switch_route(&table, up, 0, mac_a, mac_a), 0);
    /* A known destination whose port is down gets nothing. */
    EXPECT_EQ(net_switch_route(&table, PORTS(0, 2), 2, mac_b, mac_c), 0);
    /* Ports that are down are not flooded. */
    EXPECT_EQ(net_switch_route(&table, PORTS(0, 2), 2, bcast, mac_c), PORTS(0));
    /* A group source address is not learned. */
    EXPECT_EQ(net_switch_route(&table, up, 1, mac_c, bcast), PORTS(2));
    EXPECT_EQ(mac_table_lookup(&table, bcast), -1);
    /* The highest port number works as a bit. */
    EXPECT_EQ(net_switch_route(&table, PORTS(0, 63), 63, bcast, mac_a),
              PORTS(0));
}

static void test_rarp_frame(void)
{
    static const uint8_t expect[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* broadcast */
        0x52, 0x54, 0,    0,    0,    0xa,  /* from the guest's MAC */
        0x80, 0x35,                         /* RARP */
        0x00, 0x01, 0x08, 0x00, 6,    4,    /* Ethernet, IPv4, 6, 4 */
        0x00, 0x03,                         /* reverse request */
        0x52, 0x54, 0,    0,    0,    0xa,  0, 0, 0, 0,
        0x52, 0x54, 0,    0,    0,    0xa,  0, 0, 0, 0,
    };
    uint8_t frame[RARP_FRAME_LEN];
    unsigned int i;

    memset(frame, 0xcc, sizeof(frame));
    EXPECT_EQ(net_rarp_build(frame, mac_a), 60);
    EXPECT_EQ(memcmp(frame, expect, sizeof(expect)), 0);
    for (i = sizeof(expect); i < sizeof(frame); i++) {
        EXPECT_EQ(frame[i], 0); /* padding */
    }
}

static void test_header_len(void)
{
    EXPECT_EQ(net_header_len(0), 10);
    EXPECT_EQ(net_header_len(1ULL << VIRTIO_NET_F_MRG_RXBUF), 12);
    EXPECT_EQ(net_header_len(1ULL << VIRTIO_F_VERSION_1), 12);
}

static void test_features(void)
{
    uint64_t f = net_features(1);

    EXPECT_TRUE(f & (1ULL << VIRTIO_F_VERSION_1));
    EXPECT_TRUE(f & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
    EXPECT_TRUE(f & (1ULL << VIRTIO_NET_F_STATUS));
    EXPECT_TRUE(f & (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE));
    EXPECT_FALSE(f & (1ULL << VIRTIO_NET_F_CTRL_VQ));
    EXPECT_FALSE(f & (1ULL << VIRTIO_NET_F_MQ));
    EXPECT_TRUE(net_features(2) & (1ULL << VIRTIO_NET_F_MQ));
    EXPECT_TRUE(net_protocol_features() & (1ULL << VHOST_USER_PROTOCOL_F_RARP));
    EXPECT_TRUE(net_protocol_features() & (1ULL << VHOST_USER_PROTOCOL_F_MQ));
    EXPECT_TRUE(net_protocol_features() &
                (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK));
}

static void test_config(void)
{
    struct virtio_net_config cfg;
    uint8_t out[64];

    net_config_build(&cfg, 2, 4);
    EXPECT_EQ(cfg.mac[0], 0x02); /* locally administered unicast */
    EXPECT_EQ(cfg.mac[5], 3);
    EXPECT_EQ(le16toh(cfg.status), VIRTIO_NET_S_LINK_UP);
    EXPECT_EQ(le16toh(cfg.max_virtqueue_pairs), 4);
    /* GET_CONFIG honours len both ways. */
    memset(out, 0xcc, sizeof(out));
    EXPECT_EQ(net_config_read(&cfg, out, 8), 0);
    EXPECT_EQ(memcmp(out, &cfg, 8), 0);
    EXPECT_EQ(out[8], 0xcc);
    EXPECT_EQ(net_config_read(&cfg, out, sizeof(out)), 0);
    EXPECT_EQ(memcmp(out, &cfg, sizeof(cfg)), 0);
    EXPECT_EQ(out[sizeof(out) - 1], 0);
}

int main(void)
{
    test_learn_and_lookup();
    test_forget_port();
    test_table_overflow();
    test_route();
    test_rarp_frame();
    test_header_len();
    test_features();
    test_config();
    printf("test-net-switch: all passed\n");
    return 0;
}
