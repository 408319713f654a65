/*
 * Layout probe: prints the size, alignment and field offsets of every public
 * structure of <libvhost-user.h>, and the value of every public enumerator
 * and constant, one fact per line.  The layout check compiles this program
 * against two headers and diffs the outputs, so the text must only depend on
 * the ABI, never on the header's spelling.
 */
#include <libvhost-user.h>

#include <inttypes.h>
#include <stdio.h>

/* A coarse name for a scalar type: catches int/unsigned and width changes. */
#define KIND(x)                                                                \
    _Generic((x), _Bool                                                        \
             : "bool", char                                                    \
             : "char", signed char                                             \
             : "schar", unsigned char                                          \
             : "uchar", short                                                  \
             : "short", unsigned short                                         \
             : "ushort", int                                                   \
             : "int", unsigned int                                             \
             : "uint", long                                                    \
             : "long", unsigned long                                           \
             : "ulong", long long                                              \
             : "llong", unsigned long long                                     \
             : "ullong", default                                               \
             : "other")

#define STRUCT(T)                                                              \
    printf("struct %s size=%zu align=%zu\n", #T, sizeof(T), _Alignof(T))

/* Field F of struct T: offset, size, scalar kind (arrays decay: "other"). */
#define FIELD(T, F)                                                            \
    printf("field %s.%s offset=%zu size=%zu kind=%s\n", #T, #F,                \
           offsetof(T, F), sizeof(((T *)0)->F), KIND(((T *)0)->F))

#define VALUE(N) printf("value %s=%" PRIdMAX "\n", #N, (intmax_t)(N))
/* A constant with its type: a change from int to size_t is an API change. */
#define CONST(N)                                                               \
    printf("value %s=%" PRIdMAX " size=%zu kind=%s\n", #N, (intmax_t)(N),      \
           sizeof(N), KIND(N))

static void probe_messages(void)
{
    STRUCT(VhostUserMemoryRegion);
    FIELD(VhostUserMemoryRegion, guest_phys_addr);
    FIELD(VhostUserMemoryRegion, memory_size);
    FIELD(VhostUserMemoryRegion, userspace_addr);
    FIELD(VhostUserMemoryRegion, mmap_offset);

    STRUCT(VhostUserMemory);
    FIELD(VhostUserMemory, nregions);
    FIELD(VhostUserMemory, padding);
    FIELD(VhostUserMemory, regions);
    FIELD(VhostUserMemory, regions[1]);

    STRUCT(VhostUserMemRegMsg);
    FIELD(VhostUserMemRegMsg, padding);
    FIELD(VhostUserMemRegMsg, region);

    STRUCT(VhostUserLog);
    FIELD(VhostUserLog, mmap_size);
    FIELD(VhostUserLog, mmap_offset);

    STRUCT(VhostUserConfig);
    FIELD(VhostUserConfig, offset);
    FIELD(VhostUserConfig, size);
    FIELD(VhostUserConfig, flags);
    FIELD(VhostUserConfig, region);

    STRUCT(VhostUserVringArea);
    FIELD(VhostUserVringArea, u64);
    FIELD(VhostUserVringArea, size);
    FIELD(VhostUserVringArea, offset);

    STRUCT(VhostUserInflight);
    FIELD(VhostUserInflight, mmap_size);
    FIELD(VhostUserInflight, mmap_offset);
    FIELD(VhostUserInflight, num_queues);
    FIELD(VhostUserInflight, queue_size);

    STRUCT(VhostUserShared);
    FIELD(VhostUserShared, uuid);

    STRUCT(VhostUserMsg);
    FIELD(VhostUserMsg, request);
    FIELD(VhostUserMsg, flags);
    FIELD(VhostUserMsg, size);
    FIELD(VhostUserMsg, payload);
    FIELD(VhostUserMsg, payload.u64);
    FIELD(VhostUserMsg, payload.state);
    FIELD(VhostUserMsg, payload.addr);
    FIELD(VhostUserMsg, payload.memory);
    FIELD(VhostUserMsg, payload.memreg);
    FIELD(VhostUserMsg, payload.log);
    FIELD(VhostUserMsg, payload.config);
    FIELD(VhostUserMsg, payload.area);
    FIELD(VhostUserMsg, payload.inflight);
    FIELD(VhostUserMsg, payload.object);
    FIELD(VhostUserMsg, fds);
    FIELD(VhostUserMsg, fd_num);
    FIELD(VhostUserMsg, data);
}

static void probe_device(void)
{
    STRUCT(VuDevRegion);
    FIELD(VuDevRegion, gpa);
    FIELD(VuDevRegion, size);
    FIELD(VuDevRegion, qva);
    FIELD(VuDevRegion, mmap_offset);
    FIELD(VuDevRegion, mmap_addr);

    STRUCT(VuDevIface);
    FIELD(VuDevIface, get_features);
    FIELD(VuDevIface, set_features);
    FIELD(VuDevIface, get_protocol_features);
    FIELD(VuDevIface, set_protocol_features);
    FIELD(VuDevIface, process_msg);
    FIELD(VuDevIface, queue_set_started);
    FIELD(VuDevIface, queue_is_processed_in_order);
    FIELD(VuDevIface, get_config);
    FIELD(VuDevIface, set_config);
    FIELD(VuDevIface, get_shared_object);

    STRUCT(VuDevInflightInfo);
    FIELD(VuDevInflightInfo, fd);
    FIELD(VuDevInflightInfo, addr);
    FIELD(VuDevInflightInfo, size);

    STRUCT(VuDev);
    FIELD(VuDev, sock);
    FIELD(VuDev, nregions);
    FIELD(VuDev, regions);
    FIELD(VuDev, vq);
    FIELD(VuDev, inflight_info);
    FIELD(VuDev, log_call_fd);
    FIELD(VuDev, backend_mutex);
    FIELD(VuDev, backend_fd);
    FIELD(VuDev, log_size);
    FIELD(VuDev, log_table);
    FIELD(VuDev, features);
    FIELD(VuDev, protocol_features);
    FIELD(VuDev, broken);
    FIELD(VuDev, max_queues);
    FIELD(VuDev, read_msg);
    FIELD(VuDev, set_watch);
    FIELD(VuDev, remove_watch);
    FIELD(VuDev, panic);
    FIELD(VuDev, iface);
    FIELD(VuDev, postcopy_ufd);
    FIELD(VuDev, postcopy_listening);
}

static void probe_queues(void)
{
    STRUCT(VuRing);
    FIELD(VuRing, num);
    FIELD(VuRing, desc);
    FIELD(VuRing, avail);
    FIELD(VuRing, used);
    FIELD(VuRing, log_guest_addr);
    FIELD(VuRing, flags);

    STRUCT(VuDescStateSplit);
    FIELD(VuDescStateSplit, inflight);
    FIELD(VuDescStateSplit, padding);
    FIELD(VuDescStateSplit, next);
    FIELD(VuDescStateSplit, counter);

    STRUCT(VuVirtqInflight);
    FIELD(VuVirtqInflight, features);
    FIELD(VuVirtqInflight, version);
    FIELD(VuVirtqInflight, desc_num);
    FIELD(VuVirtqInflight, last_batch_head);
    FIELD(VuVirtqInflight, used_idx);
    printf("field VuVirtqInflight.desc offset=%zu elemsize=%zu\n",
           offsetof(VuVirtqInflight, desc),
           sizeof(((VuVirtqInflight *)0)->desc[0]));

    STRUCT(VuVirtqInflightDesc);
    FIELD(VuVirtqInflightDesc, index);
    FIELD(VuVirtqInflightDesc, counter);

    STRUCT(VuVirtq);
    FIELD(VuVirtq, vring);
    FIELD(VuVirtq, inflight);
    FIELD(VuVirtq, resubmit_list);
    FIELD(VuVirtq, resubmit_num);
    FIELD(VuVirtq, counter);
    FIELD(VuVirtq, last_avail_idx);
    FIELD(VuVirtq, shadow_avail_idx);
    FIELD(VuVirtq, used_idx);
    FIELD(VuVirtq, signalled_used);
    FIELD(VuVirtq, signalled_used_valid);
    FIELD(VuVirtq, notification);
    FIELD(VuVirtq, inuse);
    FIELD(VuVirtq, handler);
    FIELD(VuVirtq, call_fd);
    FIELD(VuVirtq, kick_fd);
    FIELD(VuVirtq, err_fd);
    FIELD(VuVirtq, enable);
    FIELD(VuVirtq, started);
    FIELD(VuVirtq, vra);

    STRUCT(VuVirtqElement);
    FIELD(VuVirtqElement, index);
    FIELD(VuVirtqElement, out_num);
    FIELD(VuVirtqElement, in_num);
    FIELD(VuVirtqElement, in_sg);
    FIELD(VuVirtqElement, out_sg);
}

static void probe_constants(void)
{
    CONST(VHOST_USER_F_PROTOCOL_FEATURES);
    CONST(VHOST_LOG_PAGE);
    CONST(VIRTQUEUE_MAX_SIZE);
    CONST(VHOST_MEMORY_BASELINE_NREGIONS);
    CONST(VHOST_USER_MAX_RAM_SLOTS);
    CONST(VHOST_USER_HDR_SIZE);
    CONST(VHOST_USER_MAX_CONFIG_SIZE);
    CONST(VHOST_USER_PROTOCOL_FEATURE_MASK);
    CONST(VHOST_USER_MEM_REG_SIZE);
    CONST(VHOST_USER_CONFIG_HDR_SIZE);
    CONST(UUID_LEN);
    CONST(VHOST_USER_VERSION_MASK);
    CONST(VHOST_USER_REPLY_MASK);
    CONST(VHOST_USER_NEED_REPLY_MASK);
    CONST(VHOST_USER_VRING_IDX_MASK);
    CONST(VHOST_USER_VRING_NOFD_MASK);
}

static void probe_enums(void)
{
    printf("enum VhostSetConfigType size=%zu\n", sizeof(VhostSetConfigType));
    VALUE(VHOST_SET_CONFIG_TYPE_FRONTEND);
    VALUE(VHOST_SET_CONFIG_TYPE_MIGRATION);

    printf("enum VhostUserProtocolFeature size=%zu\n",
           sizeof(enum VhostUserProtocolFeature));
    VALUE(VHOST_USER_PROTOCOL_F_MQ);
    VALUE(VHOST_USER_PROTOCOL_F_LOG_SHMFD);
    VALUE(VHOST_USER_PROTOCOL_F_RARP);
    VALUE(VHOST_USER_PROTOCOL_F_REPLY_ACK);
    VALUE(VHOST_USER_PROTOCOL_F_NET_MTU);
    VALUE(VHOST_USER_PROTOCOL_F_BACKEND_REQ);
    VALUE(VHOST_USER_PROTOCOL_F_CROSS_ENDIAN);
    VALUE(VHOST_USER_PROTOCOL_F_CRYPTO_SESSION);
    VALUE(VHOST_USER_PROTOCOL_F_PAGEFAULT);
    VALUE(VHOST_USER_PROTOCOL_F_CONFIG);
    VALUE(VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD);
    VALUE(VHOST_USER_PROTOCOL_F_HOST_NOTIFIER);
    VALUE(VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
    VALUE(VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS);
    VALUE(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
    VALUE(VHOST_USER_PROTOCOL_F_SHARED_OBJECT);
    VALUE(VHOST_USER_PROTOCOL_F_MAX);

    printf("enum VhostUserRequest size=%zu\n", sizeof(VhostUserRequest));
    VALUE(VHOST_USER_NONE);
    VALUE(VHOST_USER_GET_FEATURES);
    VALUE(VHOST_USER_SET_FEATURES);
    VALUE(VHOST_USER_SET_OWNER);
    VALUE(VHOST_USER_RESET_OWNER);
    VALUE(VHOST_USER_SET_MEM_TABLE);
    VALUE(VHOST_USER_SET_LOG_BASE);
    VALUE(VHOST_USER_SET_LOG_FD);
    VALUE(VHOST_USER_SET_VRING_NUM);
    VALUE(VHOST_USER_SET_VRING_ADDR);
    VALUE(VHOST_USER_SET_VRING_BASE);
    VALUE(VHOST_USER_GET_VRING_BASE);
    VALUE(VHOST_USER_SET_VRING_KICK);
    VALUE(VHOST_USER_SET_VRING_CALL);
    VALUE(VHOST_USER_SET_VRING_ERR);
    VALUE(VHOST_USER_GET_PROTOCOL_FEATURES);
    VALUE(VHOST_USER_SET_PROTOCOL_FEATURES);
    VALUE(VHOST_USER_GET_QUEUE_NUM);
    VALUE(VHOST_USER_SET_VRING_ENABLE);
    VALUE(VHOST_USER_SEND_RARP);
    VALUE(VHOST_USER_NET_SET_MTU);
    VALUE(VHOST_USER_SET_BACKEND_REQ_FD);
    VALUE(VHOST_USER_IOTLB_MSG);
    VALUE(VHOST_USER_SET_VRING_ENDIAN);
    VALUE(VHOST_USER_GET_CONFIG);
    VALUE(VHOST_USER_SET_CONFIG);
    VALUE(VHOST_USER_CREATE_CRYPTO_SESSION);
    VALUE(VHOST_USER_CLOSE_CRYPTO_SESSION);
    VALUE(VHOST_USER_POSTCOPY_ADVISE);
    VALUE(VHOST_USER_POSTCOPY_LISTEN);
    VALUE(VHOST_USER_POSTCOPY_END);
    VALUE(VHOST_USER_GET_INFLIGHT_FD);
    VALUE(VHOST_USER_SET_INFLIGHT_FD);
    VALUE(VHOST_USER_GPU_SET_SOCKET);
    VALUE(VHOST_USER_VRING_KICK);
    VALUE(VHOST_USER_GET_MAX_MEM_SLOTS);
    VALUE(VHOST_USER_ADD_MEM_REG);
    VALUE(VHOST_USER_REM_MEM_REG);
    VALUE(VHOST_USER_GET_SHARED_OBJECT);
    VALUE(VHOST_USER_MAX);

    printf("enum VhostUserBackendRequest size=%zu\n",
           sizeof(VhostUserBackendRequest));
    VALUE(VHOST_USER_BACKEND_NONE);
    VALUE(VHOST_USER_BACKEND_IOTLB_MSG);
    VALUE(VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
    VALUE(VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG);
    VALUE(VHOST_USER_BACKEND_VRING_CALL);
    VALUE(VHOST_USER_BACKEND_VRING_ERR);
    VALUE(VHOST_USER_BACKEND_SHARED_OBJECT_ADD);
    VALUE(VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE);
    VALUE(VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP);
    VALUE(VHOST_USER_BACKEND_MAX);

    printf("enum VuWatchCondtion size=%zu\n", sizeof(enum VuWatchCondtion));
    VALUE(VU_WATCH_IN);
    VALUE(VU_WATCH_OUT);
    VALUE(VU_WATCH_PRI);
    VALUE(VU_WATCH_ERR);
    VALUE(VU_WATCH_HUP);
}

int main(void)
{
    probe_messages();
    probe_device();
    probe_queues();
    probe_constants();
    probe_enums();
    return 0;
}
