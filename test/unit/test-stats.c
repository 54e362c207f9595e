/*
 * stats.c: stats-dump and stats-restore in criu's layout, as go-criu's
 * stats package reads them (podman's --print-stats): the service magic,
 * the stats magic, a u32 size, one StatsEntry; a round trip of each, the
 * files in the work directory, and what the reader refuses.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "stats.h"
#include "unit.h"

static uint32_t le32_at(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads the temp dir's @name with stats_read_fd(); 0 and *ret, or -errno. */
static int read_back(const char *name, StatsEntry **ret)
{
	int fd = openat(tmp_dfd, name, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = stats_read_fd(fd, ret);
	close(fd);
	return err;
}

static const struct dump_stats ds = {
	.freezing_us = 1500, .frozen_us = 6200, .memdump_us = 400, .memwrite_us = 250,
	.pages_scanned = 1677, .pages_written = 42, .shpages_written = 3,
};

/* The head go-criu checks, byte for byte, and the fields podman prints. */
static void test_dump_file(void)
{
	struct cr_options o = { .work_dir = tmp_dir };
	_cleanup_free_ unsigned char *buf = NULL;
	StatsEntry *e = NULL;
	size_t len = 0;

	tmp_setup();
	stats_write_dump(&o, -1, &ds);
	buf = slurp(STATS_DUMP_FILE, &len);
	CU_ASSERT_FATAL(buf && len > 12);
	CU_ASSERT_EQUAL(le32_at(buf), 0x55105940);
	CU_ASSERT_EQUAL(le32_at(buf + 4), 0x57093306);
	CU_ASSERT_EQUAL(le32_at(buf + 8), len - 12);
	CU_ASSERT_EQUAL_FATAL(read_back(STATS_DUMP_FILE, &e), 0);
	CU_ASSERT_PTR_NULL(e->restore);
	CU_ASSERT_FATAL(e->dump != NULL);
	CU_ASSERT_EQUAL(e->dump->freezing_time, 1500);
	CU_ASSERT_EQUAL(e->dump->frozen_time, 6200);
	CU_ASSERT_EQUAL(e->dump->memdump_time, 400);
	CU_ASSERT_EQUAL(e->dump->memwrite_time, 250);
	CU_ASSERT_EQUAL(e->dump->pages_scanned, 1677);
	CU_ASSERT_EQUAL(e->dump->pages_written, 42);
	CU_ASSERT_EQUAL(e->dump->pages_skipped_parent, 0);
	CU_ASSERT_EQUAL(e->dump->pages_lazy, 0);
	CU_ASSERT_TRUE(e->dump->has_shpages_written);
	CU_ASSERT_EQUAL(e->dump->shpages_written, 3);
	stats_entry__free_unpacked(e, NULL);
	tmp_teardown();
}

/* Without a work directory: in the image directory; a time past u32 stays at the top. */
static void test_restore_file(void)
{
	struct restore_stats rs = { .forking_us = 120, .restore_us = 1ULL << 40, .pages_restored = 42 };
	struct cr_options o = { 0 };
	StatsEntry *e = NULL;

	tmp_setup();
	o.images_dir = tmp_dir;
	stats_write_restore(&o, tmp_dfd, &rs);
	CU_ASSERT_EQUAL_FATAL(read_back(STATS_RESTORE_FILE, &e), 0);
	CU_ASSERT_PTR_NULL(e->dump);
	CU_ASSERT_FATAL(e->restore != NULL);
	CU_ASSERT_EQUAL(e->restore->forking_time, 120);
	CU_ASSERT_EQUAL(e->restore->restore_time, UINT32_MAX);
	CU_ASSERT_TRUE(e->restore->has_pages_restored);
	CU_ASSERT_EQUAL(e->restore->pages_restored, 42);
	CU_ASSERT_EQUAL(e->restore->pages_compared, 0);
	stats_entry__free_unpacked(e, NULL);
	/* a second one replaces the first */
	rs.restore_us = 9000;
	stats_write_restore(&o, tmp_dfd, &rs);
	CU_ASSERT_EQUAL_FATAL(read_back(STATS_RESTORE_FILE, &e), 0);
	CU_ASSERT_EQUAL(e->restore->restore_time, 9000);
	stats_entry__free_unpacked(e, NULL);
	tmp_teardown();
}

/* Cut, foreign or oversized: refused with the reason, never read past the end. */
static void test_refused(void)
{
	struct cr_options o = { 0 };
	_cleanup_free_ unsigned char *buf = NULL;
	unsigned char bad[64];
	StatsEntry *e = NULL;
	size_t len = 0;

	tmp_setup();
	o.images_dir = tmp_dir;
	stats_write_dump(&o, tmp_dfd, &ds);
	buf = slurp(STATS_DUMP_FILE, &len);
	CU_ASSERT_FATAL(buf && len > 12 && len <= sizeof(bad));

	CU_ASSERT_EQUAL(spit("short", buf, 8), 0);
	CU_ASSERT_EQUAL(read_back("short", &e), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("shorter than its head"));

	memcpy(bad, buf, len);
	bad[4] ^= 1;
	CU_ASSERT_EQUAL(spit("magic", bad, len), 0);
	CU_ASSERT_EQUAL(read_back("magic", &e), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("not criu's stats"));

	CU_ASSERT_EQUAL(spit("cut", buf, len - 1), 0);
	CU_ASSERT_EQUAL(read_back("cut", &e), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("byte entry in"));

	/* the required fields missing: an empty dump entry */
	memcpy(bad, buf, 12);
	bad[8] = 2, bad[9] = bad[10] = bad[11] = 0;
	bad[12] = 0x0a, bad[13] = 0;
	CU_ASSERT_EQUAL(spit("empty", bad, 14), 0);
	CU_ASSERT_EQUAL(read_back("empty", &e), -EBADMSG);
	CU_ASSERT_TRUE(last_error_has("does not decode"));
	tmp_teardown();
}

int unit_register_stats(void)
{
	CU_pSuite s = CU_add_suite("stats", NULL, NULL);

	if (!s ||
	    !CU_add_test(s, "stats-dump: criu's head, podman's fields", test_dump_file) ||
	    !CU_add_test(s, "stats-restore: in the image dir, replaced", test_restore_file) ||
	    !CU_add_test(s, "cut, foreign, incomplete: refused", test_refused))
		return CU_get_error();
	return 0;
}
