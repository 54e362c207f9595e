/*
 * Open files survive with their numbers, positions, flags and contents:
 * regular files opened O_RDONLY/O_WRONLY/O_RDWR/O_APPEND, FD_CLOEXEC, a
 * dup()ed fd sharing its file description, a directory, /dev/null,
 * /dev/zero, /dev/urandom, and a high fd number. No fd appears or
 * disappears across the checkpoint.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define HIGH_FD		100
#define DATA_LEN	10000
/* Status flags we set and expect back; the kernel adds others. */
#define FL_MASK		(O_ACCMODE | O_APPEND | O_NONBLOCK)

enum { F_RDWR, F_APPEND, F_RDONLY, F_WRONLY, F_DUP, F_DIR, F_NULL, F_ZERO,
       F_URANDOM, F_HIGH, NR_FILES };

struct file {
	const char *name;
	int fd, flags, fdflags;
	off_t pos;
	struct stat st;
};

static struct file files[NR_FILES];

static unsigned char data_byte(long i)
{
	return (unsigned char)(i * 131 + 17);
}

static int open_at(const char *path, int flags, int want_fd)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		fail_errno("open %s", path);
	if (want_fd >= 0 && fd != want_fd) {
		if (dup2(fd, want_fd) != want_fd)
			fail_errno("dup2 %d", want_fd);
		close(fd);
		fd = want_fd;
	}
	return fd;
}

static void write_data(int fd, long len)
{
	unsigned char buf[DATA_LEN];

	for (long i = 0; i < len; i++)
		buf[i] = data_byte(i);
	if (write(fd, buf, len) != len)
		fail_errno("write");
}

static void record(int idx, const char *name, int fd)
{
	struct file *f = &files[idx];

	f->name = name;
	f->fd = fd;
	f->flags = fcntl(fd, F_GETFL);
	f->fdflags = fcntl(fd, F_GETFD);
	f->pos = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &f->st))
		fail_errno("fstat %s", name);
}

int main(int argc, char **argv)
{
	unsigned char set_before[1024], set_after[1024], buf[64];
	int fd;

	test_init(argc, argv);

	fd = open_at("zdtm_files_rdwr", O_RDWR | O_CREAT | O_TRUNC, -1);
	write_data(fd, DATA_LEN);
	lseek(fd, 1234, SEEK_SET);
	record(F_RDWR, "rdwr", fd);

	fd = open_at("zdtm_files_append", O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, -1);
	write_data(fd, 100);
	record(F_APPEND, "append", fd);

	fd = open_at("zdtm_files_rdwr", O_RDONLY | O_NONBLOCK, -1);
	lseek(fd, 777, SEEK_SET);
	record(F_RDONLY, "rdonly", fd);

	fd = open_at("zdtm_files_wronly", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, -1);
	write_data(fd, 50);
	record(F_WRONLY, "wronly", fd);

	fd = dup(files[F_RDWR].fd);
	if (fd < 0)
		fail_errno("dup");
	record(F_DUP, "dup of rdwr", fd);

	record(F_DIR, "dir", open_at(".", O_RDONLY | O_DIRECTORY, -1));
	record(F_NULL, "/dev/null", open_at("/dev/null", O_RDWR, -1));
	record(F_ZERO, "/dev/zero", open_at("/dev/zero", O_RDONLY, -1));
	record(F_URANDOM, "/dev/urandom", open_at("/dev/urandom", O_RDONLY | O_CLOEXEC, -1));
	fd = open_at("zdtm_files_rdwr", O_RDONLY, HIGH_FD);
	lseek(fd, 4321, SEEK_SET);
	record(F_HIGH, "high fd", fd);

	fd_set_of(set_before, sizeof(set_before));

	test_ready();
	test_wait_checkpoint();

	fd_set_of(set_after, sizeof(set_after));
	for (int i = 0; i < (int)sizeof(set_before); i++)
		if (set_before[i] != set_after[i])
			fail("fd %d %s across the checkpoint", i,
			     set_before[i] ? "disappeared" : "appeared");

	for (int i = 0; i < NR_FILES; i++) {
		struct file *f = &files[i];
		struct stat st;
		int fl = fcntl(f->fd, F_GETFL), fdfl = fcntl(f->fd, F_GETFD);

		if (fl < 0 || fdfl < 0)
			fail_errno("fcntl %s (fd %d)", f->name, f->fd);
		if ((fl & FL_MASK) != (f->flags & FL_MASK))
			fail("%s (fd %d): flags %#o, expected %#o", f->name, f->fd,
			     fl & FL_MASK, f->flags & FL_MASK);
		if (fdfl != f->fdflags)
			fail("%s (fd %d): fd flags %#x, expected %#x", f->name, f->fd,
			     fdfl, f->fdflags);
		if (lseek(f->fd, 0, SEEK_CUR) != f->pos)
			fail("%s (fd %d): position %ld, expected %ld", f->name, f->fd,
			     (long)lseek(f->fd, 0, SEEK_CUR), (long)f->pos);
		if (fstat(f->fd, &st))
			fail_errno("fstat %s", f->name);
		if (st.st_dev != f->st.st_dev || st.st_ino != f->st.st_ino ||
		    (st.st_mode & S_IFMT) != (f->st.st_mode & S_IFMT) ||
		    st.st_rdev != f->st.st_rdev)
			fail("%s (fd %d): a different file after restore", f->name, f->fd);
	}

	/* Contents, and the description shared with the dup()ed fd. */
	if (read(files[F_RDWR].fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read rdwr");
	for (int i = 0; i < (int)sizeof(buf); i++)
		if (buf[i] != data_byte(1234 + i))
			fail("rdwr: byte %d differs", 1234 + i);
	if (lseek(files[F_DUP].fd, 0, SEEK_CUR) != 1234 + (off_t)sizeof(buf))
		fail("dup()ed fd no longer shares its position with the original");
	if (read(files[F_HIGH].fd, buf, 1) != 1 || buf[0] != data_byte(4321))
		fail("high fd: wrong data");

	/* O_APPEND still appends even after moving the position. */
	lseek(files[F_APPEND].fd, 0, SEEK_SET);
	write_data(files[F_APPEND].fd, 10);
	if (lseek(files[F_APPEND].fd, 0, SEEK_CUR) != 110)
		fail("append fd: position %ld after write, expected 110",
		     (long)lseek(files[F_APPEND].fd, 0, SEEK_CUR));

	if (write(files[F_WRONLY].fd, "x", 1) != 1)
		fail_errno("write wronly");
	if (read(files[F_NULL].fd, buf, 1) != 0 || write(files[F_NULL].fd, "x", 1) != 1)
		fail("/dev/null misbehaves");
	memset(buf, 0xff, sizeof(buf));
	if (read(files[F_ZERO].fd, buf, sizeof(buf)) != sizeof(buf))
		fail_errno("read /dev/zero");
	for (int i = 0; i < (int)sizeof(buf); i++)
		if (buf[i])
			fail("/dev/zero returned non-zero");
	if (read(files[F_URANDOM].fd, buf, 16) != 16)
		fail_errno("read /dev/urandom");
	if (!S_ISDIR(files[F_DIR].st.st_mode) || fchdir(files[F_DIR].fd))
		fail_errno("fchdir to the directory fd");
	pass();
}
