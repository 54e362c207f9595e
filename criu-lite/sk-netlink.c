/*
 * Netlink sockets (AF_NETLINK): the protocol, the port id the socket is
 * bound to (given by the kernel or chosen), its multicast groups, the
 * peer it is connected to, its SOL_NETLINK flags, buffer sizes and
 * filter. Restore makes the socket and binds it to the same port id and
 * groups, so the kernel's (or a peer's) messages find it again.
 *
 * A socket with messages in its receive queue is refused, for every
 * protocol (NETLINK_USERSOCK too): netlink has no SO_PEEK_OFF, so cr can
 * read the first message only without taking it off the queue, and the
 * tree must keep them when the dump fails or leaves it running; and a
 * message sent again would not be the same one: the kernel's (port id 0)
 * come from no socket cr can make, a peer's would have to come from the
 * peer's port id, which its own restored socket holds. The refusal names
 * the first message's sender and the bytes queued. (The CRIU sources
 * read for this refuse such a socket too: "The socket has data to
 * read".)
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "log.h"
#include "sk-filter.h"
#include "sk-netns.h"
#include "sk-opts.h"

#ifndef NETLINK_LIST_MEMBERSHIPS
#define NETLINK_LIST_MEMBERSHIPS 9
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK	12
#endif

/* Group words NETLINK_LIST_MEMBERSHIPS gives at most (a family has up to 32 * this groups). */
#define NL_GROUP_WORDS	64

#define NL_OPT(o, set_o, fl, field)							\
	SK_OPT_INT_ROW(NetlinkSkEntry, SOL_NETLINK, o, set_o, SK_SET_CHANGED, fl, field,	\
		       SK_OPT_HAS(NetlinkSkEntry, field))
static const struct sk_opt nl_opts[] = {
	SK_OPT_INT_ROW(NetlinkSkEntry, SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, SK_SET_CHANGED, SK_OPT_HALF, rcvbuf,
		       SK_OPT_HAS(NetlinkSkEntry, rcvbuf)),
	SK_OPT_INT_ROW(NetlinkSkEntry, SOL_SOCKET, SO_SNDBUF, SO_SNDBUFFORCE, SK_SET_CHANGED, SK_OPT_HALF, sndbuf,
		       SK_OPT_HAS(NetlinkSkEntry, sndbuf)),
	NL_OPT(NETLINK_PKTINFO, NETLINK_PKTINFO, 0, pktinfo),
	NL_OPT(NETLINK_BROADCAST_ERROR, NETLINK_BROADCAST_ERROR, 0, broadcast_error),
	NL_OPT(NETLINK_NO_ENOBUFS, NETLINK_NO_ENOBUFS, 0, no_enobufs),
	NL_OPT(NETLINK_LISTEN_ALL_NSID, NETLINK_LISTEN_ALL_NSID, 0, listen_all_nsid),
	NL_OPT(NETLINK_CAP_ACK, NETLINK_CAP_ACK, 0, cap_ack),
	NL_OPT(NETLINK_EXT_ACK, NETLINK_EXT_ACK, 0, ext_ack),
	NL_OPT(NETLINK_GET_STRICT_CHK, NETLINK_GET_STRICT_CHK, 0, get_strict_chk),
};
#undef NL_OPT

/* ---- dump ---------------------------------------------------------------- */

static bool netlink_match(const struct fd_dump *d)
{
	static const char *const names[] = { "NETLINK", NULL };

	return sk_dump_proto_is(d, names);
}

static int dump_groups(const struct fd_dump *d, NetlinkSkEntry *e)
{
	uint32_t words[NL_GROUP_WORDS];
	socklen_t len = sizeof(words);
	size_t n;

	if (getsockopt(d->cr_fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): NETLINK_LIST_MEMBERSHIPS", d->pid, d->fd, d->link);
	/* The kernel says how much it has, which may be more than it copied. */
	if (len > sizeof(words))
		return files_refuse(d, "a netlink socket", "it is a member of more multicast groups than cr keeps");
	for (n = len / sizeof(words[0]); n && !words[n - 1]; n--)
		;
	if (!n)
		return 0;
	e->groups = xmalloc(n * sizeof(*e->groups));
	if (!e->groups)
		return -ENOMEM;
	memcpy(e->groups, words, n * sizeof(*e->groups));
	e->n_groups = n;
	return 0;
}

/*
 * Refuses @d, whose receive queue is not empty: names the first
 * message's sender and type and the bytes queued (the kernel's count, with
 * its overhead).
 */
static int refuse_queued(const struct fd_dump *d, const NetlinkSkEntry *e)
{
	struct nlmsghdr h = { 0 };
	struct sockaddr_nl from = { 0 };
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
	uint32_t mi[SK_MEMINFO_VARS] = { 0 };
	socklen_t len = sizeof(mi);
	char why[256], sender[48];
	ssize_t n = recvmsg(d->cr_fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): peeking at its first queued message", d->pid, d->fd,
				d->link);
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): SO_MEMINFO", d->pid, d->fd, d->link);
	if (from.nl_pid)
		snprintf(sender, sizeof(sender), "port id %u", from.nl_pid);
	else
		snprintf(sender, sizeof(sender), "the kernel");
	snprintf(why, sizeof(why),
		 "protocol %u, port id %u: messages wait in its receive queue (%u bytes; the first from %s, "
		 "type %u%s), and cr can neither read them without taking them nor send them again as they came",
		 e->protocol, e->portid, mi[SK_MEMINFO_RMEM_ALLOC], sender, (unsigned)h.nlmsg_type,
		 from.nl_groups ? ", to a multicast group" : "");
	return files_refuse(d, "a netlink socket", why);
}

static int netlink_dump(struct fd_dump *d, FileEntry *fe)
{
	NetlinkSkEntry *e = xmalloc(sizeof(*e));
	struct sockaddr_nl sa, peer;
	socklen_t len = sizeof(sa), plen = sizeof(peer);
	int type, proto, err;
	char c;

	if (!e)
		return -ENOMEM;
	netlink_sk_entry__init(e);
	fe->netlink_sk = e;
	err = sk_dump_netns_check(d, "a netlink socket");
	if (!err)
		err = sk_dump_getsockopt(d, SOL_SOCKET, SO_TYPE, "SO_TYPE", &type, sizeof(type));
	if (!err)
		err = sk_dump_getsockopt(d, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL", &proto, sizeof(proto));
	if (err)
		return err;
	e->type = type;
	e->protocol = proto;
	if (getsockname(d->cr_fd, (struct sockaddr *)&sa, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): getsockname", d->pid, d->fd, d->link);
	e->portid = sa.nl_pid;
	if (getpeername(d->cr_fd, (struct sockaddr *)&peer, &plen) == 0 && (peer.nl_pid || peer.nl_groups)) {
		e->has_dst_portid = e->has_dst_group = true;
		e->dst_portid = peer.nl_pid;
		e->dst_group = peer.nl_groups;
	}
	/* A peek takes nothing off the queue. */
	if (recv(d->cr_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
		return refuse_queued(d, e);
	if (errno != EAGAIN)
		return pr_errno(-errno, "pid %d: fd %d (%s): looking at its receive queue", d->pid, d->fd, d->link);
	err = dump_groups(d, e);
	if (!err)
		err = sk_opts_dump(d, nl_opts, ARRAY_SIZE(nl_opts), 0, e);
	if (!err)
		err = sk_filter_dump(d, &e->filter);
	if (!err)
		pr_info("pid %d: fd %d: netlink socket, protocol %d, port id %u, %zu group words", d->pid, d->fd, proto,
			e->portid, e->n_groups);
	return err;
}

static void netlink_free_entry(FileEntry *fe)
{
	NetlinkSkEntry *e = fe->netlink_sk;

	if (!e)
		return;
	free(e->groups);
	sk_filter_free(e->filter);
	free(e);
	fe->netlink_sk = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static int netlink_check(struct files_rst *rf, const FileEntry *fe)
{
	const NetlinkSkEntry *e = fe->netlink_sk;

	(void)rf;
	if (!e || (e->type != SOCK_RAW && e->type != SOCK_DGRAM) || e->n_groups > NL_GROUP_WORDS ||
	    sk_filter_check(e->filter))
		return pr_errno(-EBADMSG, "files.img: netlink socket file id %u is invalid", fe->id);
	return 0;
}

static int netlink_open(struct files_rst *rf, const FileEntry *fe)
{
	const NetlinkSkEntry *e = fe->netlink_sk;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = e->portid };
	_cleanup_close_ int fd = -EBADF;
	char what[48];
	int err;

	(void)rf;
	snprintf(what, sizeof(what), "file id %u (netlink socket)", fe->id);
	fd = socket(AF_NETLINK, e->type | SOCK_CLOEXEC, e->protocol);
	if (fd < 0)
		return pr_errno(-errno, "%s: socket of protocol %u", what, e->protocol);
	err = sk_opts_restore(fd, nl_opts, ARRAY_SIZE(nl_opts), 0, e, what);
	if (err)
		return err;
	/* The first 32 groups with the bind, any others one by one. */
	if (e->n_groups)
		sa.nl_groups = e->groups[0];
	if ((e->portid || sa.nl_groups) && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return pr_errno(-errno, "%s: bind to port id %u (protocol %u)", what, e->portid, e->protocol);
	for (size_t w = 1; w < e->n_groups; w++)
		for (unsigned b = 0; b < 32; b++) {
			int g = w * 32 + b + 1;

			if ((e->groups[w] & (1u << b)) &&
			    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0)
				return pr_errno(-errno, "%s: joining multicast group %d", what, g);
		}
	if (e->has_dst_portid) {
		struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = e->dst_portid, .nl_groups = e->dst_group };

		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
			return pr_errno(-errno, "%s: connect to port id %u", what, e->dst_portid);
	}
	err = sk_filter_restore(fd, e->filter, what);
	return err ? err : TAKE_FD(fd);
}

const struct fd_kind fd_kind_netlink = {
	.kind = FILE_KIND__FILE_NETLINK_SK, .name = "netlink socket",
	.match = netlink_match, .dump = netlink_dump, .free_entry = netlink_free_entry,
	.check = netlink_check, .open = netlink_open,
};
