/*
 * Ghost files: files deleted while open, of every kind a path names.
 *   REG	a regular file with data, O_RDWR at a position;
 *   REG_PATH	an O_PATH fd of another deleted regular file;
 *   DIR	a directory (O_RDONLY);
 *   DIR_PATH	an O_PATH fd of another deleted directory;
 *   FIFO	a FIFO with bytes in flight, O_RDWR, and FIFO_RD a second
 *		description of it (O_RDONLY, opened before the unlink);
 *   LNK	an O_PATH | O_NOFOLLOW fd of a symbolic link, deleted;
 *   LNK_LIVE	the same of a symbolic link that still exists.
 * Each ghost had its owner, mode (set-gid and odd bits too) and times set
 * before it was deleted.
 *
 * After restore every fd is still what it was: the same type, nlink 0,
 * /proc/self/fd/N reads the same "PATH (deleted)", owner, mode, size,
 * mtime and atime as before; REG has its data and position, REG_PATH is
 * still O_PATH and reopening it gives its data; getdents64 on DIR fails
 * as it did before (ENOENT: a removed directory), and a file cannot be
 * created in DIR or DIR_PATH (ENOENT); FIFO and FIFO_RD are one FIFO
 * with its bytes; LNK still reads its target and is still a link;
 * LNK_LIVE is the link at its path. No name is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		50000
#define POS		4000
#define FIFO_LEN	2000
#define SEED		0x6405700000000001ULL
#define SEED2		0x6405700000000002ULL
#define TARGET		"some/where/else"
#define UID		1234
#define GID		2345
#define DELETED		" (deleted)"

enum { REG, REG_PATH, DIRFD, DIR_PATH, FIFO, FIFO_RD, LNK, LNK_LIVE, NR };

struct ghost {
	const char *name;
	int fd;
	mode_t mode;		/* the permission bits it gets */
	bool keep;		/* not deleted */
	struct stat st;
	char link[PATH_MAX];
	int flags;
};

static struct ghost g[NR] = {
	[REG]		= { "zdtm_ghost.reg", .mode = 02741 },
	[REG_PATH]	= { "zdtm_ghost.reg_path", .mode = 0604 },
	[DIRFD]		= { "zdtm_ghost.dir", .mode = 01751 },
	[DIR_PATH]	= { "zdtm_ghost.dir_path", .mode = 0700 },
	[FIFO]		= { "zdtm_ghost.fifo", .mode = 0612 },
	[FIFO_RD]	= { "zdtm_ghost.fifo", .mode = 0612 },
	[LNK]		= { "zdtm_ghost.lnk" },
	[LNK_LIVE]	= { "zdtm_ghost.lnk_live", .keep = true },
};

static char buf[LEN];
static int dents_before;

static void set_attrs(const char *name, int i, bool link)
{
	struct timespec ts[2] = {
		{ .tv_sec = 1200000000 + i, .tv_nsec = 1000 * i + 7 },
		{ .tv_sec = 1100000000 + i, .tv_nsec = 1000 * i + 3 },
	};

	if (fchownat(AT_FDCWD, name, UID + i, GID + i, AT_SYMLINK_NOFOLLOW))
		fail_errno("chown %s", name);
	if (!link && chmod(name, g[i].mode))
		fail_errno("chmod %s", name);
	if (utimensat(AT_FDCWD, name, ts, AT_SYMLINK_NOFOLLOW))
		fail_errno("utimensat %s", name);
}

static int count_dents(int fd)
{
	char d[4096];
	int nr = 0;
	long n;

	while ((n = syscall(SYS_getdents64, fd, d, sizeof(d))) > 0)
		for (long off = 0; off < n; nr++)
			off += ((struct { unsigned long long ino; long long off; unsigned short reclen; } *)(d + off))->reclen;
	/* A removed directory: getdents64 fails with ENOENT (IS_DEADDIR). */
	return n < 0 ? -errno : nr;
}

/* A fresh description of the directory @fd is: counts what it lists from the start. */
static int dents_of(int fd)
{
	char p[64];
	int d, nr;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	d = open(p, O_RDONLY | O_DIRECTORY);
	if (d < 0)
		fail_errno("reopen %s", p);
	nr = count_dents(d);
	close(d);
	return nr;
}

static void record(int i)
{
	char p[64];
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", g[i].fd);
	n = readlink(p, g[i].link, sizeof(g[i].link) - 1);
	if (n < 0)
		fail_errno("readlink %s", p);
	g[i].link[n] = '\0';
	if (fstat(g[i].fd, &g[i].st))
		fail_errno("fstat %s", g[i].name);
	g[i].flags = fcntl(g[i].fd, F_GETFL);
	if (!g[i].keep && (g[i].st.st_nlink != 0 || !strstr(g[i].link, DELETED)))
		fail("%s: nlink %lu, link '%s' before the checkpoint: not deleted", g[i].name,
		     (unsigned long)g[i].st.st_nlink, g[i].link);
}

static void check(int i)
{
	const struct stat *b = &g[i].st;
	char p[64], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", g[i].fd);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		fail_errno("readlink %s", p);
	link[n] = '\0';
	if (strcmp(link, g[i].link))
		fail("%s: %s is '%s', expected '%s'", g[i].name, p, link, g[i].link);
	if (fstat(g[i].fd, &st))
		fail_errno("fstat %s", g[i].name);
	if (st.st_mode != b->st_mode || st.st_uid != b->st_uid || st.st_gid != b->st_gid ||
	    st.st_nlink != b->st_nlink || st.st_size != b->st_size)
		fail("%s: mode %#o owner %u:%u nlink %lu size %ld, expected %#o %u:%u %lu %ld", g[i].name,
		     st.st_mode, st.st_uid, st.st_gid, (unsigned long)st.st_nlink, (long)st.st_size,
		     b->st_mode, b->st_uid, b->st_gid, (unsigned long)b->st_nlink, (long)b->st_size);
	if (st.st_mtim.tv_sec != b->st_mtim.tv_sec || st.st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	    st.st_atim.tv_sec != b->st_atim.tv_sec || st.st_atim.tv_nsec != b->st_atim.tv_nsec)
		fail("%s: mtime %ld.%09ld atime %ld.%09ld, expected %ld.%09ld %ld.%09ld", g[i].name,
		     (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
		     (long)b->st_mtim.tv_sec, b->st_mtim.tv_nsec, (long)b->st_atim.tv_sec, b->st_atim.tv_nsec);
	if (fcntl(g[i].fd, F_GETFL) != g[i].flags)
		fail("%s: flags %#o, expected %#o", g[i].name, fcntl(g[i].fd, F_GETFL), g[i].flags);
	if (!g[i].keep && (access(g[i].name, F_OK) == 0 || errno != ENOENT))
		fail("%s: the name exists after restore", g[i].name);
}

static int make_reg(int i, int flags)
{
	int fd;

	file_pattern_create(g[i].name, LEN, i == REG ? SEED : SEED2, 0600);
	set_attrs(g[i].name, i, false);
	fd = open(g[i].name, flags);
	if (fd < 0)
		fail_errno("open %s", g[i].name);
	return fd;
}

static void check_reg_path(void)
{
	char p[64];
	int fd;

	if (read(g[REG_PATH].fd, buf, 1) != -1 || errno != EBADF)
		fail("%s: read through the O_PATH fd did not fail with EBADF", g[REG_PATH].name);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", g[REG_PATH].fd);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		fail_errno("reopen %s", p);
	if (pread(fd, buf, LEN, 0) != LEN || pattern_check(buf, LEN, SEED2) >= 0)
		fail("%s: content differs after restore", g[REG_PATH].name);
	close(fd);
}

static void check_dir(void)
{
	int n = dents_of(g[DIRFD].fd);

	if (n != dents_before)
		fail("%s: getdents64 gives %d after restore, %d before", g[DIRFD].name, n, dents_before);
	if (openat(g[DIRFD].fd, "new", O_RDWR | O_CREAT, 0600) != -1 || errno != ENOENT)
		fail("%s: creating a file in the removed directory did not fail with ENOENT", g[DIRFD].name);
	if (openat(g[DIR_PATH].fd, "new", O_RDWR | O_CREAT, 0600) != -1 || errno != ENOENT)
		fail("%s: creating a file in the removed directory did not fail with ENOENT", g[DIR_PATH].name);
}

static void check_fifo(void)
{
	int q = -1;

	if (g[FIFO].st.st_ino != g[FIFO_RD].st.st_ino)
		fail("FIFO: its two descriptions were of two inodes before");
	zdtm_check(fstat(g[FIFO].fd, &g[FIFO].st) == 0 && fstat(g[FIFO_RD].fd, &g[FIFO_RD].st) == 0);
	if (g[FIFO].st.st_ino != g[FIFO_RD].st.st_ino || g[FIFO].st.st_dev != g[FIFO_RD].st.st_dev)
		fail("FIFO: its two descriptions are two FIFOs after restore");
	if (ioctl(g[FIFO_RD].fd, FIONREAD, &q) || q != FIFO_LEN)
		fail("FIFO: %d bytes in it after restore, expected %d", q, FIFO_LEN);
	if (read(g[FIFO_RD].fd, buf, FIFO_LEN) != FIFO_LEN || pattern_check(buf, FIFO_LEN, SEED) >= 0)
		fail("FIFO: its bytes differ after restore");
	write_full(g[FIFO].fd, "xy", 2);
	if (read(g[FIFO_RD].fd, buf, 2) != 2 || memcmp(buf, "xy", 2))
		fail("FIFO: bytes written after restore do not come out of the other description");
}

static void check_link(int i)
{
	char t[PATH_MAX];
	ssize_t n = readlinkat(g[i].fd, "", t, sizeof(t) - 1);

	if (n < 0)
		fail_errno("readlinkat %s", g[i].name);
	t[n] = '\0';
	if (strcmp(t, TARGET))
		fail("%s: target '%s', expected '%s'", g[i].name, t, TARGET);
	if (!S_ISLNK(g[i].st.st_mode) || !(g[i].flags & O_PATH))
		fail("%s: not an O_PATH fd of a symbolic link", g[i].name);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);

	g[REG].fd = make_reg(REG, O_RDWR);
	if (lseek(g[REG].fd, POS, SEEK_SET) != POS)
		fail_errno("lseek");
	g[REG_PATH].fd = make_reg(REG_PATH, O_PATH);

	for (int i = DIRFD; i <= DIR_PATH; i++) {
		if (mkdir(g[i].name, 0700) || close(open(g[i].name, O_PATH)))
			fail_errno("mkdir %s", g[i].name);
		set_attrs(g[i].name, i, false);
		g[i].fd = open(g[i].name, i == DIRFD ? O_RDONLY | O_DIRECTORY : O_PATH | O_DIRECTORY);
		if (g[i].fd < 0)
			fail_errno("open %s", g[i].name);
	}

	if (mkfifo(g[FIFO].name, 0600))
		fail_errno("mkfifo");
	set_attrs(g[FIFO].name, FIFO, false);
	g[FIFO].fd = open(g[FIFO].name, O_RDWR | O_NONBLOCK);
	g[FIFO_RD].fd = open(g[FIFO].name, O_RDONLY | O_NONBLOCK);
	if (g[FIFO].fd < 0 || g[FIFO_RD].fd < 0)
		fail_errno("open %s", g[FIFO].name);
	pattern_fill(buf, FIFO_LEN, SEED);
	write_full(g[FIFO].fd, buf, FIFO_LEN);
	/* Writing set its times: set them again. */
	set_attrs(g[FIFO].name, FIFO, false);

	for (int i = LNK; i <= LNK_LIVE; i++) {
		if (symlink(TARGET, g[i].name))
			fail_errno("symlink %s", g[i].name);
		set_attrs(g[i].name, i, true);
		g[i].fd = open(g[i].name, O_PATH | O_NOFOLLOW);
		if (g[i].fd < 0)
			fail_errno("open %s", g[i].name);
	}

	if (unlink(g[REG].name) || unlink(g[REG_PATH].name) || rmdir(g[DIRFD].name) ||
	    rmdir(g[DIR_PATH].name) || unlink(g[FIFO].name) || unlink(g[LNK].name))
		fail_errno("deleting the files");
	for (int i = 0; i < NR; i++)
		record(i);
	dents_before = dents_of(g[DIRFD].fd);

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR; i++)
		check(i);
	if (lseek(g[REG].fd, 0, SEEK_CUR) != POS)
		fail("%s: position not kept", g[REG].name);
	if (pread(g[REG].fd, buf, LEN, 0) != LEN || pattern_check(buf, LEN, SEED) >= 0)
		fail("%s: content differs after restore", g[REG].name);
	check_reg_path();
	check_dir();
	check_fifo();
	check_link(LNK);
	check_link(LNK_LIVE);
	pass();
}
