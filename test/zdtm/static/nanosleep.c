/*
 * A task blocked in nanosleep() is checkpointed mid-sleep. The kernel
 * restarts nanosleep through restart_syscall, which cr turns into EINTR
 * with the remaining time in *rem; the loop sleeps the remainder. The
 * total must be at least the requested time and not wildly more.
 */
#include <errno.h>
#include <time.h>
#include "zdtm.h"

#define SLEEP_NS	(2500LL * 1000 * 1000)
#define MAX_EXTRA_S	60

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct timespec req = { SLEEP_NS / 1000000000, SLEEP_NS % 1000000000 }, rem;
	long long start, slept;
	int interrupts = 0;

	test_init(argc, argv);
	test_ready();

	start = now_ns();
	while (nanosleep(&req, &rem)) {
		if (errno != EINTR)
			fail_errno("nanosleep");
		if (rem.tv_sec < 0 || rem.tv_nsec < 0 || rem.tv_nsec >= 1000000000 ||
		    rem.tv_sec * 1000000000LL + rem.tv_nsec > SLEEP_NS)
			fail("bogus remaining time %ld.%09ld", (long)rem.tv_sec, rem.tv_nsec);
		req = rem;
		interrupts++;
	}
	slept = now_ns() - start;
	test_msg("slept %lld ms, %d interruptions", slept / 1000000, interrupts);
	if (slept < SLEEP_NS)
		fail("slept only %lld ns of %lld", slept, SLEEP_NS);
	if (slept > SLEEP_NS + MAX_EXTRA_S * 1000000000LL)
		fail("slept %lld ms: the remaining time was not kept", slept / 1000000);

	test_wait_checkpoint();
	pass();
}
