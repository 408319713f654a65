/*
 * A frontend that stops in the middle of a message must not freeze the
 * backend: on a non-blocking socket the reader waits a bounded time for the
 * rest, then gives up on the connection with a reason.  (A process serving
 * several frontends from one loop would otherwise stall them all.)
 */
#include "frontend.h"
#include "test_util.h"

#include <fcntl.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stall_after(size_t bytes_sent, const char *what)
{
    struct vu_frontend fe;
    struct test_device t;
    uint8_t msg[12 + 8] = {
        VHOST_USER_SET_FEATURES, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0
    };
    double t0;

    fe_init_pair(&fe);
    EXPECT_SUCCESS(
        fcntl(fe.dev_sock, F_SETFL, fcntl(fe.dev_sock, F_GETFL) | O_NONBLOCK));
    tdev_init(&t, 1, fe.dev_sock);
    EXPECT_TRUE(fe_send_raw(&fe, msg, bytes_sent, NULL, 0));
    t0 = now_s();
    EXPECT_FALSE(
        vu_dispatch(&t.dev)); /* gives up: the connection is to close */
    EXPECT_TRUE(now_s() - t0 < 30.0);
    EXPECT_TRUE(t.dev.broken);
    EXPECT_CONTAINS(t.panic_msg, what);
    tdev_deinit(&t);
    fe_destroy(&fe);
}

static void test_stall_in_header(void)
{
    stall_after(6, "middle of a message");
}

static void test_stall_in_payload(void)
{
    stall_after(14, "middle of a message");
}

int main(void)
{
    RUN_TEST(test_stall_in_header);
    RUN_TEST(test_stall_in_payload);
    END_TESTS();
}
