/*
 * Kinds of fds besides plain files in the work dir:
 *   - O_PATH fds of a file and of a directory (still O_PATH: no read, but
 *     fstat and openat work);
 *   - a directory read halfway with getdents64: after restore the next
 *     calls return exactly the entries not read yet;
 *   - /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, each
 *     opened with other flags, and still behaving as that device;
 *   - a regular file on tmpfs (/dev/shm) with data and a position.
 * Every fd keeps its file (dev, inode, type), status flags, FD_CLOEXEC
 * and position.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#define OPATH_FILE	"zdtm_opath_dir_dev.file"
#define OPATH_DIR	"zdtm_opath_dir_dev.dir"
#define INNER		"inner"		/* a file in OPATH_DIR */
#define DENTS_DIR	"zdtm_opath_dir_dev.dents"
#define NR_DENTS	40		/* files in DENTS_DIR, plus . and .. */
#define DENTS_HALF	800		/* getdents64 buffer: about half of them */
#define DENTS_BUF	4096
#define SHM_LEN		(64 * 1024)
#define SHM_POS		12344		/* a multiple of 8: pattern words */
#define SHM_SEED	0x09a7000000000001ULL
#define SHM_SEED2	0x09a7000000000002ULL
/* Status flags we set and expect back; the kernel adds others. */
#define FL_MASK		(O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH)

enum { OPATH_F, OPATH_D, DENTS, DEV_NULL, DEV_ZERO, DEV_FULL, DEV_RANDOM,
       DEV_URANDOM, SHM, NR_FDS };

struct fd_rec {
	const char *name;
	int fd, flags, fdflags;
	off_t pos;	/* -1 for O_PATH fds: lseek fails on them */
	struct stat st;
};

static struct fd_rec fds[NR_FDS];
static char shm_path[96];
static char dent_seen[NR_DENTS + 2];	/* . and .. last */

static int open_rec(int idx, const char *path, int flags)
{
	struct fd_rec *r = &fds[idx];

	r->name = path;
	r->fd = open(path, flags, 0644);
	if (r->fd < 0)
		fail_errno("open %s", path);
	return r->fd;
}

static void record(int idx)
{
	struct fd_rec *r = &fds[idx];

	r->flags = fcntl(r->fd, F_GETFL);
	r->fdflags = fcntl(r->fd, F_GETFD);
	r->pos = lseek(r->fd, 0, SEEK_CUR);
	if (r->flags < 0 || r->fdflags < 0 || fstat(r->fd, &r->st))
		fail_errno("record %s", r->name);
}

static void check_recorded(int idx)
{
	struct fd_rec *r = &fds[idx];
	int fl = fcntl(r->fd, F_GETFL), fdfl = fcntl(r->fd, F_GETFD);
	off_t pos = lseek(r->fd, 0, SEEK_CUR);
	struct stat st;

	if (fl < 0 || fdfl < 0)
		fail_errno("fcntl %s (fd %d)", r->name, r->fd);
	if ((fl & FL_MASK) != (r->flags & FL_MASK))
		fail("%s (fd %d): flags %#o, expected %#o", r->name, r->fd,
		     fl & FL_MASK, r->flags & FL_MASK);
	if (fdfl != r->fdflags)
		fail("%s (fd %d): fd flags %#x, expected %#x", r->name, r->fd,
		     fdfl, r->fdflags);
	if (pos != r->pos)
		fail("%s (fd %d): position %ld, expected %ld", r->name, r->fd,
		     (long)pos, (long)r->pos);
	if (fstat(r->fd, &st))
		fail_errno("fstat %s", r->name);
	if (st.st_dev != r->st.st_dev || st.st_ino != r->st.st_ino ||
	    st.st_mode != r->st.st_mode || st.st_rdev != r->st.st_rdev ||
	    st.st_size != r->st.st_size)
		fail("%s (fd %d): a different file after restore", r->name, r->fd);
}

/* Mark each entry of one getdents64() result; return how many there were. */
static int take_dents(int fd, size_t bufsz)
{
	char buf[DENTS_BUF];
	long n = syscall(SYS_getdents64, fd, buf, bufsz);
	int nr = 0;

	if (n < 0)
		fail_errno("getdents64 %s", DENTS_DIR);
	for (long off = 0; off < n; nr++) {
		struct dirent64 *de = (struct dirent64 *)(buf + off);
		int i;

		if (!strcmp(de->d_name, "."))
			i = NR_DENTS;
		else if (!strcmp(de->d_name, ".."))
			i = NR_DENTS + 1;
		else if (sscanf(de->d_name, "entry_%d", &i) != 1 || i < 0 || i >= NR_DENTS)
			fail("%s: unexpected entry '%s'", DENTS_DIR, de->d_name);
		if (dent_seen[i]++)
			fail("%s: entry '%s' returned twice", DENTS_DIR, de->d_name);
		off += de->d_reclen;
	}
	return nr;
}

static void make_dents_dir(void)
{
	char name[64];

	if (mkdir(DENTS_DIR, 0755))
		fail_errno("mkdir %s", DENTS_DIR);
	for (int i = 0; i < NR_DENTS; i++) {
		snprintf(name, sizeof(name), "%s/entry_%02d", DENTS_DIR, i);
		if (close(open(name, O_WRONLY | O_CREAT | O_EXCL, 0644)))
			fail_errno("create %s", name);
	}
}

static void shm_unlink_file(void)
{
	unlink(shm_path);
}

static void check_tmpfs(int fd)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs))
		fail_errno("fstatfs %s", shm_path);
	if (sfs.f_type != TMPFS_MAGIC)
		fail("%s is not on tmpfs (f_type %#lx)", shm_path, (long)sfs.f_type);
}

static void check_devices(void)
{
	unsigned char buf[64];

	if (write(fds[DEV_NULL].fd, "x", 1) != 1)
		fail_errno("write /dev/null");
	memset(buf, 0xff, sizeof(buf));
	if (read(fds[DEV_ZERO].fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read /dev/zero");
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i])
			fail("/dev/zero returned non-zero");
	if (write(fds[DEV_FULL].fd, "x", 1) != -1 || errno != ENOSPC)
		fail("write to /dev/full did not fail with ENOSPC");
	memset(buf, 0xff, sizeof(buf));
	if (read(fds[DEV_FULL].fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read /dev/full");
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i])
			fail("/dev/full returned non-zero");
	if (read(fds[DEV_RANDOM].fd, buf, 16) != 16)
		fail_errno("read /dev/random");
	if (read(fds[DEV_URANDOM].fd, buf, 16) != 16)
		fail_errno("read /dev/urandom");
}

int main(int argc, char **argv)
{
	static char data[SHM_LEN];
	char c, cwd[PATH_MAX];
	int fd, nr;

	test_init(argc, argv);

	/* O_PATH fds of a file and of a directory. */
	fd = open(OPATH_FILE, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "opath", 5) != 5 || close(fd))
		fail_errno("create %s", OPATH_FILE);
	if (mkdir(OPATH_DIR, 0755) || close(open(OPATH_DIR "/" INNER, O_WRONLY | O_CREAT, 0644)))
		fail_errno("create %s", OPATH_DIR);
	open_rec(OPATH_F, OPATH_FILE, O_PATH);
	open_rec(OPATH_D, OPATH_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);

	/* A directory read halfway. */
	make_dents_dir();
	fd = open_rec(DENTS, DENTS_DIR, O_RDONLY | O_DIRECTORY);
	nr = take_dents(fd, DENTS_HALF);
	if (nr < 2 || nr > NR_DENTS)
		fail("%s: read %d entries first, not about half", DENTS_DIR, nr);
	test_msg("%s: %d of %d entries read before the checkpoint", DENTS_DIR, nr, NR_DENTS + 2);

	/* Devices, each with other flags. */
	open_rec(DEV_NULL, "/dev/null", O_WRONLY | O_APPEND);
	open_rec(DEV_ZERO, "/dev/zero", O_RDONLY | O_NONBLOCK);
	open_rec(DEV_FULL, "/dev/full", O_RDWR | O_CLOEXEC);
	open_rec(DEV_RANDOM, "/dev/random", O_RDONLY);
	open_rec(DEV_URANDOM, "/dev/urandom", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	/*
	 * A file on tmpfs, outside the work dir: removed at exit. Named after
	 * the work dir (/tmp/zdtm.XXXXXX), not the pid: in the ns flavor
	 * every test is pid 1, and /dev/shm is the host's.
	 */
	if (!getcwd(cwd, sizeof(cwd)))
		fail_errno("getcwd");
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/zdtm_opath_dir_dev.%.40s", strrchr(cwd, '/') + 1);
	fd = open_rec(SHM, shm_path, O_RDWR | O_CREAT | O_EXCL);
	atexit(shm_unlink_file);
	check_tmpfs(fd);
	pattern_fill(data, SHM_LEN, SHM_SEED);
	if (write(fd, data, SHM_LEN) != SHM_LEN)
		fail_errno("write %s", shm_path);
	if (lseek(fd, SHM_POS, SEEK_SET) != SHM_POS)
		fail_errno("lseek %s", shm_path);

	for (int i = 0; i < NR_FDS; i++)
		record(i);
	zdtm_check(fds[OPATH_F].flags & O_PATH);
	zdtm_check(fds[OPATH_D].flags & O_PATH);
	zdtm_check(S_ISREG(fds[OPATH_F].st.st_mode) && S_ISDIR(fds[OPATH_D].st.st_mode));

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR_FDS; i++)
		check_recorded(i);

	/* O_PATH: no I/O, but a usable reference to the file and the dir. */
	if (read(fds[OPATH_F].fd, &c, 1) != -1 || errno != EBADF)
		fail("%s: read through the O_PATH fd did not fail with EBADF", OPATH_FILE);
	fd = openat(fds[OPATH_D].fd, INNER, O_RDONLY);
	if (fd < 0)
		fail_errno("openat(%s fd, %s)", OPATH_DIR, INNER);
	close(fd);

	/* The rest of the directory, each entry once, none missed. */
	while (take_dents(fds[DENTS].fd, DENTS_BUF))
		;
	for (int i = 0; i < NR_DENTS + 2; i++)
		if (!dent_seen[i])
			fail("%s: entry %d never returned", DENTS_DIR, i);

	check_devices();

	fd = fds[SHM].fd;
	check_tmpfs(fd);
	if (pread(fd, data, SHM_LEN, 0) != SHM_LEN)
		fail_errno("pread %s", shm_path);
	if (pattern_check(data, SHM_LEN, SHM_SEED) >= 0)
		fail("%s: content differs", shm_path);
	/* A write at the position reaches the file of that name. */
	pattern_fill(data, 64, SHM_SEED2);
	if (write(fd, data, 64) != 64)
		fail_errno("write %s", shm_path);
	fd = open(shm_path, O_RDONLY);
	if (fd < 0 || pread(fd, data, 64, SHM_POS) != 64)
		fail_errno("reopen %s", shm_path);
	if (pattern_check(data, 64, SHM_SEED2) >= 0)
		fail("%s: a write after restore is not in the file", shm_path);
	close(fd);
	pass();
}
