/*
 * ABI facts of <libvhost-user.h> on x86_64 (LP64, System V), checked at
 * compile time: the size and alignment of every public structure, the offset,
 * size and type of every field, the value and type of every enumerator and
 * constant, and the type of every callback and function.  The numbers were
 * measured on the reference API; a drop-in replacement must not move any of
 * them.  tests/layout/ compares the two headers directly when the reference
 * is at hand; this file keeps the facts in the tree for when it is not.
 *
 * The test program also takes the address of every API function, so linking
 * it proves that the static library defines each of them.
 */
#include <libvhost-user.h>
#include <vhost-user-ext.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#if defined(__x86_64__) && defined(__LP64__)
#define VU_LAYOUT_CHECKED 1

#define SAME_TYPE(a, b) __builtin_types_compatible_p(a, b)
#define TYPEOF_FIELD(T, F) __typeof__(((T *)0)->F)

#define SIZE(T, n) _Static_assert(sizeof(T) == (n), "sizeof(" #T ") != " #n)
#define ALIGN(T, n)                                                            \
    _Static_assert(_Alignof(T) == (n), "_Alignof(" #T ") != " #n)

/* A member at offset off with size sz, whatever its type. */
#define MEMBER_AT(T, F, off, sz)                                               \
    _Static_assert(offsetof(T, F) == (off),                                    \
                   "offsetof(" #T ", " #F ") != " #off);                       \
    _Static_assert(sizeof(TYPEOF_FIELD(T, F)) == (sz),                         \
                   "sizeof(" #T "." #F ") != " #sz)

/* A member at offset off with size sz and exactly the type Ty. */
#define MEMBER(T, F, off, sz, Ty)                                              \
    MEMBER_AT(T, F, off, sz);                                                  \
    _Static_assert(SAME_TYPE(TYPEOF_FIELD(T, F), Ty),                          \
                   "type of " #T "." #F " is not " #Ty)

/* Scalar members: the same checks, spelled with the C type name. */
#define FIELD(T, F, off, sz, Ty) MEMBER(T, F, off, sz, Ty)

/* A flexible array member of element type Ty. */
#define FLEX(T, F, off, esz, Ty)                                               \
    _Static_assert(offsetof(T, F) == (off),                                    \
                   "offsetof(" #T ", " #F ") != " #off);                       \
    _Static_assert(sizeof(((T *)0)->F[0]) == (esz),                            \
                   "sizeof(" #T "." #F "[0]) != " #esz);                       \
    _Static_assert(SAME_TYPE(TYPEOF_FIELD(T, F), Ty[]),                        \
                   "type of " #T "." #F " is not " #Ty "[]")

#define CONSTANT(N, v, Ty)                                                     \
    _Static_assert((N) == (v), #N " != " #v);                                  \
    _Static_assert(SAME_TYPE(__typeof__(N), Ty), "type of " #N " is not " #Ty)

/* Enumerators are int constants in C. */
#define ENUMERATOR(N, v) CONSTANT(N, v, int)

/* VhostUserMemoryRegion */
SIZE(VhostUserMemoryRegion, 32);
ALIGN(VhostUserMemoryRegion, 8);
FIELD(VhostUserMemoryRegion, guest_phys_addr, 0, 8, unsigned long);
FIELD(VhostUserMemoryRegion, memory_size, 8, 8, unsigned long);
FIELD(VhostUserMemoryRegion, userspace_addr, 16, 8, unsigned long);
FIELD(VhostUserMemoryRegion, mmap_offset, 24, 8, unsigned long);

/* VhostUserMemory */
SIZE(VhostUserMemory, 264);
ALIGN(VhostUserMemory, 8);
FIELD(VhostUserMemory, nregions, 0, 4, unsigned int);
FIELD(VhostUserMemory, padding, 4, 4, unsigned int);
MEMBER(VhostUserMemory, regions, 8, 256,
       VhostUserMemoryRegion[VHOST_MEMORY_BASELINE_NREGIONS]);
MEMBER(VhostUserMemory, regions[1], 40, 32, VhostUserMemoryRegion);

/* VhostUserMemRegMsg */
SIZE(VhostUserMemRegMsg, 40);
ALIGN(VhostUserMemRegMsg, 8);
FIELD(VhostUserMemRegMsg, padding, 0, 8, unsigned long);
MEMBER(VhostUserMemRegMsg, region, 8, 32, VhostUserMemoryRegion);

/* VhostUserLog */
SIZE(VhostUserLog, 16);
ALIGN(VhostUserLog, 8);
FIELD(VhostUserLog, mmap_size, 0, 8, unsigned long);
FIELD(VhostUserLog, mmap_offset, 8, 8, unsigned long);

/* VhostUserConfig */
SIZE(VhostUserConfig, 268);
ALIGN(VhostUserConfig, 4);
FIELD(VhostUserConfig, offset, 0, 4, unsigned int);
FIELD(VhostUserConfig, size, 4, 4, unsigned int);
FIELD(VhostUserConfig, flags, 8, 4, unsigned int);
MEMBER(VhostUserConfig, region, 12, 256, uint8_t[256]);

/* VhostUserVringArea */
SIZE(VhostUserVringArea, 24);
ALIGN(VhostUserVringArea, 8);
FIELD(VhostUserVringArea, u64, 0, 8, unsigned long);
FIELD(VhostUserVringArea, size, 8, 8, unsigned long);
FIELD(VhostUserVringArea, offset, 16, 8, unsigned long);

/* VhostUserInflight */
SIZE(VhostUserInflight, 24);
ALIGN(VhostUserInflight, 8);
FIELD(VhostUserInflight, mmap_size, 0, 8, unsigned long);
FIELD(VhostUserInflight, mmap_offset, 8, 8, unsigned long);
FIELD(VhostUserInflight, num_queues, 16, 2, unsigned short);
FIELD(VhostUserInflight, queue_size, 18, 2, unsigned short);

/* VhostUserShared */
SIZE(VhostUserShared, 16);
ALIGN(VhostUserShared, 1);
MEMBER(VhostUserShared, uuid, 0, 16, unsigned char[16]);

/* VhostUserMsg */
SIZE(VhostUserMsg, 328);
ALIGN(VhostUserMsg, 1);
FIELD(VhostUserMsg, request, 0, 4, int);
FIELD(VhostUserMsg, flags, 4, 4, unsigned int);
FIELD(VhostUserMsg, size, 8, 4, unsigned int);
MEMBER_AT(VhostUserMsg, payload, 12, 272);
FIELD(VhostUserMsg, payload.u64, 12, 8, unsigned long);
MEMBER(VhostUserMsg, payload.state, 12, 8, struct vhost_vring_state);
MEMBER(VhostUserMsg, payload.addr, 12, 40, struct vhost_vring_addr);
MEMBER(VhostUserMsg, payload.memory, 12, 264, VhostUserMemory);
MEMBER(VhostUserMsg, payload.memreg, 12, 40, VhostUserMemRegMsg);
MEMBER(VhostUserMsg, payload.log, 12, 16, VhostUserLog);
MEMBER(VhostUserMsg, payload.config, 12, 268, VhostUserConfig);
MEMBER(VhostUserMsg, payload.area, 12, 24, VhostUserVringArea);
MEMBER(VhostUserMsg, payload.inflight, 12, 24, VhostUserInflight);
MEMBER(VhostUserMsg, payload.object, 12, 16, VhostUserShared);
MEMBER(VhostUserMsg, fds, 284, 32, int[8]);
FIELD(VhostUserMsg, fd_num, 316, 4, int);
MEMBER(VhostUserMsg, data, 320, 8, uint8_t *);

/* VuDevRegion */
SIZE(VuDevRegion, 40);
ALIGN(VuDevRegion, 8);
FIELD(VuDevRegion, gpa, 0, 8, unsigned long);
FIELD(VuDevRegion, size, 8, 8, unsigned long);
FIELD(VuDevRegion, qva, 16, 8, unsigned long);
FIELD(VuDevRegion, mmap_offset, 24, 8, unsigned long);
FIELD(VuDevRegion, mmap_addr, 32, 8, unsigned long);

/* VuDevIface */
SIZE(VuDevIface, 80);
ALIGN(VuDevIface, 8);
MEMBER(VuDevIface, get_features, 0, 8, vu_get_features_cb);
MEMBER(VuDevIface, set_features, 8, 8, vu_set_features_cb);
MEMBER(VuDevIface, get_protocol_features, 16, 8, vu_get_features_cb);
MEMBER(VuDevIface, set_protocol_features, 24, 8, vu_set_features_cb);
MEMBER(VuDevIface, process_msg, 32, 8, vu_process_msg_cb);
MEMBER(VuDevIface, queue_set_started, 40, 8, vu_queue_set_started_cb);
MEMBER(VuDevIface, queue_is_processed_in_order, 48, 8,
       vu_queue_is_processed_in_order_cb);
MEMBER(VuDevIface, get_config, 56, 8, vu_get_config_cb);
MEMBER(VuDevIface, set_config, 64, 8, vu_set_config_cb);
MEMBER(VuDevIface, get_shared_object, 72, 8, vu_get_shared_object_cb);

/* VuDevInflightInfo */
SIZE(VuDevInflightInfo, 24);
ALIGN(VuDevInflightInfo, 8);
FIELD(VuDevInflightInfo, fd, 0, 4, int);
MEMBER(VuDevInflightInfo, addr, 8, 8, void *);
FIELD(VuDevInflightInfo, size, 16, 8, unsigned long);

/* VuDev */
SIZE(VuDev, 192);
ALIGN(VuDev, 8);
FIELD(VuDev, sock, 0, 4, int);
FIELD(VuDev, nregions, 4, 4, unsigned int);
MEMBER(VuDev, regions, 8, 8, VuDevRegion *);
MEMBER(VuDev, vq, 16, 8, VuVirtq *);
MEMBER(VuDev, inflight_info, 24, 24, VuDevInflightInfo);
FIELD(VuDev, log_call_fd, 48, 4, int);
MEMBER(VuDev, backend_mutex, 56, 40, pthread_mutex_t);
FIELD(VuDev, backend_fd, 96, 4, int);
FIELD(VuDev, log_size, 104, 8, unsigned long);
MEMBER(VuDev, log_table, 112, 8, uint8_t *);
FIELD(VuDev, features, 120, 8, unsigned long);
FIELD(VuDev, protocol_features, 128, 8, unsigned long);
FIELD(VuDev, broken, 136, 1, _Bool);
FIELD(VuDev, max_queues, 138, 2, unsigned short);
MEMBER(VuDev, read_msg, 144, 8, vu_read_msg_cb);
MEMBER(VuDev, set_watch, 152, 8, vu_set_watch_cb);
MEMBER(VuDev, remove_watch, 160, 8, vu_remove_watch_cb);
MEMBER(VuDev, panic, 168, 8, vu_panic_cb);
MEMBER(VuDev, iface, 176, 8, const VuDevIface *);
FIELD(VuDev, postcopy_ufd, 184, 4, int);
FIELD(VuDev, postcopy_listening, 188, 1, _Bool);

/* VuRing */
SIZE(VuRing, 48);
ALIGN(VuRing, 8);
FIELD(VuRing, num, 0, 4, unsigned int);
MEMBER(VuRing, desc, 8, 8, struct vring_desc *);
MEMBER(VuRing, avail, 16, 8, struct vring_avail *);
MEMBER(VuRing, used, 24, 8, struct vring_used *);
FIELD(VuRing, log_guest_addr, 32, 8, unsigned long);
FIELD(VuRing, flags, 40, 4, unsigned int);

/* VuDescStateSplit */
SIZE(VuDescStateSplit, 16);
ALIGN(VuDescStateSplit, 8);
FIELD(VuDescStateSplit, inflight, 0, 1, unsigned char);
MEMBER(VuDescStateSplit, padding, 1, 5, uint8_t[5]);
FIELD(VuDescStateSplit, next, 6, 2, unsigned short);
FIELD(VuDescStateSplit, counter, 8, 8, unsigned long);

/* VuVirtqInflight */
SIZE(VuVirtqInflight, 16);
ALIGN(VuVirtqInflight, 8);
FIELD(VuVirtqInflight, features, 0, 8, unsigned long);
FIELD(VuVirtqInflight, version, 8, 2, unsigned short);
FIELD(VuVirtqInflight, desc_num, 10, 2, unsigned short);
FIELD(VuVirtqInflight, last_batch_head, 12, 2, unsigned short);
FIELD(VuVirtqInflight, used_idx, 14, 2, unsigned short);
FLEX(VuVirtqInflight, desc, 16, 16, VuDescStateSplit);

/* VuVirtqInflightDesc */
SIZE(VuVirtqInflightDesc, 16);
ALIGN(VuVirtqInflightDesc, 8);
FIELD(VuVirtqInflightDesc, index, 0, 2, unsigned short);
FIELD(VuVirtqInflightDesc, counter, 8, 8, unsigned long);

/* VuVirtq */
SIZE(VuVirtq, 168);
ALIGN(VuVirtq, 8);
MEMBER(VuVirtq, vring, 0, 48, VuRing);
MEMBER(VuVirtq, inflight, 48, 8, VuVirtqInflight *);
MEMBER(VuVirtq, resubmit_list, 56, 8, VuVirtqInflightDesc *);
FIELD(VuVirtq, resubmit_num, 64, 2, unsigned short);
FIELD(VuVirtq, counter, 72, 8, unsigned long);
FIELD(VuVirtq, last_avail_idx, 80, 2, unsigned short);
FIELD(VuVirtq, shadow_avail_idx, 82, 2, unsigned short);
FIELD(VuVirtq, used_idx, 84, 2, unsigned short);
FIELD(VuVirtq, signalled_used, 86, 2, unsigned short);
FIELD(VuVirtq, signalled_used_valid, 88, 1, _Bool);
FIELD(VuVirtq, notification, 89, 1, _Bool);
FIELD(VuVirtq, inuse, 92, 4, unsigned int);
MEMBER(VuVirtq, handler, 96, 8, vu_queue_handler_cb);
FIELD(VuVirtq, call_fd, 104, 4, int);
FIELD(VuVirtq, kick_fd, 108, 4, int);
FIELD(VuVirtq, err_fd, 112, 4, int);
FIELD(VuVirtq, enable, 116, 4, unsigned int);
FIELD(VuVirtq, started, 120, 1, _Bool);
MEMBER(VuVirtq, vra, 128, 40, struct vhost_vring_addr);

/* VuVirtqElement */
SIZE(VuVirtqElement, 32);
ALIGN(VuVirtqElement, 8);
FIELD(VuVirtqElement, index, 0, 4, unsigned int);
FIELD(VuVirtqElement, out_num, 4, 4, unsigned int);
FIELD(VuVirtqElement, in_num, 8, 4, unsigned int);
MEMBER(VuVirtqElement, in_sg, 16, 8, struct iovec *);
MEMBER(VuVirtqElement, out_sg, 24, 8, struct iovec *);

/* Constants: value and type */
CONSTANT(VHOST_USER_F_PROTOCOL_FEATURES, 30, int);
CONSTANT(VHOST_LOG_PAGE, 4096, int);
CONSTANT(VIRTQUEUE_MAX_SIZE, 1024, int);
CONSTANT(VHOST_MEMORY_BASELINE_NREGIONS, 8, int);
CONSTANT(VHOST_USER_MAX_RAM_SLOTS, 509, int);
CONSTANT(VHOST_USER_HDR_SIZE, 12, size_t);
CONSTANT(VHOST_USER_MAX_CONFIG_SIZE, 256, int);
CONSTANT(VHOST_USER_PROTOCOL_FEATURE_MASK, 524287, int);
CONSTANT(VHOST_USER_MEM_REG_SIZE, 32, size_t);
CONSTANT(VHOST_USER_CONFIG_HDR_SIZE, 12, size_t);
CONSTANT(UUID_LEN, 16, int);
CONSTANT(VHOST_USER_VERSION_MASK, 3, int);
CONSTANT(VHOST_USER_REPLY_MASK, 4, int);
CONSTANT(VHOST_USER_NEED_REPLY_MASK, 8, int);
CONSTANT(VHOST_USER_VRING_IDX_MASK, 255, int);
CONSTANT(VHOST_USER_VRING_NOFD_MASK, 256, int);

/* enum VhostSetConfigType */
SIZE(VhostSetConfigType, 4);
ENUMERATOR(VHOST_SET_CONFIG_TYPE_FRONTEND, 0);
ENUMERATOR(VHOST_SET_CONFIG_TYPE_MIGRATION, 1);

/* enum VhostUserProtocolFeature */
SIZE(enum VhostUserProtocolFeature, 4);
ENUMERATOR(VHOST_USER_PROTOCOL_F_MQ, 0);
ENUMERATOR(VHOST_USER_PROTOCOL_F_LOG_SHMFD, 1);
ENUMERATOR(VHOST_USER_PROTOCOL_F_RARP, 2);
ENUMERATOR(VHOST_USER_PROTOCOL_F_REPLY_ACK, 3);
ENUMERATOR(VHOST_USER_PROTOCOL_F_NET_MTU, 4);
ENUMERATOR(VHOST_USER_PROTOCOL_F_BACKEND_REQ, 5);
ENUMERATOR(VHOST_USER_PROTOCOL_F_CROSS_ENDIAN, 6);
ENUMERATOR(VHOST_USER_PROTOCOL_F_CRYPTO_SESSION, 7);
ENUMERATOR(VHOST_USER_PROTOCOL_F_PAGEFAULT, 8);
ENUMERATOR(VHOST_USER_PROTOCOL_F_CONFIG, 9);
ENUMERATOR(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD, 10);
ENUMERATOR(VHOST_USER_PROTOCOL_F_HOST_NOTIFIER, 11);
ENUMERATOR(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD, 12);
ENUMERATOR(VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS, 14);
ENUMERATOR(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS, 15);
ENUMERATOR(VHOST_USER_PROTOCOL_F_SHARED_OBJECT, 18);
ENUMERATOR(VHOST_USER_PROTOCOL_F_MAX, 19);

/* enum VhostUserRequest */
SIZE(VhostUserRequest, 4);
ENUMERATOR(VHOST_USER_NONE, 0);
ENUMERATOR(VHOST_USER_GET_FEATURES, 1);
ENUMERATOR(VHOST_USER_SET_FEATURES, 2);
ENUMERATOR(VHOST_USER_SET_OWNER, 3);
ENUMERATOR(VHOST_USER_RESET_OWNER, 4);
ENUMERATOR(VHOST_USER_SET_MEM_TABLE, 5);
ENUMERATOR(VHOST_USER_SET_LOG_BASE, 6);
ENUMERATOR(VHOST_USER_SET_LOG_FD, 7);
ENUMERATOR(VHOST_USER_SET_VRING_NUM, 8);
ENUMERATOR(VHOST_USER_SET_VRING_ADDR, 9);
ENUMERATOR(VHOST_USER_SET_VRING_BASE, 10);
ENUMERATOR(VHOST_USER_GET_VRING_BASE, 11);
ENUMERATOR(VHOST_USER_SET_VRING_KICK, 12);
ENUMERATOR(VHOST_USER_SET_VRING_CALL, 13);
ENUMERATOR(VHOST_USER_SET_VRING_ERR, 14);
ENUMERATOR(VHOST_USER_GET_PROTOCOL_FEATURES, 15);
ENUMERATOR(VHOST_USER_SET_PROTOCOL_FEATURES, 16);
ENUMERATOR(VHOST_USER_GET_QUEUE_NUM, 17);
ENUMERATOR(VHOST_USER_SET_VRING_ENABLE, 18);
ENUMERATOR(VHOST_USER_SEND_RARP, 19);
ENUMERATOR(VHOST_USER_NET_SET_MTU, 20);
ENUMERATOR(VHOST_USER_SET_BACKEND_REQ_FD, 21);
ENUMERATOR(VHOST_USER_IOTLB_MSG, 22);
ENUMERATOR(VHOST_USER_SET_VRING_ENDIAN, 23);
ENUMERATOR(VHOST_USER_GET_CONFIG, 24);
ENUMERATOR(VHOST_USER_SET_CONFIG, 25);
ENUMERATOR(VHOST_USER_CREATE_CRYPTO_SESSION, 26);
ENUMERATOR(VHOST_USER_CLOSE_CRYPTO_SESSION, 27);
ENUMERATOR(VHOST_USER_POSTCOPY_ADVISE, 28);
ENUMERATOR(VHOST_USER_POSTCOPY_LISTEN, 29);
ENUMERATOR(VHOST_USER_POSTCOPY_END, 30);
ENUMERATOR(VHOST_USER_GET_INFLIGHT_FD, 31);
ENUMERATOR(VHOST_USER_SET_INFLIGHT_FD, 32);
ENUMERATOR(VHOST_USER_GPU_SET_SOCKET, 33);
ENUMERATOR(VHOST_USER_VRING_KICK, 35);
ENUMERATOR(VHOST_USER_GET_MAX_MEM_SLOTS, 36);
ENUMERATOR(VHOST_USER_ADD_MEM_REG, 37);
ENUMERATOR(VHOST_USER_REM_MEM_REG, 38);
ENUMERATOR(VHOST_USER_GET_SHARED_OBJECT, 41);
ENUMERATOR(VHOST_USER_MAX, 42);

/* enum VhostUserBackendRequest */
SIZE(VhostUserBackendRequest, 4);
ENUMERATOR(VHOST_USER_BACKEND_NONE, 0);
ENUMERATOR(VHOST_USER_BACKEND_IOTLB_MSG, 1);
ENUMERATOR(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, 2);
ENUMERATOR(VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG, 3);
ENUMERATOR(VHOST_USER_BACKEND_VRING_CALL, 4);
ENUMERATOR(VHOST_USER_BACKEND_VRING_ERR, 5);
ENUMERATOR(VHOST_USER_BACKEND_SHARED_OBJECT_ADD, 6);
ENUMERATOR(VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE, 7);
ENUMERATOR(VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP, 8);
ENUMERATOR(VHOST_USER_BACKEND_MAX, 9);

/* enum VuWatchCondtion */
SIZE(enum VuWatchCondtion, 4);
ENUMERATOR(VU_WATCH_IN, 1);
ENUMERATOR(VU_WATCH_OUT, 4);
ENUMERATOR(VU_WATCH_PRI, 2);
ENUMERATOR(VU_WATCH_ERR, 8);
ENUMERATOR(VU_WATCH_HUP, 16);

/* Callback types. */
#define CALLBACK(name, Ty)                                                     \
    _Static_assert(SAME_TYPE(name, Ty), #name " is not " #Ty)
CALLBACK(vu_get_features_cb, uint64_t (*)(VuDev *));
CALLBACK(vu_set_features_cb, void (*)(VuDev *, uint64_t));
CALLBACK(vu_process_msg_cb, int (*)(VuDev *, VhostUserMsg *, int *));
CALLBACK(vu_read_msg_cb, bool (*)(VuDev *, int, VhostUserMsg *));
CALLBACK(vu_queue_set_started_cb, void (*)(VuDev *, int, bool));
CALLBACK(vu_queue_is_processed_in_order_cb, bool (*)(VuDev *, int));
CALLBACK(vu_get_config_cb, int (*)(VuDev *, uint8_t *, uint32_t));
CALLBACK(vu_set_config_cb,
         int (*)(VuDev *, const uint8_t *, uint32_t, uint32_t, uint32_t));
CALLBACK(vu_get_shared_object_cb, int (*)(VuDev *, const unsigned char *));
CALLBACK(vu_queue_handler_cb, void (*)(VuDev *, int));
CALLBACK(vu_panic_cb, void (*)(VuDev *, const char *));
CALLBACK(vu_watch_cb, void (*)(VuDev *, int, void *));
CALLBACK(vu_set_watch_cb, void (*)(VuDev *, int, int, vu_watch_cb, void *));
CALLBACK(vu_remove_watch_cb, void (*)(VuDev *, int));

/* Function types (parameter arrays decay to pointers). */
#define FUNCTION(name, Ty)                                                     \
    _Static_assert(SAME_TYPE(__typeof__(&name), Ty), #name " is not " #Ty)
FUNCTION(vu_init,
         bool (*)(VuDev *, uint16_t, int, vu_panic_cb, vu_read_msg_cb,
                  vu_set_watch_cb, vu_remove_watch_cb, const VuDevIface *));
FUNCTION(vu_deinit, void (*)(VuDev *));
FUNCTION(vu_request_to_string, const char *(*)(unsigned int));
FUNCTION(vu_dispatch, bool (*)(VuDev *));
FUNCTION(vu_gpa_to_va, void *(*)(VuDev *, uint64_t *, uint64_t));
FUNCTION(vu_get_queue, VuVirtq *(*)(VuDev *, int));
FUNCTION(vu_set_queue_handler,
         void (*)(VuDev *, VuVirtq *, vu_queue_handler_cb));
FUNCTION(vu_set_queue_host_notifier,
         bool (*)(VuDev *, VuVirtq *, int, int, int));
FUNCTION(vu_lookup_shared_object, bool (*)(VuDev *, unsigned char *, int *));
FUNCTION(vu_add_shared_object, bool (*)(VuDev *, unsigned char *));
FUNCTION(vu_rm_shared_object, bool (*)(VuDev *, unsigned char *));
FUNCTION(vu_queue_set_notification, void (*)(VuDev *, VuVirtq *, int));
FUNCTION(vu_queue_enabled, bool (*)(VuDev *, VuVirtq *));
FUNCTION(vu_queue_started, bool (*)(const VuDev *, const VuVirtq *));
FUNCTION(vu_queue_empty, bool (*)(VuDev *, VuVirtq *));
FUNCTION(vu_queue_notify, void (*)(VuDev *, VuVirtq *));
FUNCTION(vu_config_change_msg, void (*)(VuDev *));
FUNCTION(vu_queue_notify_sync, void (*)(VuDev *, VuVirtq *));
FUNCTION(vu_queue_pop, void *(*)(VuDev *, VuVirtq *, size_t));
FUNCTION(vu_queue_unpop,
         void (*)(VuDev *, VuVirtq *, VuVirtqElement *, size_t));
FUNCTION(vu_queue_rewind, bool (*)(VuDev *, VuVirtq *, unsigned int));
FUNCTION(vu_queue_fill, void (*)(VuDev *, VuVirtq *, const VuVirtqElement *,
                                 unsigned int, unsigned int));
FUNCTION(vu_queue_push,
         void (*)(VuDev *, VuVirtq *, const VuVirtqElement *, unsigned int));
FUNCTION(vu_queue_flush, void (*)(VuDev *, VuVirtq *, unsigned int));
FUNCTION(vu_queue_get_avail_bytes,
         void (*)(VuDev *, VuVirtq *, unsigned int *, unsigned int *,
                  unsigned int, unsigned int));
FUNCTION(vu_queue_avail_bytes,
         bool (*)(VuDev *, VuVirtq *, unsigned int, unsigned int));
FUNCTION(vu_version, const char *(*)(void));
#endif /* x86_64 */

/* Every API function, by address: the link fails if one is missing. */
static void (*const api[])(void) = {
#define API(f) (void (*)(void))(f)
    API(vu_init),
    API(vu_deinit),
    API(vu_request_to_string),
    API(vu_dispatch),
    API(vu_gpa_to_va),
    API(vu_get_queue),
    API(vu_set_queue_handler),
    API(vu_set_queue_host_notifier),
    API(vu_lookup_shared_object),
    API(vu_add_shared_object),
    API(vu_rm_shared_object),
    API(vu_queue_set_notification),
    API(vu_queue_enabled),
    API(vu_queue_started),
    API(vu_queue_empty),
    API(vu_queue_notify),
    API(vu_config_change_msg),
    API(vu_queue_notify_sync),
    API(vu_queue_pop),
    API(vu_queue_unpop),
    API(vu_queue_rewind),
    API(vu_queue_fill),
    API(vu_queue_push),
    API(vu_queue_flush),
    API(vu_queue_get_avail_bytes),
    API(vu_queue_avail_bytes),
    API(vu_version),
#undef API
};

int main(void)
{
    size_t n = sizeof(api) / sizeof(api[0]);
    for (size_t i = 0; i < n; i++) {
        if (api[i] == NULL) {
            fprintf(stderr, "FAIL: API function %zu has no address\n", i);
            return 1;
        }
    }
#ifndef VU_LAYOUT_CHECKED
    /* The numbers above are x86_64 facts; elsewhere only the link is checked. */
    fprintf(stderr, "SKIP: layout facts are for x86_64; this target is not\n");
    return 77;
#else
    /* The wire header is the first 12 bytes of the packed message. */
    VhostUserMsg msg;
    memset(&msg, 0, sizeof(msg));
    msg.request = VHOST_USER_GET_FEATURES;
    msg.flags = 1;
    msg.size = sizeof(msg.payload.u64);
    unsigned char wire[VHOST_USER_HDR_SIZE];
    memcpy(wire, &msg, sizeof(wire));
    uint32_t req, flags, size;
    memcpy(&req, wire, 4);
    memcpy(&flags, wire + 4, 4);
    memcpy(&size, wire + 8, 4);
    if (req != 1 || flags != 1 || size != 8) {
        fprintf(stderr, "FAIL: header bytes do not match the wire format\n");
        return 1;
    }
    printf("layout: %zu API functions linked, layout facts hold\n", n);
    return 0;
#endif
}
