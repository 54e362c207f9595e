/* Copies of another process's fds, taken when needed (task-fd.h). */
#include <errno.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "task-fd.h"

int task_fd_copy_pidfd(int pidfd, int fd, ino_t ino)
{
	struct stat st;
	int copy = syscall(SYS_pidfd_getfd, pidfd, fd, 0), err;

	if (copy < 0)
		return -errno;
	if (!ino)
		return copy;
	err = fstat(copy, &st) < 0 ? -errno : st.st_ino != ino ? -ESTALE : 0;
	if (err) {
		close(copy);
		return err;
	}
	return copy;
}

int task_fd_copy(struct task_fds *c, pid_t pid, int fd, ino_t ino)
{
	if (c->pidfd < 0 || c->pid != pid) {
		int pidfd = syscall(SYS_pidfd_open, pid, 0);

		if (pidfd < 0)
			return -errno;
		task_fds_close(c);
		c->pidfd = pidfd;
		c->pid = pid;
	}
	return task_fd_copy_pidfd(c->pidfd, fd, ino);
}

void task_fds_close(struct task_fds *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	*c = TASK_FDS_INIT;
}
