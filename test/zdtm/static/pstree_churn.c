/*
 * The tree changes while cr seizes it. The root and one long-lived child
 * each fork short-lived children in a loop (one exits at once, the next
 * after a few microseconds, with an exit code of its own) and reap them
 * by pid, checking the code; a thread in each of them keeps creating and
 * joining a worker thread that returns a value of its own. A dump can
 * catch a child alive or as a zombie and a worker alive or just gone: the
 * restored loop reaps and joins them as usual. Until SIGTERM; then every
 * process forks and creates a few more and checks its ids.
 *
 * zdtm: tree-changes (the runner expects in the restored tree only the
 * pids of the images that are not reaped yet, and in leave-running mode
 * checks only the root)
 */
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define LOOP_SLEEP_NS	2000000L	/* <= 500 forks/s per forking process */
#define THREAD_SLEEP_NS	1000000L

struct churn {
	volatile unsigned long forks, joins;
	volatile int bad;		/* set by the thread churner */
	pthread_t churner;
};

static void nap(long ns)
{
	struct timespec ts = { 0, ns };

	nanosleep(&ts, NULL);	/* EINTR by SIGTERM is fine: the loop checks */
}

static void *worker(void *arg)
{
	unsigned long v = (unsigned long)arg;

	if (v & 1)
		nap(5000);
	return (void *)(v * 3 + 1);
}

static void *thread_churn(void *arg)
{
	struct churn *c = arg;

	for (unsigned long i = 1; !zdtm_sigterm_seen; i++) {
		pthread_t t;
		void *ret;
		int err;

		err = pthread_create(&t, NULL, worker, (void *)i);
		if (err) {
			test_msg("FAIL: pthread_create: %d", err);
			c->bad = 1;
			break;
		}
		err = pthread_join(t, &ret);
		if (err || (unsigned long)ret != i * 3 + 1) {
			test_msg("FAIL: join of worker %lu: err %d, returned %lu", i, err,
				 (unsigned long)ret);
			c->bad = 1;
			break;
		}
		c->joins++;
		nap(THREAD_SLEEP_NS);
	}
	return NULL;
}

/* One short-lived child: exit code I % 100, after a few us every other time. */
static int fork_one(unsigned long i)
{
	int status, code = i % 100;
	pid_t pid, r;

	pid = fork();
	if (pid < 0) {
		test_msg("FAIL: fork: %m");
		return 1;
	}
	if (pid == 0) {
		if (i & 1) {
			struct timespec ts = { 0, 5000 };

			nanosleep(&ts, NULL);
		}
		_exit(code);
	}
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (r != pid) {
		test_msg("FAIL: waitpid(%d): %m", pid);
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != code) {
		test_msg("FAIL: child %d (iteration %lu): status %#x, expected exit %d", pid, i,
			 status, code);
		return 1;
	}
	return 0;
}

static void churn_start(struct churn *c)
{
	int err = pthread_create(&c->churner, NULL, thread_churn, c);

	if (err) {
		errno = err;
		fail_errno("pthread_create");
	}
}

/* Fork until SIGTERM (or NR times, if not 0); returns the failures. */
static int churn_loop(struct churn *c, unsigned long nr)
{
	int bad = 0;

	while (!zdtm_sigterm_seen && !bad && (!nr || c->forks < nr)) {
		bad = fork_one(++c->forks);
		nap(LOOP_SLEEP_NS);
	}
	return bad;
}

/*
 * Stops the thread churner (SIGTERM was seen), then forks and creates a
 * few more: the restored process can still do both. Returns the failures.
 */
static int churn_stop(struct churn *c)
{
	int bad = pthread_join(c->churner, NULL) ? 1 : c->bad;

	for (unsigned long i = 1; i <= 5 && !bad; i++) {
		pthread_t t;
		void *ret;

		bad = fork_one(++c->forks);
		if (!bad && (pthread_create(&t, NULL, worker, (void *)i) ||
			     pthread_join(t, &ret) || (unsigned long)ret != i * 3 + 1)) {
			test_msg("FAIL: a worker thread after the checkpoint");
			bad = 1;
		}
	}
	return bad;
}

__attribute__((noreturn))
static void child(void)
{
	struct churn c = { 0 };
	struct tree_ids ids;
	int bad;

	tree_ids_get(&ids);
	churn_start(&c);
	tree_send(getppid(), 0);
	bad = churn_loop(&c, 0);
	bad += churn_stop(&c);
	bad += tree_ids_check(&ids);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	struct churn c = { 0 };
	struct tree_ids ids;
	pid_t kid;
	int bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);
	churn_start(&c);
	/* Churn a little before the pid file lets the runner dump us. */
	bad = churn_loop(&c, 10);
	while (!bad && !c.bad && c.joins < 10)
		nap(LOOP_SLEEP_NS);
	test_ready();
	bad += churn_loop(&c, 0);
	bad += churn_stop(&c);
	tree_forward(&kid, 1);
	bad += tree_ids_check(&ids);
	bad += tree_collect(&kid, 1);
	tree_exit(bad);
}
