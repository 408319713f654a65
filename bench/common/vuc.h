/*
 * vuc: a minimal vhost-user frontend (driver side) for the benchmarks.
 *
 * Connects to a backend's unix socket, exchanges requests, and keeps guest
 * memory as one memfd region mapped in this process.  Guest-physical
 * addresses are offsets into that region; the "userspace address" told to
 * the backend is our own mapping address (as DPDK virtio_user does).
 *
 * Every helper prints what went wrong and exits on a protocol error: a
 * benchmark has nothing sensible to do after one.
 */
#ifndef VU_BENCH_VUC_H
#define VU_BENCH_VUC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vuc {
    int sock;
    uint64_t features;       /* negotiated virtio features */
    uint64_t proto_features; /* negotiated protocol features */
    bool reply_ack;          /* REPLY_ACK negotiated: ack set-style requests */
    int mem_fd;
    uint8_t *mem; /* our mapping; gpa 0 is mem[0] */
    uint64_t mem_size;
};

/* Connect to path, retrying for up to timeout_ms while it does not exist. */
void vuc_connect(struct vuc *c, const char *path, int timeout_ms);
void vuc_close(struct vuc *c);

/* Raw exchange: payload of size bytes, optional fds. */
void vuc_send(struct vuc *c, uint32_t req, uint32_t flags, const void *payload,
              uint32_t size, const int *fds, int nfds);
/* Wait for the reply to req; copies at most cap payload bytes; returns its
 * size. */
uint32_t vuc_recv_reply(struct vuc *c, uint32_t req, void *payload,
                        uint32_t cap);

uint64_t vuc_get_u64(struct vuc *c, uint32_t req);
/* A set-style request; acked when REPLY_ACK was negotiated. */
void vuc_set(struct vuc *c, uint32_t req, const void *payload, uint32_t size,
             const int *fds, int nfds);
void vuc_set_u64(struct vuc *c, uint32_t req, uint64_t v);

/* GET_FEATURES/GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, SET_OWNER,
 * SET_FEATURES.  want/want_proto are masked with what the backend offers;
 * VERSION_1 and PROTOCOL_FEATURES are required. */
void vuc_negotiate(struct vuc *c, uint64_t want, uint64_t want_proto);

/* One memfd region of size bytes at gpa 0, told with SET_MEM_TABLE. */
void vuc_setup_memory(struct vuc *c, uint64_t size);
static inline void *vuc_ptr(struct vuc *c, uint64_t gpa)
{
    return c->mem + gpa;
}

/* NUM, BASE 0, ADDR, CALL, KICK, ENABLE for queue idx; desc/avail/used are
 * gpas.  call_fd/kick_fd are eventfds owned by the caller. */
void vuc_start_queue(struct vuc *c, unsigned idx, unsigned num, uint64_t desc,
                     uint64_t avail, uint64_t used, int kick_fd, int call_fd);
/* SET_VRING_ENABLE 0 + GET_VRING_BASE; returns the backend's avail index. */
unsigned vuc_stop_queue(struct vuc *c, unsigned idx);

double vuc_now(void);

#endif
