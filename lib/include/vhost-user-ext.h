/*
 * vhost-user-ext.h: additions to the libvhost-user API.  Everything here has
 * the vu_ prefix and leaves libvhost-user.h untouched.
 */
#ifndef VHOST_USER_EXT_H
#define VHOST_USER_EXT_H

#include "libvhost-user.h"

/* Library version, as "MAJOR.MINOR.PATCH". */
const char *vu_version(void);

#endif /* VHOST_USER_EXT_H */
