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
#include "cr.h"
#include "io.h"
#include "log.h"
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
	if (o->work_dir)
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	else
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		pr_warn("stats: creating %s: %s", path, strerror(errno));
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
	d.pages_written = s->pages_written;
	d.has_shpages_written = true;
	d.shpages_written = s->shpages_written;
	e.dump = &d;
	write_file(o, dfd, STATS_DUMP_FILE, &e);
	if (o->display_stats)
		pr_msg("dump stats: freezing %" PRIu64 " us, frozen %" PRIu64 " us, memdump %" PRIu64
		       " us, memwrite %" PRIu64 " us, pages scanned %" PRIu64 ", written %" PRIu64
		       ", shared memory pages written %" PRIu64, s->freezing_us, s->frozen_us, s->memdump_us,
		       s->memwrite_us, s->pages_scanned, s->pages_written, s->shpages_written);
}

void stats_write_restore(const struct cr_options *o, int dfd, const struct restore_stats *s)
{
	RestoreStatsEntry r = RESTORE_STATS_ENTRY__INIT;
	StatsEntry e = STATS_ENTRY__INIT;

	r.forking_time = us32(s->forking_us);
	r.restore_time = us32(s->restore_us);
	r.has_pages_restored = true;
	r.pages_restored = s->pages_restored;
	e.restore = &r;
	write_file(o, dfd, STATS_RESTORE_FILE, &e);
	if (o->display_stats)
		pr_msg("restore stats: forking %" PRIu64 " us, restore %" PRIu64 " us, pages restored %" PRIu64,
		       s->forking_us, s->restore_us, s->pages_restored);
}
