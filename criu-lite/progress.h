#ifndef CR_PROGRESS_H
#define CR_PROGRESS_H

/*
 * One progress line on stderr for a long dump or restore: the bytes of
 * pages done, of how many, and the rate, redrawn in place ("\r") a few
 * times a second once the operation has taken PROGRESS_DELAY_MS, and
 * erased at its end. Only when stderr is a terminal and the log level is
 * above 0 (progress_setup()); otherwise every call is a no-op.
 *
 * Cheap enough to call for every batch of pages: an update is a
 * clock_gettime() (the vDSO, no syscall) and a compare until it is time
 * to draw. log.c erases the line before it prints a log line on stderr
 * (progress_clear()); the next update draws it again.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_DELAY_MS	1000	/* nothing for operations shorter than that */
#define PROGRESS_PERIOD_MS	250	/* redrawn at most this often */
/* Tests: another delay, in ms (0: the line from the first update on). */
#define PROGRESS_DELAY_ENV	"CR_PROGRESS_DELAY_MS"

/* main(): whether a progress line may be shown at all (stderr a tty, -v1 or more). */
void progress_setup(bool enabled);
bool progress_enabled(void);
/*
 * Starts the line of @what ("dump", "restore"): @total bytes expected,
 * 0 if unknown; @estimate: the total is a guess (shown as "~").
 */
void progress_begin(const char *what, uint64_t total, bool estimate);
/*
 * A dump's: the total is guessed from the anonymous memory of the
 * tree's processes (what is shared copy-on-write, or unchanged since a
 * parent image, counts but is not written).
 */
struct pstree;
void progress_begin_tree(const char *what, const struct pstree *tree);
/* @done bytes so far, or @n more; may draw. */
void progress_update(uint64_t done);
void progress_add(uint64_t n);
/* Erases the line, if drawn, and stops the progress of this operation. */
void progress_end(void);
/* Erases the line, if drawn, before something else is written on stderr. */
void progress_clear(void);
/* @bytes as "12.3 MiB" into @buf (also for the --stats summary). */
void progress_fmt_bytes(char *buf, size_t size, double bytes);

#endif
