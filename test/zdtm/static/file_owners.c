/*
 * Owners of open file descriptions (F_SETOWN_EX) and their signals
 * (F_SETSIG), on the read ends of four pipes with O_ASYNC:
 *
 *   P_PID   owner the child (F_OWNER_PID), signal SIGRTMIN+1
 *   P_PGRP  owner the child's process group (F_OWNER_PGRP), the group of
 *           the child and the grandchild; default signal (SIGIO)
 *   P_TID   owner a second thread of the root (F_OWNER_TID), SIGRTMIN+2
 *   P_SIG   no owner, only F_SETSIG SIGRTMIN+3 (nothing is delivered)
 *
 * After restore every field is the same (type, id as the test sees it,
 * signal, O_ASYNC), and writing to each pipe delivers the signal to that
 * owner: the child and the grandchild each get SIGIO for P_PGRP, the
 * child SIGRTMIN+1 with si_fd of P_PID, the thread SIGRTMIN+2 (directed
 * at it, so no other thread could take it), and the root nothing for
 * P_SIG.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

enum { P_PID, P_PGRP, P_TID, P_SIG, NR_PIPES };

static int pipes[NR_PIPES][2];
static pid_t thread_tid;
static pid_t kid, grandkid;

#define SIG_PID		(SIGRTMIN + 1)
#define SIG_TID		(SIGRTMIN + 2)
#define SIG_ONLY	(SIGRTMIN + 3)

static void block_all(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIG_PID);
	sigaddset(&s, SIG_TID);
	sigaddset(&s, SIG_ONLY);
	if (sigprocmask(SIG_BLOCK, &s, NULL))
		fail_errno("sigprocmask");
}

static void set_owner(int fd, int type, pid_t id, int sig)
{
	struct f_owner_ex ex = { .type = type, .pid = id };

	if (id && fcntl(fd, F_SETOWN_EX, &ex))
		fail_errno("F_SETOWN_EX %d %d", type, id);
	if (fcntl(fd, F_SETSIG, sig))
		fail_errno("F_SETSIG %d", sig);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK))
		fail_errno("F_SETFL O_ASYNC");
}

static void check_owner(int fd, int type, pid_t id, int sig, const char *what)
{
	struct f_owner_ex ex;
	int s = fcntl(fd, F_GETSIG), fl = fcntl(fd, F_GETFL);

	if (fcntl(fd, F_GETOWN_EX, &ex))
		fail_errno("%s: F_GETOWN_EX", what);
	if (ex.pid != id || (id && (int)ex.type != type))
		fail("%s: owner type %d id %d, expected type %d id %d", what, ex.type, ex.pid, type, id);
	if (s != sig)
		fail("%s: F_GETSIG %d, expected %d", what, s, sig);
	if (fl < 0 || !(fl & O_ASYNC))
		fail("%s: O_ASYNC lost (flags %#x)", what, fl);
}

static void check_all(void)
{
	check_owner(pipes[P_PID][0], F_OWNER_PID, kid, SIG_PID, "pid owner");
	check_owner(pipes[P_PGRP][0], F_OWNER_PGRP, kid, 0, "group owner");
	check_owner(pipes[P_TID][0], F_OWNER_TID, thread_tid, SIG_TID, "thread owner");
	check_owner(pipes[P_SIG][0], F_OWNER_PID, 0, SIG_ONLY, "signal only");
}

static void *thread_fn(void *arg)
{
	int *go = arg;

	thread_tid = syscall(SYS_gettid);
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	/* Directed at this thread: only it can dequeue it. */
	sig_wait_fd(SIG_TID, pipes[P_TID][0], "thread");
	__atomic_store_n(go, 2, __ATOMIC_RELEASE);
	return NULL;
}

__attribute__((noreturn))
static void grandchild(void)
{
	tree_send(getppid(), 0);
	test_wait_checkpoint();
	sig_wait_fd(SIGIO, -1, "grandchild (group owner)");
	tree_exit(0);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t gk;

	if (setpgid(0, 0))
		fail_errno("setpgid");
	gk = tree_fork(grandchild);
	tree_recv(gk);
	tree_send(getppid(), gk);
	test_wait_checkpoint();
	tree_forward(&gk, 1);
	sig_wait_fd(SIG_PID, pipes[P_PID][0], "child (pid owner)");
	sig_wait_fd(SIGIO, -1, "child (group owner)");
	tree_exit(tree_collect(&gk, 1));
}

int main(int argc, char **argv)
{
	static int go;
	struct timespec ts = { 0 };
	pthread_t th;
	sigset_t s;

	test_init(argc, argv);
	tree_init();
	block_all();
	for (int i = 0; i < NR_PIPES; i++)
		if (pipe(pipes[i]))
			fail_errno("pipe");

	kid = tree_fork(child);
	grandkid = tree_recv(kid);
	if (pthread_create(&th, NULL, thread_fn, &go))
		fail("pthread_create");
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		usleep(1000);

	set_owner(pipes[P_PID][0], F_OWNER_PID, kid, SIG_PID);
	set_owner(pipes[P_PGRP][0], F_OWNER_PGRP, kid, 0);
	set_owner(pipes[P_TID][0], F_OWNER_TID, thread_tid, SIG_TID);
	set_owner(pipes[P_SIG][0], F_OWNER_PID, 0, SIG_ONLY);
	check_all();

	test_ready();
	test_wait_checkpoint();
	check_all();
	tree_forward(&kid, 1);

	for (int i = 0; i < NR_PIPES; i++)
		write_full(pipes[i][1], "x", 1);
	if (pthread_join(th, NULL))
		fail("pthread_join");
	zdtm_check(go == 2);

	/* The root owns nothing: no signal may be pending for it. */
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIG_ONLY);
	sigaddset(&s, SIG_PID);
	if (sigtimedwait(&s, NULL, &ts) >= 0)
		fail("the root got a signal of a file it does not own");
	tree_exit(tree_collect(&kid, 1));
}
