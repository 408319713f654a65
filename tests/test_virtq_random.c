/*
 * Randomised rings: a seeded generator writes descriptor tables, indirect
 * tables and avail entries that are sometimes valid and often not, then the
 * device pops, pushes, rewinds, counts and notifies.  Whatever the guest
 * wrote:
 *  - pop returns NULL (empty, or the device broken with a reason) or an
 *    element whose every iovec lies inside one of the library's own
 *    mappings, with at most 1024 iovecs and less than 4 GiB in total;
 *  - nothing hangs (CTest's timeout) and nothing leaks (valgrind/ASan runs).
 * A failure prints the seed; rerun with VU_RANDOM_SEED=<seed>.
 */
#include "fake_guest.h"
#include "internal.h"
#include "test_util.h"

#include <sys/eventfd.h>

#define ROUNDS 4000
#define NUM 16
#define MAX_HELD 8

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: small, deterministic, enough to vary the rings */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* Guest addresses near the interesting places: region starts and ends, the
 * A/B split, the hole, nowhere. */
static uint64_t random_addr(void)
{
    static const uint64_t spots[] = {
        FG_HEAP_BASE,           FG_REGION_B, FG_HOLE,         FG_REGION_C,
        FG_REGION_C + 0x100000, 0x40000000,  UINT64_MAX - 64,
    };
    uint64_t base = spots[pick(sizeof(spots) / sizeof(spots[0]))];

    return base + pick(256) - 128;
}

static uint32_t random_len(void)
{
    switch (pick(8)) {
    case 0:
        return 0;
    case 1:
        return 0xffffffffu - pick(16);
    case 2:
        return 16 * (1 + pick(1100));
    default:
        return 1 + pick(300);
    }
}

static uint16_t random_flags(void)
{
    uint16_t f = (uint16_t)pick(8);

    if (pick(20) == 0) {
        f |= (uint16_t)(1u << (3 + pick(13)));
    }
    return f;
}

/* Chance (out of 8) that a descriptor is well formed, varied per round. */
static unsigned good_odds;

/* A descriptor a correct driver could write: a small buffer in region A,
 * or one across the A/B split, chained upwards (so chains end), readable in
 * the lower half of the table and writable in the upper half. */
static void good_desc(struct fake_guest *g, uint64_t table, unsigned i,
                      unsigned size)
{
    uint64_t addr = pick(4) ? 0x40000 + 512 * pick(64) : FG_REGION_B - 64;
    uint16_t flags = i >= size / 2 ? VRING_DESC_F_WRITE : 0;
    uint16_t next = 0;

    if (i + 1 < size && pick(2)) {
        flags |= VRING_DESC_F_NEXT;
        next = (uint16_t)(i + 1 + pick(size - i - 1));
    }
    fg_table_desc(g, table, i, addr, 1 + pick(128), flags, next);
}

static void random_desc(struct fake_guest *g, uint64_t table, unsigned i,
                        unsigned size)
{
    uint16_t next = pick(8) ? (uint16_t)pick(size) : (uint16_t)rnd();
    uint16_t flags = random_flags();

    if (pick(8) < good_odds) {
        good_desc(g, table, i, size);
        return;
    }

    /* Mostly direct buffers, so that chains get somewhere. */
    if (pick(3)) {
        flags &= (uint16_t)~VRING_DESC_F_INDIRECT;
    }
    fg_table_desc(g, table, i, random_addr(), random_len(), flags, next);
}

/* An indirect table in region A, or straddling the A/B split. */
static uint64_t random_table(struct fake_guest *g, unsigned entries)
{
    uint64_t t = pick(2) ? FG_HEAP_BASE + 0x1000 : FG_REGION_B - 16 * pick(8);

    for (unsigned i = 0; i < entries; i++) {
        random_desc(g, t, i, entries);
    }
    return t;
}

static void randomise_descriptors(struct fake_guest *g)
{
    for (unsigned i = 0; i < NUM; i++) {
        unsigned entries = 1 + pick(8);

        if (pick(4)) {
            random_desc(g, g->q[0].desc, i, NUM);
            continue;
        }
        bool good = pick(8) < good_odds;

        fg_desc(g, 0, i, random_table(g, entries),
                good || pick(6) ? 16 * entries : random_len(),
                (uint16_t)(VRING_DESC_F_INDIRECT |
                           (good || pick(6) ? 0 : VRING_DESC_F_NEXT)),
                (uint16_t)pick(NUM));
    }
}

static void randomise_avail(struct fake_guest *g)
{
    unsigned n = pick(NUM + 1);
    uint16_t heads[NUM];

    /* Distinct heads in a random order, then some guest mischief. */
    for (unsigned i = 0; i < NUM; i++) {
        unsigned j = pick(i + 1);

        heads[i] = heads[j];
        heads[j] = (uint16_t)i;
    }
    for (unsigned i = 0; i < n; i++) {
        bool good = pick(8) < good_odds;

        fg_avail_add(g, 0, good || pick(4) ? heads[i] : (uint16_t)rnd());
    }
    if (good_odds < 8 && pick(10) == 0) {
        fg_set_avail_idx(g, 0, (uint16_t)rnd());
    }
    fg_set_avail_flags(g, 0, (uint16_t)pick(2));
    fg_set_used_event(g, 0, (uint16_t)pick(2 * NUM));
}

static bool in_a_mapping(const VuDev *dev, const struct iovec *v)
{
    const struct vu_impl *impl = vu_impl(dev);
    uintptr_t lo = (uintptr_t)v->iov_base;

    for (uint32_t i = 0; i < dev->nregions; i++) {
        uintptr_t base = (uintptr_t)impl->maps[i].base;

        if (lo >= base && v->iov_len <= impl->maps[i].len &&
            lo - base <= impl->maps[i].len - v->iov_len) {
            return true;
        }
    }
    return false;
}

static void check_element(const struct fake_guest *g, const VuVirtqElement *e)
{
    uint64_t total = 0;

    EXPECT_LT(e->index, NUM);
    EXPECT_LE(e->in_num + e->out_num, VIRTQUEUE_MAX_SIZE);
    for (unsigned k = 0; k < e->out_num + e->in_num; k++) {
        const struct iovec *v =
            k < e->out_num ? &e->out_sg[k] : &e->in_sg[k - e->out_num];

        if (v->iov_len == 0 || !in_a_mapping(&g->dev, v)) {
            VU_TEST_FAIL("seed %" PRIu64 ": iovec %u outside guest memory",
                         rng_state, k);
        }
        total += v->iov_len;
    }
    EXPECT_LE(total, UINT32_MAX);
}

static void play_round(struct fake_guest *g)
{
    VuVirtqElement *held[MAX_HELD];
    unsigned nheld = 0, in, out;
    VuVirtq *vq = fg_vq(g, 0);

    for (unsigned step = 0; step < 12; step++) {
        switch (pick(5)) {
        case 0:
        case 1:
            if (nheld < MAX_HELD) {
                held[nheld] = vu_queue_pop(&g->dev, vq, sizeof(*held[0]));
                if (held[nheld]) {
                    check_element(g, held[nheld++]);
                } else if (g->dev.broken) {
                    EXPECT_TRUE(g->last_panic[0] != '\0');
                }
            }
            break;
        case 2:
            if (nheld > 0) {
                unsigned k = pick(nheld);

                vu_queue_push(&g->dev, vq, held[k], pick(512));
                free(held[k]);
                held[k] = held[--nheld];
                vu_queue_notify(&g->dev, vq);
            }
            break;
        case 3:
            vu_queue_get_avail_bytes(&g->dev, vq, &in, &out, pick(4096),
                                     pick(4096));
            break;
        default:
            if (nheld > 0 && vu_queue_rewind(&g->dev, vq, 1)) {
                free(held[--nheld]);
            }
            break;
        }
    }
    while (nheld > 0) {
        free(held[--nheld]);
    }
}

static void test_random_rings(void)
{
    struct fake_guest g;
    const char *env = getenv("VU_RANDOM_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 0x5eed1234abcdULL;
    unsigned broken = 0, popped_ok = 0;

    fg_init(&g, 1);
    fg_set_call_eventfd(&g, 0);
    for (unsigned round = 0; round < ROUNDS; round++) {
        rng_state = seed + round * 0x9e3779b97f4a7c15ULL;
        (void)rnd();
        vu_vring_reset(&g.dev, fg_vq(&g, 0));
        g.dev.broken = false;
        g.last_panic[0] = '\0';
        good_odds = pick(9);
        g.dev.features =
            (good_odds == 8 || pick(2) ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC
                                       : 0) |
            (pick(2) ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
            (pick(2) ? 1ULL << VIRTIO_F_NOTIFY_ON_EMPTY : 0);
        fg_setup_queue(&g, 0, NUM);
        randomise_descriptors(&g);
        randomise_avail(&g);
        play_round(&g);
        broken += g.dev.broken;
        popped_ok += fg_used_idx(&g, 0) > 0;
    }
    fprintf(stderr, "  %u rounds: %u ended broken, %u completed something\n",
            ROUNDS, broken, popped_ok);
    /* The generator must reach both outcomes to be worth anything. */
    EXPECT_LT(0, broken);
    EXPECT_LT(0, popped_ok);
    (void)fg_eventfd_count(fg_vq(&g, 0)->call_fd);
    fg_destroy(&g);
}

int main(void)
{
    RUN_TEST(test_random_rings);
    END_TESTS();
}
