/*
 * Unit tests of the examples' epoll loop: dispatch, stale events after a
 * watch changes, table growth, the idle hook and signal shutdown.
 */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "event-loop.h"
#include "test_util.h"

static struct ev_loop loop;
static int calls[4];
static int last_revents;
static int fds[2][2];

static void stop_on_idle(void *opaque)
{
    (void)opaque;
    ev_loop_stop(&loop);
}

static void count0(int fd, int revents, void *opaque)
{
    char c;

    (void)opaque;
    EXPECT_EQ(read(fd, &c, 1), 1);
    last_revents = revents;
    calls[0]++;
}

static void test_dispatch(void)
{
    EXPECT_EQ(pipe(fds[0]), 0);
    EXPECT_EQ(ev_watch_set(&loop, fds[0][0], EV_IN, count0, NULL), 0);
    EXPECT_TRUE(ev_watching(&loop, fds[0][0]));
    EXPECT_EQ(write(fds[0][1], "x", 1), 1);
    ev_loop_set_idle_hook(&loop, stop_on_idle, NULL);
    EXPECT_EQ(ev_loop_run(&loop), 0);
    EXPECT_EQ(calls[0], 1);
    EXPECT_EQ(last_revents, EV_IN);
    ev_watch_remove(&loop, fds[0][0]);
    EXPECT_FALSE(ev_watching(&loop, fds[0][0]));
    ev_watch_remove(&loop, fds[0][0]); /* twice: harmless */
    close(fds[0][0]);
    close(fds[0][1]);
}

static void never(int fd, int revents, void *opaque)
{
    (void)fd;
    (void)revents;
    (void)opaque;
    calls[3]++;
}

/* Whichever of the two ready pipes runs first replaces the other's watch
 * with one on a new, idle pipe: its queued event must not reach it. */
static void replace_other(int fd, int revents, void *opaque)
{
    int other = (int)(intptr_t)opaque, fresh[2];

    (void)revents;
    calls[fd == fds[0][0] ? 1 : 2]++;
    if (calls[1] + calls[2] > 1) {
        return;
    }
    ev_watch_remove(&loop, fds[other][0]);
    close(fds[other][0]);
    EXPECT_EQ(pipe(fresh), 0); /* likely reuses the closed number */
    fds[other][0] = fresh[0];
    close(fds[other][1]);
    fds[other][1] = fresh[1];
    EXPECT_EQ(ev_watch_set(&loop, fresh[0], EV_IN, never, NULL), 0);
}

static void test_stale_events(void)
{
    int i;

    for (i = 0; i < 2; i++) {
        EXPECT_EQ(pipe(fds[i]), 0);
        EXPECT_EQ(write(fds[i][1], "x", 1), 1);
        EXPECT_EQ(ev_watch_set(&loop, fds[i][0], EV_IN, replace_other,
                               (void *)(intptr_t)(1 - i)),
                  0);
    }
    EXPECT_EQ(ev_loop_run(&loop), 0);
    EXPECT_EQ(calls[1] + calls[2], 1);
    EXPECT_EQ(calls[3], 0);
    for (i = 0; i < 2; i++) {
        ev_watch_remove(&loop, fds[i][0]);
        close(fds[i][0]);
        close(fds[i][1]);
    }
}

static void test_errors_and_growth(void)
{
    int p[2], high;

    EXPECT_EQ(ev_watch_set(&loop, -1, EV_IN, never, NULL), -EINVAL);
    EXPECT_EQ(ev_watch_set(&loop, 0, EV_IN, NULL, NULL), -EINVAL);
    EXPECT_EQ(ev_watch_set(&loop, 999, EV_IN, never, NULL), -EBADF);
    EXPECT_FALSE(ev_watching(&loop, 999));
    EXPECT_EQ(pipe(p), 0);
    high = dup2(p[0], 300); /* beyond the initial table */
    EXPECT_EQ(high, 300);
    EXPECT_EQ(ev_watch_set(&loop, high, EV_IN, never, NULL), 0);
    EXPECT_TRUE(ev_watching(&loop, high));
    /* Watching again modifies the watch instead of failing. */
    EXPECT_EQ(ev_watch_set(&loop, high, EV_IN | EV_OUT, never, NULL), 0);
    ev_watch_remove(&loop, high);
    close(high);
    close(p[0]);
    close(p[1]);
}

static int deferred_runs[2];

static void deferred(void *opaque)
{
    int which = (int)(intptr_t)opaque;

    deferred_runs[which]++;
    if (which == 1 && deferred_runs[1] < 3) {
        EXPECT_EQ(ev_defer(&loop, deferred, opaque), 0); /* again, later */
    }
}

static int idle_rounds;

static void count_rounds(void *opaque)
{
    (void)opaque;
    if (++idle_rounds == 3) { /* the last round with deferred work */
        ev_loop_stop(&loop);
    }
}

/* Deferred work runs after the next poll, which does not block while work
 * is pending (no fd is ready here: a blocking poll would hang the test). */
static void test_defer(void)
{
    EXPECT_EQ(ev_defer(&loop, deferred, (void *)0), 0);
    EXPECT_EQ(ev_defer(&loop, deferred, (void *)0), 0); /* not twice */
    EXPECT_EQ(ev_defer(&loop, deferred, (void *)1), 0);
    ev_loop_set_idle_hook(&loop, count_rounds, NULL);
    alarm(5);
    EXPECT_EQ(ev_loop_run(&loop), 0);
    alarm(0);
    EXPECT_EQ(deferred_runs[0], 1);
    EXPECT_EQ(deferred_runs[1], 3); /* re-deferred twice, once per round */
    EXPECT_EQ(idle_rounds, 3);
    EXPECT_EQ(loop.ndeferred, 0);
}

static void test_signal_stops(void)
{
    ev_loop_set_idle_hook(&loop, NULL, NULL);
    EXPECT_EQ(raise(SIGTERM), 0); /* blocked: waits in the signalfd */
    EXPECT_EQ(ev_loop_run(&loop), 0);
    EXPECT_EQ(loop.stop_signal, SIGTERM);
    EXPECT_EQ(raise(SIGINT), 0);
    EXPECT_EQ(ev_loop_run(&loop), 0);
    EXPECT_EQ(loop.stop_signal, SIGINT);
}

int main(void)
{
    EXPECT_EQ(ev_loop_init(&loop), 0);
    test_dispatch();
    test_stale_events();
    test_errors_and_growth();
    test_defer();
    test_signal_stops();
    ev_loop_fini(&loop);
    printf("test-event-loop: all passed\n");
    return 0;
}
