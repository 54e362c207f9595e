/*
 * Files that exist are never touched by a dump or a restore: a regular
 * file open for writing (with a position), one open read-only, one
 * O_APPEND, a directory and a FIFO with bytes in flight (which restore
 * must put back in it). Each had its times set to known old values before the
 * checkpoint (mtime and atime; the ctime is the time of that change).
 *
 * After restore: every file's mtime, atime and ctime are the ones seen
 * before the checkpoint (a write, a truncate, a chmod, a utimes by cr
 * would change the ctime at least); so are its mode, owner, size and
 * inode, and the FIFO still holds its bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define F_RW		"zdtm_file_times.rw"
#define F_RO		"zdtm_file_times.ro"
#define F_AP		"zdtm_file_times.append"
#define F_DIR		"zdtm_file_times.dir"
#define F_FIFO		"zdtm_file_times.fifo"
#define LEN		20000
#define FIFO_LEN	3000
#define SEED		0x71e5000000000001ULL
#define OLD_MTIME	1000000000	/* 2001 */
#define OLD_ATIME	1100000000

enum { RW, RO, AP, DIRFD, FIFO, NR };

static const char *names[NR] = { F_RW, F_RO, F_AP, F_DIR, F_FIFO };
static struct stat before[NR];
static int fds[NR];
static char buf[LEN];

static void set_old_times(const char *path, long nsec)
{
	struct timespec ts[2] = {
		{ .tv_sec = OLD_ATIME, .tv_nsec = nsec },
		{ .tv_sec = OLD_MTIME, .tv_nsec = nsec + 1 },
	};

	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW))
		fail_errno("utimensat %s", path);
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void check_unchanged(int i)
{
	const struct stat *b = &before[i];
	struct stat st;

	if (lstat(names[i], &st))
		fail_errno("lstat %s", names[i]);
	if (st.st_ino != b->st_ino || st.st_dev != b->st_dev)
		fail("%s: another file after restore", names[i]);
	if (st.st_mode != b->st_mode || st.st_uid != b->st_uid || st.st_gid != b->st_gid ||
	    st.st_size != b->st_size)
		fail("%s: mode %#o owner %u:%u size %ld, expected %#o %u:%u %ld", names[i],
		     st.st_mode, st.st_uid, st.st_gid, (long)st.st_size, b->st_mode,
		     b->st_uid, b->st_gid, (long)b->st_size);
	if (!same_time(&st.st_mtim, &b->st_mtim))
		fail("%s: mtime %ld.%09ld, expected %ld.%09ld", names[i], (long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec, (long)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
	if (!same_time(&st.st_atim, &b->st_atim))
		fail("%s: atime %ld.%09ld, expected %ld.%09ld", names[i], (long)st.st_atim.tv_sec,
		     st.st_atim.tv_nsec, (long)b->st_atim.tv_sec, b->st_atim.tv_nsec);
	if (!same_time(&st.st_ctim, &b->st_ctim))
		fail("%s: ctime %ld.%09ld, expected %ld.%09ld (cr changed it)", names[i],
		     (long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec, (long)b->st_ctim.tv_sec,
		     b->st_ctim.tv_nsec);
}

static int make_file(const char *name, int flags)
{
	int fd;

	file_pattern_create(name, LEN, SEED, 0640);
	fd = open(name, flags);
	if (fd < 0)
		fail_errno("open %s", name);
	return fd;
}

int main(int argc, char **argv)
{
	char d[64];
	int q = -1;

	test_init(argc, argv);

	fds[RW] = make_file(F_RW, O_RDWR);
	if (lseek(fds[RW], 1234, SEEK_SET) != 1234)
		fail_errno("lseek %s", F_RW);
	fds[RO] = make_file(F_RO, O_RDONLY);
	fds[AP] = make_file(F_AP, O_WRONLY | O_APPEND);
	if (mkdir(F_DIR, 0750))
		fail_errno("mkdir %s", F_DIR);
	for (int i = 0; i < 20; i++) {
		snprintf(d, sizeof(d), "%s/e%02d", F_DIR, i);
		if (close(open(d, O_WRONLY | O_CREAT | O_EXCL, 0600)))
			fail_errno("create %s", d);
	}
	fds[DIRFD] = open(F_DIR, O_RDONLY | O_DIRECTORY);
	if (fds[DIRFD] < 0)
		fail_errno("open %s", F_DIR);
	if (mkfifo(F_FIFO, 0620))
		fail_errno("mkfifo %s", F_FIFO);
	fds[FIFO] = open(F_FIFO, O_RDWR | O_NONBLOCK);
	if (fds[FIFO] < 0)
		fail_errno("open %s", F_FIFO);
	pattern_fill(buf, FIFO_LEN, SEED);
	write_full(fds[FIFO], buf, FIFO_LEN);

	for (int i = 0; i < NR; i++) {
		set_old_times(names[i], 1000 * (i + 1));
		if (lstat(names[i], &before[i]))
			fail_errno("lstat %s", names[i]);
	}

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR; i++)
		check_unchanged(i);
	if (ioctl(fds[FIFO], FIONREAD, &q) || q != FIFO_LEN)
		fail("%s: %d bytes queued after restore, expected %d", F_FIFO, q, FIFO_LEN);
	if (read(fds[FIFO], buf, FIFO_LEN) != FIFO_LEN || pattern_check(buf, FIFO_LEN, SEED) >= 0)
		fail("%s: its bytes differ after restore", F_FIFO);
	if (lseek(fds[RW], 0, SEEK_CUR) != 1234)
		fail("%s: position not kept", F_RW);
	pass();
}
