/*
 * A tmpfs's contents: directories, regular files (bytes in fdata.img,
 * CRC-checked), symbolic links, device nodes and FIFOs, with mode, owner
 * and times; a file with several names is saved once and linked again.
 * Sockets are left out: a bound socket's file is made by whoever binds
 * it (the unix socket kind).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "mnt-priv.h"
#include "namespaces.h"

bool mnt_path_ok(const char *path)
{
	const char *p = path;

	if (!*p)
		return true;
	if (*p == '/')
		return false;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (!len || (len == 2 && !strncmp(p, "..", 2)) || (len == 1 && *p == '.'))
			return false;
		p += len;
		if (*p && !*++p)
			return false;	/* trailing slash */
	}
	return true;
}

/* ==== dump ============================================================== */

struct walk {
	struct files_dump *df;
	MountEntry *me;
	int rootfd;
	size_t cap;
	dev_t dev;		/* the tmpfs's: another is a mount over a directory of a recursive clone */
};

static MntFile *walk_add(struct walk *w, const char *path, const struct stat *st)
{
	MountEntry *me = w->me;
	MntFile *f;

	if (me->n_files == w->cap) {
		MntFile **n = xrealloc(me->files, (w->cap = w->cap ? 2 * w->cap : 64) * sizeof(*n));

		if (!n)
			return NULL;
		me->files = n;
	}
	f = xzalloc(sizeof(*f));
	if (!f)
		return NULL;
	mnt_file__init(f);
	f->path = xstrdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->mode = st->st_mode;
	f->uid = st->st_uid;
	f->gid = st->st_gid;
	f->atime_sec = st->st_atim.tv_sec;
	f->atime_nsec = st->st_atim.tv_nsec;
	f->mtime_sec = st->st_mtim.tv_sec;
	f->mtime_nsec = st->st_mtim.tv_nsec;
	me->files[me->n_files++] = f;
	return f;
}

/* An earlier name of the same inode (a hard link), or 0. */
static unsigned walk_link_of(const struct walk *w, const struct stat *st, ino_t *inos)
{
	for (size_t i = 0; i + 1 < w->me->n_files; i++)
		if (inos[i] == st->st_ino && !S_ISDIR(w->me->files[i]->mode))
			return i + 1;
	return 0;
}

static int walk_one(struct walk *w, const char *path, ino_t **inos);

static int walk_dir(struct walk *w, const char *path, ino_t **inos)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(w->rootfd, *path ? path : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return pr_errno(-errno, "tmpfs at %s: opening %s", w->me->mountpoint, path);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return pr_errno(-errno, "tmpfs at %s: reading %s", w->me->mountpoint, path);
	}
	while ((errno = 0, de = readdir(d))) {
		char sub[PATH_MAX];
		int err;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "", de->d_name) >= sizeof(sub))
			return pr_errno(-ENAMETOOLONG, "tmpfs at %s: %s/%s", w->me->mountpoint, path, de->d_name);
		err = walk_one(w, sub, inos);
		if (err)
			return err;
	}
	if (errno)
		return pr_errno(-errno, "tmpfs at %s: reading %s", w->me->mountpoint, path);
	return 0;
}

static int walk_one(struct walk *w, const char *path, ino_t **inos)
{
	const char *mp = w->me->mountpoint;
	struct stat st;
	MntFile *f;
	ino_t *n;

	if (fstatat(w->rootfd, *path ? path : ".", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno(-errno, "tmpfs at %s: stat %s", mp, path);
	if (S_ISSOCK(st.st_mode)) {
		pr_info("tmpfs at %s: socket %s left to its owner", mp, path);
		return 0;
	}
	if (!*path)
		w->dev = st.st_dev;
	/*
	 * A mount over a directory: the clone is recursive (its mounts are
	 * locked to it, in a mount namespace of another user namespace). What
	 * it hides the tree cannot see either: the directory, empty.
	 */
	if (*path && st.st_dev != w->dev) {
		if (!S_ISDIR(st.st_mode))
			return pr_errno(-EOPNOTSUPP, "tmpfs at %s: %s has a mount over it", mp, path);
		pr_info("tmpfs at %s: %s has a mount over it, kept as an empty directory", mp, path);
		f = walk_add(w, path, &st);
		n = f ? xrealloc(*inos, w->cap * sizeof(**inos)) : NULL;
		if (!n)
			return -ENOMEM;
		*inos = n;
		n[w->me->n_files - 1] = st.st_ino;
		return 0;
	}
	f = walk_add(w, path, &st);
	n = f ? xrealloc(*inos, w->cap * sizeof(**inos)) : NULL;
	if (!n)
		return -ENOMEM;
	*inos = n;
	n[w->me->n_files - 1] = st.st_ino;

	if (S_ISDIR(st.st_mode))
		return walk_dir(w, path, inos);
	if (st.st_nlink > 1 && (f->link_to = walk_link_of(w, &st, *inos))) {
		f->has_link_to = true;
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t len = readlinkat(w->rootfd, path, target, sizeof(target) - 1);

		if (len < 0)
			return pr_errno(-errno, "tmpfs at %s: readlink %s", mp, path);
		target[len] = 0;
		f->target = xstrdup(target);
		return f->target ? 0 : -ENOMEM;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
		f->has_rdev = true;
		f->rdev = st.st_rdev;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int fd = openat(w->rootfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			return pr_errno(-errno, "tmpfs at %s: opening %s", mp, path);
		f->data = xmalloc(sizeof(*f->data));
		if (!f->data)
			return -ENOMEM;
		return fdata_append_fd(w->df, fd, 0, st.st_size, f->data);
	}
	return 0;	/* a FIFO: its name and attributes are all */
}

int mnt_tmpfs_dump(struct files_dump *df, int rootfd, MountEntry *me)
{
	struct walk w = { .df = df, .me = me, .rootfd = rootfd };
	_cleanup_free_ ino_t *inos = NULL;

	return walk_one(&w, "", &inos);
}

void mnt_tmpfs_free(MountEntry *me)
{
	for (size_t i = 0; i < me->n_files; i++) {
		free(me->files[i]->path);
		free(me->files[i]->target);
		free(me->files[i]->data);
		free(me->files[i]);
	}
	free(me->files);
	me->files = NULL;
	me->n_files = 0;
}

/* ==== restore =========================================================== */

/* mkdir -p of @path (relative) under @dirfd. */
static int mkdir_p(int dirfd, const char *path, const char *mp)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return pr_errno(-ENAMETOOLONG, "tmpfs at %s: %s", mp, path);
	for (char *p = buf; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST)
			return pr_errno(-errno, "tmpfs at %s: mkdir %s", mp, buf);
		*p = '/';
	}
	if (*buf && mkdirat(dirfd, buf, 0755) < 0 && errno != EEXIST)
		return pr_errno(-errno, "tmpfs at %s: mkdir %s", mp, buf);
	return 0;
}

static int make_file(struct files_rst *rf, int base, const MountEntry *me, const MntFile *f)
{
	const char *p = f->path;
	_cleanup_close_ int fd = -EBADF;

	if (f->has_link_to) {
		if (linkat(base, me->files[f->link_to - 1]->path, base, p, 0) < 0)
			return pr_errno(-errno, "tmpfs at %s: link %s", me->mountpoint, p);
		return 0;
	}
	switch (f->mode & S_IFMT) {
	case S_IFDIR:
		if (!*p)
			return 0;
		if (mkdirat(base, p, 0700) < 0)
			return pr_errno(-errno, "tmpfs at %s: mkdir %s", me->mountpoint, p);
		return 0;
	case S_IFLNK:
		if (symlinkat(f->target, base, p) < 0)
			return pr_errno(-errno, "tmpfs at %s: symlink %s", me->mountpoint, p);
		return 0;
	case S_IFREG:
		fd = openat(base, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return pr_errno(-errno, "tmpfs at %s: creating %s", me->mountpoint, p);
		/* no rf in the root task: mntns_read() let only empty files through */
		return f->data->len ? fdata_copy_to_fd(rf, f->data, fd) : 0;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
		if (mknodat(base, p, f->mode & S_IFMT, f->rdev) < 0)
			return pr_errno(-errno, "tmpfs at %s: mknod %s", me->mountpoint, p);
		return 0;
	}
	return pr_errno(-EBADMSG, "tmpfs at %s: %s has an unknown file type %o", me->mountpoint, p, f->mode);
}

/* Owner and mode; times come last, when nothing more is made in a directory. */
static int set_attrs(int base, const MountEntry *me, const MntFile *f)
{
	const char *p = *f->path ? f->path : ".";
	uint32_t uid = f->uid, gid = f->gid;

	/* The holder may be in the tree's user namespace; the image has cr's ids. */
	if (userns_to_inside(&uid, &gid))
		return pr_errno(-EOPNOTSUPP, "tmpfs at %s: %s is owned by %u:%u, which have no ids in the tree's user "
				"namespace", me->mountpoint, p, f->uid, f->gid);
	if (fchownat(base, p, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return pr_errno(-errno, "tmpfs at %s: chown %s", me->mountpoint, p);
	/* after chown, which clears the set-id bits */
	if (!S_ISLNK(f->mode) && fchmodat(base, p, f->mode & 07777, 0) < 0)
		return pr_errno(-errno, "tmpfs at %s: chmod %s", me->mountpoint, p);
	return 0;
}

int mnt_tmpfs_restore(struct files_rst *rf, int mntfd, const MountEntry *me)
{
	_cleanup_close_ int base = -EBADF;
	const char *root = me->root + 1;	/* mntns_read() checked it starts with '/' */
	int err;

	err = mkdir_p(mntfd, root, me->mountpoint);
	if (err)
		return err;
	base = openat(mntfd, *root ? root : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (base < 0)
		return pr_errno(-errno, "tmpfs at %s: opening %s", me->mountpoint, me->root);
	for (size_t i = 0; i < me->n_files; i++) {
		err = make_file(rf, base, me, me->files[i]);
		if (!err && !me->files[i]->has_link_to)
			err = set_attrs(base, me, me->files[i]);
		if (err)
			return err;
	}
	/* Children before their directories: making a name changes its directory's mtime. */
	for (size_t i = me->n_files; i-- > 0;) {
		const MntFile *f = me->files[i];
		struct timespec ts[2] = { { f->atime_sec, f->atime_nsec }, { f->mtime_sec, f->mtime_nsec } };

		if (utimensat(base, *f->path ? f->path : ".", ts, AT_SYMLINK_NOFOLLOW) < 0)
			return pr_errno(-errno, "tmpfs at %s: times of %s", me->mountpoint, f->path);
	}
	return 0;
}
