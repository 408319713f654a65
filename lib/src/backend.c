/*
 * The backend request channel (SET_BACKEND_REQ_FD): messages the backend
 * sends to the frontend, serialised by backend_mutex.
 */
#include "internal.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read the frontend's u64 answer to request. */
static bool read_ack(VuDev *dev, uint32_t request, uint64_t *value)
{
    VhostUserMsg r;

    if (!vu_message_read_default(dev, dev->backend_fd, &r)) {
        return false;
    }
    vu_msg_close_fds(&r); /* no reply of ours carries fds */
    if ((uint32_t)r.request != request ||
        r.flags != (1u | VHOST_USER_REPLY_MASK) || r.size != sizeof(uint64_t)) {
        return false;
    }
    *value = r.payload.u64;
    return true;
}

/* Caller holds backend_mutex. */
static bool request_locked(VuDev *dev, uint32_t request, const void *payload,
                           uint32_t size, int fd, bool need_reply,
                           uint64_t *reply_u64)
{
    VhostUserMsg m;
    uint64_t value = 0;

    if (dev->backend_fd < 0 || size > sizeof(m.payload)) {
        return false;
    }
    memset(&m, 0, sizeof(m));
    m.request = (int)request;
    m.flags = 1 | (need_reply ? VHOST_USER_NEED_REPLY_MASK : 0);
    m.size = size;
    if (size) {
        memcpy(&m.payload, payload, size);
    }
    if (fd >= 0) {
        m.fds[0] = fd;
        m.fd_num = 1;
    }
    if (!vu_message_write(dev->backend_fd, &m)) {
        return false;
    }
    if (need_reply && !read_ack(dev, request, &value)) {
        return false;
    }
    if (reply_u64) {
        *reply_u64 = value;
    }
    return true;
}

bool vu_backend_request(VuDev *dev, uint32_t request, const void *payload,
                        uint32_t size, int fd, bool need_reply,
                        uint64_t *reply_u64)
{
    bool ok;

    pthread_mutex_lock(&dev->backend_mutex);
    ok = request_locked(dev, request, payload, size, fd, need_reply, reply_u64);
    pthread_mutex_unlock(&dev->backend_mutex);
    if (!ok) {
        vu_fail(
            dev,
            "backend channel: request %u failed (no channel, I/O error or bad "
            "reply)",
            request);
    }
    return ok;
}

VU_EXPORT bool vu_set_queue_host_notifier(VuDev *dev, VuVirtq *vq, int fd,
                                          int size, int offset)
{
    VhostUserVringArea area;
    uint64_t result = 1;
    int qidx;

    qidx = vu_queue_index(dev, vq);
    if (qidx < 0 || size < 0 || offset < 0 ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD) ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_HOST_NOTIFIER)) {
        return false;
    }
    area.u64 = (uint64_t)qidx & VHOST_USER_VRING_IDX_MASK;
    if (fd < 0) {
        area.u64 |= VHOST_USER_VRING_NOFD_MASK;
    }
    area.size = (uint64_t)size;
    area.offset = (uint64_t)offset;
    if (!vu_backend_request(dev, VHOST_USER_BACKEND_VRING_HOST_NOTIFIER_MSG,
                            &area, sizeof(area), fd, true, &result)) {
        return false;
    }
    return result == 0;
}

VU_EXPORT void vu_config_change_msg(VuDev *dev)
{
    if (!dev ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_BACKEND_REQ)) {
        return;
    }
    (void)vu_backend_request(
        dev, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG, NULL, 0, -1,
        vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK), NULL);
}

static bool shared_object_request(VuDev *dev, uint32_t request,
                                  const unsigned char uuid[UUID_LEN],
                                  bool need_reply, uint64_t *result)
{
    VhostUserShared obj;

    if (!dev || !uuid ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_SHARED_OBJECT)) {
        return false;
    }
    memcpy(obj.uuid, uuid, UUID_LEN);
    return vu_backend_request(dev, request, &obj, sizeof(obj), -1, need_reply,
                              result);
}

VU_EXPORT bool vu_add_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN])
{
    return shared_object_request(dev, VHOST_USER_BACKEND_SHARED_OBJECT_ADD,
                                 uuid, false, NULL);
}

VU_EXPORT bool vu_rm_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN])
{
    return shared_object_request(dev, VHOST_USER_BACKEND_SHARED_OBJECT_REMOVE,
                                 uuid, false, NULL);
}

/* LOOKUP's answer carries the object's fd beside the u64, so it has its own
 * reply reader. */
static bool lookup_locked(VuDev *dev, const unsigned char uuid[UUID_LEN],
                          int *dmabuf_fd)
{
    VhostUserMsg m, r;

    if (dev->backend_fd < 0) {
        return false;
    }
    memset(&m, 0, sizeof(m));
    m.request = VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP;
    m.flags = 1 | VHOST_USER_NEED_REPLY_MASK;
    m.size = sizeof(VhostUserShared);
    memcpy(m.payload.object.uuid, uuid, UUID_LEN);
    if (!vu_message_write(dev->backend_fd, &m) ||
        !vu_message_read_default(dev, dev->backend_fd, &r)) {
        return false;
    }
    if (r.request != VHOST_USER_BACKEND_SHARED_OBJECT_LOOKUP ||
        r.flags != (1u | VHOST_USER_REPLY_MASK) || r.size != sizeof(uint64_t) ||
        r.payload.u64 != 0 || r.fd_num != 1) {
        vu_msg_close_fds(&r); /* never leak what came with a bad answer */
        return false;
    }
    *dmabuf_fd = r.fds[0];
    return true;
}

VU_EXPORT bool vu_lookup_shared_object(VuDev *dev, unsigned char uuid[UUID_LEN],
                                       int *dmabuf_fd)
{
    bool ok;

    if (!dev || !uuid || !dmabuf_fd ||
        !vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_SHARED_OBJECT)) {
        return false;
    }
    pthread_mutex_lock(&dev->backend_mutex);
    ok = lookup_locked(dev, uuid, dmabuf_fd);
    pthread_mutex_unlock(&dev->backend_mutex);
    return ok;
}
