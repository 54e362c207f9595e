/*
 * Interval timers keep running: ITIMER_REAL and ITIMER_VIRTUAL (and
 * ITIMER_PROF) armed with intervals before the dump still report the same
 * interval and a running value after restore, and their signals keep
 * arriving.
 */
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "zdtm.h"

#define REAL_US		50000
#define VIRT_US		20000
#define PROF_US		30000
#define WAIT_SIGNALS_S	5

static volatile int n_alrm, n_vtalrm, n_prof;

static void handler(int sig)
{
	if (sig == SIGALRM)
		n_alrm++;
	else if (sig == SIGVTALRM)
		n_vtalrm++;
	else
		n_prof++;
}

static void arm(int which, long us)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 },
		.it_value = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 },
	};

	if (setitimer(which, &it, NULL))
		fail_errno("setitimer %d", which);
}

static void check(int which, const char *name, long us)
{
	struct itimerval it;

	if (getitimer(which, &it))
		fail_errno("getitimer %s", name);
	if (it.it_interval.tv_sec != us / 1000000 || it.it_interval.tv_usec != us % 1000000)
		fail("%s interval is %ld.%06ld, expected %ld us", name,
		     (long)it.it_interval.tv_sec, (long)it.it_interval.tv_usec, us);
	if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		fail("%s is disarmed after restore", name);
	/* CPU timers are reported rounded up to the tick: allow slack. */
	if (it.it_value.tv_sec * 1000000 + it.it_value.tv_usec > 2 * us)
		fail("%s value %ld.%06ld exceeds its interval", name,
		     (long)it.it_value.tv_sec, (long)it.it_value.tv_usec);
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART };
	int a0, v0, p0;
	double end;

	test_init(argc, argv);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
	sigaction(SIGPROF, &sa, NULL);

	arm(ITIMER_REAL, REAL_US);
	arm(ITIMER_VIRTUAL, VIRT_US);
	arm(ITIMER_PROF, PROF_US);

	test_ready();
	test_wait_checkpoint();

	check(ITIMER_REAL, "ITIMER_REAL", REAL_US);
	check(ITIMER_VIRTUAL, "ITIMER_VIRTUAL", VIRT_US);
	check(ITIMER_PROF, "ITIMER_PROF", PROF_US);

	/* Burn CPU so the virtual and prof timers advance too. */
	a0 = n_alrm; v0 = n_vtalrm; p0 = n_prof;
	end = now(CLOCK_MONOTONIC) + WAIT_SIGNALS_S;
	while (now(CLOCK_MONOTONIC) < end &&
	       (n_alrm - a0 < 3 || n_vtalrm - v0 < 3 || n_prof - p0 < 3))
		;
	if (n_alrm - a0 < 3 || n_vtalrm - v0 < 3 || n_prof - p0 < 3)
		fail("timer signals after restore: SIGALRM %d, SIGVTALRM %d, SIGPROF %d in %d s",
		     n_alrm - a0, n_vtalrm - v0, n_prof - p0, WAIT_SIGNALS_S);
	pass();
}
