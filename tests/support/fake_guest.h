/*
 * A fake guest for data-path tests: guest memory made of memfd regions
 * registered directly on a VuDev, split rings placed in that memory, and a
 * driver-side view to write descriptors and avail entries and to read used
 * entries (all little-endian, through the test's own mappings).
 *
 * Default layout (fg_init):
 *   region A  gpa 0x000000 .. 0x100000  (rings at the start, then buffers)
 *   region B  gpa 0x100000 .. 0x110000  (contiguous with A in guest-physical
 *                                        space, a separate host mapping)
 *   hole      gpa 0x110000 .. 0x200000
 *   region C  gpa 0x200000 .. 0x300000
 * Frontend virtual addresses are gpa + FG_UADDR_OFFSET.
 */
#ifndef VU_TEST_FAKE_GUEST_H
#define VU_TEST_FAKE_GUEST_H

#include "libvhost-user.h"

#include <stdbool.h>
#include <stdint.h>

#define FG_MAX_REGIONS 512
#define FG_MAX_QUEUES 4
#define FG_UADDR_OFFSET 0x7f0000000000ULL
/* Ring area of queue q: FG_RING_BASE + q * FG_RING_STRIDE in region A. */
#define FG_RING_BASE 0x0ULL
#define FG_RING_STRIDE 0x8000ULL
/* Where fg_alloc hands out buffers (region A, after the rings). */
#define FG_HEAP_BASE 0x20000ULL
#define FG_REGION_B 0x100000ULL
#define FG_HOLE 0x110000ULL
#define FG_REGION_C 0x200000ULL

struct fg_region {
    uint64_t gpa;
    uint64_t size;
    int fd;
    uint8_t *map; /* the test's (driver's) own mapping */
};

struct fg_queue {
    unsigned num;
    uint64_t desc, avail, used; /* guest-physical ring addresses */
    uint16_t avail_idx;         /* driver's next avail index */
};

struct fake_guest {
    VuDev dev; /* first: the panic callback finds the guest from it */
    int peer_sock;
    unsigned nregions;
    struct fg_region regions[FG_MAX_REGIONS];
    /* PROT_NONE pages placed around every mapping of guest memory (the
     * library's and ours) where the address space allows, so that an
     * access just past a region faults instead of landing in a neighbour. */
    unsigned nguards;
    void *guards[4 * FG_MAX_REGIONS];
    struct fg_queue q[FG_MAX_QUEUES];
    uint64_t heap; /* next free gpa for fg_alloc */
    unsigned panics;
    char last_panic[256];
};

/* Device with max_queues queues and the default three regions. */
void fg_init(struct fake_guest *g, uint16_t max_queues);
/* Device with no memory; add regions with fg_add_region. */
void fg_init_empty(struct fake_guest *g, uint16_t max_queues);
void fg_add_region(struct fake_guest *g, uint64_t gpa, uint64_t size);
void fg_destroy(struct fake_guest *g);

/* Driver's pointer to guest-physical address gpa (len bytes must fit). */
void *fg_ptr(struct fake_guest *g, uint64_t gpa, uint64_t len);
/* Bump allocator in region A; returns the gpa of len zeroed bytes. */
uint64_t fg_alloc(struct fake_guest *g, uint64_t len);

/* Place rings for queue q (size num) and make it ready: vu_vring_map,
 * enable, started.  Rings live at the default place in region A. */
void fg_setup_queue(struct fake_guest *g, unsigned q, unsigned num);
/* Same with the ring addresses chosen by the caller (guest-physical). */
void fg_setup_queue_at(struct fake_guest *g, unsigned q, unsigned num,
                       uint64_t desc, uint64_t avail, uint64_t used);
VuVirtq *fg_vq(struct fake_guest *g, unsigned q);

/* Driver side of the rings. */
void fg_desc(struct fake_guest *g, unsigned q, unsigned i, uint64_t addr,
             uint32_t len, uint16_t flags, uint16_t next);
/* Write a descriptor into an indirect table at table_gpa. */
void fg_table_desc(struct fake_guest *g, uint64_t table_gpa, unsigned i,
                   uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void fg_avail_add(struct fake_guest *g, unsigned q, uint16_t head);
/* Publish an arbitrary avail->idx (for index jump tests). */
void fg_set_avail_idx(struct fake_guest *g, unsigned q, uint16_t idx);
void fg_set_avail_slot(struct fake_guest *g, unsigned q, unsigned slot,
                       uint16_t head);
void fg_set_avail_flags(struct fake_guest *g, unsigned q, uint16_t flags);
void fg_set_used_event(struct fake_guest *g, unsigned q, uint16_t v);
uint16_t fg_used_idx(struct fake_guest *g, unsigned q);
uint16_t fg_used_flags(struct fake_guest *g, unsigned q);
uint16_t fg_avail_event(struct fake_guest *g, unsigned q);
void fg_used_elem(struct fake_guest *g, unsigned q, unsigned slot, uint32_t *id,
                  uint32_t *len);

/* Build a chain at descriptors first..first+n_out+n_in-1: n_out readable
 * then n_in writable buffers of len bytes each (freshly allocated), and
 * make it available.  Returns the head (first). */
uint16_t fg_post_chain(struct fake_guest *g, unsigned q, unsigned first,
                       unsigned n_out, unsigned n_in, uint32_t len);

/* The library's host address of [gpa, gpa+len) (its own mapping, not the
 * test's); the whole range must be in one region. */
void *fg_lib_ptr(struct fake_guest *g, uint64_t gpa, uint64_t len);
/* The buffer address of descriptor i of queue q, as the driver wrote it. */
uint64_t fg_desc_addr(struct fake_guest *g, unsigned q, unsigned i);
/* Fail the test unless the device is healthy and never panicked. */
void fg_expect_healthy(struct fake_guest *g);

/* An eventfd installed as the queue's call fd (closed by vu_deinit). */
int fg_set_call_eventfd(struct fake_guest *g, unsigned q);
/* Non-blocking read of an eventfd counter: 0 when nothing was signalled. */
uint64_t fg_eventfd_count(int fd);

#endif /* VU_TEST_FAKE_GUEST_H */
