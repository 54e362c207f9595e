/*
 * pidfds (pidfd_open(), clone(CLONE_PIDFD)): an fd naming a process.
 * fdinfo's "Pid:" says which one, in the pid namespace of the /proc it
 * is read through (cr's): a task of the tree (alive or a zombie), -1 once
 * the process was reaped, 0 for one outside that namespace.
 *
 * A pidfd of a task of the tree is opened again by the task that holds
 * it, once the whole tree exists (open_in_task), with pidfd_open() of the
 * pid its own pid namespace gives the target (the dump translates it with
 * the NS_GET_PID_IN_PIDNS ioctl of that namespace). The status flags are
 * the file's: O_NONBLOCK is PIDFD_NONBLOCK, O_EXCL PIDFD_THREAD.
 *
 * A pidfd of a reaped process names no pid any more: pidfd_send_signal()
 * says ESRCH, waitid() ECHILD, poll() is readable, and PIDFD_GET_INFO
 * (kernel 6.15) tells the exit status. Restore makes a process that ends
 * with that status, opens its pidfd and reaps it: the same answers to
 * all of these. Its pid and inode are new, as for any object. The
 * stand-in is the holder's child, made once every task exists.
 *
 * Refused: a pidfd of a process outside the tree (restore could not
 * make it name that process again), of a thread other than a leader
 * (threads are made after the fds), of a target outside the holder's pid
 * namespace, and of a reaped process whose exit status the kernel does
 * not tell. Several holders of one pidfd each open their own (they share
 * no O_NONBLOCK afterwards), numbering the target as the first holder's
 * pid namespace does.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "restore.h"

#define PIDFD_LINK		"anon_inode:[pidfd]"
#define PIDFD_THREAD_FLAG	O_EXCL		/* PIDFD_THREAD */

/* nsfs ioctl (kernel 6.10): a pid of the caller's pid namespace in the namespace of the fd. */
#define NSIO			0xb7
#define NS_GET_PID_IN_PIDNS	_IOR(NSIO, 0x8, int)

/* PIDFD_GET_INFO (kernel 6.13, exit_code 6.15): struct pidfd_info up to exit_code (its first 64 bytes). */
struct pidfd_info_v0 {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define PIDFD_GET_INFO		_IOWR(0xFF, 11, struct pidfd_info_v0)
#define PIDFD_INFO_EXIT		(1ULL << 3)

static bool pidfd_match(const struct fd_dump *d)
{
	return !strcmp(d->link, PIDFD_LINK);
}

/* The wait status of the reaped process @d names, into @p. Returns 0 or -ENOTSUP (logged). */
static int dump_reaped(struct fd_dump *d, PidfdEntry *p)
{
	struct pidfd_info_v0 info = { .mask = PIDFD_INFO_EXIT };

	if (ioctl(d->cr_fd, PIDFD_GET_INFO, &info) < 0 || !(info.mask & PIDFD_INFO_EXIT))
		return files_refuse(d, "a pidfd of a process that was reaped",
				    "the kernel does not tell its exit status (PIDFD_INFO_EXIT, Linux 6.15)");
	p->pid = 0;
	p->has_exit_status = true;
	p->exit_status = info.exit_code;
	return 0;
}

/* @pid (cr's pid namespace) as task @holder's pid namespace numbers it, or -errno (logged). */
static int pid_in_holder_ns(const struct fd_dump *d, pid_t pid)
{
	_cleanup_close_ int ns = -EBADF;
	char path[64];
	int n;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", d->pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return pr_errno(-errno, "pid %d: fd %d (pidfd): open %s", d->pid, d->fd, path);
	n = ioctl(ns, NS_GET_PID_IN_PIDNS, pid);
	if (n < 0 && errno == ESRCH)
		return files_refuse(d, "a pidfd", "its process is outside the pid namespace of the task holding it");
	if (n <= 0)
		return pr_errno(-errno, "pid %d: fd %d (pidfd): pid %d in its pid namespace (NS_GET_PID_IN_PIDNS)",
				d->pid, d->fd, pid);
	return n;
}

static int pidfd_dump(struct fd_dump *d, FileEntry *fe)
{
	PidfdEntry *p = xmalloc(sizeof(*p));
	char why[96];
	uint64_t v;
	int64_t pid;
	int err;

	if (!p)
		return -ENOMEM;
	pidfd_entry__init(p);
	fe->pidfd = p;
	err = files_fdinfo_u64(d, "Pid:", 10, &v);
	if (err)
		return err;
	pid = (int64_t)v;
	if (pid == -1)
		return dump_reaped(d, p);
	if (pid <= 0 || pid > INT32_MAX)
		return files_refuse(d, "a pidfd", "of a process outside cr's pid namespace");
	if (!files_dump_pid_in_tree(d->df, pid)) {
		snprintf(why, sizeof(why), (fe->flags & PIDFD_THREAD_FLAG) ?
			 "thread %" PRId64 " is not the leader of a process of the tree (threads come after the fds)" :
			 "process %" PRId64 " is not in the dumped tree", pid);
		return files_refuse(d, "a pidfd", why);
	}
	err = pid_in_holder_ns(d, pid);
	if (err < 0)
		return err;
	p->pid = err;
	return 0;
}

static int pidfd_check(struct files_rst *rf, const FileEntry *fe)
{
	const PidfdEntry *p = fe->pidfd;

	(void)rf;
	if (!p || p->pid < 0 || (!p->pid && !p->has_exit_status))
		return pr_errno(-EBADMSG, "files.img: file id %u: no valid pidfd record", fe->id);
	return 0;
}

static unsigned open_flags(const FileEntry *fe)
{
	return fe->flags & (O_NONBLOCK | PIDFD_THREAD_FLAG);
}

/*
 * In the holder: a pidfd of its child that ended with @fe's exit status
 * and was reaped (its SIGCHLD is dropped with the other pending signals
 * the image does not list).
 */
static int open_reaped(const FileEntry *fe)
{
	_cleanup_close_ int fd = -EBADF;
	int status, err = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return pr_errno(-errno, "pidfd (file id %u): forking its reaped process", fe->id);
	if (!pid)
		become_zombie(fe->pidfd->exit_status);
	/* Not reaped yet, so a zombie at worst: pidfd_open() still finds it. */
	fd = syscall(SYS_pidfd_open, pid, open_flags(fe));
	if (fd < 0)
		err = pr_errno(-errno, "pidfd (file id %u): pidfd_open of its stand-in %d", fe->id, pid);
	if (waitpid(pid, &status, 0) != pid)
		return pr_errno(-errno, "pidfd (file id %u): reaping its stand-in %d", fe->id, pid);
	if (!err && status != fe->pidfd->exit_status)
		err = pr_errno(-EIO, "pidfd (file id %u): its stand-in ended with status %#x, not %#x",
			       fe->id, status, fe->pidfd->exit_status);
	return err ? err : TAKE_FD(fd);
}

static int pidfd_open_entry(struct files_rst *rf, const FileEntry *fe)
{
	int fd;

	(void)rf;
	if (!fe->pidfd->pid)
		return open_reaped(fe);
	/* A pidfd is always close-on-exec; the framework sets the fd's flag as dumped. */
	fd = syscall(SYS_pidfd_open, fe->pidfd->pid, open_flags(fe));
	if (fd < 0)
		return pr_errno(-errno, "pidfd (file id %u): pidfd_open of pid %d", fe->id, fe->pidfd->pid);
	return fd;
}

/*
 * The live (or zombie) target exists only once the tree does; a reaped
 * one's stand-in is the holder's child, in the holder's pid namespace
 * (pidfd_send_signal() through a pidfd of another says EINVAL).
 */
static bool pidfd_open_in_task(const FileEntry *fe)
{
	return fe->pidfd != NULL;
}

static void pidfd_free_entry(FileEntry *fe)
{
	free(fe->pidfd);
	fe->pidfd = NULL;
}

const struct fd_kind fd_kind_pidfd = {
	.kind = FILE_KIND__FILE_PIDFD, .name = "pidfd",
	.match = pidfd_match, .dump = pidfd_dump, .free_entry = pidfd_free_entry,
	.check = pidfd_check, .open = pidfd_open_entry, .open_in_task = pidfd_open_in_task,
};
