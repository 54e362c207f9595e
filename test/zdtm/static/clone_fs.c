/*
 * fs info (cwd, root, umask) shared between two processes: the root's
 * child C was made with clone(CLONE_FS). After the restore they still
 * share it: kcmp(KCMP_FS) says so, and a chdir() and umask() of the
 * root after the restore are C's too; C's own state that is not fs
 * info (PR_SET_THP_DISABLE, the root's is not set) is still C's.
 */
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "zdtm.h"

#define STACK_SIZE	(64 << 10)
#define UMASK_LATE	0027

static char late_dir[PATH_MAX];

static int same(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

static int child_main(void *arg)
{
	char cwd[PATH_MAX];
	mode_t m;

	(void)arg;
	/* The task's own state besides its fs info: C's, not the root's. */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		fail_errno("C: PR_SET_THP_DISABLE");
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1) {
		test_msg("FAIL: C: PR_GET_THP_DISABLE is not 1 after the restore");
		_exit(1);
	}
	tree_recv(tree_root);	/* the root changed directory and umask */
	m = umask(0);
	umask(m);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, late_dir) || m != UMASK_LATE) {
		test_msg("FAIL: C: cwd %s umask %03o, the root set %s %03o", cwd, m, late_dir, UMASK_LATE);
		_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	char *stack;
	pid_t c;
	int bad = 0;

	test_init(argc, argv);
	tree_init();
	if (mkdir("late", 0755) || !getcwd(late_dir, sizeof(late_dir) - 8))
		fail_errno("mkdir late, getcwd");
	strcat(late_dir, "/late");
	umask(0022);
	stack = malloc(STACK_SIZE);
	if (!stack)
		fail_errno("malloc");
	c = clone(child_main, stack + STACK_SIZE, CLONE_FS | SIGCHLD, NULL);
	if (c < 0)
		fail_errno("clone(CLONE_FS)");
	tree_recv(c);
	if (!same(getpid(), c, KCMP_FS))
		fail("setup: the root and C do not share their fs info");

	test_ready();
	test_wait_checkpoint();

	if (!same(getpid(), c, KCMP_FS)) {
		test_msg("FAIL: the root and C no longer share their fs info");
		bad++;
	}
	if (chdir("late"))
		fail_errno("chdir late");
	umask(UMASK_LATE);
	kill(c, SIGTERM);
	tree_send(c, 0);
	bad += tree_collect(&c, 1);
	tree_exit(bad);
}
