/*
 * Sockets of another net namespace than their task's: a TCP connection
 * (both ends), a UDP socket and a netlink socket are made, then the task
 * moves to a net namespace of its own (unshare(CLONE_NEWNET)), as a
 * daemon that binds before it isolates itself does. The sockets stay in
 * the old namespace, where sock_diag in the task's does not find them
 * (cr said "sock_diag does not list this TCP socket").
 *
 * Not supported: cr reads and makes sockets in the task's namespace only.
 * The dump is refused, naming the socket and both namespaces, and the
 * tree runs on; then the connection still carries data both ways.
 *
 * zdtm: refused: belongs
 * zdtm: cr-opts: --tcp-established
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static void roundtrip(int from, int to, const char *msg)
{
	char buf[64];
	ssize_t n;

	if (write(from, msg, strlen(msg)) != (ssize_t)strlen(msg))
		fail_errno("sending '%s'", msg);
	n = read(to, buf, sizeof(buf));
	if (n != (ssize_t)strlen(msg) || memcmp(buf, msg, n))
		fail("'%s' did not arrive (%zd bytes, %m)", msg, n);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int l, c, a, u, nl;

	test_init(argc, argv);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sa, &len))
		fail_errno("listener");
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("connect");
	a = accept(l, NULL, NULL);
	if (a < 0)
		fail_errno("accept");
	close(l);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (u < 0 || nl < 0)
		fail_errno("UDP and netlink sockets");
	if (unshare(CLONE_NEWNET))
		fail_errno("unshare(CLONE_NEWNET)");

	test_ready();
	test_wait_checkpoint();

	roundtrip(c, a, "to the accepted end");
	roundtrip(a, c, "back to the connecting end");
	pass();
}
