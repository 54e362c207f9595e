/*
 * Packet sockets: a SOCK_RAW one for every protocol (ETH_P_ALL) bound to
 * the loopback, with PACKET_AUXDATA, PACKET_VERSION TPACKET_V2 and a
 * promiscuous membership on it; two SOCK_RAW ones in one fanout group
 * (PACKET_FANOUT_HASH); a SOCK_DGRAM one for IPv4, bound to nothing.
 *
 * After restore each has its protocol, interface and options again, the
 * loopback's promiscuity count is raised again (the membership; in cr's
 * own namespace by at least the one), and the first socket
 * sees a datagram sent over the loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define FANOUT_ID	77

static int all, fan[2], dgram, lo, promisc;

static int sopt(int fd, int opt, int v, const char *name)
{
	if (setsockopt(fd, SOL_PACKET, opt, &v, sizeof(v)))
		fail_errno("setting %s", name);
	return 0;
}

static void check_opt(int fd, int opt, int want, const char *name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_PACKET, opt, &v, &len) || v != want)
		fail("%s is %d (%m), expected %d", name, v, want);
}

static void check_bound(int fd, int proto, int ifindex, const char *what)
{
	struct sockaddr_ll sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		fail_errno("%s: getsockname", what);
	if (sa.sll_protocol != htons(proto) || sa.sll_ifindex != ifindex)
		fail("%s: protocol 0x%x interface %d, expected 0x%x and %d", what, ntohs(sa.sll_protocol),
		     sa.sll_ifindex, proto, ifindex);
}

/* The loopback's promiscuity count (what a PACKET_MR_PROMISC membership raises), as ip(8) says it. */
static int lo_promisc(void)
{
	FILE *f = popen("ip -d link show lo", "r");
	char line[512];
	int n = -1;

	if (!f)
		fail_errno("ip -d link show lo");
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "promiscuity ");

		if (p)
			n = atoi(p + 12);
	}
	pclose(f);
	if (n < 0)
		fail("ip -d link show lo says no promiscuity");
	return n;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd p;
	char buf[2048];
	int u;

	test_init(argc, argv);
	lo = if_nametoindex("lo");
	all = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	fan[0] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	fan[1] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	dgram = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (!lo || all < 0 || fan[0] < 0 || fan[1] < 0 || dgram < 0)
		fail_errno("packet sockets");
	sa.sll_ifindex = lo;
	if (bind(all, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("bind to lo");
	sopt(all, PACKET_AUXDATA, 1, "PACKET_AUXDATA");
	sopt(all, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
	mr.mr_ifindex = lo;
	if (setsockopt(all, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)))
		fail_errno("PACKET_ADD_MEMBERSHIP");
	for (int i = 0; i < 2; i++)
		sopt(fan[i], PACKET_FANOUT, FANOUT_ID | PACKET_FANOUT_HASH << 16, "PACKET_FANOUT");
	promisc = lo_promisc();
	if (promisc < 1)
		fail("lo is not promiscuous with the membership");

	test_ready();
	test_wait_checkpoint();

	check_bound(all, ETH_P_ALL, lo, "ETH_P_ALL socket");
	check_bound(dgram, ETH_P_IP, 0, "SOCK_DGRAM socket");
	check_opt(all, PACKET_AUXDATA, 1, "PACKET_AUXDATA");
	check_opt(all, PACKET_VERSION, TPACKET_V2, "PACKET_VERSION");
	for (int i = 0; i < 2; i++)
		check_opt(fan[i], PACKET_FANOUT, FANOUT_ID | PACKET_FANOUT_HASH << 16, "PACKET_FANOUT");
	if (lo_promisc() < 1)
		fail("lo is not promiscuous after restore (the membership is lost)");
	/* Older packets may wait; what matters is that a new one arrives. */
	while (recv(all, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || sendto(u, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)) != 4)
		fail_errno("sending a datagram over lo");
	p = (struct pollfd){ .fd = all, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1 || recv(all, buf, sizeof(buf), 0) <= 0)
		fail("the ETH_P_ALL socket on lo saw nothing of a datagram sent over lo");
	pass();
}
