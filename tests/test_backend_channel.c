/*
 * The backend request channel (SET_BACKEND_REQ_FD): the test plays the
 * frontend end of the channel, on a thread wherever the API blocks for an
 * answer, and checks every message's request, flags, payload and fds, plus
 * the refusals when the protocol features were not negotiated.
 */
#include "frontend.h"
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define CHANNEL_PROTO                                                          \
    (P(MQ) | P(REPLY_ACK) | P(BACKEND_REQ) | P(BACKEND_SEND_FD) |              \
     P(HOST_NOTIFIER) | P(SHARED_OBJECT) | P(INBAND_NOTIFICATIONS))
#define MAX_Q 2
#define QSIZE 64
#define REQ_FLAGS FE_VERSION
#define REQ_ACK_FLAGS (FE_VERSION | VHOST_USER_NEED_REPLY_MASK)

struct channel {
    struct vu_session s;
    struct vu_frontend end; /* our end of the backend channel */
    int unsent;             /* the other end, when it was never sent */
};

static void channel_open(struct channel *c, uint64_t proto)
{
    int sv[2];

    sess_open(&c->s, MAX_Q, proto);
    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    fe_init_fd(&c->end, sv[0]);
    c->end.timeout_ms = 5000;
    c->unsent = -1;
    if (proto & P(BACKEND_REQ)) {
        fe_set(&c->s.fe, VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
        EXPECT_TRUE(c->s.td.dev.backend_fd >= 0);
        close(sv[1]);
    } else {
        c->unsent = sv[1]; /* keep it open: silence must not read as EOF */
    }
}

static void channel_close(struct channel *c)
{
    if (c->unsent >= 0) {
        close(c->unsent);
    }
    fe_destroy(&c->end);
    sess_close(&c->s);
}

/* Nothing was written to the channel. */
static void expect_channel_silent(struct channel *c)
{
    struct fe_msg m;

    c->end.timeout_ms = 0;
    EXPECT_EQ(fe_recv(&c->end, &m), 0);
    c->end.timeout_ms = 5000;
}

/* ---- a responder thread for requests that wait for an answer ---- */

struct responder {
    struct channel *c;
    unsigned count;         /* messages to answer */
    uint32_t reply_request; /* 0: echo the request */
    uint32_t reply_flags;
    uint32_t reply_size;
    uint64_t reply_u64;
    int reply_fds[2];
    int reply_nfds;
    bool hang_up;      /* close the channel instead of answering */
    struct fe_msg got; /* the last message received */
    unsigned answered;
    pthread_t thread;
};

static void *respond(void *arg)
{
    struct responder *r = arg;

    for (unsigned i = 0; i < r->count; i++) {
        fe_msg_close_fds(&r->got);
        EXPECT_EQ(fe_recv(&r->c->end, &r->got), 1);
        if (r->hang_up) {
            shutdown(r->c->end.sock, SHUT_RDWR);
            return NULL;
        }
        uint32_t req = r->reply_request ? r->reply_request : r->got.request;
        EXPECT_TRUE(fe_send_hdr(&r->c->end, req, r->reply_flags, r->reply_size,
                                &r->reply_u64, sizeof(r->reply_u64),
                                r->reply_fds, r->reply_nfds));
        r->answered++;
    }
    return NULL;
}

/* Answers with a well-formed u64 reply carrying `value`. */
static void responder_start(struct responder *r, struct channel *c,
                            unsigned count, uint64_t value)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->count = count;
    r->reply_flags = FE_REPLY_FLAGS;
    r->reply_size = 8;
    r->reply_u64 = value;
}

static void responder_run(struct responder *r)
{
    EXPECT_EQ(pthread_create(&r->thread, NULL, respond, r), 0);
}

static void responder_join(struct responder *r)
{
    EXPECT_EQ(pthread_join(r->thread, NULL), 0);
}

static bool same_file(int a, int b)
{
    struct stat sa, sb;

    EXPECT_SUCCESS(fstat(a, &sa));
    EXPECT_SUCCESS(fstat(b, &sb));
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- vu_set_queue_host_notifier ---- */

static void test_host_notifier_with_fd(void)
{
    struct channel c;
    struct responder r;
    int area = memfd_create("notifier", MFD_CLOEXEC);

    EXPECT_SUCCESS(area);
    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 0);
    responder_run(&r);
    EXPECT_TRUE(vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[1], area,
                                           4096, 8192));
    responder_join(&r);
    EXPECT_EQ(r.got.request, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
    EXPECT_EQ(r.got.flags, REQ_ACK_FLAGS);
    EXPECT_EQ(r.got.size, sizeof(VhostUserVringArea));
    EXPECT_EQ(r.got.payload.area.u64, 1);
    EXPECT_EQ(r.got.payload.area.size, 4096);
    EXPECT_EQ(r.got.payload.area.offset, 8192);
    EXPECT_EQ(r.got.nfds, 1);
    EXPECT_TRUE(same_file(r.got.fds[0], area));
    fe_msg_close_fds(&r.got);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
    close(area);
}

static void test_host_notifier_remove(void)
{
    struct channel c;
    struct responder r;

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 0);
    responder_run(&r);
    EXPECT_TRUE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    responder_join(&r);
    EXPECT_EQ(r.got.payload.area.u64, VHOST_USER_VRING_NOFD_MASK | 0);
    EXPECT_EQ(r.got.nfds, 0);
    channel_close(&c);
}

/* The frontend says no (u64 1): false, but the channel is healthy. */
static void test_host_notifier_declined(void)
{
    struct channel c;
    struct responder r;

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 1);
    responder_run(&r);
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    responder_join(&r);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* A malformed answer is a failure, never a success, and leaks nothing. */
static void bad_answer_once(uint32_t req, uint32_t flags, uint32_t size,
                            int nfds)
{
    struct channel c;
    struct responder r;
    int extra = memfd_create("extra", MFD_CLOEXEC);

    channel_open(&c, CHANNEL_PROTO);
    int fds = test_open_fd_count();
    responder_start(&r, &c, 1, 0);
    r.reply_request = req;
    r.reply_flags = flags;
    r.reply_size = size;
    r.reply_fds[0] = r.reply_fds[1] = extra;
    r.reply_nfds = nfds;
    responder_run(&r);
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    responder_join(&r);
    EXPECT_TRUE(c.s.td.dev.broken);
    EXPECT_EQ(test_open_fd_count(), fds);
    channel_close(&c);
    close(extra);
}

static void test_host_notifier_bad_answers(void)
{
    const uint32_t req = VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG;

    bad_answer_once(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, FE_REPLY_FLAGS, 8, 0);
    bad_answer_once(req, FE_VERSION, 8, 0);           /* no REPLY bit */
    bad_answer_once(req, FE_REPLY_FLAGS | 0x8, 8, 0); /* extra bit */
    bad_answer_once(req, FE_REPLY_FLAGS, 4, 0);       /* short (then 4 more) */
    bad_answer_once(req, FE_REPLY_FLAGS, 0, 0);
}

/* fds attached to an ack are closed, whatever the verdict. */
static void test_host_notifier_ack_with_fds(void)
{
    struct channel c;
    struct responder r;
    int extra = memfd_create("extra", MFD_CLOEXEC);

    channel_open(&c, CHANNEL_PROTO);
    int fds = test_open_fd_count();
    responder_start(&r, &c, 1, 0);
    r.reply_fds[0] = r.reply_fds[1] = extra;
    r.reply_nfds = 2;
    responder_run(&r);
    (void)vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0);
    responder_join(&r);
    EXPECT_EQ(test_open_fd_count(), fds);
    channel_close(&c);
    close(extra);
}

/* The frontend hangs up instead of answering: false, broken, no hang. */
static void test_host_notifier_hang_up(void)
{
    struct channel c;
    struct responder r;

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 0);
    r.hang_up = true;
    responder_run(&r);
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    responder_join(&r);
    EXPECT_TRUE(c.s.td.dev.broken);
    channel_close(&c);
}

/* Without BACKEND_SEND_FD + HOST_NOTIFIER nothing is sent. */
static void test_host_notifier_needs_features(void)
{
    struct channel c;

    channel_open(&c, P(REPLY_ACK) | P(BACKEND_REQ));
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    expect_channel_silent(&c);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
    /* BACKEND_SEND_FD alone is not enough: HOST_NOTIFIER too. */
    channel_open(&c, P(REPLY_ACK) | P(BACKEND_REQ) | P(BACKEND_SEND_FD));
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    expect_channel_silent(&c);
    channel_close(&c);
    /* ...and HOST_NOTIFIER alone neither. */
    channel_open(&c, P(REPLY_ACK) | P(BACKEND_REQ) | P(HOST_NOTIFIER));
    EXPECT_FALSE(
        vu_set_queue_host_notifier(&c.s.td.dev, &c.s.td.dev.vq[0], -1, 0, 0));
    expect_channel_silent(&c);
    channel_close(&c);
}

/* ---- vu_config_change_msg ---- */

static void test_config_change_acked(void)
{
    struct channel c;
    struct responder r;

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 0);
    responder_run(&r);
    vu_config_change_msg(&c.s.td.dev);
    responder_join(&r);
    EXPECT_EQ(r.got.request, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    EXPECT_EQ(r.got.flags, REQ_ACK_FLAGS);
    EXPECT_EQ(r.got.size, 0);
    EXPECT_EQ(r.got.nfds, 0);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

static void test_config_change_without_reply_ack(void)
{
    struct channel c;
    struct fe_msg m;

    channel_open(&c, P(BACKEND_REQ));
    vu_config_change_msg(&c.s.td.dev);
    EXPECT_EQ(fe_recv(&c.end, &m), 1);
    EXPECT_EQ(m.request, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    EXPECT_EQ(m.flags, REQ_FLAGS);
    EXPECT_EQ(m.size, 0);
    EXPECT_EQ(m.nfds, 0);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* No BACKEND_REQ, so no channel: nothing happens, nothing breaks. */
static void test_config_change_without_channel(void)
{
    struct channel c;

    channel_open(&c, P(REPLY_ACK));
    vu_config_change_msg(&c.s.td.dev);
    expect_channel_silent(&c);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* Two threads send concurrently: whole messages, never interleaved. */
static void *config_change_many(void *arg)
{
    for (int i = 0; i < 100; i++) {
        vu_config_change_msg(arg);
    }
    return NULL;
}

static void test_config_change_concurrent(void)
{
    struct channel c;
    struct responder r;
    pthread_t t[2];

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 200, 0);
    responder_run(&r);
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(pthread_create(&t[i], NULL, config_change_many, &c.s.td.dev),
                  0);
    }
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(pthread_join(t[i], NULL), 0);
    }
    responder_join(&r);
    EXPECT_EQ(r.answered, 200);
    EXPECT_EQ(r.got.request, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* ---- shared objects ---- */

static unsigned char test_uuid[UUID_LEN] = { 0x10, 0x32, 0x54, 0x76, 0x98, 0xba,
                                             0xdc, 0xfe, 1,    2,    3,    4,
                                             5,    6,    7,    8 };

static void expect_object_msg(struct channel *c, uint32_t request)
{
    struct fe_msg m;

    EXPECT_EQ(fe_recv(&c->end, &m), 1);
    EXPECT_EQ(m.request, request);
    EXPECT_EQ(m.flags, REQ_FLAGS);
    EXPECT_EQ(m.size, UUID_LEN);
    EXPECT_MEMEQ(m.payload.object.uuid, test_uuid, UUID_LEN);
    EXPECT_EQ(m.nfds, 0);
}

static void test_shared_object_add_remove(void)
{
    struct channel c;

    channel_open(&c, CHANNEL_PROTO);
    EXPECT_TRUE(vu_add_shared_object(&c.s.td.dev, test_uuid));
    expect_object_msg(&c, VHOST_USER_BACKEND_SHARED_OBJECT_ADD);
    EXPECT_TRUE(vu_rm_shared_object(&c.s.td.dev, test_uuid));
    expect_object_msg(&c, VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

static void test_shared_object_lookup(void)
{
    struct channel c;
    struct responder r;
    int obj = memfd_create("dmabuf", MFD_CLOEXEC);
    int got = -1;

    channel_open(&c, CHANNEL_PROTO);
    responder_start(&r, &c, 1, 0);
    r.reply_fds[0] = obj;
    r.reply_nfds = 1;
    responder_run(&r);
    EXPECT_TRUE(vu_lookup_shared_object(&c.s.td.dev, test_uuid, &got));
    responder_join(&r);
    EXPECT_EQ(r.got.request, VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
    EXPECT_EQ(r.got.flags, REQ_ACK_FLAGS);
    EXPECT_EQ(r.got.size, UUID_LEN);
    EXPECT_MEMEQ(r.got.payload.object.uuid, test_uuid, UUID_LEN);
    EXPECT_TRUE(got >= 0);
    EXPECT_TRUE(same_file(got, obj));
    close(got);
    channel_close(&c);
    close(obj);
}

/* Not found (u64 1), found without an fd, or with two: false, no leak. */
static void lookup_fails_once(uint64_t value, int nfds)
{
    struct channel c;
    struct responder r;
    int obj = memfd_create("dmabuf", MFD_CLOEXEC);
    int got = -1;

    channel_open(&c, CHANNEL_PROTO);
    int fds = test_open_fd_count();
    responder_start(&r, &c, 1, value);
    r.reply_fds[0] = r.reply_fds[1] = obj;
    r.reply_nfds = nfds;
    responder_run(&r);
    EXPECT_FALSE(vu_lookup_shared_object(&c.s.td.dev, test_uuid, &got));
    responder_join(&r);
    EXPECT_EQ(test_open_fd_count(), fds);
    channel_close(&c);
    close(obj);
}

static void test_shared_object_lookup_failures(void)
{
    lookup_fails_once(1, 0);
    lookup_fails_once(1, 1);
    lookup_fails_once(0, 0);
    lookup_fails_once(0, 2);
}

static void test_shared_object_needs_feature(void)
{
    struct channel c;
    int got = -1;

    channel_open(&c, P(REPLY_ACK) | P(BACKEND_REQ));
    EXPECT_FALSE(vu_add_shared_object(&c.s.td.dev, test_uuid));
    EXPECT_FALSE(vu_rm_shared_object(&c.s.td.dev, test_uuid));
    EXPECT_FALSE(vu_lookup_shared_object(&c.s.td.dev, test_uuid, &got));
    EXPECT_EQ(got, -1);
    expect_channel_silent(&c);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* GET_SHARED_OBJECT from the frontend: the device's fd goes back with
 * u64 0 (and stays the device's), or u64 1 and no fd when it has none. */
static void test_get_shared_object(void)
{
    struct vu_session s;
    VhostUserShared obj;
    struct fe_msg m;
    int dmabuf = memfd_create("dmabuf", MFD_CLOEXEC);

    memcpy(obj.uuid, test_uuid, UUID_LEN);
    sess_open(&s, MAX_Q, CHANNEL_PROTO);
    s.td.shared_object_fd = dmabuf;
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_GET_SHARED_OBJECT, FE_VERSION, &obj,
                        sizeof(obj), NULL, 0));
    fe_expect_reply(&s.fe, VHOST_USER_GET_SHARED_OBJECT, 8, &m);
    EXPECT_EQ(m.payload.u64, 0);
    EXPECT_EQ(m.nfds, 1);
    EXPECT_TRUE(same_file(m.fds[0], dmabuf));
    fe_msg_close_fds(&m);
    EXPECT_SUCCESS(fcntl(dmabuf, F_GETFD)); /* the device still owns it */
    EXPECT_EQ(tdev_count(&s.td, TDEV_GET_SHARED_OBJECT), 1);
    s.td.shared_object_fd = -1;
    EXPECT_TRUE(fe_call(&s.fe, VHOST_USER_GET_SHARED_OBJECT, FE_VERSION, &obj,
                        sizeof(obj), NULL, 0));
    fe_expect_reply(&s.fe, VHOST_USER_GET_SHARED_OBJECT, 8, &m);
    EXPECT_EQ(m.payload.u64, 1);
    EXPECT_EQ(m.nfds, 0);
    sess_close(&s);
    close(dmabuf);
}

/* ---- in-band notifications ---- */

/* VRING_KICK (in-band kick): starts the queue once and runs its handler. */
static void test_vring_kick_inband(void)
{
    struct vu_session s;
    struct vhost_vring_state st = { .index = 1, .num = 0 };

    sess_open(&s, MAX_Q, CHANNEL_PROTO);
    vu_set_queue_handler(&s.td.dev, &s.td.dev.vq[1], tdev_queue_handler);
    fe_set(&s.fe, VHOST_USER_VRING_KICK, &st, sizeof(st), NULL, 0);
    EXPECT_TRUE(vu_queue_started(&s.td.dev, &s.td.dev.vq[1]));
    EXPECT_EQ(tdev_count(&s.td, TDEV_QUEUE_SET_STARTED), 1);
    EXPECT_EQ(tdev_last(&s.td, TDEV_QUEUE_SET_STARTED)->qidx, 1);
    EXPECT_EQ(tdev_last(&s.td, TDEV_QUEUE_HANDLER)->qidx, 1);
    fe_set(&s.fe, VHOST_USER_VRING_KICK, &st, sizeof(st), NULL, 0);
    EXPECT_EQ(tdev_count(&s.td, TDEV_QUEUE_SET_STARTED), 1); /* once */
    EXPECT_EQ(tdev_count(&s.td, TDEV_QUEUE_HANDLER), 2);
    st.index = MAX_Q;
    fe_expect_refused(&s.fe, FE_REFUSED_ACK, VHOST_USER_VRING_KICK, FE_ACK, &st,
                      sizeof(st), NULL, 0);
    sess_close(&s);
}

/* Queue 0 running with no call fd (NOFD), one element completed. */
static void inband_queue_ready(struct channel *c)
{
    struct vu_session *s = &c->s;

    sess_memory(s);
    fe_ring_place(&s->fe, &s->rings[0], SESS_RING_GPA(0), QSIZE);
    fe_ring_setup(&s->fe, 0, &s->rings[0]);
    fe_set_vring_fd(&s->fe, VHOST_USER_SET_VRING_KICK, 0,
                    fe_kick_fd(&s->fe, 0));
    fe_set_vring_fd(&s->fe, VHOST_USER_SET_VRING_CALL, 0, -1);
    fe_ring_post(&s->rings[0], 0x80000, 64, true);
    VuVirtqElement *e = vu_queue_pop(&s->td.dev, &s->td.dev.vq[0], sizeof(*e));
    EXPECT_NOT_NULL(e);
    vu_queue_push(&s->td.dev, &s->td.dev.vq[0], e, 64);
    free(e);
}

static void test_notify_sync_inband(void)
{
    struct channel c;
    struct responder r;

    channel_open(&c, CHANNEL_PROTO);
    inband_queue_ready(&c);
    responder_start(&r, &c, 1, 0);
    responder_run(&r);
    vu_queue_notify_sync(&c.s.td.dev, &c.s.td.dev.vq[0]);
    responder_join(&r);
    EXPECT_EQ(r.got.request, VHOST_USER_BACKEND_VRING_CALL);
    EXPECT_EQ(r.got.flags, REQ_ACK_FLAGS);
    EXPECT_EQ(r.got.size, sizeof(struct vhost_vring_state));
    EXPECT_EQ(r.got.payload.state.index, 0);
    EXPECT_EQ(r.got.nfds, 0);
    EXPECT_FALSE(c.s.td.dev.broken);
    channel_close(&c);
}

/* The plain notify sends the in-band call without waiting for an ack. */
static void test_notify_inband_no_wait(void)
{
    struct channel c;
    struct fe_msg m;

    channel_open(&c, CHANNEL_PROTO);
    inband_queue_ready(&c);
    vu_queue_notify(&c.s.td.dev, &c.s.td.dev.vq[0]);
    EXPECT_EQ(fe_recv(&c.end, &m), 1);
    EXPECT_EQ(m.request, VHOST_USER_BACKEND_VRING_CALL);
    EXPECT_EQ(m.flags, REQ_FLAGS);
    EXPECT_EQ(m.payload.state.index, 0);
    channel_close(&c);
}

/* With a call eventfd the channel stays quiet: the eventfd is used. */
static void test_notify_sync_prefers_eventfd(void)
{
    struct channel c;

    channel_open(&c, CHANNEL_PROTO);
    inband_queue_ready(&c);
    fe_set_vring_fd(&c.s.fe, VHOST_USER_SET_VRING_CALL, 0,
                    fe_call_fd(&c.s.fe, 0));
    (void)fe_take_call(&c.s.fe, 0);
    vu_queue_notify_sync(&c.s.td.dev, &c.s.td.dev.vq[0]);
    EXPECT_EQ(fe_take_call(&c.s.fe, 0), 1);
    expect_channel_silent(&c);
    channel_close(&c);
}

int main(void)
{
    alarm(60);
    RUN_TEST(test_host_notifier_with_fd);
    RUN_TEST(test_host_notifier_remove);
    RUN_TEST(test_host_notifier_declined);
    RUN_TEST(test_host_notifier_bad_answers);
    RUN_TEST(test_host_notifier_ack_with_fds);
    RUN_TEST(test_host_notifier_hang_up);
    RUN_TEST(test_host_notifier_needs_features);
    RUN_TEST(test_config_change_acked);
    RUN_TEST(test_config_change_without_reply_ack);
    RUN_TEST(test_config_change_without_channel);
    RUN_TEST(test_config_change_concurrent);
    RUN_TEST(test_shared_object_add_remove);
    RUN_TEST(test_shared_object_lookup);
    RUN_TEST(test_shared_object_lookup_failures);
    RUN_TEST(test_shared_object_needs_feature);
    RUN_TEST(test_get_shared_object);
    RUN_TEST(test_vring_kick_inband);
    RUN_TEST(test_notify_sync_inband);
    RUN_TEST(test_notify_inband_no_wait);
    RUN_TEST(test_notify_sync_prefers_eventfd);
    END_TESTS();
}
