/*
 * Time through the vDSO still works after restore: the [vdso] mapping is
 * where AT_SYSINFO_EHDR says, CLOCK_MONOTONIC did not go backwards,
 * CLOCK_REALTIME, gettimeofday() and time() agree with each other.
 */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>
#include "zdtm.h"

#define CALLS		10000
#define MAX_SKEW_S	2

static unsigned long vdso_start(void)
{
	char line[512];
	unsigned long start = 0, end;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		fail_errno("open maps");
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(f);
	return start;
}

static double ts_d(const struct timespec *ts)
{
	return ts->tv_sec + ts->tv_nsec / 1e9;
}

static void check_clocks(const char *when)
{
	struct timespec mono_prev, mono, rt, coarse, boot;
	struct timeval tv;
	time_t t;

	clock_gettime(CLOCK_MONOTONIC, &mono_prev);
	for (int i = 0; i < CALLS; i++) {
		clock_gettime(CLOCK_MONOTONIC, &mono);
		if (ts_d(&mono) < ts_d(&mono_prev))
			fail("%s: CLOCK_MONOTONIC went backwards", when);
		mono_prev = mono;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	gettimeofday(&tv, NULL);
	t = time(NULL);
	if (rt.tv_sec < t - MAX_SKEW_S || rt.tv_sec > t + MAX_SKEW_S ||
	    tv.tv_sec < t - MAX_SKEW_S || tv.tv_sec > t + MAX_SKEW_S)
		fail("%s: realtime %ld, gettimeofday %ld, time %ld disagree", when,
		     (long)rt.tv_sec, (long)tv.tv_sec, (long)t);
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &coarse) ||
	    clock_gettime(CLOCK_BOOTTIME, &boot))
		fail_errno("%s: coarse/boottime clocks", when);
	if (ts_d(&boot) + 1 < ts_d(&mono))
		fail("%s: CLOCK_BOOTTIME behind CLOCK_MONOTONIC", when);
}

int main(int argc, char **argv)
{
	struct timespec mono_before, mono_after, rt_before, rt_after;
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR), before = vdso_start(), after;

	test_init(argc, argv);
	if (!ehdr || before != ehdr)
		fail("vdso at %#lx, AT_SYSINFO_EHDR %#lx before the dump", before, ehdr);
	check_clocks("before");
	clock_gettime(CLOCK_MONOTONIC, &mono_before);
	clock_gettime(CLOCK_REALTIME, &rt_before);

	test_ready();
	test_wait_checkpoint();

	after = vdso_start();
	if (after != before)
		fail("[vdso] moved from %#lx to %#lx", before, after);
	clock_gettime(CLOCK_MONOTONIC, &mono_after);
	clock_gettime(CLOCK_REALTIME, &rt_after);
	if (ts_d(&mono_after) < ts_d(&mono_before))
		fail("CLOCK_MONOTONIC went backwards across the checkpoint");
	if (ts_d(&rt_after) < ts_d(&rt_before) - MAX_SKEW_S)
		fail("CLOCK_REALTIME went backwards across the checkpoint");
	check_clocks("after");
	pass();
}
