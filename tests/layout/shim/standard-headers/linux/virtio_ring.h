/*
 * Shim for the layout check: the reference header includes the virtio ring
 * definitions through a source-tree path; on a normal system they come from
 * the kernel UAPI headers.
 */
#ifndef VU_LAYOUT_SHIM_VIRTIO_RING_H
#define VU_LAYOUT_SHIM_VIRTIO_RING_H
#include <linux/virtio_ring.h>
#endif
