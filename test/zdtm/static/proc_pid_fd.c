/*
 * Fds on files under /proc/PID/ of processes of the tree: the parent
 * holds /proc/<child>/status, /proc/self/stat (its own pid) and the
 * directory /proc/<child>/task. After restore they name the same
 * processes again: status says the child's Pid, stat starts with the
 * parent's pid, and the task directory lists the child's tid.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

/* The number after KEY ("\nPid:") in the status file at @fd. */
static int status_field(int fd, const char *key)
{
	char buf[4096], *p;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		fail_errno("reading status");
	buf[n] = 0;
	p = strstr(buf, key);
	return p ? atoi(p + strlen(key)) : -1;
}

static int pid_of_status(int fd)
{
	return status_field(fd, "\nPid:");
}

static int pid_of_stat(int fd)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		fail_errno("reading stat");
	buf[n] = 0;
	return atoi(buf);
}

static int has_tid(int dfd, pid_t tid)
{
	char name[32];
	struct dirent *de;
	int found = 0, fd = dup(dfd);
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd)))
		fail_errno("opening the task dir");
	rewinddir(d);
	snprintf(name, sizeof(name), "%d", tid);
	while ((de = readdir(d)))
		if (!strcmp(de->d_name, name))
			found = 1;
	closedir(d);
	return found;
}

int main(int argc, char **argv)
{
	int st_fd, self_fd, task_fd;
	char path[64];
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		tree_send(tree_root, 1);
		test_wait_checkpoint();
		tree_exit(0);
	}
	tree_recv(kid);
	snprintf(path, sizeof(path), "/proc/%d/status", kid);
	st_fd = open(path, O_RDONLY);
	self_fd = open("/proc/self/stat", O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/task", kid);
	task_fd = open(path, O_RDONLY | O_DIRECTORY);
	if (st_fd < 0 || self_fd < 0 || task_fd < 0)
		fail_errno("open /proc files");
	zdtm_check(pid_of_status(st_fd) == kid);
	zdtm_check(pid_of_stat(self_fd) == getpid());
	zdtm_check(has_tid(task_fd, kid));

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	if (pid_of_status(st_fd) != kid)
		fail("/proc/%d/status fd now says Pid %d", kid, pid_of_status(st_fd));
	/* Some other /proc's process of that number would have another parent. */
	if (status_field(st_fd, "\nPPid:") != getpid())
		fail("/proc/%d/status fd now says PPid %d, not %d", kid, status_field(st_fd, "\nPPid:"), getpid());
	if (pid_of_stat(self_fd) != getpid())
		fail("/proc/self/stat fd now says pid %d", pid_of_stat(self_fd));
	if (!has_tid(task_fd, kid))
		fail("/proc/%d/task fd does not list tid %d", kid, kid);
	tree_exit(tree_collect(&kid, 1));
}
