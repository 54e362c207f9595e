/*
 * Files in flight: fds sent over a unix socket (SCM_RIGHTS) and not
 * received yet. No task has them in its table; the socket's queue holds
 * them.
 *
 * Dump: a peek at the queue (MSG_PEEK) installs a copy of each in cr's
 * table (the kernel duplicates what it would hand the receiver). That
 * copy names the very open file description in flight, so it is looked
 * up like a task's fd (device and inode, then kcmp): a description some
 * task also holds gets that fd's id (the same position and flags after
 * restore), any other one an entry of its own, dumped like a task's fd
 * with cr as its holder. cr keeps its copy open until the dump ends, for
 * the kcmp of later fds. The kinds see it with cr's pid and fd number.
 *
 * Restore: such an entry is created in cr before the fork like every
 * other; the socket kind sends it into the queue again, then cr closes
 * its copy with the rest (files_close_all()).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "files-priv.h"
#include "log.h"

int files_dump_flight(struct files_dump *df, const struct fd_dump *via, int fd, uint32_t *ret_id)
{
	_cleanup_close_ int own = fcntl(fd, F_DUPFD_CLOEXEC, 0), pidfd = -EBADF;
	struct fd_dump d = { .df = df, .cr_fd = -1 };
	uint32_t id;
	int err;

	if (own < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): keeping a file in flight in its queue", via->pid,
				via->fd, via->link);
	/* cr killed while it holds files in flight: the tree keeps them queued. */
	err = cr_fail_point("files-in-flight");
	if (!err)
		err = files_probe_fd(getpid(), own, &d);
	if (!err)
		err = files_ident_get(df->ident, &d, &id);
	if (err == 1) {
		pr_info("pid %d: fd %d: a file in flight in its queue, %s, is file id %u (cr's fd %d)",
			via->pid, via->fd, d.link, id, own);
		pidfd = syscall(SYS_pidfd_open, getpid(), 0);
		err = pidfd < 0 ? pr_errno(-errno, "pidfd_open of cr itself") : 0;
		if (!err)
			err = files_dump_new(df, pidfd, &d, id);
		if (!err)
			err = files_dump_hold(df, own);
		if (!err)
			TAKE_FD(own);
	}
	files_fd_release(&d);
	if (err)
		return pr_errno(err, "pid %d: fd %d (%s): a file in flight in its queue (SCM_RIGHTS) cannot be dumped",
				via->pid, via->fd, via->link);
	*ret_id = id;
	return 0;
}

int files_rst_flight_fd(struct files_rst *rf, uint32_t id)
{
	long idx = files_rst_index(rf, id);

	if (idx < 0)
		return pr_errno(-EBADMSG, "files.img: no file id %u, which a unix socket's queue carries", id);
	if (files_rst_in_task(&rf->f[idx]))
		return pr_errno(-ENOTSUP, "file id %u (%s) is in flight in a unix socket's queue, but only a task can open it",
				id, rf->f[idx].kind->name);
	return files_rst_get(rf, id);
}
