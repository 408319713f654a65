/*
 * queue-poll.h: adaptive busy-polling of a virtqueue.
 *
 * After a queue handler has drained its queue it keeps looking for new
 * buffers for a short window (like QEMU's poll-max-ns) before going back
 * to sleep in the event loop.  While the frontend keeps submitting, no
 * kick and no wakeup is needed: the two sides work in parallel instead of
 * taking turns.  A window of 0 disables polling.
 */
#ifndef EXAMPLES_QUEUE_POLL_H
#define EXAMPLES_QUEUE_POLL_H

#include <stdbool.h>
#include <stdint.h>

#define POLL_DEFAULT_US 32 /* QEMU's default poll-max-ns is 32768 */
#define POLL_MAX_US 1000000

struct queue_poller {
    uint64_t window_ns;
    uint64_t deadline_ns;
    unsigned int spins;
};

/* (Re)start the window: call after the handler found work. */
void queue_poller_start(struct queue_poller *p, uint64_t window_ns);

/* The queue was empty: false once the window is over (go to sleep), else
 * true after a short CPU pause (look again). */
bool queue_poller_again(struct queue_poller *p);

#endif /* EXAMPLES_QUEUE_POLL_H */
