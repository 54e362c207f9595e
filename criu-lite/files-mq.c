/*
 * Open POSIX message queues (mqd_t: an fd of a file in the mqueue file
 * system of an ipc namespace). The fd's link is the queue's path on its
 * mount: "/NAME" on the namespace's internal mount (mq_open), or
 * "/dev/mqueue/NAME" when opened through a mount of the file system (it
 * is flat: the name is the last component).
 *
 * The entry keeps the name; access mode and O_NONBLOCK are the file's
 * status flags (the framework's). Restore opens the queue again by name
 * with mq_open() (no O_CREAT), in cr's ipc namespace at that time:
 *   - the tree has an ipc namespace of its own: the new one, where
 *     ipcns_restore() made the queue with its messages beforehand;
 *   - the tree shares cr's (the h flavor): the queue belongs to that
 *     namespace like a file to its file system, not to the tree, so its
 *     content is not dumped; the tree's fd comes back, reopened by name,
 *     on whatever queue of that name is there (none: the restore fails
 *     naming it).
 * A queue unlinked while open (its link ends in " (deleted)") has no
 * name and is in no namespace's listing: only its open files hold it, so
 * it is the tree's. The first open file of it in the dump keeps the
 * queue (attributes, owner, mode, messages, read like ipcns_dump() reads
 * a named one: taken and put back at once); restore makes it again under
 * a temporary name in cr's ipc namespace, removes the name at once and
 * fills it. Other open files of the same queue name the first one and
 * are opened again through /proc/self/fd of it.
 *
 * Dump refuses a named queue that is not the one its name opens in the
 * tree's ipc namespace (replaced since, or of another ipc namespace,
 * e.g. opened before an unshare): it has no name to be opened by. The
 * fd's position and its mq_notify registration are not kept (a
 * registration on a queue cr saves is refused); an fd opened through a
 * mount of the mqueue file system (/dev/mqueue/NAME) comes back as
 * mq_open() makes it, on the namespace's internal mount (its link then
 * reads /NAME).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "namespaces.h"
#include "ns-ipc-priv.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC	0x19800202
#endif
#define DELETED_SUFFIX	" (deleted)"
#define MQ_PRIO_LIMIT	32768		/* MQ_PRIO_MAX */

static bool mq_match(const struct fd_dump *d)
{
	char p[64];
	struct statfs sf;

	if (!S_ISREG(d->st.st_mode) || d->link[0] != '/' || (d->fdi.flags & O_PATH))
		return false;
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", d->pid, d->fd);
	return !statfs(p, &sf) && sf.f_type == MQUEUE_MAGIC;
}

/* The queue name of a link (with @suffix bytes of " (deleted)"); NULL if it is not a plain name. */
static const char *mq_link_name(const char *link, size_t suffix)
{
	const char *name = strrchr(link, '/') + 1;
	size_t len = strlen(name) - suffix;

	return len && len <= NAME_MAX ? name : NULL;
}

/* An unlinked queue: the first open file of it keeps it, the others name that one. */
static int mq_dump_unlinked(struct fd_dump *d, FileEntry *fe, MqueueEntry *e)
{
	char p[64], what[NAME_MAX + 96];
	_cleanup_close_ int fd = -EBADF;
	struct ipc_mq_copy c = { 0 };
	uint32_t id;
	int err;

	e->has_unlinked = e->unlinked = true;
	err = files_dump_find(d->df, d->st.st_dev, d->st.st_ino, NULL, NULL, &id);
	if (err && err != -ENOENT)
		return err;
	if (!err && id != fe->id) {
		e->has_same_as = true;
		e->same_as = id;
		return 0;
	}
	snprintf(what, sizeof(what), "pid %d: fd %d: POSIX message queue /%s, unlinked while open", d->pid, d->fd,
		 e->name);
	/* A description of cr's own, readable and writable whatever the tree's is. */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", d->cr_fd);
	fd = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "%s: opening it again", what);
	err = ipc_mq_copy(d->df, fd, what, &c);
	if (err)
		return err;
	e->has_maxmsg = e->has_msgsize = e->has_mode = e->has_uid = e->has_gid = true;
	e->maxmsg = c.maxmsg;
	e->msgsize = c.msgsize;
	e->mode = c.mode;
	e->uid = c.uid;
	e->gid = c.gid;
	e->msgs = c.msgs;
	e->n_msgs = c.nr;
	pr_info("%s: kept with %zu messages", what, c.nr);
	return 0;
}

static int mq_dump(struct fd_dump *d, FileEntry *fe)
{
	size_t len = strlen(d->link), slen = strlen(DELETED_SUFFIX);
	bool deleted = len > slen && !strcmp(d->link + len - slen, DELETED_SUFFIX);
	const char *name = mq_link_name(d->link, deleted ? slen : 0);
	char path[NAME_MAX + 2];
	MqueueEntry *e;
	struct stat st;
	mqd_t mqd;
	int err;

	if (!name)
		return files_refuse(d, "a POSIX message queue", "its path has no queue name");
	if (deleted) {
		e = xmalloc(sizeof(*e));
		if (!e)
			return -ENOMEM;
		mqueue_entry__init(e);
		fe->mqueue = e;
		e->name = strndup(name, strlen(name) - slen);
		return e->name ? mq_dump_unlinked(d, fe, e) : -ENOMEM;
	}
	snprintf(path, sizeof(path), "/%s", name);
	/* Read-only: opening changes nothing of the queue. */
	mqd = mq_open(path, O_RDONLY | O_NONBLOCK);
	if (mqd == (mqd_t)-1 && errno != ENOENT)
		return pr_errno(-errno, "pid %d: fd %d (%s): mq_open of POSIX message queue %s", d->pid, d->fd,
				d->link, path);
	err = mqd == (mqd_t)-1 ? -ENOENT : fstat(mqd, &st) < 0 ? -errno : 0;
	if (mqd != (mqd_t)-1)
		mq_close(mqd);
	if (err && err != -ENOENT)
		return pr_errno(err, "pid %d: fd %d (%s): fstat of POSIX message queue %s", d->pid, d->fd, d->link,
				path);
	if (err || st.st_dev != d->st.st_dev || st.st_ino != d->st.st_ino)
		return files_refuse(d, "a POSIX message queue", "it is not the queue of that name in the tree's ipc "
				    "namespace (unlinked and made again, or of another ipc namespace): it has no "
				    "name to be opened by");

	e = xmalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	mqueue_entry__init(e);
	fe->mqueue = e;
	e->name = xstrdup(name);
	return e->name ? 0 : -ENOMEM;
}

static void mq_free_entry(FileEntry *fe)
{
	struct ipc_mq_copy c;

	if (!fe->mqueue)
		return;
	c.msgs = fe->mqueue->msgs;
	c.nr = fe->mqueue->n_msgs;
	ipc_mq_copy_free(&c);
	free(fe->mqueue->name);
	free(fe->mqueue);
	fe->mqueue = NULL;
}

static int mq_check_unlinked(struct files_rst *rf, const FileEntry *fe)
{
	const MqueueEntry *e = fe->mqueue;

	if (e->has_same_as) {
		const FileEntry *q = files_rst_entry(rf, e->same_as);

		if (!q || q->kind != FILE_KIND__FILE_MQUEUE || !q->mqueue || !q->mqueue->unlinked ||
		    q->mqueue->has_same_as)
			return pr_errno(-EBADMSG, "files.img: file id %u: unlinked POSIX message queue /%s: file id "
					"%u is not the one that keeps it", fe->id, e->name, e->same_as);
		return 0;
	}
	if (!e->has_maxmsg || !e->has_msgsize || !e->maxmsg || !e->msgsize || e->maxmsg > IPC_MQ_HARD_MSGMAX ||
	    e->msgsize > IPC_MQ_HARD_MSGSIZEMAX || !e->has_mode || (e->mode & ~07777u) || !e->has_uid || !e->has_gid ||
	    e->n_msgs > e->maxmsg)
		return pr_errno(-EBADMSG, "files.img: file id %u: unlinked POSIX message queue /%s: no valid "
				"attributes", fe->id, e->name);
	for (size_t i = 0; i < e->n_msgs; i++)
		if (e->msgs[i]->prio >= MQ_PRIO_LIMIT || e->msgs[i]->text->len > e->msgsize)
			return pr_errno(-EBADMSG, "files.img: file id %u: unlinked POSIX message queue /%s: "
					"message %zu is out of range", fe->id, e->name, i);
	return 0;
}

static int mq_check(struct files_rst *rf, const FileEntry *fe)
{
	const char *name = fe->mqueue ? fe->mqueue->name : NULL;

	if (!name || !*name || strlen(name) > NAME_MAX || strchr(name, '/'))
		return pr_errno(-EBADMSG, "files.img: file id %u: no valid POSIX message queue record", fe->id);
	if ((fe->flags & O_ACCMODE) == O_ACCMODE)
		return pr_errno(-EBADMSG, "files.img: file id %u: POSIX message queue /%s: access mode 3", fe->id,
				name);
	return fe->mqueue->unlinked ? mq_check_unlinked(rf, fe) : 0;
}

/* Another open file of the queue open as cr's @fd, with @fe's access mode and O_NONBLOCK. */
static int mq_reopen(const FileEntry *fe, int fd)
{
	char p[64];
	int nfd;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	nfd = open(p, (fe->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC);
	if (nfd < 0)
		return pr_errno(-errno, "unlinked POSIX message queue /%s (file id %u): opening it again",
				fe->mqueue->name, fe->id);
	return nfd;
}

/*
 * Made under a temporary name in cr's ipc namespace (removed at once,
 * before anything can fail after it), then filled and opened again with
 * the entry's flags.
 */
static int mq_open_unlinked(struct files_rst *rf, const FileEntry *fe)
{
	const MqueueEntry *e = fe->mqueue;
	struct mq_attr a = { .mq_maxmsg = e->maxmsg, .mq_msgsize = e->msgsize };
	char tmp[64], what[NAME_MAX + 64];
	_cleanup_close_ int mqd = -EBADF;
	uint32_t fsuid, fsgid;
	int err, fd;

	if (e->has_same_as) {
		fd = files_rst_get(rf, e->same_as);
		return fd < 0 ? fd : mq_reopen(fe, fd);
	}
	snprintf(what, sizeof(what), "unlinked POSIX message queue /%s (file id %u)", e->name, fe->id);
	snprintf(tmp, sizeof(tmp), "/.cr-unlinked-%d-%u", getpid(), fe->id);
	/* In a user namespace's ipc namespace a mapped fsuid makes it (namespaces.h). */
	userns_fsid_begin(&fsuid, &fsgid);
	mqd = mq_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
	err = mqd < 0 ? errno : 0;
	userns_fsid_end(fsuid, fsgid);
	if (mqd < 0)
		return pr_errno(-err, "%s: mq_open(%s, O_CREAT) with maxmsg %ld, msgsize %ld%s", what, tmp,
				a.mq_maxmsg, a.mq_msgsize, err == EINVAL ? " (above /proc/sys/fs/mqueue/msg_max "
				"or msgsize_max of cr's ipc namespace?)" : "");
	if (mq_unlink(tmp) < 0)
		return pr_errno(-errno, "%s: removing its temporary name %s", what, tmp);
	if (fchown(mqd, e->uid, e->gid) < 0)
		return pr_errno(-errno, "%s: owner %u:%u", what, e->uid, e->gid);
	if (fchmod(mqd, e->mode) < 0)
		return pr_errno(-errno, "%s: mode 0%o", what, e->mode);
	err = ipc_mq_fill(rf, mqd, what, e->msgs, e->n_msgs, e->msgsize);
	return err ? err : mq_reopen(fe, mqd);
}

static int mq_open_entry(struct files_rst *rf, const FileEntry *fe)
{
	char path[NAME_MAX + 2];
	mqd_t mqd;

	if (fe->mqueue->unlinked)
		return mq_open_unlinked(rf, fe);
	snprintf(path, sizeof(path), "/%s", fe->mqueue->name);
	/* mq_open() makes every fd O_CLOEXEC. */
	mqd = mq_open(path, (fe->flags & (O_ACCMODE | O_NONBLOCK)));
	if (mqd == (mqd_t)-1)
		return pr_errno(-errno, "POSIX message queue %s (file id %u): mq_open%s", path, fe->id,
				errno == ENOENT ? " (a queue the tree shares with cr's ipc namespace is not "
				"saved: it must exist at restore)" : "");
	return mqd;
}

static const char *mq_key(const FileEntry *fe, char *buf, size_t size)
{
	snprintf(buf, size, "mqueue:/%s", fe->mqueue->name);
	return buf;
}

const struct fd_kind fd_kind_mqueue = {
	.kind = FILE_KIND__FILE_MQUEUE, .name = "POSIX message queue",
	.match = mq_match, .dump = mq_dump, .free_entry = mq_free_entry,
	.check = mq_check, .open = mq_open_entry, .key = mq_key,
};
