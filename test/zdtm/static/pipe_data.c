/*
 * Pipes with data in flight, shared between a parent and a child.
 *
 * A: capacity raised to 256 KiB with F_SETPIPE_SZ and filled with
 *    A_LEN bytes; the parent keeps the write end (O_NONBLOCK), the child
 *    the read end. The parent's write end is dumped first, so cr reads the
 *    data through a read end it opens itself.
 * B: B_LEN bytes written by the parent; the parent keeps the read end and
 *    a dup of it, the child the write end.
 *
 * After restore both sides find the capacity, the byte counts and the
 * status flags recorded before the checkpoint; then more data is written
 * on each pipe and read at the other side, in the other process, after
 * the data from before (one pipe, not two copies). The dup and the read
 * end share one flags word.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "zdtm.h"

#define A_SIZE		(256 * 1024)
#define A_LEN		200000		/* multiples of 8: pattern words */
#define A_MORE		4096
#define B_LEN		3000
#define B_MORE		800
#define SEED_A		0x919e000000000001ULL
#define SEED_B		0x919e000000000002ULL

static int a[2], b[2], b_dup;

static void write_pattern(int fd, size_t len, uint64_t seed)
{
	char buf[A_LEN];

	pattern_fill(buf, len, seed);
	if (write(fd, buf, len) != (ssize_t)len)
		fail_errno("write %zu bytes to fd %d", len, fd);
}

/* Reads exactly @len bytes and checks they continue pattern @seed. */
static void read_pattern(int fd, size_t len, uint64_t seed)
{
	static char buf[A_LEN + A_MORE];
	size_t done = 0;
	long bad;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n <= 0)
			fail("fd %d: read returned %zd after %zu of %zu bytes: %m", fd, n, done, len);
		done += n;
	}
	bad = pattern_check(buf, len, seed);
	if (bad >= 0)
		fail("fd %d: wrong data at byte %ld of %zu", fd, bad, len);
}

static void check_fd(int fd, const char *name, int want_fl, int want_queued, int want_size)
{
	int fl = fcntl(fd, F_GETFL), q = -1, sz = fcntl(fd, F_GETPIPE_SZ);

	if (ioctl(fd, FIONREAD, &q) < 0)
		fail_errno("FIONREAD %s", name);
	if ((fl & (O_ACCMODE | O_NONBLOCK)) != want_fl)
		fail("%s (fd %d): flags %#o, expected %#o", name, fd, fl & (O_ACCMODE | O_NONBLOCK), want_fl);
	if (q != want_queued)
		fail("%s (fd %d): %d bytes queued, expected %d", name, fd, q, want_queued);
	if (sz != want_size)
		fail("%s (fd %d): capacity %d, expected %d", name, fd, sz, want_size);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();

	close(a[1]);
	close(b[0]);
	close(b_dup);
	tree_send(parent, 0);
	test_wait_checkpoint();

	check_fd(a[0], "A read end", O_RDONLY, A_LEN, A_SIZE);
	check_fd(b[1], "B write end", O_WRONLY, B_LEN, 65536);
	tree_send(parent, 0);

	tree_recv(parent);	/* the parent wrote A_MORE */
	read_pattern(a[0], A_LEN + A_MORE, SEED_A);
	check_fd(a[0], "A read end (drained)", O_RDONLY, 0, A_SIZE);
	write_pattern(b[1], B_MORE, SEED_B + B_LEN / 8);
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int fl;

	test_init(argc, argv);
	tree_init();

	if (pipe(a) || pipe(b))
		fail_errno("pipe");
	if (fcntl(a[1], F_SETPIPE_SZ, A_SIZE) != A_SIZE)
		fail_errno("F_SETPIPE_SZ");
	write_pattern(a[1], A_LEN, SEED_A);
	if (fcntl(a[1], F_SETFL, O_NONBLOCK))
		fail_errno("F_SETFL");
	write_pattern(b[1], B_LEN, SEED_B);
	b_dup = dup(b[0]);
	if (b_dup < 0)
		fail_errno("dup");

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	close(a[0]);
	close(b[1]);
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	check_fd(a[1], "A write end", O_WRONLY | O_NONBLOCK, A_LEN, A_SIZE);
	check_fd(b[0], "B read end", O_RDONLY, B_LEN, 65536);
	check_fd(b_dup, "dup of B read end", O_RDONLY, B_LEN, 65536);
	tree_recv(kid);		/* the child saw the same */

	write_pattern(a[1], A_MORE, SEED_A + A_LEN / 8);
	tree_send(kid, 0);
	tree_recv(kid);		/* the child read A and wrote B_MORE */
	read_pattern(b_dup, B_LEN + B_MORE, SEED_B);

	/* The dup and the read end are one description: one flags word. */
	if (fcntl(b[0], F_SETFL, O_NONBLOCK))
		fail_errno("F_SETFL");
	fl = fcntl(b_dup, F_GETFL);
	if (!(fl & O_NONBLOCK))
		fail("O_NONBLOCK set on B's read end is not seen on its dup");
	/* Empty: EAGAIN, or EOF once the child has exited. */
	if (read(b[0], &fl, 1) > 0)
		fail("B read end: more data than was written");

	tree_exit(tree_collect(&kid, 1));
}
