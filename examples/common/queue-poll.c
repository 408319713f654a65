/*
 * queue-poll.c: the polling window of queue handlers.
 */
#include "queue-poll.h"

#include <time.h>

/* Reading the clock costs more than a look at the ring: do it now and
 * then. */
#define CLOCK_EVERY 32

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void queue_poller_start(struct queue_poller *p, uint64_t window_ns)
{
    p->window_ns = window_ns;
    p->deadline_ns = window_ns ? now_ns() + window_ns : 0;
    p->spins = 0;
}

bool queue_poller_again(struct queue_poller *p)
{
    if (p->window_ns == 0) {
        return false;
    }
    if (++p->spins % CLOCK_EVERY == 0 && now_ns() >= p->deadline_ns) {
        return false;
    }
    cpu_relax();
    return true;
}
