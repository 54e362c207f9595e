/*
 * Multicast group memberships of inet sockets (sk-inet-mc.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "cleanup.h"
#include "log.h"
#include "sk-inet-addr.h"
#include "sk-inet-mc.h"

/* Sources of one group's filter cr keeps (the kernel's default limit is 10). */
#define MC_MAX_SOURCES	256

struct candidate {
	unsigned ifindex;
	uint8_t group[16];
};

static void group_sockaddr(uint32_t family, const uint8_t *group, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, group, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, group, 16);
}

static const uint8_t *sockaddr_bytes(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr
					: (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
}

/*
 * The groups joined on the interfaces of @pid's net namespace, by anyone:
 * igmp has an interface line ("IDX DEV : ...") and then a line per group
 * (its address as a native-endian hex word); igmp6 a line per group
 * ("IDX DEV GROUP ...", the address as 32 hex digits in order).
 */
static int candidates(pid_t pid, uint32_t family, struct candidate **ret, size_t *nr)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned ifindex = 0;

	snprintf(path, sizeof(path), "/proc/%d/net/igmp%s", pid, family == AF_INET6 ? "6" : "");
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : pr_errno(-errno, "opening %s", path);
	while (fgets(line, sizeof(line), f)) {
		struct candidate c = { 0 };
		char hex[33];

		if (family == AF_INET) {
			uint32_t w;

			if (line[0] >= '0' && line[0] <= '9') {
				ifindex = (unsigned)atoi(line);
				continue;
			}
			if (line[0] != '\t' || sscanf(line, "%x", &w) != 1 || !ifindex)
				continue;
			c.ifindex = ifindex;
			memcpy(c.group, &w, 4);
		} else {
			if (sscanf(line, "%u %*s %32s", &c.ifindex, hex) != 2 || strlen(hex) != 32)
				continue;
			for (int i = 0; i < 16; i++) {
				char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };

				c.group[i] = (uint8_t)strtoul(b, NULL, 16);
			}
		}
		struct candidate *n = xrealloc(*ret, (*nr + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		*ret = n;
		n[(*nr)++] = c;
	}
	return 0;
}

/* @d's membership of @c, if it has one, appended to @e. */
static int dump_one(const struct fd_dump *d, InetSkEntry *e, const struct candidate *c, struct group_filter *gf)
{
	socklen_t len = GROUP_FILTER_SIZE(MC_MAX_SOURCES);
	size_t alen = inet_addr_len(e->family);
	InetMcGroup *g, **n;

	memset(gf, 0, len);
	gf->gf_interface = c->ifindex;
	group_sockaddr(e->family, c->group, &gf->gf_group);
	gf->gf_numsrc = MC_MAX_SOURCES;
	if (getsockopt(d->cr_fd, e->family == AF_INET ? SOL_IP : SOL_IPV6, MCAST_MSFILTER, gf, &len) < 0)
		return errno == EADDRNOTAVAIL || errno == EINVAL || errno == ENODEV ? 0 :
		       pr_errno(-errno, "pid %d: fd %d (%s): MCAST_MSFILTER", d->pid, d->fd, d->link);
	if (gf->gf_numsrc > MC_MAX_SOURCES)
		return files_refuse(d, "an inet socket", "a multicast group it joined filters more sources than cr keeps");
	g = xzalloc(sizeof(*g));
	n = xrealloc(e->mc, (e->n_mc + 1) * sizeof(*n));
	if (!g || !n) {
		free(g);
		return -ENOMEM;
	}
	e->mc = n;
	inet_mc_group__init(g);
	e->mc[e->n_mc++] = g;
	g->ifindex = c->ifindex;
	g->fmode = gf->gf_fmode;
	g->group.data = xmalloc(alen);
	g->sources = xzalloc(sizeof(*g->sources) * (gf->gf_numsrc ? gf->gf_numsrc : 1));
	if (!g->group.data || !g->sources)
		return -ENOMEM;
	memcpy(g->group.data, c->group, alen);
	g->group.len = alen;
	for (uint32_t i = 0; i < gf->gf_numsrc; i++) {
		g->sources[i].data = xmalloc(alen);
		if (!g->sources[i].data)
			return -ENOMEM;
		memcpy(g->sources[i].data, sockaddr_bytes(&gf->gf_slist[i]), alen);
		g->sources[i].len = alen;
		g->n_sources++;
	}
	return 0;
}

int inet_mc_dump(const struct fd_dump *d, InetSkEntry *e)
{
	_cleanup_free_ struct candidate *c = NULL;
	_cleanup_free_ struct group_filter *gf = xmalloc(GROUP_FILTER_SIZE(MC_MAX_SOURCES));
	size_t nr = 0;
	int err;

	if (!gf)
		return -ENOMEM;
	err = candidates(d->pid, e->family, &c, &nr);
	for (size_t i = 0; i < nr && !err; i++)
		err = dump_one(d, e, &c[i], gf);
	if (!err && e->n_mc)
		pr_info("pid %d: fd %d: member of %zu multicast groups", d->pid, d->fd, e->n_mc);
	return err;
}

bool inet_mc_valid(const InetSkEntry *e)
{
	size_t alen = inet_addr_len(e->family);

	for (size_t i = 0; i < e->n_mc; i++) {
		const InetMcGroup *g = e->mc[i];

		if (g->group.len != alen || g->n_sources > MC_MAX_SOURCES ||
		    (g->fmode != MCAST_INCLUDE && g->fmode != MCAST_EXCLUDE) ||
		    (g->fmode == MCAST_INCLUDE && !g->n_sources))
			return false;
		for (size_t k = 0; k < g->n_sources; k++)
			if (g->sources[k].len != alen)
				return false;
	}
	return true;
}

/* Joins @g: a plain join, or with its first source; then the whole filter. */
static int restore_one(const FileEntry *fe, int fd, const InetMcGroup *g, struct group_filter *gf)
{
	const InetSkEntry *e = fe->inet_sk;
	int level = e->family == AF_INET ? SOL_IP : SOL_IPV6, err = 0;
	struct inet_addr_str as;

	if (g->fmode == MCAST_EXCLUDE) {
		struct group_req r = { .gr_interface = g->ifindex };

		group_sockaddr(e->family, g->group.data, &r.gr_group);
		err = setsockopt(fd, level, MCAST_JOIN_GROUP, &r, sizeof(r)) < 0 ? -errno : 0;
	} else {
		struct group_source_req r = { .gsr_interface = g->ifindex };

		group_sockaddr(e->family, g->group.data, &r.gsr_group);
		group_sockaddr(e->family, g->sources[0].data, &r.gsr_source);
		err = setsockopt(fd, level, MCAST_JOIN_SOURCE_GROUP, &r, sizeof(r)) < 0 ? -errno : 0;
	}
	if (!err && (g->n_sources > 1 || (g->fmode == MCAST_EXCLUDE && g->n_sources))) {
		memset(gf, 0, GROUP_FILTER_SIZE(g->n_sources));
		gf->gf_interface = g->ifindex;
		group_sockaddr(e->family, g->group.data, &gf->gf_group);
		gf->gf_fmode = g->fmode;
		gf->gf_numsrc = g->n_sources;
		for (size_t k = 0; k < g->n_sources; k++)
			group_sockaddr(e->family, g->sources[k].data, &gf->gf_slist[k]);
		err = setsockopt(fd, level, MCAST_MSFILTER, gf, GROUP_FILTER_SIZE(g->n_sources)) < 0 ? -errno : 0;
	}
	if (err)
		return pr_errno(err, "file id %u: joining multicast group %s on interface %u", fe->id,
				inet_addr_fmt(&as, e->family, &g->group, 0), g->ifindex);
	return 0;
}

int inet_mc_restore(const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	_cleanup_free_ struct group_filter *gf = NULL;
	int err = 0;

	if (!e->n_mc)
		return 0;
	gf = xmalloc(GROUP_FILTER_SIZE(MC_MAX_SOURCES));
	if (!gf)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_mc && !err; i++)
		err = restore_one(fe, fd, e->mc[i], gf);
	return err;
}

void inet_mc_free(InetSkEntry *e)
{
	for (size_t i = 0; i < e->n_mc; i++) {
		InetMcGroup *g = e->mc[i];

		for (size_t k = 0; k < g->n_sources; k++)
			free(g->sources[k].data);
		free(g->sources);
		free(g->group.data);
		free(g);
	}
	free(e->mc);
	e->mc = NULL;
	e->n_mc = 0;
}
