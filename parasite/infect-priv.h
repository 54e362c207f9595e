#ifndef CR_INFECT_PRIV_H
#define CR_INFECT_PRIV_H

/*
 * The engine's own helpers, for its own files only: logging through the
 * tool's callback, fault points, allocation. Nothing of the tool's: the
 * library has neither cr's logger nor its allocators.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "infect.h"

/*
 * infect-hooks.c: the engine's logging goes through the tool's callback,
 * if any (errno is kept); fault points ask the tool's hook, 0 without one.
 */
void infect_logf(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int infect_fault_at(const char *point);

#define ilog(level, fmt, ...)	infect_logf(level, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define ierr(fmt, ...)		ilog(1, fmt, ##__VA_ARGS__)
#define iwarn(fmt, ...)		ilog(2, fmt, ##__VA_ARGS__)
#define idebug(fmt, ...)	ilog(4, fmt, ##__VA_ARGS__)
#define ierrno(err, fmt, ...)						\
	({ int __e = (err); ierr(fmt ": %s", ##__VA_ARGS__, strerror(-__e)); __e; })

/*
 * libc's allocators, logged on failure. They return NULL then and the
 * caller returns -ENOMEM: the engine never aborts, a task it worked in
 * still has to be cured. Memory they give is free()d.
 */
static inline void *infect_alloc_checked(void *p, size_t size)
{
	if (!p)
		ierr("out of memory allocating %zu bytes", size);
	return p;
}
#define imalloc(size)		({ size_t __n = (size); infect_alloc_checked(malloc(__n ?: 1), __n); })
#define izalloc(size)		({ size_t __n = (size); infect_alloc_checked(calloc(1, __n ?: 1), __n); })
#define irealloc(p, size)	({ size_t __n = (size); infect_alloc_checked(realloc(p, __n ?: 1), __n); })

#endif
