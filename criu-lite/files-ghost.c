/*
 * Ghost files (see files-ghost.h): the attributes of what cr creates, and
 * the making of deleted directories, FIFOs, device nodes and symbolic
 * links. A node is made at its name (so /proc/PID/fd shows the same
 * "PATH (deleted)" after restore), given owner, mode and times while the
 * name leads to it, opened, and its name removed: the open fd is then
 * what the task had, a file without a name. A deleted directory comes
 * back empty (its entries were gone before it could be removed), and a
 * lookup in it fails with ENOENT as in the original.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "files-ghost.h"
#include "log.h"
#include "open-file.h"
#include "proc-parse.h"

/* Names tried next to a taken one: PATH.cr-ghost.N */
#define GHOST_TMP_SUFFIX	".cr-ghost."
#define GHOST_TMP_TRIES		100

bool ghost_has_deleted_suffix(const char *link)
{
	size_t ls = strlen(link), lx = strlen(DELETED_SUFFIX);

	return ls >= lx && !strcmp(link + ls - lx, DELETED_SUFFIX);
}

bool ghost_is_deleted(const char *link, const struct stat *st)
{
	return st->st_nlink == 0 && ghost_has_deleted_suffix(link);
}

/*
 * rdev is 32 bits in the images: the kernel's "new" dev_t encoding (12-bit
 * major, 20-bit minor) covers every device number Linux hands out.
 */
uint32_t file_rdev_encode(dev_t dev)
{
	unsigned maj = major(dev), min = minor(dev);

	return (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
}

dev_t file_rdev_decode(uint32_t v)
{
	return makedev((v & 0xfff00) >> 8, (v & 0xff) | ((v >> 12) & 0xfff00));
}

/*
 * readlink() set the atime of a link the dump must leave as it was (a
 * tree left running keeps it): put it back through the O_PATH fd (which
 * sets the ctime, as any change does). A warning only if that fails.
 */
static void restore_atime(int fd, const struct stat *st, const char *what)
{
	struct timespec ts[2] = { st->st_atim, { .tv_nsec = UTIME_OMIT } };
	struct stat now;

	if (fstat(fd, &now) == 0 && now.st_atim.tv_sec == st->st_atim.tv_sec &&
	    now.st_atim.tv_nsec == st->st_atim.tv_nsec)
		return;
	if (utimensat(fd, "", ts, AT_EMPTY_PATH) < 0)
		pr_warn("%s: putting back the atime that reading the link's target set: %s", what,
			strerror(errno));
}

int ghost_attrs_dump(const struct stat *st, int fd, const char *what, FileAttrs **ret)
{
	FileAttrs *a = xmalloc(sizeof(*a));

	if (!a)
		return -ENOMEM;
	file_attrs__init(a);
	a->mode = st->st_mode;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->atime_sec = st->st_atim.tv_sec;
	a->atime_nsec = st->st_atim.tv_nsec;
	a->mtime_sec = st->st_mtim.tv_sec;
	a->mtime_nsec = st->st_mtim.tv_nsec;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		a->has_rdev = true;
		a->rdev = file_rdev_encode(st->st_rdev);
	}
	if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX + 1];
		/* An O_PATH fd of the link: readlinkat() with an empty name reads it. */
		ssize_t n = readlinkat(fd, "", target, sizeof(target));

		if (n < 0 || n > PATH_MAX) {
			int err = pr_errno(n < 0 ? -errno : -ENAMETOOLONG, "%s: reading the target of the symbolic link",
					   what);

			ghost_attrs_free(a);
			return err;
		}
		target[n] = '\0';
		restore_atime(fd, st, what);
		a->target = xstrdup(target);
		if (!a->target) {
			ghost_attrs_free(a);
			return -ENOMEM;
		}
	}
	*ret = a;
	return 0;
}

void ghost_attrs_free(FileAttrs *a)
{
	if (!a)
		return;
	free(a->target);
	free(a);
}

int ghost_attrs_check(const FileAttrs *a, const char *what)
{
	switch (a->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFIFO:
		return 0;
	case S_IFCHR:
	case S_IFBLK:
		if (a->has_rdev)
			return 0;
		return pr_errno(-EBADMSG, "%s: a deleted device node without its device number", what);
	case S_IFLNK:
		if (a->target && a->target[0])
			return 0;
		return pr_errno(-EBADMSG, "%s: a deleted symbolic link without its target", what);
	default:
		return pr_errno(-EBADMSG, "%s: deleted, of a type cr does not make (mode 0%o)", what, a->mode);
	}
}

static void times_of(const FileAttrs *a, struct timespec ts[2])
{
	ts[0] = (struct timespec){ .tv_sec = a->atime_sec, .tv_nsec = a->atime_nsec };
	ts[1] = (struct timespec){ .tv_sec = a->mtime_sec, .tv_nsec = a->mtime_nsec };
}

/* chown first: it clears the set-id bits chmod sets. */
int ghost_attrs_apply_fd(int fd, const FileAttrs *a, const char *what)
{
	struct timespec ts[2];

	times_of(a, ts);
	if (fchown(fd, a->uid, a->gid) < 0)
		return pr_errno(-errno, "%s: chown %u:%u", what, a->uid, a->gid);
	if (fchmod(fd, a->mode & 07777) < 0)
		return pr_errno(-errno, "%s: chmod 0%o", what, a->mode & 07777);
	if (futimens(fd, ts) < 0)
		return pr_errno(-errno, "%s: setting its times", what);
	return 0;
}

int ghost_attrs_apply_path(const char *path, const FileAttrs *a, const char *what)
{
	struct timespec ts[2];

	times_of(a, ts);
	if (fchownat(AT_FDCWD, path, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno(-errno, "%s: chown %u:%u", what, a->uid, a->gid);
	/* A symbolic link's own mode is always 0777 (chmod would follow it). */
	if (!S_ISLNK(a->mode) && fchmodat(AT_FDCWD, path, a->mode & 07777, 0) < 0)
		return pr_errno(-errno, "%s: chmod 0%o", what, a->mode & 07777);
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno(-errno, "%s: setting its times", what);
	return 0;
}

/* Makes the node of @a at @at (cr's path): 0, -EEXIST when the name is taken, or -errno. */
static int make_node(const char *at, const FileAttrs *a)
{
	mode_t perm = a->mode & 07777;
	int ret;

	switch (a->mode & S_IFMT) {
	case S_IFDIR:
		ret = mkdir(at, perm);
		break;
	case S_IFIFO:
		ret = mkfifo(at, perm);
		break;
	case S_IFCHR:
	case S_IFBLK:
		ret = mknod(at, (a->mode & S_IFMT) | perm, file_rdev_decode(a->rdev));
		break;
	case S_IFLNK:
		ret = symlink(a->target, at);
		break;
	default:
		errno = EINVAL;
		ret = -1;
	}
	return ret < 0 ? -errno : 0;
}

static void remove_node(const char *at, const FileAttrs *a)
{
	(void)(S_ISDIR(a->mode) ? rmdir(at) : unlink(at));
}

/* Makes the node at @path or, taken, at a free PATH.cr-ghost.N; its cr path into @at. */
static int make_named(const char *path, const FileAttrs *a, char *at, const char *what)
{
	char name[PATH_MAX];
	int err;

	for (int i = 0; i <= GHOST_TMP_TRIES; i++) {
		const char *p;

		if (i == 0)
			snprintf(name, sizeof(name), "%s", path);
		else if (snprintf(name, sizeof(name), "%s%s%d", path, GHOST_TMP_SUFFIX, i) >= (int)sizeof(name))
			return pr_errno(-ENAMETOOLONG, "%s: a temporary name next to it is too long", what);
		p = rst_path(name, at);
		if (!p)
			return -ENAMETOOLONG;
		if (p != at)
			snprintf(at, RST_PATH_MAX, "%s", p);
		err = make_node(at, a);
		if (err != -EEXIST) {
			if (err)
				return pr_errno(err, "%s: making it again at %s", what, name);
			if (i)
				pr_warn("%s: a new file has that name; made again as %s (so /proc shows that name)",
					what, name);
			return 0;
		}
	}
	return pr_errno(-EEXIST, "%s: its name and %d temporary names next to it are taken", what, GHOST_TMP_TRIES);
}

int ghost_node_open(const char *path, const FileAttrs *a, int oflags, const char *what)
{
	char at[RST_PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	int err;

	err = ghost_attrs_check(a, what);
	if (!err)
		err = make_named(path, a, at, what);
	if (err)
		return err;
	err = ghost_attrs_apply_path(at, a, what);
	if (!err)
		err = cr_fail_point("ghost-node");
	if (!err) {
		struct stat st;

		/* No O_NOFOLLOW of cr's own: it would show in the flags. The type is checked instead. */
		fd = open(at, oflags | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			err = pr_errno(-errno, "%s: opening it (flags 0%o)", what, oflags);
		else if (fstat(fd, &st) < 0)
			err = pr_errno(-errno, "%s: fstat", what);
		else if ((st.st_mode & S_IFMT) != (a->mode & S_IFMT))
			err = pr_errno(-ESTALE, "%s: what cr opened at %s is not what it made there", what, at);
	}
	if (!err && (S_ISDIR(a->mode) ? rmdir(at) : unlink(at)) < 0)
		err = pr_errno(-errno, "%s: removing its name again", what);
	else if (err)
		remove_node(at, a);
	return err ? err : TAKE_FD(fd);
}

int ghost_dir_left(pid_t pid, const char *path)
{
	char dir[PATH_MAX], seen[PATH_MAX + 64];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash)
		return -ENOENT;
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (proc_mnt_path(pid, dir, seen, sizeof(seen)))
		return -ENAMETOOLONG;
	if (stat(seen, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
