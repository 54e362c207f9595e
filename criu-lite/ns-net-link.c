/*
 * Links of the net namespace: the loopback and veth pairs. A veth whose
 * peer is in the namespace too is restored as a pair there; one whose
 * peer is outside (IFLA_LINK_NETNSID, the host end of a container's
 * veth) is external: restore creates the pair with the peer in cr's own
 * namespace, under the name --external veth[IFNAME]:HOSTIF gives.
 */
#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "cleanup.h"
#include "log.h"
#include "ns-net-priv.h"

/* The link flags a restore sets; the others are the kernel's (RUNNING, LOWER_UP, ...). */
#define LINK_FLAGS_RESTORED	(IFF_UP | IFF_NOARP | IFF_PROMISC | IFF_ALLMULTI | IFF_MULTICAST)
/* MAX_ADDR_LEN of netdevice.h */
#define LINK_ADDR_MAX		32

static const char *link_kind_name(uint32_t kind)
{
	return kind == NET_LINK_LOOPBACK ? "loopback" : kind == NET_LINK_VETH ? "veth" : "unknown";
}

/*
 * Fills @nl from @l, a link of @links. Returns 0, or -EOPNOTSUPP for a
 * kind of link the restore cannot make (logged, naming it).
 */
static int link_dump_one(struct nl_cache *links, struct rtnl_link *l, NetLink *nl,
			 uint8_t *mac)
{
	const char *type = rtnl_link_get_type(l);
	struct nl_addr *a = rtnl_link_get_addr(l);
	int32_t nsid;

	nl->name = (char *)rtnl_link_get_name(l);
	nl->ifindex = rtnl_link_get_ifindex(l);
	nl->flags = rtnl_link_get_flags(l);
	nl->mtu = rtnl_link_get_mtu(l);
	nl->txqlen = rtnl_link_get_txqlen(l);
	if (a && nl_addr_get_len(a) && nl_addr_get_len(a) <= LINK_ADDR_MAX) {
		memcpy(mac, nl_addr_get_binary_addr(a), nl_addr_get_len(a));
		nl->has_address = true;
		nl->address.data = mac;
		nl->address.len = nl_addr_get_len(a);
	}

	if (!type && rtnl_link_get_arptype(l) == ARPHRD_LOOPBACK) {
		nl->kind = NET_LINK_LOOPBACK;
		return 0;
	}
	if (type && !strcmp(type, "veth")) {
		nl->kind = NET_LINK_VETH;
		/* The peer's ifindex is the other namespace's when the netnsid is set. */
		if (rtnl_link_get_link_netnsid(l, &nsid) == 0)
			nl->peer = NULL;
		else
			nl->peer = (char *)net_link_name(links, rtnl_link_get_link(l));
		nl->has_external = true;
		nl->external = !nl->peer;
		if (nl->external)
			pr_info("net: veth %s: its peer is outside the namespace (external)", nl->name);
		return 0;
	}
	if (type)
		pr_err("net: link %s: links of kind %s cannot be dumped (only loopback and veth)",
		       nl->name, type);
	else
		pr_err("net: link %s: a link without a kind (arp type %u) cannot be dumped "
		       "(only loopback and veth)", nl->name, rtnl_link_get_arptype(l));
	return -EOPNOTSUPP;
}

int net_links_dump(struct nl_cache *links, struct img *img)
{
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		NetLink nl = NET_LINK__INIT;
		uint8_t mac[LINK_ADDR_MAX];
		int ret;

		ret = link_dump_one(links, (struct rtnl_link *)o, &nl, mac);
		if (!ret)
			ret = net_obj_write(img, NET_OBJ_LINK, &nl);
		if (ret)
			return ret;
	}
	return 0;
}

static int link_check_one(const struct cr_options *o, struct netns_img *n, size_t i)
{
	NetLink *l = n->links[i], *p;
	size_t len = strlen(l->name);

	if (!len || len >= IFNAMSIZ || strchr(l->name, '/') || !strcmp(l->name, ".") ||
	    !strcmp(l->name, "..")) {
		pr_err("netns.img: link name \"%s\" is not an interface name", l->name);
		return -EBADMSG;
	}
	if (net_link_find(n, l->name) != l) {
		pr_err("netns.img: link %s appears twice", l->name);
		return -EBADMSG;
	}
	if (l->has_address && l->address.len > LINK_ADDR_MAX) {
		pr_err("netns.img: link %s: a %zu-byte link address", l->name, l->address.len);
		return -EBADMSG;
	}
	switch (l->kind) {
	case NET_LINK_LOOPBACK:
		for (size_t j = 0; j < i; j++)
			if (n->links[j]->kind == NET_LINK_LOOPBACK) {
				pr_err("netns.img: two loopback links, %s and %s",
				       n->links[j]->name, l->name);
				return -EBADMSG;
			}
		return 0;
	case NET_LINK_VETH:
		break;
	default:
		pr_err("netns.img: link %s of unknown kind %u", l->name, l->kind);
		return -EBADMSG;
	}
	if (l->peer) {
		p = net_link_find(n, l->peer);
		if (!p || p == l || p->kind != NET_LINK_VETH || !p->peer || strcmp(p->peer, l->name)) {
			pr_err("netns.img: veth %s: its peer %s is not a veth paired with it",
			       l->name, l->peer);
			return -EBADMSG;
		}
		return 0;
	}
	/* External: the user says where the other end goes, before anything is made. */
	n->hosts[i] = (char *)cr_external_lookup(o, "veth", l->name);
	if (!n->hosts[i]) {
		pr_err("net: veth %s: its peer was outside the net namespace; "
		       "pass --external veth[%s]:HOSTIF to name the host end to create",
		       l->name, l->name);
		return -ENOENT;
	}
	len = strlen(n->hosts[i]);
	if (!len || len >= IFNAMSIZ || strchr(n->hosts[i], '/')) {
		pr_err("net: --external veth[%s]:%s: \"%s\" is not an interface name",
		       l->name, n->hosts[i], n->hosts[i]);
		return -EINVAL;
	}
	return 0;
}

int net_links_check(const struct cr_options *o, struct netns_img *n)
{
	n->hosts = xzalloc((n->nr_links + 1) * sizeof(*n->hosts));
	if (!n->hosts)
		return -ENOMEM;
	for (size_t i = 0; i < n->nr_links; i++) {
		int ret = link_check_one(o, n, i);

		if (ret)
			return ret;
	}
	return 0;
}

static void nl_msg_freep(struct nl_msg **m) { if (*m) nlmsg_free(*m); }
#define _cleanup_nlmsg_ _cleanup_(nl_msg_freep)

static int put_ifinfo(struct nl_msg *msg, int ifindex, unsigned flags, unsigned change)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = flags,
		.ifi_change = change,
	};

	return nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ? -EMSGSIZE : 0;
}

/* What a link is made with: its name, MTU, txqlen and MAC. */
static int put_link_attrs(struct nl_msg *msg, const NetLink *l)
{
	if (nla_put_string(msg, IFLA_IFNAME, l->name) < 0 ||
	    nla_put_u32(msg, IFLA_MTU, l->mtu) < 0 ||
	    nla_put_u32(msg, IFLA_TXQLEN, l->txqlen) < 0)
		return -EMSGSIZE;
	if (l->has_address && nla_put(msg, IFLA_ADDRESS, l->address.len, l->address.data) < 0)
		return -EMSGSIZE;
	return 0;
}

/*
 * The request that makes veth @l with its peer: @p, or (external) the
 * host end @host in @host_netns. With @keep_index, both ends inside get
 * their dumped ifindexes.
 */
static int veth_msg(const NetLink *l, const NetLink *p, const char *host, int host_netns,
		    bool keep_index, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *peer;

	if (!msg)
		return -ENOMEM;
	if (put_ifinfo(msg, keep_index ? l->ifindex : 0, 0, 0) || put_link_attrs(msg, l))
		return -EMSGSIZE;
	info = nla_nest_start(msg, IFLA_LINKINFO);
	if (!info || nla_put_string(msg, IFLA_INFO_KIND, "veth") < 0)
		return -EMSGSIZE;
	data = nla_nest_start(msg, IFLA_INFO_DATA);
	peer = data ? nla_nest_start(msg, VETH_INFO_PEER) : NULL;
	if (!peer)
		return -EMSGSIZE;
	if (p) {
		if (put_ifinfo(msg, keep_index ? p->ifindex : 0, 0, 0) || put_link_attrs(msg, p))
			return -EMSGSIZE;
	} else {
		if (put_ifinfo(msg, 0, 0, 0) || nla_put_string(msg, IFLA_IFNAME, host) < 0 ||
		    nla_put_u32(msg, IFLA_MTU, l->mtu) < 0 ||
		    nla_put_u32(msg, IFLA_NET_NS_FD, host_netns) < 0)
			return -EMSGSIZE;
	}
	nla_nest_end(msg, peer);
	nla_nest_end(msg, data);
	nla_nest_end(msg, info);
	*ret = TAKE_PTR(msg);
	return 0;
}

static int veth_create(struct nl_sock *sk, const NetLink *l, const NetLink *p,
		       const char *host, int host_netns)
{
	struct nl_msg *msg;
	int ret;

	for (int keep = 1; keep >= 0; keep--) {
		ret = veth_msg(l, p, host, host_netns, keep, &msg);
		if (ret)
			return pr_errno(ret, "net: building the request for veth %s", l->name);
		ret = net_nl_request(sk, msg);
		/* An ifindex already taken; new kernels take any free one. */
		if (keep && ret == -EBUSY) {
			pr_warn("net: veth %s: ifindex %u (or its peer's) is taken, the kernel picks one",
				l->name, l->ifindex);
			continue;
		}
		break;
	}
	if (ret && host)
		return pr_errno(ret, "net: creating veth %s with its host end %s", l->name, host);
	if (ret)
		return pr_errno(ret, "net: creating the veth pair %s, %s", l->name, p->name);
	return 0;
}

/* A new namespace has its loopback already: it is changed, not made. */
static int loopback_set(struct nl_sock *sk, const NetLink *l)
{
	_cleanup_nlmsg_ struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	int idx = net_ifindex("lo", "the new namespace's loopback");
	int ret;

	if (idx < 0)
		return idx;
	if (!msg)
		return -ENOMEM;
	if ((unsigned)idx != l->ifindex)
		pr_warn("net: loopback %s had ifindex %u, the kernel gives it %d",
			l->name, l->ifindex, idx);
	if (put_ifinfo(msg, idx, 0, 0) || nla_put_string(msg, IFLA_IFNAME, l->name) < 0 ||
	    nla_put_u32(msg, IFLA_MTU, l->mtu) < 0 || nla_put_u32(msg, IFLA_TXQLEN, l->txqlen) < 0)
		return pr_errno(-EMSGSIZE, "net: building the request for loopback %s", l->name);
	ret = net_nl_request(sk, TAKE_PTR(msg));
	if (ret)
		return pr_errno(ret, "net: setting loopback %s (mtu %u, txqlen %u)",
				l->name, l->mtu, l->txqlen);
	return 0;
}

int net_links_create(const struct netns_img *n, struct nl_sock *sk, int host_netns)
{
	_cleanup_free_ bool *made = xzalloc(n->nr_links + 1);
	int ret = 0;

	if (!made)
		return -ENOMEM;
	for (size_t i = 0; i < n->nr_links && !ret; i++) {
		const NetLink *l = n->links[i];
		const NetLink *p = l->peer ? net_link_find(n, l->peer) : NULL;

		if (made[i])
			continue;
		made[i] = true;
		if (l->kind == NET_LINK_LOOPBACK) {
			ret = loopback_set(sk, l);
			continue;
		}
		ret = veth_create(sk, l, p, n->hosts[i], host_netns);
		for (size_t j = i + 1; p && j < n->nr_links; j++)
			if (n->links[j] == p)
				made[j] = true;
	}
	return ret;
}

int net_links_up(const struct netns_img *n, struct nl_sock *sk)
{
	for (size_t i = 0; i < n->nr_links; i++) {
		const NetLink *l = n->links[i];
		_cleanup_nlmsg_ struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
		int idx = net_ifindex(l->name, "setting its flags");
		int ret;

		if (idx < 0)
			return idx;
		if (!msg || put_ifinfo(msg, idx, l->flags & LINK_FLAGS_RESTORED, LINK_FLAGS_RESTORED))
			return pr_errno(-ENOMEM, "net: building the request for link %s", l->name);
		ret = net_nl_request(sk, TAKE_PTR(msg));
		if (ret)
			return pr_errno(ret, "net: %s link %s: setting flags %#x",
					link_kind_name(l->kind), l->name, l->flags & LINK_FLAGS_RESTORED);
	}
	return 0;
}

void net_links_undo(const struct netns_img *n, struct nl_sock *sk)
{
	for (size_t i = 0; i < n->nr_links; i++) {
		_cleanup_nlmsg_ struct nl_msg *msg = NULL;
		int ret;

		if (!n->hosts[i] || !if_nametoindex(n->links[i]->name))
			continue;
		msg = nlmsg_alloc_simple(RTM_DELLINK, 0);
		if (!msg || put_ifinfo(msg, 0, 0, 0) ||
		    nla_put_string(msg, IFLA_IFNAME, n->links[i]->name) < 0)
			continue;
		/* Deleting our end deletes the host's: the pair goes together. */
		ret = net_nl_request(sk, TAKE_PTR(msg));
		if (ret)
			pr_errno(ret, "net: removing veth %s (its host end %s stays until the "
				 "namespace goes)", n->links[i]->name, n->hosts[i]);
	}
}
