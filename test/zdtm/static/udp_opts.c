/*
 * UDP-level options of UDP and UDP-Lite sockets (SOL_UDP): an IPv4 UDP
 * socket with UDP_SEGMENT (GSO) and UDP_GRO; an IPv6 one with
 * UDP_NO_CHECK6_TX and UDP_NO_CHECK6_RX; a UDP-Lite one corked
 * (UDP_CORK) with nothing written yet.
 *
 * After restore each option reads back as it was, and the corked socket
 * sends what it is given once uncorked, as one datagram.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE		136
#endif

struct opt {
	int opt, val;
	const char *name;
};

static void set(int fd, int opt, int v, const char *name)
{
	if (setsockopt(fd, SOL_UDP, opt, &v, sizeof(v)))
		fail_errno("setting %s to %d", name, v);
}

static void check(int fd, int opt, int want, const char *name)
{
	int v = sk_getint(fd, SOL_UDP, opt, name);

	if (v != want)
		fail("%s is %d, expected %d", name, v, want);
}

int main(int argc, char **argv)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(lo);
	int gso, v6, lite, rcv;
	char buf[64];
	ssize_t n;

	test_init(argc, argv);
	gso = socket(AF_INET, SOCK_DGRAM, 0);
	v6 = socket(AF_INET6, SOCK_DGRAM, 0);
	lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	rcv = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (gso < 0 || v6 < 0 || lite < 0 || rcv < 0)
		fail_errno("sockets");
	set(gso, UDP_SEGMENT, 1200, "UDP_SEGMENT");
	set(gso, UDP_GRO, 1, "UDP_GRO");
	set(v6, UDP_NO_CHECK6_TX, 1, "UDP_NO_CHECK6_TX");
	set(v6, UDP_NO_CHECK6_RX, 1, "UDP_NO_CHECK6_RX");
	if (bind(rcv, (struct sockaddr *)&lo, sizeof(lo)) || getsockname(rcv, (struct sockaddr *)&lo, &len) ||
	    connect(lite, (struct sockaddr *)&lo, sizeof(lo)))
		fail_errno("UDP-Lite pair");
	set(lite, UDP_CORK, 1, "UDP_CORK");

	test_ready();
	test_wait_checkpoint();

	check(gso, UDP_SEGMENT, 1200, "UDP_SEGMENT");
	check(gso, UDP_GRO, 1, "UDP_GRO");
	check(v6, UDP_NO_CHECK6_TX, 1, "UDP_NO_CHECK6_TX");
	check(v6, UDP_NO_CHECK6_RX, 1, "UDP_NO_CHECK6_RX");
	check(lite, UDP_CORK, 1, "UDP_CORK");
	if (send(lite, "one ", 4, 0) != 4 || send(lite, "datagram", 8, 0) != 8)
		fail_errno("sending corked");
	if (recv(rcv, buf, sizeof(buf), MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("a corked socket sent before it was uncorked");
	set(lite, UDP_CORK, 0, "UDP_CORK");
	n = recv(rcv, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != 12 || memcmp(buf, "one datagram", 12))
		fail("uncorked: got %zd bytes (%m), expected 'one datagram'", n);
	pass();
}
