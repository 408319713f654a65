/*
 * Handlers for shared resources handed over the socket: the inflight area,
 * the backend request channel and shared objects.
 */
#include "dispatch.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool parse_inflight(VuDev *dev, struct vu_msg_ctx *ctx,
                           VhostUserInflight *in)
{
    struct vu_cursor c = vu_payload_cursor(ctx->msg);

    memset(in, 0, sizeof(*in)); /* the tail padding goes back in the reply */
    if (!vu_take(&c, &in->mmap_size, 8) || !vu_take(&c, &in->mmap_offset, 8) ||
        !vu_take(&c, &in->num_queues, 2) || !vu_take(&c, &in->queue_size, 2)) {
        return vu_refuse(ctx, "payload too short");
    }
    if (in->num_queues == 0 || in->num_queues > dev->max_queues) {
        return vu_refuse(ctx, "%u inflight queues, 1..%u allowed",
                         in->num_queues, dev->max_queues);
    }
    if (in->queue_size == 0 || in->queue_size > VU_MAX_QUEUE_SIZE) {
        return vu_refuse(ctx, "inflight queue size %u is not in 1..%d",
                         in->queue_size, VU_MAX_QUEUE_SIZE);
    }
    return true;
}

/* Point each queue at its slice of a newly installed inflight area. */
static void attach_inflight(VuDev *dev, void *base, const VhostUserInflight *in)
{
    struct vu_impl *impl = vu_impl(dev);
    uint64_t per = vu_inflight_queue_size(in->queue_size);

    for (uint16_t i = 0; i < dev->max_queues; i++) {
        bool has = i < in->num_queues;

        dev->vq[i].inflight =
            has ? (VuVirtqInflight *)((uint8_t *)base + i * per) : NULL;
        impl->vqp[i].inflight_desc_cap = has ? in->queue_size : 0;
        impl->vqp[i].inflight_checked = false;
    }
}

bool vu_h_get_inflight_fd(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserInflight in;
    uint64_t size;
    void *base;
    int fd;

    if (!parse_inflight(dev, ctx, &in)) {
        return false;
    }
    size = in.num_queues * vu_inflight_queue_size(in.queue_size);
    if (size > VU_MAX_INFLIGHT_SIZE) {
        return vu_refuse(ctx, "inflight area of %llu bytes is too large",
                         (unsigned long long)size);
    }
    fd = memfd_create("vhost-user-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return vu_refuse(ctx, "memfd_create failed");
    }
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) !=
            0 ||
        (base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) ==
            MAP_FAILED) {
        close(fd);
        return vu_refuse(ctx, "allocating the inflight area failed");
    }
    /* A repeated request replaces the area instead of leaking it. */
    vu_inflight_unmap(dev);
    dev->inflight_info.fd = fd;
    dev->inflight_info.addr = base;
    dev->inflight_info.size = size;
    attach_inflight(dev, base, &in);
    in.mmap_size = size;
    in.mmap_offset = 0;
    ctx->msg->payload.inflight = in;
    ctx->msg->size = sizeof(in);
    ctx->reply_fd = fd;
    return true;
}

bool vu_h_set_inflight_fd(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserInflight in;
    uint64_t need, end;
    long page = sysconf(_SC_PAGESIZE);
    struct stat st;
    void *base;
    int fd = ctx->msg->fds[0];

    if (!parse_inflight(dev, ctx, &in)) {
        return false;
    }
    need = in.num_queues * vu_inflight_queue_size(in.queue_size);
    if (in.mmap_size < need || in.mmap_size > VU_MAX_INFLIGHT_SIZE) {
        return vu_refuse(ctx, "inflight mmap_size %llu, %llu..%u needed",
                         (unsigned long long)in.mmap_size,
                         (unsigned long long)need, VU_MAX_INFLIGHT_SIZE);
    }
    if (__builtin_add_overflow(in.mmap_offset, in.mmap_size, &end) ||
        (in.mmap_offset & ((uint64_t)page - 1))) {
        return vu_refuse(ctx, "inflight mmap_offset is unaligned or overflows");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < end) {
        return vu_refuse(
            ctx, "inflight fd is not a file of at least offset + size bytes");
    }
    vu_seal_against_shrink(fd); /* a shrink under our mapping would SIGBUS us */
    base = mmap(NULL, in.mmap_size, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_NORESERVE, fd, (off_t)in.mmap_offset);
    if (base == MAP_FAILED) {
        return vu_refuse(ctx, "mmap of the inflight area failed");
    }
    vu_inflight_unmap(dev);
    dev->inflight_info.fd = fd;
    dev->inflight_info.addr = base;
    dev->inflight_info.size = in.mmap_size;
    ctx->msg->fds[0] = -1; /* kept for the life of the area */
    attach_inflight(dev, base, &in);
    return true;
}

bool vu_h_set_backend_req_fd(VuDev *dev, struct vu_msg_ctx *ctx)
{
    pthread_mutex_lock(&dev->backend_mutex);
    if (dev->backend_fd >= 0) {
        close(dev->backend_fd); /* a repeat replaces, never leaks */
    }
    dev->backend_fd = ctx->msg->fds[0];
    pthread_mutex_unlock(&dev->backend_mutex);
    ctx->msg->fds[0] = -1;
    return true;
}

/* Reply: u64 0 and the object's fd when the device has it, else u64 1. */
bool vu_h_get_shared_object(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserShared obj;
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    int fd = -1;

    if (!vu_take(&c, &obj, sizeof(obj))) {
        return vu_refuse(ctx, "payload too short");
    }
    if (dev->iface->get_shared_object) {
        fd = dev->iface->get_shared_object(dev, obj.uuid);
    }
    vu_reply_u64(ctx->msg, fd >= 0 ? 0 : 1);
    ctx->reply_fd = fd >= 0 ? fd : -1;
    return true;
}
