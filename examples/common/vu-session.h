/*
 * vu-session.h: one vhost-user connection slot driven by the event loop.
 *
 * A session owns a VuDev and the socket it listens on.  It accepts one
 * frontend at a time; when the frontend goes away (or the device breaks)
 * the VuDev is released with vu_deinit and the next connection gets a
 * freshly initialised one.  It also implements the VuDev watch contract
 * (set_watch/remove_watch: fd -> callback + data) on top of the loop.
 */
#ifndef EXAMPLES_VU_SESSION_H
#define EXAMPLES_VU_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "event-loop.h"
#include "libvhost-user.h"

struct vu_session;

struct vu_session_ops {
    /* A frontend connected; dev is initialised. */
    void (*connected)(struct vu_session *s);
    /* The frontend is going; dev is still valid, vu_deinit follows. */
    void (*disconnected)(struct vu_session *s);
};

struct vu_lib_watch {
    vu_watch_cb cb;
    void *data;
};

/* A queue whose handler yielded and must run again (vu_session_yield). */
struct vu_queue_resume {
    struct vu_session *s;
    int qidx;
    vu_queue_handler_cb handler;
};

struct vu_session {
    VuDev dev; /* first, so callbacks find the session from the VuDev */
    struct ev_loop *loop;
    const char *name; /* prefix of messages */
    const VuDevIface *iface;
    const struct vu_session_ops *ops;
    void *owner; /* the device that embeds this session */
    uint16_t max_queues;
    int listen_fd;     /* -1 when serving a single inherited connection */
    char *socket_path; /* created by us, unlinked on close */
    bool connected;
    bool hangup;   /* tear down at the next idle point */
    bool finished; /* the only connection is over: nothing to accept */
    struct vu_lib_watch *watch; /* library watches, indexed by fd */
    unsigned int nwatch;
    struct vu_queue_resume *resume; /* one per queue */
};

/* 0, or -ENOMEM. */
int vu_session_init(struct vu_session *s, struct ev_loop *loop,
                    const char *name, uint16_t max_queues,
                    const VuDevIface *iface, const struct vu_session_ops *ops,
                    void *owner);

/* Listen on a new UNIX socket at path (replacing a stale socket there).
 * 0 or -errno; a message is printed on failure. */
int vu_session_listen_path(struct vu_session *s, const char *path);

/* Use an inherited socket: a listening one is accepted from repeatedly,
 * a connected one is served once.  0 or -errno (message printed). */
int vu_session_use_fd(struct vu_session *s, int fd);

/* Tear down a dead connection and go back to accepting.  Call from the
 * loop's idle hook: never from inside a libvhost-user callback. */
void vu_session_reap(struct vu_session *s);

/* Drop any connection, close the listening socket, unlink its path. */
void vu_session_close(struct vu_session *s);

struct vu_session *vu_session_from_dev(VuDev *dev);

/* With VU_EXAMPLE_TRACE=1 in the environment, print one line per
 * vhost-user message (call it from process_msg) on stderr. */
void vu_session_trace_msg(VuDev *dev, const VhostUserMsg *msg);

/* A queue handler that stops before the queue is empty (to let other fds
 * and queues have their turn) calls this: handler(dev, qidx) runs again
 * once the loop has polled its fds, if the queue is still running. */
void vu_session_yield(struct vu_session *s, int qidx,
                      vu_queue_handler_cb handler);

/* True when the device can move data: connected and not broken. */
bool vu_session_live(const struct vu_session *s);

#endif /* EXAMPLES_VU_SESSION_H */
