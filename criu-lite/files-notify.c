/*
 * Inodes named by inotify watches and fanotify inode marks: fdinfo
 * shows device, inode number and a file handle. open_by_handle_at() on
 * a mount of that file system (cr has CAP_DAC_READ_SEARCH) opens the
 * inode even when no path leads to it; /proc/self/fd then shows its path.
 *
 * A watched file deleted while something holds it open keeps its watch
 * (the kernel drops it, IN_DELETE_SELF then IN_IGNORED, only when the
 * last dentry reference goes): if an fd of the tree holds it, the watch
 * is put on the file restore makes for that fd. A deleted file nothing
 * of the tree holds dies with the tree: refused. A file no path reaches
 * (hidden by a mount stacked over its directory) is found by handle, on
 * a file system cr has mounted too; on one only the tree's mount
 * namespace has (a tmpfs restore makes anew) a handle means nothing:
 * refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-notify.h"
#include "log.h"
#include "mnt-priv.h"
#include "namespaces.h"
#include "open-file.h"
#include "proc-parse.h"

#define KDEV_MINORBITS	20

dev_t notify_kdev(uint32_t sdev)
{
	return makedev(sdev >> KDEV_MINORBITS, sdev & ((1u << KDEV_MINORBITS) - 1));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int notify_parse_handle(const char *s, struct notify_handle *h)
{
	unsigned bytes;
	int type, pos = 0;

	if (!s || sscanf(s, "fhandle-bytes:%x fhandle-type:%x f_handle:%n", &bytes, &type, &pos) != 2 || !pos ||
	    bytes > NOTIFY_HANDLE_MAX)
		return -EBADMSG;
	s += pos;
	h->fh.handle_bytes = bytes;
	h->fh.handle_type = type;
	for (unsigned i = 0; i < bytes; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (lo < 0)
			return -EBADMSG;
		h->fh.f_handle[i] = hi << 4 | lo;
	}
	return 0;
}

/* What a mount of the inode's file system gave (found_fn's view). */
struct found {
	int fd;				/* O_PATH, by handle; owned by the walk */
	const struct mnt_info *mi;	/* the mount it was looked up through */
	struct stat st;
};

/* 0: take it (the walk stops), 1: go on, -errno: stop with that. */
typedef int (*found_fn)(pid_t pid, const struct found *f, void *arg);

/*
 * Opens the inode @dev/@ino by handle @h through each mount of @dev in
 * @pid's mount namespace (0: cr's), each fd checked to be that inode,
 * and hands it to @fn. Returns what @fn took (0), -ENOENT when it took
 * none (*@ret_opened says whether any mount opened it), or -errno.
 */
static int walk_mounts(pid_t pid, dev_t dev, uint64_t ino, const struct notify_handle *h, found_fn fn, void *arg,
		       bool *ret_opened)
{
	struct mnt_info *mi = NULL;
	unsigned nr = 0;
	int err;

	*ret_opened = false;
	err = mnt_read_mountinfo(pid, &mi, &nr);
	if (err)
		return err;
	err = -ENOENT;
	for (unsigned i = 0; i < nr && err == -ENOENT; i++) {
		_cleanup_close_ int mfd = -EBADF;
		char at[PATH_MAX + 32];
		struct found f = { .fd = -EBADF, .mi = &mi[i] };
		int r;

		if (makedev(mi[i].major, mi[i].minor) != dev ||
		    proc_mnt_path(pid ? pid : getpid(), mi[i].mountpoint, at, sizeof(at)))
			continue;
		/* Not O_PATH: open_by_handle_at() wants a real fd of the mount. */
		mfd = open(at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		f.fd = open_by_handle_at(mfd, (struct file_handle *)&h->fh, O_PATH | O_CLOEXEC);
		if (f.fd < 0)
			continue;
		/* Another file system stacked on the mount point may decode it too: the inode says. */
		if (fstat(f.fd, &f.st) == 0 && f.st.st_dev == dev && f.st.st_ino == ino) {
			*ret_opened = true;
			r = fn(pid, &f, arg);
			if (r <= 0)
				err = r;
		}
		close(f.fd);
	}
	mnt_info_free(mi, nr);
	return err;
}

/* The dump's search: a path of the task's that names the inode, or one inside its hidden mount. */
struct path_search {
	NotifyInode *n;
	nlink_t links;			/* of the inode, when a mount opened it */
};

static int take_path(pid_t pid, const struct found *f, void *arg)
{
	struct path_search *ps = arg;
	NotifyInode *n = ps->n;
	char p[64], link[PATH_MAX + 1], at[PATH_MAX + 32];
	struct stat st;
	ssize_t len;
	int err;

	ps->links = f->st.st_nlink;
	if (!f->st.st_nlink)
		return 1;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", f->fd);
	len = readlink(p, link, sizeof(link) - 1);
	if (len <= 0 || (size_t)len >= sizeof(link) - 1)
		return 1;
	link[len] = '\0';
	if (link[0] != '/' || proc_mnt_path(pid, link, at, sizeof(at)))
		return 1;
	if (lstat(at, &st) == 0 && st.st_dev == f->st.st_dev && st.st_ino == f->st.st_ino) {
		n->path = xstrdup(link);
		return n->path ? 0 : -ENOMEM;
	}
	err = mntns_hidden_file(pid, f->mi->id, link, &n->mnt_rel);
	if (err == -ENOENT)
		return 1;
	if (err)
		return err;
	n->has_hidden_mnt = true;
	n->hidden_mnt = f->mi->id;
	return 0;
}

/* The walk through cr's own mounts: whether it opens there, and its links. */
static int take_nlink(pid_t pid, const struct found *f, void *arg)
{
	(void)pid;
	*(nlink_t *)arg = f->st.st_nlink;
	return 0;
}

static int keep_handle(const struct notify_handle *h, NotifyInode *ret)
{
	ret->handle.data = xmalloc(h->fh.handle_bytes + 1);
	if (!ret->handle.data)
		return -ENOMEM;
	memcpy(ret->handle.data, h->fh.f_handle, h->fh.handle_bytes);
	ret->handle.len = h->fh.handle_bytes;
	ret->has_handle = true;
	ret->has_handle_type = true;
	ret->handle_type = h->fh.handle_type;
	return 0;
}

int notify_inode_dump(struct fd_dump *d, const char *kind, const char *what, uint32_t sdev, uint64_t ino,
		      const struct notify_handle *h, NotifyInode *ret)
{
	struct path_search ps = { .n = ret };
	dev_t dev = notify_kdev(sdev);
	nlink_t links = 0;
	const char *how;
	char why[200];
	bool opened, mine;
	uint32_t id;
	int err;

	notify_inode__init(ret);
	ret->sdev = sdev;
	ret->ino = ino;
	err = walk_mounts(d->pid, dev, ino, h, take_path, &ps, &opened);
	if (err != -ENOENT)
		return err ? pr_errno(err, "pid %d: fd %d: %s: looking for the path of inode %llu", d->pid, d->fd,
				      what, (unsigned long long)ino) : 0;
	/* No path: a deleted file an fd of the tree holds comes back with that fd. */
	err = files_dump_find(d->df, dev, ino, NULL, NULL, &id);
	if (!err) {
		ret->has_file_id = true;
		ret->file_id = id;
		return 0;
	}
	if (err != -ENOENT)
		return err;
	err = walk_mounts(0, dev, ino, h, take_nlink, &links, &mine);
	if (err && err != -ENOENT)
		return err;
	if (mine && links)
		return keep_handle(h, ret);
	if ((mine && !links) || (opened && !ps.links))
		how = "a deleted file that no fd of the tree holds open (it goes with the tree)";
	else
		how = "which no path reaches, on a file system only the tree's mount namespace has";
	snprintf(why, sizeof(why), "%s names inode %llu on %u:%u, %s", what, (unsigned long long)ino, major(dev),
		 minor(dev), how);
	return files_refuse(d, kind, why);
}

int notify_refuse_queued(const struct fd_dump *d, const char *kind)
{
	char why[96];
	int queued = 0;

	if (ioctl(d->cr_fd, FIONREAD, &queued) < 0 || queued <= 0)
		return 0;
	snprintf(why, sizeof(why), "%d bytes of unread events in its queue (they cannot be kept)", queued);
	return files_refuse(d, kind, why);
}

void notify_inode_free(NotifyInode *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->mnt_rel);
	free(n->handle.data);
	n->path = n->mnt_rel = NULL;
	n->handle.data = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static unsigned ways(const NotifyInode *n)
{
	return !!n->path + (n->has_hidden_mnt && n->mnt_rel) + n->has_file_id + (n->has_handle && n->has_handle_type);
}

int notify_inode_check(const NotifyInode *n, const char *what)
{
	struct stat st;

	if (ways(n) != 1 || (n->path && n->path[0] != '/') ||
	    (n->has_handle && (!n->handle.len || n->handle.len > NOTIFY_HANDLE_MAX)))
		return pr_errno(-EBADMSG, "files.img: %s: no single place for inode %llu", what,
				(unsigned long long)n->ino);
	if (n->path && rst_stat(n->path, &st) < 0)
		return pr_errno(-errno, "%s: %s (watched at dump) can't be found", what, n->path);
	return 0;
}

static int take_fd(pid_t pid, const struct found *f, void *arg)
{
	(void)pid;
	*(int *)arg = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	return *(int *)arg < 0 ? -errno : 0;
}

static int open_by_handle(const NotifyInode *n, const char *what)
{
	struct notify_handle h;
	dev_t dev = notify_kdev(n->sdev);
	bool opened;
	int fd = -EBADF, err;

	h.fh.handle_bytes = n->handle.len;
	h.fh.handle_type = n->handle_type;
	memcpy(h.fh.f_handle, n->handle.data, n->handle.len);
	err = walk_mounts(0, dev, n->ino, &h, take_fd, &fd, &opened);
	if (err == -ENOENT)
		return pr_errno(-ESTALE, "%s: inode %llu on %u:%u (it had no path at dump) is gone", what,
				(unsigned long long)n->ino, major(dev), minor(dev));
	return err ? pr_errno(err, "%s: opening inode %llu by its handle", what, (unsigned long long)n->ino) : fd;
}

int notify_inode_open(struct files_rst *rf, const NotifyInode *n, const char *what)
{
	char buf[RST_PATH_MAX];
	const char *at;
	int fd;

	if (n->has_file_id) {
		fd = files_rst_get(rf, n->file_id);
		if (fd < 0)
			return fd;
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? pr_errno(-errno, "%s: dup of file id %u", what, n->file_id) : fd;
	}
	if (n->has_handle)
		return open_by_handle(n, what);
	at = n->path ? rst_path(n->path, buf) : rst_mnt_path(n->hidden_mnt, n->mnt_rel, buf);
	if (!at)
		return pr_errno(-errno, "%s: %s", what, n->path ? n->path : n->mnt_rel);
	fd = open(at, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening %s%s", what, n->path ? "" : "(in its hidden mount) ",
				n->path ? n->path : n->mnt_rel);
	return fd;
}
