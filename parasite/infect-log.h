#ifndef CR_INFECT_LOG_H
#define CR_INFECT_LOG_H

#include <errno.h>
#include <string.h>

#include "infect.h"

/* The engine's logging goes through the tool's callback, if any. */
extern infect_log_fn infect_log;
extern infect_fault_fn infect_fault;

/* 0, or the error the tool's fault hook injects at @point. */
static inline int infect_fault_at(const char *point)
{
	return infect_fault ? infect_fault(point) : 0;
}

#define ilog(level, fmt, ...)						\
	({ int __saved = errno;						\
	   if (infect_log)						\
		infect_log(level, __FILE__, __LINE__, fmt, ##__VA_ARGS__); \
	   errno = __saved; })
#define ierr(fmt, ...)		ilog(1, fmt, ##__VA_ARGS__)
#define iwarn(fmt, ...)		ilog(2, fmt, ##__VA_ARGS__)
#define idebug(fmt, ...)	ilog(4, fmt, ##__VA_ARGS__)
#define ierrno(err, fmt, ...)						\
	({ int __e = (err); ierr(fmt ": %s", ##__VA_ARGS__, strerror(-__e)); __e; })

#endif
