/*
 * stats-dump, stats-restore: criu's statistics files (stats.h). Written
 * here, outside image.c, because they are criu's format for criu's
 * readers, not a cr image: no CRC, and go-criu reads exactly one
 * size-prefixed message after the two magics.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "io.h"
#include "log.h"
#include "open-file.h"
#include "progress.h"
#include "stats.h"

#define STATS_HEAD_SIZE	12		/* two magics, the payload size */
#define STATS_MAX_SIZE	4096		/* a StatsEntry is some tens of bytes */

/* criu's times are u32 microseconds (71 minutes): a longer one stays at the top. */
static uint32_t us32(uint64_t us)
{
	return us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

uint64_t stats_us_between(const struct timespec *from, const struct timespec *to)
{
	return (uint64_t)((to->tv_sec - from->tv_sec) * 1000000 + (to->tv_nsec - from->tv_nsec) / 1000);
}

uint64_t stats_us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return stats_us_between(t0, &t);
}

int stats_write_fd(int fd, const StatsEntry *e)
{
	uint8_t buf[STATS_MAX_SIZE];
	uint32_t head[3];
	size_t len = stats_entry__get_packed_size(e);

	if (len > sizeof(buf) - STATS_HEAD_SIZE)
		return -EMSGSIZE;
	head[0] = htole32(STATS_MAGIC_SERVICE);
	head[1] = htole32(STATS_MAGIC);
	head[2] = htole32((uint32_t)len);
	memcpy(buf, head, STATS_HEAD_SIZE);
	stats_entry__pack(e, buf + STATS_HEAD_SIZE);
	return write_all(fd, buf, STATS_HEAD_SIZE + len);
}

int stats_read_fd(int fd, StatsEntry **ret)
{
	uint8_t buf[STATS_MAX_SIZE];
	uint32_t head[3];
	size_t len = 0;
	StatsEntry *e;

	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pr_errno(-errno, "reading a stats file");
		if (n == 0)
			break;
		len += n;
	}
	if (len < STATS_HEAD_SIZE)
		return pr_errno(-EBADMSG, "stats file: %zu bytes, shorter than its head", len);
	memcpy(head, buf, STATS_HEAD_SIZE);
	if (le32toh(head[0]) != STATS_MAGIC_SERVICE || le32toh(head[1]) != STATS_MAGIC)
		return pr_errno(-EBADMSG, "stats file: magics %#x %#x are not criu's stats ones",
				le32toh(head[0]), le32toh(head[1]));
	if (le32toh(head[2]) > len - STATS_HEAD_SIZE)
		return pr_errno(-EBADMSG, "stats file: a %u byte entry in %zu bytes", le32toh(head[2]),
				len - STATS_HEAD_SIZE);
	e = stats_entry__unpack(NULL, le32toh(head[2]), buf + STATS_HEAD_SIZE);
	if (!e)
		return pr_errno(-EBADMSG, "stats file: the entry does not decode");
	*ret = e;
	return 0;
}

/*
 * Into the work directory, replacing the last one. Its reader (podman)
 * reads it after the reply, so it never sees half of it.
 */
static void write_file(const struct cr_options *o, int dfd, const char *name, const StatsEntry *e)
{
	char path[PATH_MAX];
	int err;
	_cleanup_close_ int fd = -EBADF;

	snprintf(path, sizeof(path), "%s/%s", o->work_dir ? o->work_dir : o->images_dir ? o->images_dir : ".", name);
	/* The dump or restore is done: a failure here is the file's alone. */
	err = cr_fail_point("stats");
	if (err) {
		pr_warn("stats: %s not written: %s", path, strerror(-err));
		return;
	}
	/* Never blocking on a FIFO of that name, nor writing another's file (open-file.h). */
	fd = open_own_file(o->work_dir ? AT_FDCWD : dfd, o->work_dir ? path : name, 0);
	if (fd < 0) {
		pr_warn("stats: %s not written: %s", path, strerror(-fd));
		return;
	}
	err = stats_write_fd(fd, e);
	if (err)
		pr_warn("stats: writing %s: %s", path, strerror(-err));
}

void stats_write_dump(const struct cr_options *o, int dfd, const struct dump_stats *s)
{
	DumpStatsEntry d = DUMP_STATS_ENTRY__INIT;
	StatsEntry e = STATS_ENTRY__INIT;

	d.freezing_time = us32(s->freezing_us);
	d.frozen_time = us32(s->frozen_us);
	d.memdump_time = us32(s->memdump_us);
	d.memwrite_time = us32(s->memwrite_us);
	d.pages_scanned = s->pages_scanned;
	d.pages_skipped_parent = s->pages_skipped_parent;
	d.pages_written = s->pages_written;
	d.pages_lazy = 0;		/* cr dump leaves no pages to a lazy restore: all are in the image */
	d.has_page_pipes = d.has_page_pipe_bufs = true;
	d.page_pipes = s->page_pipes;
	d.page_pipe_bufs = s->page_pipe_bufs;
	d.has_shpages_scanned = d.has_shpages_skipped_parent = d.has_shpages_written = true;
	d.shpages_scanned = s->shpages_scanned;
	d.shpages_skipped_parent = 0;	/* shared memory is dumped whole every time */
	d.shpages_written = s->shpages_written;
	e.dump = &d;
	write_file(o, dfd, STATS_DUMP_FILE, &e);
	if (o->display_stats)
		pr_msg("%s stats: freezing %" PRIu64 " us, frozen %" PRIu64 " us, memdump %" PRIu64
		       " us, memwrite %" PRIu64 " us, pages scanned %" PRIu64 ", skipped parent %" PRIu64
		       ", written %" PRIu64 ", shared memory pages written %" PRIu64,
		       s->pre_dump ? "pre-dump" : "dump", s->freezing_us, s->frozen_us, s->memdump_us,
		       s->memwrite_us, s->pages_scanned, s->pages_skipped_parent, s->pages_written,
		       s->shpages_written);
	if (o->stats)
		stats_print_dump(stderr, s);
}

void stats_write_restore(const struct cr_options *o, int dfd, const struct restore_stats *s)
{
	RestoreStatsEntry r = RESTORE_STATS_ENTRY__INIT;
	StatsEntry e = STATS_ENTRY__INIT;

	r.pages_compared = s->pages_compared;
	r.pages_skipped_cow = s->pages_skipped_cow;
	r.forking_time = us32(s->forking_us);
	r.restore_time = us32(s->restore_us);
	r.has_pages_restored = true;
	r.pages_restored = s->pages_restored;
	e.restore = &r;
	write_file(o, dfd, STATS_RESTORE_FILE, &e);
	if (o->display_stats)
		pr_msg("restore stats: forking %" PRIu64 " us, restore %" PRIu64 " us, pages restored %" PRIu64
		       ", compared %" PRIu64 ", skipped copy-on-write %" PRIu64,
		       s->forking_us, s->restore_us, s->pages_restored, s->pages_compared, s->pages_skipped_cow);
	if (o->stats)
		stats_print_restore(stderr, s);
}

/* ---- the --stats summary ---------------------------------------------------- */

#define NAME_WIDTH	24

static void line_time(FILE *f, const char *name, uint64_t us)
{
	fprintf(f, "  %-*s %" PRIu64 ".%06" PRIu64 " s\n", NAME_WIDTH, name, us / 1000000, us % 1000000);
}

/* @pages with their size in bytes, then @rest (may be ""). */
static void line_pages(FILE *f, const char *name, uint64_t pages, const char *rest)
{
	char size[32];

	progress_fmt_bytes(size, sizeof(size), (double)pages * PAGE_SIZE);
	fprintf(f, "  %-*s %" PRIu64 " (%s)%s\n", NAME_WIDTH, name, pages, size, rest);
}

/* Bytes per second over @us, "-" when nothing was measured. */
static void line_rate(FILE *f, const char *name, uint64_t bytes, uint64_t us)
{
	char rate[32];

	if (!us) {
		fprintf(f, "  %-*s -\n", NAME_WIDTH, name);
		return;
	}
	progress_fmt_bytes(rate, sizeof(rate), bytes * 1e6 / us);
	fprintf(f, "  %-*s %s/s\n", NAME_WIDTH, name, rate);
}

/*
 * Of the pages scanned, the ones not written: the rest are absent (never
 * touched, or a private file mapping's pages still the file's).
 */
void stats_print_dump(FILE *f, const struct dump_stats *s)
{
	uint64_t stored = s->pages_written + s->pages_skipped_parent + s->pages_zero + s->pages_shared;
	uint64_t absent = s->pages_scanned > stored ? s->pages_scanned - stored : 0;
	uint64_t bytes = (s->pages_written + s->shpages_written) * PAGE_SIZE;

	fprintf(f, "cr %s statistics:\n", s->pre_dump ? "pre-dump" : "dump");
	fprintf(f, "  %-*s %u\n", NAME_WIDTH, "processes:", s->nr_tasks);
	line_time(f, "total time:", s->total_us);
	line_time(f, "freezing time:", s->freezing_us);
	line_time(f, "frozen time:", s->frozen_us);
	line_time(f, "processes time:", s->tasks_us);
	line_time(f, "memory dump time:", s->memdump_us);
	line_time(f, "memory write time:", s->memwrite_us);
	line_time(f, "images time:", s->images_us);
	line_pages(f, "pages scanned:", s->pages_scanned, "");
	line_pages(f, "pages written:", s->pages_written, "");
	line_pages(f, "pages skipped:", s->pages_scanned - min(s->pages_written, s->pages_scanned), "");
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "  absent:", absent);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "  zero:", s->pages_zero);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "  unchanged (parent):", s->pages_skipped_parent);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "  shared copy-on-write:", s->pages_shared);
	line_pages(f, "shmem pages scanned:", s->shpages_scanned, "");
	line_pages(f, "shmem pages written:", s->shpages_written, "");
	fprintf(f, "  %-*s %" PRIu64 " in %" PRIu64 " fills\n", NAME_WIDTH, "page pipes:", s->page_pipes,
		s->page_pipe_bufs);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "bytes written:", bytes);
	line_rate(f, "throughput:", bytes, s->memdump_us);
}

void stats_print_restore(FILE *f, const struct restore_stats *s)
{
	uint64_t bytes = s->pages_read * PAGE_SIZE;

	fprintf(f, "cr restore statistics:\n");
	fprintf(f, "  %-*s %u\n", NAME_WIDTH, "processes:", s->nr_tasks);
	line_time(f, "total time:", s->restore_us);
	line_time(f, "images time:", s->images_us);
	line_time(f, "forking time:", s->forking_us);
	line_time(f, "memory time:", s->ready_us);
	line_pages(f, "pages restored:", s->pages_restored, "");
	line_pages(f, "pages read:", s->pages_read, "");
	line_pages(f, "pages premapped:", s->pages_premapped, "");
	line_pages(f, "pages lazy:", s->pages_lazy, "");
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "pages compared:", s->pages_compared);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "pages skipped cow:", s->pages_skipped_cow);
	fprintf(f, "  %-*s %" PRIu64 "\n", NAME_WIDTH, "bytes read:", bytes);
	line_rate(f, "throughput:", bytes, s->ready_us);
}
