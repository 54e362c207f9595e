/*
 * 64 threads keep their per-thread state: TLS value, tid, pthread_self(),
 * name, signal mask, alternate signal stack, scheduling policy and nice
 * value. At the checkpoint one thread spins in user space, some sleep in
 * nanosleep, the rest wait on a futex; main wakes them all after restore
 * and each checks itself.
 * zdtm: lazy
 */
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_THREADS	64
#define STACK_SIZE	(256 << 10)
#define ALTSTACK_SIZE	(64 << 10)
#define ALT_THREAD	3
#define IDLE_THREAD	4
#define BATCH_THREAD	5
#define BATCH_NICE	7

struct thr {
	int idx;
	pthread_t self;
	pid_t tid;
	char name[16];		/* "" = left unnamed */
	sigset_t mask;
	stack_t alt;
	int policy, nice;
	char err[256];		/* first failed check, "" if none */
};

static struct thr thr[NR_THREADS];
static pthread_t handles[NR_THREADS];
static __thread unsigned long tls_value;
static int go;			/* futex word: 1 once main has been restored */
static pthread_barrier_t barrier;
static char proc_comm[16];

static unsigned long tls_expected(int idx)
{
	return 0x5eed0000UL + idx * 7919UL;
}

static int futex(int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void setup(struct thr *t)
{
	struct sched_param sp = { 0 };

	tls_value = tls_expected(t->idx);
	t->tid = gettid();
	t->self = pthread_self();
	if (t->idx % 8 == 1) {
		snprintf(t->name, sizeof(t->name), "zt-%02d", t->idx);
		if (pthread_setname_np(t->self, t->name))
			fail("pthread_setname_np");
	}
	if (t->idx % 6 == 2) {
		sigset_t more;

		sigemptyset(&more);
		sigaddset(&more, SIGUSR1);
		sigaddset(&more, SIGRTMIN + t->idx % 10);
		if (pthread_sigmask(SIG_BLOCK, &more, NULL))
			fail("pthread_sigmask");
	}
	if (t->idx == ALT_THREAD) {
		t->alt.ss_sp = malloc(ALTSTACK_SIZE);
		t->alt.ss_size = ALTSTACK_SIZE;
		t->alt.ss_flags = 0;
		if (!t->alt.ss_sp || sigaltstack(&t->alt, NULL))
			fail_errno("sigaltstack");
	}
	if (t->idx == IDLE_THREAD && pthread_setschedparam(t->self, SCHED_IDLE, &sp))
		fail("SCHED_IDLE");
	if (t->idx == BATCH_THREAD) {
		if (pthread_setschedparam(t->self, SCHED_BATCH, &sp))
			fail("SCHED_BATCH");
		if (setpriority(PRIO_PROCESS, t->tid, BATCH_NICE))
			fail_errno("setpriority");
	}
	pthread_sigmask(SIG_BLOCK, NULL, &t->mask);
	t->policy = sched_getscheduler(t->tid);
	errno = 0;
	t->nice = getpriority(PRIO_PROCESS, t->tid);
	if (errno)
		fail_errno("getpriority");
}

static void wait_go(struct thr *t)
{
	if (t->idx == 0) {
		while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
			__builtin_ia32_pause();
	} else if (t->idx % 4 == 1) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
			nanosleep(&ts, NULL);
	} else {
		while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
			futex(&go, FUTEX_WAIT_PRIVATE, 0);
	}
}

#define BAD(t, ...) do { snprintf((t)->err, sizeof((t)->err), __VA_ARGS__); return; } while (0)

static void check(struct thr *t)
{
	char path[64], name[16];
	sigset_t mask;
	stack_t alt;
	int nice;

	if (tls_value != tls_expected(t->idx))
		BAD(t, "TLS value %#lx, expected %#lx", tls_value, tls_expected(t->idx));
	if (gettid() != t->tid)
		BAD(t, "gettid() %d, was %d", gettid(), t->tid);
	if (!pthread_equal(pthread_self(), t->self))
		BAD(t, "pthread_self() changed");
	snprintf(path, sizeof(path), "/proc/self/task/%d", t->tid);
	if (access(path, F_OK))
		BAD(t, "%s: %m", path);
	if (pthread_getname_np(t->self, name, sizeof(name)))
		BAD(t, "pthread_getname_np failed");
	if (strcmp(name, t->name[0] ? t->name : proc_comm))
		BAD(t, "name '%s', expected '%s'", name, t->name[0] ? t->name : proc_comm);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(&mask, sig) != sigismember(&t->mask, sig))
			BAD(t, "signal %d: blocked %d, was %d", sig, sigismember(&mask, sig),
			    sigismember(&t->mask, sig));
	if (sigaltstack(NULL, &alt))
		BAD(t, "sigaltstack: %m");
	if (t->idx == ALT_THREAD) {
		if (alt.ss_sp != t->alt.ss_sp || alt.ss_size != t->alt.ss_size || alt.ss_flags)
			BAD(t, "altstack %p+%zu flags %#x, was %p+%zu flags 0", alt.ss_sp, alt.ss_size,
			    alt.ss_flags, t->alt.ss_sp, t->alt.ss_size);
	} else if (alt.ss_flags != SS_DISABLE) {
		BAD(t, "altstack flags %#x, expected SS_DISABLE", alt.ss_flags);
	}
	if (sched_getscheduler(t->tid) != t->policy)
		BAD(t, "policy %d, was %d", sched_getscheduler(t->tid), t->policy);
	errno = 0;
	nice = getpriority(PRIO_PROCESS, t->tid);
	if (errno || nice != t->nice)
		BAD(t, "nice %d, was %d", nice, t->nice);
}

static void *thread_fn(void *arg)
{
	struct thr *t = arg;

	setup(t);
	pthread_barrier_wait(&barrier);
	wait_go(t);
	check(t);
	return t;
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		fail_errno("opendir /proc/self/task");
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	sigset_t term;
	int n, bad = 0;

	test_init(argc, argv);
	/* SIGTERM must reach main, which waits for it: all threads block it. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	tls_value = tls_expected(-1);
	if (pthread_getname_np(pthread_self(), proc_comm, sizeof(proc_comm)))
		fail("pthread_getname_np(main)");
	pthread_barrier_init(&barrier, NULL, NR_THREADS + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (int i = 0; i < NR_THREADS; i++) {
		thr[i].idx = i;
		if ((errno = pthread_create(&handles[i], &attr, thread_fn, &thr[i])))
			fail_errno("pthread_create %d", i);
	}
	pthread_barrier_wait(&barrier);
	if ((n = count_tasks()) != NR_THREADS + 1)
		fail("setup: %d tasks, expected %d", n, NR_THREADS + 1);

	test_ready();
	test_wait_checkpoint();

	if ((n = count_tasks()) != NR_THREADS + 1)
		fail("%d tasks after restore, expected %d", n, NR_THREADS + 1);
	if (gettid() != getpid())
		fail("main thread tid %d, pid %d", gettid(), getpid());
	if (tls_value != tls_expected(-1))
		fail("main's TLS value %#lx", tls_value);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	futex(&go, FUTEX_WAKE_PRIVATE, INT_MAX);
	for (int i = 0; i < NR_THREADS; i++) {
		void *ret;

		if ((errno = pthread_join(handles[i], &ret)))
			fail_errno("pthread_join %d", i);
		if (ret != &thr[i]) {
			test_msg("thread %d returned %p", i, ret);
			bad++;
		} else if (thr[i].err[0]) {
			test_msg("thread %d (tid %d): %s", i, thr[i].tid, thr[i].err);
			bad++;
		}
	}
	if (bad)
		fail("%d of %d threads failed their checks", bad, NR_THREADS);
	pass();
}
