/*
 * A named FIFO with data in flight: the parent holds the read end, the
 * child the write end (its only one: cr must open a read end itself to
 * save the data). The capacity was raised with F_SETPIPE_SZ.
 *
 * After restore the parent's fd is still the FIFO at its path, with the
 * capacity, the byte count and the flags recorded before; the child
 * writes more and the parent reads everything in order, then EOF once
 * the child closed its end: no other writer was left behind.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include "zdtm.h"

#define FIFO_PATH	"zdtm_fifo.fifo"
#define FIFO_SIZE	(128 * 1024)
#define LEN		70000		/* more than the default 64 KiB */
#define MORE		5000
#define SEED		0xf1f0000000000001ULL

static char buf[LEN + MORE];
static int rd, wr;

static void check_fd(int fd, const char *name, int want_fl, int want_queued)
{
	int fl = fcntl(fd, F_GETFL), q = -1, sz = fcntl(fd, F_GETPIPE_SZ);
	struct stat a, b;

	if (ioctl(fd, FIONREAD, &q) < 0)
		fail_errno("FIONREAD %s", name);
	if ((fl & (O_ACCMODE | O_NONBLOCK)) != want_fl)
		fail("%s (fd %d): flags %#o, expected %#o", name, fd, fl & (O_ACCMODE | O_NONBLOCK), want_fl);
	if (q != want_queued)
		fail("%s (fd %d): %d bytes queued, expected %d", name, fd, q, want_queued);
	if (sz != FIFO_SIZE)
		fail("%s (fd %d): capacity %d, expected %d", name, fd, sz, FIFO_SIZE);
	if (fstat(fd, &a) || stat(FIFO_PATH, &b))
		fail_errno("stat");
	if (!S_ISFIFO(a.st_mode) || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		fail("%s (fd %d) is not the FIFO at %s", name, fd, FIFO_PATH);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();

	close(rd);
	tree_send(parent, 0);
	test_wait_checkpoint();

	check_fd(wr, "write end", O_WRONLY, LEN);
	tree_recv(parent);	/* the parent checked before we write more */
	if (write(wr, buf + LEN, MORE) != MORE)
		fail_errno("write");
	close(wr);
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	size_t done = 0;
	pid_t kid;
	long bad;

	test_init(argc, argv);
	tree_init();

	if (mkfifo(FIFO_PATH, 0600))
		fail_errno("mkfifo");
	rd = open(FIFO_PATH, O_RDONLY | O_NONBLOCK);
	wr = open(FIFO_PATH, O_WRONLY);
	if (rd < 0 || wr < 0)
		fail_errno("open %s", FIFO_PATH);
	if (fcntl(wr, F_SETPIPE_SZ, FIFO_SIZE) != FIFO_SIZE)
		fail_errno("F_SETPIPE_SZ");
	if (fcntl(rd, F_SETFL, 0))
		fail_errno("F_SETFL");
	pattern_fill(buf, sizeof(buf), SEED);
	if (write(wr, buf, LEN) != LEN)
		fail_errno("write");

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	close(wr);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_fd(rd, "read end", O_RDONLY, LEN);
	tree_send(kid, 0);
	tree_recv(kid);		/* the child wrote MORE and closed its end */
	memset(buf, 0, sizeof(buf));
	for (;;) {
		ssize_t n = read(rd, buf + done, sizeof(buf) - done);

		if (n < 0)
			fail_errno("read");
		if (n == 0)
			break;
		done += n;
		if (done == sizeof(buf)) {
			char c;

			if (read(rd, &c, 1) != 0)
				fail("more data than was written, or no EOF");
			break;
		}
	}
	if (done != sizeof(buf))
		fail("read %zu bytes, expected %zu", done, sizeof(buf));
	bad = pattern_check(buf, sizeof(buf), SEED);
	if (bad >= 0)
		fail("wrong data at byte %ld", bad);
	tree_exit(tree_collect(&kid, 1));
}
