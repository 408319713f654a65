/*
 * Descriptor chain walking for split virtqueues.
 *
 * The guest owns the descriptor table and may rewrite it while we read, so
 * each descriptor is loaded exactly once into a local copy, validated, and
 * only the copy is used afterwards.  Every loop is bounded by a table size.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Largest indirect table the virtio spec lets a driver build (1024 entries). */
#define VU_MAX_INDIRECT_BYTES (16u * 1024u)
#define VU_KNOWN_DESC_FLAGS                                                    \
    (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT)

/* A descriptor as copied out of guest memory, host byte order. */
struct vu_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* The table currently walked: the ring's own or an indirect one. */
struct vu_table {
    const struct vring_desc *base;
    unsigned size;
    void *bounce; /* our copy of an indirect table split across regions */
};

struct vu_walk {
    VuDev *dev;
    uint32_t *hint; /* the queue's region hint */
    const char *who;
    bool map;
    unsigned seen; /* descriptors visited in the current table */
    struct vu_chain *c;
};

static struct vu_desc load_desc(const struct vu_table *t, unsigned i)
{
    const volatile struct vring_desc *d = &t->base[i];
    struct vu_desc out;

    out.addr = le64toh(d->addr);
    out.len = le32toh(d->len);
    out.flags = le16toh(d->flags);
    out.next = le16toh(d->next);
    return out;
}

static bool walk_fail(struct vu_walk *w, const char *rule)
{
    vu_fail(w->dev, "%s: %s", w->who, rule);
    return false;
}

/* Add one translated piece of a buffer; out pieces must precede in pieces. */
static bool add_segment(struct vu_walk *w, void *host, uint64_t len,
                        bool writable)
{
    struct vu_chain *c = w->c;
    unsigned n = c->out_num + c->in_num;

    if (n >= c->iov_cap) {
        if (c->room_limited) {
            c->no_room = true; /* the chain stays on the ring for next time */
            return false;
        }
        return walk_fail(w, "chain needs more than 1024 iovecs");
    }
    c->iov[n].iov_base = host;
    c->iov[n].iov_len = (size_t)len;
    if (writable) {
        c->in_num++;
    } else {
        c->out_num++;
    }
    return true;
}

/* Translate [gpa, gpa+len) piece by piece: a buffer contiguous in guest
 * memory may sit in several host mappings. */
static bool map_buffer(struct vu_walk *w, uint64_t gpa, uint64_t len,
                       bool writable)
{
    while (len > 0) {
        uint64_t piece = len;
        void *host = vu_mem_translate(w->dev, w->hint, &piece, gpa);

        if (!host || piece == 0 || piece > len) {
            return walk_fail(w, "buffer address not in guest memory");
        }
        if (!add_segment(w, host, piece, writable)) {
            return false;
        }
        gpa += piece;
        len -= piece;
    }
    return true;
}

static bool take_buffer(struct vu_walk *w, const struct vu_desc *d)
{
    bool writable = d->flags & VRING_DESC_F_WRITE;
    struct vu_chain *c = w->c;
    uint64_t end;

    if (d->len == 0) {
        return walk_fail(w, "zero-length descriptor");
    }
    if (!writable && c->in_num > 0) {
        return walk_fail(w, "readable descriptor after a writable one");
    }
    if (__builtin_add_overflow(d->addr, (uint64_t)d->len, &end)) {
        return walk_fail(w, "buffer address range wraps");
    }
    if (writable) {
        c->in_bytes += d->len;
    } else {
        c->out_bytes += d->len;
    }
    /* The virtio spec caps a chain at 4 GiB; callers account in 32 bits. */
    if (c->in_bytes + c->out_bytes > UINT32_MAX) {
        return walk_fail(w, "chain length exceeds 4 GiB");
    }
    if (!w->map) {
        if (writable) {
            c->in_num++;
        } else {
            c->out_num++;
        }
        return true;
    }
    return map_buffer(w, d->addr, d->len, writable);
}

/* Copy an indirect table that spans regions into buf, piece by piece. */
static bool copy_split_table(VuDev *dev, uint64_t gpa, uint32_t len,
                             uint8_t *buf)
{
    uint32_t done = 0;

    while (done < len) {
        uint64_t piece = len - done;
        const void *host = vu_gpa_to_va(dev, &piece, gpa + done);

        if (!host || piece == 0 || piece > len - done) {
            return false;
        }
        memcpy(buf + done, host, (size_t)piece);
        done += (uint32_t)piece;
    }
    return true;
}

static bool check_indirect(struct vu_walk *w, const struct vu_desc *d,
                           bool at_head)
{
    uint64_t end;

    if (!vu_has_feature(w->dev, VIRTIO_RING_F_INDIRECT_DESC)) {
        return walk_fail(w, "indirect descriptor without INDIRECT_DESC");
    }
    if (!at_head) {
        return walk_fail(w, "indirect descriptor not at the chain head");
    }
    if (d->flags & (VRING_DESC_F_NEXT | VRING_DESC_F_WRITE)) {
        return walk_fail(w, "indirect descriptor with NEXT or WRITE");
    }
    if (d->len == 0 || d->len % sizeof(struct vring_desc) != 0 ||
        d->len > VU_MAX_INDIRECT_BYTES) {
        return walk_fail(w, "bad indirect table length");
    }
    if (__builtin_add_overflow(d->addr, (uint64_t)d->len, &end)) {
        return walk_fail(w, "indirect table address range wraps");
    }
    return true;
}

/* Switch the walk to the indirect table d points at. */
static bool enter_indirect(struct vu_walk *w, const struct vu_desc *d,
                           struct vu_table *t)
{
    uint64_t whole = d->len;
    const void *direct = vu_mem_translate(w->dev, w->hint, &whole, d->addr);

    if (direct && whole == d->len) {
        t->base = direct;
    } else {
        t->bounce = malloc(d->len);
        if (!t->bounce) {
            return walk_fail(w, "out of memory copying an indirect table");
        }
        if (!copy_split_table(w->dev, d->addr, d->len, t->bounce)) {
            return walk_fail(w, "indirect table not in guest memory");
        }
        t->base = t->bounce;
    }
    t->size = d->len / sizeof(struct vring_desc);
    w->seen = 0;
    return true;
}

/* Follow the chain from index i of table t until a descriptor without NEXT. */
static bool walk_table(struct vu_walk *w, struct vu_table *t, unsigned i,
                       bool indirect)
{
    for (;;) {
        struct vu_desc d;

        if (i >= t->size) {
            return walk_fail(w, "descriptor index out of range");
        }
        if (++w->seen > t->size) {
            return walk_fail(w, "descriptor chain loops or exceeds table");
        }
        d = load_desc(t, i);
        if (d.flags & ~VU_KNOWN_DESC_FLAGS) {
            return walk_fail(w, "unknown descriptor flags");
        }
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (indirect) {
                return walk_fail(w, "nested indirect descriptor");
            }
            if (!check_indirect(w, &d, w->seen == 1) ||
                !enter_indirect(w, &d, t)) {
                return false;
            }
            indirect = true;
            i = 0;
            continue;
        }
        if (!take_buffer(w, &d)) {
            return false;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        i = d.next;
    }
}

bool vu_chain_walk(VuDev *dev, VuVirtq *vq, unsigned head, bool map,
                   struct vu_chain *c, const char *who)
{
    struct vu_table t = { .base = vq->vring.desc, .size = vq->vring.num };
    struct vu_walk w = { .dev = dev,
                         .hint = &vu_impl(dev)->vqp[vq - dev->vq].region_hint,
                         .who = who,
                         .map = map,
                         .c = c };
    bool ok;

    c->out_num = c->in_num = 0;
    c->out_bytes = c->in_bytes = 0;
    c->no_room = false;
    ok = walk_table(&w, &t, head, false);
    if (t.bounce) {
        free(t.bounce);
    }
    return ok;
}
