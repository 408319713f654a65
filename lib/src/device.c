/*
 * Device lifetime: vu_init, vu_deinit and the small accessors that do not
 * belong to a protocol area.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

VU_EXPORT const char *vu_version(void)
{
    return "0.1.0";
}

void vu_fail(VuDev *dev, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    vu_note_error(dev, reason);
    dev->broken = true;
    if (dev->panic) {
        dev->panic(dev, reason);
    }
}

void vu_note_error(VuDev *dev, const char *reason)
{
    if (dev->regions) {
        (void)snprintf(vu_impl(dev)->last_error,
                       sizeof(vu_impl(dev)->last_error), "%s", reason);
    }
}

VU_EXPORT const char *vu_last_error(const VuDev *dev)
{
    return dev && dev->regions ? vu_impl(dev)->last_error : "";
}

void vu_set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags >= 0 && !(flags & O_NONBLOCK)) {
        (void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    }
}

static void vq_init_one(VuVirtq *vq)
{
    memset(vq, 0, sizeof(*vq));
    vq->call_fd = -1;
    vq->kick_fd = -1;
    vq->err_fd = -1;
    vq->notification = true;
}

VU_EXPORT bool vu_init(VuDev *dev, uint16_t max_queues, int socket,
                       vu_panic_cb panic, vu_read_msg_cb read_msg,
                       vu_set_watch_cb set_watch,
                       vu_remove_watch_cb remove_watch, const VuDevIface *iface)
{
    struct vu_impl *impl;
    struct vu_vq_priv *vqp;

    if (!dev) {
        return false;
    }
    memset(dev, 0, sizeof(*dev));
    /* The original asserts on these; a library must refuse instead. */
    if (max_queues == 0 || socket < 0 || !panic || !set_watch ||
        !remove_watch || !iface) {
        return false;
    }
    /* The region tables are read only below dev->nregions: leave their
     * 28 KiB unwritten and zero the bookkeeping that follows them. */
    impl = malloc(sizeof(*impl));
    if (!impl) {
        return false;
    }
    memset((char *)impl + offsetof(struct vu_impl, vqp), 0,
           sizeof(*impl) - offsetof(struct vu_impl, vqp));
    dev->vq = calloc(max_queues, sizeof(*dev->vq));
    vqp = calloc(max_queues, sizeof(*vqp));
    if (!dev->vq || !vqp) {
        free(dev->vq);
        free(vqp);
        free(impl);
        dev->vq = NULL;
        return false;
    }
    impl->vqp = vqp;
    dev->regions = impl->regions;
    dev->sock = socket;
    dev->panic = panic;
    dev->read_msg = read_msg ? read_msg : vu_message_read_default;
    dev->set_watch = set_watch;
    dev->remove_watch = remove_watch;
    dev->iface = iface;
    dev->log_call_fd = -1;
    dev->backend_fd = -1;
    dev->inflight_info.fd = -1;
    dev->postcopy_ufd = -1;
    dev->max_queues = max_queues;
    pthread_mutex_init(&dev->backend_mutex, NULL);
    for (uint16_t i = 0; i < max_queues; i++) {
        vq_init_one(&dev->vq[i]);
    }
    impl->record_fd = -1;
    vu_record_init(dev);
    return true;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = -1;
}

static void vq_release(VuDev *dev, VuVirtq *vq)
{
    vu_vring_close_kick(dev, vq);
    close_fd(&vq->call_fd);
    close_fd(&vq->err_fd);
    free(vq->resubmit_list);
    vq->resubmit_list = NULL;
    vq->resubmit_num = 0;
    vq->inflight = NULL;
}

VU_EXPORT void vu_deinit(VuDev *dev)
{
    struct vu_impl *impl;

    /* Safe to call twice, or after a failed vu_init. */
    if (!dev || !dev->regions) {
        return;
    }
    impl = vu_impl(dev);
    vu_mem_unmap_all(dev);
    for (uint16_t i = 0; dev->vq && i < dev->max_queues; i++) {
        vq_release(dev, &dev->vq[i]);
    }
    vu_inflight_unmap(dev);
    vu_log_close(dev);
    close_fd(&dev->backend_fd);
    close_fd(&dev->postcopy_ufd);
    vu_record_close(dev);
    pthread_mutex_destroy(&dev->backend_mutex);
    close_fd(&dev->sock);
    free(dev->vq);
    dev->vq = NULL;
    free(impl->vqp);
    free(impl);
    dev->regions = NULL;
    dev->max_queues = 0;
}

VU_EXPORT VuVirtq *vu_get_queue(VuDev *dev, int qidx)
{
    if (!dev || !dev->vq || qidx < 0 || qidx >= dev->max_queues) {
        return NULL;
    }
    return &dev->vq[qidx];
}
