/*
 * bench-reaper COMMAND [ARGS...]: runs COMMAND (scripts/bench re-executes
 * itself this way) as a child subreaper that reaps every child at once.
 *
 * The tree workload needs the same pids free for every restore. Targets
 * restored with `cr restore -d`, and the children of a tree whose root
 * died first, are orphans: without a subreaper they go to PID 1, which here
 * reaps only every second or two and keeps the pids taken meanwhile. With
 * this they come to us, and wait() frees their pids at once (as
 * test/zdtm/subreaper does for the zdtm runner, where bash reaps).
 *
 * Sets CR_BENCH_SUBREAPER=1 for COMMAND. Exits with COMMAND's status, or
 * 128 + signal if it was killed. SIGINT, SIGTERM and SIGHUP sent to us with
 * kill() are passed on to COMMAND; the terminal's own ^C already reaches it
 * through the process group, so those are not sent twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t command_pid;

static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* si_code <= 0: kill(), sigqueue(), tgkill(); > 0: the kernel (tty). */
	if (si->si_code <= 0 && command_pid > 0)
		kill(command_pid, sig);
}

int main(int argc, char **argv)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO };
	int status = 0, done = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-reaper COMMAND [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("bench-reaper: PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	setenv("CR_BENCH_SUBREAPER", "1", 1);

	pid = fork();
	if (pid < 0) {
		perror("bench-reaper: fork");
		return 2;
	}
	if (pid == 0) {
		/* Handlers are reset by execve(); nothing to undo. */
		execvp(argv[1], argv + 1);
		perror("bench-reaper: exec");
		_exit(127);
	}
	command_pid = pid;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);

	/*
	 * Reap everything until COMMAND exits, then whatever zombies are left.
	 * Orphans still running then go on to PID 1: COMMAND's cleanup has
	 * killed the ones that are ours.
	 */
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, done ? WNOHANG : 0);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		if (w == pid) {
			status = st;
			done = 1;
		}
	}
	if (!done) {
		perror("bench-reaper: waitpid");
		return 2;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
