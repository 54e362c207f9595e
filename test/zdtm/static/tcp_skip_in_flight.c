/*
 * zdtm: cr-opts: --tcp-established --tcp-skip-in-flight
 *
 * A listener with a connection still in its accept queue: the client
 * end (in this process) is established, the server end has no fd yet.
 * With --tcp-skip-in-flight the dump drops the server end: after the
 * restore the listener's queue is empty, the client's connection is
 * reset as soon as it sends, and the listener takes new connections.
 * (Without the option the dump refuses the listener.) One connection
 * the listener had accepted before is kept.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l, kept_c, kept_s, skipped, fresh, s;
	char c;

	test_init(argc, argv);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	kept_c = socket(AF_INET, SOCK_STREAM, 0);
	skipped = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || kept_c < 0 || skipped < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		fail_errno("listener");
	if (connect(kept_c, (struct sockaddr *)&a, alen))
		fail_errno("connect");
	kept_s = -1;
	for (int i = 0; i < 100 && kept_s < 0; i++) {
		kept_s = accept(l, NULL, NULL);
		if (kept_s < 0)
			usleep(10000);
	}
	if (kept_s < 0)
		fail_errno("accept");
	if (connect(skipped, (struct sockaddr *)&a, alen))
		fail_errno("connect the connection left in the queue");

	test_ready();
	test_wait_checkpoint();

	/* Kept: one message each way. */
	if (send(kept_c, "k", 1, 0) != 1 || recv(kept_s, &c, 1, 0) != 1 || c != 'k' ||
	    send(kept_s, "s", 1, 0) != 1 || recv(kept_c, &c, 1, 0) != 1 || c != 's')
		fail_errno("the accepted connection");
	struct pollfd p = { .fd = skipped, .events = POLLIN };
	s = accept(l, NULL, NULL);
	if (s >= 0) {
		/* Not restored (dump --leave-running): the queue is as it was. */
		if (send(skipped, "x", 1, 0) != 1 || recv(s, &c, 1, 0) != 1 || c != 'x')
			fail_errno("the connection left in the queue, accepted now");
		close(s);
	} else {
		if (errno != EAGAIN)
			fail_errno("accept");
		/*
		 * Dropped: the listener's port answers with a reset, to this
		 * send or to what the connection sent by itself before.
		 */
		if (send(skipped, "x", 1, MSG_NOSIGNAL) == 1) {
			if (poll(&p, 1, 10000) != 1)
				fail("no reset for the dropped connection in 10 s");
			errno = 0;
			if (recv(skipped, &c, 1, 0) != -1 || errno != ECONNRESET)
				fail("the dropped connection: recv gives %m, not a reset");
		} else if (errno != ECONNRESET && errno != EPIPE) {
			fail_errno("send on the dropped connection");
		}
	}
	/* New connections still come in. */
	fresh = socket(AF_INET, SOCK_STREAM, 0);
	if (fresh < 0 || connect(fresh, (struct sockaddr *)&a, alen))
		fail_errno("a new connection");
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1 || (s = accept(l, NULL, NULL)) < 0)
		fail_errno("accepting a new connection");
	close(s);
	pass();
}
