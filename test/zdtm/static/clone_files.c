/*
 * A fd table shared between two processes: the root's child C was made
 * with clone(CLONE_FILES) (a process, not a thread). After the restore
 * they still share it: kcmp(KCMP_FILES) says so, an fd the root opens
 * after the restore is C's too, and one C closes is gone for the root.
 * Not supported yet: the dump is refused (zdtm: refused: CLONE_FILES)
 * and the test checks the same after the refused dump.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "zdtm.h"

#define STACK_SIZE	(64 << 10)
#define FD_LATE		100

static int same(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

static int child_main(void *arg)
{
	(void)arg;
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	/* The root opened FD_LATE after the restore, then told us. */
	if (tree_recv(tree_root) != FD_LATE || fcntl(FD_LATE, F_GETFD) < 0) {
		test_msg("FAIL: C: fd %d the root opened is not in C's table: %m", FD_LATE);
		_exit(1);
	}
	close(FD_LATE);
	_exit(0);
}

int main(int argc, char **argv)
{
	char *stack;
	pid_t c;
	int fd, bad = 0;

	test_init(argc, argv);
	tree_init();
	stack = malloc(STACK_SIZE);
	if (!stack)
		fail_errno("malloc");
	c = clone(child_main, stack + STACK_SIZE, CLONE_FILES | SIGCHLD, NULL);
	if (c < 0)
		fail_errno("clone(CLONE_FILES)");
	tree_recv(c);
	if (!same(getpid(), c, KCMP_FILES))
		fail("setup: the root and C do not share their fd table");

	test_ready();
	test_wait_checkpoint();

	if (!same(getpid(), c, KCMP_FILES)) {
		test_msg("FAIL: the root and C no longer share their fd table");
		bad++;
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_LATE) != FD_LATE)
		fail_errno("open, dup2");
	close(fd);
	kill(c, SIGTERM);
	tree_send(c, FD_LATE);
	bad += tree_collect(&c, 1);
	if (fcntl(FD_LATE, F_GETFD) >= 0) {
		test_msg("FAIL: fd %d C closed is still in the root's table", FD_LATE);
		bad++;
	}
	tree_exit(bad);
}
