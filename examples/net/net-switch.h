/*
 * net-switch.h: MAC learning and the forwarding decision of the L2 switch.
 *
 * Pure logic, no I/O: given the ports that are up, a frame's source port
 * and its Ethernet addresses, say which ports get a copy.
 */
#ifndef EXAMPLES_NET_SWITCH_H
#define EXAMPLES_NET_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#define ETH_ALEN_ 6
#define MAC_TABLE_SIZE 4096 /* a power of two */
#define MAC_TABLE_PROBE 8   /* slots tried before evicting */

struct mac_entry {
    uint8_t mac[ETH_ALEN_];
    bool valid;
    uint8_t port;
};

struct mac_table {
    struct mac_entry slot[MAC_TABLE_SIZE];
};

void mac_table_init(struct mac_table *t);
/* Remember that mac lives behind port (group addresses are ignored). */
void mac_table_learn(struct mac_table *t, const uint8_t mac[ETH_ALEN_],
                     unsigned int port);
/* The port of mac, or -1 if unknown. */
int mac_table_lookup(const struct mac_table *t, const uint8_t mac[ETH_ALEN_]);
/* A port went down: the addresses behind it are no longer reachable. */
void mac_table_forget_port(struct mac_table *t, unsigned int port);

static inline bool mac_is_group(const uint8_t mac[ETH_ALEN_])
{
    return mac[0] & 1; /* broadcast and multicast */
}

/* Learn the source, then return the set of ports (bit n = port n) that get
 * the frame: the known port of a unicast destination, else every up port
 * but the source.  Never the source port itself. */
uint64_t net_switch_route(struct mac_table *t, uint64_t up_ports,
                          unsigned int src_port, const uint8_t dst[ETH_ALEN_],
                          const uint8_t src[ETH_ALEN_]);

#endif /* EXAMPLES_NET_SWITCH_H */
