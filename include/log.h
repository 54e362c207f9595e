#ifndef CR_LOG_H
#define CR_LOG_H

#ifdef PIE_NOLIBC
#error "log.h needs libc; PIE code uses pie/lib/pie-log.h"
#endif

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

/*
 * Host logging. Levels follow criu's -v0..-v4: 0 silent except the final
 * error, 1 errors, 2 warnings, 3 info, 4 debug. Every line carries a
 * timestamp relative to start; errors also carry file:line. The last error
 * message is kept so main() can print it on stderr.
 */
enum log_level {
	LOG_MSG = 0,
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

void log_set_level(int level);
int log_get_level(void);
/* Logs to the open file @fd from now on (taken over; see log_open_file()). */
void log_set_file(int fd);
int log_get_fd(void);				/* fd of the log file or -1 */
void log_close(void);
/* From now on log to @fd (a restored task's copy of the log). */
void log_use_fd(int fd);
const char *log_last_error(void);
void log_clear_last_error(void);
/* The first error since log_clear_first_error(): the cause, for an RPC reply. */
const char *log_first_error(void);
void log_clear_first_error(void);
void log_line(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * cr's allocators (criu-lite/util.c): they log through this logger on
 * failure and return NULL; never abort. The engine has its own
 * (parasite/infect-priv.h).
 */
void *xmalloc(size_t size);
void *xzalloc(size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* Every macro keeps errno as it found it (libbpf's __pr). */
#define __pr(level, fmt, ...)						\
	({ int __saved = errno;						\
	   log_line(level, __FILE__, __LINE__, fmt, ##__VA_ARGS__);	\
	   errno = __saved; })

#define pr_msg(fmt, ...)	__pr(LOG_MSG, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)	__pr(LOG_ERROR, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	__pr(LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	__pr(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	__pr(LOG_DEBUG, fmt, ##__VA_ARGS__)

/* Logs "msg: strerror(errno)". */
#define pr_perror(fmt, ...)						\
	__pr(LOG_ERROR, fmt ": %s", ##__VA_ARGS__, strerror(errno))

/* Logs "msg: strerror(-err)" and evaluates to err (a negative errno). */
#define pr_errno(err, fmt, ...)						\
	({ int __e = (err);						\
	   __pr(LOG_ERROR, fmt ": %s", ##__VA_ARGS__, strerror(-__e));	\
	   __e; })

#endif
