/*
 * A stopped thread group (zdtm: stopped). The child S has four threads
 * besides its main one, each counting in a loop of short sleeps (so each
 * is stopped inside a restartable nanosleep). The root stops S with
 * SIGSTOP: every thread is in state T after the dump and the restore
 * (the runner checks each). Once continued, S's main thread (woken by
 * its SIGCONT handler) sees every thread count on, each with its own
 * tid, and exits 0.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_THREADS	4

struct worker {
	pthread_t th;
	volatile pid_t tid;
	volatile unsigned long count;
	volatile int bad_tid;
};

static struct worker workers[NR_THREADS];
static volatile sig_atomic_t conts;

static void on_cont(int sig)
{
	(void)sig;
	conts++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct timespec nap = { 0, 1000000 };

	w->tid = syscall(SYS_gettid);
	for (;;) {
		if (syscall(SYS_gettid) != w->tid)
			w->bad_tid = 1;
		w->count++;
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void wait_counts_above(const unsigned long *min)
{
	const struct timespec nap = { 0, 1000000 };

	for (int i = 0; i < NR_THREADS; i++)
		while (workers[i].count <= min[i])
			nanosleep(&nap, NULL);
}

__attribute__((noreturn))
static void proc_s(void)
{
	struct sigaction sa = { .sa_handler = on_cont };
	unsigned long start[NR_THREADS] = { 0 };
	sigset_t block, old;
	int bad = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGCONT);
	sigprocmask(SIG_BLOCK, &block, &old);	/* inherited by the workers: the main thread takes it */
	if (sigaction(SIGCONT, &sa, NULL))
		fail_errno("sigaction SIGCONT");
	for (int i = 0; i < NR_THREADS; i++)
		if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i]))
			fail("pthread_create");
	wait_counts_above(start);
	tree_send(tree_root, 0);
	while (!conts)
		sigsuspend(&old);
	for (int i = 0; i < NR_THREADS; i++)
		start[i] = workers[i].count;
	wait_counts_above(start);
	for (int i = 0; i < NR_THREADS; i++)
		if (workers[i].bad_tid) {
			test_msg("FAIL: thread %d: gettid() changed", workers[i].tid);
			bad = 1;
		}
	_exit(bad);
}

int main(int argc, char **argv)
{
	stop_test_child(argc, argv, proc_s, NULL);
}
