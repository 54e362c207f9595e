/*
 * The time namespace: the test is pid 1 of namespaces that include a
 * time namespace whose CLOCK_MONOTONIC is 100000 s and CLOCK_BOOTTIME
 * 200000 s ahead of the host's. After restore
 *   - /proc/self/timens_offsets shows the same offsets;
 *   - CLOCK_MONOTONIC is still above 100000 s, CLOCK_BOOTTIME above
 *     200000 s, and both went on across the checkpoint: later than
 *     before, by about the time CLOCK_REALTIME says passed (the offsets
 *     are the namespace's, not merely ones that make the clocks large);
 *   - the vDSO's clock_gettime() and the system call agree (the vDSO
 *     reads the namespace's page, not the host's clock);
 * in the root and in a child forked before the checkpoint.
 *
 * zdtm: flavors: ns
 * zdtm: unshare: --pid --mount --net --uts --ipc --cgroup --time --mount-proc --monotonic 100000 --boottime 200000
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define MONO_OFF	100000LL
#define BOOT_OFF	200000LL
#define NSEC		1000000000LL
#define SLACK		(2 * NSEC)	/* clocks read at slightly other moments */

struct times {
	long long mono, boot, real;
};

static long long ns_of(clockid_t clk)
{
	struct timespec ts;

	if (clock_gettime(clk, &ts))
		fail_errno("clock_gettime(%d)", (int)clk);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static long long sys_ns_of(clockid_t clk)
{
	struct timespec ts;

	if (syscall(SYS_clock_gettime, clk, &ts))
		fail_errno("clock_gettime(%d) system call", (int)clk);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static void times_take(struct times *t)
{
	t->real = ns_of(CLOCK_REALTIME);
	t->mono = ns_of(CLOCK_MONOTONIC);
	t->boot = ns_of(CLOCK_BOOTTIME);
}

/* "monotonic S NS" and "boottime S NS" of /proc/self/timens_offsets. */
static int offsets_check(const char *who)
{
	long long ms = -1, mn = -1, bs = -1, bn = -1;
	char line[128];
	FILE *f = fopen("/proc/self/timens_offsets", "r");

	if (!f) {
		test_msg("FAIL: %s: /proc/self/timens_offsets: %m", who);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "monotonic %lld %lld", &ms, &mn);
		sscanf(line, "boottime %lld %lld", &bs, &bn);
	}
	fclose(f);
	if (ms != MONO_OFF || mn != 0 || bs != BOOT_OFF || bn != 0) {
		test_msg("FAIL: %s: timens_offsets says monotonic %lld %lld, boottime %lld %lld; expected %lld 0, "
			 "%lld 0", who, ms, mn, bs, bn, MONO_OFF, BOOT_OFF);
		return 1;
	}
	return 0;
}

static int vdso_check(const char *who, clockid_t clk, const char *name)
{
	long long v = ns_of(clk), s = sys_ns_of(clk), v2 = ns_of(clk);

	if (s < v - SLACK || s > v2 + SLACK) {
		test_msg("FAIL: %s: %s is %lld.%09lld s by the vDSO but %lld.%09lld s by the system call", who, name,
			 v / NSEC, v % NSEC, s / NSEC, s % NSEC);
		return 1;
	}
	return 0;
}

static int check(const char *who, const struct times *before)
{
	struct times now;
	long long passed;
	int bad = offsets_check(who);

	times_take(&now);
	passed = now.real - before->real;
	if (now.mono < MONO_OFF * NSEC || now.boot < BOOT_OFF * NSEC) {
		test_msg("FAIL: %s: CLOCK_MONOTONIC %lld s, CLOCK_BOOTTIME %lld s: the offsets are gone", who,
			 now.mono / NSEC, now.boot / NSEC);
		bad++;
	}
	if (now.mono <= before->mono || now.boot <= before->boot) {
		test_msg("FAIL: %s: the clocks went back: CLOCK_MONOTONIC %lld -> %lld ns, CLOCK_BOOTTIME %lld -> "
			 "%lld ns", who, before->mono, now.mono, before->boot, now.boot);
		bad++;
	}
	/* Monotonic may lag real time (a suspend), never run ahead of it. */
	if (now.mono - before->mono > passed + SLACK || now.boot - before->boot > passed + SLACK ||
	    now.boot - before->boot < passed - SLACK) {
		test_msg("FAIL: %s: %lld ms passed (CLOCK_REALTIME), but CLOCK_MONOTONIC moved %lld ms and "
			 "CLOCK_BOOTTIME %lld ms", who, passed / 1000000, (now.mono - before->mono) / 1000000,
			 (now.boot - before->boot) / 1000000);
		bad++;
	}
	bad += vdso_check(who, CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
	bad += vdso_check(who, CLOCK_BOOTTIME, "CLOCK_BOOTTIME");
	return bad;
}

int main(int argc, char **argv)
{
	struct times before;
	pid_t kid;
	int bad;

	test_init(argc, argv);
	tree_init();
	if (getpid() != 1)
		fail("not pid 1 of a pid namespace (pid %d): run in the ns flavor", getpid());
	times_take(&before);
	usleep(2000);
	if (check("setup", &before))
		fail("setup: not in a time namespace with the offsets this test expects");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		tree_send(getppid(), 0);
		test_wait_checkpoint();
		tree_exit(check("the child", &before));
	}
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&kid, 1);
	bad = check("the root", &before);
	bad += tree_collect(&kid, 1);
	tree_exit(bad);
}
