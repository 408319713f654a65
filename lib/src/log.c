/*
 * Dirty page log for live migration: one bit per 4 KiB guest page in the
 * shared log area given by SET_LOG_BASE.  The frontend reads and clears the
 * bits concurrently, so each byte is updated with an atomic OR.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

static bool logging(const VuDev *dev)
{
    return vu_has_feature(dev, VHOST_F_LOG_ALL) && dev->log_table &&
           dev->log_size > 0;
}

/* Bits [first, last] of one log byte. */
static uint8_t bit_range(unsigned first, unsigned last)
{
    return (uint8_t)((0xffu << first) & (0xffu >> (7 - last)));
}

static void mark_pages(VuDev *dev, uint64_t first_page, uint64_t last_page)
{
    uint64_t first_byte = first_page / 8, last_byte = last_page / 8;

    for (uint64_t b = first_byte; b <= last_byte; b++) {
        unsigned lo = b == first_byte ? (unsigned)(first_page % 8) : 0;
        unsigned hi = b == last_byte ? (unsigned)(last_page % 8) : 7;

        __atomic_fetch_or(&dev->log_table[b], bit_range(lo, hi),
                          __ATOMIC_RELAXED);
    }
}

void vu_log_write(VuDev *dev, uint64_t gpa, uint64_t len)
{
    uint64_t last, last_page;

    if (!logging(dev) || len == 0) {
        return;
    }
    if (__builtin_add_overflow(gpa, len - 1, &last)) {
        vu_fail(dev, "vu_log_write: range at 0x%llx wraps",
                (unsigned long long)gpa);
        return;
    }
    last_page = last / VHOST_LOG_PAGE;
    /* The frontend sized the log; a page beyond it is its error, never a
     * write past our mapping. */
    if (last_page / 8 >= dev->log_size) {
        vu_fail(dev, "vu_log_write: page 0x%llx beyond the %llu-byte log",
                (unsigned long long)last_page,
                (unsigned long long)dev->log_size);
        return;
    }
    mark_pages(dev, gpa / VHOST_LOG_PAGE, last_page);
}

void vu_log_used_ring(VuDev *dev, VuVirtq *vq, uint64_t off, uint64_t len)
{
    uint64_t gpa;

    if (!logging(dev) || !(vq->vring.flags & (1u << VHOST_VRING_F_LOG))) {
        return;
    }
    if (__builtin_add_overflow(vq->vring.log_guest_addr, off, &gpa)) {
        vu_fail(dev, "vu_log_write: used ring log address wraps");
        return;
    }
    vu_log_write(dev, gpa, len);
}

/* Guest-physical address of host range [host, host+len) in our mappings. */
static bool host_to_gpa(const VuDev *dev, const void *host, uint64_t len,
                        uint64_t *gpa)
{
    uintptr_t p = (uintptr_t)host;

    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *r = &dev->regions[i];
        uintptr_t start = (uintptr_t)(r->mmap_addr + r->mmap_offset);

        if (p >= start && p - start < r->size && len <= r->size - (p - start)) {
            *gpa = r->gpa + (p - start);
            return true;
        }
    }
    return false;
}

void vu_log_host_range(VuDev *dev, const void *host, uint64_t len,
                       const char *who)
{
    uint64_t gpa;

    if (!logging(dev) || len == 0) {
        return;
    }
    if (!host_to_gpa(dev, host, len, &gpa)) {
        vu_fail(dev, "%s: written buffer is not in guest memory", who);
        return;
    }
    vu_log_write(dev, gpa, len);
}

void vu_log_kick(VuDev *dev)
{
    if (!logging(dev) || dev->log_call_fd < 0) {
        return;
    }
    /* EAGAIN: the counter is saturated, so a kick is pending anyway. */
    if (eventfd_write(dev->log_call_fd, 1) < 0 && errno != EAGAIN) {
        vu_fail(dev, "vu_log_kick: writing the log eventfd failed: %s",
                strerror(errno));
    }
}

void vu_log_close(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);

    if (impl->log_map_base) {
        munmap(impl->log_map_base, impl->log_map_len);
    }
    impl->log_map_base = NULL;
    impl->log_map_len = 0;
    dev->log_table = NULL;
    dev->log_size = 0;
    if (dev->log_call_fd >= 0) {
        close(dev->log_call_fd);
    }
    dev->log_call_fd = -1;
}
