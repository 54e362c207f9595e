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
 * Dump refuses a queue that is not the one its name opens in the tree's
 * ipc namespace (unlinked while open, replaced, or of another ipc
 * namespace, e.g. opened before an unshare): it has no name to be opened
 * by. The fd's position and its mq_notify registration are not kept (the
 * queue's dump refuses a registration in the tree's namespace).
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

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC	0x19800202
#endif
#define DELETED_SUFFIX	" (deleted)"

static bool mq_match(const struct fd_dump *d)
{
	char p[64];
	struct statfs sf;

	if (!S_ISREG(d->st.st_mode) || d->link[0] != '/' || (d->fdi.flags & O_PATH))
		return false;
	snprintf(p, sizeof(p), "/proc/%d/fd/%d", d->pid, d->fd);
	return !statfs(p, &sf) && sf.f_type == MQUEUE_MAGIC;
}

/* The queue name of a link; NULL if it is not a plain name. */
static const char *mq_link_name(const char *link)
{
	const char *name = strrchr(link, '/') + 1;

	return *name && strlen(name) <= NAME_MAX ? name : NULL;
}

static int mq_dump(struct fd_dump *d, FileEntry *fe)
{
	size_t len = strlen(d->link), slen = strlen(DELETED_SUFFIX);
	const char *name = mq_link_name(d->link);
	char path[NAME_MAX + 2];
	MqueueEntry *e;
	struct stat st;
	mqd_t mqd;
	int err;

	if (len > slen && !strcmp(d->link + len - slen, DELETED_SUFFIX))
		return files_refuse(d, "a POSIX message queue", "it was unlinked while open: it has no name to be "
				    "opened by");
	if (!name)
		return files_refuse(d, "a POSIX message queue", "its path has no queue name");
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
	if (!fe->mqueue)
		return;
	free(fe->mqueue->name);
	free(fe->mqueue);
	fe->mqueue = NULL;
}

static int mq_check(struct files_rst *rf, const FileEntry *fe)
{
	const char *name = fe->mqueue ? fe->mqueue->name : NULL;

	(void)rf;
	if (!name || !*name || strlen(name) > NAME_MAX || strchr(name, '/'))
		return pr_errno(-EBADMSG, "files.img: file id %u: no valid POSIX message queue record", fe->id);
	if ((fe->flags & O_ACCMODE) == O_ACCMODE)
		return pr_errno(-EBADMSG, "files.img: file id %u: POSIX message queue /%s: access mode 3", fe->id,
				name);
	return 0;
}

static int mq_open_entry(struct files_rst *rf, const FileEntry *fe)
{
	char path[NAME_MAX + 2];
	mqd_t mqd;

	(void)rf;
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
