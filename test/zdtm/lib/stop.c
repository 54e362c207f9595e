/* Job control helpers for the stopped-task tests (zdtm: stopped). */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "zdtm.h"

void stop_wait(pid_t pid, int sig)
{
	int status;
	pid_t r;

	do
		r = waitpid(pid, &status, WUNTRACED);
	while (r < 0 && errno == EINTR);
	if (r != pid)
		fail_errno("waitpid(%d, WUNTRACED)", pid);
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != sig)
		fail("setup: pid %d: wait status %#x, expected stopped by signal %d", pid, status, sig);
}

int stop_collect(pid_t pid, int *ret_stops, int *ret_conts)
{
	int status;

	*ret_stops = *ret_conts = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WUNTRACED | WCONTINUED);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != pid) {
			test_msg("FAIL: waitpid(%d): %m", pid);
			return 1;
		}
		if (WIFSTOPPED(status)) {
			++*ret_stops;
			continue;
		}
		if (WIFCONTINUED(status)) {
			++*ret_conts;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		test_msg("FAIL: pid %d ended with wait status %#x", pid, status);
		return 1;
	}
}
