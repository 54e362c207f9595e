/*
 * The demo's target: counts in memory (never in a file), printing the
 * value with its pid every half second, so a restore that loses memory or
 * the pid shows at once.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	const struct timespec half = { .tv_sec = 0, .tv_nsec = 500 * 1000 * 1000 };
	unsigned long counter = 0;

	/*
	 * Hold only stdin/stdout/stderr: whatever launched us may leak extra
	 * fds (make's jobserver pipe, a shell's saved fds), and cr does not
	 * dump pipes yet. The demo is about memory and the pid.
	 */
	close_range(3, ~0U, 0);
	/* stdout is a file in the demo; print each line as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		printf("counter pid %d: %lu\n", (int)getpid(), counter++);
		/* A restored nanosleep restarts; the count goes on either way. */
		nanosleep(&half, NULL);
	}
	return 0;
}
