/*
 * Multicast group memberships of UDP sockets, IPv4 and IPv6, on the
 * loopback (multicast enabled on it by the test where it is not):
 *
 *   r4   joined 239.1.2.3 (IP_ADD_MEMBERSHIP) and 239.1.2.4 from one
 *        source (MCAST_JOIN_SOURCE_GROUP: include 127.0.0.1 only);
 *   r6   joined ff15::1:2 (IPV6_JOIN_GROUP);
 *   n4   joined nothing, bound to the same port as r4, IP_MULTICAST_ALL
 *        off (else it takes the datagrams of every group joined on the
 *        interface).
 *
 * After the restore the filters read back as they were (MCAST_MSFILTER),
 * a datagram sent to each IPv4 group reaches r4, and n4 gets none.
 *
 * zdtm: flavors: ns uns (the loopback's flags and routes are changed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static int r4, r6, n4, port4, port6;
static unsigned lo;

static void join_filter(int fd, const char *group, const char *source)
{
	struct group_source_req r = { .gsr_interface = lo };
	struct sockaddr_in *g = (struct sockaddr_in *)&r.gsr_group, *s = (struct sockaddr_in *)&r.gsr_source;

	g->sin_family = s->sin_family = AF_INET;
	inet_pton(AF_INET, group, &g->sin_addr);
	inet_pton(AF_INET, source, &s->sin_addr);
	if (setsockopt(fd, SOL_IP, MCAST_JOIN_SOURCE_GROUP, &r, sizeof(r)))
		fail_errno("MCAST_JOIN_SOURCE_GROUP %s", group);
}

/* The filter of @fd for @group: its mode and number of sources (the first in *@src); -1 if not joined. */
static int filter_of(int fd, int family, const char *group, uint32_t *nsrc, char *src, size_t srclen)
{
	char buf[GROUP_FILTER_SIZE(4)];
	struct group_filter *gf = (struct group_filter *)buf;
	socklen_t len = sizeof(buf);

	memset(buf, 0, sizeof(buf));
	gf->gf_interface = lo;
	gf->gf_group.ss_family = family;
	gf->gf_numsrc = 4;
	if (family == AF_INET)
		inet_pton(AF_INET, group, &((struct sockaddr_in *)&gf->gf_group)->sin_addr);
	else
		inet_pton(AF_INET6, group, &((struct sockaddr_in6 *)&gf->gf_group)->sin6_addr);
	if (getsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6, MCAST_MSFILTER, gf, &len))
		return errno == EADDRNOTAVAIL ? -1 : (fail_errno("MCAST_MSFILTER get %s", group), -1);
	*nsrc = gf->gf_numsrc;
	if (gf->gf_numsrc)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&gf->gf_slist[0])->sin_addr, src, srclen);
	return gf->gf_fmode;
}

static void check_filters(const char *when)
{
	uint32_t n = 0;
	char src[64] = "";

	if (filter_of(r4, AF_INET, "239.1.2.3", &n, src, sizeof(src)) != MCAST_EXCLUDE || n)
		fail("%s: r4 is not a plain member of 239.1.2.3", when);
	if (filter_of(r4, AF_INET, "239.1.2.4", &n, src, sizeof(src)) != MCAST_INCLUDE || n != 1 ||
	    strcmp(src, "127.0.0.1"))
		fail("%s: r4's filter of 239.1.2.4 is not 'include 127.0.0.1' (%u sources, %s)", when, n, src);
	if (filter_of(r6, AF_INET6, "ff15::1:2", &n, src, sizeof(src)) != MCAST_EXCLUDE)
		fail("%s: r6 is not a member of ff15::1:2", when);
	if (filter_of(n4, AF_INET, "239.1.2.3", &n, src, sizeof(src)) != -1)
		fail("%s: n4 is a member of 239.1.2.3", when);
}

static void send_to(int family, const char *group, int port, const char *msg)
{
	struct sockaddr_storage ss = { .ss_family = family };
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;

	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		struct in_addr lo4 = { htonl(INADDR_LOOPBACK) };

		inet_pton(AF_INET, group, &a->sin_addr);
		a->sin_port = htons(port);
		if (setsockopt(fd, SOL_IP, IP_MULTICAST_IF, &lo4, sizeof(lo4)))
			fail_errno("IP_MULTICAST_IF");
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_pton(AF_INET6, group, &a->sin6_addr);
		a->sin6_port = htons(port);
		if (setsockopt(fd, SOL_IPV6, IPV6_MULTICAST_IF, &lo, sizeof(lo)))
			fail_errno("IPV6_MULTICAST_IF");
	}
	setsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6,
		   family == AF_INET ? IP_MULTICAST_LOOP : IPV6_MULTICAST_LOOP, &one, sizeof(one));
	if (sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, sizeof(ss)) < 0)
		fail_errno("sending to %s", group);
	close(fd);
}

static void expect(int fd, const char *who, const char *msg)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;

	if (poll(&p, 1, 3000) != 1)
		fail("%s: no datagram %s in 3 s", who, msg);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		fail_errno("%s: recv", who);
	buf[n] = '\0';
	if (strcmp(buf, msg))
		fail("%s: got '%s', not '%s'", who, buf, msg);
}

static void traffic(const char *when)
{
	struct pollfd p = { .fd = n4, .events = POLLIN };

	send_to(AF_INET, "239.1.2.3", port4, "g3");
	expect(r4, "r4", "g3");
	send_to(AF_INET, "239.1.2.4", port4, "g4");
	expect(r4, "r4", "g4");
	/* IPv6 multicast does not loop back over lo: r6's membership is checked by its filter only. */
	if (poll(&p, 1, 200) != 0)
		fail("%s: n4 got a datagram of a group it did not join", when);
}

static int bound(int family, int port, int *ret_port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail_errno("socket");
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&ss, sizeof(ss)) || getsockname(fd, (struct sockaddr *)&ss, &len))
		fail_errno("bind");
	*ret_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int main(int argc, char **argv)
{
	struct ip_mreqn m4 = { .imr_address.s_addr = htonl(INADDR_ANY) };
	struct ipv6_mreq m6;
	int dummy;

	test_init(argc, argv);
	lo = if_nametoindex("lo");
	/* The loopback takes no multicast by default: flag it, and route the groups to it. */
	if (system("ip link set lo multicast on && ip route add 239.0.0.0/8 dev lo"))
		fail("setting the loopback up for multicast");
	r4 = bound(AF_INET, 0, &port4);
	n4 = bound(AF_INET, port4, &dummy);
	if (setsockopt(n4, SOL_IP, IP_MULTICAST_ALL, &(int){ 0 }, sizeof(int)))
		fail_errno("IP_MULTICAST_ALL");
	r6 = bound(AF_INET6, 0, &port6);
	m4.imr_ifindex = lo;
	inet_pton(AF_INET, "239.1.2.3", &m4.imr_multiaddr);
	if (setsockopt(r4, SOL_IP, IP_ADD_MEMBERSHIP, &m4, sizeof(m4)))
		fail_errno("IP_ADD_MEMBERSHIP");
	join_filter(r4, "239.1.2.4", "127.0.0.1");
	m6.ipv6mr_interface = lo;
	inet_pton(AF_INET6, "ff15::1:2", &m6.ipv6mr_multiaddr);
	if (setsockopt(r6, SOL_IPV6, IPV6_JOIN_GROUP, &m6, sizeof(m6)))
		fail_errno("IPV6_JOIN_GROUP");
	check_filters("before");
	traffic("before");

	test_ready();
	test_wait_checkpoint();

	check_filters("after restore");
	traffic("after restore");
	pass();
}
