/*
 * libvhost-user.h: public API of the hardened vhost-user backend library.
 *
 * Source- and binary-compatible with the libvhost-user API: every name,
 * constant, structure layout and prototype here matches that API so that
 * existing device backends build and run unchanged.  Additions live in
 * <vhost-user-ext.h> under the vu_ prefix.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef LIBVHOST_USER_H
#define LIBVHOST_USER_H

#include <linux/vhost.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VHOST_USER_F_PROTOCOL_FEATURES 30
#define VHOST_LOG_PAGE 4096
#define VIRTQUEUE_MAX_SIZE 1024
#define VHOST_MEMORY_BASELINE_NREGIONS 8
/* Number of memory slots offered through GET_MAX_MEM_SLOTS. */
#define VHOST_USER_MAX_RAM_SLOTS 509
#define VHOST_USER_HDR_SIZE offsetof(VhostUserMsg, payload.u64)

typedef enum VhostSetConfigType {
    VHOST_SET_CONFIG_TYPE_FRONTEND = 0,
    VHOST_SET_CONFIG_TYPE_MIGRATION = 1,
} VhostSetConfigType;

/* Largest device configuration space carried by GET/SET_CONFIG. */
#define VHOST_USER_MAX_CONFIG_SIZE 256

enum VhostUserProtocolFeature {
    VHOST_USER_PROTOCOL_F_MQ = 0,
    VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
    VHOST_USER_PROTOCOL_F_RARP = 2,
    VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
    VHOST_USER_PROTOCOL_F_NET_MTU = 4,
    VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
    VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
    VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
    VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
    VHOST_USER_PROTOCOL_F_CONFIG = 9,
    VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
    VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
    VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
    VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
    VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
    /* 16 (STATUS) and 17 (XEN_MMAP) are reserved by the specification. */
    VHOST_USER_PROTOCOL_F_SHARED_OBJECT = 18,
    VHOST_USER_PROTOCOL_F_MAX
};

#define VHOST_USER_PROTOCOL_FEATURE_MASK ((1 << VHOST_USER_PROTOCOL_F_MAX) - 1)

typedef enum VhostUserRequest {
    VHOST_USER_NONE = 0,
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_RESET_OWNER = 4,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_LOG_BASE = 6,
    VHOST_USER_SET_LOG_FD = 7,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_GET_QUEUE_NUM = 17,
    VHOST_USER_SET_VRING_ENABLE = 18,
    VHOST_USER_SEND_RARP = 19,
    VHOST_USER_NET_SET_MTU = 20,
    VHOST_USER_SET_BACKEND_REQ_FD = 21,
    VHOST_USER_IOTLB_MSG = 22,
    VHOST_USER_SET_VRING_ENDIAN = 23,
    VHOST_USER_GET_CONFIG = 24,
    VHOST_USER_SET_CONFIG = 25,
    VHOST_USER_CREATE_CRYPTO_SESSION = 26,
    VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
    VHOST_USER_POSTCOPY_ADVISE = 28,
    VHOST_USER_POSTCOPY_LISTEN = 29,
    VHOST_USER_POSTCOPY_END = 30,
    VHOST_USER_GET_INFLIGHT_FD = 31,
    VHOST_USER_SET_INFLIGHT_FD = 32,
    VHOST_USER_GPU_SET_SOCKET = 33,
    VHOST_USER_VRING_KICK = 35,
    VHOST_USER_GET_MAX_MEM_SLOTS = 36,
    VHOST_USER_ADD_MEM_REG = 37,
    VHOST_USER_REM_MEM_REG = 38,
    VHOST_USER_GET_SHARED_OBJECT = 41,
    VHOST_USER_MAX
} VhostUserRequest;

typedef enum VhostUserBackendRequest {
    VHOST_USER_BACKEND_NONE = 0,
    VHOST_USER_BACKEND_IOTLB_MSG = 1,
    VHOST_USER_BACKEND_CONFIG_CHANGE_MSG = 2,
    VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
    VHOST_USER_BACKEND_VRING_CALL = 4,
    VHOST_USER_BACKEND_VRING_ERR = 5,
    VHOST_USER_BACKEND_SHARED_OBJECT_ADD = 6,
    VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE = 7,
    VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP = 8,
    VHOST_USER_BACKEND_MAX
} VhostUserBackendRequest;

typedef struct VhostUserMemoryRegion {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
} VhostUserMemoryRegion;

#define VHOST_USER_MEM_REG_SIZE (sizeof(VhostUserMemoryRegion))

typedef struct VhostUserMemory {
    uint32_t nregions;
    uint32_t padding;
    VhostUserMemoryRegion regions[VHOST_MEMORY_BASELINE_NREGIONS];
} VhostUserMemory;

typedef struct VhostUserMemRegMsg {
    uint64_t padding;
    VhostUserMemoryRegion region;
} VhostUserMemRegMsg;

typedef struct VhostUserLog {
    uint64_t mmap_size;
    uint64_t mmap_offset;
} VhostUserLog;

typedef struct VhostUserConfig {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
} VhostUserConfig;

/* offset + size + flags: the bytes in front of the config data. */
#define VHOST_USER_CONFIG_HDR_SIZE (3 * sizeof(uint32_t))

typedef struct VhostUserVringArea {
    uint64_t u64;
    uint64_t size;
    uint64_t offset;
} VhostUserVringArea;

typedef struct VhostUserInflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
} VhostUserInflight;

#define UUID_LEN 16

typedef struct VhostUserShared {
    unsigned char uuid[UUID_LEN];
} VhostUserShared;

#if defined(_WIN32) && (defined(__x86_64__) || defined(__i386__))
#define VU_PACKED __attribute__((gcc_struct, packed))
#else
#define VU_PACKED __attribute__((packed))
#endif

typedef struct VhostUserMsg {
    int request;

#define VHOST_USER_VERSION_MASK (0x3)
#define VHOST_USER_REPLY_MASK (0x1 << 2)
#define VHOST_USER_NEED_REPLY_MASK (0x1 << 3)
    uint32_t flags;
    uint32_t size; /* bytes of payload that follow the header */

    union {
#define VHOST_USER_VRING_IDX_MASK (0xff)
#define VHOST_USER_VRING_NOFD_MASK (0x1 << 8)
        uint64_t u64;
        struct vhost_vring_state state;
        struct vhost_vring_addr addr;
        VhostUserMemory memory;
        VhostUserMemRegMsg memreg;
        VhostUserLog log;
        VhostUserConfig config;
        VhostUserVringArea area;
        VhostUserInflight inflight;
        VhostUserShared object;
    } payload;

    int fds[VHOST_MEMORY_BASELINE_NREGIONS];
    int fd_num;
    uint8_t *data;
} VU_PACKED VhostUserMsg;

typedef struct VuDevRegion {
    uint64_t gpa;         /* guest-physical start */
    uint64_t size;        /* bytes in the region */
    uint64_t qva;         /* the frontend's virtual address of the start */
    uint64_t mmap_offset; /* offset of the region's start in our mapping */
    uint64_t mmap_addr;   /* where the mapping starts in this process */
} VuDevRegion;

typedef struct VuDev VuDev;

typedef uint64_t (*vu_get_features_cb)(VuDev *dev);
typedef void (*vu_set_features_cb)(VuDev *dev, uint64_t features);
typedef int (*vu_process_msg_cb)(VuDev *dev, VhostUserMsg *vmsg, int *do_reply);
typedef bool (*vu_read_msg_cb)(VuDev *dev, int sock, VhostUserMsg *vmsg);
typedef void (*vu_queue_set_started_cb)(VuDev *dev, int qidx, bool started);
typedef bool (*vu_queue_is_processed_in_order_cb)(VuDev *dev, int qidx);
typedef int (*vu_get_config_cb)(VuDev *dev, uint8_t *config, uint32_t len);
typedef int (*vu_set_config_cb)(VuDev *dev, const uint8_t *data,
                                uint32_t offset, uint32_t size, uint32_t flags);
typedef int (*vu_get_shared_object_cb)(VuDev *dev, const unsigned char *uuid);

typedef struct VuDevIface {
    vu_get_features_cb get_features;           /* GET_FEATURES */
    vu_set_features_cb set_features;           /* SET_FEATURES */
    vu_get_features_cb get_protocol_features;  /* GET_PROTOCOL_FEATURES */
    vu_set_features_cb set_protocol_features;  /* SET_PROTOCOL_FEATURES */
    vu_process_msg_cb process_msg;             /* sees every message first */
    vu_queue_set_started_cb queue_set_started; /* queue starts or stops */
    /* true when the device completes requests in order, so that a restarted
     * backend may resume from used->idx */
    vu_queue_is_processed_in_order_cb queue_is_processed_in_order;
    vu_get_config_cb get_config;               /* GET_CONFIG */
    vu_set_config_cb set_config;               /* SET_CONFIG */
    vu_get_shared_object_cb get_shared_object; /* GET_SHARED_OBJECT */
} VuDevIface;

typedef void (*vu_queue_handler_cb)(VuDev *dev, int qidx);

typedef struct VuRing {
    unsigned int num;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint64_t log_guest_addr;
    uint32_t flags;
} VuRing;

/* Per-descriptor record of the shared inflight region (split rings). */
typedef struct VuDescStateSplit {
    uint8_t inflight; /* head is in flight (head descriptors only) */
    uint8_t padding[5];
    uint16_t next;    /* link in the list of the last used batch */
    uint64_t counter; /* fetch order of this head */
} VuDescStateSplit;

/* Per-queue header of the shared inflight region. */
typedef struct VuVirtqInflight {
    uint64_t features;        /* zero for now */
    uint16_t version;         /* 1; zero means the guest was reset */
    uint16_t desc_num;        /* entries in desc[], the queue size */
    uint16_t last_batch_head; /* head of the last used batch list */
    uint16_t used_idx;        /* copy of used->idx */
    VuDescStateSplit desc[];
} VuVirtqInflight;

typedef struct VuVirtqInflightDesc {
    uint16_t index;
    uint64_t counter;
} VuVirtqInflightDesc;

typedef struct VuVirtq {
    VuRing vring;
    VuVirtqInflight *inflight;
    VuVirtqInflightDesc *resubmit_list;
    uint16_t resubmit_num;
    uint64_t counter;
    uint16_t last_avail_idx;   /* next avail slot to pop */
    uint16_t shadow_avail_idx; /* avail->idx as last read */
    uint16_t used_idx;
    uint16_t signalled_used; /* used index at the last call */
    bool signalled_used_valid;
    bool notification; /* guest kicks wanted */
    unsigned int inuse;
    vu_queue_handler_cb handler;
    int call_fd;
    int kick_fd;
    int err_fd;
    unsigned int enable;
    bool started;
    struct vhost_vring_addr vra; /* ring addresses as the frontend sent them */
} VuVirtq;

enum VuWatchCondtion {
    VU_WATCH_IN = POLLIN,
    VU_WATCH_OUT = POLLOUT,
    VU_WATCH_PRI = POLLPRI,
    VU_WATCH_ERR = POLLERR,
    VU_WATCH_HUP = POLLHUP,
};

typedef void (*vu_panic_cb)(VuDev *dev, const char *err);
typedef void (*vu_watch_cb)(VuDev *dev, int condition, void *data);
typedef void (*vu_set_watch_cb)(VuDev *dev, int fd, int condition,
                                vu_watch_cb cb, void *data);
typedef void (*vu_remove_watch_cb)(VuDev *dev, int fd);

typedef struct VuDevInflightInfo {
    int fd;
    void *addr;
    uint64_t size;
} VuDevInflightInfo;

struct VuDev {
    int sock;
    uint32_t nregions;
    VuDevRegion *regions; /* sorted by gpa */
    VuVirtq *vq;
    VuDevInflightInfo inflight_info;
    int log_call_fd;
    pthread_mutex_t backend_mutex; /* serialises use of backend_fd */
    int backend_fd;
    uint64_t log_size;
    uint8_t *log_table;
    uint64_t features;
    uint64_t protocol_features;
    bool broken;
    uint16_t max_queues;
    /* Reads one message from sock into vmsg; on failure it closes any fds it
     * received and returns false.  NULL at vu_init selects the built-in
     * reader. */
    vu_read_msg_cb read_msg;
    vu_set_watch_cb set_watch;       /* watch an fd, call cb on condition */
    vu_remove_watch_cb remove_watch; /* stop watching an fd */
    vu_panic_cb panic;               /* the device is broken; reason given */
    const VuDevIface *iface;
    int postcopy_ufd;
    bool postcopy_listening;
};

typedef struct VuVirtqElement {
    unsigned int index;
    unsigned int out_num;
    unsigned int in_num;
    struct iovec *in_sg;
    struct iovec *out_sg;
} VuVirtqElement;

/* Initialise dev for a connected socket.  false on allocation failure. */
bool vu_init(VuDev *dev, uint16_t max_queues, int socket, vu_panic_cb panic,
             vu_read_msg_cb read_msg, vu_set_watch_cb set_watch,
             vu_remove_watch_cb remove_watch, const VuDevIface *iface);

/* Release everything vu_init and the session acquired; closes dev->sock. */
void vu_deinit(VuDev *dev);

/* Name of a request; "unknown" outside the table.  Never NULL. */
const char *vu_request_to_string(unsigned int req);

/* Read and handle one message.  false when the connection should close. */
bool vu_dispatch(VuDev *dev);

/* Host pointer for guest_addr.  *plen is cut to what is contiguous there. */
void *vu_gpa_to_va(VuDev *dev, uint64_t *plen, uint64_t guest_addr);

VuVirtq *vu_get_queue(VuDev *dev, int qidx);

void vu_set_queue_handler(VuDev *dev, VuVirtq *vq, vu_queue_handler_cb handler);

bool vu_set_queue_host_notifier(VuDev *dev, VuVirtq *vq, int fd, int size,
                                int offset);

bool vu_lookup_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN],
                             int *dmabuf_fd);
bool vu_add_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN]);
bool vu_rm_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN]);

void vu_queue_set_notification(VuDev *dev, VuVirtq *vq, int enable);
bool vu_queue_enabled(VuDev *dev, VuVirtq *vq);
bool vu_queue_started(const VuDev *dev, const VuVirtq *vq);
bool vu_queue_empty(VuDev *dev, VuVirtq *vq);
void vu_queue_notify(VuDev *dev, VuVirtq *vq);
void vu_config_change_msg(VuDev *dev);
void vu_queue_notify_sync(VuDev *dev, VuVirtq *vq);

/* Next element, malloc'd with room for sz bytes (sz >= sizeof(VuVirtqElement))
 * followed by its iovecs; free() it.  NULL when empty or on error. */
void *vu_queue_pop(VuDev *dev, VuVirtq *vq, size_t sz);
void vu_queue_unpop(VuDev *dev, VuVirtq *vq, VuVirtqElement *elem, size_t len);
bool vu_queue_rewind(VuDev *dev, VuVirtq *vq, unsigned int num);
void vu_queue_fill(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem,
                   unsigned int len, unsigned int idx);
void vu_queue_push(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elem,
                   unsigned int len);
void vu_queue_flush(VuDev *dev, VuVirtq *vq, unsigned int num);
void vu_queue_get_avail_bytes(VuDev *vdev, VuVirtq *vq, unsigned int *in_bytes,
                              unsigned int *out_bytes, unsigned max_in_bytes,
                              unsigned max_out_bytes);
bool vu_queue_avail_bytes(VuDev *dev, VuVirtq *vq, unsigned int in_bytes,
                          unsigned int out_bytes);

#endif /* LIBVHOST_USER_H */
