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

#endif /* VHOST_USER_EXT_H */
