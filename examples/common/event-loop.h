/*
 * event-loop.h: a small single-threaded epoll loop shared by the examples.
 *
 * One handler per fd.  Level-triggered, so a handler that leaves data
 * unread is simply called again.  SIGINT and SIGTERM are turned into an
 * orderly stop through a signalfd, never an asynchronous handler.
 */
#ifndef EXAMPLES_EVENT_LOOP_H
#define EXAMPLES_EVENT_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* revents uses the EV_* bits below. */
typedef void (*ev_handler)(int fd, int revents, void *opaque);
/* Called after every batch of events: the safe point to tear things down. */
typedef void (*ev_idle_hook)(void *opaque);
/* Work put off until the loop has looked at its fds again. */
typedef void (*ev_deferred_fn)(void *opaque);

enum {
    EV_IN = 1 << 0,
    EV_OUT = 1 << 1,
    EV_PRI = 1 << 2,
    EV_ERR = 1 << 3,
    EV_HUP = 1 << 4,
};

struct ev_watch;

struct ev_deferred {
    ev_deferred_fn fn; /* NULL once it ran */
    void *opaque;
};

struct ev_loop {
    int epfd;
    int sigfd;
    bool stop;
    int stop_signal;        /* the signal that stopped the loop, or 0 */
    struct ev_watch *watch; /* indexed by fd */
    unsigned int nwatch;
    uint32_t generation; /* tells a stale event from a reused fd */
    ev_idle_hook idle;
    void *idle_opaque;
    struct ev_deferred *deferred;
    unsigned int ndeferred, deferred_cap;
};

/* Blocks SIGINT/SIGTERM and watches them.  0 or -errno. */
int ev_loop_init(struct ev_loop *loop);
void ev_loop_fini(struct ev_loop *loop);

/* Watch fd (replacing any watch it had).  0 or -errno. */
int ev_watch_set(struct ev_loop *loop, int fd, int events, ev_handler handler,
                 void *opaque);
/* Forget fd.  Harmless if it was not watched. */
void ev_watch_remove(struct ev_loop *loop, int fd);
bool ev_watching(const struct ev_loop *loop, int fd);

void ev_loop_set_idle_hook(struct ev_loop *loop, ev_idle_hook hook,
                           void *opaque);

/* Run fn(opaque) after the next poll of the fds (which then does not
 * block).  Lets a busy handler yield to the other fds and come back.  A
 * pending identical request is not queued twice.  0 or -ENOMEM. */
int ev_defer(struct ev_loop *loop, ev_deferred_fn fn, void *opaque);

/* Run until ev_loop_stop or a signal.  0, or -errno on an epoll failure. */
int ev_loop_run(struct ev_loop *loop);
void ev_loop_stop(struct ev_loop *loop);

#endif /* EXAMPLES_EVENT_LOOP_H */
