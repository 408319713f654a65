/*
 * blk-request.h: executing one virtio-blk request.
 *
 * Everything in the request comes from the guest and is checked here: the
 * header, the status byte, the sector range (overflow included), the data
 * length, the segment count and the discard/write-zeroes ranges.  A bad
 * request completes with VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP.
 */
#ifndef EXAMPLES_BLK_REQUEST_H
#define EXAMPLES_BLK_REQUEST_H

#include <linux/virtio_blk.h>
#include <stdint.h>

#include "blk-store.h"
#include "libvhost-user.h"

/* Most data segments a request may have: what preadv/pwritev accept. */
#define BLK_MAX_IOV 1024u

/* Run the request in elem against st.  id is the GET_ID answer (up to 20
 * bytes, NUL padded).  Returns the used length to push: bytes written to
 * the guest including the status byte, or 0 when there is no room for a
 * status byte at all (nothing can be reported). */
uint32_t blk_request_process(struct blk_store *st,
                             const char id[VIRTIO_BLK_ID_BYTES],
                             const VuVirtqElement *elem);

#endif /* EXAMPLES_BLK_REQUEST_H */
