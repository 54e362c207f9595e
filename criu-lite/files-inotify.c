/*
 * inotify instances: every watch with its mask and watch descriptor.
 *
 * fdinfo names a watched inode by a file handle; files-notify.c finds
 * where restore gets it again (its path, an open file of the tree for a
 * deleted one, or the handle). Restore adds the watches on
 * /proc/self/fd/N of an O_PATH fd of the inode. The kernel hands out
 * watch descriptors cyclically (idr_alloc_cyclic), so a watch is added
 * and removed until it gets its old number; the IN_IGNORED events the
 * removals queue are read away before any task sees the instance.
 * Events queued and not read at dump are refused: reading them would
 * take them from the task, and a restored instance cannot be given them.
 *
 * fanotify groups are in files-fanotify.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "files-notify.h"
#include "log.h"
#include "open-file.h"

/* Mask bits inotify_add_watch() accepts besides the events. */
#define WATCH_FLAGS	(IN_ONESHOT | IN_EXCL_UNLINK | IN_DONT_FOLLOW | IN_ONLYDIR)

static bool inotify_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:inotify");
}

/* ---- dump ---------------------------------------------------------------- */

static int add_watch(InotifyEntry *e, const InotifyWatch *w)
{
	InotifyWatch **n = xrealloc(e->watches, (e->n_watches + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	e->watches = n;
	n[e->n_watches] = xmalloc(sizeof(**n));
	if (!n[e->n_watches])
		return -ENOMEM;
	*n[e->n_watches++] = *w;
	return 0;
}

/* "inotify wd:1 ino:35d sdev:fe00000 mask:2 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:5d03..." */
static int parse_watch(struct fd_dump *d, const char *l, InotifyEntry *e)
{
	InotifyWatch w = INOTIFY_WATCH__INIT;
	struct notify_handle h;
	unsigned wd, sdev, mask;
	unsigned long long ino;
	char what[48];
	int err;

	if (sscanf(l, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%*x", &wd, &ino, &sdev, &mask) != 4 ||
	    notify_parse_handle(strstr(l, "fhandle-bytes:"), &h))
		return pr_errno(-EBADMSG, "pid %d: fd %d (inotify): unexpected watch line in fdinfo: %.100s",
				d->pid, d->fd, l);
	w.inode = xmalloc(sizeof(*w.inode));
	if (!w.inode)
		return -ENOMEM;
	snprintf(what, sizeof(what), "inotify watch %u", wd);
	err = notify_inode_dump(d, "an inotify instance", what, sdev, ino, &h, w.inode);
	w.wd = wd;
	w.mask = mask;
	w.ino = ino;
	if (!err)
		err = add_watch(e, &w);
	if (err) {
		notify_inode_free(w.inode);
		free(w.inode);
	}
	return err;
}

static int inotify_dump(struct fd_dump *d, FileEntry *fe)
{
	InotifyEntry *e = xmalloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	inotify_entry__init(e);
	fe->inotify = e;
	for (const char *l = d->fdinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int err;

		if (strncmp(l, "inotify wd:", 11))
			continue;
		err = parse_watch(d, l, e);
		if (err)
			return err;
	}
	return notify_refuse_queued(d, "an inotify instance");
}

static void inotify_free_entry(FileEntry *fe)
{
	InotifyEntry *e = fe->inotify;

	if (!e)
		return;
	for (size_t i = 0; i < e->n_watches; i++) {
		free(e->watches[i]->path);
		notify_inode_free(e->watches[i]->inode);
		free(e->watches[i]->inode);
		free(e->watches[i]);
	}
	free(e->watches);
	free(e);
	fe->inotify = NULL;
}

/* ---- restore ------------------------------------------------------------- */

/* Where @w's inode is: its notify_inode, or (older images) its path, in @tmp. */
static const NotifyInode *watch_inode(const InotifyWatch *w, NotifyInode *tmp)
{
	if (w->inode)
		return w->inode;
	notify_inode__init(tmp);
	tmp->ino = w->ino;
	tmp->path = w->path;
	return tmp;
}

static int inotify_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->inotify)
		return pr_errno(-EBADMSG, "files.img: file id %u: no inotify record", fe->id);
	for (size_t i = 0; i < fe->inotify->n_watches; i++) {
		const InotifyWatch *w = fe->inotify->watches[i];
		NotifyInode tmp;
		char what[48];
		int err;

		if (!w->wd || w->wd > INT_MAX)
			return pr_errno(-EBADMSG, "files.img: inotify file id %u: invalid watch %u", fe->id, w->wd);
		snprintf(what, sizeof(what), "inotify watch %u", w->wd);
		err = notify_inode_check(watch_inode(w, &tmp), what);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_wd(const void *a, const void *b)
{
	uint32_t x = (*(InotifyWatch *const *)a)->wd, y = (*(InotifyWatch *const *)b)->wd;

	return (x > y) - (x < y);
}

/*
 * Adds @w with its own watch descriptor: earlier numbers are taken and
 * given back. On /proc/self/fd/N, followed: IN_DONT_FOLLOW would watch
 * the magic link, and the fd is of the very inode (a symbolic link too).
 */
static int add_with_wd(struct files_rst *rf, int fd, const InotifyWatch *w)
{
	uint32_t mask = w->mask & (IN_ALL_EVENTS | WATCH_FLAGS) & ~IN_DONT_FOLLOW;
	_cleanup_close_ int obj = -EBADF;
	NotifyInode tmp;
	char what[48], at[64];

	snprintf(what, sizeof(what), "inotify watch %u", w->wd);
	obj = notify_inode_open(rf, watch_inode(w, &tmp), what);
	if (obj < 0)
		return obj;
	snprintf(at, sizeof(at), "/proc/self/fd/%d", obj);
	for (;;) {
		int wd = inotify_add_watch(fd, at, mask);

		if (wd < 0)
			return pr_errno(-errno, "%s: adding it (mask %#x)", what, mask);
		if ((uint32_t)wd == w->wd)
			return 0;
		if ((uint32_t)wd > w->wd)
			return pr_errno(-EEXIST, "%s got watch descriptor %d (another watch of this instance is on the same file?)",
					what, wd);
		if (inotify_rm_watch(fd, wd) < 0)
			return pr_errno(-errno, "%s: removing the stand-in watch %d", what, wd);
	}
}

/* Reads away the IN_IGNORED events add_with_wd() caused. */
static int drain(int fd, uint32_t id)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return pr_errno(n < 0 ? -errno : -EIO, "inotify (file id %u): reading its queue empty", id);
	}
}

static int inotify_open(struct files_rst *rf, const FileEntry *fe)
{
	const InotifyEntry *e = fe->inotify;
	_cleanup_free_ InotifyWatch **sorted = NULL;
	_cleanup_close_ int fd = -EBADF;
	int err;

	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return pr_errno(-errno, "inotify (file id %u): inotify_init1", fe->id);
	sorted = xmalloc((e->n_watches + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, e->watches, e->n_watches * sizeof(*sorted));
	qsort(sorted, e->n_watches, sizeof(*sorted), cmp_wd);
	for (size_t i = 0; i < e->n_watches; i++) {
		err = add_with_wd(rf, fd, sorted[i]);
		if (err)
			return err;
	}
	err = drain(fd, fe->id);
	return err ? err : TAKE_FD(fd);
}

const struct fd_kind fd_kind_inotify = {
	.kind = FILE_KIND__FILE_INOTIFY, .name = "inotify",
		.match = inotify_match, .dump = inotify_dump, .deferred = true, .free_entry = inotify_free_entry,
	.check = inotify_check, .open = inotify_open,
};
