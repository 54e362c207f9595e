/*
 * The net namespace (namespaces.h): netns.img holds a head and then the
 * links, addresses, routes and sysctls, in the order they are restored.
 * Each kind of object is in its own file (ns-net-priv.h); this one owns
 * the image, the netlink socket and the order.
 *
 * Restore order, and why:
 *	links, down	veth pairs in one request; MAC, MTU, txqlen, ifindex
 *			at creation, so nothing is changed while up
 *	addresses	before the links go up: the kernel then finds the
 *			IPv6 link-local it would make already there (ours,
 *			IFA_F_NODAD, usable at once) instead of making a
 *			tentative one; IPv4 prefix routes appear on up
 *	flags, up
 *	routes		a route's device must be up
 *	sysctls		last: writing conf/all/forwarding resets every
 *			link's, so the per-link values follow "all"
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "cleanup.h"
#include "image.h"
#include "log.h"
#include "namespaces.h"
#include "ns-net-priv.h"

struct nl_sock *net_nl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		pr_err("net: cannot allocate a netlink socket");
		return NULL;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		pr_err("net: connecting a NETLINK_ROUTE socket: %s", nl_geterror(err));
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

static void nl_sock_freep(struct nl_sock **sk) { if (*sk) nl_socket_free(*sk); }
static void nl_cache_freep(struct nl_cache **c) { if (*c) nl_cache_free(*c); }

/* The kernel's errno is in the NLMSG_ERROR answer; libnl would map it to an NLE_ code. */
static int on_nl_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	(void)nla;
	*(int *)arg = e->error;
	return NL_STOP;
}

int net_nl_request(struct nl_sock *sk, struct nl_msg *msg)
{
	int kerr = 0, err;

	err = nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_nl_error, &kerr);
	if (err >= 0)
		err = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_wait_for_ack(sk);
	/* The callback's argument is on this stack. */
	nl_socket_modify_err_cb(sk, NL_CB_DEFAULT, NULL, NULL);
	if (kerr)
		return kerr;
	return err < 0 ? -EIO : 0;
}

int net_obj_write(struct img *img, enum net_obj_kind kind, void *field)
{
	NetObject o = NET_OBJECT__INIT;

	o.kind = kind;
	switch (kind) {
	case NET_OBJ_LINK:   o.link = field; break;
	case NET_OBJ_ADDR:   o.addr = field; break;
	case NET_OBJ_ROUTE:  o.route = field; break;
	case NET_OBJ_SYSCTL: o.sysctl = field; break;
	case NET_OBJ_NFT:    o.nft = field; break;
	}
	return pb_write_one(img, &o, PB_NET_OBJECT);
}

NetLink *net_link_find(const struct netns_img *n, const char *name)
{
	for (size_t i = 0; i < n->nr_links; i++)
		if (!strcmp(n->links[i]->name, name))
			return n->links[i];
	return NULL;
}

const char *net_link_name(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *l = rtnl_link_get(links, ifindex);
	const char *name;

	if (!l)
		return NULL;
	name = rtnl_link_get_name(l);	/* the cache holds another reference */
	rtnl_link_put(l);
	return name;
}

int net_ifindex(const char *name, const char *what)
{
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return pr_errno(-ENODEV, "net: %s: no link %s", what, name);
	return idx;
}

int netns_dump(const struct cr_options *o, pid_t root, int dfd)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	_cleanup_(nl_cache_freep) struct nl_cache *links = NULL;
	_cleanup_img_ struct img *img = NULL;
	NetnsHead head = NETNS_HEAD__INIT;
	int ret, err;

	/* An external veth is recorded as such; an empty namespace (runc's default) holds nothing. */
	if (o->empty_ns & CLONE_NEWNET) {
		pr_info("net: the namespace is to be restored empty (empty_ns): its links, addresses and routes are not saved");
		ret = img_open(dfd, IMG_NETNS, 0, O_WRONLY, &img);
		head.version = NETNS_IMG_VERSION;
		if (!ret)
			ret = pb_write_one(img, &head, PB_NETNS_HEAD);
		return ret ? ret : img_close(TAKE_PTR(img));
	}
	sk = net_nl_open();
	if (!sk)
		return -ENOMEM;
	err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &links);
	if (err < 0) {
		pr_err("net: listing the links of the net namespace: %s", nl_geterror(err));
		return -EIO;
	}
	ret = img_open(dfd, IMG_NETNS, 0, O_WRONLY, &img);
	if (ret)
		return ret;
	head.version = NETNS_IMG_VERSION;
	ret = pb_write_one(img, &head, PB_NETNS_HEAD);
	if (!ret)
		ret = net_links_dump(links, img);
	if (!ret)
		ret = net_addrs_dump(sk, links, img);
	if (!ret)
		ret = net_routes_dump(sk, links, img);
	if (!ret)
		ret = net_sysctls_dump(links, img);
	if (!ret)
		ret = net_nft_dump(img, root);
	if (ret)
		return ret;
	return img_close(TAKE_PTR(img));
}

bool netns_has_links(const struct netns_img *n)
{
	for (size_t i = 0; n && i < n->nr_links; i++)
		if (n->links[i]->kind != NET_LINK_LOOPBACK)
			return true;
	return false;
}

void netns_free(struct netns_img *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nr_objs; i++)
		pb_free(n->objs[i], PB_NET_OBJECT);
	free(n->objs);
	free(n->links);
	free(n->hosts);
	free(n->addrs);
	free(n->routes);
	free(n->sysctls);
	free(n);
}

static void netns_freep(struct netns_img **n) { netns_free(*n); }

/* Appends @p to the array @arr of @nr elements; 0 or -ENOMEM. */
static int push(void ***arr, size_t *nr, void *p)
{
	void **a = xrealloc(*arr, (*nr + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	a[(*nr)++] = p;
	*arr = a;
	return 0;
}

/* Files @o under its kind's view; refuses a kind its field does not match. */
static int netns_sort(struct netns_img *n, NetObject *o)
{
	switch (o->kind) {
	case NET_OBJ_LINK:
		if (o->link)
			return push((void ***)&n->links, &n->nr_links, o->link);
		break;
	case NET_OBJ_ADDR:
		if (o->addr)
			return push((void ***)&n->addrs, &n->nr_addrs, o->addr);
		break;
	case NET_OBJ_ROUTE:
		if (o->route)
			return push((void ***)&n->routes, &n->nr_routes, o->route);
		break;
	case NET_OBJ_SYSCTL:
		if (o->sysctl)
			return push((void ***)&n->sysctls, &n->nr_sysctls, o->sysctl);
		break;
	case NET_OBJ_NFT:
		if (o->nft && !n->nft) {
			n->nft = o->nft;
			return 0;
		}
		break;
	}
	pr_err("netns.img: object %zu: kind %u without its record", n->nr_objs, o->kind);
	return -EBADMSG;
}

int netns_read(const struct cr_options *o, int dfd, struct netns_img **ret)
{
	_cleanup_(netns_freep) struct netns_img *n = NULL;
	_cleanup_img_ struct img *img = NULL;
	NetnsHead *head = NULL;
	NetObject *obj;
	int r;

	r = img_open(dfd, IMG_NETNS, 0, O_RDONLY, &img);
	if (r)
		return r;
	r = pb_read_one_required(img, (void **)&head, PB_NETNS_HEAD);
	if (r)
		return r;
	if (head->version != NETNS_IMG_VERSION) {
		pr_err("netns.img: version %u, this cr reads %u", head->version, NETNS_IMG_VERSION);
		pb_free(head, PB_NETNS_HEAD);
		return -EBADMSG;
	}
	pb_free(head, PB_NETNS_HEAD);

	n = xzalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* Made new and left empty: what the image holds is not restored. */
	if (o->empty_ns & CLONE_NEWNET) {
		pr_info("net: the namespace is restored empty (empty_ns)");
		*ret = TAKE_PTR(n);
		return 0;
	}
	while ((r = pb_read_one(img, (void **)&obj, PB_NET_OBJECT)) == 1) {
		r = push((void ***)&n->objs, &n->nr_objs, obj);
		if (r) {
			pb_free(obj, PB_NET_OBJECT);
			return r;
		}
		r = netns_sort(n, obj);
		if (r)
			return r;
	}
	if (r < 0)
		return r;
	r = net_links_check(o, n);
	if (!r)
		r = net_addrs_check(n);
	if (!r)
		r = net_routes_check(n);
	if (!r)
		r = net_sysctls_check(n);
	if (r)
		return r;
	*ret = TAKE_PTR(n);
	return 0;
}

int netns_restore(const struct netns_img *n, int host_netns)
{
	_cleanup_(nl_sock_freep) struct nl_sock *sk = NULL;
	int ret;

	sk = net_nl_open();
	if (!sk)
		return -ENOMEM;
	ret = net_links_create(n, sk, host_netns);
	if (!ret)
		ret = net_addrs_restore(n, sk);
	if (!ret)
		ret = net_links_up(n, sk);
	if (!ret)
		ret = net_addrs_wait(n);
	if (!ret)
		ret = net_routes_restore(n, sk);
	if (!ret)
		ret = net_sysctls_restore(n);
	if (!ret)
		ret = net_nft_restore(n);
	if (ret)
		net_links_undo(n, sk);
	return ret;
}
