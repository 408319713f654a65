/*
 * vu-blkbench: a userspace vhost-user-blk frontend that measures a
 * backend's IOPS.  It connects to the backend's unix socket, negotiates,
 * gives it one memfd region of guest memory and 1..N split virtqueues, then
 * keeps `depth` read requests in flight per queue for `time` seconds.
 *
 * Like a guest driver it publishes requests on the avail ring, kicks the
 * kick eventfd when the backend asks for it, and waits for completions on
 * the call eventfds (or spins on the used ring with --poll).
 *
 * With two --socket options it drives two backends in alternating windows
 * (ABBA...), so that both see the same background load; it then reports
 * both and their ratio.
 *
 * Output: one line of key=value pairs on stdout.
 */
#include "vuc.h"

#include "libvhost-user.h"

#include <errno.h>
#include <getopt.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_QUEUES 8
#define MAX_DEPTH 128
#define SECTOR 512u
#define DESC_PER_REQ 3u

struct bq {
    unsigned num;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx, kicked_idx, last_used;
    int kick_fd, call_fd;
    uint64_t hdr_gpa, data_gpa, status_gpa;
    uint64_t seq_sector;
    unsigned inflight;
    unsigned pending; /* published since the last kick decision */
};

struct opts {
    unsigned queues;
    unsigned depth; /* per queue */
    unsigned bs;
    bool seq;
    double time, warmup;
    bool poll;
    bool event_idx;
    bool verify;
    unsigned slices;
    uint64_t ios; /* stop each window after this many completions */
};

/* One connected backend. */
struct bdev {
    const char *socket;
    int backend_pid;
    struct vuc c;
    struct bq qs[MAX_QUEUES];
    uint64_t capacity_sectors;
    uint64_t completed, kicks, waits, errors;
    uint64_t total; /* every completion on this connection */
};

static struct opts o;
static struct bdev devs[2];
static unsigned ndevs = 1;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
/* The device being driven (the helpers below work on it). */
static struct bdev *cur;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool has_feature(unsigned bit)
{
    return cur->c.features & (1ULL << bit);
}

static uint16_t *used_event(struct bq *q)
{
    return &q->avail->ring[q->num];
}

static uint16_t *avail_event(struct bq *q)
{
    return (uint16_t *)&q->used->ring[q->num];
}

static void layout_queue(struct bq *q, unsigned idx, uint64_t *next_gpa)
{
    uint64_t g = *next_gpa, desc, avail, used;
    unsigned s;

    q->num = 256;
    desc = g;
    g += 16ULL * q->num;
    avail = g;
    g += 6 + 2ULL * q->num;
    g = (g + 4095) & ~4095ULL;
    used = g;
    g += 6 + 8ULL * q->num;
    g = (g + 4095) & ~4095ULL;
    q->hdr_gpa = g;
    g += 16ULL * MAX_DEPTH;
    q->status_gpa = g;
    g += MAX_DEPTH;
    g = (g + 4095) & ~4095ULL;
    q->data_gpa = g;
    g += (uint64_t)o.bs * o.depth;
    g = (g + 4095) & ~4095ULL;
    *next_gpa = g;
    q->desc = vuc_ptr(&cur->c, desc);
    q->avail = vuc_ptr(&cur->c, avail);
    q->used = vuc_ptr(&cur->c, used);
    /* Fixed chains: slot s uses descriptors 3s, 3s+1, 3s+2. */
    for (s = 0; s < o.depth; s++) {
        struct vring_desc *d = &q->desc[DESC_PER_REQ * s];

        d[0].addr = q->hdr_gpa + 16ULL * s;
        d[0].len = sizeof(struct virtio_blk_outhdr);
        d[0].flags = VRING_DESC_F_NEXT;
        d[0].next = (uint16_t)(DESC_PER_REQ * s + 1);
        d[1].addr = q->data_gpa + (uint64_t)o.bs * s;
        d[1].len = o.bs;
        d[1].flags = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE;
        d[1].next = (uint16_t)(DESC_PER_REQ * s + 2);
        d[2].addr = q->status_gpa + s;
        d[2].len = 1;
        d[2].flags = VRING_DESC_F_WRITE;
        d[2].next = 0;
    }
    q->avail->flags = o.poll ? VRING_AVAIL_F_NO_INTERRUPT : 0;
    q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (q->kick_fd < 0 || q->call_fd < 0) {
        perror("eventfd");
        exit(2);
    }
    vuc_start_queue(&cur->c, idx, q->num, desc, avail, used, q->kick_fd,
                    q->call_fd);
}

static void submit(struct bq *q, unsigned slot)
{
    struct virtio_blk_outhdr *h = vuc_ptr(&cur->c, q->hdr_gpa + 16ULL * slot);
    uint8_t *status = vuc_ptr(&cur->c, q->status_gpa + slot);
    uint64_t per = o.bs / SECTOR, blocks = cur->capacity_sectors / per;

    h->type = VIRTIO_BLK_T_IN;
    h->ioprio = 0;
    if (o.seq) {
        h->sector = q->seq_sector;
        q->seq_sector += per;
        if (q->seq_sector + per > cur->capacity_sectors) {
            q->seq_sector = 0;
        }
    } else {
        h->sector = (next_rand() % blocks) * per;
    }
    *status = 0xff;
    if (o.verify) {
        memset(vuc_ptr(&cur->c, q->data_gpa + (uint64_t)o.bs * slot), 0xa5,
               o.bs);
    }
    q->avail->ring[q->avail_idx % q->num] = (uint16_t)(DESC_PER_REQ * slot);
    q->avail_idx++;
    q->inflight++;
    q->pending++;
}

/* Make the new avail entries visible and kick if the backend wants it. */
static void publish(struct bq *q)
{
    uint16_t old = q->kicked_idx, now = q->avail_idx;
    bool kick;

    if (q->pending == 0) {
        return;
    }
    q->pending = 0;
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&q->avail->idx, now, __ATOMIC_RELAXED);
    atomic_thread_fence(memory_order_seq_cst);
    if (has_feature(VIRTIO_RING_F_EVENT_IDX)) {
        uint16_t ev = __atomic_load_n(avail_event(q), __ATOMIC_RELAXED);

        kick = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        kick = !(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED) &
                 VRING_USED_F_NO_NOTIFY);
    }
    q->kicked_idx = now;
    if (kick) {
        uint64_t one = 1;

        if (write(q->kick_fd, &one, sizeof(one)) != sizeof(one)) {
            perror("kick");
            exit(2);
        }
        cur->kicks++;
    }
}

/* Reap completions of q, resubmitting each slot when `refill`.  Returns
 * how many completed. */
static unsigned reap(struct bq *q, bool refill)
{
    uint16_t used_idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
    unsigned n = 0;

    while (q->last_used != used_idx) {
        struct vring_used_elem *e = &q->used->ring[q->last_used % q->num];
        unsigned slot = e->id / DESC_PER_REQ;
        uint8_t status = *(uint8_t *)vuc_ptr(&cur->c, q->status_gpa + slot);

        if (e->id % DESC_PER_REQ || slot >= o.depth || status != 0) {
            cur->errors++;
            if (cur->errors < 5) {
                fprintf(stderr, "bad completion: id %u status %u\n", e->id,
                        status);
            }
        }
        if (o.verify) {
            uint8_t *d = vuc_ptr(&cur->c, q->data_gpa + (uint64_t)o.bs * slot);

            if (d[0] != 0 || d[o.bs - 1] != 0) {
                cur->errors++;
            }
        }
        q->last_used++;
        q->inflight--;
        n++;
        if (refill) {
            submit(q, slot);
        }
    }
    if (has_feature(VIRTIO_RING_F_EVENT_IDX)) {
        __atomic_store_n(used_event(q), q->last_used, __ATOMIC_RELAXED);
    }
    return n;
}

static void wait_calls(void)
{
    struct pollfd p[MAX_QUEUES];
    unsigned i;
    uint64_t v;

    for (i = 0; i < o.queues; i++) {
        p[i].fd = cur->qs[i].call_fd;
        p[i].events = POLLIN;
    }
    cur->waits++;
    if (poll(p, o.queues, 5000) <= 0) {
        fprintf(stderr, "vu-blkbench: no completion for 5 s\n");
        exit(3);
    }
    for (i = 0; i < o.queues; i++) {
        if (p[i].revents & POLLIN) {
            if (read(p[i].fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
                perror("call");
                exit(2);
            }
        }
    }
}

/* Run until `until`; when drain, stop submitting and wait for every
 * request in flight. */
static void run_loop(double until, bool drain)
{
    unsigned spins = 0;

    for (;;) {
        unsigned got = 0, i, inflight = 0;

        for (i = 0; i < o.queues; i++) {
            got += reap(&cur->qs[i], !drain);
            publish(&cur->qs[i]);
            inflight += cur->qs[i].inflight;
        }
        cur->completed += got;
        cur->total += got;
        if (drain ? inflight == 0
                  : (o.ios ? cur->completed >= o.ios : vuc_now() >= until)) {
            return;
        }
        if (got || o.poll) {
            spins = 0;
            continue;
        }
        /* Nothing new: arm notifications (done in reap), re-check, sleep. */
        atomic_thread_fence(memory_order_seq_cst);
        for (i = 0; i < o.queues; i++) {
            if (__atomic_load_n(&cur->qs[i].used->idx, __ATOMIC_ACQUIRE) !=
                cur->qs[i].last_used) {
                break;
            }
        }
        if (i == o.queues && ++spins > 0) {
            wait_calls();
        }
    }
}

static double cpu_seconds_of(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;

    if (pid <= 0) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        buf[0] = 0;
    }
    fclose(f);
    p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2) {
        return 0;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void read_capacity(void)
{
    struct {
        uint32_t offset, size, flags;
        uint8_t region[36];
    } __attribute__((packed)) cfg = { 0, 36, 0, { 0 } };
    uint32_t n;

    cur->capacity_sectors = 2ULL << 30 >> 9; /* when CONFIG is not offered */
    if (!(cur->c.proto_features & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG))) {
        return;
    }
    vuc_send(&cur->c, VHOST_USER_GET_CONFIG, 0, &cfg, sizeof(cfg), NULL, 0);
    n = vuc_recv_reply(&cur->c, VHOST_USER_GET_CONFIG, &cfg, sizeof(cfg));
    if (n != sizeof(cfg)) {
        fprintf(stderr, "GET_CONFIG: reply of %u bytes\n", n);
        exit(2);
    }
    memcpy(&cur->capacity_sectors, cfg.region, 8);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: vu-blkbench --socket PATH [--socket PATH2] [--queues N]\n"
            "       [--depth D]"
            "       [--bs BYTES] [--rw randread|read] [--time S] "
            "[--warmup S]\n"
            "       [--poll] [--no-event-idx] [--verify] [--backend-pid P]...\n"
            "       [--slices K] [--ios N]\n"
            "  --ios N ends each measured window after N completions (for\n"
            "  instruction counts: total_ios counts every completion).\n"
            "  With two sockets the two backends are measured in alternating\n"
            "  windows (A B B A A B ...) of time/slices seconds each; keys of\n"
            "  the output are prefixed a_ and b_, ratio = a/b.\n"
            "  depth is per queue; --poll spins on the used ring with\n"
            "  interrupts suppressed instead of waiting on call eventfds.\n");
    exit(1);
}

static void parse(int argc, char **argv)
{
    static const struct option lo[] = {
        { "socket", required_argument, NULL, 's' },
        { "queues", required_argument, NULL, 'q' },
        { "depth", required_argument, NULL, 'd' },
        { "bs", required_argument, NULL, 'b' },
        { "rw", required_argument, NULL, 'r' },
        { "time", required_argument, NULL, 't' },
        { "warmup", required_argument, NULL, 'w' },
        { "poll", no_argument, NULL, 'p' },
        { "no-event-idx", no_argument, NULL, 'E' },
        { "verify", no_argument, NULL, 'V' },
        { "backend-pid", required_argument, NULL, 'P' },
        { "slices", required_argument, NULL, 'S' },
        { "ios", required_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    unsigned pids = 0;
    int ch;

    o = (struct opts){ .slices = 8,
                       .queues = 1,
                       .depth = 1,
                       .bs = 4096,
                       .time = 3,
                       .warmup = 0.5,
                       .event_idx = true };
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (ndevs == 2 && devs[0].socket) {
                usage();
            }
            devs[devs[0].socket ? 1 : 0].socket = optarg;
            ndevs = devs[1].socket ? 2 : 1;
            break;
        case 'q':
            o.queues = (unsigned)atoi(optarg);
            break;
        case 'd':
            o.depth = (unsigned)atoi(optarg);
            break;
        case 'b':
            o.bs = (unsigned)atoi(optarg);
            break;
        case 'r':
            o.seq = strcmp(optarg, "read") == 0;
            break;
        case 't':
            o.time = atof(optarg);
            break;
        case 'w':
            o.warmup = atof(optarg);
            break;
        case 'p':
            o.poll = true;
            break;
        case 'E':
            o.event_idx = false;
            break;
        case 'V':
            o.verify = true;
            break;
        case 'P':
            devs[pids < 2 ? pids : 1].backend_pid = atoi(optarg);
            pids++;
            break;
        case 'S':
            o.slices = (unsigned)atoi(optarg);
            break;
        case 'I':
            o.ios = strtoull(optarg, NULL, 0);
            break;
        default:
            usage();
        }
    }
    if (!devs[0].socket || o.slices < 1 || o.slices > 256 || o.queues < 1 ||
        o.queues > MAX_QUEUES || o.depth < 1 || o.depth > MAX_DEPTH ||
        o.bs < SECTOR || o.bs % SECTOR || o.time <= 0) {
        usage();
    }
}

static void setup_device(struct bdev *d)
{
    uint64_t want = 0, gpa = 0, mem;
    unsigned i;

    cur = d;
    vuc_connect(&cur->c, d->socket, 10000);
    if (o.event_idx) {
        want |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
    }
    if (o.queues > 1) {
        want |= 1ULL << VIRTIO_BLK_F_MQ;
    }
    vuc_negotiate(&cur->c, want,
                  (1ULL << VHOST_USER_PROTOCOL_F_MQ) |
                      (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
                      (1ULL << VHOST_USER_PROTOCOL_F_CONFIG));
    if (o.queues > 1) {
        uint64_t n;

        if (!has_feature(VIRTIO_BLK_F_MQ) ||
            !(cur->c.proto_features & (1ULL << VHOST_USER_PROTOCOL_F_MQ))) {
            fprintf(stderr, "%s: backend does not offer multiqueue\n",
                    d->socket);
            exit(2);
        }
        n = vuc_get_u64(&cur->c, VHOST_USER_GET_QUEUE_NUM);
        if (n < o.queues) {
            fprintf(stderr, "%s: backend has %llu queues\n", d->socket,
                    (unsigned long long)n);
            exit(2);
        }
    }
    read_capacity();
    if (cur->capacity_sectors < 2ULL * o.bs / SECTOR) {
        fprintf(stderr, "%s: device too small\n", d->socket);
        exit(2);
    }
    mem = o.queues * ((uint64_t)o.bs * o.depth + (64 << 10)) + (1 << 20);
    mem = (mem + (2 << 20) - 1) & ~((2ULL << 20) - 1);
    vuc_setup_memory(&cur->c, mem);
    for (i = 0; i < o.queues; i++) {
        cur->qs[i].seq_sector = cur->capacity_sectors / o.queues * i /
                                (o.bs / SECTOR) * (o.bs / SECTOR);
        layout_queue(&cur->qs[i], i, &gpa);
    }
    if (gpa > mem) {
        fprintf(stderr, "layout overflow\n");
        exit(2);
    }
}

struct window {
    uint64_t ios, kicks, waits;
    double secs, be_cpu, fe_cpu;
};

/* Fill every queue to depth, run for secs, drain.  Only completions inside
 * the window count. */
static struct window measure(struct bdev *d, double secs)
{
    struct window w;
    double t0, t1, be0, fe0;
    unsigned i, s;

    cur = d;
    for (i = 0; i < o.queues; i++) {
        for (s = 0; s < o.depth; s++) {
            submit(&cur->qs[i], s);
        }
    }
    cur->completed = cur->kicks = cur->waits = 0;
    t0 = vuc_now();
    be0 = cpu_seconds_of(d->backend_pid);
    fe0 = self_cpu();
    run_loop(t0 + secs, false);
    t1 = vuc_now();
    w.be_cpu = cpu_seconds_of(d->backend_pid) - be0;
    w.fe_cpu = self_cpu() - fe0;
    w.ios = cur->completed;
    w.kicks = cur->kicks;
    w.waits = cur->waits;
    w.secs = t1 - t0;
    run_loop(0, true);
    return w;
}

static void teardown(struct bdev *d)
{
    unsigned i;

    cur = d;
    for (i = 0; i < o.queues; i++) {
        unsigned base = vuc_stop_queue(&cur->c, i);

        if (base != cur->qs[i].avail_idx) {
            fprintf(stderr, "queue %u: backend stopped at %u, not %u\n", i,
                    base, cur->qs[i].avail_idx);
            cur->errors++;
        }
    }
    vuc_close(&cur->c);
}

static void add(struct window *sum, const struct window *w)
{
    sum->ios += w->ios;
    sum->kicks += w->kicks;
    sum->waits += w->waits;
    sum->secs += w->secs;
    sum->be_cpu += w->be_cpu;
    sum->fe_cpu += w->fe_cpu;
}

static void report(const char *pfx, const struct bdev *d,
                   const struct window *w)
{
    double n = (double)w->ios;

    printf("%siops=%.0f ", pfx, n / w->secs);
    printf("%smbps=%.1f ", pfx, n * o.bs / w->secs / 1e6);
    printf("%sios=%llu ", pfx, (unsigned long long)w->ios);
    printf("%ssecs=%.3f ", pfx, w->secs);
    printf("%skicks_per_io=%.3f ", pfx, n > 0 ? (double)w->kicks / n : 0);
    printf("%swaits_per_io=%.3f ", pfx, n > 0 ? (double)w->waits / n : 0);
    printf("%sbe_cpu=%.3f ", pfx, w->be_cpu / w->secs);
    printf("%sfe_cpu=%.3f ", pfx, w->fe_cpu / w->secs);
    printf("%serrors=%llu ", pfx, (unsigned long long)d->errors);
    printf("%stotal_ios=%llu ", pfx, (unsigned long long)d->total);
    printf("%sfeatures=0x%llx ", pfx, (unsigned long long)d->c.features);
    printf("%sproto=0x%llx ", pfx, (unsigned long long)d->c.proto_features);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct window sum[2], w[2];
    double ratios[256], slice;
    unsigned i, k;
    int rc = 0;

    parse(argc, argv);
    memset(sum, 0, sizeof(sum));
    for (i = 0; i < ndevs; i++) {
        setup_device(&devs[i]);
    }
    for (i = 0; i < ndevs; i++) {
        measure(&devs[i], o.warmup); /* warm up: not counted */
    }
    if (ndevs == 1) {
        sum[0] = measure(&devs[0], o.time);
        report("", &devs[0], &sum[0]);
        printf("capacity=%llu\n", (unsigned long long)devs[0].capacity_sectors);
    } else {
        /* A B, B A, A B, ...: each pair of adjacent windows gives a ratio
         * and both devices see the same background on average. */
        slice = o.time / o.slices;
        for (k = 0; k < o.slices; k++) {
            unsigned first = k % 2;

            w[first] = measure(&devs[first], slice);
            w[!first] = measure(&devs[!first], slice);
            add(&sum[0], &w[0]);
            add(&sum[1], &w[1]);
            ratios[k] = (w[0].ios / w[0].secs) / (w[1].ios / w[1].secs);
        }
        qsort(ratios, o.slices, sizeof(ratios[0]), cmp_double);
        report("a_", &devs[0], &sum[0]);
        report("b_", &devs[1], &sum[1]);
        printf("ratio=%.4f slice_ratio_median=%.4f slice_ratio_min=%.4f "
               "slice_ratio_max=%.4f slices=%u\n",
               (sum[0].ios / sum[0].secs) / (sum[1].ios / sum[1].secs),
               o.slices % 2
                   ? ratios[o.slices / 2]
                   : (ratios[o.slices / 2 - 1] + ratios[o.slices / 2]) / 2,
               ratios[0], ratios[o.slices - 1], o.slices);
    }
    for (i = 0; i < ndevs; i++) {
        teardown(&devs[i]);
        if (devs[i].errors) {
            rc = 4;
        }
    }
    return rc;
}
