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
 * options, SO_PEEK_OFF is off as it was (also after a dump killed while
 * cr peeked: test/zdtm/run's dump-sigkill-udp-peek), and new datagrams
 * go both ways.
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

static struct dgram_sk r4 = { .name = "R4" }, s4 = { .name = "S4" }, c4 = { .name = "C4" },
		      r6 = { .name = "R6" }, s6 = { .name = "S6" }, d6 = { .name = "D6" };

static int lite(int family)
{
	int fd = socket(family, SOCK_DGRAM, IPPROTO_UDPLITE);

	if (fd < 0)
		fail_errno("socket(UDP-Lite)");
	return fd;
}

static void named(struct dgram_sk *s)
{
	s->alen = sizeof(s->addr);
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->alen))
		fail_errno("%s: getsockname", s->name);
}

/* Bound to the loopback (@any: IPv6's any address, dual-stack; peers reach it on the loopback). */
static void bound(struct dgram_sk *s, int family, int any)
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

static int getint(struct dgram_sk *s, int level, int opt)
{
	return sk_getint(s->fd, level, opt, s->name);
}

/* Sends MSG from FROM to an address that is no dgram_sk's. */
static void send_to(struct dgram_sk *from, const struct sockaddr_storage *to, socklen_t tlen, const char *msg)
{
	struct dgram_sk t = { .name = "an address", .addr = *to, .alen = tlen };

	dgram_send(from, &t, msg);
}

static void setint(struct dgram_sk *s, int opt, int v)
{
	if (setsockopt(s->fd, SOL_UDPLITE, opt, &v, sizeof(v)))
		fail_errno("%s: setting UDP-Lite option %d", s->name, opt);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage d6_lo = { .ss_family = AF_INET }, s4_mapped = { .ss_family = AF_INET6 };
	struct sockaddr_in6 *m = (struct sockaddr_in6 *)&s4_mapped;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct dgram_sk *const all[] = { &r4, &s4, &c4, &r6, &s6, &d6 };

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

	dgram_send(&s4, &r4, "covered by 8 bytes");
	dgram_send(&s4, &r4, "");
	dgram_send(&c4, NULL, "from the connected one");
	dgram_send(&s6, &r6, "six one");
	dgram_send(&s6, &r6, "six two");
	send_to(&s4, &d6_lo, sizeof(struct sockaddr_in), "to the dual-stack one");

	test_ready();
	test_wait_checkpoint();

	dgram_expect(&r4, &s4, "covered by 8 bytes");
	dgram_expect(&r4, &s4, "");
	dgram_expect(&r4, &c4, "from the connected one");
	dgram_expect_empty(&r4);
	dgram_expect(&r6, &s6, "six one");
	dgram_expect(&r6, &s6, "six two");
	dgram_expect_empty(&r6);
	dgram_expect_from(&d6, &s4_mapped, sizeof(*m), "S4 (IPv4-mapped)", "to the dual-stack one");
	dgram_expect_empty(&d6);
	/* cr peeks with SO_PEEK_OFF: off again (-1) whatever became of cr (a dump killed meanwhile too). */
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (getint(all[i], SOL_SOCKET, SO_PEEK_OFF) != -1)
			fail("%s: SO_PEEK_OFF is %d, not off", all[i]->name, getint(all[i], SOL_SOCKET, SO_PEEK_OFF));
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
	dgram_send(&s4, &r4, "after, covered by 8");
	dgram_expect(&r4, &s4, "after, covered by 8");
	dgram_send(&c4, NULL, "after, connected");
	dgram_expect(&r4, &c4, "after, connected");
	dgram_send(&r4, &c4, "back to C4");
	dgram_expect(&c4, &r4, "back to C4");
	dgram_send(&r6, NULL, "six back");
	dgram_expect(&s6, &r6, "six back");
	dgram_send(&s6, &r6, "six again");
	dgram_expect(&r6, &s6, "six again");
	send_to(&s4, &d6_lo, sizeof(struct sockaddr_in), "dual-stack again");
	dgram_expect_from(&d6, &s4_mapped, sizeof(*m), "S4 (IPv4-mapped)", "dual-stack again");
	pass();
}
