/*
 * A pipeline of three processes: the root writes a stream into pipe 1,
 * P1 copies pipe 1 to pipe 2, P2 reads pipe 2. At the checkpoint both
 * pipes hold data in flight: the root wrote FIRST bytes, P1 forwarded
 * COPIED of them, P2 read none.
 *
 * After restore P1 and P2 check the byte counts queued in their pipes;
 * then the root writes the rest of the stream and closes its end, P1
 * copies to EOF and closes its end, and P2 checks the whole stream end to
 * end: length, content and order, and EOF (no write end left open
 * anywhere it should not be).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "zdtm.h"

#define FIRST		40000		/* multiples of 8: pattern words */
#define COPIED		16000
#define TOTAL		(FIRST + 200000)
#define SEED		0x9193000000000003ULL

static int p1[2], p2[2];

static void check_queued(int fd, const char *name, int want)
{
	int q = -1;

	if (ioctl(fd, FIONREAD, &q) < 0)
		fail_errno("FIONREAD %s", name);
	if (q != want)
		fail("%s: %d bytes in flight, expected %d", name, q, want);
}

__attribute__((noreturn))
static void copier(void)
{
	close(p1[1]);
	close(p2[0]);
	if (copy_fd(p1[0], p2[1], COPIED) != COPIED)
		fail("P1: short read before the checkpoint");
	tree_send(tree_root, 0);
	test_wait_checkpoint();

	check_queued(p1[0], "pipe 1", FIRST - COPIED);
	tree_send(tree_root, 0);
	tree_recv(tree_root);	/* P2 has checked pipe 2 too */
	copy_fd(p1[0], p2[1], SIZE_MAX);
	close(p2[1]);
	tree_exit(0);
}

__attribute__((noreturn))
static void reader(void)
{
	static char buf[TOTAL + 1];
	size_t n;
	long bad;

	close(p1[0]);
	close(p1[1]);
	close(p2[1]);
	tree_send(tree_root, 0);
	test_wait_checkpoint();

	check_queued(p2[0], "pipe 2", COPIED);
	tree_send(tree_root, 0);
	n = read_full(p2[0], buf, sizeof(buf));
	if (n != TOTAL)
		fail("P2: the stream has %zu bytes, expected %d", n, TOTAL);
	bad = pattern_check(buf, TOTAL, SEED);
	if (bad >= 0)
		fail("P2: wrong data at byte %ld of the stream", bad);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	static char buf[TOTAL];
	pid_t kids[2];

	test_init(argc, argv);
	tree_init();
	pattern_fill(buf, TOTAL, SEED);

	if (pipe(p1) || pipe(p2))
		fail_errno("pipe");
	kids[0] = fork();
	if (kids[0] < 0)
		fail_errno("fork");
	if (kids[0] == 0)
		copier();
	kids[1] = fork();
	if (kids[1] < 0)
		fail_errno("fork");
	if (kids[1] == 0)
		reader();
	close(p1[0]);
	close(p2[0]);
	close(p2[1]);

	write_full(p1[1], buf, FIRST);
	tree_recv(kids[0]);
	tree_recv(kids[1]);

	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, 2);

	tree_recv(kids[0]);	/* both checked what is in flight */
	tree_recv(kids[1]);
	tree_send(kids[0], 0);
	write_full(p1[1], buf + FIRST, TOTAL - FIRST);
	close(p1[1]);
	tree_exit(tree_collect(kids, 2));
}
