/*
 * A socket's net namespace against its task's (sk-netns.h). sock_diag,
 * interface names and port ids are those of the namespace cr looks in,
 * the tree's: a socket of another one is in none of its tables (the
 * dump would fail with "sock_diag does not list this socket"), and
 * restore would make it in the tree's namespace, on another network.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "sk-netns.h"

#ifndef SIOCGSKNS
#define SIOCGSKNS	0x894C
#endif

/* The net namespace of the task of the last socket asked about: a tree's many sockets are in runs of one task. */
static struct {
	const struct files_dump *df;
	pid_t pid;
	struct stat st;
} task_ns;

void sk_dump_netns_end(void)
{
	memset(&task_ns, 0, sizeof(task_ns));
}

int sk_dump_netns_check(const struct fd_dump *d, const char *what)
{
	_cleanup_close_ int ns = ioctl(d->cr_fd, SIOCGSKNS);
	struct stat sk_st, task_st;
	char path[64], why[256];

	if (ns < 0) {
		/* Before 4.9, or no CAP_NET_ADMIN over it: cr cannot tell, and looks in the task's. */
		pr_debug("pid %d: fd %d: SIOCGSKNS: %s", d->pid, d->fd, strerror(errno));
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", d->pid);
	/* The tree is frozen: a task's namespace stays (pid 0 is none: cr's own files in flight are getpid()'s). */
	if (task_ns.df == d->df && task_ns.pid == d->pid && d->pid) {
		task_st = task_ns.st;
	} else if (stat(path, &task_st) == 0) {
		task_ns.df = d->df;
		task_ns.pid = d->pid;
		task_ns.st = task_st;
	} else {
		return pr_errno(-errno, "pid %d: fd %d (%s): the task's net namespace", d->pid, d->fd, d->link);
	}
	if (fstat(ns, &sk_st) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): its net namespace", d->pid, d->fd, d->link);
	if (sk_st.st_ino == task_st.st_ino && sk_st.st_dev == task_st.st_dev)
		return 0;
	snprintf(why, sizeof(why), "it belongs to net namespace net:[%lu], not to its task's (net:[%lu]): it was "
		 "made before the task moved (unshare, setns), and cr keeps sockets of the task's namespace only",
		 (unsigned long)sk_st.st_ino, (unsigned long)task_st.st_ino);
	return files_refuse(d, what, why);
}
