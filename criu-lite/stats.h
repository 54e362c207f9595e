#ifndef CR_STATS_H
#define CR_STATS_H

/*
 * stats-dump and stats-restore: criu's statistics files, which callers
 * read after a dump or a restore (podman's --print-stats, through
 * go-criu's stats package). Their layout is criu's: two little-endian
 * u32 magics (the "service image" one, then the stats one), a u32
 * payload size and one StatsEntry (proto/stats.proto). Not a cr image:
 * no CRC, nothing cr reads back itself.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "stats.pb-c.h"

struct cr_options;

#define STATS_MAGIC_SERVICE	0x55105940u	/* criu's IMG_SERVICE_MAGIC */
#define STATS_MAGIC		0x57093306u	/* criu's STATS_MAGIC */
#define STATS_DUMP_FILE		"stats-dump"
#define STATS_RESTORE_FILE	"stats-restore"

/* Times in microseconds, as criu's. */
struct dump_stats {
	bool pre_dump;			/* cr pre-dump: the tree ran on after it */
	unsigned nr_tasks;		/* processes dumped */
	uint64_t total_us;		/* the whole command */
	uint64_t freezing_us;		/* seizing (and freezing) the tree */
	uint64_t frozen_us;		/* seized until killed or let go */
	uint64_t tasks_us;		/* of it, collecting, infecting, draining and curing the processes */
	uint64_t memdump_us;		/* of that, draining the pages */
	uint64_t memwrite_us;		/* of that, splicing them into the page image */
	uint64_t images_us;		/* writing the tree's images, the inventory last */
	uint64_t pages_scanned;		/* pages of the VMAs looked at */
	uint64_t pages_written;		/* pages in the page image */
	uint64_t pages_skipped_parent;	/* not written since the parent image: in_parent */
	uint64_t pages_zero;		/* the zero page (read, never written): nothing to store */
	uint64_t pages_shared;		/* shared copy-on-write with an earlier process, stored once */
	uint64_t page_pipes;		/* pipes the pages went through (one per process) */
	uint64_t page_pipe_bufs;	/* fills of those pipes (parasite page commands) */
	uint64_t shpages_scanned;	/* pages of the shared memory objects dumped */
	uint64_t shpages_written;	/* of them, stored */
};

struct restore_stats {
	unsigned nr_tasks;		/* processes restored */
	uint64_t restore_us;		/* the whole restore, until the tree runs */
	uint64_t images_us;		/* reading and checking the images, before any process */
	uint64_t forking_us;		/* creating the tree's processes */
	uint64_t ready_us;		/* from the fork until every restorer is ready (pages in place) */
	uint64_t pages_restored;	/* pages put into place (lazy ones not) */
	uint64_t pages_read;		/* of them, read by the restorers */
	uint64_t pages_premapped;	/* of them, in place before the fork (copy-on-write premap) */
	uint64_t pages_lazy;		/* left to the lazy-pages daemon (--lazy-pages) */
	uint64_t pages_compared;	/* of a child's inherited premap, compared with its parent's copy */
	uint64_t pages_skipped_cow;	/* of them, the same stored copy: kept shared, not read */
};

/* Microseconds from @from to @to; from @t0 to now (CLOCK_MONOTONIC). */
uint64_t stats_us_between(const struct timespec *from, const struct timespec *to);
uint64_t stats_us_since(const struct timespec *t0);

/*
 * Write the file into the work directory (o->work_dir, else the image
 * directory @dfd), replacing an older one; with o->display_stats also
 * log the numbers (criu's --display-stats); with o->stats print the
 * summary on stderr (stats_print_*()). A file that cannot be written is
 * a warning: the dump or restore it describes is done.
 */
void stats_write_dump(const struct cr_options *o, int dfd, const struct dump_stats *s);
void stats_write_restore(const struct cr_options *o, int dfd, const struct restore_stats *s);

/*
 * The --stats summary: one "  name: value" line per figure under a title
 * line, the same figures as the file's (times in seconds, exact to the
 * microsecond), for a person; tests parse it.
 */
void stats_print_dump(FILE *f, const struct dump_stats *s);
void stats_print_restore(FILE *f, const struct restore_stats *s);

/*
 * The file's codec, on an open fd. stats_write_fd(): 0 or -errno.
 * stats_read_fd(): 0 and *ret (stats_entry__free_unpacked() it), or
 * -EBADMSG (logged) for a file that is not one.
 */
int stats_write_fd(int fd, const StatsEntry *e);
int stats_read_fd(int fd, StatsEntry **ret);

#endif
