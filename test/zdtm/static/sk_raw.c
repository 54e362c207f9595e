/*
 * Raw IPv4 and IPv6 sockets, as ping and routing daemons hold them:
 *
 *   icmp4   SOCK_RAW IPPROTO_ICMP, connected to 127.0.0.1, ICMP_FILTER
 *           passing only echo replies;
 *   icmp6   SOCK_RAW IPPROTO_ICMPV6 bound to ::1, an ICMPv6 filter
 *           passing only echo replies;
 *   proto   SOCK_RAW of protocol 253 (experimental) over IPv6 with
 *           IPV6_CHECKSUM at offset 2, and one over IPv4 with IP_HDRINCL.
 *
 * After the restore each has its family, protocol, binding, peer and
 * options; icmp4 and icmp6 send an echo request to the loopback and get
 * the kernel's reply (and nothing their filter drops).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

/* <linux/icmp.h>'s, which clashes with <netinet/ip_icmp.h> */
#define ICMP_FILTER	1
struct icmp_filter {
	uint32_t data;
};

#define PROTO_EXP	253

static int icmp4, icmp6, proto6, proto4;

static int intopt(int fd, int lvl, int opt, const char *name)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, lvl, opt, &v, &len))
		fail_errno("getsockopt %s", name);
	return v;
}

static uint16_t csum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An echo request out, its reply back: the socket works and its filter passes replies. */
static void ping4(uint16_t seq)
{
	struct icmphdr h = { .type = ICMP_ECHO, .un.echo.id = htons(0x4242), .un.echo.sequence = htons(seq) };
	char buf[256];
	struct pollfd p = { .fd = icmp4, .events = POLLIN };

	h.checksum = csum(&h, sizeof(h));
	if (send(icmp4, &h, sizeof(h), 0) != sizeof(h))
		fail_errno("icmp4: send");
	/* The request itself is filtered out: only the reply comes. */
	if (poll(&p, 1, 5000) != 1)
		fail("icmp4: no echo reply in 5 s");
	ssize_t n = recv(icmp4, buf, sizeof(buf), 0);
	struct iphdr *ip = (struct iphdr *)buf;
	struct icmphdr *r = (struct icmphdr *)(buf + ip->ihl * 4);

	if (n < (ssize_t)(sizeof(*ip) + sizeof(*r)) || r->type != ICMP_ECHOREPLY || ntohs(r->un.echo.sequence) != seq)
		fail("icmp4: got %zd bytes, type %d, not the echo reply %u", n, n > 20 ? r->type : -1, seq);
}

static void ping6(uint16_t seq)
{
	struct icmp6_hdr h = { .icmp6_type = ICMP6_ECHO_REQUEST };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct pollfd p = { .fd = icmp6, .events = POLLIN };
	struct icmp6_hdr r;

	h.icmp6_id = htons(0x4343);
	h.icmp6_seq = htons(seq);
	if (sendto(icmp6, &h, sizeof(h), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(h))
		fail_errno("icmp6: send");
	if (poll(&p, 1, 5000) != 1)
		fail("icmp6: no echo reply in 5 s");
	if (recv(icmp6, &r, sizeof(r), 0) != sizeof(r) || r.icmp6_type != ICMP6_ECHO_REPLY ||
	    ntohs(r.icmp6_seq) != seq)
		fail("icmp6: not the echo reply %u (type %d)", seq, r.icmp6_type);
}

static void check(const char *when)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct icmp_filter f4;
	struct icmp6_filter f6;

	len = sizeof(f4);
	if (getsockopt(icmp4, SOL_RAW, ICMP_FILTER, &f4, &len) || f4.data != ~(1u << ICMP_ECHOREPLY))
		fail("%s: icmp4: ICMP_FILTER %#x", when, f4.data);
	/* Connected: getpeername() says ENOTCONN for a raw socket (no port); ping4's send() tells. */
	len = sizeof(f6);
	if (getsockopt(icmp6, SOL_ICMPV6, ICMP6_FILTER, &f6, &len) || !ICMP6_FILTER_WILLPASS(ICMP6_ECHO_REPLY, &f6) ||
	    !ICMP6_FILTER_WILLBLOCK(ICMP6_ECHO_REQUEST, &f6))
		fail("%s: icmp6: its filter is lost", when);
	len = sizeof(ss);
	if (getsockname(icmp6, (struct sockaddr *)&ss, &len) ||
	    memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr, &in6addr_loopback, 16))
		fail("%s: icmp6: not bound to ::1", when);
	if (intopt(proto6, SOL_IPV6, IPV6_CHECKSUM, "IPV6_CHECKSUM") != 2)
		fail("%s: proto6: IPV6_CHECKSUM is not 2", when);
	if (intopt(proto6, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL") != PROTO_EXP ||
	    intopt(proto4, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL") != PROTO_EXP)
		fail("%s: the protocols are lost", when);
	if (intopt(proto4, SOL_IP, IP_HDRINCL, "IP_HDRINCL") != 1)
		fail("%s: proto4: IP_HDRINCL is lost", when);
	if (intopt(icmp4, SOL_IP, IP_TTL, "IP_TTL") != 7)
		fail("%s: icmp4: IP_TTL is lost", when);
}

int main(int argc, char **argv)
{
	struct sockaddr_in lo4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 lo6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct icmp_filter f4 = { .data = ~(1u << ICMP_ECHOREPLY) };
	struct icmp6_filter f6;
	int one = 1, two = 2, ttl = 7;

	test_init(argc, argv);
	icmp4 = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	icmp6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	proto6 = socket(AF_INET6, SOCK_RAW, PROTO_EXP);
	proto4 = socket(AF_INET, SOCK_RAW, PROTO_EXP);
	if (icmp4 < 0 || icmp6 < 0 || proto6 < 0 || proto4 < 0)
		fail_errno("raw sockets");
	ICMP6_FILTER_SETBLOCKALL(&f6);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f6);
	if (setsockopt(icmp4, SOL_RAW, ICMP_FILTER, &f4, sizeof(f4)) ||
	    setsockopt(icmp4, SOL_IP, IP_TTL, &ttl, sizeof(ttl)) ||
	    connect(icmp4, (struct sockaddr *)&lo4, sizeof(lo4)) ||
	    setsockopt(icmp6, SOL_ICMPV6, ICMP6_FILTER, &f6, sizeof(f6)) ||
	    bind(icmp6, (struct sockaddr *)&lo6, sizeof(lo6)) ||
	    setsockopt(proto6, SOL_IPV6, IPV6_CHECKSUM, &two, sizeof(two)) ||
	    setsockopt(proto4, SOL_IP, IP_HDRINCL, &one, sizeof(one)))
		fail_errno("setting the sockets up");
	check("before");
	ping4(1);
	ping6(1);

	test_ready();
	test_wait_checkpoint();

	check("after restore");
	ping4(2);
	ping6(2);
	pass();
}
