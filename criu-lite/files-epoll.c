/*
 * epoll instances with every watch.
 *
 * The kernel keys a watch by (open file, fd number at EPOLL_CTL_ADD);
 * fdinfo shows each as "tfd: N events: E data: D ... ino: I sdev: S".
 * The watched file is found among the tree's open files with
 * kcmp(KCMP_EPOLL_TFD), which compares a task's fd with the file behind a
 * watch, so the dump runs once every fd of the tree has an id (deferred).
 *
 * Restore adds each watch in cr, after every file is open (post_open),
 * with the target put at number tfd for the EPOLL_CTL_ADD: the watch gets
 * its old key, so the task's later EPOLL_CTL_MOD/DEL on that number work.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/kcmp.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"

/* A kernel-internal dev_t, as fdinfo prints it (MINORBITS 20). */
#define KDEV_MINORBITS	20

static bool epoll_match(const struct fd_dump *d)
{
	return !strcmp(d->link, "anon_inode:[eventpoll]");
}

/* ---- dump ---------------------------------------------------------------- */

struct epoll_target_arg {
	pid_t pid;			/* a task holding the epoll */
	struct kcmp_epoll_slot slot;
};

/*
 * kcmp() order of @pid's @fd against the watch's file. KCMP_EPOLL_TFD
 * compares the first task's fd (v1) with the watch's file (v2); the
 * framework wants the order of the file looked for against @fd: swapped.
 */
static int kcmp_epoll_target(pid_t pid, int fd, void *arg)
{
	struct epoll_target_arg *a = arg;
	long r = syscall(SYS_kcmp, pid, a->pid, KCMP_EPOLL_TFD, fd, &a->slot);

	return r == 1 ? 2 : r == 2 ? 1 : (int)r;
}

static int add_watch(EpollEntry *e, EpollWatch *w)
{
	EpollWatch **n = xrealloc(e->watches, (e->n_watches + 1) * sizeof(*n));
	EpollWatch *c;

	if (!n)
		return -ENOMEM;
	e->watches = n;
	c = xmalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = *w;
	e->watches[e->n_watches++] = c;
	return 0;
}

/* How many watches already parsed have the fd number @tfd: kcmp's toff. */
static unsigned toff_of(const EpollEntry *e, unsigned tfd)
{
	unsigned n = 0;

	for (size_t i = 0; i < e->n_watches; i++)
		n += e->watches[i]->tfd == tfd;
	return n;
}

static int epoll_dump(struct fd_dump *d, FileEntry *fe)
{
	EpollEntry *e = xmalloc(sizeof(*e));

	if (!e)
		return -ENOMEM;
	epoll_entry__init(e);
	fe->epoll = e;
	for (const char *l = d->fdinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		struct epoll_target_arg arg = { .pid = d->pid };
		EpollWatch w = EPOLL_WATCH__INIT;
		unsigned long long data, ino;
		unsigned events, sdev;
		int tfd, err;
		char why[128];

		if (strncmp(l, "tfd:", 4))
			continue;
		if (sscanf(l, "tfd: %d events: %x data: %llx pos:%*d ino:%llx sdev:%x",
			   &tfd, &events, &data, &ino, &sdev) != 5 || tfd < 0)
			return pr_errno(-EBADMSG, "pid %d: fd %d (epoll): unexpected watch line in fdinfo: %.80s",
					d->pid, d->fd, l);
		arg.slot.efd = d->fd;
		arg.slot.tfd = tfd;
		arg.slot.toff = toff_of(e, tfd);
		err = files_dump_find(d->df, makedev(sdev >> KDEV_MINORBITS, sdev & ((1u << KDEV_MINORBITS) - 1)),
				      ino, kcmp_epoll_target, &arg, &w.target);
		if (err == -ENOENT) {
			snprintf(why, sizeof(why), "it watches a file (added as fd %d) that no process of the tree has open",
				 tfd);
			return files_refuse(d, "an epoll instance", why);
		}
		if (err)
			return pr_errno(err, "pid %d: fd %d (epoll): finding the file watched as fd %d",
					d->pid, d->fd, tfd);
		w.tfd = tfd;
		w.events = events;
		w.data = data;
		err = add_watch(e, &w);
		if (err)
			return err;
	}
	return 0;
}

static void epoll_free_entry(FileEntry *fe)
{
	EpollEntry *e = fe->epoll;

	if (!e)
		return;
	for (size_t i = 0; i < e->n_watches; i++)
		free(e->watches[i]);
	free(e->watches);
	free(e);
	fe->epoll = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static int epoll_check(struct files_rst *rf, const FileEntry *fe)
{
	if (!fe->epoll)
		return pr_errno(-EBADMSG, "files.img: file id %u: no epoll record", fe->id);
	for (size_t i = 0; i < fe->epoll->n_watches; i++) {
		const EpollWatch *w = fe->epoll->watches[i];

		if (!files_rst_entry(rf, w->target) || w->tfd > INT32_MAX)
			return pr_errno(-EBADMSG, "files.img: epoll file id %u watches file id %u as fd %u, which files.img lacks",
					fe->id, w->target, w->tfd);
	}
	return 0;
}

static int epoll_open(struct files_rst *rf, const FileEntry *fe)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	(void)rf;
	if (fd < 0)
		return pr_errno(-errno, "epoll (file id %u): epoll_create1", fe->id);
	return fd;
}

/*
 * EPOLL_CTL_ADD of @tgt into @ep under the number @tfd: whatever cr has
 * at @tfd is moved away meanwhile and put back after.
 */
static int add_at(int ep, int tgt, const EpollWatch *w, uint32_t id)
{
	struct epoll_event ev = { .events = w->events, .data.u64 = w->data };
	int tfd = w->tfd, saved = -1, saved_fl = 0, err = 0;

	if (tgt != tfd) {
		saved_fl = fcntl(tfd, F_GETFD);
		if (saved_fl >= 0) {
			saved = fcntl(tfd, F_DUPFD_CLOEXEC, 0);
			if (saved < 0)
				return pr_errno(-errno, "epoll (file id %u): moving cr's fd %d away", id, tfd);
			if (ep == tfd)
				ep = saved;
		} else if (errno != EBADF) {
			return pr_errno(-errno, "epoll (file id %u): F_GETFD %d", id, tfd);
		}
		if (dup2(tgt, tfd) < 0) {
			err = pr_errno(-errno, "epoll (file id %u): putting file id %u at fd %d",
				       id, w->target, tfd);
			goto out;
		}
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
		err = pr_errno(-errno, "epoll (file id %u): adding file id %u as fd %d (events %#x)",
			       id, w->target, tfd, w->events);
out:
	if (tgt != tfd) {
		if (saved >= 0) {
			if (dup3(saved, tfd, saved_fl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0 && !err)
				err = pr_errno(-errno, "epoll (file id %u): putting cr's fd %d back", id, tfd);
			close(saved);
		} else {
			close(tfd);
		}
	}
	return err;
}

static int epoll_post_open(struct files_rst *rf, const FileEntry *fe, int fd)
{
	for (size_t i = 0; i < fe->epoll->n_watches; i++) {
		const EpollWatch *w = fe->epoll->watches[i];
		int tgt = files_rst_get(rf, w->target), err;

		if (tgt < 0)
			return tgt;
		err = add_at(fd, tgt, w, fe->id);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_kind_epoll = {
	.kind = FILE_KIND__FILE_EPOLL, .name = "epoll",
	.match = epoll_match, .dump = epoll_dump, .deferred = true,
	.free_entry = epoll_free_entry,
	.check = epoll_check, .open = epoll_open, .post_open = epoll_post_open,
};
