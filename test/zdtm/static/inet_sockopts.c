/*
 * Socket options of inet sockets, IPv4, IPv6 and IPv4-mapped IPv6, each
 * set to a value other than a new socket's: on a UDP socket and a TCP
 * listener of each family IP_TOS, IP_TTL, IP_RECVERR, IP_PKTINFO,
 * IP_FREEBIND (bound to an address the host does not have), SO_MARK,
 * SO_RCVLOWAT, SO_OOBINLINE, SO_TIMESTAMPNS, SO_BUF_LOCK,
 * SO_BINDTODEVICE (lo); IPV6_UNICAST_HOPS, IPV6_TCLASS, IPV6_RECVERR,
 * IPV6_RECVPKTINFO, IPV6_MULTICAST_HOPS and IPV6_MULTICAST_LOOP on the
 * IPv6 ones; IP_MULTICAST_TTL and IP_MULTICAST_LOOP on the IPv4 UDP one;
 * TCP_CORK, TCP_USER_TIMEOUT, TCP_WINDOW_CLAMP, TCP_NOTSENT_LOWAT and
 * TCP_CONGESTION (reno) on the listeners.
 *
 * After restore getsockopt gives every value again, and the sockets are
 * bound to the same addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK	72
#endif

enum { V4, V6, MAPPED, NR_FAM };
static const char *const fname[] = { "IPv4", "IPv6", "IPv4-mapped IPv6" };

struct opt {
	const char *name;
	int level, opt, val;
	unsigned where;		/* bits below */
};

enum { UDP = 1, TCP = 2, ANY = UDP | TCP, ONLY6 = 4, ONLY4 = 8 };

static const struct opt opts[] = {
	{ "IP_TOS", SOL_IP, IP_TOS, 0x28, ANY },
	{ "IP_TTL", SOL_IP, IP_TTL, 33, ANY },
	{ "IP_RECVERR", SOL_IP, IP_RECVERR, 1, ANY },
	{ "IP_PKTINFO", SOL_IP, IP_PKTINFO, 1, UDP },
	{ "IP_FREEBIND", SOL_IP, IP_FREEBIND, 1, ANY },
	{ "IP_MULTICAST_TTL", SOL_IP, IP_MULTICAST_TTL, 7, UDP | ONLY4 },
	{ "IP_MULTICAST_LOOP", SOL_IP, IP_MULTICAST_LOOP, 0, UDP | ONLY4 },
	{ "SO_MARK", SOL_SOCKET, SO_MARK, 0x77, ANY },
	{ "SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT, 5, ANY },
	{ "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, 1, TCP },
	{ "SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, 1, UDP },
	{ "SO_BUF_LOCK", SOL_SOCKET, SO_BUF_LOCK, 3, ANY },
	{ "IPV6_UNICAST_HOPS", SOL_IPV6, IPV6_UNICAST_HOPS, 17, ANY | ONLY6 },
	{ "IPV6_TCLASS", SOL_IPV6, IPV6_TCLASS, 0x48, ANY | ONLY6 },
	{ "IPV6_RECVERR", SOL_IPV6, IPV6_RECVERR, 1, ANY | ONLY6 },
	{ "IPV6_RECVPKTINFO", SOL_IPV6, IPV6_RECVPKTINFO, 1, UDP | ONLY6 },
	{ "IPV6_MULTICAST_HOPS", SOL_IPV6, IPV6_MULTICAST_HOPS, 9, UDP | ONLY6 },
	{ "IPV6_MULTICAST_LOOP", SOL_IPV6, IPV6_MULTICAST_LOOP, 0, UDP | ONLY6 },
	{ "TCP_CORK", SOL_TCP, TCP_CORK, 1, TCP },
	{ "TCP_USER_TIMEOUT", SOL_TCP, TCP_USER_TIMEOUT, 12345, TCP },
	{ "TCP_WINDOW_CLAMP", SOL_TCP, TCP_WINDOW_CLAMP, 40000, TCP },
	{ "TCP_NOTSENT_LOWAT", SOL_TCP, TCP_NOTSENT_LOWAT, 20000, TCP },
};
#define NR_OPTS	(sizeof(opts) / sizeof(opts[0]))

static int sks[NR_FAM][2];	/* [family][0: UDP, 1: TCP listener] */
static struct sockaddr_storage tcp_addr[NR_FAM];
static socklen_t tcp_len[NR_FAM];

static bool applies(const struct opt *o, int f, int tcp)
{
	if (!(o->where & (tcp ? TCP : UDP)))
		return false;
	if ((o->where & ONLY6) && f == V4)
		return false;
	if ((o->where & ONLY4) && f != V4)
		return false;
	return true;
}

/* A non-local address of the family (192.0.2.x is TEST-NET-1, 2001:db8:: documentation). */
static socklen_t nonlocal(int f, int n, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (f == V4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, n ? "192.0.2.8" : "192.0.2.7", &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	inet_pton(AF_INET6, f == V6 ? (n ? "2001:db8::8" : "2001:db8::7") : (n ? "::ffff:192.0.2.8" : "::ffff:192.0.2.7"),
		  &a->sin6_addr);
	return sizeof(*a);
}

static void setup(int f, int tcp)
{
	struct sockaddr_storage ss;
	socklen_t len = nonlocal(f, tcp, &ss);
	int fd = socket(f == V4 ? AF_INET : AF_INET6, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

	if (fd < 0)
		fail_errno("%s: socket", fname[f]);
	for (size_t i = 0; i < NR_OPTS; i++) {
		if (!applies(&opts[i], f, tcp))
			continue;
		if (setsockopt(fd, opts[i].level, opts[i].opt, &opts[i].val, sizeof(int)))
			fail_errno("%s %s: setting %s", fname[f], tcp ? "TCP" : "UDP", opts[i].name);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3))
		fail_errno("%s: SO_BINDTODEVICE lo", fname[f]);
	if (tcp && setsockopt(fd, SOL_TCP, TCP_CONGESTION, "reno", 4))
		fail_errno("%s: TCP_CONGESTION reno", fname[f]);
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail_errno("%s %s: bind to a non-local address (IP_FREEBIND)", fname[f], tcp ? "TCP" : "UDP");
	if (tcp) {
		if (listen(fd, 4))
			fail_errno("%s: listen", fname[f]);
		tcp_len[f] = sizeof(tcp_addr[f]);
		if (getsockname(fd, (struct sockaddr *)&tcp_addr[f], &tcp_len[f]))
			fail_errno("getsockname");
	}
	sks[f][tcp] = fd;
}

static void check(int f, int tcp)
{
	int fd = sks[f][tcp], v;
	socklen_t len;
	char dev[IFNAMSIZ] = "", cc[16] = "";

	for (size_t i = 0; i < NR_OPTS; i++) {
		if (!applies(&opts[i], f, tcp))
			continue;
		len = sizeof(v);
		if (getsockopt(fd, opts[i].level, opts[i].opt, &v, &len))
			fail_errno("%s %s: getsockopt %s", fname[f], tcp ? "TCP" : "UDP", opts[i].name);
		if (v != opts[i].val)
			fail("%s %s: %s is %d, expected %d", fname[f], tcp ? "TCP" : "UDP", opts[i].name, v,
			     opts[i].val);
	}
	len = sizeof(dev);
	if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) || strcmp(dev, "lo"))
		fail("%s %s: SO_BINDTODEVICE is '%s', expected lo", fname[f], tcp ? "TCP" : "UDP", dev);
	if (tcp) {
		len = sizeof(cc);
		if (getsockopt(fd, SOL_TCP, TCP_CONGESTION, cc, &len) || strcmp(cc, "reno"))
			fail("%s: TCP_CONGESTION is '%s', expected reno", fname[f], cc);
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int f = 0; f < NR_FAM; f++) {
		setup(f, 0);
		setup(f, 1);
		check(f, 0);
		check(f, 1);
	}
	test_ready();
	test_wait_checkpoint();
	for (int f = 0; f < NR_FAM; f++) {
		check(f, 0);
		check(f, 1);
	}
	pass();
}
