/*
 * The progress line of a long dump or restore (progress.h). State is one
 * static struct: one operation at a time per cr process. A child that cr
 * forks inherits it; it never draws (it does not call the updates), and
 * erasing a line it did not draw only erases the parent's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc-parse.h"
#include "progress.h"
#include "pstree.h"

#define ERASE_LINE	"\r\033[K"	/* to the start of the line, then clear to its end */

static struct {
	bool enabled;			/* progress_setup() */
	bool active;			/* between begin and end */
	bool drawn;			/* the line is on the terminal now */
	bool estimate;
	const char *what;
	uint64_t total, done;
	struct timespec t0;
	long last_ms;			/* last drawn, ms since t0 */
	long delay_ms;			/* PROGRESS_DELAY_MS, or CR_PROGRESS_DELAY_MS's */
} pg;

void progress_setup(bool enabled)
{
	const char *delay = getenv(PROGRESS_DELAY_ENV);

	pg.enabled = enabled;
	pg.delay_ms = delay && *delay ? atol(delay) : PROGRESS_DELAY_MS;
}

bool progress_enabled(void)
{
	return pg.enabled;
}

static long ms_since_start(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - pg.t0.tv_sec) * 1000 + (t.tv_nsec - pg.t0.tv_nsec) / 1000000;
}

/* @bytes as "12.3 MiB" into @buf. */
void progress_fmt_bytes(char *buf, size_t size, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void write_stderr(const char *s, size_t len)
{
	/* A terminal that does not take the line has nothing to show it on. */
	(void)!write(STDERR_FILENO, s, len);
}

static void draw(long ms)
{
	char line[160], done[32], total[32], rate[32];
	int n;

	progress_fmt_bytes(done, sizeof(done), pg.done);
	progress_fmt_bytes(rate, sizeof(rate), ms > 0 ? pg.done * 1000.0 / ms : 0);
	if (pg.total) {
		uint64_t total_b = pg.total > pg.done ? pg.total : pg.done;

		progress_fmt_bytes(total, sizeof(total), total_b);
		n = snprintf(line, sizeof(line), ERASE_LINE "cr %s: %s of %s%s pages (%u%%), %s/s", pg.what, done,
			     pg.estimate ? "~" : "", total, (unsigned)(pg.done * 100 / total_b), rate);
	} else {
		n = snprintf(line, sizeof(line), ERASE_LINE "cr %s: %s of pages, %s/s", pg.what, done, rate);
	}
	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	write_stderr(line, n);
	pg.drawn = true;
	pg.last_ms = ms;
}

void progress_begin(const char *what, uint64_t total, bool estimate)
{
	if (!pg.enabled)
		return;
	progress_clear();
	pg.active = true;
	pg.what = what;
	pg.total = total;
	pg.estimate = estimate;
	pg.done = 0;
	pg.last_ms = 0;
	clock_gettime(CLOCK_MONOTONIC, &pg.t0);
}

void progress_update(uint64_t done)
{
	long ms;

	if (!pg.active)
		return;
	pg.done = done;
	ms = ms_since_start();
	if (ms >= pg.delay_ms && (!pg.drawn || ms - pg.last_ms >= PROGRESS_PERIOD_MS))
		draw(ms);
}

void progress_add(uint64_t n)
{
	if (pg.active)
		progress_update(pg.done + n);
}

void progress_clear(void)
{
	if (!pg.drawn)
		return;
	write_stderr(ERASE_LINE, strlen(ERASE_LINE));
	pg.drawn = false;
}

void progress_end(void)
{
	progress_clear();
	pg.active = false;
}

void progress_begin_tree(const char *what, const struct pstree *tree)
{
	uint64_t total = 0;

	if (!pg.enabled)
		return;
	for (unsigned i = 0; i < tree->nr; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			total += proc_anon_bytes(tree->tasks[i].pid);
	progress_begin(what, total, true);
}
