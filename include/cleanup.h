#ifndef CR_CLEANUP_H
#define CR_CLEANUP_H

#ifdef PIE_NOLIBC
#error "cleanup.h needs libc"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

/*
 * systemd-style scope cleanup; every destructor accepts NULL / -1. Header
 * only: the engine (parasite/) uses it as well as the tool. The tool's
 * allocators are in log.h.
 */

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closedirp(DIR **d) { if (*d) closedir(*d); }

#define _cleanup_(f)		__attribute__((cleanup(f)))
#define _cleanup_free_		_cleanup_(freep)
#define _cleanup_close_		_cleanup_(closep)
#define _cleanup_fclose_	_cleanup_(fclosep)
#define _cleanup_closedir_	_cleanup_(closedirp)

#define TAKE_PTR(p)	({ __typeof__(p) __p = (p); (p) = NULL; __p; })
#define TAKE_FD(fd)	({ int __fd = (fd); (fd) = -EBADF; __fd; })

#endif
