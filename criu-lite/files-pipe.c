/*
 * Pipes and FIFOs, with their capacity and the bytes in flight.
 *
 * Dump reads the bytes without consuming them: tee() from a read end of
 * the pipe into a pipe of cr's duplicates the buffers, and cr reads its
 * copy. The task's pipe is left as it was (--leave-running keeps its data).
 *
 * One pipe is one inode, whatever the number of its open file
 * descriptions: the first description dumped (the lowest id of the inode)
 * carries the capacity and the data, the others name it. Restore creates
 * the pipe once, with pipe2() or by the FIFO's path, fills it, and opens
 * the other descriptions of it through /proc/self/fd: a new open of a
 * pipe's inode is another description of the same pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-ghost.h"
#include "files-kind.h"
#include "log.h"
#include "open-file.h"

#define PIPE_PREFIX	"pipe:"

static bool pipe_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && !strncmp(d->link, PIPE_PREFIX, strlen(PIPE_PREFIX));
}

static bool fifo_match(const struct fd_dump *d)
{
	return S_ISFIFO(d->st.st_mode) && d->link[0] == '/';
}

/* ---- dump ---------------------------------------------------------------- */

/* A read end of @d's pipe: cr_fd itself, or a new one opened through it. */
static int read_end(const struct fd_dump *d)
{
	char p[64];
	int fd;

	if ((d->fdi.flags & O_ACCMODE) != O_WRONLY)
		return fcntl(d->cr_fd, F_DUPFD_CLOEXEC, 0);
	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", d->cr_fd);
	fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Copies the @len bytes queued in the pipe of @rd into @buf, leaving them
 * queued: tee() into a pipe of cr's as large as the task's, then read.
 */
static int peek_pipe(const struct fd_dump *d, int rd, unsigned size, void *buf, size_t len)
{
	_cleanup_close_ int p0 = -EBADF, p1 = -EBADF;
	size_t done = 0;
	ssize_t n;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): pipe2 for a copy of its data",
				d->pid, d->fd, d->link);
	p0 = p[0];
	p1 = p[1];
	if ((unsigned)fcntl(p1, F_GETPIPE_SZ) < size && fcntl(p1, F_SETPIPE_SZ, size) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): sizing cr's pipe to %u bytes for a copy of its data",
				d->pid, d->fd, d->link, size);
	/* One tee() only: a second one would start from the head again. */
	n = tee(rd, p1, len, SPLICE_F_NONBLOCK);
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): tee of the %zu bytes in the pipe",
				d->pid, d->fd, d->link, len);
	if ((size_t)n != len)
		return pr_errno(-EAGAIN, "pid %d: fd %d (%s): tee copied %zd of the %zu bytes in the pipe",
				d->pid, d->fd, d->link, n, len);
	while (done < len) {
		n = read(p0, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno(n < 0 ? -errno : -EIO, "pid %d: fd %d (%s): reading cr's copy of its data",
					d->pid, d->fd, d->link);
		done += n;
	}
	return 0;
}

/* The pipe's capacity and data, once per pipe. */
static int dump_pipe_data(struct fd_dump *d, PipeEntry *pe)
{
	_cleanup_close_ int rd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	int size, len, err;

	size = fcntl(d->cr_fd, F_GETPIPE_SZ);
	if (size < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): F_GETPIPE_SZ", d->pid, d->fd, d->link);
	pe->has_size = true;
	pe->size = size;

	rd = read_end(d);
	if (rd < 0)
		return pr_errno(rd, "pid %d: fd %d (%s): opening a read end to save its data",
				d->pid, d->fd, d->link);
	if (ioctl(rd, FIONREAD, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): FIONREAD", d->pid, d->fd, d->link);
	if (!len)
		return 0;
	buf = xmalloc(len);
	if (!buf)
		return -ENOMEM;
	err = peek_pipe(d, rd, size, buf, len);
	if (err)
		return err;
	pe->data = xmalloc(sizeof(*pe->data));
	if (!pe->data)
		return -ENOMEM;
	err = fdata_append(d->df, buf, len, pe->data);
	if (!err)
		pr_debug("pid %d: fd %d (%s): %d bytes in flight saved", d->pid, d->fd, d->link, len);
	return err;
}

/* A FIFO's path, or the name it had and its attributes if it was deleted (recreated at restore). */
static int fifo_dump_path(const struct fd_dump *d, PipeEntry *pe)
{
	char what[64], seen[PATH_MAX + 32];
	struct stat st;

	pe->path = xstrdup(d->link);
	if (!pe->path)
		return -ENOMEM;
	if (ghost_is_deleted(d->link, &d->st)) {
		pe->path[strlen(pe->path) - strlen(DELETED_SUFFIX)] = '\0';
		if (ghost_dir_left(d->pid, pe->path))
			return files_refuse(d, "a deleted FIFO", "its directory was deleted too (or replaced)");
		snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, d->fd);
		return ghost_attrs_dump(&d->st, d->cr_fd, what, &pe->deleted);
	}
	/* The name from the root of the task's mount namespace (a chroot is below it). */
	if (proc_mnt_path(d->pid, d->link, seen, sizeof(seen)))
		return -ENAMETOOLONG;
	if (stat(seen, &st) < 0 || st.st_dev != d->st.st_dev || st.st_ino != d->st.st_ino)
		return files_refuse(d, "a FIFO", "its path no longer names it (renamed or replaced?)");
	return 0;
}

static int pipe_dump(struct fd_dump *d, FileEntry *fe)
{
	PipeEntry *pe = xmalloc(sizeof(*pe));
	bool fifo = fe->kind == FILE_KIND__FILE_FIFO;
	uint32_t first;
	int err;

	if (!pe)
		return -ENOMEM;
	pipe_entry__init(pe);
	fe->pipe = pe;
	pe->ino = d->st.st_ino;
	if (d->fdi.flags & O_DIRECT)
		return files_refuse(d, fifo ? "a FIFO" : "a pipe",
				    "packet mode (O_DIRECT) is not supported");
	if (fifo) {
		err = fifo_dump_path(d, pe);
		if (err)
			return err;
	}
	err = files_dump_find(d->df, d->st.st_dev, d->st.st_ino, NULL, NULL, &first);
	if (err)
		return pr_errno(err, "pid %d: fd %d (%s): finding the pipe's first description",
				d->pid, d->fd, d->link);
	if (first != fe->id) {
		pe->has_same_as = true;
		pe->same_as = first;
		return 0;
	}
	return dump_pipe_data(d, pe);
}

static void pipe_free_entry(FileEntry *fe)
{
	PipeEntry *pe = fe->pipe;

	if (!pe)
		return;
	free(pe->data);
	free(pe->path);
	ghost_attrs_free(pe->deleted);
	free(pe);
	fe->pipe = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static const char *pipe_what(const FileEntry *fe, char *buf, size_t len)
{
	if (fe->pipe->path)
		snprintf(buf, len, "FIFO %s", fe->pipe->path);
	else
		snprintf(buf, len, "pipe:[%llu] (file id %u)", (unsigned long long)fe->pipe->ino, fe->id);
	return buf;
}

static int pipe_check(struct files_rst *rf, const FileEntry *fe)
{
	const PipeEntry *pe = fe->pipe;
	bool fifo = fe->kind == FILE_KIND__FILE_FIFO;
	struct stat st;

	if (!pe || fifo != !!pe->path)
		return pr_errno(-EBADMSG, "files.img: file id %u: no valid pipe record", fe->id);
	if (pe->has_same_as) {
		const FileEntry *o = files_rst_entry(rf, pe->same_as);

		if (!o || o->kind != fe->kind || !o->pipe || o->pipe->has_same_as)
			return pr_errno(-EBADMSG, "files.img: file id %u refers to file id %u, which is not the first description of a %s",
					fe->id, pe->same_as, fifo ? "FIFO" : "pipe");
	} else if (!pe->has_size) {
		return pr_errno(-EBADMSG, "files.img: file id %u: pipe without its capacity", fe->id);
	}
	if (!fifo)
		return 0;
	if (pe->deleted) {
		if (!S_ISFIFO(pe->deleted->mode))
			return pr_errno(-EBADMSG, "files.img: file id %u: deleted FIFO %s whose attributes are not a FIFO's",
					fe->id, pe->path);
		return ghost_attrs_check(pe->deleted, pe->path);
	}
	if (rst_stat(pe->path, &st) < 0)
		return pr_errno(-errno, "FIFO %s (open at dump) can't be found", pe->path);
	if (!S_ISFIFO(st.st_mode))
		return pr_errno(-ESTALE, "FIFO %s is not a FIFO any more (mode 0%o)", pe->path,
				(unsigned)st.st_mode);
	return 0;
}

/*
 * Opens the pipe at @path (a FIFO or /proc/self/fd/N) with access mode
 * @acc. The first open is O_RDWR, which never waits for a partner; the
 * wanted mode is opened through it, so a reader or writer exists.
 */
static int open_pipe_mode(const char *path, int acc, const char *what)
{
	_cleanup_close_ int rw = -EBADF;
	char p[64];
	int fd;

	rw = rst_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (rw < 0)
		return pr_errno(-errno, "%s: opening %s", what, path);
	if (acc == O_RDWR)
		return TAKE_FD(rw);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", rw);
	fd = open(p, acc | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening it %s", what, acc == O_RDONLY ? "for reading" : "for writing");
	return fd;
}

/*
 * The bytes of a FIFO go through a pipe of cr's and splice(): a write()
 * to a FIFO sets the mtime and ctime of its file, which exists and is
 * not cr's to touch; splice() from pipe to pipe leaves them.
 */
static int refill_fifo(struct files_rst *rf, const PipeEntry *pe, int wr, const char *what)
{
	_cleanup_close_ int t0 = -EBADF, t1 = -EBADF;
	uint64_t done = 0;
	int t[2], err;

	if (pipe2(t, O_CLOEXEC | O_NONBLOCK) < 0)
		return pr_errno(-errno, "%s: pipe2 for its bytes", what);
	t0 = t[0];
	t1 = t[1];
	if ((unsigned)fcntl(t1, F_GETPIPE_SZ) < pe->size && fcntl(t1, F_SETPIPE_SZ, pe->size) < 0)
		return pr_errno(-errno, "%s: sizing cr's pipe to %u bytes for its bytes", what, pe->size);
	err = fdata_copy_to_fd(rf, pe->data, t1);
	if (err)
		return pr_errno(err, "%s: reading its %llu bytes", what, (unsigned long long)pe->data->len);
	while (done < pe->data->len) {
		ssize_t n = splice(t0, NULL, wr, NULL, pe->data->len - done, SPLICE_F_NONBLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno(n < 0 ? -errno : -EIO, "%s: splice of its bytes into it", what);
		done += n;
	}
	return 0;
}

/* Capacity, then the bytes: the pipe must hold them all without a reader. */
static int fill_pipe(struct files_rst *rf, const PipeEntry *pe, int wr, const char *what)
{
	int cur = fcntl(wr, F_GETPIPE_SZ), err;

	if (cur < 0)
		return pr_errno(-errno, "%s: F_GETPIPE_SZ", what);
	if ((unsigned)cur != pe->size && fcntl(wr, F_SETPIPE_SZ, pe->size) < 0)
		return pr_errno(-errno, "%s: setting its capacity to %u bytes", what, pe->size);
	if (!pe->data)
		return 0;
	if (pe->data->len > pe->size)
		return pr_errno(-EBADMSG, "%s: %llu bytes of data for a capacity of %u", what,
				(unsigned long long)pe->data->len, pe->size);
	if (pe->path)
		return refill_fifo(rf, pe, wr, what);
	err = fdata_copy_to_fd(rf, pe->data, wr);
	if (err)
		return pr_errno(err, "%s: refilling its %llu bytes", what, (unsigned long long)pe->data->len);
	return 0;
}

static int pipe_open(struct files_rst *rf, const FileEntry *fe)
{
	const PipeEntry *pe = fe->pipe;
	int acc = fe->flags & O_ACCMODE;
	_cleanup_close_ int rd = -EBADF, wr = -EBADF;
	char what[PATH_MAX + 32], p[64];
	int err;

	pipe_what(fe, what, sizeof(what));
	if (pe->has_same_as) {
		int first = files_rst_get(rf, pe->same_as);

		if (first < 0)
			return first;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", first);
		return open_pipe_mode(p, acc, what);
	}

	if (pe->path) {
		/* O_RDWR never waits for a partner; O_NONBLOCK: a refill that does not fit fails. */
		wr = pe->deleted ? ghost_node_open(pe->path, pe->deleted, O_RDWR | O_NONBLOCK, what)
				 : open_pipe_mode(pe->path, O_RDWR, what);
		if (wr < 0)
			return wr;
		err = fill_pipe(rf, pe, wr, what);
		if (err)
			return err;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", wr);
		return acc == O_RDWR ? TAKE_FD(wr) : open_pipe_mode(p, acc, what);
	}

	/* O_NONBLOCK: a refill that does not fit fails instead of hanging. */
	{
		int pp[2];

		if (pipe2(pp, O_CLOEXEC | O_NONBLOCK) < 0)
			return pr_errno(-errno, "%s: pipe2", what);
		rd = pp[0];
		wr = pp[1];
	}
	err = fill_pipe(rf, pe, wr, what);
	if (err)
		return err;
	if (acc == O_RDONLY)
		return TAKE_FD(rd);
	if (acc == O_WRONLY)
		return TAKE_FD(wr);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", rd);
	return open_pipe_mode(p, O_RDWR, what);
}

/* --inherit-fd keys, as criu names them: "pipe:[INODE]"; a FIFO by its path. */
static const char *pipe_key(const FileEntry *fe, char *buf, size_t size)
{
	if (!fe->pipe)
		return NULL;
	if (fe->pipe->path)
		return fe->pipe->path;
	snprintf(buf, size, "pipe:[%llu]", (unsigned long long)fe->pipe->ino);
	return buf;
}

const struct fd_kind fd_kind_pipe = {
	.kind = FILE_KIND__FILE_PIPE, .name = "pipe",
	.match = pipe_match, .dump = pipe_dump, .free_entry = pipe_free_entry,
	.check = pipe_check, .open = pipe_open, .key = pipe_key,
};

const struct fd_kind fd_kind_fifo = {
	.kind = FILE_KIND__FILE_FIFO, .name = "FIFO",
	.match = fifo_match, .dump = pipe_dump, .free_entry = pipe_free_entry,
	.check = pipe_check, .open = pipe_open, .key = pipe_key,
};
