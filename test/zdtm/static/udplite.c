/*
 * UDP-Lite sockets (IPPROTO_UDPLITE), IPv4, IPv6 and IPv4-mapped IPv6,
 * with datagrams queued and the checksum coverage options.
 *
 * R4 is bound to 127.0.0.1 with UDPLITE_RECV_CSCOV 8 and has three
 * datagrams waiting: from S4 (UDPLITE_SEND_CSCOV 8: its checksum covers
 * the header only), an empty one from S4, and one from C4, which is
 * connected to R4. R6 is bound to ::1 (IPV6_V6ONLY) and connected to S6,
 * with two datagrams from S6 waiting. D6 is bound to the IPv6 any
 * address, dual-stack, with a datagram from S4 (an IPv4-mapped sender)
 * waiting. Ports are the kernel's.
 *
 * After restore the queued datagrams come out in order, with their
 * senders; the sockets keep protocol, address, peer and coverage
 * options, and new datagrams go both ways.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE		136
#endif
#define SOL_UDPLITE		136
#define UDPLITE_SEND_CSCOV	10
#define UDPLITE_RECV_CSCOV	11

struct sk {
	const char *name;
	int fd;
	struct sockaddr_storage addr;	/* as its peers see it */
	socklen_t alen;
};

static struct sk r4 = { .name = "R4" }, s4 = { .name = "S4" }, c4 = { .name = "C4" },
		 r6 = { .name = "R6" }, s6 = { .name = "S6" }, d6 = { .name = "D6" };

static int lite(int family)
{
	int fd = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);

	if (fd < 0)
		fail_errno("socket(UDP-Lite)");
	return fd;
}

static void named(struct sk *s)
{
	s->alen = sizeof(s->addr);
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->alen))
		fail_errno("%s: getsockname", s->name);
}

/* Bound to the loopback (@any: IPv6's any address, dual-stack; peers reach it on the loopback). */
static void bound(struct sk *s, int family, int any)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = sizeof(struct sockaddr_in);

	s->fd = lite(family);
	if (family == AF_INET6) {
		int v6only = !any;

		if (setsockopt(s->fd, SOL_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
			fail_errno("IPV6_V6ONLY");
		if (!any)
			((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
		len = sizeof(struct sockaddr_in6);
	} else {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	if (bind(s->fd, (struct sockaddr *)&ss, len))
		fail_errno("%s: bind", s->name);
	named(s);
}

static void setint(struct sk *s, int opt, int v)
{
	if (setsockopt(s->fd, SOL_UDPLITE, opt, &v, sizeof(v)))
		fail_errno("%s: setting UDP-Lite option %d", s->name, opt);
}

static int getint(struct sk *s, int level, int opt)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(s->fd, level, opt, &v, &len))
		fail_errno("%s: getsockopt", s->name);
	return v;
}

static void send_to(struct sk *from, const struct sockaddr_storage *to, socklen_t tlen, const char *msg)
{
	if (sendto(from->fd, msg, strlen(msg), 0, (const struct sockaddr *)to, tlen) != (ssize_t)strlen(msg))
		fail_errno("%s: send '%s'", from->name, msg);
}

static void send_sk(struct sk *from, struct sk *to, const char *msg)
{
	send_to(from, to ? &to->addr : NULL, to ? to->alen : 0, msg);
}

/* The next datagram at @r must be @msg from @addr (@alen bytes). */
static void expect_from(struct sk *r, const struct sockaddr_storage *addr, socklen_t alen, const char *who,
			const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[256];
	ssize_t n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);

	if (n < 0)
		fail_errno("%s: expected '%s' from %s", r->name, msg, who);
	if ((size_t)n != strlen(msg) || memcmp(buf, msg, n))
		fail("%s: got '%.*s' (%zd bytes), expected '%s'", r->name, (int)n, buf, n, msg);
	if (len != alen || memcmp(&ss, addr, len))
		fail("%s: '%s' did not come from %s's address", r->name, msg, who);
}

static void expect(struct sk *r, struct sk *from, const char *msg)
{
	expect_from(r, &from->addr, from->alen, from->name, msg);
}

static void expect_empty(struct sk *r)
{
	char c;

	if (recv(r->fd, &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("%s: more datagrams than expected", r->name);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage d6_lo = { .ss_family = AF_INET }, s4_mapped = { .ss_family = AF_INET6 };
	struct sockaddr_in6 *m = (struct sockaddr_in6 *)&s4_mapped;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	test_init(argc, argv);

	bound(&r4, AF_INET, 0);
	bound(&s4, AF_INET, 0);
	bound(&r6, AF_INET6, 0);
	bound(&s6, AF_INET6, 0);
	bound(&d6, AF_INET6, 1);
	setint(&r4, UDPLITE_RECV_CSCOV, 8);
	setint(&s4, UDPLITE_SEND_CSCOV, 8);
	c4.fd = lite(AF_INET);
	if (connect(c4.fd, (struct sockaddr *)&r4.addr, r4.alen))
		fail_errno("C4: connect");
	named(&c4);
	if (connect(r6.fd, (struct sockaddr *)&s6.addr, s6.alen))
		fail_errno("R6: connect");
	/* D6 on 127.0.0.1, and S4 as D6 sees it. */
	((struct sockaddr_in *)&d6_lo)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	((struct sockaddr_in *)&d6_lo)->sin_port = ((struct sockaddr_in6 *)&d6.addr)->sin6_port;
	m->sin6_port = ((struct sockaddr_in *)&s4.addr)->sin_port;
	m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&m->sin6_addr.s6_addr[12], &((struct sockaddr_in *)&s4.addr)->sin_addr, 4);

	send_sk(&s4, &r4, "covered by 8 bytes");
	send_sk(&s4, &r4, "");
	send_sk(&c4, NULL, "from the connected one");
	send_sk(&s6, &r6, "six one");
	send_sk(&s6, &r6, "six two");
	send_to(&s4, &d6_lo, sizeof(struct sockaddr_in), "to the dual-stack one");

	test_ready();
	test_wait_checkpoint();

	expect(&r4, &s4, "covered by 8 bytes");
	expect(&r4, &s4, "");
	expect(&r4, &c4, "from the connected one");
	expect_empty(&r4);
	expect(&r6, &s6, "six one");
	expect(&r6, &s6, "six two");
	expect_empty(&r6);
	expect_from(&d6, &s4_mapped, sizeof(*m), "S4 (IPv4-mapped)", "to the dual-stack one");
	expect_empty(&d6);
	zdtm_check(getint(&r4, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDPLITE);
	zdtm_check(getint(&d6, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDPLITE);
	zdtm_check(getint(&r4, SOL_UDPLITE, UDPLITE_RECV_CSCOV) == 8);
	zdtm_check(getint(&s4, SOL_UDPLITE, UDPLITE_SEND_CSCOV) == 8);
	zdtm_check(getint(&r4, SOL_UDPLITE, UDPLITE_SEND_CSCOV) == 0);
	zdtm_check(getint(&r6, SOL_IPV6, IPV6_V6ONLY) == 1);
	zdtm_check(getint(&d6, SOL_IPV6, IPV6_V6ONLY) == 0);
	if (getpeername(r6.fd, (struct sockaddr *)&peer, &plen) || plen != s6.alen ||
	    memcmp(&peer, &s6.addr, plen))
		fail("R6: not connected to S6 any more");

	/* New traffic, every way: R4 takes S4's partial coverage still. */
	send_sk(&s4, &r4, "after, covered by 8");
	expect(&r4, &s4, "after, covered by 8");
	send_sk(&c4, NULL, "after, connected");
	expect(&r4, &c4, "after, connected");
	send_sk(&r4, &c4, "back to C4");
	expect(&c4, &r4, "back to C4");
	send_sk(&r6, NULL, "six back");
	expect(&s6, &r6, "six back");
	send_sk(&s6, &r6, "six again");
	expect(&r6, &s6, "six again");
	send_to(&s4, &d6_lo, sizeof(struct sockaddr_in), "dual-stack again");
	expect_from(&d6, &s4_mapped, sizeof(*m), "S4 (IPv4-mapped)", "dual-stack again");
	pass();
}
