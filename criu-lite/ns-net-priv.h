#ifndef CR_NS_NET_PRIV_H
#define CR_NS_NET_PRIV_H

/*
 * The net namespace module's parts (ns-net.c: the image and the order;
 * ns-net-link.c, ns-net-addr.c, ns-net-route.c, ns-net-sysctl.c: one kind
 * of object each, dump and restore side by side).
 */
#include <stdbool.h>
#include <stddef.h>

#include "cr.h"
#include "netns.pb-c.h"

struct img;
struct nl_sock;
struct nl_cache;
struct nl_msg;

#define NETNS_IMG_VERSION	1u

/* net_object.kind */
enum net_obj_kind { NET_OBJ_LINK = 1, NET_OBJ_ADDR, NET_OBJ_ROUTE, NET_OBJ_SYSCTL, NET_OBJ_NFT };

/* net_link.kind */
enum net_link_kind { NET_LINK_LOOPBACK = 1, NET_LINK_VETH };

struct netns_img {
	NetObject **objs;		/* as read, owned */
	size_t nr_objs;
	/* Views into objs, each in image order. */
	NetLink **links;
	char **hosts;			/* per link: --external's HOSTIF, or NULL */
	size_t nr_links;
	NetAddr **addrs;
	size_t nr_addrs;
	NetRoute **routes;
	size_t nr_routes;
	NetSysctl **sysctls;
	size_t nr_sysctls;
	NetNft *nft;			/* at most one */
};

/* ---- ns-net.c ----------------------------------------------------------- */
/* A connected NETLINK_ROUTE socket of cr's current net namespace, or NULL (logged). */
struct nl_sock *net_nl_open(void);
/*
 * Sends @msg (freed) and waits for the kernel's answer. Returns 0 or the
 * kernel's -errno, not logged: the caller names the object.
 */
int net_nl_request(struct nl_sock *sk, struct nl_msg *msg);
/* Writes one net_object of @kind with @field set; 0 or -errno. */
int net_obj_write(struct img *img, enum net_obj_kind kind, void *field);
/* The image's link named @name, or NULL. */
NetLink *net_link_find(const struct netns_img *n, const char *name);
/* The name of the link @ifindex of @links, or NULL. */
const char *net_link_name(struct nl_cache *links, int ifindex);
/* The current ifindex of link @name, or -ENODEV (logged, naming @what). */
int net_ifindex(const char *name, const char *what);

/* ---- ns-net-link.c ------------------------------------------------------ */
/* Refuses links it cannot restore. */
int net_links_dump(struct nl_cache *links, struct img *img);
/* netns_read(): peers, names, and each external link's host end (o's --external). */
int net_links_check(const struct cr_options *o, struct netns_img *n);
/* Creates the links (down), with their names, ifindexes, MACs, MTUs, txqlens. */
int net_links_create(const struct netns_img *n, struct nl_sock *sk, int host_netns);
/* Sets the flags (IFF_UP, ...) of every link. */
int net_links_up(const struct netns_img *n, struct nl_sock *sk);
/* A failed restore: removes the external veths, so their host ends go at once. */
void net_links_undo(const struct netns_img *n, struct nl_sock *sk);

/* ---- ns-net-addr.c ------------------------------------------------------ */
int net_addrs_dump(struct nl_sock *sk, struct nl_cache *links, struct img *img);
int net_addrs_check(const struct netns_img *n);
int net_addrs_restore(const struct netns_img *n, struct nl_sock *sk);
/* Links up: until every address of an up link has its local route (2 s at most). */
int net_addrs_wait(const struct netns_img *n);

/* ---- ns-net-route.c ----------------------------------------------------- */
int net_routes_dump(struct nl_sock *sk, struct nl_cache *links, struct img *img);
int net_routes_check(const struct netns_img *n);
int net_routes_restore(const struct netns_img *n, struct nl_sock *sk);

/* ---- ns-net-sysctl.c ---------------------------------------------------- */
int net_sysctls_dump(struct nl_cache *links, struct img *img);
int net_sysctls_check(const struct netns_img *n);
int net_sysctls_restore(const struct netns_img *n);

/* ---- ns-net-nft.c ------------------------------------------------------- */
/*
 * The ruleset of cr's current net namespace (@root's), but the network
 * lock's tables; refused when nft could not read it back. No nft: a warning.
 */
int net_nft_dump(struct img *img, pid_t root);
/*
 * Drops the network lock's tables from the ruleset @text (in place): a
 * top-level block runs from its "table ..." line to the next line that
 * is "}". Returns the length left (not NUL-terminated there).
 */
size_t net_nft_drop_lock_tables(char *text, size_t len);
/* Loads the image's ruleset (if any) into cr's current net namespace. */
int net_nft_restore(const struct netns_img *n);

#endif
