#ifndef CR_TASK_FD_H
#define CR_TASK_FD_H

/*
 * Copies of another process's fds, taken when they are needed
 * (pidfd_getfd) and closed after, instead of held: a tree with tens of
 * thousands of sockets would otherwise need as many fds in cr (and in its
 * guard) at once, beyond one process's RLIMIT_NOFILE.
 */
#include <sys/types.h>

/* A pidfd of the last process asked for: copies are taken in runs of one process's fds. */
struct task_fds {
	pid_t pid;
	int pidfd;
};
#define TASK_FDS_INIT	((struct task_fds){ .pid = 0, .pidfd = -1 })

/*
 * A copy in the caller (O_CLOEXEC) of fd @fd of the process @pidfd
 * names; with @ino, only while that fd is still the file of that inode
 * (-ESTALE otherwise: the number went to another file). Returns the fd or
 * -errno, not logged (the callers know what it was for).
 */
int task_fd_copy_pidfd(int pidfd, int fd, ino_t ino);
/* The same for process @pid, through @c's pidfd (opened anew for another pid). */
int task_fd_copy(struct task_fds *c, pid_t pid, int fd, ino_t ino);
/* Closes @c's pidfd; @c can be used again. */
void task_fds_close(struct task_fds *c);

#endif
