/*
 * Helpers of the live tests: run an example backend as a child process and
 * drive it with the fake frontend (tests/support/frontend.h).
 */
#ifndef EXAMPLES_LIVE_UTIL_H
#define EXAMPLES_LIVE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "frontend.h"

/* Start argv[0] with argv, wait until it created socket_path. */
pid_t live_spawn(char *const argv[], const char *socket_path);
/* Start argv[0] with fd inherited as descriptor 3 (for --fd 3). */
pid_t live_spawn_with_fd(char *const argv[], int fd);
/* Expect the backend to exit by itself with status 0 within 10 s. */
void live_wait_exit(pid_t pid);
/* Send sig and expect a clean exit (status 0) within 10 s. */
void live_stop(pid_t pid, int sig);

/* Connect a frontend to path (fails the test if it cannot). */
void live_connect(struct vu_frontend *fe, const char *path);

struct live_seg {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

/* Descriptors handed out round-robin from slot 0; reset per ring setup. */
struct live_ring {
    struct fe_ring r;
    unsigned int next_desc;
};

/* Publish one descriptor chain. */
void live_post(struct live_ring *lr, const struct live_seg *segs,
               unsigned int n);
/* Wait (up to 2 s) until used->idx reaches idx; false on timeout. */
bool live_wait_used(struct live_ring *lr, uint16_t idx);
/* Nothing more may arrive in the next 100 ms. */
bool live_used_stays(struct live_ring *lr, uint16_t idx);
/* The used element number n (counting from 0 since the ring was set up). */
struct vring_used_elem live_used(struct live_ring *lr, uint16_t n);

#endif /* EXAMPLES_LIVE_UTIL_H */
