/*
 * Netlink sockets: a NETLINK_ROUTE socket bound by the kernel (port id
 * 0 asked) to the link and IPv4 address multicast groups, with
 * NETLINK_EXT_ACK and NETLINK_NO_ENOBUFS set and a group above 32 joined
 * (RTNLGRP_STATS, through NETLINK_ADD_MEMBERSHIP); a second
 * NETLINK_ROUTE socket bound to a port id of its choosing; one never
 * bound; a NETLINK_KOBJECT_UEVENT socket on its group 1.
 *
 * After restore each has its port id, groups and options again, and
 * the route sockets still talk to the kernel: an RTM_GETLINK dump
 * request gets its answer, on the socket's own port id.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define HIGH_GROUP	RTNLGRP_STATS	/* 36: above the bind's 32 */
#define MY_PORTID	0x7ffe1234

static int route, chosen, unbound, uevent;
static struct sockaddr_nl route_addr, chosen_addr, uevent_addr;

static void bound(int fd, struct sockaddr_nl *sa, const char *what)
{
	socklen_t len = sizeof(*sa);

	if (bind(fd, (struct sockaddr *)sa, sizeof(*sa)) || getsockname(fd, (struct sockaddr *)sa, &len))
		fail_errno("%s: bind", what);
}

static void check_addr(int fd, const struct sockaddr_nl *want, const char *what)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len))
		fail_errno("%s: getsockname", what);
	if (sa.nl_pid != want->nl_pid || sa.nl_groups != want->nl_groups)
		fail("%s: port id %u groups 0x%x, expected %u and 0x%x", what, sa.nl_pid, sa.nl_groups,
		     want->nl_pid, want->nl_groups);
}

static void check_opt(int fd, int opt, int want, const char *name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_NETLINK, opt, &v, &len) || v != want)
		fail("%s is %d, expected %d", name, v, want);
}

/* An RTM_GETLINK dump: the first answer comes to the socket's port id. */
static void ask_links(int fd, uint32_t portid, const char *what)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 7 },
		.i = { .ifi_family = AF_UNSPEC },
	};
	char buf[16384];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;

	if (send(fd, &req, sizeof(req), 0) != sizeof(req))
		fail_errno("%s: RTM_GETLINK", what);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < (ssize_t)sizeof(*h) || h->nlmsg_seq != 7 || h->nlmsg_pid != portid ||
	    (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != NLMSG_DONE))
		fail("%s: no answer to RTM_GETLINK for port id %u (%zd bytes, %m)", what, portid, n);
	/* The rest of the dump. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int main(int argc, char **argv)
{
	int one = 1, high = HIGH_GROUP;
	uint32_t groups[4] = { 0 };
	socklen_t len = sizeof(groups);

	test_init(argc, argv);
	route = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	chosen = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	unbound = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	uevent = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
	if (route < 0 || chosen < 0 || unbound < 0 || uevent < 0)
		fail_errno("socket");
	route_addr = (struct sockaddr_nl){ .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR };
	bound(route, &route_addr, "route");
	if (setsockopt(route, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one)) ||
	    setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &high, sizeof(high)))
		fail_errno("route: options");
	chosen_addr = (struct sockaddr_nl){ .nl_family = AF_NETLINK, .nl_pid = MY_PORTID };
	bound(chosen, &chosen_addr, "chosen port id");
	uevent_addr = (struct sockaddr_nl){ .nl_family = AF_NETLINK, .nl_groups = 1 };
	bound(uevent, &uevent_addr, "uevent");
	ask_links(route, route_addr.nl_pid, "route before");

	test_ready();
	test_wait_checkpoint();

	check_addr(route, &route_addr, "route");
	check_addr(chosen, &chosen_addr, "chosen port id");
	check_addr(uevent, &uevent_addr, "uevent");
	{
		struct sockaddr_nl none = { .nl_family = AF_NETLINK };

		check_addr(unbound, &none, "unbound");
	}
	check_opt(route, NETLINK_EXT_ACK, 1, "NETLINK_EXT_ACK");
	check_opt(route, NETLINK_NO_ENOBUFS, 1, "NETLINK_NO_ENOBUFS");
	if (getsockopt(route, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &len))
		fail_errno("NETLINK_LIST_MEMBERSHIPS");
	if (groups[0] != (RTMGRP_LINK | RTMGRP_IPV4_IFADDR) || !(groups[(HIGH_GROUP - 1) / 32] & (1u << ((HIGH_GROUP - 1) % 32))))
		fail("route: groups 0x%x 0x%x after restore", groups[0], groups[1]);
	ask_links(route, route_addr.nl_pid, "route after restore");
	ask_links(chosen, MY_PORTID, "chosen port id after restore");
	pass();
}
