/*
 * SOCK_PACKET sockets, the old interface to packet capture: one for
 * every protocol (ETH_P_ALL) bound to the loopback by name, with
 * SO_RCVBUF set; one for IPv4 made as old programs make it,
 * socket(AF_INET, SOCK_PACKET) (the kernel makes a packet socket),
 * bound to nothing; one of protocol 0 (it receives nothing) bound to
 * the loopback.
 *
 * After restore each is a SOCK_PACKET socket again with its protocol and
 * device, and the first one sees a datagram sent over the loopback,
 * from the loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef SOCK_PACKET
#define SOCK_PACKET	10
#endif

static int getint(int fd, int opt, const char *what)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len))
		fail_errno("%s: getsockopt %d", what, opt);
	return v;
}

/* The protocol of @fd as /proc/net/packet says (SO_PROTOCOL says 0 for any SOCK_PACKET socket). */
static int proto_of(int fd, const char *what)
{
	FILE *f = fopen("/proc/net/packet", "r");
	unsigned type, proto;
	unsigned long ino;
	struct stat st;
	char line[256];
	int ret = -1;

	if (!f || fstat(fd, &st))
		fail_errno("%s: /proc/net/packet", what);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %u %x %*s %*s %*s %*s %lu", &type, &proto, &ino) == 3 && ino == st.st_ino)
			ret = type == SOCK_PACKET ? (int)proto : -2;
	fclose(f);
	if (ret < 0)
		fail("%s: /proc/net/packet %s", what, ret == -1 ? "does not list it" : "says another type");
	return ret;
}

static int spkt(int family, int proto, const char *dev, const char *what)
{
	struct sockaddr_pkt sp = { .spkt_family = AF_PACKET };
	int fd = socket(family, SOCK_PACKET, htons(proto));

	if (fd < 0)
		fail_errno("%s: socket", what);
	if (dev) {
		memcpy(sp.spkt_device, dev, strlen(dev));
		if (bind(fd, (struct sockaddr *)&sp, sizeof(struct sockaddr)))
			fail_errno("%s: bind to %s", what, dev);
	}
	return fd;
}

static void check(int fd, int proto, const char *dev, const char *what)
{
	struct sockaddr_pkt sp;
	socklen_t len = sizeof(sp);

	if (getint(fd, SO_TYPE, what) != SOCK_PACKET || getint(fd, SO_DOMAIN, what) != AF_PACKET)
		fail("%s: not a SOCK_PACKET packet socket", what);
	if (proto_of(fd, what) != proto)
		fail("%s: protocol 0x%x, expected 0x%x", what, proto_of(fd, what), proto);
	memset(&sp, 0, sizeof(sp));
	if (getsockname(fd, (struct sockaddr *)&sp, &len))
		fail_errno("%s: getsockname", what);
	if (strncmp((char *)sp.spkt_device, dev, sizeof(sp.spkt_device)))
		fail("%s: bound to '%.14s', expected '%s'", what, sp.spkt_device, dev);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_pkt from;
	socklen_t flen;
	struct pollfd p;
	char buf[2048];
	int all, ip, zero, u, rcvbuf;

	test_init(argc, argv);
	all = spkt(AF_PACKET, ETH_P_ALL, "lo", "ETH_P_ALL socket");
	ip = spkt(AF_INET, ETH_P_IP, NULL, "AF_INET SOCK_PACKET socket");
	zero = spkt(AF_PACKET, 0, "lo", "protocol 0 socket");
	if (setsockopt(all, SOL_SOCKET, SO_RCVBUF, &(int){ 300000 }, sizeof(int)))
		fail_errno("SO_RCVBUF");
	rcvbuf = getint(all, SO_RCVBUF, "ETH_P_ALL socket");
	/* What is checked after is so before. */
	check(all, ETH_P_ALL, "lo", "ETH_P_ALL socket");
	check(ip, ETH_P_IP, "", "AF_INET SOCK_PACKET socket");
	check(zero, 0, "lo", "protocol 0 socket");

	test_ready();
	test_wait_checkpoint();

	check(all, ETH_P_ALL, "lo", "ETH_P_ALL socket");
	check(ip, ETH_P_IP, "", "AF_INET SOCK_PACKET socket");
	check(zero, 0, "lo", "protocol 0 socket");
	zdtm_check(getint(all, SO_RCVBUF, "ETH_P_ALL socket") == rcvbuf);
	/* Older packets may wait; what matters is that a new one arrives. */
	while (recv(all, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || sendto(u, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)) != 4)
		fail_errno("sending a datagram over lo");
	p = (struct pollfd){ .fd = all, .events = POLLIN };
	flen = sizeof(from);
	if (poll(&p, 1, 5000) != 1 || recvfrom(all, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) <= 0)
		fail("the ETH_P_ALL socket on lo saw nothing of a datagram sent over lo");
	if (strcmp((char *)from.spkt_device, "lo"))
		fail("the ETH_P_ALL socket got a packet from '%.14s', not lo", from.spkt_device);
	pass();
}
