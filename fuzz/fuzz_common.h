/*
 * fuzz_common.h: pieces shared by the fuzz targets: the invariant check
 * macro, the fd-leak check, the watch table that stands in for an event
 * loop, and the interpreter of "ring operations" (a guest writing
 * descriptors and a device popping and pushing them) with its invariants.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "libvhost-user.h"
#include "tlv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Harness bookkeeping whose path depends on what earlier inputs left behind
 * (the every-64th exact fd count, resident pages): kept out of the coverage
 * feedback so that an input's coverage does not depend on its predecessors
 * (clang; afl-clang-fast ignores the attribute). */
#if defined(__clang__)
#define FZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define FZ_NO_COVERAGE
#endif

/* An invariant: abort (so that the fuzzer reports it) when it does not hold. */
#define FZ_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
        }                                                                      \
    } while (0)

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/* Quiet by default; FUZZ_VERBOSE=1 prints panics and progress. */
extern bool fz_verbose;
void fz_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Number of open fds of the process. */
int fz_fd_count(void);
/* Fd-leak check around one input: the count at the end must equal the
 * count at the start (persistent harness fds are opened before begin). */
extern int fz_fds_at_start;
void fz_fd_check_begin(void);
/* fz_fd_check_begin, then dup fd (lowest free number, close-on-exec) and
 * return the copy, which the input must close (vu_deinit does). */
int fz_fd_check_begin_dup(int fd);
void fz_fd_check_end(const char *target);

/* Zero [map, map+len), a shared mapping of fd at offset off (page-aligned,
 * at most FZ_MEM_ZERO_MAX bytes), cheaply: memset of the resident pages,
 * with a hole punched over the range now and then. */
#define FZ_MEM_ZERO_MAX (1u << 20)
struct fz_mem {
    int fd;
    off_t off;
    uint8_t *map;
    size_t len;
    unsigned resets; /* calls so far */
    bool locked;     /* mlock2(MLOCK_ONFAULT) accepted */
};
void fz_mem_zero(struct fz_mem *m);

/* Precise reset.  The harness notes every write it makes to guest memory
 * (fz_dirty_note; fz_rings does, and notes each queue's used ring, the only
 * guest memory the library writes), and fz_mem_reset zeroes just those pages
 * of the n areas.  Every 64th reset, and on every reset when replaying
 * (FUZZ_FD_CHECK_ALWAYS), it first checks that no other resident page holds
 * a nonzero byte -- a write nobody accounted for, by the library or the
 * harness -- and then falls back to fz_mem_zero.  When more pages were noted
 * than the log holds, it falls back too. */
void fz_dirty_note(const void *p, size_t len);
void fz_mem_reset(struct fz_mem *m, unsigned n);

/* ---- requests handed over without the socket ----
 * memtable and inflight pass fz_read_staged to vu_init as the read_msg
 * callback (the API's hook for a custom transport): a staged request reaches
 * vu_dispatch with no sendmsg/recvmsg pair, its fds duplicated as the
 * library's own.  Replies still come back over the socket.  With nothing
 * staged the callback is the library's default socket reader. */
void fz_stage_msg(uint32_t request, uint32_t flags, const void *payload,
                  uint32_t size, const int *fds, int nfds);
bool fz_read_staged(VuDev *dev, int sock, VhostUserMsg *vmsg);

/* Frontend side of the socket: write all of buf, with up to FZ_MAX_SEND_FDS
 * fds on its first byte (SCM_RIGHTS). */
#define FZ_MAX_SEND_FDS 15
void fz_send_all(int sock, const uint8_t *buf, size_t len, const int *fds,
                 int nfds);
/* vu_dispatch one request sent with NEED_REPLY and read its ack from fe;
 * true when the ack says success (aborts when there is no well-formed ack). */
bool fz_dispatch_acked(VuDev *dev, int fe, uint32_t req);

/* ---- the watch table (what an event loop would hold) ---- */
void fz_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb,
                  void *data);
void fz_remove_watch(VuDev *dev, int fd);
/* Call the callback of every watched fd that poll() reports ready. */
void fz_run_watches(VuDev *dev);
/* Abort when a watch is left over (vu_deinit must remove every one). */
void fz_watches_check_empty(void);
void fz_watches_clear(void);

/* Panic callback: checks that the device is marked broken. */
void fz_panic(VuDev *dev, const char *reason);
extern unsigned fz_panics;

/* True when [p, p+len) lies inside one mapped guest region of dev. */
bool fz_in_guest(const VuDev *dev, const void *p, uint64_t len);
/* Host pointer of [gpa, gpa+len) computed from dev->regions, or NULL. */
void *fz_guest_ptr(const VuDev *dev, uint64_t gpa, uint64_t len);

/* ---- ring operations ---- */

#define FZ_MAX_OUT 1024 /* outstanding elements per queue */

struct fz_queue {
    VuVirtqElement *out[FZ_MAX_OUT]; /* popped, not yet returned, pop order */
    unsigned n;
    bool used_tainted; /* the guest (we) wrote over used->idx */
    unsigned filled;   /* used slots filled (accepted) and not yet flushed */
    /* Ring pointers last found inside guest memory, and when. */
    const void *ok_desc, *ok_avail, *ok_used;
    unsigned ok_num, ok_epoch;
};

struct fz_rings {
    VuDev *dev;
    struct fz_queue *q; /* dev->max_queues entries */
    unsigned nq;
    /* Signal a kick on queue qidx (dispatch: eventfd + watches). */
    void (*kick)(struct fz_rings *r, unsigned qidx);
    /* Extra work around each op (dispatch: queue acks, drain the backend
     * channel). */
    void (*before_op)(struct fz_rings *r, unsigned op, unsigned qidx);
    void (*after_op)(struct fz_rings *r);
    /* Called after each push of a popped element (moved: used idx delta). */
    void (*after_push)(struct fz_rings *r, unsigned qidx,
                       const VuVirtqElement *e, unsigned len, unsigned moved);
    unsigned ops_run;
    unsigned epoch; /* bumped whenever guest memory may have changed */
};

void fz_rings_init(struct fz_rings *r, VuDev *dev);
/* Free every outstanding element (call before vu_deinit). */
void fz_rings_fini(struct fz_rings *r);
/* Interpret ring operations until t is exhausted. */
void fz_rings_run(struct fz_rings *r, struct tlv *t);
/* The device side of a kick: pop everything, push it back, notify. */
void fz_rings_service(struct fz_rings *r, unsigned qidx);
/* The frontend changed the rings' memory or state (a message): a used->idx
 * that no longer matches the library's shadow is the guest's doing. */
void fz_rings_resync(struct fz_rings *r);
/* Check the invariants of every queue that are checkable at rest. */
void fz_rings_check(struct fz_rings *r);

/* Ring-operation codes (one byte each, taken modulo FZ_OP_MAX). */
enum fz_op {
    FZ_OP_POP = 0,         /* u8 q */
    FZ_OP_PUSH = 1,        /* u8 q, u8 which, u32 len */
    FZ_OP_FILL = 2,        /* u8 q, u8 which, u32 len, u8 idx */
    FZ_OP_FLUSH = 3,       /* u8 q, u8 num */
    FZ_OP_REWIND = 4,      /* u8 q, u8 num */
    FZ_OP_UNPOP = 5,       /* u8 q */
    FZ_OP_AVAIL_BYTES = 6, /* u8 q, u32 max_in, u32 max_out */
    FZ_OP_NOTIFY = 7,      /* u8 q */
    FZ_OP_SET_NOTIF = 8,   /* u8 q, u8 enable */
    FZ_OP_EMPTY = 9,       /* u8 q */
    FZ_OP_DESC = 10, /* u8 q, u16 i, u64 addr, u32 len, u16 flags, u16 next */
    FZ_OP_AVAIL_PUT = 11,  /* u8 q, u16 head */
    FZ_OP_AVAIL_IDX = 12,  /* u8 q, u16 idx */
    FZ_OP_USED_EVENT = 13, /* u8 q, u16 value */
    FZ_OP_CHAIN = 14, /* u8 q, u16 head, u8 n, u8 wmask, u16 seglen, u64 gpa */
    FZ_OP_INDIRECT =
        15, /* u8 q, u16 head, u8 n, u8 wmask, u16 seglen, u64 table, u64 gpa */
    FZ_OP_GUEST_WRITE = 16,   /* u64 gpa, u8 len, len bytes */
    FZ_OP_KICK = 17,          /* u8 q */
    FZ_OP_FAKE_PUSH = 18,     /* u8 q, u32 index, u32 len */
    FZ_OP_CONFIG_CHANGE = 19, /* (none) */
    FZ_OP_NOTIFY_SYNC = 20,   /* u8 q */
    FZ_OP_AVAIL_FLAGS = 21,   /* u8 q, u16 flags */
    FZ_OP_HOST_NOTIFIER = 22, /* u8 q, u8 fd kind, u32 size, u32 offset */
    FZ_OP_SHARED_OBJECT = 23, /* u8 which (add, rm, lookup), 16 bytes uuid */
    FZ_OP_MISC = 24,          /* u32 request, u32 queue index */
    FZ_OP_POP_BATCH = 25,     /* u8 q, u8 max, u8 mode */
    FZ_OP_PUSH_BATCH = 26,    /* u8 q, u8 which, u8 n, u8 mode, u32 len */
    FZ_OP_MAX
};

#endif /* FUZZ_COMMON_H */
