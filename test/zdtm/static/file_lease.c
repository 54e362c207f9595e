/*
 * Leases (F_SETLEASE): a read lease on FILE_RD (opened read-only) with the
 * default signal, a write lease on FILE_WR (opened read-write) whose break
 * signal is SIG_WR (F_SETSIG).
 *
 * After restore F_GETLEASE gives the same leases, and they are held: a
 * child's non-blocking open for writing of FILE_RD, then for reading of
 * FILE_WR, fails with EWOULDBLOCK and breaks the lease; the test gets the
 * break signal (SIGIO for FILE_RD, SIG_WR with si_fd of FILE_WR), F_GETLEASE says what the lease breaks to, the test releases
 * it and the child's open succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_RD		"zdtm_lease.rd"
#define FILE_WR		"zdtm_lease.wr"
#define SIG_WR		(SIGRTMIN + 4)

static int open_file(const char *name, int flags)
{
	int fd = open(name, flags | O_CREAT, 0644);

	if (fd < 0)
		fail_errno("open %s", name);
	return fd;
}

static void check_lease(int fd, int want, const char *what)
{
	int got = fcntl(fd, F_GETLEASE);

	if (got != want)
		fail("%s: F_GETLEASE %d, expected %d", what, got, want);
}

/* In a child: open @name with @flags, which must fail with EWOULDBLOCK. */
static pid_t break_lease(const char *name, int flags)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0) {
		int fd = open(name, flags | O_NONBLOCK);

		if (fd >= 0 || errno != EWOULDBLOCK) {
			test_msg("open %s: %s, expected EWOULDBLOCK (no lease?)\n", name,
				 fd >= 0 ? "success" : "other error");
			_exit(1);
		}
		_exit(0);
	}
	return pid;
}

static void wait_ok(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		fail_errno("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("%s: the child failed (status %#x)", what, st);
}

/* The lease on @fd is there: breaking it signals us, releasing it lets the opener in. */
static void check_break(int fd, const char *name, int open_flags, int sig, int breaks_to)
{
	/* Plain SIGIO carries no siginfo (no si_fd): only an F_SETSIG signal does. */
	int sig_fd = sig == SIGIO ? -1 : fd;
	int nfd;

	wait_ok(break_lease(name, open_flags), name);
	sig_wait_fd(sig, sig_fd, name);
	check_lease(fd, breaks_to, name);
	if (fcntl(fd, F_SETLEASE, F_UNLCK))
		fail_errno("%s: F_SETLEASE F_UNLCK", name);
	nfd = open(name, open_flags | O_NONBLOCK);
	if (nfd < 0)
		fail_errno("%s: open after the release", name);
	close(nfd);
	check_lease(fd, F_UNLCK, name);
}

int main(int argc, char **argv)
{
	int rd, wr;
	sigset_t s;

	test_init(argc, argv);
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIG_WR);
	if (sigprocmask(SIG_BLOCK, &s, NULL))
		fail_errno("sigprocmask");

	close(open_file(FILE_RD, O_RDONLY));
	rd = open_file(FILE_RD, O_RDONLY);
	if (fcntl(rd, F_SETLEASE, F_RDLCK))
		fail_errno("F_SETLEASE F_RDLCK");
	wr = open_file(FILE_WR, O_RDWR);
	if (fcntl(wr, F_SETSIG, SIG_WR))
		fail_errno("F_SETSIG");
	if (fcntl(wr, F_SETLEASE, F_WRLCK))
		fail_errno("F_SETLEASE F_WRLCK");
	check_lease(rd, F_RDLCK, FILE_RD);
	check_lease(wr, F_WRLCK, FILE_WR);

	test_ready();
	test_wait_checkpoint();

	check_lease(rd, F_RDLCK, FILE_RD);
	check_lease(wr, F_WRLCK, FILE_WR);
	check_break(rd, FILE_RD, O_WRONLY, SIGIO, F_UNLCK);
	check_break(wr, FILE_WR, O_RDONLY, SIG_WR, F_RDLCK);
	pass();
}
