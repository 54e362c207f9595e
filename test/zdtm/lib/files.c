/* Small helpers of the file tests (zdtm.h, "files"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

void fd_set_of(unsigned char *set, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		fail_errno("opendir /proc/self/fd");
	memset(set, 0, max);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (fd < max)
			set[fd] = 1;
	}
	closedir(d);
}
