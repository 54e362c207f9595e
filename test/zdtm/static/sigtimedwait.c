/*
 * A task blocked in sigtimedwait() on a blocked signal is checkpointed;
 * after restore the wait returns only EAGAIN or EINTR, the signal is still
 * blocked, and a signal queued afterwards is taken with its value.
 */
#include <errno.h>
#include <unistd.h>
#include "zdtm.h"

#define WAIT_VALUE	4242

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 600 * 1000 * 1000 };
	sigset_t set, cur;
	siginfo_t si;
	union sigval v;
	int r;

	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		fail_errno("sigprocmask");
	test_ready();

	while (!zdtm_sigterm_seen) {
		r = sigtimedwait(&set, &si, &ts);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		fail("sigtimedwait returned %d (errno %d) with nothing queued", r, errno);
	}

	sigprocmask(SIG_SETMASK, NULL, &cur);
	if (!sigismember(&cur, SIGUSR1))
		fail("SIGUSR1 is no longer blocked");
	v.sival_int = WAIT_VALUE;
	if (sigqueue(getpid(), SIGUSR1, v))
		fail_errno("sigqueue");
	r = sigtimedwait(&set, &si, &ts);
	if (r != SIGUSR1)
		fail("sigtimedwait returned %d (errno %d), expected SIGUSR1", r, errno);
	if (si.si_value.sival_int != WAIT_VALUE)
		fail("si_value %d, expected %d", si.si_value.sival_int, WAIT_VALUE);
	pass();
}
