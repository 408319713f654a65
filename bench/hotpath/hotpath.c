/*
 * vu-hotpath: the cost of one vu_queue_pop + vu_queue_push (+ free of the
 * element) on fake guest memory (tests/support/fake_guest.h), for chains of
 * --chain descriptors, direct or --indirect, with --regions memory regions.
 *
 * Meant to run under callgrind:
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=hot_op_measured \
 *     vu-hotpath --chain 3 --regions 509 --ops 2000
 * Only hot_op_measured() is counted; Ir per op = total Ir / ops.  The guest
 * side (writing descriptors and the avail ring) is outside it.
 *
 * --batch N: each op is one vu_queue_pop_batch of N chains and one
 * vu_queue_push_batch of them (vhost-user-ext.h); report Ir / (ops * N).
 *
 * Layout: region i covers gpa [i * 2 MiB, i * 2 MiB + 256 KiB) (holes in
 * between).  The rings live in region 0.  --layout same (default): every
 * buffer and the indirect table in the last region; --layout spread: each
 * buffer of a chain in a different region (131 regions apart).
 */
#include "fake_guest.h"

#include "internal.h"
#include "vhost-user-ext.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGION_STRIDE (2ULL << 20)
#define REGION_SIZE (256ULL << 10)
#define RING_NUM 256
#define BUF_LEN 512u

static struct fake_guest g;
static unsigned chain = 1, nregions = 1, ops = 1000, batch;
static VuVirtqElement batch_elem[RING_NUM];
static struct iovec batch_iov[VIRTQUEUE_MAX_SIZE];
static bool indirect, spread;
static uint64_t table_gpa;

static uint64_t region_gpa(unsigned i)
{
    return (uint64_t)i * REGION_STRIDE;
}

/* Region of buffer k: "same" puts every buffer in the last region (a
 * typical guest: one chain, one region; the last one so that no search
 * gets lucky on its first probe); "spread" puts consecutive buffers in
 * regions far apart (worst case for any per-chain region cache). */
static unsigned buf_region(unsigned k)
{
    if (!spread) {
        return nregions - 1;
    }
    return (unsigned)((nregions - 1 + (uint64_t)k * 131) % nregions);
}

static uint64_t buf_gpa(unsigned k)
{
    /* past the rings when it is region 0 */
    return region_gpa(buf_region(k)) + 0x10000 + (uint64_t)k * BUF_LEN;
}

static uint16_t desc_flags(unsigned k)
{
    uint16_t f = k + 1 < chain ? VRING_DESC_F_NEXT : 0;

    if (k >= (chain + 1) / 2) { /* first half readable, rest writable */
        f |= VRING_DESC_F_WRITE;
    }
    return f;
}

/* Head of copy j of the chain (several copies in batch mode: a head cannot
 * be in flight twice). */
static unsigned head_of(unsigned j)
{
    return indirect ? j : j * chain;
}

/* Write the chains once: the descriptors never change between ops. */
static void build_chains(unsigned copies)
{
    unsigned j, k;

    if (indirect) {
        table_gpa = region_gpa(spread ? nregions / 3 : nregions - 1) + 0x8000;
        for (k = 0; k < chain; k++) {
            fg_table_desc(&g, table_gpa, k, buf_gpa(k), BUF_LEN, desc_flags(k),
                          (uint16_t)(k + 1));
        }
    }
    for (j = 0; j < copies; j++) {
        if (indirect) {
            fg_desc(&g, 0, j, table_gpa, 16u * chain, VRING_DESC_F_INDIRECT, 0);
            continue;
        }
        for (k = 0; k < chain; k++) {
            fg_desc(&g, 0, head_of(j) + k, buf_gpa(k), BUF_LEN, desc_flags(k),
                    (uint16_t)(head_of(j) + k + 1));
        }
    }
}

static void post_chains(void)
{
    for (unsigned j = 0; j < (batch ? batch : 1); j++) {
        fg_avail_add(&g, 0, (uint16_t)head_of(j));
    }
}

static inline void pop_push(void)
{
    VuVirtq *vq = fg_vq(&g, 0);
    VuVirtqElement *e = vu_queue_pop(&g.dev, vq, sizeof(*e));

    if (!e) {
        fprintf(stderr, "vu-hotpath: pop failed: %s\n", g.last_panic);
        exit(2);
    }
    if (e->out_num + e->in_num != chain) {
        fprintf(stderr, "vu-hotpath: chain of %u, expected %u\n",
                e->out_num + e->in_num, chain);
        exit(2);
    }
    vu_queue_push(&g.dev, vq, e, BUF_LEN);
    free(e);
}

static inline void pop_push_batch(void)
{
    static unsigned lens[RING_NUM];
    VuVirtq *vq = fg_vq(&g, 0);
    unsigned n = vu_queue_pop_batch(&g.dev, vq, batch_elem, batch, batch_iov,
                                    VIRTQUEUE_MAX_SIZE);

    if (n != batch) {
        fprintf(stderr, "vu-hotpath: batch pop gave %u of %u: %s\n", n, batch,
                g.last_panic);
        exit(2);
    }
    for (unsigned j = 0; j < n; j++) {
        lens[j] = BUF_LEN;
    }
    vu_queue_push_batch(&g.dev, vq, batch_elem, lens, n);
}

static inline void one_op(void)
{
    if (batch) {
        pop_push_batch();
    } else {
        pop_push();
    }
}

void hot_op_warm(void);
void hot_op_measured(void);

__attribute__((noinline)) void hot_op_warm(void)
{
    one_op();
}

__attribute__((noinline)) void hot_op_measured(void)
{
    one_op();
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "chain", required_argument, NULL, 'c' },
        { "regions", required_argument, NULL, 'r' },
        { "ops", required_argument, NULL, 'n' },
        { "indirect", no_argument, NULL, 'i' },
        { "layout", required_argument, NULL, 'l' },
        { "batch", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    unsigned i;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'c':
            chain = (unsigned)atoi(optarg);
            break;
        case 'r':
            nregions = (unsigned)atoi(optarg);
            break;
        case 'n':
            ops = (unsigned)atoi(optarg);
            break;
        case 'i':
            indirect = true;
            break;
        case 'l':
            spread = strcmp(optarg, "spread") == 0;
            break;
        case 'b':
            batch = (unsigned)atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: vu-hotpath [--chain N] [--indirect] "
                            "[--regions N] [--ops N] [--layout same|spread] "
                            "[--batch N]\n");
            return 1;
        }
    }
    if (chain < 1 || chain > 64 || nregions < 1 ||
        nregions > VHOST_USER_MAX_RAM_SLOTS || ops < 1 ||
        (indirect ? batch : batch * chain) > RING_NUM) {
        fprintf(stderr, "vu-hotpath: bad arguments\n");
        return 1;
    }
    fg_init_empty(&g, 1);
    g.dev.features |=
        (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    for (i = 0; i < nregions; i++) {
        fg_add_region(&g, region_gpa(i), REGION_SIZE);
    }
    if (g.dev.nregions != nregions) {
        fprintf(stderr, "vu-hotpath: device has %u regions\n",
                (unsigned)g.dev.nregions);
        return 2;
    }
    fg_setup_queue_at(&g, 0, RING_NUM, 0x0, 0x4000, 0x5000);
    build_chains(batch ? batch : 1);
    for (i = 0; i < 64; i++) {
        post_chains();
        hot_op_warm();
    }
    for (i = 0; i < ops; i++) {
        post_chains();
        hot_op_measured();
    }
    if (g.panics) {
        fprintf(stderr, "vu-hotpath: device failed: %s\n", g.last_panic);
        return 2;
    }
    printf("chain=%u indirect=%d regions=%u spread=%d ops=%u batch=%u "
           "used_idx=%u\n",
           chain, indirect, nregions, spread, ops, batch, fg_used_idx(&g, 0));
    fg_destroy(&g);
    return 0;
}
