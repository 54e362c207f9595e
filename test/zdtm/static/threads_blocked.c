/*
 * Threads checkpointed while blocked, all released only after restore:
 *   - 3 threads in pthread_cond_wait() on a predicate;
 *   - LATE in sigwait() for a thread-directed SIGUSR1, and JOIN in
 *     pthread_join() on LATE, which returns a value after restore;
 *   - FUTEX in a raw FUTEX_WAIT (shared op) on a word main changes;
 *   - HOLDER owns a mutex and sleeps in sem_wait(), WAITER is blocked in
 *     pthread_mutex_lock() on it;
 *   - two robust mutexes: DEAD1 and DEAD2 each own one and exit without
 *     unlocking after restore. WAITER2 is blocked in a timed lock of the
 *     second and must get EOWNERDEAD; main locks the first afterwards and
 *     must get EOWNERDEAD too. Both need the robust lists back.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_COND		3
#define LATE_RET	((void *)0x1234)
#define FUTEX_VALUE	0xf00d
#define ROBUST_WAIT_S	20	/* WAITER2's deadline, from setup */

enum { COND0, COND1, COND2, LATE, JOIN, FUTEX, HOLDER, WAITER, DEAD1, DEAD2, WAITER2, NR_THR };

static const char *names[NR_THR] = {
	"cond0", "cond1", "cond2", "late", "join", "futex", "holder", "waiter",
	"dead1", "dead2", "waiter2",
};

static pthread_t th[NR_THR];
static pid_t tids[NR_THR];
static sem_t started;		/* posted by a thread right before it blocks */

static pthread_mutex_t cond_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_cv = PTHREAD_COND_INITIALIZER, setup_cv = PTHREAD_COND_INITIALIZER;
static int cond_waiting, cond_go, cond_woken;

static int futex_word;

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static sem_t holder_go;
static int handed_over;

static pthread_mutex_t robust[2];
static sem_t dead_go[2];
static struct timespec waiter2_deadline;

static void xsem_wait(sem_t *s)
{
	while (sem_wait(s))
		if (errno != EINTR)
			fail_errno("sem_wait");
}

static void *cond_fn(void *arg)
{
	void *ret = NULL;

	tids[(long)arg] = gettid();
	pthread_mutex_lock(&cond_mtx);
	cond_waiting++;
	pthread_cond_signal(&setup_cv);
	while (!cond_go)
		pthread_cond_wait(&cond_cv, &cond_mtx);
	/* The wait returns with the mutex held. */
	if (pthread_mutex_trylock(&cond_mtx) != EBUSY)
		ret = "pthread_cond_wait returned without the mutex";
	else if (++cond_woken > NR_COND)
		ret = "more wakeups than waiters";
	pthread_mutex_unlock(&cond_mtx);
	return ret;
}

static void *late_fn(void *arg)
{
	sigset_t set;
	int sig = 0;

	tids[(long)arg] = gettid();
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sem_post(&started);
	if (sigwait(&set, &sig) || sig != SIGUSR1)
		return "sigwait did not return SIGUSR1";
	return LATE_RET;
}

static void *join_fn(void *arg)
{
	void *ret = NULL;

	tids[(long)arg] = gettid();
	sem_post(&started);
	if (pthread_join(th[LATE], &ret))
		return "pthread_join(late) failed";
	if (ret != LATE_RET)
		return "late returned a wrong value";
	return NULL;
}

static void *futex_fn(void *arg)
{
	tids[(long)arg] = gettid();
	sem_post(&started);
	while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0)
		syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
	return futex_word == FUTEX_VALUE ? NULL : "futex word has a wrong value";
}

static void *holder_fn(void *arg)
{
	tids[(long)arg] = gettid();
	if (pthread_mutex_lock(&held))
		return "lock";
	sem_post(&started);
	xsem_wait(&holder_go);
	handed_over = 1;
	pthread_mutex_unlock(&held);
	return NULL;
}

static void *waiter_fn(void *arg)
{
	const char *ret = NULL;

	tids[(long)arg] = gettid();
	sem_post(&started);
	if (pthread_mutex_lock(&held))
		return "pthread_mutex_lock failed";
	if (!handed_over)
		ret = "got the mutex before its holder released it";
	pthread_mutex_unlock(&held);
	return (void *)ret;
}

/* Own robust mutex N and exit, after restore, without unlocking it. */
static void *dead_fn(void *arg)
{
	long n = (long)arg - DEAD1;

	tids[(long)arg] = gettid();
	if (pthread_mutex_lock(&robust[n]))
		return "lock robust";
	sem_post(&started);
	xsem_wait(&dead_go[n]);
	return NULL;
}

static void *waiter2_fn(void *arg)
{
	int r;

	tids[(long)arg] = gettid();
	sem_post(&started);
	r = pthread_mutex_timedlock(&robust[1], &waiter2_deadline);
	if (r == ETIMEDOUT)
		return "timed out on the robust mutex of a dead owner";
	if (r != EOWNERDEAD)
		return "robust mutex lock did not return EOWNERDEAD";
	if (pthread_mutex_consistent(&robust[1]) || pthread_mutex_unlock(&robust[1]))
		return "could not make the robust mutex consistent";
	return NULL;
}

/* Until the thread sleeps in the kernel (state S), 5 s at most. */
static void wait_sleeping(int i)
{
	const struct timespec ms = { 0, 1000000 };
	struct proc_stat st;

	for (int n = 0; n < 5000; n++) {
		if (proc_stat_read(tids[i], &st))
			fail("setup: thread %s (tid %d) not found", names[i], tids[i]);
		if (st.state == 'S')
			return;
		nanosleep(&ms, NULL);
	}
	fail("setup: thread %s does not block (state %c)", names[i], st.state);
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

static void start(int i, void *(*fn)(void *))
{
	if ((errno = pthread_create(&th[i], NULL, fn, (void *)(long)i)))
		fail_errno("pthread_create %s", names[i]);
	if (i < NR_COND)
		return;		/* counted in cond_waiting */
	xsem_wait(&started);
	wait_sleeping(i);
}

int main(int argc, char **argv)
{
	pthread_mutexattr_t ma;
	struct timespec deadline;
	sigset_t set;
	int bad = 0, r;

	test_init(argc, argv);
	/* SIGTERM is for main only; SIGUSR1 only for LATE's sigwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sem_init(&started, 0, 0);
	sem_init(&holder_go, 0, 0);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	for (int n = 0; n < 2; n++) {
		sem_init(&dead_go[n], 0, 0);
		if (pthread_mutex_init(&robust[n], &ma))
			fail("robust mutex init");
	}
	clock_gettime(CLOCK_REALTIME, &waiter2_deadline);
	waiter2_deadline.tv_sec += ROBUST_WAIT_S;

	for (int i = COND0; i < NR_COND; i++)
		start(i, cond_fn);
	pthread_mutex_lock(&cond_mtx);
	while (cond_waiting < NR_COND)
		pthread_cond_wait(&setup_cv, &cond_mtx);
	pthread_mutex_unlock(&cond_mtx);	/* all of them are in cond_wait now */
	start(LATE, late_fn);
	start(JOIN, join_fn);
	start(FUTEX, futex_fn);
	start(HOLDER, holder_fn);
	start(WAITER, waiter_fn);
	start(DEAD1, dead_fn);
	start(DEAD2, dead_fn);
	start(WAITER2, waiter2_fn);
	if ((r = count_tasks()) != NR_THR + 1)
		fail("setup: %d tasks, expected %d", r, NR_THR + 1);

	test_ready();
	test_wait_checkpoint();

	if ((r = count_tasks()) != NR_THR + 1)
		fail("%d tasks after restore, expected %d", r, NR_THR + 1);
	pthread_mutex_lock(&cond_mtx);
	cond_go = 1;
	pthread_cond_broadcast(&cond_cv);
	pthread_mutex_unlock(&cond_mtx);
	if ((errno = pthread_kill(th[LATE], SIGUSR1)))
		fail_errno("pthread_kill(late)");
	__atomic_store_n(&futex_word, FUTEX_VALUE, __ATOMIC_RELEASE);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	sem_post(&holder_go);
	sem_post(&dead_go[0]);
	sem_post(&dead_go[1]);

	for (int i = 0; i < NR_THR; i++) {
		void *ret;

		if (i == LATE)
			continue;	/* JOIN joins it */
		if ((errno = pthread_join(th[i], &ret)))
			fail_errno("pthread_join %s", names[i]);
		if (ret) {
			test_msg("thread %s: %s", names[i], (const char *)ret);
			bad++;
		}
	}
	if (cond_woken != NR_COND) {
		test_msg("%d condition waiters woke up, expected %d", cond_woken, NR_COND);
		bad++;
	}
	/* DEAD1 is joined: its robust list has marked the mutex. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	r = pthread_mutex_timedlock(&robust[0], &deadline);
	if (r != EOWNERDEAD) {
		test_msg("robust mutex of a dead owner: lock returned %d (%s), expected EOWNERDEAD",
			 r, strerror(r));
		bad++;
	} else if (pthread_mutex_consistent(&robust[0]) || pthread_mutex_unlock(&robust[0])) {
		test_msg("could not make the robust mutex consistent");
		bad++;
	}
	if (bad)
		fail("%d check(s) failed", bad);
	pass();
}
