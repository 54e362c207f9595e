/*
 * A pty pair inside the tree:
 *
 *   root     holds the master (/dev/ptmx), window size 33x111
 *   └─ C     new session C; the slave (opened without O_NOCTTY) is its
 *      │     controlling terminal; termios changed: no ECHO, VINTR ^E,
 *      │     VERASE ^H
 *      └─ G  own group G, the foreground group of the terminal
 *
 * Before the checkpoint G writes "from-slave\n" on the slave and the root
 * writes "from-master\n" on the master; nobody reads them. After restore
 * (a new pair: the pts index may differ) the root reads "from-slave\r\n"
 * (ONLCR) on the master and G reads "from-master\n" on the slave; C and G
 * find the terminal as their controlling terminal (/dev/tty is it) with
 * its session C and foreground group G, its termios and window size.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>
#include "zdtm.h"

#define SLAVE_FD	10
#define ROWS		33
#define COLS		111
#define MY_VINTR	0x05
#define MY_VERASE	0x08
#define TO_SLAVE	"from-master\n"
#define TO_MASTER	"from-slave\n"
#define AT_MASTER	"from-slave\r\n"

static pid_t xfork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail_errno("fork");
	return pid;
}

/* Reads exactly @want (within 5 s), then nothing more may be there. */
static void expect_read(int fd, const char *want, const char *what)
{
	char buf[256];
	size_t len = strlen(want), got = 0;
	int extra = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (got < len) {
		ssize_t n;

		if (poll(&p, 1, 5000) != 1)
			fail("%s: only %zu of %zu bytes arrived", what, got, len);
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0)
			fail_errno("%s: read", what);
		got += n;
	}
	if (got != len || memcmp(buf, want, len))
		fail("%s: read '%.*s' (%zu bytes), expected '%s'", what, (int)got, buf, got, want);
	/* Not poll(): the other side may be gone already (POLLHUP). */
	usleep(100 * 1000);
	if (ioctl(fd, FIONREAD, &extra) || extra)
		fail("%s: %d more bytes than expected", what, extra);
}

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

static void check_ctty(pid_t sid, pid_t fg)
{
	struct stat b;
	int fd = open("/dev/tty", O_RDWR);

	if (fd < 0)
		fail_errno("pid %d: open /dev/tty (no controlling terminal?)", getpid());
	close(fd);
	if (fstat(SLAVE_FD, &b))
		fail_errno("fstat");
	if (ctty_dev() != (unsigned long)(major(b.st_rdev) << 8 | minor(b.st_rdev)))
		fail("pid %d: the controlling terminal is %#lx, the slave is %#lx", getpid(),
		     ctty_dev(), (unsigned long)b.st_rdev);
	if (tcgetsid(SLAVE_FD) != sid)
		fail("pid %d: the terminal's session is %d, expected %d", getpid(), tcgetsid(SLAVE_FD), sid);
	if (tcgetpgrp(SLAVE_FD) != fg)
		fail("pid %d: the foreground group is %d, expected %d", getpid(), tcgetpgrp(SLAVE_FD), fg);
}

__attribute__((noreturn))
static void proc_g(pid_t c)
{
	pid_t self = getpid();

	if (setpgid(0, 0))
		fail_errno("setpgid G");
	tree_recv(c);				/* C made us the foreground */
	if (write(SLAVE_FD, TO_MASTER, strlen(TO_MASTER)) != (ssize_t)strlen(TO_MASTER))
		fail_errno("G: write slave");
	tree_send(c, 0);

	test_wait_checkpoint();
	check_ctty(c, self);
	if (getpgrp() != self || getsid(0) != c)
		fail("G: group %d session %d, expected %d %d", getpgrp(), getsid(0), self, c);
	expect_read(SLAVE_FD, TO_SLAVE, "G: reading the slave");
	tree_exit(0);
}

__attribute__((noreturn))
static void proc_c(const char *slave_name)
{
	struct termios t;
	struct stat st;
	struct winsize ws;
	pid_t g;
	int fd;

	if (setsid() < 0)
		fail_errno("setsid");
	fd = open(slave_name, O_RDWR);		/* session leader, no O_NOCTTY: our ctty */
	if (fd < 0 || dup2(fd, SLAVE_FD) < 0)
		fail_errno("open %s", slave_name);
	close(fd);
	if (tcgetattr(SLAVE_FD, &t))
		fail_errno("tcgetattr");
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_cc[VINTR] = MY_VINTR;
	t.c_cc[VERASE] = MY_VERASE;
	if (tcsetattr(SLAVE_FD, TCSANOW, &t))
		fail_errno("tcsetattr");
	g = xfork();
	if (g == 0)
		proc_g(getppid());
	if (setpgid(g, g) && errno != EACCES)
		fail_errno("setpgid(G)");
	if (tcsetpgrp(SLAVE_FD, g))
		fail_errno("tcsetpgrp");
	tree_send(g, 0);
	tree_recv(g);
	tree_send(getppid(), 0);

	test_wait_checkpoint();
	tree_forward(&g, 1);
	check_ctty(getpid(), g);
	if (tcgetattr(SLAVE_FD, &t))
		fail_errno("tcgetattr after");
	if (t.c_lflag & ECHO)
		fail("C: ECHO is on again");
	if (!(t.c_lflag & ICANON))
		fail("C: ICANON is off");
	if (t.c_cc[VINTR] != MY_VINTR || t.c_cc[VERASE] != MY_VERASE)
		fail("C: VINTR %#x VERASE %#x, expected %#x %#x", t.c_cc[VINTR], t.c_cc[VERASE],
		     MY_VINTR, MY_VERASE);
	if (ioctl(SLAVE_FD, TIOCGWINSZ, &ws) || ws.ws_row != ROWS || ws.ws_col != COLS)
		fail("C: window %ux%u, expected %ux%u", ws.ws_row, ws.ws_col, ROWS, COLS);
	if (fstat(SLAVE_FD, &st))
		fail_errno("fstat");
	tree_exit(tree_collect(&g, 1));
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = ROWS, .ws_col = COLS };
	pid_t c, sid = 0, pgrp = 0, g;
	int m;

	test_init(argc, argv);
	tree_init();
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m))
		fail_errno("posix_openpt");
	if (ioctl(m, TIOCSWINSZ, &ws))
		fail_errno("TIOCSWINSZ");
	c = xfork();
	if (c == 0)
		proc_c(ptsname(m));
	tree_recv(c);
	if (ioctl(m, TIOCGPGRP, &g))
		fail_errno("TIOCGPGRP");
	if (write(m, TO_SLAVE, strlen(TO_SLAVE)) != (ssize_t)strlen(TO_SLAVE))
		fail_errno("write master");
	test_ready();

	test_wait_checkpoint();
	/* Through the master: the slave's session and foreground group (before C exits). */
	if (ioctl(m, TIOCGSID, &sid) || ioctl(m, TIOCGPGRP, &pgrp))
		fail_errno("TIOCGSID/TIOCGPGRP on the master");
	if (sid != c || pgrp != g)
		fail("master: session %d group %d, expected %d %d", sid, pgrp, c, g);
	memset(&ws, 0, sizeof(ws));
	if (ioctl(m, TIOCGWINSZ, &ws) || ws.ws_row != ROWS || ws.ws_col != COLS)
		fail("master: window %ux%u, expected %ux%u", ws.ws_row, ws.ws_col, ROWS, COLS);
	tree_forward(&c, 1);
	expect_read(m, AT_MASTER, "root: reading the master");
	tree_exit(tree_collect(&c, 1));
}
