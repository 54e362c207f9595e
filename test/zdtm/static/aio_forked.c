/*
 * A child forked after its parent made an AIO context: the child maps
 * the parent's ring ("/[aio]") but has no context of its own (io_* calls
 * on it fail with EINVAL), and the two see the same ring memory. cr
 * restores a ring only as its own process's context: the dump is refused
 * naming the child and the ring, and the tree runs on: the parent's
 * context works, the child's calls still fail.
 * zdtm: refused: AIO
 */
#include <errno.h>
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

static aio_context_t ctx;

/* io_getevents() of nothing: 0 in the context's process, -EINVAL elsewhere. */
static int owns_ctx(void)
{
	return syscall(SYS_io_getevents, ctx, 0, 0, NULL, NULL) == 0;
}

__attribute__((noreturn))
static void child(void)
{
	int bad = 0;

	if (owns_ctx() || errno != EINVAL)
		fail("setup: the child can use its parent's AIO context");
	tree_send(tree_root, 0);
	test_wait_checkpoint();
	if (owns_ctx() || errno != EINVAL) {
		test_msg("FAIL: the child's io_getevents on its parent's ring: %m, expected EINVAL");
		bad++;
	}
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int bad = 0;

	test_init(argc, argv);
	tree_init();
	if (syscall(SYS_io_setup, 8, &ctx))
		fail_errno("io_setup");
	kid = tree_fork(child);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&kid, 1);
	if (!owns_ctx()) {
		test_msg("FAIL: io_getevents in the parent's own context: %m");
		bad++;
	}
	bad += tree_collect(&kid, 1);
	tree_exit(bad);
}
