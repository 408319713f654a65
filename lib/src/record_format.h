/*
 * record_format.h: the byte format shared by the traffic recorder
 * (record.c, LIBVHOST_USER_RECORD) and the fuzz_dispatch target
 * (fuzz/tlv.h).  fuzz/README.md documents it byte by byte.
 *
 * A file is a sequence of records; every multi-byte integer is
 * little-endian.  Each record starts with a one-byte tag:
 *
 *   'M' message:  u32 request, u32 flags, u32 size, u16 payload_len,
 *                 payload_len bytes, u8 nfds, nfds fd descriptions
 *   'O' ring ops: u16 len, len bytes of ring operations (run now)
 *   'R' rest:     every remaining byte is ring operations
 *   'W' raw:      u16 len, len bytes written as they are, then EOF
 *   'E' eof:      the frontend shuts its side down
 *   'C' config:   u64 features, u64 protocol features, u16 max_queues,
 *                 u8 flags (only honoured as the first record)
 *
 * An fd description is a one-byte kind followed by its data:
 *   VU_TLV_FD_NONE     nothing (no fd is sent for this slot)
 *   VU_TLV_FD_MEMFD    u64 size, u32 content_offset, u16 content_len, bytes
 *   VU_TLV_FD_EVENTFD  nothing
 *   VU_TLV_FD_DUP      u16 index of an earlier fd of the same input
 *   VU_TLV_FD_SOCKET   nothing (one end of a fresh socketpair)
 *   VU_TLV_FD_PIPE     nothing (the read end of a fresh pipe)
 *   VU_TLV_FD_OTHER    nothing (/dev/null)
 */
#ifndef VU_RECORD_FORMAT_H
#define VU_RECORD_FORMAT_H

enum vu_tlv_tag {
    VU_TLV_TAG_MSG = 'M',
    VU_TLV_TAG_OPS = 'O',
    VU_TLV_TAG_REST = 'R',
    VU_TLV_TAG_RAW = 'W',
    VU_TLV_TAG_EOF = 'E',
    VU_TLV_TAG_CONFIG = 'C',
};

enum vu_tlv_fd_kind {
    VU_TLV_FD_NONE = 0,
    VU_TLV_FD_MEMFD = 1,
    VU_TLV_FD_EVENTFD = 2,
    VU_TLV_FD_DUP = 3,
    VU_TLV_FD_SOCKET = 4,
    VU_TLV_FD_PIPE = 5,
    VU_TLV_FD_OTHER = 6,
    VU_TLV_FD_KIND_MAX
};

/* Fixed sizes of the parts of a message record. */
#define VU_TLV_MSG_HDR_LEN (1 + 4 + 4 + 4 + 2) /* tag .. payload_len */
#define VU_TLV_MAX_FDS 8                       /* per message */

#endif /* VU_RECORD_FORMAT_H */
