#ifndef CR_MEMFD_H
#define CR_MEMFD_H

#include <stdint.h>

/* What a memfd holds besides its name and bytes. */
struct memfd_attrs {
	uint32_t seals;			/* F_GET_SEALS */
	uint32_t mode;			/* permission bits */
	uint32_t uid, gid;
};

/* Dump: the attributes of the memfd @fd (@what names it in errors). */
int memfd_attrs_read(int fd, const char *what, struct memfd_attrs *ret);
/*
 * Dump: refuses (-ENOTSUP, logged) a memfd sealed against writes that
 * a task mapped shared with write permission possible ("mw" in smaps):
 * restore seals before it maps, and the kernel then refuses the mapping.
 */
int memfd_check_writable_map(int fd, const char *what);

/* Restore: a new memfd @name that can take @seals (-errno, logged). */
int memfd_new(const char *name, uint32_t seals);
/* Restore, once @fd is filled: mode, owner, then the seals. */
int memfd_attrs_apply(int fd, const char *name, const struct memfd_attrs *a);

#endif
