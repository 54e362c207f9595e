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

struct sk {
	const char *name;
	int fd;
	struct sockaddr_storage addr;
	socklen_t alen;
};

static struct sk r4 = { .name = "R4" }, s4 = { .name = "S4" }, c4 = { .name = "C4" },
		 r6 = { .name = "R6" }, s6 = { .name = "S6" };

static void bound(struct sk *s, int family)
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

static void send_to(struct sk *from, struct sk *to, const char *msg)
{
	if (sendto(from->fd, msg, strlen(msg), 0, to ? (struct sockaddr *)&to->addr : NULL,
		   to ? to->alen : 0) != (ssize_t)strlen(msg))
		fail_errno("%s -> %s: send '%s'", from->name, to ? to->name : "peer", msg);
}

/* The next datagram at @r must be @msg from @from. */
static void expect(struct sk *r, struct sk *from, const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[256];
	ssize_t n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);

	if (n < 0)
		fail_errno("%s: expected '%s' from %s", r->name, msg, from->name);
	if ((size_t)n != strlen(msg) || memcmp(buf, msg, n))
		fail("%s: got '%.*s' (%zd bytes), expected '%s'", r->name, (int)n, buf, n, msg);
	if (len != from->alen || memcmp(&ss, &from->addr, len))
		fail("%s: '%s' did not come from %s's address", r->name, msg, from->name);
}

static void expect_empty(struct sk *r)
{
	char c;

	if (recv(r->fd, &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("%s: more datagrams than expected", r->name);
}

static int getint(struct sk *s, int level, int opt)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(s->fd, level, opt, &v, &len))
		fail_errno("%s: getsockopt", s->name);
	return v;
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

	send_to(&s4, &r4, "first");
	send_to(&c4, NULL, "from the connected one");
	send_to(&s4, &r4, "");
	send_to(&s4, &r4, "last v4");
	send_to(&s6, &r6, "six one");
	send_to(&s6, &r6, "six two");
	rcvbuf_before = getint(&r4, SOL_SOCKET, SO_RCVBUF);
	v6only_before = getint(&r6, SOL_IPV6, IPV6_V6ONLY);

	test_ready();
	test_wait_checkpoint();

	expect(&r4, &s4, "first");
	expect(&r4, &c4, "from the connected one");
	expect(&r4, &s4, "");
	expect(&r4, &s4, "last v4");
	expect_empty(&r4);
	expect(&r6, &s6, "six one");
	expect(&r6, &s6, "six two");
	expect_empty(&r6);
	zdtm_check(getint(&r4, SOL_SOCKET, SO_BROADCAST) == 1);
	zdtm_check(getint(&r4, SOL_SOCKET, SO_RCVBUF) == rcvbuf_before);
	zdtm_check(getint(&r6, SOL_IPV6, IPV6_V6ONLY) == v6only_before);
	if (getpeername(r6.fd, (struct sockaddr *)&peer, &plen) || plen != s6.alen ||
	    memcmp(&peer, &s6.addr, plen))
		fail("R6: not connected to S6 any more");

	/* New traffic, every way. */
	send_to(&s4, &r4, "after");
	expect(&r4, &s4, "after");
	send_to(&c4, NULL, "after, connected");
	expect(&r4, &c4, "after, connected");
	send_to(&r4, &c4, "back to C4");
	expect(&c4, &r4, "back to C4");
	send_to(&r6, NULL, "six back");
	expect(&s6, &r6, "six back");
	send_to(&s6, &r6, "six again");
	expect(&r6, &s6, "six again");
	pass();
}
