/*
 * Postcopy live migration: the frontend resolves our page faults on guest
 * memory through a userfaultfd that we create and hand over.
 *   POSTCOPY_ADVISE  -> we create the userfaultfd and send it back;
 *   POSTCOPY_LISTEN  -> the next memory table is registered with it;
 *   SET_MEM_TABLE    -> we answer with our addresses of every region and
 *                       wait for the frontend's go-ahead;
 *   POSTCOPY_END     -> the userfaultfd is closed.
 * When the kernel refuses userfaultfd the feature is simply not offered, and
 * ADVISE (should a frontend send it anyway) is refused with the reason.
 */
#include "dispatch.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A userfaultfd with the API handshake done, or -1 with errno set. */
static int open_userfaultfd(void)
{
    struct uffdio_api api = { .api = UFFD_API, .features = 0 };
    int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        return -1;
    }
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

bool vu_postcopy_supported(void)
{
    /* Probed once per process: 0 unknown, 1 yes, 2 no.  Racing probes agree. */
    static int cached;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

    if (v == 0) {
        int fd = open_userfaultfd();

        v = fd >= 0 ? 1 : 2;
        if (fd >= 0) {
            close(fd);
        }
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v == 1;
}

bool vu_h_postcopy_advise(VuDev *dev, struct vu_msg_ctx *ctx)
{
    int fd = open_userfaultfd();

    if (fd < 0) {
        return vu_refuse(ctx, "the kernel refused userfaultfd: %s",
                         strerror(errno));
    }
    if (dev->postcopy_ufd >= 0) {
        close(dev->postcopy_ufd);
    }
    dev->postcopy_ufd = fd;
    ctx->msg->size = 0;
    ctx->reply_fd = fd;
    return true;
}

bool vu_h_postcopy_listen(VuDev *dev, struct vu_msg_ctx *ctx)
{
    if (dev->postcopy_ufd < 0) {
        return vu_refuse(ctx, "no POSTCOPY_ADVISE came first");
    }
    if (dev->nregions) {
        return vu_refuse(ctx, "memory is already registered");
    }
    dev->postcopy_listening = true;
    return true;
}

bool vu_h_postcopy_end(VuDev *dev, struct vu_msg_ctx *ctx)
{
    dev->postcopy_listening = false;
    if (dev->postcopy_ufd >= 0) {
        close(dev->postcopy_ufd); /* also drops every registration */
        dev->postcopy_ufd = -1;
    }
    vu_reply_u64(ctx->msg, 0);
    return true;
}

static bool register_region(VuDev *dev, struct vu_msg_ctx *ctx, uint32_t i)
{
    struct vu_impl *impl = vu_impl(dev);
    struct uffdio_register reg = {
        .range = { .start = (uint64_t)(uintptr_t)impl->maps[i].base,
                   .len = impl->maps[i].len },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };

    if (ioctl(dev->postcopy_ufd, UFFDIO_REGISTER, &reg) != 0) {
        return vu_refuse(ctx,
                         "registering region %u with userfaultfd failed: %s", i,
                         strerror(errno));
    }
    return true;
}

static bool register_regions(VuDev *dev, struct vu_msg_ctx *ctx)
{
    for (uint32_t i = 0; i < dev->nregions; i++) {
        if (!register_region(dev, ctx, i)) {
            return false;
        }
    }
    return true;
}

bool vu_postcopy_announce_region(VuDev *dev, struct vu_msg_ctx *ctx,
                                 const VhostUserMemoryRegion *r)
{
    int idx = vu_mem_find_exact(dev, r);
    VhostUserMsg reply;
    VhostUserMemRegMsg body = { .padding = 0, .region = *r };

    if (idx < 0) {
        return vu_refuse(ctx, "the new region vanished");
    }
    if (!register_region(dev, ctx, (uint32_t)idx)) {
        vu_mem_remove_region(dev,
                             (uint32_t)idx); /* a refusal changes nothing */
        return false;
    }
    body.region.userspace_addr =
        dev->regions[idx].mmap_addr + dev->regions[idx].mmap_offset;
    memset(&reply, 0, sizeof(reply));
    reply.request = VHOST_USER_ADD_MEM_REG;
    reply.flags = 1 | VHOST_USER_REPLY_MASK;
    reply.size = sizeof(body);
    memcpy(&reply.payload, &body, sizeof(body));
    if (!vu_message_write(dev->sock, &reply)) {
        return vu_refuse(ctx, "sending the postcopy region failed");
    }
    return true;
}

/* Tell the frontend where each region lives in our address space, so it can
 * wake our faults, then wait for its go-ahead before touching memory. */
bool vu_postcopy_announce_table(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserMsg reply, ack;

    if (!register_regions(dev, ctx)) {
        return false;
    }
    memset(&reply, 0, sizeof(reply));
    reply.request = VHOST_USER_SET_MEM_TABLE;
    reply.flags = 1 | VHOST_USER_REPLY_MASK;
    reply.size = ctx->msg->size;
    memcpy(&reply.payload, &ctx->msg->payload, ctx->msg->size);
    /* Only this message's regions are in the table (postcopy starts empty);
     * their order on the wire is kept, our table is sorted. */
    for (uint32_t i = 0; i < reply.payload.memory.nregions; i++) {
        VhostUserMemoryRegion r;
        int idx;

        memcpy(&r, &reply.payload.memory.regions[i], sizeof(r));
        idx = vu_mem_find_exact(dev, &r);
        if (idx >= 0) {
            const VuDevRegion *d = &dev->regions[idx];

            r.userspace_addr = d->mmap_addr + d->mmap_offset;
            memcpy(&reply.payload.memory.regions[i], &r, sizeof(r));
        }
    }
    if (!vu_message_write(dev->sock, &reply)) {
        return vu_refuse(ctx, "sending the postcopy table failed");
    }
    if (!dev->read_msg(dev, dev->sock, &ack)) {
        return vu_refuse(ctx, "no go-ahead from the frontend");
    }
    vu_msg_close_fds(&ack);
    if (ack.request != VHOST_USER_SET_MEM_TABLE ||
        ack.size != sizeof(uint64_t) || ack.payload.u64 != 0) {
        return vu_refuse(ctx, "the frontend's go-ahead was %s, size %u",
                         vu_request_to_string((unsigned)ack.request), ack.size);
    }
    return true;
}
