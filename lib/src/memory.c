/*
 * Guest memory: the region table, its validation and mapping, and address
 * translation.  dev->regions[] is kept sorted by guest-physical address so
 * that translation is a binary search even with 509 regions.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* Index of the region holding gpa, or -1. */
static int find_gpa(const VuDev *dev, uint64_t gpa)
{
    uint32_t lo = 0, hi = dev->nregions;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const VuDevRegion *r = &dev->regions[mid];

        if (gpa < r->gpa) {
            hi = mid;
        } else if (gpa - r->gpa >= r->size) {
            lo = mid + 1;
        } else {
            return (int)mid;
        }
    }
    return -1;
}

static inline void *region_host(const VuDevRegion *r, uint64_t off)
{
    return (void *)(uintptr_t)(r->mmap_addr + r->mmap_offset + off);
}

void *vu_mem_translate(VuDev *dev, uint32_t *hint, uint64_t *plen, uint64_t gpa)
{
    const VuDevRegion *r;
    uint64_t off;
    uint32_t h = *hint;

    /* Buffers of one queue mostly live in one region: try the last one hit
     * before searching, so the cost does not grow with the region count. */
    if (h < dev->nregions && gpa >= dev->regions[h].gpa &&
        gpa - dev->regions[h].gpa < dev->regions[h].size) {
        r = &dev->regions[h];
    } else {
        int i = find_gpa(dev, gpa);

        if (i < 0) {
            return NULL;
        }
        *hint = (uint32_t)i;
        r = &dev->regions[i];
    }
    off = gpa - r->gpa;
    if (*plen > r->size - off) {
        *plen = r->size - off; /* the caller continues in the next region */
    }
    return region_host(r, off);
}

VU_EXPORT void *vu_gpa_to_va(VuDev *dev, uint64_t *plen, uint64_t guest_addr)
{
    uint32_t no_hint = UINT32_MAX;

    if (!dev || !plen || *plen == 0 || !dev->regions) {
        return NULL;
    }
    return vu_mem_translate(dev, &no_hint, plen, guest_addr);
}

void *vu_mem_gpa_range(VuDev *dev, uint64_t gpa, uint64_t len)
{
    int i = find_gpa(dev, gpa);
    const VuDevRegion *r;

    if (i < 0) {
        return NULL;
    }
    r = &dev->regions[i];
    if (len > r->size - (gpa - r->gpa)) {
        return NULL;
    }
    return region_host(r, gpa - r->gpa);
}

void *vu_mem_qva_range(VuDev *dev, uint64_t qva, uint64_t len)
{
    /* Rings are mapped rarely (SET_VRING_ADDR, table changes): linear is fine. */
    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *r = &dev->regions[i];

        if (qva >= r->qva && qva - r->qva < r->size &&
            len <= r->size - (qva - r->qva)) {
            return region_host(r, qva - r->qva);
        }
    }
    return NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    /* Both ends are known not to wrap. */
    return a < b + blen && b < a + alen;
}

static const char *check_region_fields(const VuDev *dev,
                                       const VhostUserMemoryRegion *r)
{
    uint64_t end;

    if (r->memory_size == 0) {
        return "region size is zero";
    }
    if (__builtin_add_overflow(r->guest_phys_addr, r->memory_size, &end) ||
        __builtin_add_overflow(r->userspace_addr, r->memory_size, &end) ||
        __builtin_add_overflow(r->mmap_offset, r->memory_size, &end)) {
        return "region end overflows 64 bits";
    }
    if (r->memory_size > (uint64_t)SIZE_MAX / 2) {
        return "region too large to map";
    }
    if (dev->nregions >= VHOST_USER_MAX_RAM_SLOTS) {
        return "all 509 memory slots are in use";
    }
    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *o = &dev->regions[i];

        if (ranges_overlap(r->guest_phys_addr, r->memory_size, o->gpa,
                           o->size)) {
            return "region overlaps another in guest-physical space";
        }
        if (ranges_overlap(r->userspace_addr, r->memory_size, o->qva,
                           o->size)) {
            return "region overlaps another in frontend address space";
        }
    }
    return NULL;
}

/* Make the fd's size unable to shrink under us (a shrink would SIGBUS us). */
void vu_seal_against_shrink(int fd)
{
    int seals = fcntl(fd, F_GET_SEALS);

    if (seals >= 0 && !(seals & F_SEAL_SHRINK) && !(seals & F_SEAL_SEAL)) {
        (void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    }
}

/* The mapping alignment: the huge page size on hugetlbfs, else the page size.
 * hugetlbfs reports its page size as st_blksize, so a file whose st_blksize
 * is no larger than a page needs no fstatfs (one syscall less per region);
 * other file systems may report a large st_blksize too, hence the check. */
static uint64_t map_alignment(int fd, const struct stat *st)
{
    struct statfs fs;
    long sc = sysconf(_SC_PAGESIZE);
    uint64_t page = sc > 0 ? (uint64_t)sc : 4096;

    if (st->st_blksize > 0 && (uint64_t)st->st_blksize > page &&
        fstatfs(fd, &fs) == 0 && (unsigned long)fs.f_type == HUGETLBFS_MAGIC &&
        fs.f_bsize > 0 && (uint64_t)fs.f_bsize > page) {
        return (uint64_t)fs.f_bsize;
    }
    return page;
}

const char *vu_mem_add_region(VuDev *dev, const VhostUserMemoryRegion *r,
                              int fd)
{
    struct vu_impl *impl = vu_impl(dev);
    const char *why = check_region_fields(dev, r);
    struct stat st;
    uint64_t align, map_off, delta, map_len, need;
    void *base;
    uint32_t pos;

    if (why) {
        return why;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        return "region fd is not usable";
    }
    if (!S_ISREG(st.st_mode)) {
        return "region fd is not a regular file or memfd";
    }
    need = r->mmap_offset + r->memory_size; /* checked above */
    if ((uint64_t)st.st_size < need) {
        return "region fd is smaller than mmap_offset + size";
    }
    align = map_alignment(fd, &st);
    map_off = r->mmap_offset & ~(align - 1);
    delta = r->mmap_offset - map_off;
    map_len = r->memory_size + delta;
    if (map_len > UINT64_MAX - (align - 1)) {
        return "region too large to map";
    }
    map_len = (map_len + align - 1) & ~(align - 1);
    vu_seal_against_shrink(fd);
    base = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
    if (base == MAP_FAILED) {
        return "mmap of region failed";
    }
    for (pos = 0;
         pos < dev->nregions && dev->regions[pos].gpa < r->guest_phys_addr;
         pos++) {
    }
    memmove(&dev->regions[pos + 1], &dev->regions[pos],
            (dev->nregions - pos) * sizeof(dev->regions[0]));
    memmove(&impl->maps[pos + 1], &impl->maps[pos],
            (dev->nregions - pos) * sizeof(impl->maps[0]));
    dev->regions[pos] = (VuDevRegion){
        .gpa = r->guest_phys_addr,
        .size = r->memory_size,
        .qva = r->userspace_addr,
        .mmap_offset = delta,
        .mmap_addr = (uint64_t)(uintptr_t)base,
    };
    impl->maps[pos] = (struct vu_region_map){ .base = base,
                                              .len = (size_t)map_len,
                                              .file_offset = r->mmap_offset,
                                              .file_dev = (uint64_t)st.st_dev,
                                              .file_ino = (uint64_t)st.st_ino,
                                              .refs = 1 };
    dev->nregions++;
    return NULL;
}

static void remove_at(VuDev *dev, uint32_t pos, bool unmap)
{
    struct vu_impl *impl = vu_impl(dev);

    if (unmap) {
        munmap(impl->maps[pos].base, impl->maps[pos].len);
    }
    memmove(&dev->regions[pos], &dev->regions[pos + 1],
            (dev->nregions - pos - 1) * sizeof(dev->regions[0]));
    memmove(&impl->maps[pos], &impl->maps[pos + 1],
            (dev->nregions - pos - 1) * sizeof(impl->maps[0]));
    dev->nregions--;
}

/* Index of the region exactly matching r (gpa, size, userspace address), or -1. */
int vu_mem_find_exact(const VuDev *dev, const VhostUserMemoryRegion *r)
{
    for (uint32_t i = 0; i < dev->nregions; i++) {
        const VuDevRegion *o = &dev->regions[i];

        if (o->gpa == r->guest_phys_addr && o->size == r->memory_size &&
            o->qva == r->userspace_addr) {
            return (int)i;
        }
    }
    return -1;
}

/* Remove region idx.  Rings must be remapped by the caller first or after,
 * while the mapping is still held: see vu_mem_remove_region. */
void vu_mem_remove_region(VuDev *dev, uint32_t idx)
{
    struct vu_region_map map = vu_impl(dev)->maps[idx];

    /* Take the region out of the table, re-validate the rings against what is
     * left, and only then drop the mapping: no ring pointer can dangle. */
    remove_at(dev, idx, false);
    vu_vring_remap_all(dev);
    munmap(map.base, map.len);
}

void vu_mem_unmap_all(VuDev *dev)
{
    struct vu_impl *impl = vu_impl(dev);

    for (uint32_t i = 0; i < dev->nregions; i++) {
        munmap(impl->maps[i].base, impl->maps[i].len);
    }
    dev->nregions = 0;
}

/*
 * Replace the whole table.  The new regions are validated and mapped while
 * the old ones stay mapped; rings are re-validated against the new table,
 * and the old mappings are dropped last.  On failure the old table is back.
 */
const char *vu_mem_replace_table(VuDev *dev, const VhostUserMemoryRegion *regs,
                                 const int *fds, uint32_t n)
{
    struct vu_impl *impl = vu_impl(dev);
    uint32_t old_n = dev->nregions;
    VuDevRegion *old_regions = NULL;
    struct vu_region_map *old_maps = NULL;
    const char *why = NULL;

    if (old_n) {
        old_regions = malloc(old_n * sizeof(*old_regions));
        old_maps = malloc(old_n * sizeof(*old_maps));
        if (!old_regions || !old_maps) {
            free(old_regions);
            free(old_maps);
            return "out of memory";
        }
        memcpy(old_regions, dev->regions, old_n * sizeof(*old_regions));
        memcpy(old_maps, impl->maps, old_n * sizeof(*old_maps));
    }
    dev->nregions = 0;
    for (uint32_t i = 0; i < n && !why; i++) {
        why = vu_mem_add_region(dev, &regs[i], fds[i]);
    }
    if (why) {
        vu_mem_unmap_all(dev); /* only the new mappings */
        if (old_n) {
            memcpy(dev->regions, old_regions, old_n * sizeof(*old_regions));
            memcpy(impl->maps, old_maps, old_n * sizeof(*old_maps));
        }
        dev->nregions = old_n;
    } else {
        vu_vring_remap_all(dev);
        for (uint32_t i = 0; i < old_n; i++) {
            munmap(old_maps[i].base, old_maps[i].len);
        }
    }
    free(old_regions);
    free(old_maps);
    return why;
}
