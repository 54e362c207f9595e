/*
 * Ping sockets (SOCK_DGRAM of ICMP and ICMPv6, as an unprivileged ping
 * holds them), allowed in the test's net namespace by
 * net.ipv4.ping_group_range:
 *
 *   p4   bound to echo id 4242, connected to 127.0.0.1;
 *   p6   bound to ::1 with echo id 4343, not connected.
 *
 * After the restore each keeps its id and address; an echo request
 * through each gets the kernel's reply, with that id.
 *
 * zdtm: flavors: ns uns (ping_group_range is the net namespace's)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static int p4, p6;

static uint16_t port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		fail_errno("getsockname");
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* The reply's id is the socket's, whatever the request said (the kernel sets it). */
static void echo(int fd, int v6, uint16_t seq, uint16_t id)
{
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct icmphdr h4 = { .type = ICMP_ECHO, .un.echo.sequence = htons(seq) };
	struct icmp6_hdr h6 = { .icmp6_type = ICMP6_ECHO_REQUEST };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n;

	h6.icmp6_seq = htons(seq);
	n = v6 ? sendto(fd, &h6, sizeof(h6), 0, (struct sockaddr *)&to6, sizeof(to6)) : send(fd, &h4, sizeof(h4), 0);
	if (n < 0)
		fail_errno("%s: send", v6 ? "p6" : "p4");
	if (poll(&p, 1, 5000) != 1)
		fail("%s: no echo reply in 5 s", v6 ? "p6" : "p4");
	n = recv(fd, buf, sizeof(buf), 0);
	if (v6) {
		struct icmp6_hdr *r = (struct icmp6_hdr *)buf;

		if (n < (ssize_t)sizeof(*r) || r->icmp6_type != ICMP6_ECHO_REPLY || ntohs(r->icmp6_seq) != seq ||
		    ntohs(r->icmp6_id) != id)
			fail("p6: not the echo reply %u with id %u", seq, id);
	} else {
		struct icmphdr *r = (struct icmphdr *)buf;

		if (n < (ssize_t)sizeof(*r) || r->type != ICMP_ECHOREPLY || ntohs(r->un.echo.sequence) != seq ||
		    ntohs(r->un.echo.id) != id)
			fail("p4: not the echo reply %u with id %u", seq, id);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(4242) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(4343), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in lo4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd;

	test_init(argc, argv);
	fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
	if (fd < 0 || write(fd, "0 0", 3) != 3)
		fail_errno("allowing ping sockets");
	close(fd);
	p4 = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	p6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (p4 < 0 || p6 < 0)
		fail_errno("ping sockets");
	if (bind(p4, (struct sockaddr *)&a4, sizeof(a4)) || connect(p4, (struct sockaddr *)&lo4, sizeof(lo4)) ||
	    bind(p6, (struct sockaddr *)&a6, sizeof(a6)))
		fail_errno("bind, connect");
	echo(p4, 0, 1, 4242);
	echo(p6, 1, 1, 4343);

	test_ready();
	test_wait_checkpoint();

	if (port_of(p4) != 4242 || port_of(p6) != 4343)
		fail("the echo ids are %u and %u after restore", port_of(p4), port_of(p6));
	echo(p4, 0, 2, 4242);
	echo(p6, 1, 2, 4343);
	pass();
}
