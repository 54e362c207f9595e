/*
 * IPv4 and IPv6 addresses of the net namespace's links. IPv6 addresses
 * are restored with IFA_F_NODAD, so they are usable at once; kernel-made
 * link-local ones (fe80::, from the restored MAC) are restored as well,
 * before the link goes up, and the kernel's own attempt then finds them.
 * IPv6 addresses with a lifetime (autoconf, privacy) are the router's to
 * give again and are not saved. The kernel makes an IPv6 address's local
 * route from a work queue once its link is up: net_addrs_wait() waits for
 * those, or the tree's first packets to itself (cr's own, requeueing a
 * socket's datagrams) would be lost.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "cleanup.h"
#include "log.h"
#include "ns-net-priv.h"

/* The flags an address is made with; the others are the kernel's state (tentative, ...). */
#define ADDR_FLAGS_RESTORED	(IFA_F_NODAD | IFA_F_OPTIMISTIC | IFA_F_HOMEADDRESS | \
				 IFA_F_NOPREFIXROUTE | IFA_F_MANAGETEMPADDR | IFA_F_MCAUTOJOIN)

static size_t family_len(uint32_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static const char *addr_str(uint32_t family, const ProtobufCBinaryData *b, char *buf, size_t sz)
{
	if (b->len != family_len(family) || !inet_ntop(family, b->data, buf, sz))
		snprintf(buf, sz, "(a %zu-byte address)", b->len);
	return buf;
}

static void set_bytes(ProtobufCBinaryData *b, protobuf_c_boolean *has, struct nl_addr *a)
{
	if (!a || !nl_addr_get_len(a))
		return;
	b->data = nl_addr_get_binary_addr(a);
	b->len = nl_addr_get_len(a);
	*has = true;
}

struct addr_walk {
	struct nl_cache *links;
	struct img *img;
	int ret;
};

static void addr_dump_one(struct nl_object *o, void *arg)
{
	struct addr_walk *w = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)o;
	NetAddr na = NET_ADDR__INIT;
	protobuf_c_boolean has_local = false;

	if (w->ret)
		return;
	na.family = rtnl_addr_get_family(a);
	if (!family_len(na.family))
		return;
	na.flags = rtnl_addr_get_flags(a);
	na.ifname = (char *)net_link_name(w->links, rtnl_addr_get_ifindex(a));
	if (!na.ifname) {
		w->ret = pr_errno(-ENODEV, "net: an address on link %d, which is not listed",
				  rtnl_addr_get_ifindex(a));
		return;
	}
	if (na.family == AF_INET6 && (na.flags & IFA_F_TEMPORARY || !(na.flags & IFA_F_PERMANENT))) {
		pr_info("net: link %s: an IPv6 address with a lifetime is not saved", na.ifname);
		return;
	}
	set_bytes(&na.local, &has_local, rtnl_addr_get_local(a));
	set_bytes(&na.peer, &na.has_peer, rtnl_addr_get_peer(a));
	set_bytes(&na.broadcast, &na.has_broadcast, rtnl_addr_get_broadcast(a));
	if (!has_local) {
		w->ret = pr_errno(-EINVAL, "net: link %s: an address without a local address",
				  na.ifname);
		return;
	}
	na.prefixlen = rtnl_addr_get_prefixlen(a);
	na.scope = rtnl_addr_get_scope(a);
	if (na.family == AF_INET)
		na.label = (char *)rtnl_addr_get_label(a);
	w->ret = net_obj_write(w->img, NET_OBJ_ADDR, &na);
}

int net_addrs_dump(struct nl_sock *sk, struct nl_cache *links, struct img *img)
{
	struct addr_walk w = { .links = links, .img = img };
	struct nl_cache *addrs = NULL;
	int err;

	err = rtnl_addr_alloc_cache(sk, &addrs);
	if (err < 0) {
		pr_err("net: listing the addresses of the net namespace: %s", nl_geterror(err));
		return -EIO;
	}
	nl_cache_foreach(addrs, addr_dump_one, &w);
	nl_cache_free(addrs);
	return w.ret;
}

int net_addrs_check(const struct netns_img *n)
{
	for (size_t i = 0; i < n->nr_addrs; i++) {
		const NetAddr *a = n->addrs[i];
		size_t len = family_len(a->family);

		if (!len || a->local.len != len || (a->has_peer && a->peer.len != len) ||
		    (a->has_broadcast && a->broadcast.len != len) || a->prefixlen > len * 8 ||
		    a->scope > 255) {
			pr_err("netns.img: address %zu (on %s) is malformed", i, a->ifname);
			return -EBADMSG;
		}
		if (!net_link_find(n, a->ifname)) {
			pr_err("netns.img: an address on link %s, which the image does not have",
			       a->ifname);
			return -EBADMSG;
		}
	}
	return 0;
}

static int addr_msg(const NetAddr *a, int ifindex, struct nl_msg **ret)
{
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	uint32_t flags = a->flags & ADDR_FLAGS_RESTORED;
	struct ifaddrmsg ifa = {
		.ifa_family = a->family,
		.ifa_prefixlen = a->prefixlen,
		.ifa_scope = a->scope,
		.ifa_index = ifindex,
	};
	const ProtobufCBinaryData *dst = a->has_peer ? &a->peer : &a->local;

	if (!msg)
		return -ENOMEM;
	if (a->family == AF_INET6)
		flags |= IFA_F_NODAD;	/* usable at once, not tentative for a second */
	ifa.ifa_flags = flags & 0xff;
	if (nlmsg_append(msg, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
	    nla_put(msg, IFA_LOCAL, a->local.len, a->local.data) < 0 ||
	    nla_put(msg, IFA_ADDRESS, dst->len, dst->data) < 0 ||
	    nla_put_u32(msg, IFA_FLAGS, flags) < 0 ||
	    (a->label && nla_put_string(msg, IFA_LABEL, a->label) < 0) ||
	    (a->has_broadcast && nla_put(msg, IFA_BROADCAST, a->broadcast.len, a->broadcast.data) < 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	*ret = msg;
	return 0;
}

int net_addrs_restore(const struct netns_img *n, struct nl_sock *sk)
{
	for (size_t i = 0; i < n->nr_addrs; i++) {
		const NetAddr *a = n->addrs[i];
		int idx = net_ifindex(a->ifname, "adding an address");
		struct nl_msg *msg;
		char buf[INET6_ADDRSTRLEN + 32];
		int ret;

		if (idx < 0)
			return idx;
		ret = addr_msg(a, idx, &msg);
		if (!ret)
			ret = net_nl_request(sk, msg);
		/* The kernel's own (the loopback's 127.0.0.1, a link-local) came first: the same. */
		if (ret == -EEXIST) {
			pr_debug("net: link %s: %s/%u is there already", a->ifname,
				 addr_str(a->family, &a->local, buf, sizeof(buf)), a->prefixlen);
			continue;
		}
		if (ret)
			return pr_errno(ret, "net: link %s: adding address %s/%u", a->ifname,
					addr_str(a->family, &a->local, buf, sizeof(buf)), a->prefixlen);
	}
	return 0;
}

/* Whether the kernel now routes @a's local address to this host (ip route get: type local). */
static int routed_locally(int nl, const NetAddr *a, bool *ret)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg r;
		char attrs[64];
	} req = { 0 };
	char buf[4096];
	struct rtattr *rta;
	ssize_t n;

	req.h.nlmsg_type = RTM_GETROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST;
	req.r.rtm_family = a->family;
	req.r.rtm_dst_len = a->local.len * 8;
	rta = (struct rtattr *)req.attrs;
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(a->local.len);
	memcpy(RTA_DATA(rta), a->local.data, a->local.len);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.r)) + RTA_ALIGN(rta->rta_len);
	if (send(nl, &req, req.h.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(nl, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == RTM_NEWROUTE) {
			*ret = ((struct rtmsg *)NLMSG_DATA(h))->rtm_type == RTN_LOCAL;
			return 0;
		}
		if (h->nlmsg_type == NLMSG_ERROR) {
			*ret = false;	/* no route yet (ENETUNREACH) */
			return 0;
		}
	}
	return -EBADMSG;
}

static bool link_is_up(int fd, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	return !ioctl(fd, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
}

#define ADDR_ROUTE_WAIT_MS	2000

int net_addrs_wait(const struct netns_img *n)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	_cleanup_close_ int ifd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (nl < 0 || ifd < 0)
		return pr_errno(-errno, "net: a socket to wait for the addresses' routes");
	for (size_t i = 0; i < n->nr_addrs; i++) {
		const NetAddr *a = n->addrs[i];
		char s[INET6_ADDRSTRLEN + 32];
		bool local = false;
		int err = 0;

		if (!link_is_up(ifd, a->ifname))
			continue;
		for (int ms = 0; !err && !local && ms <= ADDR_ROUTE_WAIT_MS; ms += 2) {
			if (ms)
				nanosleep(&(struct timespec){ 0, 2 * 1000 * 1000 }, NULL);
			err = routed_locally(nl, a, &local);
		}
		if (err)
			return pr_errno(err, "net: link %s: looking up the route of %s", a->ifname,
					addr_str(a->family, &a->local, s, sizeof(s)));
		if (!local)
			return pr_errno(-ETIMEDOUT, "net: link %s: the kernel made no local route for %s in %d ms",
					a->ifname, addr_str(a->family, &a->local, s, sizeof(s)), ADDR_ROUTE_WAIT_MS);
	}
	return 0;
}
