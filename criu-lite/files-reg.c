/*
 * Files reopened by path: regular files (also O_PATH fds of anything
 * but directories), directories and a short list of character devices.
 * A file unlinked while open, and a memfd, have no path to reopen: their
 * data is saved in fdata.img (data runs only, holes stay holes) and they
 * are recreated unlinked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-ghost.h"
#include "files-kind.h"
#include "files-remap.h"
#include "log.h"
#include "memfd.h"
#include "namespaces.h"
#include "open-file.h"
#include "shmem.h"

#define MEMFD_PREFIX	"/memfd:"

/* Character devices that carry no state worth keeping: reopening is exact. */
static const struct {
	unsigned major, minor;
} chr_allowed[] = {
	{ 1, 3 },	/* /dev/null */
	{ 1, 5 },	/* /dev/zero */
	{ 1, 7 },	/* /dev/full */
	{ 1, 8 },	/* /dev/random */
	{ 1, 9 },	/* /dev/urandom */
};

static bool chr_is_allowed(dev_t rdev)
{
	for (size_t i = 0; i < ARRAY_SIZE(chr_allowed); i++)
		if (major(rdev) == chr_allowed[i].major && minor(rdev) == chr_allowed[i].minor)
			return true;
	return false;
}

static bool is_deleted(const struct fd_dump *d)
{
	return ghost_is_deleted(d->link, &d->st);
}

static bool is_memfd(const struct fd_dump *d)
{
	return S_ISREG(d->st.st_mode) && !strncmp(d->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) &&
	       is_deleted(d);
}

/* ---- dump ---------------------------------------------------------------- */

/*
 * Restore reopens by path, so the path must name the very object the fd
 * refers to now; or, in a mount namespace of the tree's own, the file is
 * on a mount that another one hides at that path (@r->hidden_mnt: restore
 * opens it through its own mount). Returns 0 or -ENOTSUP (logged).
 */
static int check_path_now(const struct fd_dump *d, RegFileEntry *r)
{
	char seen[PATH_MAX + 32];
	const char *why = NULL;
	struct stat st;
	int err;

	if (d->link[0] != '/')
		return files_refuse(d, "a file without a path", NULL);
	/* The name from the root of the task's mount namespace (a chroot is below it). */
	if (proc_mnt_path(d->pid, d->link, seen, sizeof(seen)))
		return -ENAMETOOLONG;
	/* An O_PATH | O_NOFOLLOW fd of a symbolic link is of the link itself. */
	if ((S_ISLNK(d->st.st_mode) ? lstat(seen, &st) : stat(seen, &st)) < 0)
		why = "its path no longer names it (renamed?)";
	else if (st.st_dev != d->st.st_dev || st.st_ino != d->st.st_ino)
		why = "its path now names another file (renamed or replaced, or another mount namespace)";
	if (!why)
		return 0;
	err = mntns_hidden_file(d->pid, d->fdi.mnt_id, d->link, &r->mnt_path);
	if (err == -ENOENT)
		return link_remap_dump(d, r->path, why, r);
	if (err)
		return pr_errno(err, "pid %d: fd %d (%s): looking for the mount it is on", d->pid, d->fd, d->link);
	r->has_hidden_mnt = true;
	r->hidden_mnt = d->fdi.mnt_id;
	pr_info("pid %d: fd %d (%s): on mount %d, hidden at that path by another mount\n", d->pid, d->fd,
		d->link, d->fdi.mnt_id);
	return 0;
}

/* The data runs of a deleted file or memfd (SEEK_DATA/SEEK_HOLE), into fdata.img. */
static int dump_content(struct fd_dump *d, RegFileEntry *r)
{
	off_t size = d->st.st_size, pos = 0;
	_cleanup_close_ int fd = -EBADF;
	char p[64];

	/* A description of our own: seeking cr_fd would move the task's position. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", d->cr_fd);
	/* O_NOATIME: reading it must not change its atime, which is saved too. */
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOATIME);
	if (fd < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): opening it to save its content",
				d->pid, d->fd, d->link);

	while (pos < size) {
		off_t start = lseek(fd, pos, SEEK_DATA), end;
		DataRef *ref, **n;
		int err;

		if (start < 0 && errno == ENXIO)
			break;
		if (start < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): SEEK_DATA", d->pid, d->fd, d->link);
		end = lseek(fd, start, SEEK_HOLE);
		if (end < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): SEEK_HOLE", d->pid, d->fd, d->link);
		if (end > size)
			end = size;
		n = xrealloc(r->data, (r->n_data + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->data = n;
		ref = xmalloc(sizeof(*ref));
		if (!ref)
			return -ENOMEM;
		r->data[r->n_data++] = ref;
		err = fdata_append_fd(d->df, fd, start, end - start, ref);
		if (err)
			return pr_errno(err, "pid %d: fd %d (%s): saving its content", d->pid, d->fd, d->link);
		ref->has_at = true;
		ref->at = start;
		pos = end;
	}
	return 0;
}

/* A deleted file or memfd: once per inode, other descriptions point to it. */
static int dump_unlinked(struct fd_dump *d, FileEntry *fe, RegFileEntry *r)
{
	uint32_t first;
	int err;

	r->has_deleted = true;
	r->deleted = true;
	r->has_size = true;
	r->size = d->st.st_size;
	if (is_memfd(d)) {
		const char *name = d->link + strlen(MEMFD_PREFIX);
		struct memfd_attrs a;
		char what[64];

		r->memfd_name = strndup(name, strlen(name) - strlen(DELETED_SUFFIX));
		if (!r->memfd_name)
			return -ENOMEM;
		snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, d->fd);
		err = memfd_attrs_read(d->cr_fd, what, &a);
		if (err)
			return err;
		r->has_seals = r->has_uid = r->has_gid = true;
		r->seals = a.seals;
		r->uid = a.uid;
		r->gid = a.gid;
		r->has_ino = true;
		r->ino = d->st.st_ino;
	} else if (d->link[0] != '/') {
		return files_refuse(d, "a deleted file", "it has no path");
	} else if (ghost_dir_left(d->pid, r->path)) {
		return files_refuse(d, "a deleted file", "its directory was deleted too (or replaced)");
	} else {
		char what[64];

		snprintf(what, sizeof(what), "pid %d: fd %d", d->pid, d->fd);
		err = ghost_attrs_dump(&d->st, d->cr_fd, what, &r->attrs);
		if (err)
			return err;
	}

	err = files_dump_find(d->df, d->st.st_dev, d->st.st_ino, NULL, NULL, &first);
	if (err)
		return err;
	if (first != fe->id) {
		r->has_same_as = true;
		r->same_as = first;
		return 0;
	}
	return S_ISREG(d->st.st_mode) ? dump_content(d, r) : 0;
}

/* A file under /proc/PID/ of a task of the tree: it exists again only once the task does. */
static bool under_tree_proc(const struct fd_dump *d)
{
	char *end;
	long pid;

	if (strncmp(d->link, "/proc/", 6))
		return false;
	pid = strtol(d->link + 6, &end, 10);
	return end != d->link + 6 && (*end == '/' || !*end) && pid > 0 &&
	       files_dump_proc_pid_in_tree(d->df, d->pid, pid);
}

static int reg_dump(struct fd_dump *d, FileEntry *fe)
{
	RegFileEntry *r = xmalloc(sizeof(*r));
	int err = 0;

	if (!r)
		return -ENOMEM;
	reg_file_entry__init(r);
	fe->reg = r;
	r->path = xstrdup(d->link);
	if (!r->path)
		return -ENOMEM;
	r->mode = d->st.st_mode;
	fe->has_pos = true;
	fe->pos = d->fdi.pos;

	if (is_deleted(d)) {
		r->path[strlen(r->path) - strlen(DELETED_SUFFIX)] = '\0';
		return dump_unlinked(d, fe, r);
	}
	/* Renamed over while it keeps another name: " (deleted)" too, with links left. */
	if (ghost_has_deleted_suffix(r->path))
		r->path[strlen(r->path) - strlen(DELETED_SUFFIX)] = '\0';
	if (S_ISCHR(d->st.st_mode) && !(fe->flags & O_PATH)) {
		r->has_rdev = true;
		r->rdev = file_rdev_encode(d->st.st_rdev);
	}
	if (S_ISREG(d->st.st_mode)) {
		r->has_size = true;
		r->size = d->st.st_size;
	}
	err = check_path_now(d, r);
	if (!err && under_tree_proc(d))
		r->has_in_tree_proc = r->in_tree_proc = true;
	return err;
}

static void reg_free_entry(FileEntry *fe)
{
	RegFileEntry *r = fe->reg;

	if (!r)
		return;
	for (size_t i = 0; i < r->n_data; i++)
		free(r->data[i]);
	free(r->data);
	free(r->path);
	free(r->memfd_name);
	free(r->mnt_path);
	free(r->link_remap);
	ghost_attrs_free(r->attrs);
	free(r);
	fe->reg = NULL;
}

static bool reg_match(const struct fd_dump *d)
{
	if (S_ISDIR(d->st.st_mode))
		return false;
	if (d->fdi.flags & O_PATH)
		return d->link[0] == '/';
	return S_ISREG(d->st.st_mode) && d->link[0] == '/';
}

static bool dir_match(const struct fd_dump *d)
{
	return S_ISDIR(d->st.st_mode) && d->link[0] == '/';
}

static bool chr_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode) && !(d->fdi.flags & O_PATH) && chr_is_allowed(d->st.st_rdev);
}

/* ---- restore ------------------------------------------------------------- */

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFDIR: return "directory";
	case S_IFCHR: return "character device";
	case S_IFBLK: return "block device";
	case S_IFIFO: return "FIFO";
	case S_IFSOCK: return "socket";
	case S_IFLNK: return "symbolic link";
	default: return "file of unknown type";
	}
}

/* The directory an absolute @path is in ("/" for "/x"), into @buf. */
static void dir_of(const char *path, char *buf, size_t size)
{
	char *slash;

	snprintf(buf, size, "%s", path);
	slash = strrchr(buf, '/');
	if (slash == buf)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
}

/* Checks that the path still names what the image says; creates nothing. */
/* Where cr finds a file: at its path, or inside the mount that hid it there at dump. */
static const char *where(const RegFileEntry *r, char *buf)
{
	if (r->link_remap)
		return rst_path(r->link_remap, buf);
	return r->has_hidden_mnt ? rst_mnt_path(r->hidden_mnt, r->mnt_path ? r->mnt_path : "", buf)
				 : rst_path(r->path, buf);
}

/* A symbolic link (an O_PATH | O_NOFOLLOW fd) is the link itself, not followed. */
static int stat_at(const RegFileEntry *r, struct stat *st)
{
	char buf[RST_PATH_MAX];
	const char *p = where(r, buf);

	if (!p)
		return -1;
	return S_ISLNK(r->mode) ? lstat(p, st) : stat(p, st);
}

static int open_at(const RegFileEntry *r, int flags)
{
	char buf[RST_PATH_MAX];
	const char *p = where(r, buf);

	return p ? open(p, flags) : -1;
}

/*
 * Opened write-only with O_APPEND (a log file): what the tree writes goes
 * to the end wherever that is, and it reads nothing, so the file growing
 * after a --leave-running dump changes nothing it sees (as CRIU, which
 * accepts this growth only).
 */
static bool appends_only(const FileEntry *fe)
{
	return (fe->flags & O_ACCMODE) == O_WRONLY && (fe->flags & O_APPEND);
}

static int reg_check(struct files_rst *rf, const FileEntry *fe)
{
	const RegFileEntry *r = fe->reg;
	struct stat st;

	if (!r)
		return pr_errno(-EBADMSG, "files.img: file id %u has no path record", fe->id);
	if (r->path[0] != '/' && !r->memfd_name)
		return pr_errno(-EBADMSG, "files.img: file id %u: path %s is not absolute", fe->id, r->path);
	if (r->has_same_as) {
		const FileEntry *o = files_rst_entry(rf, r->same_as);

		if (!o || !o->reg || !o->reg->deleted || o->reg->has_same_as)
			return pr_errno(-EBADMSG, "files.img: file id %u refers to file id %u, which is not a saved deleted file",
					fe->id, r->same_as);
		return 0;
	}
	if (r->memfd_name || r->in_tree_proc)
		return 0;
	if (r->deleted) {
		char dir[PATH_MAX];

		if (r->attrs && ghost_attrs_check(r->attrs, r->path))
			return -EBADMSG;
		if (!r->attrs && !S_ISREG(r->mode))
			return pr_errno(-EBADMSG, "files.img: file id %u: deleted %s %s without its attributes",
					fe->id, type_name(r->mode), r->path);

		dir_of(r->path, dir, sizeof(dir));
		if (rst_stat(dir, &st) < 0)
			return pr_errno(-errno, "deleted file %s: its directory %s can't be found", r->path, dir);
		if (!S_ISDIR(st.st_mode))
			return pr_errno(-ENOTDIR, "deleted file %s: %s is not a directory now", r->path, dir);
		return 0;
	}

	if (stat_at(r, &st) < 0)
		return pr_errno(-errno, "file %s (open at dump) can't be found", r->path);
	if ((st.st_mode & S_IFMT) != (r->mode & S_IFMT))
		return pr_errno(-ESTALE, "file %s was a %s at dump, it is a %s now", r->path,
				type_name(r->mode), type_name(st.st_mode));
	if (S_ISREG(st.st_mode) && r->has_size && (uint64_t)st.st_size > r->size && appends_only(fe))
		pr_warn("file %s grew since dump (was %llu bytes, now %llu): it is open write-only with O_APPEND "
			"(a log), so restored at its new end", r->path, (unsigned long long)r->size,
			(unsigned long long)st.st_size);
	else if (S_ISREG(st.st_mode) && r->has_size && (uint64_t)st.st_size != r->size)
		return pr_errno(-ESTALE, "file %s changed size since dump (was %llu bytes, now %llu)",
				r->path, (unsigned long long)r->size, (unsigned long long)st.st_size);
	if (fe->kind == FILE_KIND__FILE_CHR) {
		dev_t want = file_rdev_decode(r->rdev);

		if (!r->has_rdev || !chr_is_allowed(want))
			return pr_errno(-EBADMSG, "file %s: the image names no character device cr restores",
					r->path);
		if (st.st_rdev != want)
			return pr_errno(-ESTALE, "file %s was character device %u:%u at dump, now %u:%u",
					r->path, major(want), minor(want), major(st.st_rdev), minor(st.st_rdev));
	}
	return 0;
}

/* Reopens @fd (cr's) through /proc/self/fd with @flags: a new description of the same file. */
static int reopen_fd(int fd, int flags, const char *what)
{
	char p[64];
	int nfd;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	/*
	 * O_PATH | O_NOFOLLOW would give the /proc link itself; without
	 * O_NOFOLLOW it is not followed past the file @fd is (a symbolic link
	 * stays the link).
	 */
	if (flags & O_PATH)
		flags &= ~O_NOFOLLOW;
	nfd = open(p, (flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0)
		return pr_errno(-errno, "%s: reopening with flags 0%o", what, flags);
	return nfd;
}

static int fill_content(struct files_rst *rf, const RegFileEntry *r, int fd, const char *what)
{
	int err;

	if (ftruncate(fd, r->size) < 0)
		return pr_errno(-errno, "%s: setting its size to %llu", what, (unsigned long long)r->size);
	for (size_t i = 0; i < r->n_data; i++) {
		if (lseek(fd, r->data[i]->at, SEEK_SET) < 0)
			return pr_errno(-errno, "%s: seeking to %llu", what, (unsigned long long)r->data[i]->at);
		err = fdata_copy_to_fd(rf, r->data[i], fd);
		if (err)
			return pr_errno(err, "%s: writing its saved content", what);
	}
	return 0;
}

/* Creates the file unlinked: at its own name if that is free (so /proc shows the same), else O_TMPFILE. */
static int create_unlinked(const FileEntry *fe)
{
	const RegFileEntry *r = fe->reg;
	mode_t mode = r->mode & 07777;
	char dir[PATH_MAX], seen[RST_PATH_MAX];
	int fd;

	if (r->memfd_name)
		return memfd_new(r->memfd_name, r->seals);
	fd = rst_open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd >= 0) {
		const char *at = rst_path(r->path, seen);

		if (!at || unlink(at) < 0) {
			int err = pr_errno(-errno, "deleted file %s: unlinking it again", r->path);

			close(fd);
			return err;
		}
		return fd;
	}
	if (errno != EEXIST)
		return pr_errno(-errno, "deleted file %s: creating it", r->path);
	dir_of(r->path, dir, sizeof(dir));
	fd = rst_open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0)
		return pr_errno(-errno, "deleted file %s: the name is taken, and O_TMPFILE in %s failed",
				r->path, dir);
	pr_warn("deleted file %s: a new file has that name; restored as an unnamed file in %s",
		r->path, dir);
	return fd;
}

static int open_unlinked(struct files_rst *rf, const FileEntry *fe)
{
	const RegFileEntry *r = fe->reg;
	const char *what = r->memfd_name ? r->memfd_name : r->path;
	_cleanup_close_ int fd = -EBADF;
	int err;

	if (r->has_same_as) {
		int first = files_rst_get(rf, r->same_as);

		return first < 0 ? first : reopen_fd(first, fe->flags, what);
	}
	if (r->memfd_name && r->has_ino) {
		int shm = shmem_memfd_by_ino(files_rst_shmem(rf), r->ino);

		/* Mapped too: the mapping's object is this memfd, filled already. */
		if (shm >= 0)
			return reopen_fd(shm, fe->flags, what);
	}
	if (r->attrs && !S_ISREG(r->attrs->mode)) {
		/* A directory, device node or symbolic link: opened at its name (O_NOFOLLOW kept). */
		return ghost_node_open(r->path, r->attrs, fe->flags & ~(O_CREAT | O_TRUNC | O_EXCL), what);
	}
	fd = create_unlinked(fe);
	if (fd < 0)
		return fd;
	err = fill_content(rf, r, fd, what);
	if (!err && r->attrs)
		err = ghost_attrs_apply_fd(fd, r->attrs, what);
	if (!err && r->memfd_name) {
		/* Images from before uid and gid were kept: cr's own. */
		struct memfd_attrs a = { .seals = r->seals, .mode = r->mode & 07777,
					 .uid = r->has_uid ? r->uid : geteuid(),
					 .gid = r->has_gid ? r->gid : getegid() };

		err = memfd_attrs_apply(fd, what, &a);
	}
	if (err)
		return err;
	/* Made O_RDWR (O_NOFOLLOW, O_TMPFILE in its flags): the dumped flags are a reopen's. */
	return reopen_fd(fd, fe->flags, what);
}

static int reg_open(struct files_rst *rf, const FileEntry *fe)
{
	const RegFileEntry *r = fe->reg;
	/* Reopening must never create, truncate or fail on an existing file. */
	int flags = (fe->flags & ~(O_CREAT | O_TRUNC | O_EXCL)) | O_CLOEXEC | O_NOCTTY;
	_cleanup_close_ int fd = -EBADF;

	if (r->deleted)
		fd = open_unlinked(rf, fe);
	else {
		fd = open_at(r, flags);
		if (fd < 0)
			fd = pr_errno(-errno, "can't reopen %s (flags 0%o)", r->path, flags);
	}
	if (fd < 0)
		return fd;
	if (r->link_remap) {
		int err = link_remap_opened(r, fd);

		if (err)
			return err;
	}
	/*
	 * Positions matter for directories too (getdents resumes from it).
	 * The allowed character devices ignore positions.
	 */
	if (fe->has_pos && !(fe->flags & O_PATH) && fe->kind != FILE_KIND__FILE_CHR) {
		struct stat st;
		/* A log that grew since dump (reg_check() said so): at its new end, where a write would go. */
		bool grown = !r->deleted && appends_only(fe) && r->has_size && !fstat(fd, &st) &&
			     S_ISREG(st.st_mode) && (uint64_t)st.st_size > r->size;

		if (lseek(fd, grown ? 0 : fe->pos, grown ? SEEK_END : SEEK_SET) < 0)
			return pr_errno(-errno, "can't seek %s to %llu%s", r->memfd_name ? r->memfd_name : r->path,
					(unsigned long long)fe->pos, grown ? " (its new end)" : "");
	}
	return TAKE_FD(fd);
}

static bool reg_open_in_task(const FileEntry *fe)
{
	return fe->reg && fe->reg->in_tree_proc;
}

const struct fd_kind fd_kind_reg = {
	.kind = FILE_KIND__FILE_REG, .name = "regular file",
	.match = reg_match, .dump = reg_dump, .free_entry = reg_free_entry,
	.check = reg_check, .open = reg_open, .open_in_task = reg_open_in_task,
};

const struct fd_kind fd_kind_dir = {
	.kind = FILE_KIND__FILE_DIR, .name = "directory",
	.match = dir_match, .dump = reg_dump, .free_entry = reg_free_entry,
	.check = reg_check, .open = reg_open, .open_in_task = reg_open_in_task,
};

const struct fd_kind fd_kind_chr = {
	.kind = FILE_KIND__FILE_CHR, .name = "character device",
	.match = chr_match, .dump = reg_dump, .free_entry = reg_free_entry,
	.check = reg_check, .open = reg_open, .open_in_task = reg_open_in_task,
};
