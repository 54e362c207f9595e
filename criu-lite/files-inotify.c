/*
 * inotify instances: every watch with its mask and watch descriptor.
 *
 * fdinfo names a watched inode by a file handle: cr opens it with
 * open_by_handle_at() on a mount of its filesystem and keeps the path
 * /proc/self/fd shows for it, checked to name that very inode. Restore
 * adds the watches by path. The kernel hands out watch descriptors
 * cyclically (idr_alloc_cyclic), so a watch is added and removed until
 * it gets its old number; the IN_IGNORED events the removals queue are
 * read away before any task sees the instance.
 *
 * fanotify groups are refused: their marks and permission events have
 * no userspace view to rebuild them from.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "open-file.h"

#define KDEV_MINORBITS	20		/* fdinfo prints the kernel's dev_t */
#define MAX_HANDLE	128		/* MAX_HANDLE_SZ */
/* Mask bits inotify_add_watch() accepts besides the events. */
#define WATCH_FLAGS	(IN_ONESHOT | IN_EXCL_UNLINK | IN_DONT_FOLLOW | IN_ONLYDIR)

static bool inotify_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:inotify");
}

static bool fanotify_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[fanotify]");
}

/* ---- dump ---------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/*
 * The path of the inode @dev/@ino behind file handle @fh, through a mount
 * of its filesystem; checked with stat(). Returns 0 and *ret_path, or
 * -ENOENT when no mount of cr's gives a path that names it.
 */
static int handle_to_path(dev_t dev, ino_t ino, struct file_handle *fh, char **ret_path)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return pr_errno(-errno, "opening /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		_cleanup_close_ int mfd = -EBADF, fd = -EBADF;
		char mnt[PATH_MAX], link[PATH_MAX + 1], p[64];
		unsigned maj, min;
		struct stat st;
		ssize_t n;

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    makedev(maj, min) != dev)
			continue;
		unescape(mnt);
		/* Not O_PATH: open_by_handle_at() wants a real fd of the mount. */
		mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			continue;
		fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n = readlink(p, link, sizeof(link) - 1);
		if (n <= 0 || (size_t)n >= sizeof(link) - 1)
			continue;
		link[n] = '\0';
		if (link[0] != '/' || stat(link, &st) < 0 || st.st_dev != dev || st.st_ino != ino)
			continue;
		*ret_path = xstrdup(link);
		return *ret_path ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

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
static int parse_watch(const struct fd_dump *d, const char *l, InotifyEntry *e)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE];
	} h;
	InotifyWatch w = INOTIFY_WATCH__INIT;
	unsigned wd, sdev, mask, bytes;
	unsigned long long ino;
	int type, pos = 0, err;
	char why[96];
	dev_t dev;

	if (sscanf(l, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x f_handle:%n",
		   &wd, &ino, &sdev, &mask, &bytes, &type, &pos) != 6 || !pos || bytes > MAX_HANDLE)
		return pr_errno(-EBADMSG, "pid %d: fd %d (inotify): unexpected watch line in fdinfo: %.100s",
				d->pid, d->fd, l);
	h.fh.handle_bytes = bytes;
	h.fh.handle_type = type;
	for (unsigned i = 0; i < bytes; i++) {
		int hi = hexval(l[pos + 2 * i]), lo = hi < 0 ? -1 : hexval(l[pos + 2 * i + 1]);

		if (lo < 0)
			return pr_errno(-EBADMSG, "pid %d: fd %d (inotify): bad file handle in fdinfo: %.100s",
					d->pid, d->fd, l);
		h.fh.f_handle[i] = hi << 4 | lo;
	}
	dev = makedev(sdev >> KDEV_MINORBITS, sdev & ((1u << KDEV_MINORBITS) - 1));
	err = handle_to_path(dev, ino, &h.fh, &w.path);
	if (err == -ENOENT) {
		snprintf(why, sizeof(why), "the file of watch %u (inode %llu on %u:%u) has no path cr can reach",
			 wd, ino, major(dev), minor(dev));
		return files_refuse(d, "an inotify instance", why);
	}
	if (err)
		return err;
	w.wd = wd;
	w.mask = mask;
	w.ino = ino;
	err = add_watch(e, &w);
	if (err)
		free(w.path);
	return err;
}

static int inotify_dump(struct fd_dump *d, FileEntry *fe)
{
	InotifyEntry *e = xmalloc(sizeof(*e));
	int queued = 0;

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
	/* Reading the events would take them from the task: they are not kept. */
	if (ioctl(d->cr_fd, FIONREAD, &queued) == 0 && queued > 0)
		pr_warn("pid %d: fd %d (inotify): %d bytes of unread events are not kept; the restored instance starts empty",
			d->pid, d->fd, queued);
	return 0;
}

static void inotify_free_entry(FileEntry *fe)
{
	InotifyEntry *e = fe->inotify;

	if (!e)
		return;
	for (size_t i = 0; i < e->n_watches; i++) {
		free(e->watches[i]->path);
		free(e->watches[i]);
	}
	free(e->watches);
	free(e);
	fe->inotify = NULL;
}

static int fanotify_dump(struct fd_dump *d, FileEntry *fe)
{
	(void)fe;
	return files_refuse(d, "a fanotify group", "fanotify is not supported");
}

/* ---- restore ------------------------------------------------------------- */

static int inotify_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->inotify)
		return pr_errno(-EBADMSG, "files.img: file id %u: no inotify record", fe->id);
	for (size_t i = 0; i < fe->inotify->n_watches; i++) {
		const InotifyWatch *w = fe->inotify->watches[i];
		struct stat st;

		if (!w->wd || w->wd > INT_MAX || w->path[0] != '/')
			return pr_errno(-EBADMSG, "files.img: inotify file id %u: invalid watch %u", fe->id, w->wd);
		if (stat(w->path, &st) < 0)
			return pr_errno(-errno, "inotify watch %u: %s (watched at dump) can't be found",
					w->wd, w->path);
	}
	return 0;
}

static int cmp_wd(const void *a, const void *b)
{
	uint32_t x = (*(InotifyWatch *const *)a)->wd, y = (*(InotifyWatch *const *)b)->wd;

	return (x > y) - (x < y);
}

/* Adds @w with its own watch descriptor: earlier numbers are taken and given back. */
static int add_with_wd(int fd, const InotifyWatch *w)
{
	uint32_t mask = w->mask & (IN_ALL_EVENTS | WATCH_FLAGS);

	for (;;) {
		char buf[RST_PATH_MAX];
		const char *at = rst_path(w->path, buf);
		int wd = at ? inotify_add_watch(fd, at, mask) : -1;

		if (wd < 0)
			return pr_errno(-errno, "inotify watch %u: adding %s (mask %#x)", w->wd, w->path, mask);
		if ((uint32_t)wd == w->wd)
			return 0;
		if ((uint32_t)wd > w->wd)
			return pr_errno(-EEXIST, "inotify watch %u: %s got watch descriptor %d (another watch of this instance is on the same file?)",
					w->wd, w->path, wd);
		if (inotify_rm_watch(fd, wd) < 0)
			return pr_errno(-errno, "inotify watch %u: removing the stand-in watch %d", w->wd, wd);
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

	(void)rf;
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return pr_errno(-errno, "inotify (file id %u): inotify_init1", fe->id);
	sorted = xmalloc((e->n_watches + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, e->watches, e->n_watches * sizeof(*sorted));
	qsort(sorted, e->n_watches, sizeof(*sorted), cmp_wd);
	for (size_t i = 0; i < e->n_watches; i++) {
		err = add_with_wd(fd, sorted[i]);
		if (err)
			return err;
	}
	err = drain(fd, fe->id);
	return err ? err : TAKE_FD(fd);
}

const struct fd_kind fd_kind_inotify = {
	.kind = FILE_KIND__FILE_INOTIFY, .name = "inotify",
	.match = inotify_match, .dump = inotify_dump, .free_entry = inotify_free_entry,
	.check = inotify_check, .open = inotify_open,
};

static int fanotify_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	return pr_errno(-EBADMSG, "files.img: file id %u is a fanotify group, which cr does not restore", fe->id);
}

/* Named, so the refusal says what it is; nothing is ever restored. */
const struct fd_kind fd_kind_fanotify = {
	.kind = FILE_KIND__FILE_FANOTIFY, .name = "fanotify",
	.match = fanotify_match, .dump = fanotify_dump, .check = fanotify_check,
};
