/*
 * Live test of vhost-user-blk: the real binary, driven over its socket by
 * the fake frontend.  Checks the handshake (features, queue count, config
 * space with len honoured, the wce byte), requests through a real ring
 * (read, write, get-id, flush, discard and malformed ones), the re-accept
 * of a fresh device after a disconnect, and a clean exit on SIGTERM.
 */
#include <endian.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "live-util.h"
#include "test_util.h"

#define P(x) (1ULL << VHOST_USER_PROTOCOL_F_##x)
#define BIT(n) (1ULL << (n))
#define QSIZE 256
#define RAM_SIZE 0x100000ull
#define RAM_UADDR 0x7f0000000000ull
#define RING_GPA 0x1000ull
#define HDR_GPA 0x10000ull    /* request header */
#define DATA_GPA 0x20000ull   /* data buffers */
#define STATUS_GPA 0x30000ull /* status byte */
#define DISK_SECTORS 2048u    /* 1 MiB */
#define WCE_OFFSET offsetof(struct virtio_blk_config, wce)

static char dir[] = "/tmp/vu-blk-live-XXXXXX";
static char image[128], sock[128];
static int image_fd;
static struct vu_frontend fe;
static struct live_ring ring;
static uint16_t completed;

static void handshake(void)
{
    uint64_t want = BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_CONFIG_WCE) |
                    BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
                    BIT(VIRTIO_BLK_F_MQ) | BIT(VIRTIO_BLK_F_SEG_MAX) |
                    BIT(VIRTIO_BLK_F_BLK_SIZE);
    uint64_t proto = P(MQ) | P(REPLY_ACK) | P(CONFIG) | P(INFLIGHT_SHMFD) |
                     P(CONFIGURE_MEM_SLOTS);

    live_connect(&fe, sock);
    EXPECT_FALSE(fe_get_features(&fe) & BIT(VIRTIO_BLK_F_RO));
    fe_negotiate(&fe, want, proto);
    EXPECT_EQ(fe_get_u64(&fe, VHOST_USER_GET_QUEUE_NUM), 2);
}

static void test_config_space(void)
{
    struct virtio_blk_config cfg;
    VhostUserConfig c;
    uint8_t off = 0;

    /* QEMU 7.2 asks for 60 bytes: it gets exactly 60. */
    EXPECT_EQ(fe_get_config(&fe, 0, 60, &c), 60);
    memcpy(&cfg, c.region, 60);
    EXPECT_EQ(le64toh(cfg.capacity), DISK_SECTORS);
    EXPECT_EQ(le32toh(cfg.blk_size), 512);
    EXPECT_EQ(le16toh(cfg.num_queues), 2);
    EXPECT_EQ(cfg.wce, 1);
    EXPECT_EQ(fe_get_config(&fe, 0, 8, &c), 8);
    /* The guest switches to write-through: only the wce byte changes. */
    fe_set_config(&fe, WCE_OFFSET, &off, 1);
    EXPECT_EQ(fe_get_config(&fe, 0, sizeof(cfg), &c), sizeof(cfg));
    memcpy(&cfg, c.region, sizeof(cfg));
    EXPECT_EQ(cfg.wce, 0);
    EXPECT_EQ(le64toh(cfg.capacity), DISK_SECTORS);
}

static void setup_queue(void)
{
    fe_add_region(&fe, 0, RAM_SIZE, RAM_UADDR);
    fe_set_mem_table(&fe);
    fe_ring_place(&fe, &ring.r, RING_GPA, QSIZE);
    ring.next_desc = 0;
    completed = 0;
    fe_ring_setup(&fe, 0, &ring.r);
    fe_set_vring_fd(&fe, VHOST_USER_SET_VRING_CALL, 0, fe_call_fd(&fe, 0));
    fe_set_vring_fd(&fe, VHOST_USER_SET_VRING_KICK, 0, fe_kick_fd(&fe, 0));
    fe_set_vring_enable(&fe, 0, 1);
}

static void *gpa(uint64_t addr, uint64_t len)
{
    void *p = fe_gpa_ptr(&fe, addr, len);

    EXPECT_NOT_NULL(p);
    return p;
}

static void put_header(uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = { htole32(type), 0, htole64(sector) };

    memcpy(gpa(HDR_GPA, sizeof(h)), &h, sizeof(h));
}

/* Post a chain, kick, wait; returns the status byte, *used_len the length. */
static uint8_t submit(const struct live_seg *segs, unsigned int n,
                      uint32_t *used_len)
{
    struct vring_used_elem e;

    *(uint8_t *)gpa(STATUS_GPA, 1) = 0xee;
    live_post(&ring, segs, n);
    fe_kick(&fe, 0);
    EXPECT_TRUE(live_wait_used(&ring, (uint16_t)(completed + 1)));
    e = live_used(&ring, completed++);
    if (used_len) {
        *used_len = e.len;
    }
    return *(uint8_t *)gpa(STATUS_GPA, 1);
}

static uint8_t request(uint32_t type, uint64_t sector, uint32_t data_len,
                       bool data_in, uint32_t *used_len)
{
    struct live_seg segs[3] = {
        { HDR_GPA, 16, false },
        { DATA_GPA, data_len, data_in },
        { STATUS_GPA, 1, true },
    };

    put_header(type, sector);
    if (data_len == 0) {
        segs[1] = segs[2];
        return submit(segs, 2, used_len);
    }
    return submit(segs, 3, used_len);
}

static void test_write_then_read(void)
{
    uint8_t *data = gpa(DATA_GPA, 4096), disk[4096];
    uint32_t len;
    int i;

    for (i = 0; i < 4096; i++) {
        data[i] = (uint8_t)(i * 13 + 1);
    }
    EXPECT_EQ(request(VIRTIO_BLK_T_OUT, 16, 4096, false, &len),
              VIRTIO_BLK_S_OK);
    EXPECT_EQ(len, 1);
    EXPECT_EQ(pread(image_fd, disk, sizeof(disk), 16 * 512), 4096);
    EXPECT_MEMEQ(disk, data, 4096);
    memset(data, 0, 4096);
    EXPECT_EQ(request(VIRTIO_BLK_T_IN, 16, 4096, true, &len), VIRTIO_BLK_S_OK);
    EXPECT_EQ(len, 4097);
    EXPECT_MEMEQ(disk, data, 4096);
    EXPECT_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len), VIRTIO_BLK_S_OK);
}

static void test_get_id(void)
{
    char *id = gpa(DATA_GPA, VIRTIO_BLK_ID_BYTES);
    uint32_t len;

    EXPECT_EQ(request(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true, &len),
              VIRTIO_BLK_S_OK);
    EXPECT_EQ(len, VIRTIO_BLK_ID_BYTES + 1);
    EXPECT_EQ(memcmp(id, "disk.img", 9), 0); /* the image's name */
}

static void test_bad_requests(void)
{
    struct virtio_blk_discard_write_zeroes *seg = gpa(DATA_GPA, sizeof(*seg));
    struct live_seg short_hdr[2] = { { HDR_GPA, 8, false },
                                     { STATUS_GPA, 1, true } };
    struct live_seg no_status[2] = { { HDR_GPA, 16, false },
                                     { DATA_GPA, 512, false } };
    uint32_t len;

    EXPECT_EQ(request(VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true, &len),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(len, 1);
    EXPECT_EQ(request(VIRTIO_BLK_T_IN, UINT64_MAX / 256, 512, true, NULL),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(request(VIRTIO_BLK_T_OUT, 0, 100, false, NULL),
              VIRTIO_BLK_S_IOERR);
    EXPECT_EQ(request(42, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
    put_header(VIRTIO_BLK_T_IN, 0);
    EXPECT_EQ(submit(short_hdr, 2, &len), VIRTIO_BLK_S_IOERR);
    put_header(VIRTIO_BLK_T_OUT, 0);
    submit(no_status, 2, &len);
    EXPECT_EQ(len, 0); /* nothing could be written back */
    *seg =
        (struct virtio_blk_discard_write_zeroes){ htole64(3), htole32(8), 0 };
    EXPECT_EQ(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(*seg), false, NULL),
              VIRTIO_BLK_S_IOERR); /* not 4 KiB aligned */
    seg->sector = htole64(8);
    EXPECT_EQ(request(VIRTIO_BLK_T_DISCARD, 0, sizeof(*seg), false, NULL),
              VIRTIO_BLK_S_OK);
}

/* More requests than the device handles per turn (it yields and comes
 * back): all complete after a single kick. */
static void test_burst(void)
{
    struct live_seg segs[2] = { { HDR_GPA, 16, false },
                                { STATUS_GPA, 1, true } };
    unsigned int i, n = 100;

    put_header(VIRTIO_BLK_T_FLUSH, 0);
    ring.next_desc = 0; /* everything before is complete */
    for (i = 0; i < n; i++) {
        live_post(&ring, segs, 2);
    }
    fe_kick(&fe, 0);
    EXPECT_TRUE(live_wait_used(&ring, (uint16_t)(completed + n)));
    for (i = 0; i < n; i++) {
        EXPECT_EQ(live_used(&ring, (uint16_t)(completed + i)).len, 1);
    }
    completed = (uint16_t)(completed + n);
    EXPECT_EQ(*(uint8_t *)gpa(STATUS_GPA, 1), VIRTIO_BLK_S_OK);
}

/* After the frontend goes, the next connection gets a fresh device. */
static void test_reconnect(void)
{
    VhostUserConfig c;

    fe_destroy(&fe);
    live_connect(&fe, sock);
    fe_negotiate(&fe, 0, P(CONFIG) | P(REPLY_ACK));
    EXPECT_EQ(fe_get_config(&fe, 0, 60, &c), 60);
    EXPECT_EQ(c.region[WCE_OFFSET], 1); /* back to write-back */
    fe_destroy(&fe);
}

/* --fd with a connected socket: serve that one frontend, then exit. */
static void test_fd_connected(void)
{
    char *argv[] = { BLK_BIN, "--null", "--poll-us", "0", "--fd", "3", NULL };
    struct vu_frontend f;
    int sv[2];
    pid_t pid;

    EXPECT_SUCCESS(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    pid = live_spawn_with_fd(argv, sv[1]);
    close(sv[1]);
    fe_init_fd(&f, sv[0]);
    f.timeout_ms = 5000;
    EXPECT_TRUE(fe_get_features(&f) & BIT(VIRTIO_F_VERSION_1));
    fe_destroy(&f);
    live_wait_exit(pid);
}

/* --fd with a listening socket: accept frontends one after the other. */
static void test_fd_listening(void)
{
    char *argv[] = { BLK_BIN, "--null", "--poll-us", "0", "--fd", "3", NULL };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct vu_frontend f;
    int lsock, i;
    pid_t pid;

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fd.sock", dir);
    lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_SUCCESS(lsock);
    EXPECT_SUCCESS(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)));
    EXPECT_SUCCESS(listen(lsock, 1));
    pid = live_spawn_with_fd(argv, lsock);
    close(lsock);
    for (i = 0; i < 2; i++) {
        live_connect(&f, sa.sun_path);
        EXPECT_TRUE(fe_get_features(&f) & BIT(VIRTIO_F_VERSION_1));
        fe_destroy(&f);
    }
    live_stop(pid, SIGTERM);
    unlink(sa.sun_path);
}

int main(void)
{
    char *argv[] = { BLK_BIN, "--blk-file",    image, "--num-queues",
                     "2",     "--socket-path", sock,  NULL };
    pid_t pid;

    alarm(60);
    EXPECT_NOT_NULL(mkdtemp(dir));
    snprintf(image, sizeof(image), "%s/disk.img", dir);
    snprintf(sock, sizeof(sock), "%s/blk.sock", dir);
    image_fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_SUCCESS(image_fd);
    EXPECT_SUCCESS(ftruncate(image_fd, DISK_SECTORS * 512));
    pid = live_spawn(argv, sock);

    handshake();
    RUN_TEST(test_config_space);
    setup_queue();
    RUN_TEST(test_write_then_read);
    RUN_TEST(test_get_id);
    RUN_TEST(test_bad_requests);
    RUN_TEST(test_burst);
    RUN_TEST(test_reconnect);

    live_stop(pid, SIGTERM);
    EXPECT_EQ(access(sock, F_OK), -1); /* the socket is gone */
    RUN_TEST(test_fd_connected);
    RUN_TEST(test_fd_listening);
    close(image_fd);
    unlink(image);
    rmdir(dir);
    END_TESTS();
}
