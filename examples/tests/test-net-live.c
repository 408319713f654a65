/*
 * Live test of vhost-user-net: the real binary, driven by fake frontends.
 *   reflect: frames come back with the MACs swapped; merged rx buffers
 *            (num_buffers, used lengths); a frame that does not fit gives
 *            its buffers back (rewind); SEND_RARP; malformed tx buffers.
 *   switch:  three ports: flooding of unknown destinations, learning,
 *            no merged buffers (a too-small buffer drops the frame), a
 *            port that disconnects and comes back with a fresh device.
 */
#include <endian.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <unistd.h>

#include "live-util.h"
#include "test_util.h"

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define BIT(n) (1ULL << (n))
#define QSIZE 128
#define RAM_SIZE 0x100000ull
#define RAM_UADDR 0x7f0000000000ull
#define RING_GPA(q) (0x1000ull + (q)*0x8000ull)
#define RX_GPA(i) (0x40000ull + (uint64_t)(i)*0x1000ull)
#define TX_GPA 0xc0000ull
#define HDR_LEN 12 /* virtio_net_hdr_mrg_rxbuf: VERSION_1 is negotiated */

struct port_fe {
    struct vu_frontend fe;
    struct live_ring rx, tx;
    uint16_t rx_used, tx_used;
    unsigned int rx_posted; /* rx buffers posted so far */
};

static char dir[] = "/tmp/vu-net-live-XXXXXX";

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t mac_x[6] = { 0x52, 0x54, 0, 0, 0, 0x99 };

static void *gpa(struct port_fe *p, uint64_t addr, uint64_t len)
{
    void *ptr = fe_gpa_ptr(&p->fe, addr, len);

    EXPECT_NOT_NULL(ptr);
    return ptr;
}

static void start_queue(struct port_fe *p, struct live_ring *lr, unsigned q)
{
    fe_ring_place(&p->fe, &lr->r, RING_GPA(q), QSIZE);
    lr->next_desc = 0;
    fe_ring_setup(&p->fe, q, &lr->r);
    fe_set_vring_fd(&p->fe, VHOST_USER_SET_VRING_CALL, q,
                    fe_call_fd(&p->fe, q));
    fe_set_vring_fd(&p->fe, VHOST_USER_SET_VRING_KICK, q,
                    fe_kick_fd(&p->fe, q));
    fe_set_vring_enable(&p->fe, q, 1);
}

static void port_connect(struct port_fe *p, const char *sock, bool mrg)
{
    memset(p, 0, sizeof(*p));
    live_connect(&p->fe, sock);
    fe_negotiate(&p->fe, mrg ? BIT(VIRTIO_NET_F_MRG_RXBUF) : 0,
                 P(REPLY_ACK) | P(RARP));
    fe_add_region(&p->fe, 0, RAM_SIZE, RAM_UADDR);
    fe_set_mem_table(&p->fe);
    start_queue(p, &p->rx, 0);
    start_queue(p, &p->tx, 1);
}

/* Post an rx buffer at RX_GPA(its descriptor head); returns the head. */
static uint16_t post_rx(struct port_fe *p, uint32_t len)
{
    uint16_t head = (uint16_t)(p->rx.next_desc % QSIZE);
    struct live_seg s = { RX_GPA(head), len, true };

    memset(gpa(p, s.gpa, len), 0xcc, len);
    live_post(&p->rx, &s, 1);
    p->rx_posted++;
    return head;
}

/* Send header + frame (split in two descriptors) and wait for the tx. */
static void send_frame(struct port_fe *p, const uint8_t dst[6],
                       const uint8_t src[6], uint32_t frame_len)
{
    uint8_t *buf = gpa(p, TX_GPA, HDR_LEN + frame_len);
    struct live_seg s[2] = { { TX_GPA, HDR_LEN, false },
                             { TX_GPA + HDR_LEN, frame_len, false } };
    uint32_t i;

    memset(buf, 0, HDR_LEN);
    memcpy(buf + HDR_LEN, dst, 6);
    memcpy(buf + HDR_LEN + 6, src, 6);
    for (i = 12; i < frame_len; i++) {
        buf[HDR_LEN + i] = (uint8_t)(i ^ 0x5a);
    }
    live_post(&p->tx, s, 2);
    fe_kick(&p->fe, 1);
    EXPECT_TRUE(live_wait_used(&p->tx, ++p->tx_used));
    EXPECT_EQ(live_used(&p->tx, (uint16_t)(p->tx_used - 1)).len, 0);
}

/* The next received frame is in buffer `head`: check its payload. */
static void expect_frame(struct port_fe *p, uint16_t head, const uint8_t dst[6],
                         const uint8_t src[6], uint32_t frame_len)
{
    struct vring_used_elem e = live_used(&p->rx, p->rx_used);
    uint8_t *buf = gpa(p, RX_GPA(head), HDR_LEN + frame_len);
    uint32_t i;

    EXPECT_EQ(e.id, head);
    EXPECT_EQ(e.len, HDR_LEN + frame_len);
    EXPECT_EQ(buf[10] | buf[11] << 8, 1); /* num_buffers */
    EXPECT_MEMEQ(buf + HDR_LEN, dst, 6);
    EXPECT_MEMEQ(buf + HDR_LEN + 6, src, 6);
    for (i = 12; i < frame_len; i++) {
        EXPECT_EQ(buf[HDR_LEN + i], (uint8_t)(i ^ 0x5a));
    }
    p->rx_used++;
}

/* ---- reflect mode ------------------------------------------------------ */

static struct port_fe r;

/* 100 bytes of header + frame across two 64-byte buffers. */
static void test_reflect_merged(void)
{
    uint16_t h0 = post_rx(&r, 64), h1 = post_rx(&r, 64);
    uint8_t *b0 = gpa(&r, RX_GPA(0), 64), *b1 = gpa(&r, RX_GPA(1), 64);
    uint32_t i;

    post_rx(&r, 64); /* a spare one, used by the next test */
    send_frame(&r, mac_b, mac_a, 88);
    EXPECT_TRUE(live_wait_used(&r.rx, 2));
    EXPECT_EQ(live_used(&r.rx, 0).id, h0);
    EXPECT_EQ(live_used(&r.rx, 0).len, 64);
    EXPECT_EQ(live_used(&r.rx, 1).id, h1);
    EXPECT_EQ(live_used(&r.rx, 1).len, 36);
    EXPECT_EQ(b0[10] | b0[11] << 8, 2);   /* num_buffers */
    EXPECT_MEMEQ(b0 + HDR_LEN, mac_a, 6); /* swapped */
    EXPECT_MEMEQ(b0 + HDR_LEN + 6, mac_b, 6);
    for (i = 12; i < 88; i++) {
        uint8_t got = HDR_LEN + i < 64 ? b0[HDR_LEN + i] : b1[HDR_LEN + i - 64];

        EXPECT_EQ(got, (uint8_t)(i ^ 0x5a));
    }
    EXPECT_EQ(b1[36], 0xcc); /* nothing written past the used length */
    r.rx_used = 2;
}

/* 212 bytes do not fit in the one spare buffer: dropped, buffer kept. */
static void test_reflect_rewind(void)
{
    uint16_t spare = 2, h;

    send_frame(&r, mac_b, mac_a, 200);
    EXPECT_TRUE(live_used_stays(&r.rx, 2));
    post_rx(&r, 64);
    post_rx(&r, 64);
    h = post_rx(&r, 64);
    send_frame(&r, mac_b, mac_a, 200); /* 212 bytes: 4 buffers */
    EXPECT_TRUE(live_wait_used(&r.rx, 6));
    EXPECT_EQ(live_used(&r.rx, 2).id, spare); /* the kept buffer came first */
    EXPECT_EQ(live_used(&r.rx, 5).id, h);
    EXPECT_EQ(live_used(&r.rx, 5).len, 212 - 3 * 64);
    r.rx_used = 6;
}

static void test_send_rarp(void)
{
    uint64_t mac = 0;
    uint8_t *buf;
    uint16_t h = post_rx(&r, 128);

    memcpy(&mac, mac_x, 6);
    fe_set(&r.fe, VHOST_USER_SEND_RARP, &mac, sizeof(mac), NULL, 0);
    EXPECT_TRUE(live_wait_used(&r.rx, 7));
    EXPECT_EQ(live_used(&r.rx, 6).len, HDR_LEN + 60);
    buf = (uint8_t *)gpa(&r, RX_GPA(h), 128) + HDR_LEN;
    EXPECT_EQ(live_used(&r.rx, 6).id, h);
    EXPECT_EQ(buf[0], 0xff);                   /* broadcast */
    EXPECT_MEMEQ(buf + 6, mac_x, 6);           /* from the guest's MAC */
    EXPECT_EQ(buf[12] << 8 | buf[13], 0x8035); /* RARP */
    EXPECT_EQ(buf[20] << 8 | buf[21], 3);      /* reverse request */
    EXPECT_MEMEQ(buf + 22, mac_x, 6);
    r.rx_used = 7;
}

/* A tx buffer shorter than header + Ethernet header is consumed, not sent. */
static void test_malformed_tx(void)
{
    struct live_seg s = { TX_GPA, HDR_LEN + 5, false };

    post_rx(&r, 128);
    live_post(&r.tx, &s, 1);
    fe_kick(&r.fe, 1);
    EXPECT_TRUE(live_wait_used(&r.tx, ++r.tx_used));
    EXPECT_TRUE(live_used_stays(&r.rx, 7));
}

/* More frames than the switch takes per turn, in one kick: it yields and
 * comes back until every frame is reflected. */
static void test_reflect_burst(void)
{
    struct live_seg s = { TX_GPA, HDR_LEN + 60, false };
    uint8_t *buf = gpa(&r, TX_GPA, HDR_LEN + 60);
    unsigned int i, n = 100;

    memset(buf, 0, HDR_LEN + 60);
    memcpy(buf + HDR_LEN, mac_b, 6);
    memcpy(buf + HDR_LEN + 6, mac_a, 6);
    for (i = 0; i < n; i++) {
        post_rx(&r, 128);
    }
    for (i = 0; i < n; i++) {
        live_post(&r.tx, &s, 1);
    }
    fe_kick(&r.fe, 1);
    EXPECT_TRUE(live_wait_used(&r.tx, (uint16_t)n));
    EXPECT_TRUE(live_wait_used(&r.rx, (uint16_t)n));
    for (i = 0; i < n; i++) {
        EXPECT_EQ(live_used(&r.rx, (uint16_t)i).len, HDR_LEN + 60);
    }
}

/* ---- randomised merged rx buffers ---------------------------------------
 * Random rx buffer sizes and random frames (length, content, tx split):
 * each frame must arrive in exactly the fewest buffers that hold it, with
 * num_buffers, used lengths and bytes right, or be dropped without taking
 * a single buffer.  The model is a queue of the buffers posted. */

static uint64_t rnd_state = 0x243f6a8885a308d3ull;

static uint32_t rnd(uint32_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return n ? (uint32_t)(rnd_state % n) : 0;
}

struct rx_model {
    uint16_t head[QSIZE];
    uint32_t size[QSIZE];
    unsigned int first, count; /* posted, not yet used */
};

static void model_post(struct rx_model *m, uint32_t size)
{
    unsigned int slot = (m->first + m->count) % QSIZE;

    m->size[slot] = size;
    m->head[slot] = post_rx(&r, size);
    m->count++;
}

/* Buffers the frame needs, or 0 if the posted ones cannot hold it. */
static unsigned int model_need(const struct rx_model *m, uint32_t total)
{
    uint32_t have = 0;
    unsigned int n = 0;

    while (have < total && n < m->count && n < 64) {
        have += m->size[(m->first + n) % QSIZE];
        n++;
    }
    return have >= total ? n : 0;
}

static void send_random_frame(uint8_t *frame, uint32_t len)
{
    uint8_t *buf = gpa(&r, TX_GPA, HDR_LEN + len);
    struct live_seg s[3];
    uint32_t total = HDR_LEN + len, a, b;
    unsigned int n = 0;

    memset(buf, 0, HDR_LEN);
    memcpy(buf + HDR_LEN, frame, len);
    a = rnd(total + 1);
    b = a + rnd(total - a + 1);
    if (a) {
        s[n++] = (struct live_seg){ TX_GPA, a, false };
    }
    if (b > a) {
        s[n++] = (struct live_seg){ TX_GPA + a, b - a, false };
    }
    if (total > b) {
        s[n++] = (struct live_seg){ TX_GPA + b, total - b, false };
    }
    live_post(&r.tx, s, n);
    fe_kick(&r.fe, 1);
    EXPECT_TRUE(live_wait_used(&r.tx, ++r.tx_used));
}

static void check_delivery(struct rx_model *m, const uint8_t *frame,
                           uint32_t len, unsigned int nbuf)
{
    uint8_t got[HDR_LEN + 2048];
    uint32_t off = 0, i;
    struct vring_used_elem e;
    unsigned int k, slot;

    for (k = 0; k < nbuf; k++) {
        slot = (m->first + k) % QSIZE;
        e = live_used(&r.rx, (uint16_t)(r.rx_used + k));
        EXPECT_EQ(e.id, m->head[slot]);
        EXPECT_LE(e.len, m->size[slot]);
        EXPECT_TRUE(k + 1 == nbuf || e.len == m->size[slot]); /* filled */
        memcpy(got + off, gpa(&r, RX_GPA(e.id), e.len), e.len);
        off += e.len;
    }
    EXPECT_EQ(off, HDR_LEN + len);
    EXPECT_EQ(got[10] | got[11] << 8, nbuf);
    EXPECT_MEMEQ(got + HDR_LEN, frame + 6, 6); /* swapped */
    EXPECT_MEMEQ(got + HDR_LEN + 6, frame, 6);
    for (i = 12; i < len; i++) {
        EXPECT_EQ(got[HDR_LEN + i], frame[i]);
    }
    m->first = (m->first + nbuf) % QSIZE;
    m->count -= nbuf;
    r.rx_used = (uint16_t)(r.rx_used + nbuf);
}

static void test_random_merged(void)
{
    static struct rx_model m;
    uint8_t frame[2048];
    unsigned int round, k, need, delivered = 0, dropped = 0;
    uint32_t len, i;

    for (round = 0; round < 1500; round++) {
        for (k = rnd(4); k > 0 && m.count < 24; k--) {
            model_post(&m, HDR_LEN + rnd(600));
        }
        len = 14 + rnd(sizeof(frame) - 14);
        for (i = 0; i < len; i++) {
            frame[i] = (uint8_t)rnd(256);
        }
        need = model_need(&m, HDR_LEN + len);
        send_random_frame(frame, len);
        if (need) {
            EXPECT_TRUE(live_wait_used(&r.rx, (uint16_t)(r.rx_used + need)));
            check_delivery(&m, frame, len, need);
            delivered++;
        } else {
            EXPECT_EQ(le16toh(r.rx.r.used->idx), r.rx_used); /* nothing */
            dropped++;
        }
    }
    EXPECT_LT(300, delivered);
    EXPECT_LT(100, dropped);
}

/* An extra option for every run of the example (NULL: none). */
static char *extra_arg;

static void run_reflect(void)
{
    char sock[128];
    char *argv[] = { NET_BIN, "--reflect", "--socket-path",
                     sock,    extra_arg,   NULL };
    pid_t pid;

    snprintf(sock, sizeof(sock), "%s/reflect.sock", dir);
    pid = live_spawn(argv, sock);
    port_connect(&r, sock, true);
    RUN_TEST(test_reflect_merged);
    RUN_TEST(test_reflect_rewind);
    RUN_TEST(test_send_rarp);
    RUN_TEST(test_malformed_tx);
    fe_destroy(&r.fe);
    port_connect(&r, sock, true); /* a fresh device on the same port */
    RUN_TEST(test_reflect_burst);
    fe_destroy(&r.fe);
    port_connect(&r, sock, true);
    RUN_TEST(test_random_merged);
    fe_destroy(&r.fe);
    live_stop(pid, SIGINT);
}

/* ---- switch mode ------------------------------------------------------- */

static struct port_fe sw[3];
static char sw_sock[3][128];

static void post_big(struct port_fe *p)
{
    post_rx(p, 2048);
}

static void test_flood_then_learn(void)
{
    uint16_t h1 = post_rx(&sw[1], 2048), h2 = post_rx(&sw[2], 2048), h0;

    /* A to an unknown B: B and C get a copy, A nothing. */
    send_frame(&sw[0], mac_b, mac_a, 60);
    EXPECT_TRUE(live_wait_used(&sw[1].rx, 1));
    EXPECT_TRUE(live_wait_used(&sw[2].rx, 1));
    expect_frame(&sw[1], h1, mac_b, mac_a, 60);
    expect_frame(&sw[2], h2, mac_b, mac_a, 60);
    /* B answers A, whose port was learned: only A gets it. */
    h0 = post_rx(&sw[0], 2048);
    post_big(&sw[2]);
    send_frame(&sw[1], mac_a, mac_b, 70);
    EXPECT_TRUE(live_wait_used(&sw[0].rx, 1));
    expect_frame(&sw[0], h0, mac_a, mac_b, 70);
    EXPECT_TRUE(live_used_stays(&sw[2].rx, 1));
    /* And now A to B goes to B alone. */
    h1 = post_rx(&sw[1], 2048);
    send_frame(&sw[0], mac_b, mac_a, 80);
    EXPECT_TRUE(live_wait_used(&sw[1].rx, 2));
    expect_frame(&sw[1], h1, mac_b, mac_a, 80);
    EXPECT_TRUE(live_used_stays(&sw[2].rx, 1));
}

/* Without merged rx buffers a frame must fit in one buffer. */
static void test_no_merge_drop(void)
{
    uint16_t small = post_rx(&sw[1], 64);

    send_frame(&sw[0], mac_b, mac_a, 100);
    EXPECT_TRUE(live_used_stays(&sw[1].rx, 2));
    send_frame(&sw[0], mac_b, mac_a, 40); /* fits: takes the kept buffer */
    EXPECT_TRUE(live_wait_used(&sw[1].rx, 3));
    expect_frame(&sw[1], small, mac_b, mac_a, 40);
}

/* A RARP for C's guest goes to the other ports, and the switch learns
 * where that MAC lives. */
static void test_switch_rarp(void)
{
    uint16_t h0 = post_rx(&sw[0], 2048), h1 = post_rx(&sw[1], 2048), h2;
    uint64_t mac = 0;
    uint8_t *buf;

    memcpy(&mac, mac_x, 6);
    post_rx(&sw[2], 2048);
    fe_set(&sw[2].fe, VHOST_USER_SEND_RARP, &mac, sizeof(mac), NULL, 0);
    EXPECT_TRUE(live_wait_used(&sw[0].rx, ++sw[0].rx_used));
    EXPECT_TRUE(live_wait_used(&sw[1].rx, ++sw[1].rx_used));
    buf = (uint8_t *)gpa(&sw[0], RX_GPA(h0), 128) + HDR_LEN;
    EXPECT_EQ(buf[12] << 8 | buf[13], 0x8035);
    EXPECT_MEMEQ(buf + 6, mac_x, 6);
    buf = (uint8_t *)gpa(&sw[1], RX_GPA(h1), 128) + HDR_LEN;
    EXPECT_EQ(buf[12] << 8 | buf[13], 0x8035);
    EXPECT_TRUE(live_used_stays(&sw[2].rx, sw[2].rx_used));
    /* Traffic for that MAC now goes to C alone (A has a spare buffer). */
    post_rx(&sw[0], 2048);
    send_frame(&sw[1], mac_x, mac_b, 64);
    EXPECT_TRUE(live_wait_used(&sw[2].rx, (uint16_t)(sw[2].rx_used + 1)));
    h2 = (uint16_t)live_used(&sw[2].rx, sw[2].rx_used).id;
    expect_frame(&sw[2], h2, mac_x, mac_b, 64);
    EXPECT_TRUE(live_used_stays(&sw[0].rx, sw[0].rx_used));
}

/* B leaves: its MAC is forgotten; a new B gets a fresh device. */
static void test_port_comes_back(void)
{
    uint16_t h2, h1;

    fe_destroy(&sw[1].fe);
    usleep(100 * 1000);                   /* let the switch see the hang-up */
    send_frame(&sw[0], mac_b, mac_a, 60); /* unknown again: C gets it */
    EXPECT_TRUE(live_wait_used(&sw[2].rx, (uint16_t)(sw[2].rx_used + 1)));
    h2 = (uint16_t)live_used(&sw[2].rx, sw[2].rx_used).id;
    expect_frame(&sw[2], h2, mac_b, mac_a, 60);
    port_connect(&sw[1], sw_sock[1], false);
    h1 = post_rx(&sw[1], 2048);
    send_frame(&sw[0], mac_b, mac_a, 60);
    EXPECT_TRUE(live_wait_used(&sw[1].rx, 1));
    expect_frame(&sw[1], h1, mac_b, mac_a, 60);
}

static void run_switch(void)
{
    char *argv[11] = { NET_BIN, "--poll-us", "0" }; /* the kick-only path */
    unsigned int i;
    pid_t pid;

    for (i = 0; i < 3; i++) {
        snprintf(sw_sock[i], sizeof(sw_sock[i]), "%s/port%u.sock", dir, i);
        argv[3 + 2 * i] = "--socket-path";
        argv[4 + 2 * i] = sw_sock[i];
    }
    argv[9] = extra_arg;
    pid = live_spawn(argv, sw_sock[2]);
    for (i = 0; i < 3; i++) {
        port_connect(&sw[i], sw_sock[i], false);
    }
    RUN_TEST(test_flood_then_learn);
    RUN_TEST(test_no_merge_drop);
    RUN_TEST(test_switch_rarp);
    RUN_TEST(test_port_comes_back);
    for (i = 0; i < 3; i++) {
        fe_destroy(&sw[i].fe);
    }
    live_stop(pid, SIGTERM);
}

int main(int argc, char **argv)
{
    /* test-net-live --single-api: the same tests on the example's
     * per-element path. */
    if (argc > 1) {
        extra_arg = argv[1];
    }
    alarm(60);
    EXPECT_NOT_NULL(mkdtemp(dir));
    run_reflect();
    run_switch();
    rmdir(dir);
    END_TESTS();
}
