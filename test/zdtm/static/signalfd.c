/*
 * signalfds: one for SIGUSR1 and SIGRTMIN+3 (O_NONBLOCK), one for SIGUSR2
 * only, both with their signals blocked; a SIGUSR1 is pending at the
 * checkpoint.
 *
 * After restore each fd's fdinfo shows the mask recorded before, with the
 * same status flags. The pending SIGUSR1 comes out of the first fd; then
 * signals raised after restore come out of the fd whose mask has them,
 * and not out of the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "zdtm.h"

static int fd_a, fd_b, fl_a, fl_b;
static char mask_a[64], mask_b[64];

static void sigmask_of(int fd, char *out, size_t len)
{
	char buf[1024], *l;

	fdinfo_read(fd, buf, sizeof(buf));
	l = strstr(buf, "sigmask:");
	if (!l)
		fail("fd %d: no sigmask in fdinfo", fd);
	snprintf(out, len, "%.*s", (int)strcspn(l, "\n"), l);
}

static int next_sig(int fd)
{
	struct signalfd_siginfo si;
	ssize_t n = read(fd, &si, sizeof(si));

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n != sizeof(si))
		fail_errno("read signalfd %d", fd);
	return si.ssi_signo;
}

static void check(int fd, const char *want_mask, int want_fl)
{
	char m[64];
	int fl = fcntl(fd, F_GETFL);

	sigmask_of(fd, m, sizeof(m));
	if (strcmp(m, want_mask))
		fail("signalfd %d: '%s', expected '%s'", fd, m, want_mask);
	if (fl != want_fl)
		fail("signalfd %d: flags %#o, expected %#o", fd, fl, want_fl);
}

int main(int argc, char **argv)
{
	sigset_t a, b, all;
	int s;

	test_init(argc, argv);

	sigemptyset(&a);
	sigaddset(&a, SIGUSR1);
	sigaddset(&a, SIGRTMIN + 3);
	sigemptyset(&b);
	sigaddset(&b, SIGUSR2);
	all = a;
	sigaddset(&all, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &all, NULL))
		fail_errno("sigprocmask");
	fd_a = signalfd(-1, &a, SFD_NONBLOCK);
	fd_b = signalfd(-1, &b, 0);
	if (fd_a < 0 || fd_b < 0)
		fail_errno("signalfd");
	fl_a = fcntl(fd_a, F_GETFL);
	fl_b = fcntl(fd_b, F_GETFL);
	sigmask_of(fd_a, mask_a, sizeof(mask_a));
	sigmask_of(fd_b, mask_b, sizeof(mask_b));
	if (kill(getpid(), SIGUSR1))
		fail_errno("kill");

	test_ready();
	test_wait_checkpoint();

	check(fd_a, mask_a, fl_a);
	check(fd_b, mask_b, fl_b);
	if ((s = next_sig(fd_a)) != SIGUSR1)
		fail("first signalfd: signal %d, expected the pending SIGUSR1", s);
	if ((s = next_sig(fd_a)) != 0)
		fail("first signalfd: signal %d, expected none", s);

	if (kill(getpid(), SIGRTMIN + 3) || kill(getpid(), SIGUSR2))
		fail_errno("kill");
	if ((s = next_sig(fd_a)) != SIGRTMIN + 3)
		fail("first signalfd: signal %d, expected SIGRTMIN+3", s);
	if ((s = next_sig(fd_a)) != 0)
		fail("first signalfd: signal %d, expected none (SIGUSR2 is not in its mask)", s);
	if ((s = next_sig(fd_b)) != SIGUSR2)
		fail("second signalfd: signal %d, expected SIGUSR2", s);
	pass();
}
