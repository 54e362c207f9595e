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

static void check_count(const char *what, int ev, uint64_t want)
{
	uint64_t v;

	if (read(ev, &v, sizeof(v)) != sizeof(v) || v != want)
		fail("%s: the eventfd in flight does not count %llu", what, (unsigned long long)want);
}

/*
 * Queues @text with an eventfd counting @count in @pair[1], sends
 * @pair[1] over @carrier as @name, and closes both: only the queues
 * hold them.
 */
static void queue_in_flight(int *pair, int carrier, const char *text, uint64_t count, const char *name)
{
	int ev = eventfd(count, 0);

	if (ev < 0)
		fail_errno("eventfd");
	scm_send_fds(pair[0], text, &ev, 1, MSG_DONTWAIT);
	scm_send_fds(carrier, name, &pair[1], 1, MSG_DONTWAIT);
	close(ev);
	close(pair[1]);
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

	queue_in_flight(xy, c[0], "inner", 41, "y");
	queue_in_flight(d, c[0], "dgram", 42, "d");
	close(d[0]);

	scm_send_fds(ab[0], "self", &ab[1], 1, MSG_DONTWAIT);

	test_ready();
	test_wait_checkpoint();

	y = scm_recv_fd(c[1], "y", MSG_DONTWAIT);
	ev = scm_recv_fd(y, "inner", MSG_DONTWAIT);
	check_count("seqpacket in flight", ev, 41);
	close(ev);
	if (write(xy[0], "ping", 4) != 4 || read(y, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4))
		fail("x and the socket in flight are no pair any more");
	if (write(y, "pong", 4) != 4 || read(xy[0], buf, sizeof(buf)) != 4 || memcmp(buf, "pong", 4))
		fail("the socket in flight and x are no pair any more");

	dg = scm_recv_fd(c[1], "d", MSG_DONTWAIT);
	ev = scm_recv_fd(dg, "dgram", MSG_DONTWAIT);
	check_count("datagram in flight", ev, 42);

	b2 = scm_recv_fd(ab[1], "self", MSG_DONTWAIT);
	if (fstat(b2, &s1) || fstat(ab[1], &s2) || s1.st_ino != s2.st_ino)
		fail("the socket in its own queue came back as another socket");
	if (recv(ab[1], buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("b's queue is not empty");
	if (recv(c[1], buf, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("the carrier's queue is not empty");
	pass();
}
