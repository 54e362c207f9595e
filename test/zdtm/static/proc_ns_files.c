/*
 * Files under /proc/PID/ns/ and /proc/self/ held by the tree: the root
 * holds its own net and uts namespace files (/proc/self/ns/...), the mnt
 * namespace file of its child C (/proc/C/ns/mnt), and /proc/self/maps and
 * /proc/self/status. After restore each ns fd is a namespace file of the
 * namespace the tasks are in now (the tree's own ones in the ns flavors,
 * cr's in h): NS_GET_NSTYPE gives its type and its inode is that of
 * /proc/self/ns/TYPE; maps and status describe the restored root (its
 * [stack] line, its pid).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include "zdtm.h"

static int open_path(const char *p)
{
	int fd = open(p, O_RDONLY);

	if (fd < 0)
		fail_errno("open %s", p);
	return fd;
}

static void check_ns(int fd, const char *type, int nstype)
{
	char p[64];
	struct stat a, b;
	int t = ioctl(fd, NS_GET_NSTYPE);

	if (t != nstype)
		fail("%s: NS_GET_NSTYPE %d, expected %d", type, t, nstype);
	snprintf(p, sizeof(p), "/proc/self/ns/%s", type);
	if (fstat(fd, &a) || stat(p, &b))
		fail_errno("stat %s", p);
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail("%s: the fd names namespace %lu, the task is in %lu", type,
		     (unsigned long)a.st_ino, (unsigned long)b.st_ino);
}

static void read_all(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n <= 0)
		fail_errno("pread");
	buf[n] = 0;
}

__attribute__((noreturn))
static void child(void)
{
	tree_send(getppid(), 0);
	test_wait_checkpoint();
	/* C stays until the root checked C's namespace file. */
	tree_recv(getppid());
	tree_exit(0);
}

int main(int argc, char **argv)
{
	int net, uts, mnt, maps, status;
	static char buf[1 << 16];
	char p[64];
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	kid = tree_fork(child);
	tree_recv(kid);

	net = open_path("/proc/self/ns/net");
	uts = open_path("/proc/self/ns/uts");
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", kid);
	mnt = open_path(p);
	maps = open_path("/proc/self/maps");
	status = open_path("/proc/self/status");

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_ns(net, "net", CLONE_NEWNET);
	check_ns(uts, "uts", CLONE_NEWUTS);
	check_ns(mnt, "mnt", CLONE_NEWNS);
	read_all(maps, buf, sizeof(buf));
	if (!strstr(buf, "[stack]"))
		fail("/proc/self/maps: no [stack] line");
	read_all(status, buf, sizeof(buf));
	snprintf(p, sizeof(p), "\nPid:\t%d\n", getpid());
	if (!strstr(buf, p))
		fail("/proc/self/status is not the root's (no '%s')", p + 1);
	tree_send(kid, 0);
	tree_exit(tree_collect(&kid, 1));
}
