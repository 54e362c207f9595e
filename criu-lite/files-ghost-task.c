/*
 * A task's cwd and root that were deleted (files-ghost.h): dumped with
 * their attributes, made again by cr before the first fork and entered
 * by the task.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-ghost.h"
#include "log.h"

int ghost_task_dir_dump(pid_t pid, const char *name, char **ret_path, FileAttrs **ret_attrs)
{
	char path[64], buf[PATH_MAX + 1], what[80];
	struct stat st;
	ssize_t n;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return pr_errno(-errno, "readlink %s", path);
	buf[n] = '\0';
	*ret_attrs = NULL;
	if (stat(path, &st) < 0)
		return pr_errno(-errno, "stat %s", path);
	if (ghost_is_deleted(buf, &st)) {
		if (buf[0] != '/')
			return pr_errno(-ENOTSUP, "pid %d: its %s (%s) has no path", pid, name, buf);
		buf[n - strlen(DELETED_SUFFIX)] = '\0';
		if (ghost_dir_left(pid, buf))
			return pr_errno(-ENOTSUP, "pid %d: its %s %s was deleted, and its parent directory too: not supported",
					pid, name, buf);
		snprintf(what, sizeof(what), "pid %d: its %s", pid, name);
		err = ghost_attrs_dump(&st, -1, what, ret_attrs);
		if (err)
			return err;
		pr_info("pid %d: its %s %s was deleted: made again empty at restore\n", pid, name, buf);
	}
	*ret_path = xstrdup(buf);
	if (!*ret_path) {
		ghost_attrs_free(*ret_attrs);
		*ret_attrs = NULL;
		return -ENOMEM;
	}
	return 0;
}

/*
 * The removed directories tasks have as cwd or root, made by cr before
 * the first fork (cr may give them any owner; a task in a user namespace
 * may not), once per path: tasks that had one deleted directory share it
 * again. The fds are above every task's fd numbers: each task inherits
 * them, its restorer closes them.
 */
struct task_dir {
	const char *path;		/* the core image's */
	int fd;				/* O_PATH */
};

static struct task_dir *task_dirs;
static size_t nr_task_dirs;

static int task_dir_fd(const char *path)
{
	for (size_t i = 0; i < nr_task_dirs; i++)
		if (!strcmp(task_dirs[i].path, path))
			return task_dirs[i].fd;
	return -ENOENT;
}

static int task_dir_make(pid_t pid, const char *name, const char *path, const FileAttrs *a, int keep_from)
{
	char what[PATH_MAX + 64];
	struct task_dir *n;
	int fd, high;

	if (!a || task_dir_fd(path) >= 0)
		return 0;
	snprintf(what, sizeof(what), "pid %d: its %s %s (deleted)", pid, name, path);
	if (!S_ISDIR(a->mode))
		return pr_errno(-EBADMSG, "%s: the image says it was not a directory (mode 0%o)", what, a->mode);
	n = xrealloc(task_dirs, (nr_task_dirs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	task_dirs = n;
	fd = ghost_node_open(path, a, O_PATH | O_DIRECTORY, what);
	if (fd < 0)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, keep_from);
	close(fd);
	if (high < 0)
		return pr_errno(-errno, "%s: moving its fd above %d", what, keep_from);
	task_dirs[nr_task_dirs++] = (struct task_dir){ .path = path, .fd = high };
	return 0;
}

int ghost_task_dirs_make(pid_t pid, const CoreEntry *c, int keep_from)
{
	int err = task_dir_make(pid, "cwd", c->cwd, c->cwd_deleted, keep_from);

	return err ? err : task_dir_make(pid, "root", c->root, c->root_deleted, keep_from);
}

void ghost_task_dirs_close(void)
{
	for (size_t i = 0; i < nr_task_dirs; i++)
		close(task_dirs[i].fd);
	free(task_dirs);
	task_dirs = NULL;
	nr_task_dirs = 0;
}

int ghost_task_chdir(pid_t pid, const char *cwd, const FileAttrs *deleted)
{
	int fd;

	if (!deleted)
		return chdir(cwd) < 0 ? pr_errno(-errno, "pid %d: chdir %s", pid, cwd) : 0;
	fd = task_dir_fd(cwd);
	if (fd < 0)
		return pr_errno(fd, "pid %d: its deleted cwd %s was not made again", pid, cwd);
	if (fchdir(fd) < 0)
		return pr_errno(-errno, "pid %d: fchdir to its deleted cwd %s", pid, cwd);
	return 0;
}

int ghost_task_chroot(pid_t pid, const char *root, const FileAttrs *deleted)
{
	_cleanup_close_ int cwd = -EBADF;
	int fd, err = 0;

	if (!deleted)
		return chroot(root) < 0 ? pr_errno(-errno, "pid %d: chroot %s", pid, root) : 0;
	fd = task_dir_fd(root);
	if (fd < 0)
		return pr_errno(fd, "pid %d: its deleted root %s was not made again", pid, root);
	/* It has no name left: chroot(".") from inside it, then back to the cwd. */
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return pr_errno(-errno, "pid %d: opening its cwd", pid);
	if (fchdir(fd) < 0 || chroot(".") < 0)
		err = pr_errno(-errno, "pid %d: chroot to its deleted root %s", pid, root);
	if (fchdir(cwd) < 0 && !err)
		err = pr_errno(-errno, "pid %d: back to its cwd after the chroot", pid);
	return err;
}
