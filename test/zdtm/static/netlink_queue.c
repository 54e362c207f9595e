/*
 * Netlink sockets with messages waiting in their receive queues: a
 * NETLINK_USERSOCK socket with two messages from a peer of the tree (port
 * ids of their choosing), and a NETLINK_ROUTE socket with the kernel's
 * answer to an RTM_GETLINK dump request not read yet.
 *
 * Not supported: netlink has no SO_PEEK_OFF, so cr could read all but the
 * first only by taking them, and could not send them again as they came
 * (the kernel's from no socket at all, the peer's from the peer's port
 * id). The dump is refused and the tree runs on; then the messages are
 * all there, in order, from their senders.
 *
 * zdtm: refused: netlink
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define RCV_PORTID	0x7ffe4321
#define SND_PORTID	0x7ffe4322

struct msg {
	struct nlmsghdr h;
	char text[32];
};

static int bound(int proto, unsigned portid)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = portid };
	int fd = socket(AF_NETLINK, SOCK_RAW, proto);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("netlink socket of protocol %d bound to %u", proto, portid);
	return fd;
}

static void send_text(int fd, const char *text)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = RCV_PORTID };
	struct msg m = { .h = { .nlmsg_len = sizeof(m), .nlmsg_type = NLMSG_MIN_TYPE + 1 } };

	strcpy(m.text, text);
	if (sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&to, sizeof(to)) != sizeof(m))
		fail_errno("sending '%s'", text);
}

static void expect_text(int fd, const char *text)
{
	struct sockaddr_nl from;
	socklen_t len = sizeof(from);
	struct msg m;
	ssize_t n = recvfrom(fd, &m, sizeof(m), MSG_DONTWAIT, (struct sockaddr *)&from, &len);

	if (n != sizeof(m) || strcmp(m.text, text) || from.nl_pid != SND_PORTID)
		fail("expected '%s' from port id %u, got %zd bytes from %u (%m)", text, SND_PORTID, n, from.nl_pid);
}

int main(int argc, char **argv)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 42 } };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }, from;
	socklen_t len = sizeof(from);
	char buf[32768];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int rcv, snd, route;
	ssize_t n;

	test_init(argc, argv);
	rcv = bound(NETLINK_USERSOCK, RCV_PORTID);
	snd = bound(NETLINK_USERSOCK, SND_PORTID);
	route = bound(NETLINK_ROUTE, 0);
	send_text(snd, "first");
	send_text(snd, "second");
	if (sendto(route, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) != sizeof(req))
		fail_errno("RTM_GETLINK request");

	test_ready();
	test_wait_checkpoint();

	expect_text(rcv, "first");
	expect_text(rcv, "second");
	n = recvfrom(route, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &len);
	if (n < (ssize_t)sizeof(*h) || from.nl_pid != 0 || h->nlmsg_seq != 42 || h->nlmsg_type != RTM_NEWLINK)
		fail("the kernel's answer to RTM_GETLINK is not there (%zd bytes, %m)", n);
	pass();
}
