/*
 * A fake vhost-user frontend for tests, plus a recording device.
 *
 * Two modes:
 *  - in-process: fe_init_pair() makes a socketpair; the device end goes to
 *    vu_init() (see tdev_init) and fe_attach() lets every fe_call() run
 *    vu_dispatch() on the same thread right after writing the message, so a
 *    reply (if any) is already queued when fe_recv() looks, non-blockingly.
 *  - connected: fe_connect_path() talks to a backend in another process over
 *    a unix socket; replies are awaited with a timeout.
 *
 * Guest memory is memfd-backed; the frontend keeps its own mapping of every
 * region so tests can write rings and buffers.  The region's "userspace
 * address" is just a number the test picks; only the backend uses it.
 *
 * Functions named fe_expect_* and the helpers built on them exit the process
 * (test failure) on any protocol mismatch, printing the request name.
 */
#ifndef VU_TEST_FRONTEND_H
#define VU_TEST_FRONTEND_H

#include "libvhost-user.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Header flags of a request from us: version 1. */
#define FE_VERSION 0x1u
/* The only flags a valid reply may carry. */
#define FE_REPLY_FLAGS (FE_VERSION | VHOST_USER_REPLY_MASK)
#define FE_HDR_SIZE 12u
#define FE_MAX_REGIONS 16
#define FE_MAX_QUEUES 16
/* More than the library accepts, so tests can send too many. */
#define FE_MAX_FDS 16
/* Replies larger than this are a failure (QEMU's bound is smaller). */
#define FE_MAX_REPLY_PAYLOAD 4096u

struct fe_region {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;       /* frontend virtual address told to the backend */
    uint64_t mmap_offset; /* offset of the region in the memfd */
    uint64_t file_size;   /* size of the memfd */
    int fd;               /* memfd, owned by the frontend */
    uint8_t *map;         /* frontend mapping of the whole memfd */
};

/* A received message (normally a reply). */
struct fe_msg {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
    union {
        uint64_t u64;
        struct vhost_vring_state state;
        VhostUserConfig config;
        VhostUserInflight inflight;
        VhostUserVringArea area;
        VhostUserShared object;
        VhostUserLog log;
        uint8_t bytes[FE_MAX_REPLY_PAYLOAD];
    } payload;
    int fds[FE_MAX_FDS];
    int nfds; /* the receiver owns these fds */
};

struct vu_frontend {
    int sock;                 /* our end */
    int dev_sock;             /* device end of the pair (for vu_init), or -1 */
    VuDev *dev;               /* in-process device to dispatch, or NULL */
    struct test_device *tdev; /* set by fe_attach_tdev: for failure reports */
    bool need_reply;    /* set NEED_REPLY on set-style requests, expect ack 0 */
    bool last_dispatch; /* what the last vu_dispatch returned */
    int timeout_ms;     /* connected mode: wait for a reply this long */
    struct fe_region regions[FE_MAX_REGIONS];
    unsigned nregions;
    int kick[FE_MAX_QUEUES]; /* eventfds, created on first use */
    int call[FE_MAX_QUEUES];
    int err[FE_MAX_QUEUES];
};

/* ---- setup ---- */

void fe_init_pair(struct vu_frontend *fe);
/* Wrap an already connected socket (e.g. the frontend end of the backend
 * channel); blocking mode with timeout_ms, no device attached. */
void fe_init_fd(struct vu_frontend *fe, int sock);
/* Connect to a listening backend; false on failure (errno set). */
bool fe_connect_path(struct vu_frontend *fe, const char *path, int timeout_ms);
/* From now on fe_call() runs vu_dispatch(dev) after each message. */
void fe_attach(struct vu_frontend *fe, VuDev *dev);
struct test_device;
/* fe_attach for a recording device (failures then show its panic text). */
void fe_attach_tdev(struct vu_frontend *fe, struct test_device *t);
/* Close our socket, memfds, mappings and eventfds (not dev_sock: the device
 * owns it after vu_init). */
void fe_destroy(struct vu_frontend *fe);

/* Create a memfd region; returns its index.  file_size 0 means size +
 * mmap_offset.  The memory is zero-filled. */
unsigned fe_add_region(struct vu_frontend *fe, uint64_t gpa, uint64_t size,
                       uint64_t uaddr);
unsigned fe_add_region_ex(struct vu_frontend *fe, uint64_t gpa, uint64_t size,
                          uint64_t uaddr, uint64_t mmap_offset,
                          uint64_t file_size);
/* Frontend pointer for a gpa (whole [gpa, gpa+len) in one region) or NULL. */
void *fe_gpa_ptr(struct vu_frontend *fe, uint64_t gpa, uint64_t len);
/* The frontend virtual address the backend sees for gpa; 0 if unmapped. */
uint64_t fe_gpa_to_uaddr(struct vu_frontend *fe, uint64_t gpa);
/* Region descriptor as sent on the wire. */
VhostUserMemoryRegion fe_region_wire(const struct vu_frontend *fe, unsigned i);

/* Eventfds per queue, created on first use and owned by the frontend. */
int fe_kick_fd(struct vu_frontend *fe, unsigned q);
int fe_call_fd(struct vu_frontend *fe, unsigned q);
int fe_err_fd(struct vu_frontend *fe, unsigned q);
/* Signal the kick eventfd of q (as the guest would). */
void fe_kick(struct vu_frontend *fe, unsigned q);
/* Read and clear the call eventfd of q; 0 when it was not signalled. */
uint64_t fe_take_call(struct vu_frontend *fe, unsigned q);

/* ---- raw I/O ---- */

/* One sendmsg of len bytes with fds attached; false on error. */
bool fe_send_raw(struct vu_frontend *fe, const void *buf, size_t len,
                 const int *fds, int nfds);
/* Header with an arbitrary size field, followed by payload_len bytes of
 * payload (zeros when payload is NULL). */
bool fe_send_hdr(struct vu_frontend *fe, uint32_t request, uint32_t flags,
                 uint32_t size_field, const void *payload, size_t payload_len,
                 const int *fds, int nfds);
/* Header (request, flags exactly as given, size) + payload of `size` bytes. */
bool fe_send(struct vu_frontend *fe, uint32_t request, uint32_t flags,
             const void *payload, uint32_t size, const int *fds, int nfds);
/* Run vu_dispatch on the attached device (true in connected mode). */
bool fe_dispatch(struct vu_frontend *fe);
/* fe_send then fe_dispatch; returns what vu_dispatch returned. */
bool fe_call(struct vu_frontend *fe, uint32_t request, uint32_t flags,
             const void *payload, uint32_t size, const int *fds, int nfds);
/* 1: a message arrived; 0: none pending (in-process) or timeout; -1: EOF or
 * a malformed message (oversized payload).  Caller owns m->fds. */
int fe_recv(struct vu_frontend *fe, struct fe_msg *m);
void fe_msg_close_fds(struct fe_msg *m);
/* Half-close our sending side: the device sees EOF after what was sent. */
void fe_shutdown_write(struct vu_frontend *fe);

/* ---- checked exchanges (exit on mismatch) ---- */

/* A reply to `request` with flags exactly VERSION|REPLY and `size` bytes. */
void fe_expect_reply(struct vu_frontend *fe, uint32_t request, uint32_t size,
                     struct fe_msg *m);
/* A u64 ack reply with this value. */
void fe_expect_ack(struct vu_frontend *fe, uint32_t request, uint64_t value);
/* In-process only: nothing was sent back. */
void fe_expect_no_reply(struct vu_frontend *fe);

/* How a refused request must be answered. */
enum fe_refusal {
    FE_REFUSED_ACK,    /* a u64 reply != 0; the device is NOT broken */
    FE_REFUSED_BROKEN, /* no reply; broken, panic text names the request */
    FE_REFUSED_EITHER, /* one of the two */
};

/*
 * Send a message that must be refused and check that the refusal is clean
 * (threats.md "Rejected"): vu_dispatch returns true, the answer matches
 * `how`, every fd the message carried is closed again on the device side,
 * no device callback but process_msg/panic ran, and when the device is not
 * broken the stream is still in sync (a GET_FEATURES round trip works).
 * Needs fe_attach_tdev.  `flags` are sent exactly as given.
 */
void fe_expect_refused(struct vu_frontend *fe, enum fe_refusal how,
                       uint32_t request, uint32_t flags, const void *payload,
                       uint32_t size, const int *fds, int nfds);
/* Flags for a request that asks for an ack. */
#define FE_ACK (FE_VERSION | VHOST_USER_NEED_REPLY_MASK)

/* Send with NEED_REPLY and return the ack's u64 (exits if none arrives). */
uint64_t fe_call_acked(struct vu_frontend *fe, uint32_t request,
                       const void *payload, uint32_t size, const int *fds,
                       int nfds);
/* A request that succeeds: NEED_REPLY + ack 0 in need_reply mode, else no
 * reply; the device must not be broken afterwards. */
void fe_set(struct vu_frontend *fe, uint32_t request, const void *payload,
            uint32_t size, const int *fds, int nfds);

uint64_t fe_get_u64(struct vu_frontend *fe, uint32_t request);
void fe_set_u64(struct vu_frontend *fe, uint32_t request, uint64_t value);

uint64_t fe_get_features(struct vu_frontend *fe);
void fe_set_features(struct vu_frontend *fe, uint64_t features);
uint64_t fe_get_protocol_features(struct vu_frontend *fe);
void fe_set_protocol_features(struct vu_frontend *fe, uint64_t features);
/* Tells the backend about every region in one SET_MEM_TABLE. */
void fe_set_mem_table(struct vu_frontend *fe);
void fe_add_mem_reg(struct vu_frontend *fe, unsigned region);
void fe_rem_mem_reg(struct vu_frontend *fe, unsigned region);
void fe_set_vring_num(struct vu_frontend *fe, unsigned idx, unsigned num);
void fe_set_vring_base(struct vu_frontend *fe, unsigned idx, unsigned base);
/* Returns the num field of the reply ({idx, last_avail_idx}). */
unsigned fe_get_vring_base(struct vu_frontend *fe, unsigned idx);
void fe_set_vring_addr(struct vu_frontend *fe, unsigned idx, uint64_t desc,
                       uint64_t avail, uint64_t used, uint64_t log,
                       unsigned flags);
/* KICK/CALL/ERR: fd < 0 sends the NOFD bit and no fd. */
void fe_set_vring_fd(struct vu_frontend *fe, uint32_t request, unsigned idx,
                     int fd);
void fe_set_vring_enable(struct vu_frontend *fe, unsigned idx, unsigned on);
/* Fills out->region with the reply data; returns the reply's data size. */
uint32_t fe_get_config(struct vu_frontend *fe, uint32_t offset, uint32_t size,
                       VhostUserConfig *out);
void fe_set_config(struct vu_frontend *fe, uint32_t offset, const void *data,
                   uint32_t size);
/* Returns the reply's fd (caller owns it) and fills *out. */
int fe_get_inflight_fd(struct vu_frontend *fe, uint16_t num_queues,
                       uint16_t queue_size, VhostUserInflight *out);
void fe_set_inflight_fd(struct vu_frontend *fe, const VhostUserInflight *in,
                        int fd);

/* ---- split rings in guest memory ---- */

struct fe_ring {
    unsigned num;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    struct vring_desc *desc; /* frontend pointers */
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t next_avail; /* our avail->idx */
};

/* Lay out desc, avail, used back to back at gpa (16-byte aligned). Returns
 * the bytes used. Exits if they do not fit in one region. */
uint64_t fe_ring_place(struct vu_frontend *fe, struct fe_ring *r, uint64_t gpa,
                       unsigned num);
/* NUM, BASE 0, ADDR (uaddrs of the ring) for queue idx. */
void fe_ring_setup(struct vu_frontend *fe, unsigned idx,
                   const struct fe_ring *r);
/* Publish a one-descriptor chain (device-writable if `writable`). */
void fe_ring_post(struct fe_ring *r, uint64_t buf_gpa, uint32_t len,
                  bool writable);

/* ---- recording device ---- */

enum tdev_event_kind {
    TDEV_GET_FEATURES,
    TDEV_SET_FEATURES, /* a = features */
    TDEV_GET_PROTOCOL_FEATURES,
    TDEV_SET_PROTOCOL_FEATURES, /* a = features */
    TDEV_PROCESS_MSG,           /* a = request, b = size */
    TDEV_QUEUE_SET_STARTED,     /* qidx, a = started */
    TDEV_IN_ORDER,              /* qidx */
    TDEV_GET_CONFIG,            /* a = len */
    TDEV_SET_CONFIG,            /* a = offset, b = size */
    TDEV_GET_SHARED_OBJECT,
    TDEV_PANIC,
    TDEV_SET_WATCH,     /* a = fd, b = condition */
    TDEV_REMOVE_WATCH,  /* a = fd */
    TDEV_QUEUE_HANDLER, /* qidx */
    TDEV_KIND_COUNT
};

struct tdev_event {
    enum tdev_event_kind kind;
    int qidx;
    uint64_t a;
    uint64_t b;
};

#define TDEV_MAX_EVENTS 4096
#define TDEV_MAX_WATCHES 64

struct tdev_watch {
    int fd;
    int condition;
    vu_watch_cb cb;
    void *data;
};

struct test_device;
typedef int (*tdev_process_msg_fn)(struct test_device *t, VhostUserMsg *vmsg,
                                   int *do_reply);

struct test_device {
    VuDev dev; /* first: callbacks find us from the VuDev */
    VuDevIface iface;
    /* behaviour, set by the test before the first message */
    uint64_t features;          /* returned by get_features */
    uint64_t protocol_features; /* returned by get_protocol_features */
    uint8_t config[VHOST_USER_MAX_CONFIG_SIZE];
    uint32_t config_len; /* valid bytes of config */
    int get_config_result;
    int set_config_result;
    bool in_order;
    int shared_object_fd;
    tdev_process_msg_fn process_msg; /* NULL: handle nothing */
    void *opaque;                    /* for the test's process_msg */
    /* record */
    struct tdev_event events[TDEV_MAX_EVENTS];
    unsigned nevents;
    unsigned counts[TDEV_KIND_COUNT];
    char panic_msg[512];
    struct tdev_watch watches[TDEV_MAX_WATCHES];
    unsigned nwatches;
};

/* vu_init with recording callbacks on `sock`. max_queues > 0.  dev.iface
 * points at t->iface: a test may clear callbacks before the first message. */
void tdev_init(struct test_device *t, uint16_t max_queues, int sock);
void tdev_deinit(struct test_device *t);
void tdev_clear_events(struct test_device *t);
unsigned tdev_count(const struct test_device *t, enum tdev_event_kind kind);
/* Index of the first event of kind at or after `from`, or -1. */
int tdev_find(const struct test_device *t, enum tdev_event_kind kind,
              unsigned from);
/* The most recent event of kind; exits if there is none. */
const struct tdev_event *tdev_last(const struct test_device *t,
                                   enum tdev_event_kind kind);
/* The registered watch for fd, or NULL. */
const struct tdev_watch *tdev_watch_for(const struct test_device *t, int fd);
/* A queue handler that records TDEV_QUEUE_HANDLER. */
void tdev_queue_handler(VuDev *dev, int qidx);
/* Invoke the registered watch callback of fd (as a main loop would). */
void tdev_fire_watch(struct test_device *t, int fd, int condition);

/* Full-table handshake helpers used by several tests: features negotiated
 * (VERSION_1 | PROTOCOL_FEATURES | extra) and protocol features `proto`. */
void fe_negotiate(struct vu_frontend *fe, uint64_t extra_features,
                  uint64_t proto);

/* ---- a ready-made in-process session ---- */

#define SESS_RAM_GPA 0x0ull
#define SESS_RAM_SIZE 0x100000ull
#define SESS_RAM_UADDR 0x7f0000000000ull
#define SESS_RING_GPA(q) (0x1000ull + (uint64_t)(q)*0x8000ull)

struct vu_session {
    struct vu_frontend fe;
    struct test_device td;
    struct fe_ring rings[FE_MAX_QUEUES];
};

/* Pair + recording device (offering `proto` itself) + features negotiated
 * (VERSION_1 | PROTOCOL_FEATURES, protocol features `proto`; need_reply
 * follows REPLY_ACK).  One region is prepared at SESS_RAM_* but not sent. */
void sess_open(struct vu_session *s, uint16_t max_queues, uint64_t proto);
/* SET_MEM_TABLE with the prepared region(s). */
void sess_memory(struct vu_session *s);
/* Ring of `num` entries at SESS_RING_GPA(q): NUM, BASE 0, ADDR, KICK, CALL. */
void sess_ring(struct vu_session *s, unsigned q, unsigned num);
void sess_close(struct vu_session *s);

/* Number of open fds in this process (via /proc/self/fd). */
int test_open_fd_count(void);

#endif /* VU_TEST_FRONTEND_H */
