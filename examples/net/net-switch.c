/*
 * net-switch.c: an open-addressed MAC table and flooding rules.
 */
#include "net-switch.h"

#include <string.h>

void mac_table_init(struct mac_table *t)
{
    memset(t, 0, sizeof(*t));
}

static unsigned int mac_hash(const uint8_t mac[ETH_ALEN_])
{
    /* FNV-1a: cheap, and the low bits mix all six bytes. */
    uint32_t h = 2166136261u;
    unsigned int i;

    for (i = 0; i < ETH_ALEN_; i++) {
        h = (h ^ mac[i]) * 16777619u;
    }
    return h & (MAC_TABLE_SIZE - 1);
}

static struct mac_entry *probe(struct mac_table *t, unsigned int home,
                               unsigned int i)
{
    return &t->slot[(home + i) & (MAC_TABLE_SIZE - 1)];
}

void mac_table_learn(struct mac_table *t, const uint8_t mac[ETH_ALEN_],
                     unsigned int port)
{
    unsigned int home = mac_hash(mac), i;
    struct mac_entry *free_slot = NULL, *e;

    if (mac_is_group(mac)) {
        return;
    }
    for (i = 0; i < MAC_TABLE_PROBE; i++) {
        e = probe(t, home, i);
        if (e->valid && !memcmp(e->mac, mac, ETH_ALEN_)) {
            e->port = (uint8_t)port; /* the station moved */
            return;
        }
        if (!e->valid && !free_slot) {
            free_slot = e;
        }
    }
    /* Full neighbourhood: the home slot gives way (flooding still works). */
    e = free_slot ? free_slot : probe(t, home, 0);
    memcpy(e->mac, mac, ETH_ALEN_);
    e->port = (uint8_t)port;
    e->valid = true;
}

int mac_table_lookup(const struct mac_table *t, const uint8_t mac[ETH_ALEN_])
{
    unsigned int home = mac_hash(mac), i;
    const struct mac_entry *e;

    for (i = 0; i < MAC_TABLE_PROBE; i++) {
        e = &t->slot[(home + i) & (MAC_TABLE_SIZE - 1)];
        if (e->valid && !memcmp(e->mac, mac, ETH_ALEN_)) {
            return e->port;
        }
    }
    return -1;
}

void mac_table_forget_port(struct mac_table *t, unsigned int port)
{
    unsigned int i;

    for (i = 0; i < MAC_TABLE_SIZE; i++) {
        if (t->slot[i].valid && t->slot[i].port == port) {
            t->slot[i].valid = false;
        }
    }
}

uint64_t net_switch_route(struct mac_table *t, uint64_t up_ports,
                          unsigned int src_port, const uint8_t dst[ETH_ALEN_],
                          const uint8_t src[ETH_ALEN_])
{
    uint64_t others = up_ports & ~(1ULL << src_port);
    int port;

    mac_table_learn(t, src, src_port);
    if (mac_is_group(dst)) {
        return others;
    }
    port = mac_table_lookup(t, dst);
    if (port < 0) {
        return others; /* unknown unicast: flood */
    }
    return others & (1ULL << port); /* empty if it lives behind src_port */
}
