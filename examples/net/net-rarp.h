/*
 * net-rarp.h: the RARP announcement sent for SEND_RARP.
 *
 * After a migration the frontend asks the backend to announce the guest's
 * MAC so that switches learn its new location: a broadcast RARP "reverse
 * request" from that MAC, as QEMU itself sends for guests without
 * GUEST_ANNOUNCE.
 */
#ifndef EXAMPLES_NET_RARP_H
#define EXAMPLES_NET_RARP_H

#include <stddef.h>
#include <stdint.h>

#define RARP_FRAME_LEN 60 /* the Ethernet minimum, padding included */

/* Fill frame with the announcement for mac; returns RARP_FRAME_LEN. */
size_t net_rarp_build(uint8_t frame[RARP_FRAME_LEN], const uint8_t mac[6]);

#endif /* EXAMPLES_NET_RARP_H */
