/*
 * A fd table shared by three processes: the root R (with a second
 * thread, the table's owner has threads to go live too) made C with
 * clone(CLONE_FILES), C made G the same way (a sharer that is not R's
 * direct child). Fds opened before the clones (R's /dev/null at
 * FD_EARLY) and after them (C's pipe, with a byte in it; G's file, on
 * which C holds a POSIX lock) are in the one table. After the restore:
 *   - kcmp(KCMP_FILES) says R, C and G still share one table;
 *   - R's table holds exactly the fds it held before the dump (none of
 *     cr's left behind, the go pipe included), the pipe still has its byte;
 *   - C's POSIX lock is there, C's (a process with a table of its own
 *     sees it with F_GETLK, l_pid C), and R's on a file of its own R's;
 *   - an fd R opens is G's too, and one G closes is gone for R.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include "zdtm.h"

#define STACK_SIZE	(64 << 10)
#define FD_EARLY	50
#define FD_PIPE		60	/* and FD_PIPE + 1 */
#define FD_LOCKED	70
#define FD_R_LOCKED	71	/* R's file, with R's lock */
#define FD_LATE		100
#define MAX_FDS		1024

static pid_t c, g;

static int same(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

static void fd_at(int fd, int at)
{
	if (fd < 0 || (fd != at && dup2(fd, at) != at))
		fail_errno("fd %d at %d", fd, at);
	if (fd != at)
		close(fd);
}

static int g_main(void *arg)
{
	int bad = 0;

	(void)arg;
	fd_at(open("clone_files.lock", O_RDWR | O_CREAT, 0644), FD_LOCKED);
	tree_send(getppid(), 0);	/* C: our memory is a copy of C's from before R learnt c */
	test_wait_checkpoint();
	/* R opened FD_LATE after the restore, then told us. */
	if (tree_recv(tree_root) != FD_LATE || fcntl(FD_LATE, F_GETFD) < 0) {
		test_msg("FAIL: G: fd %d the root opened is not in G's table: %m", FD_LATE);
		bad++;
	}
	close(FD_LATE);
	tree_send(tree_root, 0);
	_exit(bad ? 1 : 0);
}

static int c_main(void *arg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int p[2], bad = 0;

	(void)arg;
	if (pipe(p) || write(p[1], "x", 1) != 1)
		fail_errno("pipe");
	fd_at(p[0], FD_PIPE);
	fd_at(p[1], FD_PIPE + 1);
	g = clone(g_main, (char *)malloc(STACK_SIZE) + STACK_SIZE, CLONE_FILES | SIGCHLD, NULL);
	if (g < 0)
		fail_errno("clone(CLONE_FILES) of G");
	tree_recv(g);
	if (fcntl(FD_LOCKED, F_SETLK, &fl))
		fail_errno("C: F_SETLK on G's file");
	tree_send(tree_root, g);
	test_wait_checkpoint();
	kill(g, SIGTERM);
	bad += tree_collect(&g, 1);
	_exit(bad ? 1 : 0);
}

/* R's second thread: only its main thread takes the runner's signals. */
static void *idle_thread(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	for (;;)
		pause();
	return NULL;
}

/* In a process with a table of its own: the lock on @fd is @owner's. */
static int lock_is(int fd, pid_t owner)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	pid_t pid = fork();
	int status;

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		if (fcntl(fd, F_GETLK, &fl))
			_exit(2);
		_exit(fl.l_type == F_WRLCK && fl.l_pid == owner ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid)
		fail_errno("waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	static unsigned char before[MAX_FDS], after[MAX_FDS];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char byte = 0;
	int bad = 0;

	pthread_t th;

	test_init(argc, argv);
	tree_init();
	fd_at(open("/dev/null", O_RDONLY), FD_EARLY);
	errno = pthread_create(&th, NULL, idle_thread, NULL);
	if (errno)
		fail_errno("pthread_create");
	c = clone(c_main, (char *)malloc(STACK_SIZE) + STACK_SIZE, CLONE_FILES | SIGCHLD, NULL);
	if (c < 0)
		fail_errno("clone(CLONE_FILES) of C");
	g = tree_recv(c);
	fd_at(open("clone_files.r-lock", O_RDWR | O_CREAT, 0644), FD_R_LOCKED);
	if (fcntl(FD_R_LOCKED, F_SETLK, &fl))
		fail_errno("R: F_SETLK");
	if (!same(getpid(), c, KCMP_FILES) || !same(c, g, KCMP_FILES))
		fail("setup: R, C and G do not share their fd table");
	if (!lock_is(FD_LOCKED, c) || !lock_is(FD_R_LOCKED, getpid()))
		fail("setup: the locks on fds %d and %d are not C's and R's", FD_LOCKED, FD_R_LOCKED);
	fd_set_of(before, MAX_FDS);

	test_ready();
	test_wait_checkpoint();

	if (!same(getpid(), c, KCMP_FILES) || !same(c, g, KCMP_FILES)) {
		test_msg("FAIL: R, C and G no longer share one fd table");
		bad++;
	}
	fd_set_of(after, MAX_FDS);
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (before[fd] != after[fd]) {
			test_msg("FAIL: fd %d is %s after the restore", fd, after[fd] ? "open" : "closed");
			bad++;
		}
	if (read(FD_PIPE, &byte, 1) != 1 || byte != 'x') {
		test_msg("FAIL: the pipe's byte is not there: %m");
		bad++;
	}
	if (!lock_is(FD_LOCKED, c)) {
		test_msg("FAIL: C's POSIX lock on fd %d is not there, or not C's", FD_LOCKED);
		bad++;
	}
	if (!lock_is(FD_R_LOCKED, getpid())) {
		test_msg("FAIL: R's POSIX lock on fd %d is not there, or not R's", FD_R_LOCKED);
		bad++;
	}
	kill(c, SIGTERM);
	fd_at(open("/dev/null", O_RDONLY), FD_LATE);
	tree_send(g, FD_LATE);
	tree_recv(g);
	if (fcntl(FD_LATE, F_GETFD) >= 0) {
		test_msg("FAIL: fd %d G closed is still in the root's table", FD_LATE);
		bad++;
	}
	bad += tree_collect(&c, 1);
	tree_exit(bad);
}
