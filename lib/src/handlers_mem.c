/*
 * Handlers for guest memory and the dirty log: SET_MEM_TABLE, ADD/REM_MEM_REG,
 * GET_MAX_MEM_SLOTS, SET_LOG_BASE, SET_LOG_FD.
 */
#include "dispatch.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

bool vu_h_set_mem_table(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserMsg *m = ctx->msg;
    struct vu_cursor c = vu_payload_cursor(m);
    VhostUserMemoryRegion regs[VHOST_MEMORY_BASELINE_NREGIONS];
    uint32_t n, padding;
    const char *why;

    if (!vu_take(&c, &n, sizeof(n)) ||
        !vu_take(&c, &padding, sizeof(padding))) {
        return vu_refuse(ctx, "payload too short");
    }
    if (n > VHOST_MEMORY_BASELINE_NREGIONS) {
        return vu_refuse(ctx, "%u regions, at most %d allowed", n,
                         VHOST_MEMORY_BASELINE_NREGIONS);
    }
    if (m->size != 2 * sizeof(uint32_t) + n * sizeof(VhostUserMemoryRegion)) {
        return vu_refuse(
            ctx, "payload is %u bytes, %zu expected for %u regions", m->size,
            2 * sizeof(uint32_t) + n * sizeof(VhostUserMemoryRegion), n);
    }
    if ((uint32_t)m->fd_num != n) {
        return vu_refuse(ctx, "%u regions but %d fds", n, m->fd_num);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!vu_take(&c, &regs[i], sizeof(regs[i]))) {
            return vu_refuse(ctx, "region %u is truncated", i);
        }
    }
    int fds[VHOST_MEMORY_BASELINE_NREGIONS];

    memcpy(fds, m->fds, sizeof(fds)); /* the message is packed */
    why = vu_mem_replace_table(dev, regs, fds, n);
    if (why) {
        return vu_refuse(ctx, "%s", why);
    }
    return dev->postcopy_listening ? vu_postcopy_announce_table(dev, ctx)
                                   : true;
}

static bool parse_memreg(struct vu_msg_ctx *ctx, VhostUserMemoryRegion *r)
{
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    uint64_t padding;

    if (!vu_take(&c, &padding, sizeof(padding)) ||
        !vu_take(&c, r, sizeof(*r))) {
        return vu_refuse(ctx, "payload too short");
    }
    return true;
}

/*
 * QEMU's multiqueue net sends the same ADD_MEM_REG once per queue pair (each
 * pair keeps its own view of memory) and later one REM_MEM_REG per pair.  An
 * exact repeat of a mapped region is counted instead of refused, so the
 * region stays until its last REM.  true when r was such a repeat.
 */
static bool add_again(VuDev *dev, struct vu_msg_ctx *ctx,
                      const VhostUserMemoryRegion *r, const char **why)
{
    struct vu_region_map *map;
    struct stat st;
    int idx = vu_mem_find_exact(dev, r);

    *why = NULL;
    if (idx < 0) {
        return false;
    }
    map = &vu_impl(dev)->maps[idx];
    if (fstat(ctx->msg->fds[0], &st) != 0 ||
        (uint64_t)st.st_dev != map->file_dev ||
        (uint64_t)st.st_ino != map->file_ino ||
        map->file_offset != r->mmap_offset) {
        *why = "region repeats a mapped one's addresses with other file bytes";
    } else if (map->refs >= VU_MAX_REGION_REFS) {
        *why = "region added too many times";
    } else {
        map->refs++;
    }
    return true;
}

bool vu_h_add_mem_reg(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserMemoryRegion r;
    const char *why;

    if (!parse_memreg(ctx, &r)) {
        return false;
    }
    if (add_again(dev, ctx, &r, &why)) {
        return why ? vu_refuse(ctx, "%s", why) : true;
    }
    why = vu_mem_add_region(dev, &r, ctx->msg->fds[0]);
    if (why) {
        return vu_refuse(ctx, "%s", why);
    }
    vu_vring_remap_all(dev); /* rings waiting for this region can map now */
    return dev->postcopy_listening ? vu_postcopy_announce_region(dev, ctx, &r)
                                   : true;
}

bool vu_h_rem_mem_reg(VuDev *dev, struct vu_msg_ctx *ctx)
{
    VhostUserMemoryRegion r;
    int idx;

    if (!parse_memreg(ctx, &r)) {
        return false;
    }
    idx = vu_mem_find_exact(dev, &r);
    if (idx < 0) {
        return vu_refuse(ctx, "no region matches gpa 0x%llx size 0x%llx",
                         (unsigned long long)r.guest_phys_addr,
                         (unsigned long long)r.memory_size);
    }
    if (--vu_impl(dev)->maps[idx].refs == 0) {
        vu_mem_remove_region(dev, (uint32_t)idx);
    }
    return true;
}

bool vu_h_get_max_mem_slots(VuDev *dev, struct vu_msg_ctx *ctx)
{
    (void)dev;
    vu_reply_u64(ctx->msg, VHOST_USER_MAX_RAM_SLOTS);
    return true;
}

bool vu_h_set_log_base(VuDev *dev, struct vu_msg_ctx *ctx)
{
    struct vu_impl *impl = vu_impl(dev);
    struct vu_cursor c = vu_payload_cursor(ctx->msg);
    VhostUserLog log;
    uint64_t end, map_off, delta, map_len;
    long page = sysconf(_SC_PAGESIZE);
    struct stat st;
    void *base;
    int fd = ctx->msg->fds[0];

    if (!vu_take(&c, &log, sizeof(log))) {
        return vu_refuse(ctx, "payload too short");
    }
    if (log.mmap_size == 0) {
        return vu_refuse(ctx, "log size is zero");
    }
    if (__builtin_add_overflow(log.mmap_offset, log.mmap_size, &end) ||
        log.mmap_size > (uint64_t)SIZE_MAX / 2) {
        return vu_refuse(ctx, "log offset + size overflows");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < end) {
        return vu_refuse(
            ctx, "log fd is not a file of at least offset + size bytes");
    }
    vu_seal_against_shrink(fd);
    map_off = log.mmap_offset & ~((uint64_t)page - 1);
    delta = log.mmap_offset - map_off;
    map_len = log.mmap_size + delta;
    base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
    if (base == MAP_FAILED) {
        return vu_refuse(ctx, "mmap of the log failed");
    }
    if (impl->log_map_base) {
        munmap(impl->log_map_base, impl->log_map_len);
    }
    impl->log_map_base = base;
    impl->log_map_len = (size_t)map_len;
    dev->log_table = (uint8_t *)base + delta;
    dev->log_size = log.mmap_size;
    vu_reply_u64(ctx->msg, 0); /* the frontend waits for this */
    return true;
}

bool vu_h_set_log_fd(VuDev *dev, struct vu_msg_ctx *ctx)
{
    if (dev->log_call_fd >= 0) {
        close(dev->log_call_fd);
    }
    dev->log_call_fd = ctx->msg->fds[0];
    vu_set_nonblocking(dev->log_call_fd);
    ctx->msg->fds[0] = -1;
    return true;
}
