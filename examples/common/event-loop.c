/*
 * event-loop.c: epoll loop with fd-indexed watches and signalfd shutdown.
 */
#include "event-loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct ev_watch {
    ev_handler handler;
    void *opaque;
    uint32_t generation;
    bool active;
};

#define EV_BATCH 64

static uint32_t events_to_epoll(int events)
{
    uint32_t e = 0;

    e |= (events & EV_IN) ? EPOLLIN : 0;
    e |= (events & EV_OUT) ? EPOLLOUT : 0;
    e |= (events & EV_PRI) ? EPOLLPRI : 0;
    return e; /* EPOLLERR and EPOLLHUP are always reported */
}

static int epoll_to_events(uint32_t e)
{
    int events = 0;

    events |= (e & EPOLLIN) ? EV_IN : 0;
    events |= (e & EPOLLOUT) ? EV_OUT : 0;
    events |= (e & EPOLLPRI) ? EV_PRI : 0;
    events |= (e & EPOLLERR) ? EV_ERR : 0;
    events |= (e & EPOLLHUP) ? EV_HUP : 0;
    return events;
}

static int grow_watch_table(struct ev_loop *loop, int fd)
{
    unsigned int n = loop->nwatch ? loop->nwatch : 64;
    struct ev_watch *w;

    while (n <= (unsigned int)fd) {
        n *= 2;
    }
    w = realloc(loop->watch, n * sizeof(*w));
    if (!w) {
        return -ENOMEM;
    }
    memset(w + loop->nwatch, 0, (n - loop->nwatch) * sizeof(*w));
    loop->watch = w;
    loop->nwatch = n;
    return 0;
}

int ev_watch_set(struct ev_loop *loop, int fd, int events, ev_handler handler,
                 void *opaque)
{
    struct epoll_event ev = { 0 };
    struct ev_watch *w;
    int op, rc;

    if (fd < 0 || !handler) {
        return -EINVAL;
    }
    if ((unsigned int)fd >= loop->nwatch) {
        rc = grow_watch_table(loop, fd);
        if (rc < 0) {
            return rc;
        }
    }
    w = &loop->watch[fd];
    op = w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    /* A fresh generation makes events queued for the old watch stale. */
    ev.events = events_to_epoll(events);
    ev.data.u64 = (uint64_t)++loop->generation << 32 | (uint32_t)fd;
    if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
        /* The fd was closed and reused behind our back: switch op once. */
        op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
        if (epoll_ctl(loop->epfd, op, fd, &ev) < 0) {
            return -errno;
        }
    }
    *w = (struct ev_watch){ handler, opaque, loop->generation, true };
    return 0;
}

void ev_watch_remove(struct ev_loop *loop, int fd)
{
    if (!ev_watching(loop, fd)) {
        return;
    }
    /* May fail with EBADF if fd was closed first; the watch goes anyway. */
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
    loop->watch[fd].active = false;
}

bool ev_watching(const struct ev_loop *loop, int fd)
{
    return fd >= 0 && (unsigned int)fd < loop->nwatch && loop->watch[fd].active;
}

void ev_loop_set_idle_hook(struct ev_loop *loop, ev_idle_hook hook,
                           void *opaque)
{
    loop->idle = hook;
    loop->idle_opaque = opaque;
}

void ev_loop_stop(struct ev_loop *loop)
{
    loop->stop = true;
}

static void on_signal(int fd, int revents, void *opaque)
{
    struct ev_loop *loop = opaque;
    struct signalfd_siginfo si;

    (void)revents;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        loop->stop_signal = (int)si.ssi_signo;
        ev_loop_stop(loop);
    }
}

static int watch_stop_signals(struct ev_loop *loop)
{
    sigset_t mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
        return -errno;
    }
    loop->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (loop->sigfd < 0) {
        return -errno;
    }
    return ev_watch_set(loop, loop->sigfd, EV_IN, on_signal, loop);
}

int ev_loop_init(struct ev_loop *loop)
{
    int rc;

    memset(loop, 0, sizeof(*loop));
    loop->sigfd = -1;
    /* A frontend that goes away must not kill us through a write. */
    signal(SIGPIPE, SIG_IGN);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        return -errno;
    }
    rc = watch_stop_signals(loop);
    if (rc < 0) {
        ev_loop_fini(loop);
    }
    return rc;
}

void ev_loop_fini(struct ev_loop *loop)
{
    if (loop->sigfd >= 0) {
        close(loop->sigfd);
    }
    if (loop->epfd >= 0) {
        close(loop->epfd);
    }
    free(loop->watch);
    free(loop->deferred);
    loop->deferred = NULL;
    loop->ndeferred = loop->deferred_cap = 0;
    loop->watch = NULL;
    loop->nwatch = 0;
    loop->sigfd = loop->epfd = -1;
}

static void dispatch_one(struct ev_loop *loop, const struct epoll_event *ev)
{
    int fd = (int)(uint32_t)ev->data.u64;
    uint32_t generation = (uint32_t)(ev->data.u64 >> 32);
    struct ev_watch *w;

    if (!ev_watching(loop, fd)) {
        return;
    }
    w = &loop->watch[fd];
    if (w->generation != generation) {
        return; /* the watch changed after this event was queued */
    }
    w->handler(fd, epoll_to_events(ev->events), w->opaque);
}

int ev_defer(struct ev_loop *loop, ev_deferred_fn fn, void *opaque)
{
    struct ev_deferred *d;
    unsigned int i, cap;

    for (i = 0; i < loop->ndeferred; i++) {
        if (loop->deferred[i].fn == fn && loop->deferred[i].opaque == opaque) {
            return 0;
        }
    }
    if (loop->ndeferred == loop->deferred_cap) {
        cap = loop->deferred_cap ? 2 * loop->deferred_cap : 16;
        d = realloc(loop->deferred, cap * sizeof(*d));
        if (!d) {
            return -ENOMEM;
        }
        loop->deferred = d;
        loop->deferred_cap = cap;
    }
    loop->deferred[loop->ndeferred++] = (struct ev_deferred){ fn, opaque };
    return 0;
}

/* Run what was deferred before this call; what they defer waits for the
 * next round. */
static void run_deferred(struct ev_loop *loop)
{
    unsigned int i, n = loop->ndeferred;
    struct ev_deferred d;

    if (n == 0) {
        return;
    }
    for (i = 0; i < n && !loop->stop; i++) {
        d = loop->deferred[i];
        loop->deferred[i].fn = NULL; /* may be deferred again meanwhile */
        if (d.fn) {
            d.fn(d.opaque);
        }
    }
    memmove(loop->deferred, loop->deferred + i,
            (loop->ndeferred - i) * sizeof(loop->deferred[0]));
    loop->ndeferred -= i;
}

int ev_loop_run(struct ev_loop *loop)
{
    struct epoll_event events[EV_BATCH];
    int i, n;

    loop->stop = false;
    while (!loop->stop) {
        n = epoll_wait(loop->epfd, events, EV_BATCH, loop->ndeferred ? 0 : -1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        for (i = 0; i < n && !loop->stop; i++) {
            dispatch_one(loop, &events[i]);
        }
        run_deferred(loop);
        if (loop->idle) {
            loop->idle(loop->idle_opaque);
        }
    }
    return 0;
}
