/*
 * net-rarp.c: build a RARP frame (RFC 903 format over Ethernet).
 */
#include "net-rarp.h"

#include <string.h>

#define ETH_P_RARP_ 0x8035
#define ETH_P_IP_ 0x0800
#define ARPHRD_ETHER_ 1
#define RARP_OP_REVERSE_REQUEST 3

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8); /* network byte order */
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

size_t net_rarp_build(uint8_t frame[RARP_FRAME_LEN], const uint8_t mac[6])
{
    static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t no_ip[4];
    uint8_t *p = frame;

    memset(frame, 0, RARP_FRAME_LEN);
    p = put_bytes(p, broadcast, 6);
    p = put_bytes(p, mac, 6);
    p = put16(p, ETH_P_RARP_);
    p = put16(p, ARPHRD_ETHER_);
    p = put16(p, ETH_P_IP_);
    *p++ = 6; /* hardware address length */
    *p++ = 4; /* protocol address length */
    p = put16(p, RARP_OP_REVERSE_REQUEST);
    p = put_bytes(p, mac, 6); /* sender hardware address */
    p = put_bytes(p, no_ip, 4);
    p = put_bytes(p, mac, 6); /* target hardware address */
    put_bytes(p, no_ip, 4);
    return RARP_FRAME_LEN;
}
