/* Opening cr's own files without following, blocking on or truncating someone else's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "open-file.h"

const char *file_kind_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return "a regular file";
	case S_IFDIR:	return "a directory";
	case S_IFLNK:	return "a symbolic link";
	case S_IFIFO:	return "a FIFO";
	case S_IFSOCK:	return "a socket";
	case S_IFCHR:	return "a character device";
	case S_IFBLK:	return "a block device";
	}
	return "of an unknown kind";
}

static int refuse_kind(const char *name, mode_t mode)
{
	pr_err("%s: is %s, not a regular file", name, file_kind_name(mode));
	return -EINVAL;
}

/*
 * open() of @name with O_NOFOLLOW | O_NONBLOCK; an existing file that is
 * not regular is refused by its kind, whether open() failed on it (a
 * link, a FIFO without a reader) or not. Returns the fd (still
 * O_NONBLOCK) and fills *st, or -errno after logging.
 */
static int open_checked(int dfd, const char *name, int flags, struct stat *st)
{
	_cleanup_close_ int fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	int err = -errno;

	if (fd < 0) {
		if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st->st_mode))
			return refuse_kind(name, st->st_mode);
		if (err == -ENOENT && !(flags & O_CREAT))
			pr_err("%s: missing (%s)", name, strerror(-err));
		else
			pr_err("%s: cannot %s (%s)", name, flags & O_CREAT ? "create" : "open", strerror(-err));
		return err;
	}
	if (fstat(fd, st) < 0)
		return pr_errno(-errno, "%s: cannot stat", name);
	if (!S_ISREG(st->st_mode))
		return refuse_kind(name, st->st_mode);
	return TAKE_FD(fd);
}

/* Blocking I/O from here on: the file is regular. */
static int clear_nonblock(int fd, const char *name)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return pr_errno(-errno, "%s: fcntl", name);
	return 0;
}

int open_regular(int dfd, const char *name, struct stat *ret_st)
{
	_cleanup_close_ int fd = open_checked(dfd, name, O_RDONLY, ret_st);
	int err;

	if (fd < 0)
		return fd;
	err = clear_nonblock(fd, name);
	return err ? err : TAKE_FD(fd);
}

int open_own_file(int dfd, const char *name, int flags)
{
	struct stat st;
	_cleanup_close_ int fd = open_checked(dfd, name, O_WRONLY | O_CREAT | flags, &st);
	int err;

	if (fd < 0)
		return fd;
	if (st.st_uid != geteuid()) {
		pr_err("%s: is owned by uid %u, not by cr's %u: not written over",
		       name, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_nlink != 1) {
		pr_err("%s: has %lu links, so it is also another file: not written over",
		       name, (unsigned long)st.st_nlink);
		return -EPERM;
	}
	if (ftruncate(fd, 0) < 0)
		return pr_errno(-errno, "%s: cannot truncate", name);
	err = clear_nonblock(fd, name);
	return err ? err : TAKE_FD(fd);
}

int open_dir_stream(int dfd, const char *dir, DIR **ret)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3), err;

	if (fd < 0)
		return pr_errno(-errno, "%s: cannot duplicate the directory fd", dir);
	*ret = fdopendir(fd);
	if (*ret) {
		rewinddir(*ret);
		return 0;
	}
	err = -errno;
	close(fd);
	pr_err("%s: cannot list the directory (%s)", dir, strerror(-err));
	return err;
}

int log_open_file(const char *path)
{
	int fd = open_own_file(AT_FDCWD, path, O_APPEND);

	if (fd < 0)
		return fd;
	log_set_file(fd);
	return 0;
}

static char rst_root[64];
static struct {
	pid_t holder;
	struct rst_mount *e;
	unsigned nr;
} rst_mnts;

pid_t rst_holder(void)
{
	return rst_mnts.holder;
}

int rst_mounts_set(pid_t holder, const struct rst_mount *e, unsigned nr)
{
	free(rst_mnts.e);
	rst_mnts.e = NULL;
	rst_mnts.nr = 0;
	rst_mnts.holder = holder;
	if (!nr)
		return 0;
	rst_mnts.e = xmalloc(nr * sizeof(*e));
	if (!rst_mnts.e)
		return -ENOMEM;
	memcpy(rst_mnts.e, e, nr * sizeof(*e));
	rst_mnts.nr = nr;
	return 0;
}

/* @prefix is "" or a leading run of whole components of @rel; its length, or -1. */
static int prefix_len(const char *prefix, const char *rel)
{
	size_t n = strlen(prefix);

	if (!n)
		return 0;
	return !strncmp(rel, prefix, n) && (rel[n] == '/' || !rel[n]) ? (int)n : -1;
}

const char *rst_mnt_path(uint32_t mnt_id, const char *rel, char *buf)
{
	const struct rst_mount *best = NULL;
	int blen = -1, n;

	for (unsigned i = 0; i < rst_mnts.nr; i++) {
		const struct rst_mount *e = &rst_mnts.e[i];
		int l = e->mnt_id == mnt_id ? prefix_len(e->prefix, rel) : -1;

		if (l > blen) {
			best = e;
			blen = l;
		}
	}
	if (!best) {
		pr_err("mount %u (from mountpoints.img) was not made: a file hidden under another mount cannot be opened",
		       mnt_id);
		errno = ENOENT;
		return NULL;
	}
	rel += blen;
	n = snprintf(buf, RST_PATH_MAX, "/proc/%d/fd/%d%s%s", rst_mnts.holder, best->fd, *rel == '/' || !*rel ? "" : "/",
		     rel);
	if (n < 0 || n >= RST_PATH_MAX) {
		pr_err("mount %u: path %s too long", mnt_id, rel);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

void rst_root_set(const char *prefix)
{
	snprintf(rst_root, sizeof(rst_root), "%s", prefix ? prefix : "");
}

const char *rst_path(const char *path, char *buf)
{
	int n;

	/* cr's own fds reopened through its /proc are cr's, not the tree's files. */
	if (!rst_root[0] || path[0] != '/' || !strncmp(path, "/proc/self/", 11))
		return path;
	n = snprintf(buf, RST_PATH_MAX, "%s%s", rst_root, path);
	if (n < 0 || n >= RST_PATH_MAX) {
		pr_err("%s%s: path too long", rst_root, path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

int rst_open(const char *path, int flags, ...)
{
	char buf[RST_PATH_MAX];
	const char *p = rst_path(path, buf);
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return p ? open(p, flags, mode) : -1;
}

int rst_stat(const char *path, struct stat *st)
{
	char buf[RST_PATH_MAX];
	const char *p = rst_path(path, buf);

	return p ? stat(p, st) : -1;
}
