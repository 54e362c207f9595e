/*
 * Processes stopped by job control (zdtm: stopped). The root has two
 * children, each with a memory pattern to check: S1 stopped by the
 * root's SIGSTOP (sent twice), with a SIGCONT handler; S2 in a process group of its
 * own (a group with a parent outside it in the session is not orphaned,
 * so SIGTSTP stops it) stopped by its own SIGTSTP. The root sees both
 * stop (waitpid WUNTRACED) before it is ready. They must be stopped
 * after the dump (--leave-running) and after the restore; the runner
 * then continues them (SIGCONT): S1's handler runs once, both find their
 * memory intact and exit 0, which the root collects.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define PATTERN_SIZE	(256 << 10)

static volatile sig_atomic_t conts;

static void on_cont(int sig)
{
	(void)sig;
	conts++;
}

static void *pattern_new(uint64_t seed)
{
	void *p = mmap(NULL, PATTERN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail_errno("mmap");
	pattern_fill(p, PATTERN_SIZE, seed);
	return p;
}

static int pattern_bad(const void *p, uint64_t seed)
{
	long off = pattern_check(p, PATTERN_SIZE, seed);

	if (off >= 0)
		test_msg("FAIL: pid %d: memory differs at offset %ld", getpid(), off * 8);
	return off >= 0;
}

/* S1: waits for the SIGCONT that continues it (SIGCONT blocked between checks). */
__attribute__((noreturn))
static void proc_s1(void)
{
	void *p = pattern_new(1);
	struct sigaction sa = { .sa_handler = on_cont };
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGCONT);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (sigaction(SIGCONT, &sa, NULL))
		fail_errno("sigaction SIGCONT");
	tree_send(tree_root, 0);
	while (!conts)
		sigsuspend(&old);
	if (conts != 1) {
		test_msg("FAIL: S1: SIGCONT handler ran %d times", (int)conts);
		_exit(1);
	}
	_exit(pattern_bad(p, 1));
}

__attribute__((noreturn))
static void proc_s2(void)
{
	void *p = pattern_new(2);

	if (setpgid(0, 0))
		fail_errno("setpgid S2");
	if (raise(SIGTSTP))
		fail_errno("raise SIGTSTP");
	_exit(pattern_bad(p, 2));
}

int main(int argc, char **argv)
{
	pid_t s1, s2;
	int bad = 0, stops, conts_seen;

	test_init(argc, argv);
	tree_init();
	s1 = stop_fork(proc_s1);
	/* Stopped, it is sent SIGSTOP once more: queued until a SIGCONT drops it. */
	if (kill(s1, SIGSTOP))
		fail_errno("kill SIGSTOP again");
	s2 = fork();
	if (s2 < 0)
		fail_errno("fork");
	if (s2 == 0)
		proc_s2();
	stop_wait(s2, SIGTSTP);

	test_ready();
	test_wait_checkpoint();

	bad += stop_collect(s1, &stops, &conts_seen);
	test_msg("S1: %d stop and %d continue reports after the checkpoint", stops, conts_seen);
	bad += stop_collect(s2, &stops, &conts_seen);
	test_msg("S2: %d stop and %d continue reports after the checkpoint", stops, conts_seen);
	if (bad)
		fail("%d stopped children did not go on right", bad);
	pass();
}
