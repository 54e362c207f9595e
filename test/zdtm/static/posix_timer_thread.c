/*
 * A POSIX timer that signals one thread (SIGEV_THREAD_ID, what glibc's
 * SIGEV_THREAD timers use underneath): after restore it goes on firing
 * at that thread, which takes its signals with sigwaitinfo(), and never
 * at the main thread. In a pid namespace the thread's tid in cr's
 * /proc is not the one the task knows it by.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define SIG		(SIGRTMIN + 1)
#define INTERVAL_NS	20000000L	/* 20 ms */

static volatile int hits, wrong, target_tid;
static volatile sig_atomic_t to_main;

static void on_main(int sig)
{
	(void)sig;
	to_main = 1;
}

static void *target(void *arg)
{
	sigset_t set;
	siginfo_t si;

	(void)arg;
	target_tid = syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIG);
	for (;;) {
		if (sigwaitinfo(&set, &si) != SIG)
			continue;
		if (si.si_code != SI_TIMER || si.si_value.sival_int != 42)
			wrong = 1;
		__atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* At least 5 more hits within 3 s. */
static void wait_hits(const char *when)
{
	struct timespec ts = { 0, 10000000 };
	int start = hits;

	for (int n = 0; n < 300; n++) {
		if (hits >= start + 5)
			return;
		nanosleep(&ts, NULL);
	}
	fail("%s: the thread's timer fired %d times in 3 s", when, hits - start);
}

int main(int argc, char **argv)
{
	struct itimerspec its = { { 0, INTERVAL_NS }, { 0, INTERVAL_NS } };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIG,
				.sigev_value.sival_int = 42 };
	sigset_t set;
	pthread_t th;
	timer_t id;

	test_init(argc, argv);
	/* The target blocks SIG too (inherited); the main thread takes it by a handler. */
	sigemptyset(&set);
	sigaddset(&set, SIG);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, target, NULL))
		fail("pthread_create");
	signal(SIG, on_main);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (!__atomic_load_n(&target_tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	sev._sigev_un._tid = target_tid;
	if (timer_create(CLOCK_MONOTONIC, &sev, &id) || timer_settime(id, 0, &its, NULL))
		fail_errno("timer_create for thread %d", target_tid);
	wait_hits("before checkpoint");
	test_ready();
	test_wait_checkpoint();

	wait_hits("after restore");
	if (wrong)
		fail("a signal of the thread's timer came with the wrong code or value");
	if (to_main)
		fail("the thread's timer signalled the main thread");
	pass();
}
