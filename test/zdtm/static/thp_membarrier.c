/*
 * mm state set by prctl and membarrier: THP disabled except where advised
 * (PR_SET_THP_DISABLE with PR_THP_DISABLE_EXCEPT_ADVISED, else plain
 * disabled on kernels without it), and the membarrier registrations
 * (global expedited, private expedited and its sync-core flavor): after
 * restore the same, and the private expedited barriers work.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef PR_THP_DISABLE_EXCEPT_ADVISED
#define PR_THP_DISABLE_EXCEPT_ADVISED	(1 << 1)
#endif
#define CMD_GET_REGISTRATIONS	(1 << 9)	/* Linux 6.3 */

static int membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

int main(int argc, char **argv)
{
	int want_regs = MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED |
			MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
	int thp, regs;

	test_init(argc, argv);
	if (prctl(PR_SET_THP_DISABLE, 1, PR_THP_DISABLE_EXCEPT_ADVISED, 0, 0) &&
	    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		fail_errno("PR_SET_THP_DISABLE");
	thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	if (thp <= 0)
		fail_errno("PR_GET_THP_DISABLE after setting it: %d", thp);
	if (membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
		fail_errno("membarrier registrations");
	regs = membarrier(CMD_GET_REGISTRATIONS);
	if (regs != want_regs)
		fail("membarrier registrations %#x, expected %#x: %m", regs, want_regs);

	test_ready();
	test_wait_checkpoint();

	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != thp)
		fail("PR_GET_THP_DISABLE says %d, expected %d", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), thp);
	regs = membarrier(CMD_GET_REGISTRATIONS);
	if (regs != want_regs)
		fail("membarrier registrations %#x after restore, expected %#x", regs, want_regs);
	if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) || membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE))
		fail_errno("private expedited membarrier after restore");
	pass();
}
