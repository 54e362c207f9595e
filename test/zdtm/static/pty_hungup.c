/*
 * A pty slave whose master was closed: the kernel hung the slave up and
 * removed its /dev/pts/N node (the fd's link reads "/dev/pts/N
 * (deleted)"). After the restore the fd at SLAVE_FD is still a hung-up
 * pty slave: a read gives end of file, a write EIO, its link names a
 * deleted /dev/pts node.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "zdtm.h"

#define SLAVE_FD	10

static void check_hungup(const char *when)
{
	char link[64], path[64];
	ssize_t n;

	char c;
	ssize_t r = read(SLAVE_FD, &c, 1);
	int rerr = r < 0 ? errno : 0;
	ssize_t w = write(SLAVE_FD, "x", 1);
	struct stat st;

	if (r != 0 || w != -1 || errno != EIO)
		fail("%s: read gave %zd (%s), write %zd (%m); expected 0 and EIO", when, r, strerror(rerr), w);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", SLAVE_FD);
	n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	if (strncmp(link, "/dev/pts/", 9) || !strstr(link, " (deleted)"))
		fail("%s: fd %d is %s, not a deleted /dev/pts node", when, SLAVE_FD, link);
	if (fstat(SLAVE_FD, &st) || !S_ISCHR(st.st_mode) || major(st.st_rdev) < 136 || major(st.st_rdev) > 143)
		fail("%s: fd %d is not a pty slave (%m)", when, SLAVE_FD);
}

int main(int argc, char **argv)
{
	int m, s;

	test_init(argc, argv);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || unlockpt(m))
		fail_errno("posix_openpt");
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0 || dup2(s, SLAVE_FD) != SLAVE_FD)
		fail_errno("open slave");
	close(s);
	close(m);
	check_hungup("before");

	test_ready();
	test_wait_checkpoint();

	check_hungup("after");
	pass();
}
