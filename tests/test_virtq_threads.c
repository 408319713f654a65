/*
 * One thread per queue, as virtiofsd runs them: concurrent pop, push and
 * notify on different queues of one device, with dirty logging on (the log
 * bitmap is shared by all queues).  Meant for ThreadSanitizer as well as
 * plain runs: no data race, no lost completion, no lost log bit.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <pthread.h>
#include <sys/eventfd.h>

#define QUEUES 2
#define ROUNDS 20000
#define NUM 8

static struct fake_guest g;
static uint8_t log_bits[4096];

struct worker {
    unsigned q;
    unsigned done;
};

/* The driver side of queue q lives in this thread too: post, then serve. */
static void *serve(void *arg)
{
    struct worker *w = arg;
    VuVirtq *vq = fg_vq(&g, w->q);
    /* Each queue writes into its own page range: 0x40000 + q * 0x10000. */
    uint64_t buf = 0x40000 + 0x10000ULL * w->q;

    fg_desc(&g, w->q, 0, buf, 64, VRING_DESC_F_NEXT, 1);
    fg_desc(&g, w->q, 1, buf + 0x1000, 0x1000, VRING_DESC_F_WRITE, 0);
    for (unsigned i = 0; i < ROUNDS; i++) {
        VuVirtqElement *e;

        fg_avail_add(&g, w->q, 0);
        e = vu_queue_pop(&g.dev, vq, sizeof(*e));
        if (!e) {
            break;
        }
        vu_queue_push(&g.dev, vq, e, 0x1000);
        vu_queue_notify(&g.dev, vq);
        free(e);
        w->done++;
    }
    return NULL;
}

static void test_queues_in_parallel(void)
{
    struct worker w[QUEUES];
    pthread_t th[QUEUES];
    int call[QUEUES];

    fg_init(&g, QUEUES);
    g.dev.features |= 1ULL << VHOST_F_LOG_ALL;
    g.dev.log_table = log_bits;
    g.dev.log_size = sizeof(log_bits);
    for (unsigned q = 0; q < QUEUES; q++) {
        fg_setup_queue(&g, q, NUM);
        fg_vq(&g, q)->vring.flags = 1u << VHOST_VRING_F_LOG;
        call[q] = fg_set_call_eventfd(&g, q);
        w[q] = (struct worker){ .q = q };
    }
    for (unsigned q = 0; q < QUEUES; q++) {
        EXPECT_EQ(pthread_create(&th[q], NULL, serve, &w[q]), 0);
    }
    for (unsigned q = 0; q < QUEUES; q++) {
        pthread_join(th[q], NULL);
    }
    if (g.dev.broken) {
        VU_TEST_FAIL("device broken: %s", g.last_panic);
    }
    for (unsigned q = 0; q < QUEUES; q++) {
        uint64_t page = (0x41000 + 0x10000ULL * q) >> 12;

        EXPECT_EQ(w[q].done, ROUNDS);
        EXPECT_EQ(fg_used_idx(&g, q), (uint16_t)ROUNDS);
        EXPECT_EQ(fg_eventfd_count(call[q]), ROUNDS);
        /* The written page and the used ring page of each queue. */
        EXPECT_TRUE(log_bits[page / 8] & (1u << (page % 8)));
        page = g.q[q].used >> 12;
        EXPECT_TRUE(log_bits[page / 8] & (1u << (page % 8)));
    }
    g.dev.log_table = NULL; /* not a mapping of ours: vu_deinit skips it */
    g.dev.log_size = 0;
    fg_destroy(&g);
}

int main(void)
{
    RUN_TEST(test_queues_in_parallel);
    END_TESTS();
}
