/*
 * A stopped task with signals pending across the stop (zdtm: stopped).
 * The child S handles SIGUSR1 and SIGCONT, and blocks SIGCONT. The root
 * stops it (SIGSTOP), then queues SIGUSR1 (pending while S is stopped:
 * its handler must not run before S is continued). The runner continues
 * S after the restore: the SIGCONT that continues it stays pending
 * (blocked); S sees its SIGUSR1 handler ran once, SIGCONT pending, then
 * unblocks it and its handler runs once. (A stopped task cannot hold a
 * pending SIGCONT itself: SIGCONT ends the stop, a stop signal drops a
 * pending SIGCONT.)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

static volatile sig_atomic_t usr1s, conts;

static void on_usr1(int sig)
{
	(void)sig;
	usr1s++;
}

static void on_cont(int sig)
{
	(void)sig;
	conts++;
}

__attribute__((noreturn))
static void proc_s(void)
{
	struct sigaction su = { .sa_handler = on_usr1 }, sc = { .sa_handler = on_cont };
	sigset_t block, old, pend;

	/* SIGCONT blocked from here on (the root may stop us anywhere after tree_send()). */
	sigemptyset(&block);
	sigaddset(&block, SIGCONT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigprocmask(SIG_BLOCK, NULL, &block);	/* the mask to wait with */
	if (sigaction(SIGUSR1, &su, NULL) || sigaction(SIGCONT, &sc, NULL))
		fail_errno("sigaction");
	tree_send(tree_root, 0);
	while (!usr1s)
		sigsuspend(&block);
	if (usr1s != 1 || conts) {
		test_msg("FAIL: SIGUSR1 handler ran %d times, SIGCONT's %d (expected 1, 0)", (int)usr1s, (int)conts);
		_exit(1);
	}
	if (sigpending(&pend) || !sigismember(&pend, SIGCONT)) {
		test_msg("FAIL: SIGCONT is not pending after the continue");
		_exit(1);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (conts != 1) {
		test_msg("FAIL: SIGCONT handler ran %d times after unblocking, expected 1", (int)conts);
		_exit(1);
	}
	_exit(0);
}

/* Whether SIG is in the process-wide pending set (ShdPnd) of PID. */
static int shared_pending(pid_t pid, int sig)
{
	char path[64], buf[4096], *p;
	unsigned long long mask;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		fail_errno("open %s", path);
	buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
	fclose(f);
	p = strstr(buf, "ShdPnd:");
	if (!p || sscanf(p, "ShdPnd: %llx", &mask) != 1)
		fail("no ShdPnd in %s", path);
	return !!(mask & (1ULL << (sig - 1)));
}

/* S is stopped: SIGUSR1 stays pending, its handler waits for the continue. */
static void queue_usr1(pid_t s)
{
	if (kill(s, SIGUSR1))
		fail_errno("kill SIGUSR1");
	if (!shared_pending(s, SIGUSR1))
		fail("setup: SIGUSR1 is not pending in the stopped child");
}

int main(int argc, char **argv)
{
	stop_test_child(argc, argv, proc_s, queue_usr1);
}
