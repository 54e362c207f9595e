/*
 * fanotify groups: the fanotify_init() flags and every mark, as fdinfo
 * shows them ("fanotify flags:... event-flags:...", then one line per
 * mark: "fanotify ino:... sdev:... mflags:... mask:... ignored_mask:...
 * fhandle-...", "fanotify mnt_id:...", "fanotify sdev:..." for inode,
 * mount and filesystem marks).
 *
 * An inode mark's inode is found as an inotify watch's (files-notify.c).
 * A mount mark names a mount of the task's mount namespace, a filesystem
 * mark any mount of that file system there: restore marks the mount made
 * again for it (a mount namespace of the tree's own: through the holder's
 * fd of its root) or, in cr's namespace, the mount at its mount point.
 * Restore marks each object by /proc/self/fd/N of an O_PATH fd of it
 * (followed: the fd is the object itself).
 *
 * Refused: events waiting in the queue (reading takes them from the
 * task), groups with permission events (a request the task read and has
 * not answered is visible nowhere, and its answer would go to a group
 * that never asked), groups of a task in a user namespace of its own
 * (the kernel made it an unprivileged group there; cr's would be
 * privileged: pids in events, marks it could never add), and mark kinds
 * cr does not know (mount namespace marks).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "files-notify.h"
#include "log.h"
#include "mnt-priv.h"
#include "open-file.h"
#include "proc-parse.h"

#define KIND		"a fanotify group"
/* FAN_OPEN_PERM, FAN_ACCESS_PERM, FAN_OPEN_EXEC_PERM and the pre-content FAN_PRE_ACCESS (6.14). */
#define PERM_EVENTS	(0x00010000u | 0x00020000u | 0x00040000u | 0x00100000u)
/* The mark flags fdinfo's mflags shows. */
#define MFLAGS_KNOWN	(FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | FAN_MARK_IGNORE)
/* fanotify_init() flags of the fd, not the group: the framework and cr's O_CLOEXEC see to them. */
#define FD_FLAGS	(FAN_CLOEXEC | FAN_NONBLOCK)

static bool fanotify_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[fanotify]");
}

/* ---- dump ---------------------------------------------------------------- */

/* Whether @pid is in cr's namespace of kind @ns ("user", "mnt"). */
static bool same_ns(pid_t pid, const char *ns)
{
	struct stat mine, theirs;
	char p[64], q[64];

	snprintf(p, sizeof(p), "/proc/%d/ns/%s", pid, ns);
	snprintf(q, sizeof(q), "/proc/self/ns/%s", ns);
	return stat(p, &theirs) == 0 && stat(q, &mine) == 0 && mine.st_ino == theirs.st_ino &&
	       mine.st_dev == theirs.st_dev;
}

/* The mount id of what @path (as cr opens it) leads to, or -errno. */
static long mount_at(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0)
		return -errno;
	return (stx.stx_mask & STATX_MNT_ID) ? (long)stx.stx_mnt_id : -EOPNOTSUPP;
}

/*
 * The mount a mount mark (@mnt_id) or a filesystem mark (@sdev) of @d
 * names: one of the task's mount namespace, whose mount point leads to
 * it (in a namespace of the tree's own, restore reaches a hidden one
 * through the holder). Fills @m's mountpoint and mnt_id. Returns 0,
 * -ENOTSUP after files_refuse(), or -errno.
 */
static int find_mount(const struct fd_dump *d, bool fs, unsigned id, uint32_t sdev, FanotifyMarkEntry *m)
{
	bool own_ns = !same_ns(d->pid, "mnt");
	struct mnt_info *mi = NULL;
	unsigned nr = 0;
	char why[160];
	int err;

	err = mnt_read_mountinfo(d->pid, &mi, &nr);
	if (err)
		return err;
	err = -ENOENT;
	for (unsigned i = 0; i < nr && err == -ENOENT; i++) {
		char at[PATH_MAX + 32];

		if (fs ? makedev(mi[i].major, mi[i].minor) != notify_kdev(sdev) : mi[i].id != id)
			continue;
		if (proc_mnt_path(d->pid, mi[i].mountpoint, at, sizeof(at)))
			continue;
		if (!own_ns && mount_at(at) != (long)mi[i].id)
			continue;	/* hidden at its mount point, and no holder to reach it by */
		m->mountpoint = xstrdup(mi[i].mountpoint);
		m->has_mnt_id = true;
		m->mnt_id = mi[i].id;
		err = m->mountpoint ? 0 : -ENOMEM;
	}
	mnt_info_free(mi, nr);
	if (err != -ENOENT)
		return err;
	if (fs)
		snprintf(why, sizeof(why), "a filesystem mark on %u:%u, which no mount the task can reach shows",
			 major(notify_kdev(sdev)), minor(notify_kdev(sdev)));
	else
		snprintf(why, sizeof(why), "a mount mark on mount %u, which is not in the task's mount namespace or is hidden by another mount",
			 id);
	return files_refuse(d, KIND, why);
}

static int add_mark(FanotifyEntry *e, FanotifyMarkEntry *m)
{
	FanotifyMarkEntry **n = xrealloc(e->marks, (e->n_marks + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	e->marks = n;
	n[e->n_marks] = xmalloc(sizeof(**n));
	if (!n[e->n_marks])
		return -ENOMEM;
	*n[e->n_marks++] = *m;
	return 0;
}

static void mark_free(FanotifyMarkEntry *m)
{
	if (m->inode) {
		notify_inode_free(m->inode);
		free(m->inode);
	}
	free(m->mountpoint);
}

/* One "fanotify ino:|mnt_id:|sdev:" line into a mark. */
static int parse_mark(struct fd_dump *d, const char *l, FanotifyMarkEntry *m)
{
	unsigned long long ino;
	unsigned a, b;
	char why[160];
	int n = 0;

	if (sscanf(l, "fanotify ino:%llx sdev:%x %n", &ino, &a, &n) == 2 && n) {
		struct notify_handle h;

		m->type = FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_INODE;
		if (notify_parse_handle(strstr(l, "fhandle-bytes:"), &h))
			return -EBADMSG;
		m->inode = xmalloc(sizeof(*m->inode));
		if (!m->inode)
			return -ENOMEM;
		notify_inode__init(m->inode);
		l += n;
		if (sscanf(l, "mflags:%x mask:%x ignored_mask:%x", &m->mflags, &m->mask, &m->ignored_mask) != 3)
			return -EBADMSG;
		snprintf(why, sizeof(why), "an inode mark (mask %#x)", m->mask);
		return notify_inode_dump(d, KIND, why, a, ino, &h, m->inode);
	}
	if (sscanf(l, "fanotify mnt_id:%x %n", &a, &n) == 1 && n)
		m->type = FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_MOUNT;
	else if (sscanf(l, "fanotify sdev:%x %n", &b, &n) == 1 && n)
		m->type = FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_FS;
	else {
		snprintf(why, sizeof(why), "a mark of a kind cr does not know: %.60s", l);
		return files_refuse(d, KIND, why);
	}
	if (sscanf(l + n, "mflags:%x mask:%x ignored_mask:%x", &m->mflags, &m->mask, &m->ignored_mask) != 3)
		return -EBADMSG;
	return find_mount(d, m->type == FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_FS, a, b, m);
}

static int fanotify_dump(struct fd_dump *d, FileEntry *fe)
{
	FanotifyEntry *e = xmalloc(sizeof(*e));
	const char *l = d->fdinfo ? strstr(d->fdinfo, "fanotify flags:") : NULL;
	unsigned flags, event_flags;
	char why[96];
	int err;

	if (!e)
		return -ENOMEM;
	fanotify_entry__init(e);
	fe->fanotify = e;
	if (!l || sscanf(l, "fanotify flags:%x event-flags:%x", &flags, &event_flags) != 2)
		return pr_errno(-EBADMSG, "pid %d: fd %d (fanotify): no flags line in fdinfo", d->pid, d->fd);
	if (!same_ns(d->pid, "user"))
		return files_refuse(d, KIND, "its task is in a user namespace of its own (the group is an unprivileged one, cr's would not be)");
	e->flags = flags & ~FD_FLAGS;
	e->event_flags = event_flags;
	for (l = strchr(l, '\n'); l && *++l; l = strchr(l, '\n')) {
		FanotifyMarkEntry m = FANOTIFY_MARK_ENTRY__INIT;

		if (strncmp(l, "fanotify ", 9))
			continue;
		err = parse_mark(d, l, &m);
		if (err == -EBADMSG)
			pr_err("pid %d: fd %d (fanotify): unexpected mark line in fdinfo: %.100s\n", d->pid, d->fd, l);
		if (!err && (m.mask & PERM_EVENTS)) {
			snprintf(why, sizeof(why), "a mark with permission events (mask %#x): their requests cannot be kept",
				 m.mask);
			err = files_refuse(d, KIND, why);
		}
		if (!err && (m.mflags & ~MFLAGS_KNOWN))
			err = files_refuse(d, KIND, "a mark with flags cr does not know");
		if (!err)
			err = add_mark(e, &m);
		if (err) {
			mark_free(&m);
			return err;
		}
	}
	return notify_refuse_queued(d, KIND);
}

static void fanotify_free_entry(FileEntry *fe)
{
	FanotifyEntry *e = fe->fanotify;

	if (!e)
		return;
	for (size_t i = 0; i < e->n_marks; i++) {
		mark_free(e->marks[i]);
		free(e->marks[i]);
	}
	free(e->marks);
	free(e);
	fe->fanotify = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static int fanotify_check(struct files_rst *rf, const FileEntry *fe)
{
	const FanotifyEntry *e = fe->fanotify;

	(void)rf;
	if (!e)
		return pr_errno(-EBADMSG, "files.img: file id %u: no fanotify record", fe->id);
	for (size_t i = 0; i < e->n_marks; i++) {
		const FanotifyMarkEntry *m = e->marks[i];
		bool inode = m->type == FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_INODE;

		if (inode != !!m->inode || (!inode && (!m->mountpoint || m->mountpoint[0] != '/' || !m->has_mnt_id)) ||
		    (m->mflags & ~MFLAGS_KNOWN))
			return pr_errno(-EBADMSG, "files.img: fanotify file id %u: invalid mark %zu", fe->id, i);
		if (inode) {
			int err = notify_inode_check(m->inode, "fanotify inode mark");

			if (err)
				return err;
		}
	}
	return 0;
}

/* An O_PATH fd of what @m marks, or -errno (logged). */
static int mark_object(struct files_rst *rf, const FanotifyMarkEntry *m)
{
	char buf[RST_PATH_MAX];
	const char *at;
	int fd;

	if (m->inode)
		return notify_inode_open(rf, m->inode, "fanotify inode mark");
	/* A namespace of the tree's own: the mount made again for it, even one hidden at its mount point. */
	at = rst_holder() ? rst_mnt_path(m->mnt_id, "", buf) : rst_path(m->mountpoint, buf);
	if (!at)
		return pr_errno(-errno, "fanotify mark on mount %u (%s)", m->mnt_id, m->mountpoint);
	fd = open(at, O_PATH | O_CLOEXEC);
	return fd < 0 ? pr_errno(-errno, "fanotify mark on mount %u: opening %s", m->mnt_id, m->mountpoint) : fd;
}

static int mark_one(struct files_rst *rf, int group, const FanotifyMarkEntry *m)
{
	static const unsigned type_flag[] = {
		[FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_INODE] = FAN_MARK_INODE,
		[FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_MOUNT] = FAN_MARK_MOUNT,
		[FANOTIFY_MARK_TYPE__FAN_MARK_TYPE_FS] = FAN_MARK_FILESYSTEM,
	};
	unsigned flags = FAN_MARK_ADD | type_flag[m->type] | (m->mflags & FAN_MARK_EVICTABLE);
	unsigned ign = (m->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;
	_cleanup_close_ int obj = -EBADF;
	char at[64];

	obj = mark_object(rf, m);
	if (obj < 0)
		return obj;
	snprintf(at, sizeof(at), "/proc/self/fd/%d", obj);
	/* The mask first: the ignore call's flags (FAN_MARK_IGNORE) then go to a mark with an empty ignore mask. */
	if (m->mask && fanotify_mark(group, flags, m->mask, AT_FDCWD, at) < 0)
		return pr_errno(-errno, "fanotify_mark (flags %#x, mask %#x)", flags, m->mask);
	flags |= ign | (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY);
	if ((m->ignored_mask || (m->mflags & FAN_MARK_IGNORE)) &&
	    fanotify_mark(group, flags, m->ignored_mask, AT_FDCWD, at) < 0)
		return pr_errno(-errno, "fanotify_mark (flags %#x, ignored mask %#x)", flags, m->ignored_mask);
	return 0;
}

static int fanotify_open(struct files_rst *rf, const FileEntry *fe)
{
	const FanotifyEntry *e = fe->fanotify;
	_cleanup_close_ int fd = -EBADF;

	fd = fanotify_init(e->flags | FAN_CLOEXEC, e->event_flags);
	if (fd < 0)
		return pr_errno(-errno, "fanotify (file id %u): fanotify_init(%#x, %#x)", fe->id, e->flags,
				e->event_flags);
	for (size_t i = 0; i < e->n_marks; i++) {
		int err = mark_one(rf, fd, e->marks[i]);

		if (err)
			return pr_errno(err, "fanotify (file id %u): mark %zu", fe->id, i);
	}
	return TAKE_FD(fd);
}

const struct fd_kind fd_kind_fanotify = {
	.kind = FILE_KIND__FILE_FANOTIFY, .name = "fanotify",
	.match = fanotify_match, .dump = fanotify_dump, .deferred = true, .free_entry = fanotify_free_entry,
	.check = fanotify_check, .open = fanotify_open,
};
