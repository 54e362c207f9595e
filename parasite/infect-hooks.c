/* What the tool hooks into the engine: its logger and its fault points. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "infect-priv.h"

static infect_log_fn logger;
static infect_fault_fn fault_hook;

void infect_set_logger(infect_log_fn fn)
{
	logger = fn;
}

void infect_set_fault_hook(infect_fault_fn fn)
{
	fault_hook = fn;
}

void infect_logf(int level, const char *file, int line, const char *fmt, ...)
{
	int saved = errno;
	char msg[1024];
	va_list ap;

	if (!logger)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	logger(level, file, line, "%s", msg);
	errno = saved;
}

int infect_fault_at(const char *point)
{
	return fault_hook ? fault_hook(point) : 0;
}
