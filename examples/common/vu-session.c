/*
 * vu-session.c: accept, serve and recycle vhost-user connections.
 */
#include "vu-session.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void start_accepting(struct vu_session *s);

struct vu_session *vu_session_from_dev(VuDev *dev)
{
    return (struct vu_session *)((char *)dev -
                                 offsetof(struct vu_session, dev));
}

bool vu_session_live(const struct vu_session *s)
{
    return s->connected && !s->hangup && !s->dev.broken;
}

int vu_session_init(struct vu_session *s, struct ev_loop *loop,
                    const char *name, uint16_t max_queues,
                    const VuDevIface *iface, const struct vu_session_ops *ops,
                    void *owner)
{
    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->name = name;
    s->max_queues = max_queues;
    s->iface = iface;
    s->ops = ops;
    s->owner = owner;
    s->listen_fd = -1;
    s->resume = calloc(max_queues, sizeof(*s->resume));
    return s->resume ? 0 : -ENOMEM;
}

static void resume_queue(void *opaque)
{
    struct vu_queue_resume *r = opaque;
    struct vu_session *s = r->s;

    /* The connection may have changed since: only a running queue goes on. */
    if (vu_session_live(s) && r->qidx < s->dev.max_queues &&
        vu_queue_started(&s->dev, vu_get_queue(&s->dev, r->qidx))) {
        r->handler(&s->dev, r->qidx);
    }
}

void vu_session_yield(struct vu_session *s, int qidx,
                      vu_queue_handler_cb handler)
{
    struct vu_queue_resume *r;

    if (qidx < 0 || qidx >= s->max_queues) {
        return;
    }
    r = &s->resume[qidx];
    *r = (struct vu_queue_resume){ s, qidx, handler };
    if (ev_defer(s->loop, resume_queue, r) < 0) {
        /* Out of memory: finish the queue now rather than stall it. */
        handler(&s->dev, qidx);
    }
}

void vu_session_trace_msg(VuDev *dev, const VhostUserMsg *msg)
{
    static int enabled = -1;
    struct vu_session *s = vu_session_from_dev(dev);
    uint64_t u64 = 0;

    if (enabled < 0) {
        const char *env = getenv("VU_EXAMPLE_TRACE");

        enabled = env && *env && strcmp(env, "0") != 0;
    }
    if (!enabled) {
        return;
    }
    if (msg->size >= sizeof(u64)) {
        memcpy(&u64, &msg->payload.u64, sizeof(u64));
    }
    fprintf(stderr, "%s: [%d] %s size %u fds %d payload 0x%llx\n", s->name,
            s->dev.sock, vu_request_to_string((unsigned int)msg->request),
            msg->size, msg->fd_num, (unsigned long long)u64);
}

/* ---- the VuDev watch contract ------------------------------------------ */

static int vu_condition_to_ev(int condition)
{
    int events = 0;

    events |= (condition & VU_WATCH_IN) ? EV_IN : 0;
    events |= (condition & VU_WATCH_OUT) ? EV_OUT : 0;
    events |= (condition & VU_WATCH_PRI) ? EV_PRI : 0;
    return events;
}

static int ev_to_vu_condition(int revents)
{
    int condition = 0;

    condition |= (revents & EV_IN) ? VU_WATCH_IN : 0;
    condition |= (revents & EV_OUT) ? VU_WATCH_OUT : 0;
    condition |= (revents & EV_PRI) ? VU_WATCH_PRI : 0;
    condition |= (revents & EV_ERR) ? VU_WATCH_ERR : 0;
    condition |= (revents & EV_HUP) ? VU_WATCH_HUP : 0;
    return condition;
}

static void on_lib_fd(int fd, int revents, void *opaque)
{
    struct vu_session *s = opaque;
    struct vu_lib_watch *w;

    if (!vu_session_live(s) || (unsigned int)fd >= s->nwatch) {
        return; /* teardown is pending: the device must not run */
    }
    w = &s->watch[fd];
    if (w->cb) {
        w->cb(&s->dev, ev_to_vu_condition(revents), w->data);
    }
}

static int grow_lib_watches(struct vu_session *s, int fd)
{
    unsigned int n = s->nwatch ? s->nwatch : 64;
    struct vu_lib_watch *w;

    while (n <= (unsigned int)fd) {
        n *= 2;
    }
    w = realloc(s->watch, n * sizeof(*w));
    if (!w) {
        return -ENOMEM;
    }
    memset(w + s->nwatch, 0, (n - s->nwatch) * sizeof(*w));
    s->watch = w;
    s->nwatch = n;
    return 0;
}

static void set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb,
                      void *data)
{
    struct vu_session *s = vu_session_from_dev(dev);
    int rc = fd < 0 || !cb ? -EINVAL : 0;

    if (!rc && (unsigned int)fd >= s->nwatch) {
        rc = grow_lib_watches(s, fd);
    }
    if (!rc) {
        rc = ev_watch_set(s->loop, fd, vu_condition_to_ev(condition), on_lib_fd,
                          s);
    }
    if (rc < 0) {
        /* The contract has no error path: a queue we cannot hear is fatal. */
        fprintf(stderr, "%s: cannot watch fd %d: %s\n", s->name, fd,
                strerror(-rc));
        s->hangup = true;
        return;
    }
    s->watch[fd] = (struct vu_lib_watch){ cb, data };
}

static void remove_watch(VuDev *dev, int fd)
{
    struct vu_session *s = vu_session_from_dev(dev);

    if (fd >= 0 && (unsigned int)fd < s->nwatch && s->watch[fd].cb) {
        s->watch[fd].cb = NULL;
        ev_watch_remove(s->loop, fd);
    }
}

static void drop_leftover_watches(struct vu_session *s)
{
    unsigned int fd;

    for (fd = 0; fd < s->nwatch; fd++) {
        if (s->watch[fd].cb) {
            remove_watch(&s->dev, (int)fd);
        }
    }
}

static void on_panic(VuDev *dev, const char *err)
{
    struct vu_session *s = vu_session_from_dev(dev);

    fprintf(stderr, "%s: device error: %s\n", s->name, err ? err : "?");
    s->hangup = true;
}

/* ---- connection life cycle --------------------------------------------- */

static void on_socket(int fd, int revents, void *opaque)
{
    struct vu_session *s = opaque;

    (void)fd;
    (void)revents;
    if (!vu_session_live(s)) {
        return;
    }
    if (!vu_dispatch(&s->dev)) {
        s->hangup = true;
    }
}

static int serve_connection(struct vu_session *s, int conn)
{
    int rc;

    if (!vu_init(&s->dev, s->max_queues, conn, on_panic, NULL, set_watch,
                 remove_watch, s->iface)) {
        fprintf(stderr, "%s: vu_init failed\n", s->name);
        close(conn);
        return -ENOMEM;
    }
    s->connected = true;
    s->hangup = false;
    rc = ev_watch_set(s->loop, conn, EV_IN, on_socket, s);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot watch the connection: %s\n", s->name,
                strerror(-rc));
        s->hangup = true;
        return rc;
    }
    if (s->ops && s->ops->connected) {
        s->ops->connected(s);
    }
    return 0;
}

static void on_listen(int fd, int revents, void *opaque)
{
    struct vu_session *s = opaque;
    int conn;

    (void)revents;
    conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            fprintf(stderr, "%s: accept: %s\n", s->name, strerror(errno));
        }
        return;
    }
    /* One frontend at a time: the next one waits in the backlog. */
    ev_watch_remove(s->loop, s->listen_fd);
    if (serve_connection(s, conn) < 0 && !s->connected) {
        start_accepting(s);
    }
}

static void start_accepting(struct vu_session *s)
{
    int rc = ev_watch_set(s->loop, s->listen_fd, EV_IN, on_listen, s);

    if (rc < 0) {
        fprintf(stderr, "%s: cannot watch the listening socket: %s\n", s->name,
                strerror(-rc));
        s->finished = true;
    }
}

void vu_session_reap(struct vu_session *s)
{
    if (!s->connected || (!s->hangup && !s->dev.broken)) {
        return;
    }
    if (s->ops && s->ops->disconnected) {
        s->ops->disconnected(s);
    }
    ev_watch_remove(s->loop, s->dev.sock);
    vu_deinit(&s->dev); /* closes dev.sock and the queue fds */
    drop_leftover_watches(s);
    s->connected = false;
    s->hangup = false;
    if (s->listen_fd >= 0) {
        start_accepting(s);
    } else {
        s->finished = true;
    }
}

void vu_session_close(struct vu_session *s)
{
    if (s->connected) {
        s->hangup = true;
        vu_session_reap(s);
    }
    if (s->listen_fd >= 0) {
        ev_watch_remove(s->loop, s->listen_fd);
        close(s->listen_fd);
        s->listen_fd = -1;
    }
    if (s->socket_path) {
        unlink(s->socket_path);
        free(s->socket_path);
        s->socket_path = NULL;
    }
    free(s->watch);
    s->watch = NULL;
    s->nwatch = 0;
    free(s->resume);
    s->resume = NULL;
    s->finished = true;
}

/* ---- where connections come from --------------------------------------- */

/* Only a stale socket may be replaced: never delete a user's file. */
static int remove_stale_socket(const char *name, const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        return errno == ENOENT ? 0 : -errno;
    }
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "%s: %s exists and is not a socket\n", name, path);
        return -EEXIST;
    }
    return unlink(path) < 0 ? -errno : 0;
}

static int bind_and_listen(int fd, const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    memcpy(addr.sun_path, path, strlen(path) + 1);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, 1) < 0) {
        return -errno;
    }
    return 0;
}

int vu_session_listen_path(struct vu_session *s, const char *path)
{
    struct sockaddr_un addr;
    int fd, rc;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "%s: socket path too long (max %zu bytes): %s\n",
                s->name, sizeof(addr.sun_path) - 1, path);
        return -ENAMETOOLONG;
    }
    rc = remove_stale_socket(s->name, path);
    if (rc < 0) {
        return rc;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    rc = bind_and_listen(fd, path);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot listen on %s: %s\n", s->name, path,
                strerror(-rc));
        close(fd);
        return rc;
    }
    s->socket_path = strdup(path);
    s->listen_fd = fd;
    start_accepting(s);
    return 0;
}

static int check_socket_fd(const char *name, int fd, bool *listening)
{
    struct stat st;
    int accepting = 0;
    socklen_t len = sizeof(accepting);

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "%s: --fd %d is not an open socket\n", name, fd);
        return -ENOTSOCK;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0) {
        return -errno;
    }
    *listening = accepting != 0;
    return 0;
}

int vu_session_use_fd(struct vu_session *s, int fd)
{
    bool listening = false;
    int rc = check_socket_fd(s->name, fd, &listening);

    if (rc < 0) {
        return rc;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (!listening) {
        return serve_connection(s, fd);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    s->listen_fd = fd;
    start_accepting(s);
    return 0;
}
