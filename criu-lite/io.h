#ifndef CR_IO_H
#define CR_IO_H

/* Whole reads and writes on fds (host side; PIE code has its own). */

#include <stddef.h>

/*
 * Writes all @len bytes of @buf to @fd, going on after short writes and
 * EINTR. Returns 0, -errno of the failed write(), or -ENOSPC when a write
 * makes no progress (a regular file on a full disk). Logs nothing: the
 * caller knows what the bytes are.
 */
int write_all(int fd, const void *buf, size_t len);

#endif
