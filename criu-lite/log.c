#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compiler.h"
#include "log.h"
#include "progress.h"

static int log_level = LOG_WARN;
static int log_fd = -1;			/* -1: log to stderr */
static struct timespec log_start;
static char last_error[1024];
static char first_error[1024];	/* since log_clear_first_error() */

static const char *level_tag[] = {
	[LOG_MSG] = "", [LOG_ERROR] = "Error ", [LOG_WARN] = "Warn  ",
	[LOG_INFO] = "", [LOG_DEBUG] = "",
};

void log_set_level(int level)
{
	log_level = level;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
}

int log_get_level(void) { return log_level; }
int log_get_fd(void) { return log_fd >= 0 ? log_fd : STDERR_FILENO; }
const char *log_last_error(void) { return last_error[0] ? last_error : NULL; }
void log_clear_last_error(void) { last_error[0] = 0; }
const char *log_first_error(void) { return first_error[0] ? first_error : NULL; }
void log_clear_first_error(void) { first_error[0] = 0; }

void log_set_file(int fd)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
}

void log_use_fd(int fd)
{
	log_fd = fd;
}

void log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

void log_line(int level, const char *file, int line, const char *fmt, ...)
{
	char msg[1024], out[1200];
	struct timespec now;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (level == LOG_ERROR) {
		snprintf(last_error, sizeof(last_error), "%s", msg);
		if (!first_error[0])
			snprintf(first_error, sizeof(first_error), "%s", msg);
	}

	if (level > log_level && !(level == LOG_ERROR && log_fd >= 0))
		return;

	if (log_start.tv_sec == 0 && log_start.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &log_start);
	clock_gettime(CLOCK_MONOTONIC, &now);
	double t = (now.tv_sec - log_start.tv_sec) + (now.tv_nsec - log_start.tv_nsec) / 1e9;

	if (level == LOG_ERROR || level == LOG_WARN)
		n = snprintf(out, sizeof(out), "(%.6f) %s(%s:%d): %s\n", t,
			     level_tag[level], file, line, msg);
	else
		n = snprintf(out, sizeof(out), "(%.6f) %s\n", t, msg);
	if (n > (int)sizeof(out) - 1)
		n = sizeof(out) - 1;
	/* The progress line goes before a line on the same terminal; it comes back at its next update. */
	if (log_fd < 0)
		progress_clear();
	/* A failed log write has nowhere to be reported. */
	(void)!write(log_get_fd(), out, n);
}
