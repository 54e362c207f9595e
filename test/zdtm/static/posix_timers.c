/*
 * POSIX timers on several clocks (realtime, monotonic, boottime and the
 * process CPU-time clock) keep their ids, signals, values and intervals,
 * and keep firing after restore. A disarmed timer and a SIGEV_NONE one
 * come back too.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_FIRING	3
#define INTERVAL_NS	50000000L	/* 50 ms */
#define CPU_INTERVAL_NS	10000000L	/* 10 ms of CPU time */
#define CPU		NR_FIRING	/* index of the CPU-time timer */

static const clockid_t clocks[NR_FIRING] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME };
static timer_t firing[NR_FIRING + 1], idle, silent;
static volatile sig_atomic_t hits[NR_FIRING + 1], bad_value;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	int i = si->si_value.sival_int;

	(void)uc;
	if (i < 0 || i > CPU || sig != SIGRTMIN + i)
		bad_value = 1;
	else
		hits[i]++;
}

static void wait_hits(const char *when)
{
	int start[NR_FIRING];
	struct timespec ts = { 0, 10000000 };

	for (int i = 0; i < NR_FIRING; i++)
		start[i] = hits[i];
	for (int n = 0; n < 300; n++) {
		int all = 1;

		for (int i = 0; i < NR_FIRING; i++)
			all &= hits[i] >= start[i] + 3;
		if (all)
			return;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < NR_FIRING; i++)
		if (hits[i] < start[i] + 3)
			fail("%s: timer on clock %d fired %d times in 3 s", when, clocks[i], hits[i] - start[i]);
}

/* The CPU-time clock only advances while we run: spin (3 s at most). */
static void wait_cpu_hits(const char *when)
{
	struct timespec start, now;
	int first = hits[CPU];

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (volatile int spin = 0; spin < 100000; spin++)
			;
		if (hits[CPU] >= first + 3)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 3);
	fail("%s: the CPU-time timer fired %d times in 3 s", when, hits[CPU] - first);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct itimerspec its = { { 0, INTERVAL_NS }, { 0, INTERVAL_NS } }, got;
	struct itimerspec cpu_its = { { 0, CPU_INTERVAL_NS }, { 0, CPU_INTERVAL_NS } };
	timer_t ids_before[NR_FIRING + 1];

	test_init(argc, argv);
	for (int i = 0; i < NR_FIRING; i++) {
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + i,
					.sigev_value.sival_int = i };

		sigaction(SIGRTMIN + i, &sa, NULL);
		if (timer_create(clocks[i], &sev, &firing[i]) || timer_settime(firing[i], 0, &its, NULL))
			fail_errno("timer %d", i);
		ids_before[i] = firing[i];
	}
	{
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + CPU,
					.sigev_value.sival_int = CPU };

		sigaction(SIGRTMIN + CPU, &sa, NULL);
		if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &firing[CPU]) ||
		    timer_settime(firing[CPU], 0, &cpu_its, NULL))
			fail_errno("CPU-time timer");
		ids_before[CPU] = firing[CPU];
	}
	{
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2 };
		struct sigevent none = { .sigev_notify = SIGEV_NONE };
		struct itimerspec later = { { 5, 0 }, { 1000, 0 } };

		if (timer_create(CLOCK_MONOTONIC, &sev, &idle) ||
		    timer_create(CLOCK_MONOTONIC, &none, &silent) ||
		    timer_settime(silent, 0, &later, NULL))
			fail_errno("idle/silent timers");
	}
	wait_hits("before checkpoint");
	wait_cpu_hits("before checkpoint");
	test_ready();
	test_wait_checkpoint();

	wait_hits("after restore");
	wait_cpu_hits("after restore");
	if (bad_value)
		fail("a timer signal came with the wrong value or signal number");
	for (int i = 0; i <= CPU; i++) {
		if (firing[i] != ids_before[i])
			fail("timer id changed");
		if (timer_gettime(firing[i], &got))
			fail_errno("timer_gettime %d after restore", i);
		if (got.it_interval.tv_sec != 0 ||
		    got.it_interval.tv_nsec != (i == CPU ? CPU_INTERVAL_NS : INTERVAL_NS))
			fail("timer %d: interval %ld.%09ld", i, (long)got.it_interval.tv_sec, got.it_interval.tv_nsec);
	}
	if (timer_gettime(idle, &got) || got.it_value.tv_sec || got.it_value.tv_nsec)
		fail("the disarmed timer is missing or armed");
	if (timer_gettime(silent, &got) || got.it_interval.tv_sec != 5 || got.it_value.tv_sec < 900)
		fail("the SIGEV_NONE timer lost its settings (%ld s left, interval %ld)",
		     (long)got.it_value.tv_sec, (long)got.it_interval.tv_sec);
	pass();
}
