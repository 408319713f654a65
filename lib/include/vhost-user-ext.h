/*
 * vhost-user-ext.h: additions to the libvhost-user API.  Everything here has
 * the vu_ prefix and leaves libvhost-user.h untouched.
 */
#ifndef VHOST_USER_EXT_H
#define VHOST_USER_EXT_H

#include "libvhost-user.h"

/* Library version, as "MAJOR.MINOR.PATCH". */
const char *vu_version(void);

/* Reason of the most recent refusal or failure of dev ("" if none).  A
 * request refused under REPLY_ACK gets a failed ack and leaves the device
 * usable; its reason is only reported here.  The string lives in dev. */
const char *vu_last_error(const VuDev *dev);

/*
 * Batch data path, beside vu_queue_pop/vu_queue_push: no allocation per
 * element, one avail event update per pop call and one used index update
 * (and log kick) per push call.
 *
 * vu_queue_pop_batch takes up to max elements off vq into elems[0..n-1] and
 * returns n.  Their iovecs are laid out in iov (iov_cap entries, at least
 * VIRTQUEUE_MAX_SIZE so that any valid chain fits): each element's out_sg
 * and in_sg point into it, so iov must outlive the elements.  The call stops
 * early when the queue is empty, when the next chain does not fit in what is
 * left of iov (it stays on the ring for the next call) or when the guest
 * broke a rule (dev->broken is then set, as for vu_queue_pop).  Elements
 * recovered from the inflight area come first, as with vu_queue_pop.  With
 * a NULL array or a short iov nothing is taken and vu_last_error() says why.
 *
 * vu_queue_push_batch gives back n popped elements, in this order, with the
 * byte counts written into each (lens NULL: 0 for every element): it is
 * vu_queue_fill of elems[i] at position i followed by one vu_queue_flush(n).
 * Elements of both calls may be mixed with those of vu_queue_pop.
 */
unsigned int vu_queue_pop_batch(VuDev *dev, VuVirtq *vq, VuVirtqElement *elems,
                                unsigned int max, struct iovec *iov,
                                unsigned int iov_cap);
void vu_queue_push_batch(VuDev *dev, VuVirtq *vq, const VuVirtqElement *elems,
                         const unsigned int *lens, unsigned int n);

#endif /* VHOST_USER_EXT_H */
