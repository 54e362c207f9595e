/*
 * A shell job: the test runs on a terminal it does not own (the runner
 * starts it with `subreaper --pty`, a shell that leads the terminal's
 * session and puts the test in its own foreground group), fds 0-2 on it.
 * Dump and restore need --shell-job (the runner also checks that dump
 * without it fails naming the option, and restore too).
 *
 * Before the checkpoint the test turns ECHO off and VKILL to ^K on the
 * terminal. After restore (on the terminal cr restore ran on) fds 0-2 are
 * a terminal, the same one, which is the controlling terminal of the
 * test's session, a session the test does not lead; the test leads its
 * group, which is in the foreground; ECHO is still off and VKILL ^K.
 *
 * zdtm: cr-opts: --shell-job
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>
#include "zdtm.h"

#define MY_VKILL	0x0b

/* Field 7 of /proc/self/stat: the controlling terminal's device. */
static unsigned long ctty_dev(void)
{
	char buf[1024], *p;
	unsigned long dev = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		fail_errno("/proc/self/stat");
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %lu", &dev) != 1)
		fail("/proc/self/stat: unexpected '%s'", buf);
	return dev;
}

static void check_job(const char *when)
{
	struct stat st[3];

	for (int fd = 0; fd < 3; fd++) {
		if (!isatty(fd))
			fail("%s: fd %d is not a terminal", when, fd);
		if (fstat(fd, &st[fd]))
			fail_errno("%s: fstat %d", when, fd);
		if (st[fd].st_rdev != st[0].st_rdev)
			fail("%s: fd %d is another terminal than fd 0", when, fd);
	}
	if (ctty_dev() != (unsigned long)(major(st[0].st_rdev) << 8 | minor(st[0].st_rdev)))
		fail("%s: the controlling terminal (%#lx) is not fd 0's", when, ctty_dev());
	if (getsid(0) == getpid())
		fail("%s: the test leads its session", when);
	if (getpgrp() != getpid())
		fail("%s: group %d, the test should lead its own", when, getpgrp());
	if (tcgetpgrp(0) != getpgrp())
		fail("%s: the foreground group is %d, not the test's %d", when, tcgetpgrp(0), getpgrp());
	if (tcgetsid(0) != getsid(0))
		fail("%s: the terminal's session %d is not the test's %d", when, tcgetsid(0), getsid(0));
}

int main(int argc, char **argv)
{
	struct termios t;

	test_init(argc, argv);
	check_job("before");
	if (tcgetattr(0, &t))
		fail_errno("tcgetattr");
	t.c_lflag &= ~ECHO;
	t.c_cc[VKILL] = MY_VKILL;
	if (tcsetattr(0, TCSANOW, &t))
		fail_errno("tcsetattr");
	test_ready();

	test_wait_checkpoint();
	check_job("after");
	if (tcgetattr(0, &t))
		fail_errno("tcgetattr after");
	if ((t.c_lflag & ECHO) || t.c_cc[VKILL] != MY_VKILL)
		fail("termios: ECHO %s, VKILL %#x; expected off, %#x", t.c_lflag & ECHO ? "on" : "off",
		     t.c_cc[VKILL], MY_VKILL);
	pass();
}
