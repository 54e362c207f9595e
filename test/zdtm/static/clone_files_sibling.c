/*
 * A fd table shared with a process that is not the parent: the root R
 * forks A, A makes S with clone(CLONE_FILES | CLONE_PARENT), so S is R's
 * child sharing A's table, and R's is its own. Restore makes a sharer
 * as its parent's CLONE_FILES child, which S cannot be: the dump is
 * refused naming S and A, and the tree runs on with S and A still
 * sharing the table.
 * zdtm: refused: CLONE_PARENT
 */
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "zdtm.h"

#define STACK_SIZE	(64 << 10)

static int same(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

static int s_main(void *arg)
{
	(void)arg;
	tree_send(tree_root, getpid());
	test_wait_checkpoint();
	_exit(0);
}

static void a_main(void)
{
	pid_t s = clone(s_main, (char *)malloc(STACK_SIZE) + STACK_SIZE, CLONE_FILES | CLONE_PARENT, NULL);

	if (s < 0)
		fail_errno("clone(CLONE_FILES | CLONE_PARENT)");
	tree_send(tree_root, s);
	test_wait_checkpoint();
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[2];
	int bad = 0;

	test_init(argc, argv);
	tree_init();
	kids[0] = tree_fork(a_main);
	kids[1] = tree_recv(kids[0]);
	tree_recv(kids[1]);
	if (!same(kids[0], kids[1], KCMP_FILES) || same(getpid(), kids[0], KCMP_FILES))
		fail("setup: A and S do not share their fd table, or R shares it");

	test_ready();
	test_wait_checkpoint();

	if (!same(kids[0], kids[1], KCMP_FILES)) {
		test_msg("FAIL: A and S no longer share their fd table");
		bad++;
	}
	tree_forward(kids, 2);
	bad += tree_collect(kids, 2);
	tree_exit(bad);
}
