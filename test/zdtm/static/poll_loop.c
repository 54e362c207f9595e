/*
 * A task blocked in poll() with a timeout (restarted by the kernel through
 * restart_syscall) is checkpointed; after restore poll() keeps returning
 * either 0 (timeout) or EINTR, and the loop still times out on its own.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include "zdtm.h"

#define POLL_MS		700

int main(int argc, char **argv)
{
	int timeouts = 0, eintrs = 0, r;

	test_init(argc, argv);
	test_ready();

	while (!zdtm_sigterm_seen) {
		r = poll(NULL, 0, POLL_MS);
		if (r == 0)
			timeouts++;
		else if (r < 0 && errno == EINTR)
			eintrs++;
		else
			fail("poll returned %d (errno %d)", r, errno);
	}
	/* After SIGTERM a plain timeout must still work. */
	r = poll(NULL, 0, 10);
	if (r != 0)
		fail("poll after restore returned %d (errno %d)", r, errno);
	test_msg("%d timeouts, %d EINTR", timeouts, eintrs);
	pass();
}
