/* Small helpers of the file tests (zdtm.h, "files"). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include "zdtm.h"

int file_open_rw(const char *name)
{
	int fd = open(name, O_RDWR | O_CREAT, 0644);

	if (fd < 0)
		fail_errno("open %s", name);
	return fd;
}

void sig_wait_fd(int sig, int fd, const char *who)
{
	struct timespec ts = { .tv_sec = 10 };
	siginfo_t si;
	sigset_t s;
	int got;

	sigemptyset(&s);
	sigaddset(&s, sig);
	/* A checkpoint interrupts the wait (EINTR): wait again. */
	do
		got = sigtimedwait(&s, &si, &ts);
	while (got < 0 && errno == EINTR);
	if (got != sig)
		fail_errno("%s: signal %d did not arrive", who, sig);
	if (fd >= 0 && si.si_fd != fd)
		fail("%s: signal %d carries fd %d, expected %d", who, sig, si.si_fd, fd);
}
