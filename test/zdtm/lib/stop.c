/* Job control helpers for the stopped-task tests (zdtm: stopped). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
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

pid_t stop_fork(void (*child)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0)
		child();
	tree_recv(pid);
	if (kill(pid, SIGSTOP))
		fail_errno("kill(%d, SIGSTOP)", pid);
	stop_wait(pid, SIGSTOP);
	return pid;
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

void stop_test_child(int argc, char **argv, void (*child)(void), void (*stopped)(pid_t))
{
	int stops, conts;
	pid_t pid;

	test_init(argc, argv);
	tree_init();
	pid = stop_fork(child);
	if (stopped)
		stopped(pid);
	test_ready();
	test_wait_checkpoint();
	if (stop_collect(pid, &stops, &conts))
		fail("the stopped child %d did not go on right", pid);
	pass();
}
