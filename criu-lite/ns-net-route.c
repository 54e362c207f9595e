/*
 * Routes of every table of the net namespace, IPv4 and IPv6. The
 * kernel's own are not saved, as it makes them again when the addresses
 * come back and the links go up: the local table (local and broadcast
 * addresses, IPv6 multicast and anycast) and the connected prefixes
 * (proto kernel); nor are those a router gave (proto ra, redirect).
 * Devices are saved by name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>

#include "cleanup.h"
#include "log.h"
#include "ns-net-priv.h"

/* A multipath route's nexthops at most (the kernel takes more; nobody writes more). */
#define ROUTE_NH_MAX		64
/* The nexthop flags a restore sets; DEAD, LINKDOWN, ... are the kernel's state. */
#define ROUTE_NH_FLAGS		RTNH_F_ONLINK

static size_t family_len(uint32_t family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* "10.0.0.0/24 table 254", for messages. */
static const char *route_str(const NetRoute *r, char *buf, size_t sz)
{
	char a[INET6_ADDRSTRLEN] = "default";

	if (r->has_dst && r->dst.len == family_len(r->family))
		inet_ntop(r->family, r->dst.data, a, sizeof(a));
	snprintf(buf, sz, "%s/%u table %u", a, r->dst_len, r->table);
	return buf;
}

static void set_bytes(ProtobufCBinaryData *b, protobuf_c_boolean *has, struct nl_addr *a)
{
	if (!a || !nl_addr_get_len(a) || nl_addr_iszero(a))
		return;
	b->data = nl_addr_get_binary_addr(a);
	b->len = nl_addr_get_len(a);
	*has = true;
}

/* Room for one route's sub-records while it is written. */
struct route_buf {
	NetMetric m[RTAX_MAX];
	NetMetric *mp[RTAX_MAX];
	NetNexthop nh[ROUTE_NH_MAX];
	NetNexthop *nhp[ROUTE_NH_MAX];
};

struct route_walk {
	struct nl_cache *links;
	struct img *img;
	struct route_buf *b;
	int ret;
};

static bool route_is_kernels(struct rtnl_route *r)
{
	uint8_t proto = rtnl_route_get_protocol(r);

	return rtnl_route_get_table(r) == RT_TABLE_LOCAL || proto == RTPROT_KERNEL ||
	       proto == RTPROT_RA || proto == RTPROT_REDIRECT ||
	       (rtnl_route_get_flags(r) & RTM_F_CLONED);
}

/* Fills @nr's metrics and nexthops from @r; 0 or -errno (logged). */
static int route_dump_parts(struct route_walk *w, struct rtnl_route *r, NetRoute *nr)
{
	struct route_buf *b = w->b;
	char buf[INET6_ADDRSTRLEN + 32];
	int nnh = rtnl_route_get_nnexthops(r);
	uint32_t v;

	for (int k = 1; k <= RTAX_MAX; k++) {
		if (rtnl_route_get_metric(r, k, &v))
			continue;
		/* Its value is a name, which libnl reads as a number. */
		if (k == RTAX_CC_ALGO) {
			pr_err("net: route %s: a congestion control (RTAX_CC_ALGO) cannot be dumped",
			       route_str(nr, buf, sizeof(buf)));
			return -EOPNOTSUPP;
		}
		net_metric__init(&b->m[nr->n_metrics]);
		b->m[nr->n_metrics].key = k;
		b->m[nr->n_metrics].value = v;
		b->mp[nr->n_metrics] = &b->m[nr->n_metrics];
		nr->n_metrics++;
	}
	nr->metrics = b->mp;

	if (nnh > ROUTE_NH_MAX) {
		pr_err("net: route %s: %d nexthops, more than %d", route_str(nr, buf, sizeof(buf)),
		       nnh, ROUTE_NH_MAX);
		return -EOPNOTSUPP;
	}
	for (int i = 0; i < nnh; i++) {
		struct rtnl_nexthop *h = rtnl_route_nexthop_n(r, i);
		NetNexthop *nh = &b->nh[i];
		int oif = rtnl_route_nh_get_ifindex(h);

		net_nexthop__init(nh);
		set_bytes(&nh->gateway, &nh->has_gateway, rtnl_route_nh_get_gateway(h));
		if (oif > 0) {
			nh->oif = (char *)net_link_name(w->links, oif);
			if (!nh->oif)
				return pr_errno(-ENODEV, "net: route %s: through link %d, which is "
						"not listed", route_str(nr, buf, sizeof(buf)), oif);
		}
		nh->weight = rtnl_route_nh_get_weight(h) + 1;
		nh->flags = rtnl_route_nh_get_flags(h) & ROUTE_NH_FLAGS;
		b->nhp[i] = nh;
	}
	nr->n_nexthops = nnh;
	nr->nexthops = b->nhp;
	return 0;
}

static void route_dump_one(struct nl_object *o, void *arg)
{
	struct route_walk *w = arg;
	struct rtnl_route *r = (struct rtnl_route *)o;
	struct nl_addr *dst = rtnl_route_get_dst(r), *src = rtnl_route_get_src(r);
	NetRoute nr = NET_ROUTE__INIT;
	uint32_t prio;

	if (w->ret)
		return;
	nr.family = rtnl_route_get_family(r);
	if (!family_len(nr.family) || route_is_kernels(r))
		return;
	nr.table = rtnl_route_get_table(r);
	nr.type = rtnl_route_get_type(r);
	nr.protocol = rtnl_route_get_protocol(r);
	nr.scope = rtnl_route_get_scope(r);
	nr.tos = rtnl_route_get_tos(r);
	nr.dst_len = dst ? nl_addr_get_prefixlen(dst) : 0;
	if (nr.dst_len)
		set_bytes(&nr.dst, &nr.has_dst, dst);
	nr.src_len = src ? nl_addr_get_prefixlen(src) : 0;
	if (nr.src_len)
		set_bytes(&nr.src, &nr.has_src, src);
	set_bytes(&nr.pref_src, &nr.has_pref_src, rtnl_route_get_pref_src(r));
	prio = rtnl_route_get_priority(r);
	nr.has_priority = true;
	nr.priority = prio;
	w->ret = route_dump_parts(w, r, &nr);
	if (!w->ret)
		w->ret = net_obj_write(w->img, NET_OBJ_ROUTE, &nr);
}

int net_routes_dump(struct nl_sock *sk, struct nl_cache *links, struct img *img)
{
	_cleanup_free_ struct route_buf *b = xzalloc(sizeof(*b));
	struct route_walk w = { .links = links, .img = img, .b = b };
	struct nl_cache *routes = NULL;
	int err;

	if (!b)
		return -ENOMEM;
	err = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &routes);
	if (err < 0) {
		pr_err("net: listing the routes of the net namespace: %s", nl_geterror(err));
		return -EIO;
	}
	nl_cache_foreach(routes, route_dump_one, &w);
	nl_cache_free(routes);
	return w.ret;
}

static bool bytes_ok(protobuf_c_boolean has, const ProtobufCBinaryData *b, size_t len)
{
	return !has || b->len == len;
}

static int route_check_one(const struct netns_img *n, const NetRoute *r)
{
	size_t len = family_len(r->family);
	char buf[INET6_ADDRSTRLEN + 32];

	if (!len || !bytes_ok(r->has_dst, &r->dst, len) || !bytes_ok(r->has_src, &r->src, len) ||
	    !bytes_ok(r->has_pref_src, &r->pref_src, len) || r->dst_len > len * 8 ||
	    r->src_len > len * 8 || !r->table || r->type > 255 || r->protocol > 255 ||
	    r->scope > 255 || r->tos > 255 || r->n_nexthops > ROUTE_NH_MAX)
		goto bad;
	for (size_t i = 0; i < r->n_metrics; i++)
		if (!r->metrics[i]->key || r->metrics[i]->key > RTAX_MAX ||
		    r->metrics[i]->key == RTAX_CC_ALGO)
			goto bad;
	for (size_t i = 0; i < r->n_nexthops; i++) {
		const NetNexthop *h = r->nexthops[i];

		if (!bytes_ok(h->has_gateway, &h->gateway, len) || !h->weight || h->weight > 256)
			goto bad;
		if (h->oif && !net_link_find(n, h->oif)) {
			pr_err("netns.img: route %s through link %s, which the image does not have",
			       route_str(r, buf, sizeof(buf)), h->oif);
			return -EBADMSG;
		}
	}
	return 0;
bad:
	pr_err("netns.img: route %s is malformed", route_str(r, buf, sizeof(buf)));
	return -EBADMSG;
}

int net_routes_check(const struct netns_img *n)
{
	for (size_t i = 0; i < n->nr_routes; i++) {
		int ret = route_check_one(n, n->routes[i]);

		if (ret)
			return ret;
	}
	return 0;
}

static int put_bytes(struct nl_msg *msg, int type, protobuf_c_boolean has, const ProtobufCBinaryData *b)
{
	return has && nla_put(msg, type, b->len, b->data) < 0 ? -EMSGSIZE : 0;
}

/* One nexthop inside RTA_MULTIPATH: a struct rtnexthop and its gateway. */
static int put_multipath_nh(struct nl_msg *msg, const NetNexthop *h, int oif)
{
	struct rtnexthop *rtnh = nlmsg_reserve(msg, sizeof(*rtnh), NLMSG_ALIGNTO);

	if (!rtnh)
		return -EMSGSIZE;
	rtnh->rtnh_flags = h->flags & ROUTE_NH_FLAGS;
	rtnh->rtnh_hops = h->weight - 1;
	rtnh->rtnh_ifindex = oif;
	if (put_bytes(msg, RTA_GATEWAY, h->has_gateway, &h->gateway))
		return -EMSGSIZE;
	rtnh->rtnh_len = (char *)nlmsg_tail(nlmsg_hdr(msg)) - (char *)rtnh;
	return 0;
}

static int put_nexthops(struct nl_msg *msg, const NetRoute *r, struct rtmsg *rtm)
{
	struct nlattr *mp;
	int oif;

	if (r->n_nexthops == 1) {
		const NetNexthop *h = r->nexthops[0];

		rtm->rtm_flags |= h->flags & ROUTE_NH_FLAGS;
		if (put_bytes(msg, RTA_GATEWAY, h->has_gateway, &h->gateway))
			return -EMSGSIZE;
		if (!h->oif)
			return 0;
		oif = net_ifindex(h->oif, "a route's device");
		if (oif < 0)
			return oif;
		return nla_put_u32(msg, RTA_OIF, oif) < 0 ? -EMSGSIZE : 0;
	}
	if (!r->n_nexthops)
		return 0;
	mp = nla_nest_start(msg, RTA_MULTIPATH);
	if (!mp)
		return -EMSGSIZE;
	for (size_t i = 0; i < r->n_nexthops; i++) {
		const NetNexthop *h = r->nexthops[i];
		int ret;

		oif = h->oif ? net_ifindex(h->oif, "a route's device") : 0;
		if (oif < 0)
			return oif;
		ret = put_multipath_nh(msg, h, oif);
		if (ret)
			return ret;
	}
	nla_nest_end(msg, mp);
	return 0;
}

/*
 * The rtmsg's flags depend on the nexthop, which comes after it in the
 * message: they are patched in place once the nexthops are there.
 */
static int route_msg(const NetRoute *r, struct nl_msg **ret)
{
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg rtm = {
		.rtm_family = r->family,
		.rtm_dst_len = r->dst_len,
		.rtm_src_len = r->src_len,
		.rtm_tos = r->tos,
		.rtm_table = r->table < 256 ? r->table : RT_TABLE_UNSPEC,
		.rtm_protocol = r->protocol,
		.rtm_scope = r->scope,
		.rtm_type = r->type,
	};
	struct nlattr *mx;
	int err = -EMSGSIZE;

	if (!msg)
		return -ENOMEM;
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, RTA_TABLE, r->table) < 0 ||
	    put_bytes(msg, RTA_DST, r->has_dst, &r->dst) ||
	    put_bytes(msg, RTA_SRC, r->has_src, &r->src) ||
	    put_bytes(msg, RTA_PREFSRC, r->has_pref_src, &r->pref_src) ||
	    (r->has_priority && nla_put_u32(msg, RTA_PRIORITY, r->priority) < 0))
		goto fail;
	if (r->n_metrics) {
		mx = nla_nest_start(msg, RTA_METRICS);
		if (!mx)
			goto fail;
		for (size_t i = 0; i < r->n_metrics; i++)
			if (nla_put_u32(msg, r->metrics[i]->key, r->metrics[i]->value) < 0)
				goto fail;
		nla_nest_end(msg, mx);
	}
	err = put_nexthops(msg, r, &rtm);
	if (err)
		goto fail;
	((struct rtmsg *)nlmsg_data(nlmsg_hdr(msg)))->rtm_flags = rtm.rtm_flags;
	*ret = msg;
	return 0;
fail:
	nlmsg_free(msg);
	return err;
}

int net_routes_restore(const struct netns_img *n, struct nl_sock *sk)
{
	for (size_t i = 0; i < n->nr_routes; i++) {
		const NetRoute *r = n->routes[i];
		char buf[INET6_ADDRSTRLEN + 32];
		struct nl_msg *msg;
		int ret;

		ret = route_msg(r, &msg);
		if (ret == -ENODEV)
			return ret;	/* logged, naming the link */
		if (!ret)
			ret = net_nl_request(sk, msg);
		if (ret)
			return pr_errno(ret, "net: adding route %s (type %u, proto %u)",
					route_str(r, buf, sizeof(buf)), r->type, r->protocol);
	}
	return 0;
}
