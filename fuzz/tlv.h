/*
 * tlv.h: a bounded little-endian reader over a fuzz input, and the record
 * format constants of fuzz_dispatch (shared with the library's traffic
 * recorder through lib/src/record_format.h).  See fuzz/README.md.
 *
 * Reads past the end never fail loudly: they yield zeros and mark the
 * cursor exhausted, so every byte string is a valid input.
 */
#ifndef FUZZ_TLV_H
#define FUZZ_TLV_H

#include "record_format.h"

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tlv {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool short_read; /* a read ran past the end */
};

static inline void tlv_init(struct tlv *t, const uint8_t *p, size_t len)
{
    t->p = p;
    t->len = len;
    t->pos = 0;
    t->short_read = false;
}

static inline size_t tlv_left(const struct tlv *t)
{
    return t->len - t->pos;
}

static inline bool tlv_done(const struct tlv *t)
{
    return t->pos >= t->len;
}

/* Little-endian unsigned of width bytes (1..8); zero-filled past the end. */
static inline uint64_t tlv_le(struct tlv *t, unsigned width)
{
    uint64_t v = 0;

    if (t->pos <= t->len && t->len - t->pos >= width) {
        /* Whole field present (the usual case): one load, no per-byte
         * branches (x86_64 and every target here are little-endian). */
        const uint8_t *p = t->p + t->pos;
        uint16_t v16;
        uint32_t v32;

        switch (width) {
        case 1:
            t->pos += 1;
            return p[0];
        case 2:
            memcpy(&v16, p, 2);
            t->pos += 2;
            return le16toh(v16);
        case 4:
            memcpy(&v32, p, 4);
            t->pos += 4;
            return le32toh(v32);
        case 8:
            memcpy(&v, p, 8);
            t->pos += 8;
            return le64toh(v);
        default:
            break;
        }
    }
    for (unsigned i = 0; i < width; i++) {
        if (t->pos < t->len) {
            v |= (uint64_t)t->p[t->pos++] << (8 * i);
        } else {
            t->short_read = true;
        }
    }
    return v;
}

static inline uint8_t tlv_u8(struct tlv *t)
{
    return (uint8_t)tlv_le(t, 1);
}
static inline uint16_t tlv_u16(struct tlv *t)
{
    return (uint16_t)tlv_le(t, 2);
}
static inline uint32_t tlv_u32(struct tlv *t)
{
    return (uint32_t)tlv_le(t, 4);
}
static inline uint64_t tlv_u64(struct tlv *t)
{
    return tlv_le(t, 8);
}

/* Pointer to the next n bytes (fewer if the input ends: *got says). */
static inline const uint8_t *tlv_bytes(struct tlv *t, size_t n, size_t *got)
{
    const uint8_t *p = t->p + t->pos;
    size_t left = tlv_left(t);

    if (n > left) {
        n = left;
        t->short_read = true;
    }
    t->pos += n;
    *got = n;
    return p;
}

/* A sub-cursor over the next n bytes. */
static inline struct tlv tlv_sub(struct tlv *t, size_t n)
{
    struct tlv s;
    size_t got;
    const uint8_t *p = tlv_bytes(t, n, &got);

    tlv_init(&s, p, got);
    return s;
}

/* Writers used by the seed generator. */
static inline size_t tlv_put_le(uint8_t *out, uint64_t v, unsigned width)
{
    for (unsigned i = 0; i < width; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
    return width;
}

#endif /* FUZZ_TLV_H */
