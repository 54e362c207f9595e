/*
 * A lease being broken at dump: the test holds a write lease on FILE and
 * its child C is blocked opening FILE for reading, waiting for the break.
 * Not supported yet: the opener waits in the original's kernel, outside
 * any image (zdtm: refused: broken ); the dump is refused and the tree
 * runs on: the lease still reads as breaking to F_RDLCK, the test
 * releases it and C's open completes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define FILE_NAME	"zdtm_lease_breaking"

int main(int argc, char **argv)
{
	sigset_t s;
	pid_t kid;
	int fd, st;

	test_init(argc, argv);
	/* The break signal (SIGIO) is not what this test waits for. */
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	if (sigprocmask(SIG_BLOCK, &s, NULL))
		fail_errno("sigprocmask");
	fd = open(FILE_NAME, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		fail_errno("open");
	if (fcntl(fd, F_SETLEASE, F_WRLCK))
		fail_errno("F_SETLEASE F_WRLCK");

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		int rfd;

		do
			rfd = open(FILE_NAME, O_RDONLY);
		while (rfd < 0 && errno == EINTR);
		_exit(rfd < 0);
	}
	/* The lease reads as what it breaks to once C waits for it. */
	while (fcntl(fd, F_GETLEASE) == F_WRLCK)
		usleep(1000);
	zdtm_check(fcntl(fd, F_GETLEASE) == F_RDLCK);

	test_ready();
	test_wait_checkpoint();

	if (fcntl(fd, F_SETLEASE, F_UNLCK))
		fail_errno("F_SETLEASE F_UNLCK");
	if (waitpid(kid, &st, 0) != kid)
		fail_errno("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("the opener failed (status %#x)", st);
	pass();
}
