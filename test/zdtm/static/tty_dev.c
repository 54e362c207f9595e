/*
 * /dev/tty and /dev/console opened by the tree. C leads a session whose
 * controlling terminal is the slave of a pty pair the root holds the
 * master of; C holds /dev/tty (opened through that ctty) at TTY_FD. The
 * root holds /dev/console (O_WRONLY|O_NOCTTY) at CONSOLE_FD.
 *
 * After restore TTY_FD is /dev/tty (5:0) again and still leads to C's
 * controlling terminal: what C writes to it the root reads on the master
 * (ONLCR turns \n into \r\n). CONSOLE_FD is /dev/console (5:1) with the
 * same status flags. Nothing is written to the console.
 *
 * zdtm: flavors: h ns -uns (/dev/console belongs to root of the initial user namespace: a task of another cannot open it)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>
#include "zdtm.h"

#define TTY_FD		20
#define CONSOLE_FD	21
#define MSG		"via-dev-tty\n"
#define AT_MASTER	"via-dev-tty\r\n"

static void move_fd(int fd, int to)
{
	if (fd < 0 || dup2(fd, to) != to)
		fail_errno("fd %d to %d", fd, to);
	close(fd);
}

static void check_dev(int fd, unsigned maj, unsigned min, const char *what)
{
	struct stat st;

	if (fstat(fd, &st))
		fail_errno("%s: fstat", what);
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != maj || minor(st.st_rdev) != min)
		fail("%s: device %u:%u, expected %u:%u", what, major(st.st_rdev), minor(st.st_rdev), maj, min);
}

__attribute__((noreturn))
static void child(void)
{
	int s;

	if (setsid() < 0)
		fail_errno("setsid");
	/* The slave's name came with the fork (in the environment). */
	s = open(getenv("ZDTM_TTY_SLAVE"), O_RDWR);	/* becomes the ctty */
	if (s < 0)
		fail_errno("open slave");
	move_fd(open("/dev/tty", O_RDWR), TTY_FD);
	tree_send(getppid(), 0);
	test_wait_checkpoint();

	check_dev(TTY_FD, 5, 0, "/dev/tty");
	write_full(TTY_FD, MSG, strlen(MSG));
	tree_recv(getppid());	/* the root read it */
	close(s);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char buf[64];
	size_t got = 0;
	int m, flags;
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m))
		fail_errno("posix_openpt");
	if (setenv("ZDTM_TTY_SLAVE", ptsname(m), 1))
		fail_errno("setenv");
	move_fd(open("/dev/console", O_WRONLY | O_NOCTTY), CONSOLE_FD);
	flags = fcntl(CONSOLE_FD, F_GETFL);
	kid = tree_fork(child);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_dev(CONSOLE_FD, 5, 1, "/dev/console");
	if (fcntl(CONSOLE_FD, F_GETFL) != flags)
		fail("/dev/console: flags %#x, expected %#x", fcntl(CONSOLE_FD, F_GETFL), flags);
	while (got < strlen(AT_MASTER)) {
		struct pollfd p = { .fd = m, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) != 1)
			fail("the master got %zu bytes of what C wrote to /dev/tty", got);
		n = read(m, buf + got, sizeof(buf) - got);
		if (n <= 0)
			fail_errno("read master");
		got += n;
	}
	if (got != strlen(AT_MASTER) || memcmp(buf, AT_MASTER, got))
		fail("the master read '%.*s'", (int)got, buf);
	tree_send(kid, 0);
	tree_exit(tree_collect(&kid, 1));
}
