/*
 * A namespace file of a namespace no task is in: the test's child made a
 * net namespace of its own and exited, the test's fd of its
 * /proc/CHILD/ns/net is all that keeps it. Not supported yet: cr could
 * not make that namespace again (zdtm: refused: namespace ); the dump is
 * refused naming it and the tree runs on: the fd still names a net
 * namespace other than the test's.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include "zdtm.h"

int main(int argc, char **argv)
{
	int pfd[2], fd, st;
	struct stat a, b;
	char p[64], c;
	pid_t kid;

	test_init(argc, argv);
	if (pipe(pfd))
		fail_errno("pipe");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		close(pfd[0]);
		if (unshare(CLONE_NEWNET))
			_exit(1);
		write_full(pfd[1], "x", 1);
		pause();	/* until the parent has its fd */
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		fail("the child could not make a net namespace");
	close(pfd[0]);
	snprintf(p, sizeof(p), "/proc/%d/ns/net", kid);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		fail_errno("open %s", p);
	kill(kid, SIGKILL);
	if (waitpid(kid, &st, 0) != kid)
		fail_errno("waitpid");

	test_ready();
	test_wait_checkpoint();

	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		fail("the fd is no net namespace file any more");
	if (fstat(fd, &a) || stat("/proc/self/ns/net", &b))
		fail_errno("stat");
	if (a.st_ino == b.st_ino)
		fail("the fd names the test's own net namespace");
	pass();
}
