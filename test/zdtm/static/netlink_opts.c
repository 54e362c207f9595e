/*
 * Netlink sockets' peers, options and groups: a NETLINK_USERSOCK socket
 * connected to a peer's port id, sending to it with send(); one
 * connected to that peer and a multicast group (dst_group) another peer
 * is a member of (a send goes to both);
 * a NETLINK_ROUTE socket with NETLINK_PKTINFO, NETLINK_LISTEN_ALL_NSID,
 * NETLINK_CAP_ACK, NETLINK_BROADCAST_ERROR, NETLINK_GET_STRICT_CHK and
 * several groups above 32 (NETLINK_ADD_MEMBERSHIP) besides some below.
 *
 * After restore the peers, port ids, options and groups read back as they
 * were, and the connected sockets' messages reach their peers, from the
 * sender's port id.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef NETLINK_LIST_MEMBERSHIPS
#define NETLINK_LIST_MEMBERSHIPS	9
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK		12
#endif

#define PEER_PORTID	0x7ffe5001
#define CONN_PORTID	0x7ffe5002
#define MC_PORTID	0x7ffe5003
#define MCPEER_PORTID	0x7ffe5004
#define MC_GROUP	5		/* NETLINK_USERSOCK group, 1-based */

static const int flags[] = { NETLINK_PKTINFO, NETLINK_LISTEN_ALL_NSID, NETLINK_CAP_ACK,
			     NETLINK_BROADCAST_ERROR, NETLINK_GET_STRICT_CHK };
static const int high_groups[] = { RTNLGRP_IPV6_NETCONF, RTNLGRP_NSID, RTNLGRP_STATS };

static int peer, conn, mc, mcpeer, route;

static int bound(int proto, unsigned portid, unsigned groups)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = portid, .nl_groups = groups };
	int fd = socket(AF_NETLINK, SOCK_RAW, proto);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("netlink socket of protocol %d on port id %u", proto, portid);
	return fd;
}

static void connect_to(int fd, unsigned portid, unsigned group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = portid, .nl_groups = group };

	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("connect to %u, group mask %x", portid, group);
}

static void check_peer(int fd, unsigned portid, unsigned group)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getpeername(fd, (struct sockaddr *)&sa, &len) || sa.nl_pid != portid || sa.nl_groups != group)
		fail("connected to %u, group mask %x, not %u, %x (%m)", sa.nl_pid, sa.nl_groups, portid, group);
}

static void send_recv2(int from, unsigned from_portid, int to, int to2, const char *text)
{
	struct {
		struct nlmsghdr h;
		char text[48];
	} m = { .h = { .nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_MIN_TYPE } }, r;
	struct sockaddr_nl src;
	socklen_t len = sizeof(src);
	ssize_t n;

	strcpy(m.text, text);
	if (send(from, &m, sizeof(m), 0) != sizeof(m))
		fail_errno("send '%s'", text);
	for (int i = 0; i < 2; i++) {
		if (i && to2 < 0)
			break;
		len = sizeof(src);
		n = recvfrom(i ? to2 : to, &r, sizeof(r), MSG_DONTWAIT, (struct sockaddr *)&src, &len);
		if (n != sizeof(r) || strcmp(r.text, text) || src.nl_pid != from_portid)
			fail("'%s' from %u: got %zd bytes from %u at %s (%m)", text, from_portid, n, src.nl_pid,
			     i ? "the group" : "the peer");
	}
}

static void send_recv(int from, unsigned from_portid, int to, const char *text)
{
	send_recv2(from, from_portid, to, -1, text);
}

static void groups_of(int fd, uint32_t words[4])
{
	socklen_t len = 4 * sizeof(uint32_t);

	memset(words, 0, len);
	if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len))
		fail_errno("NETLINK_LIST_MEMBERSHIPS");
}

int main(int argc, char **argv)
{
	uint32_t before[4], after[4];
	int on = 1;

	test_init(argc, argv);
	peer = bound(NETLINK_USERSOCK, PEER_PORTID, 0);
	conn = bound(NETLINK_USERSOCK, CONN_PORTID, 0);
	connect_to(conn, PEER_PORTID, 0);
	mcpeer = bound(NETLINK_USERSOCK, MCPEER_PORTID, 1u << (MC_GROUP - 1));
	mc = bound(NETLINK_USERSOCK, MC_PORTID, 0);
	connect_to(mc, PEER_PORTID, 1u << (MC_GROUP - 1));
	route = bound(NETLINK_ROUTE, 0, 1u << (RTNLGRP_LINK - 1) | 1u << (RTNLGRP_IPV4_ROUTE - 1));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (setsockopt(route, SOL_NETLINK, flags[i], &on, sizeof(on)))
			fail_errno("netlink option %d", flags[i]);
	for (size_t i = 0; i < sizeof(high_groups) / sizeof(high_groups[0]); i++)
		if (setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &high_groups[i], sizeof(int)))
			fail_errno("joining group %d", high_groups[i]);
	groups_of(route, before);
	send_recv(conn, CONN_PORTID, peer, "before");
	send_recv2(mc, MC_PORTID, peer, mcpeer, "before, to both");

	test_ready();
	test_wait_checkpoint();

	check_peer(conn, PEER_PORTID, 0);
	check_peer(mc, PEER_PORTID, 1u << (MC_GROUP - 1));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		int v = 0;
		socklen_t len = sizeof(v);

		if (getsockopt(route, SOL_NETLINK, flags[i], &v, &len) || v != 1)
			fail("netlink option %d is %d after restore (%m)", flags[i], v);
	}
	groups_of(route, after);
	if (memcmp(before, after, sizeof(before)))
		fail("groups %x %x %x, were %x %x %x", after[0], after[1], after[2], before[0], before[1], before[2]);
	send_recv(conn, CONN_PORTID, peer, "to the peer");
	send_recv2(mc, MC_PORTID, peer, mcpeer, "to both");
	pass();
}
