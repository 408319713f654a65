/*
 * The fake frontend in connected mode: the device runs in a child process
 * behind a listening unix socket (as a real backend would), the frontend
 * connects to the path and drives a handshake with blocking, timed reads.
 * This is the mode the benchmarks use; a refused message must still be
 * answered across the process boundary.
 */
#include "frontend.h"
#include "test_util.h"

#include <linux/virtio_config.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define QSIZE 128

static int listen_on(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    EXPECT_SUCCESS(s);
    EXPECT_LT(strlen(path), sizeof(sa.sun_path));
    strcpy(sa.sun_path, path);
    EXPECT_SUCCESS(bind(s, (struct sockaddr *)&sa, sizeof(sa)));
    EXPECT_SUCCESS(listen(s, 1));
    return s;
}

/* Child: serve one connection until EOF; status 0 if never broken. */
static void serve_one(int listener)
{
    struct test_device *td = calloc(1, sizeof(*td));
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

    close(listener);
    if (!td || conn < 0) {
        _exit(2);
    }
    tdev_init(td, 2, conn);
    td->protocol_features = P(CONFIG);
    while (vu_dispatch(&td->dev)) {
    }
    int status = td->dev.broken ? 1 : 0;
    tdev_deinit(td);
    free(td);
    _exit(status);
}

static void drive(struct vu_frontend *fe)
{
    struct fe_ring ring;
    struct fe_msg m;

    fe_negotiate(fe, 0, P(MQ) | P(REPLY_ACK) | P(CONFIG));
    EXPECT_TRUE(fe->need_reply);
    EXPECT_EQ(fe_get_u64(fe, VHOST_USER_GET_QUEUE_NUM), 2);
    fe_add_region(fe, 0, 0x100000, 0x7f0000000000ull);
    fe_set_mem_table(fe);
    fe_ring_place(fe, &ring, 0x1000, QSIZE);
    fe_ring_setup(fe, 0, &ring);
    fe_set_vring_fd(fe, VHOST_USER_SET_VRING_KICK, 0, fe_kick_fd(fe, 0));
    /* A refusal crosses the process boundary as a failed ack. */
    struct vhost_vring_state bad = { .index = 7, .num = QSIZE };
    EXPECT_EQ(
        fe_call_acked(fe, VHOST_USER_SET_VRING_NUM, &bad, sizeof(bad), NULL, 0),
        1);
    VhostUserConfig c;
    EXPECT_EQ(fe_get_config(fe, 0, 16, &c), 16);
    EXPECT_EQ(fe_get_vring_base(fe, 0), 0);
    /* Nothing else is pending. */
    fe->timeout_ms = 100;
    EXPECT_EQ(fe_recv(fe, &m), 0);
}

static void test_connected_mode(void)
{
    char dir[] = "/tmp/vu-remote-XXXXXX";
    char path[128];

    EXPECT_NOT_NULL(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sock", dir);
    int listener = listen_on(path);
    fflush(NULL);
    pid_t child = fork();
    EXPECT_SUCCESS(child);
    if (child == 0) {
        serve_one(listener);
    }
    close(listener);
    struct vu_frontend fe;
    EXPECT_TRUE(fe_connect_path(&fe, path, 5000));
    drive(&fe);
    fe_destroy(&fe); /* EOF: the child's vu_dispatch returns false */
    int status = 0;
    EXPECT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    unlink(path);
    rmdir(dir);
}

/* Nobody listening: connect gives up after the timeout, no fd left. */
static void test_connect_timeout(void)
{
    struct vu_frontend fe;
    int before = test_open_fd_count();

    EXPECT_FALSE(fe_connect_path(&fe, "/tmp/vu-remote-nonexistent/sock", 50));
    EXPECT_EQ(fe.sock, -1);
    EXPECT_EQ(test_open_fd_count(), before);
}

int main(void)
{
    alarm(60);
    RUN_TEST(test_connected_mode);
    RUN_TEST(test_connect_timeout);
    END_TESTS();
}
