/*
 * UDP sockets, IPv4 and IPv6, bound and connected, with datagrams queued.
 *
 * R4 is bound to 127.0.0.1 (SO_BROADCAST, SO_RCVBUF) and has three
 * datagrams from S4 and one from C4 waiting (one of them empty); C4 is
 * connected to R4. R6 is bound to ::1 (IPV6_V6ONLY) and connected to S6,
 * with two datagrams from S6 waiting; S6 is bound, not connected. Ports
 * are the kernel's.
 *
 * After restore the queued datagrams come out in order, with their
 * senders; the sockets keep address, peer and options, and new datagrams
 * go both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static struct dgram_sk r4 = { .name = "R4" }, s4 = { .name = "S4" }, c4 = { .name = "C4" },
		      r6 = { .name = "R6" }, s6 = { .name = "S6" };

static void bound(struct dgram_sk *s, int family)
{
	memset(&s->addr, 0, sizeof(s->addr));
	s->fd = socket(family, SOCK_DGRAM, 0);
	if (s->fd < 0)
		fail_errno("%s: socket", s->name);
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->addr;
		int one = 1;

		if (setsockopt(s->fd, SOL_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
			fail_errno("IPV6_V6ONLY");
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		s->alen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&s->addr;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->alen = sizeof(*a);
	}
	if (bind(s->fd, (struct sockaddr *)&s->addr, s->alen) ||
	    getsockname(s->fd, (struct sockaddr *)&s->addr, &s->alen))
		fail_errno("%s: bind", s->name);
}

static int getint(struct dgram_sk *s, int level, int opt)
{
	return sk_getint(s->fd, level, opt, s->name);
}

int main(int argc, char **argv)
{
	int one = 1, rcvbuf_before, v6only_before;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	test_init(argc, argv);

	bound(&r4, AF_INET);
	bound(&s4, AF_INET);
	bound(&r6, AF_INET6);
	bound(&s6, AF_INET6);
	if (setsockopt(r4.fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)))
		fail_errno("SO_BROADCAST");
	if (setsockopt(r4.fd, SOL_SOCKET, SO_RCVBUF, &(int){ 100000 }, sizeof(int)))
		fail_errno("SO_RCVBUF");
	c4.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (c4.fd < 0 || connect(c4.fd, (struct sockaddr *)&r4.addr, r4.alen))
		fail_errno("C4: connect");
	c4.alen = sizeof(c4.addr);
	if (getsockname(c4.fd, (struct sockaddr *)&c4.addr, &c4.alen))
		fail_errno("C4: getsockname");
	if (connect(r6.fd, (struct sockaddr *)&s6.addr, s6.alen))
		fail_errno("R6: connect");

	dgram_send(&s4, &r4, "first");
	dgram_send(&c4, NULL, "from the connected one");
	dgram_send(&s4, &r4, "");
	dgram_send(&s4, &r4, "last v4");
	dgram_send(&s6, &r6, "six one");
	dgram_send(&s6, &r6, "six two");
	rcvbuf_before = getint(&r4, SOL_SOCKET, SO_RCVBUF);
	v6only_before = getint(&r6, SOL_IPV6, IPV6_V6ONLY);

	test_ready();
	test_wait_checkpoint();

	dgram_expect(&r4, &s4, "first");
	dgram_expect(&r4, &c4, "from the connected one");
	dgram_expect(&r4, &s4, "");
	dgram_expect(&r4, &s4, "last v4");
	dgram_expect_empty(&r4);
	dgram_expect(&r6, &s6, "six one");
	dgram_expect(&r6, &s6, "six two");
	dgram_expect_empty(&r6);
	zdtm_check(getint(&r4, SOL_SOCKET, SO_BROADCAST) == 1);
	zdtm_check(getint(&r4, SOL_SOCKET, SO_RCVBUF) == rcvbuf_before);
	zdtm_check(getint(&r6, SOL_IPV6, IPV6_V6ONLY) == v6only_before);
	if (getpeername(r6.fd, (struct sockaddr *)&peer, &plen) || plen != s6.alen ||
	    memcmp(&peer, &s6.addr, plen))
		fail("R6: not connected to S6 any more");

	/* New traffic, every way. */
	dgram_send(&s4, &r4, "after");
	dgram_expect(&r4, &s4, "after");
	dgram_send(&c4, NULL, "after, connected");
	dgram_expect(&r4, &c4, "after, connected");
	dgram_send(&r4, &c4, "back to C4");
	dgram_expect(&c4, &r4, "back to C4");
	dgram_send(&r6, NULL, "six back");
	dgram_expect(&s6, &r6, "six back");
	dgram_send(&s6, &r6, "six again");
	dgram_expect(&r6, &s6, "six again");
	pass();
}
