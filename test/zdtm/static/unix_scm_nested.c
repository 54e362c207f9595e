/*
 * Sockets in flight (SCM_RIGHTS) at the checkpoint:
 *
 *  - a socket in flight that carries a file itself: y, one end of the
 *    pair (x, y), has a message with an eventfd queued, and y was sent
 *    over the carrier pair c then closed; only the carrier's queue holds
 *    y, only y's queue the eventfd;
 *  - the same with a datagram pair whose sending end was closed too;
 *  - a socket carrying itself: b of the pair (a, b) was sent over a, so
 *    it sits in its own queue (the task still holds b).
 *
 * After restore the carrier gives y back, y gives the message and the
 * eventfd with its count, x and y still talk; the datagram socket gives
 * its message; b's queue gives b itself.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

static int send_fd(int sk, const char *text, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sk, &mh, MSG_DONTWAIT) == (ssize_t)iov.iov_len ? 0 : -1;
}

/* Receives @text with exactly one fd; returns it. */
static int recv_fd(int sk, const char *what, const char *text)
{
	char buf[32], cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sk, &mh, MSG_DONTWAIT);
	int fd;

	if (n < 0)
		fail_errno("%s: receiving '%s'", what, text);
	if ((size_t)n != strlen(text) || memcmp(buf, text, n))
		fail("%s: got %zd bytes '%.*s', expected '%s'", what, n, (int)n, buf, text);
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		fail("%s: '%s' came without its one fd", what, text);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void check_count(const char *what, int ev, uint64_t want)
{
	uint64_t v;

	if (read(ev, &v, sizeof(v)) != sizeof(v) || v != want)
		fail("%s: the eventfd in flight does not count %llu", what, (unsigned long long)want);
}

int main(int argc, char **argv)
{
	int c[2], xy[2], d[2], ab[2], ev, y, dg, b2;
	struct stat s1, s2;
	char buf[8];

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, c) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, xy) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, d) || socketpair(AF_UNIX, SOCK_STREAM, 0, ab))
		fail_errno("socketpair");

	ev = eventfd(41, 0);
	if (ev < 0 || send_fd(xy[0], "inner", ev) || send_fd(c[0], "y", xy[1]))
		fail_errno("queueing the seqpacket socket in flight");
	close(ev);
	close(xy[1]);

	ev = eventfd(42, 0);
	if (ev < 0 || send_fd(d[0], "dgram", ev) || send_fd(c[0], "d", d[1]))
		fail_errno("queueing the datagram socket in flight");
	close(ev);
	close(d[1]);
	close(d[0]);

	if (send_fd(ab[0], "self", ab[1]))
		fail_errno("sending b over its own pair");

	test_ready();
	test_wait_checkpoint();

	y = recv_fd(c[1], "carrier", "y");
	ev = recv_fd(y, "seqpacket in flight", "inner");
	check_count("seqpacket in flight", ev, 41);
	close(ev);
	if (write(xy[0], "ping", 4) != 4 || read(y, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4))
		fail("x and the socket in flight are no pair any more");
	if (write(y, "pong", 4) != 4 || read(xy[0], buf, sizeof(buf)) != 4 || memcmp(buf, "pong", 4))
		fail("the socket in flight and x are no pair any more");

	dg = recv_fd(c[1], "carrier", "d");
	ev = recv_fd(dg, "datagram in flight", "dgram");
	check_count("datagram in flight", ev, 42);

	b2 = recv_fd(ab[1], "self", "self");
	if (fstat(b2, &s1) || fstat(ab[1], &s2) || s1.st_ino != s2.st_ino)
		fail("the socket in its own queue came back as another socket");
	if (recv(ab[1], buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("b's queue is not empty");
	if (recv(c[1], buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("the carrier's queue is not empty");
	pass();
}
