/*
 * A TCP connect() still in progress (SYN_SENT), over IPv4 and IPv6: the
 * listener has a socket filter that drops every packet, so the SYNs of a
 * non-blocking connect() to it go unanswered. After the restore the
 * connection is still in progress; the test takes the filter off, the
 * next SYN gets through: it is accepted, its connect() completes
 * (SO_ERROR 0) and a byte goes each way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

struct conn {
	const char *name;
	int l, c;
};

static struct sock_filter drop[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
static struct sock_fprog drop_all = { .len = 1, .filter = drop };

static struct conn conns[2] = { { .name = "IPv4" }, { .name = "IPv6" } };

static void setup(struct conn *k, int v6)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	k->l = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	k->c = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (k->l < 0 || k->c < 0 || setsockopt(k->l, SOL_SOCKET, SO_ATTACH_FILTER, &drop_all, sizeof(drop_all)) ||
	    bind(k->l, (struct sockaddr *)&ss, len) || listen(k->l, 4) || getsockname(k->l, (struct sockaddr *)&ss, &len))
		fail_errno("%s: listener", k->name);
	if (connect(k->c, (struct sockaddr *)&ss, len) == 0 || errno != EINPROGRESS)
		fail_errno("%s: the connect did not stay in progress", k->name);
	usleep(50000);
	if (tcp_state(k->c) != TCP_SYN_SENT)
		fail("%s: the connection is in state %u, not SYN_SENT", k->name, tcp_state(k->c));
}

static void check(struct conn *k)
{
	struct pollfd p = { .fd = k->l, .events = POLLIN };
	struct sockaddr_storage me;
	socklen_t len = sizeof(int), mlen = sizeof(me);
	int s, err = -1;
	char c;

	if (tcp_state(k->c) != TCP_SYN_SENT)
		fail("%s: after restore the connection is in state %u, not SYN_SENT", k->name, tcp_state(k->c));
	if (setsockopt(k->l, SOL_SOCKET, SO_DETACH_FILTER, &err, sizeof(err)))
		fail_errno("%s: SO_DETACH_FILTER", k->name);
	if (getsockname(k->c, (struct sockaddr *)&me, &mlen))
		fail_errno("%s: getsockname", k->name);
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		if (poll(&p, 1, 20000) != 1)
			fail("%s: the connection in progress did not arrive in 20 s", k->name);
		s = accept(k->l, (struct sockaddr *)&peer, &plen);
		if (s < 0 && errno == EAGAIN)
			continue;
		if (s < 0)
			fail_errno("%s: accept", k->name);
		if (plen == mlen && !memcmp(&peer, &me, plen))
			break;
		close(s);
	}
	p = (struct pollfd){ .fd = k->c, .events = POLLOUT };
	if (poll(&p, 1, 10000) != 1 || getsockopt(k->c, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		fail("%s: connect() did not complete (SO_ERROR %d)", k->name, err);
	if (fcntl(k->c, F_SETFL, 0) || send(k->c, "c", 1, 0) != 1 || recv(s, &c, 1, 0) != 1 || c != 'c' ||
	    send(s, "s", 1, 0) != 1 || recv(k->c, &c, 1, 0) != 1 || c != 's')
		fail_errno("%s: a byte each way", k->name);
	close(s);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	setup(&conns[0], 0);
	setup(&conns[1], 1);
	test_ready();
	test_wait_checkpoint();
	check(&conns[0]);
	check(&conns[1]);
	pass();
}
