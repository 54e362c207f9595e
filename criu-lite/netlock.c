/*
 * The network lock (netlock.h): netfilter rules put in and taken out by
 * nft(8) or iptables-restore(8), run in the net namespace of the lock.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "guard.h"
#include "log.h"
#include "netlock.h"
#include "pstree.h"
#include "sock-diag.h"
#include "tool.h"

#define NETLOCK_NAME_FMT	"cr-%08x"
#define NETLOCK_NAME_LEN	11	/* "cr-" and 8 hex digits */
/* Before conntrack (-200) and anything else of the filter hooks. */
#define NFT_PRIORITY		"-300"
/* What a failing tool said, kept for the error line. */
#define TOOL_MSG_MAX		512

/* One established connection of the tree, as seen from its end. */
struct conn {
	int family;			/* AF_INET (also for a v4-mapped IPv6 socket) or AF_INET6 */
	char local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
	uint16_t lport, pport;
	char *text;			/* "LOCAL -> PEER", for the inventory */
};

struct netlock {
	int mode;			/* NETLOCK_IPTABLES or NETLOCK_NFTABLES */
	bool netns;			/* the whole namespace, or the connections */
	bool v4, v6;			/* iptables: which tables hold rules */
	bool released;
	uint32_t id;
	char name[NETLOCK_NAME_LEN + 1];
	int nsfd;			/* the net namespace the rules are in */
	struct conn *conns;
	char **texts;			/* each conn's text, for the inventory */
	unsigned nr_conns;
	/* The dump's lock is made by a thread of cr's (netlock_dump_lock()). */
	bool pending;
	pthread_t worker;
	int worker_err;
	const struct pstree *tree;
};

const char *netlock_mode_name(int mode)
{
	switch (mode) {
	case NETLOCK_DEFAULT:
	case NETLOCK_NFTABLES: return "nftables";
	case NETLOCK_IPTABLES: return "iptables";
	case NETLOCK_SKIP: return "skip";
	}
	return NULL;
}

int netlock_mode_parse(const char *s, int *ret)
{
	static const int modes[] = { NETLOCK_IPTABLES, NETLOCK_NFTABLES, NETLOCK_SKIP };

	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, netlock_mode_name(modes[i]))) {
			*ret = modes[i];
			return 0;
		}
	return -EINVAL;
}

static int resolve_mode(int mode)
{
	return mode == NETLOCK_DEFAULT ? NETLOCK_NFTABLES : mode;
}

/* ---- running the tools ------------------------------------------------------ */

/* ---- the rules ---------------------------------------------------------------- */

/* nft: the table with its two base chains. */
static void nft_head(FILE *f, const struct netlock *l)
{
	fprintf(f, "add table inet %s\n", l->name);
	fprintf(f, "add chain inet %s input { type filter hook input priority " NFT_PRIORITY "; policy accept; }\n",
		l->name);
	fprintf(f, "add chain inet %s output { type filter hook output priority " NFT_PRIORITY "; policy accept; }\n",
		l->name);
	fprintf(f, "add rule inet %s input meta mark 0x%x accept\n", l->name, NETLOCK_PASS_MARK);
	fprintf(f, "add rule inet %s output meta mark 0x%x accept\n", l->name, NETLOCK_PASS_MARK);
}

/* Set elements per "add element" line. */
#define NFT_ELEMS_PER_LINE	512

static int cmp_conn(const void *a, const void *b)
{
	const struct conn *x = *(const struct conn *const *)a, *y = *(const struct conn *const *)b;
	int d = strcmp(x->local, y->local);

	if (!d)
		d = strcmp(x->peer, y->peer);
	return d ? d : x->lport != y->lport ? x->lport - y->lport : x->pport - y->pport;
}

/* Whether the other end of @c is a connection of the tree too (in @sorted, by cmp_conn()). */
static bool peer_in_tree(const struct conn *c, const struct conn *const *sorted, unsigned nr)
{
	struct conn rev = { .family = c->family, .lport = c->pport, .pport = c->lport };
	const struct conn *key = &rev;

	memcpy(rev.local, c->peer, sizeof(rev.local));
	memcpy(rev.peer, c->local, sizeof(rev.peer));
	return nr && bsearch(&key, sorted, nr, sizeof(*sorted), cmp_conn);
}

/* One element of the set, a 4-tuple; @n counts them, NFT_ELEMS_PER_LINE a line. */
static void nft_elem(FILE *f, const struct netlock *l, const char *set, unsigned *n, const char *from,
		     unsigned fport, const char *to, unsigned tport)
{
	if (*n % NFT_ELEMS_PER_LINE == 0)
		fprintf(f, "%sadd element inet %s %s { ", *n ? " }\n" : "", l->name, set);
	else
		fputs(", ", f);
	fprintf(f, "%s . %u . %s . %u", from, fport, to, tport);
	(*n)++;
}

/*
 * The connections of @family: one set of 4-tuples, each connection in it
 * both ways, and a rule per chain that drops what the set holds (a rule
 * per connection makes nft's commit slow: ~20 ms per thousand). A
 * connection with both ends in the tree is there once each way, from
 * each end's side (nft takes ~10 ms per thousand elements).
 */
static void nft_conns(FILE *f, const struct netlock *l, int family)
{
	const char *ip = family == AF_INET6 ? "ip6" : "ip", *set = family == AF_INET6 ? "c6" : "c4";
	_cleanup_free_ const struct conn **sorted = xmalloc((l->nr_conns + 1) * sizeof(*sorted));
	unsigned n = 0, nr_sorted = 0;

	/* Without the index every connection goes in both ways: the same set. */
	for (unsigned i = 0; sorted && i < l->nr_conns; i++)
		if (l->conns[i].family == family)
			sorted[nr_sorted++] = &l->conns[i];
	if (nr_sorted)
		qsort(sorted, nr_sorted, sizeof(*sorted), cmp_conn);
	for (unsigned i = 0; i < l->nr_conns; i++) {
		const struct conn *c = &l->conns[i];

		if (c->family != family)
			continue;
		if (!n) {
			fprintf(f, "add set inet %s %s { type %s_addr . inet_service . %s_addr . inet_service; }\n",
				l->name, set, family == AF_INET6 ? "ipv6" : "ipv4", family == AF_INET6 ? "ipv6" : "ipv4");
			fprintf(f, "add rule inet %s input %s saddr . tcp sport . %s daddr . tcp dport @%s drop\n",
				l->name, ip, ip, set);
			fprintf(f, "add rule inet %s output %s saddr . tcp sport . %s daddr . tcp dport @%s drop\n",
				l->name, ip, ip, set);
		}
		nft_elem(f, l, set, &n, c->local, c->lport, c->peer, c->pport);
		if (!peer_in_tree(c, sorted, nr_sorted))
			nft_elem(f, l, set, &n, c->peer, c->pport, c->local, c->lport);
	}
	if (n)
		fprintf(f, " }\n");
}

static void nft_lock(FILE *f, const struct netlock *l)
{
	nft_head(f, l);
	/*
	 * The loopback too: a connection with both ends in the tree must not
	 * move while one end is dumped and the other not yet (a peek at a
	 * receive queue can open its window: the other end would send into
	 * it, and have that acknowledged, after it was saved).
	 */
	if (l->netns) {
		fprintf(f, "add rule inet %s input drop\n", l->name);
		fprintf(f, "add rule inet %s output drop\n", l->name);
		return;
	}
	nft_conns(f, l, AF_INET);
	nft_conns(f, l, AF_INET6);
}

/* Made first, so that the delete never fails on a table already gone. */
static void nft_unlock(FILE *f, const struct netlock *l)
{
	fprintf(f, "add table inet %s\ndelete table inet %s\n", l->name, l->name);
}

static void ipt_lock(FILE *f, const struct netlock *l, int family)
{
	fprintf(f, "*filter\n:%s - [0:0]\n-I INPUT -j %s\n-I OUTPUT -j %s\n", l->name, l->name, l->name);
	fprintf(f, "-A %s -m mark --mark 0x%x -j ACCEPT\n", l->name, NETLOCK_PASS_MARK);
	if (l->netns) {
		/* The loopback too: see nft_lock(). */
		fprintf(f, "-A %s -j DROP\n", l->name);
	} else {
		for (unsigned i = 0; i < l->nr_conns; i++) {
			const struct conn *c = &l->conns[i];

			if (c->family != family)
				continue;
			fprintf(f, "-A %s -p tcp -s %s --sport %u -d %s --dport %u -j DROP\n", l->name, c->peer,
				c->pport, c->local, c->lport);
			fprintf(f, "-A %s -p tcp -s %s --sport %u -d %s --dport %u -j DROP\n", l->name, c->local,
				c->lport, c->peer, c->pport);
		}
	}
	fprintf(f, "COMMIT\n");
}

static void ipt_unlock(FILE *f, const struct netlock *l, int family)
{
	(void)family;
	fprintf(f, "*filter\n-D INPUT -j %s\n-D OUTPUT -j %s\n-F %s\n-X %s\nCOMMIT\n", l->name, l->name, l->name,
		l->name);
}

typedef void (*rules_fn)(FILE *f, const struct netlock *l, int family);

/* The script @fn writes, malloc'ed. */
static char *script_of(const struct netlock *l, rules_fn fn, int family)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f) {
		pr_perror("network lock %s: open_memstream", l->name);
		return NULL;
	}
	fn(f, l, family);
	if (fclose(f)) {
		pr_perror("network lock %s: writing its rules", l->name);
		free(buf);
		return NULL;
	}
	return buf;
}

static void nft_lock_fn(FILE *f, const struct netlock *l, int family) { (void)family; nft_lock(f, l); }
static void nft_unlock_fn(FILE *f, const struct netlock *l, int family) { (void)family; nft_unlock(f, l); }

/* Runs one script of @l's mode for @family (iptables: iptables-restore or ip6tables-restore). */
static int apply(const struct netlock *l, rules_fn fn, int family, const char *what, char *msg, size_t size)
{
	static char *const nft_argv[] = { "nft", "-f", "-", NULL };
	static char *const ipt_argv[] = { "iptables-restore", "-w", "--noflush", NULL };
	static char *const ip6t_argv[] = { "ip6tables-restore", "-w", "--noflush", NULL };
	char *const *argv = l->mode == NETLOCK_NFTABLES ? nft_argv : family == AF_INET6 ? ip6t_argv : ipt_argv;
	_cleanup_free_ char *script = script_of(l, fn, family);
	int err;

	msg[0] = '\0';
	if (!script)
		return -ENOMEM;
	pr_debug("network lock %s: %s with %s:\n%s", l->name, what, argv[0], script);
	err = tool_run(l->nsfd, argv, script, NULL, msg, size);
	if (err == -ENOENT)
		snprintf(msg, size, "%s is not installed (Debian's package %s)", argv[0],
			 l->mode == NETLOCK_NFTABLES ? "nftables" : "iptables");
	return err;
}

/* Is @l's iptables chain gone from @family's table? */
static bool ipt_gone(const struct netlock *l, int family)
{
	char *argv[] = { family == AF_INET6 ? "ip6tables" : "iptables", "-w", "-n", "-L", (char *)l->name, NULL };
	char msg[TOOL_MSG_MAX];

	return tool_run(l->nsfd, argv, "", NULL, msg, sizeof(msg)) == -EIO && strstr(msg, "No chain");
}

static int lock_families(const struct netlock *l, rules_fn lock_fn, rules_fn unlock_fn)
{
	char msg[TOOL_MSG_MAX];
	int err = 0;

	if (l->mode == NETLOCK_NFTABLES) {
		err = apply(l, lock_fn, AF_UNSPEC, "lock", msg, sizeof(msg));
	} else {
		if (l->v4)
			err = apply(l, lock_fn, AF_INET, "lock", msg, sizeof(msg));
		if (!err && l->v6) {
			err = apply(l, lock_fn, AF_INET6, "lock", msg, sizeof(msg));
			/* One transaction per family: the first one goes again. */
			if (err && l->v4) {
				char m2[TOOL_MSG_MAX];

				apply(l, unlock_fn, AF_INET, "unlock", m2, sizeof(m2));
			}
		}
	}
	if (err)
		return pr_errno(err, "network lock %s (%s): %s", l->name, netlock_mode_name(l->mode),
				msg[0] ? msg : "failed");
	pr_info("network lock %s (%s): locked %s", l->name, netlock_mode_name(l->mode),
		l->netns ? "the net namespace" : "the tree's connections");
	return 0;
}

static int lock(const struct netlock *l)
{
	return l->mode == NETLOCK_NFTABLES ? lock_families(l, nft_lock_fn, nft_unlock_fn)
					   : lock_families(l, ipt_lock, ipt_unlock);
}

/* The dump's lock thread (netlock_dump_lock()) is done: its result. */
static int lock_join(struct netlock *l)
{
	if (l->pending) {
		pthread_join(l->worker, NULL);
		l->pending = false;
	}
	return l->worker_err;
}

/* Takes @l's rules out; also for a lock already gone. Logs a failure. */
static int unlock(const struct netlock *l)
{
	static const int families[] = { AF_INET, AF_INET6 };
	char msg[TOOL_MSG_MAX];
	int err = 0;

	if (l->mode == NETLOCK_NFTABLES) {
		err = apply(l, nft_unlock_fn, AF_UNSPEC, "unlock", msg, sizeof(msg));
		if (err)
			return pr_errno(err, "network lock %s (nftables): could not take it out: %s; "
					"remove it by hand: nft delete table inet %s", l->name, msg, l->name);
	}
	for (unsigned i = 0; l->mode == NETLOCK_IPTABLES && i < ARRAY_SIZE(families); i++) {
		int e;

		if (!(families[i] == AF_INET ? l->v4 : l->v6))
			continue;
		e = apply(l, ipt_unlock, families[i], "unlock", msg, sizeof(msg));
		if (e && !ipt_gone(l, families[i]))
			err = pr_errno(e, "network lock %s (%s): could not take it out: %s", l->name,
				       families[i] == AF_INET6 ? "ip6tables" : "iptables", msg);
	}
	if (!err)
		pr_info("network lock %s (%s): unlocked", l->name, netlock_mode_name(l->mode));
	return err;
}

/* ---- the object ----------------------------------------------------------------- */

static int netlock_new(int mode, bool netns, uint32_t id, int nsfd, struct netlock **ret)
{
	struct netlock *l = xzalloc(sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->mode = resolve_mode(mode);
	l->netns = netns;
	l->v4 = l->v6 = netns;
	l->id = id;
	snprintf(l->name, sizeof(l->name), NETLOCK_NAME_FMT, id);
	l->nsfd = nsfd < 0 ? open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : fcntl(nsfd, F_DUPFD_CLOEXEC, 3);
	if (l->nsfd < 0) {
		int err = pr_errno(-errno, "network lock: opening the net namespace to lock");

		free(l);
		return err;
	}
	*ret = l;
	return 0;
}

static int new_id(uint32_t *ret)
{
	if (getrandom(ret, sizeof(*ret), 0) != sizeof(*ret))
		return pr_errno(-errno, "network lock: getrandom");
	return 0;
}

void netlock_free(struct netlock *l)
{
	if (!l)
		return;
	/* Not left running: it uses @l. */
	lock_join(l);
	for (unsigned i = 0; i < l->nr_conns; i++)
		free(l->conns[i].text);
	free(l->conns);
	free(l->texts);
	if (l->nsfd >= 0)
		close(l->nsfd);
	free(l);
}

int netlock_fd(const struct netlock *l)
{
	return l ? l->nsfd : -1;
}

void netlock_release(struct netlock *l)
{
	if (!l || l->released)
		return;
	/* The unlock after the lock's commit, whatever it did. */
	lock_join(l);
	l->released = true;
	unlock(l);
}

/* ---- the guard -------------------------------------------------------------------- */

/* What the guard's undo needs, in its tag (the guard is a fork of cr from before the lock). */
#define TAG_MODE_SHIFT	32
#define TAG_NETNS	(1ULL << 40)
#define TAG_V4		(1ULL << 41)
#define TAG_V6		(1ULL << 42)

static uint64_t guard_tag(const struct netlock *l)
{
	return l->id | (uint64_t)l->mode << TAG_MODE_SHIFT | (l->netns ? TAG_NETNS : 0) | (l->v4 ? TAG_V4 : 0) |
	       (l->v6 ? TAG_V6 : 0);
}

static void guard_unlock(int fd, uint64_t tag)
{
	struct netlock l = { .mode = (int)((tag >> TAG_MODE_SHIFT) & 0xff), .netns = tag & TAG_NETNS,
			     .v4 = tag & TAG_V4, .v6 = tag & TAG_V6, .id = (uint32_t)tag, .nsfd = fd };

	snprintf(l.name, sizeof(l.name), NETLOCK_NAME_FMT, l.id);
	pr_warn("network lock %s: cr died, the guard unlocks", l.name);
	/* After cr's nft, if one was locking: it dies with cr (tool_run()), its commit done or not. */
	guard_wait_cr();
	unlock(&l);
}

/* ---- dump ------------------------------------------------------------------------------ */

/* Whether the current net namespace has a link but the loopback. */
static bool has_links(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	bool any = false;

	if (!ifs)
		return true;	/* cannot tell: lock */
	for (i = ifs; i->if_index; i++)
		if (strcmp(i->if_name, "lo"))
			any = true;
	if_freenameindex(ifs);
	return any;
}

/* Socket inodes of the tree's fds, sorted. */
struct inodes {
	ino_t *v;
	size_t nr, cap;
};

static int inodes_add_task(struct inodes *s, pid_t pid)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	char path[64], link[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return pr_errno(-errno, "network lock: pid %d: opendir %s", pid, path);
	while ((de = readdir(d))) {
		unsigned long long ino;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		if (s->nr == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			ino_t *v = xrealloc(s->v, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			s->v = v;
			s->cap = cap;
		}
		s->v[s->nr++] = ino;
	}
	return 0;
}

static int cmp_ino(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return (x > y) - (x < y);
}

struct collect {
	struct netlock *l;
	const struct inodes *inodes;
	int family;
};

/* One established TCP socket of the namespace: kept if it is the tree's. */
static int collect_one(struct nlmsghdr *h, void *arg)
{
	struct collect *c = arg;
	struct inet_diag_msg *m = NLMSG_DATA(h);
	ino_t ino;
	struct conn *n, *x;
	char **t;
	bool mapped;
	int family = c->family;
	const void *src = m->id.idiag_src, *dst = m->id.idiag_dst;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	ino = m->idiag_inode;
	if (!bsearch(&ino, c->inodes->v, c->inodes->nr, sizeof(ino_t), cmp_ino))
		return 0;
	/* An IPv6 socket talking to an IPv4 peer sends IPv4 packets. */
	mapped = family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)m->id.idiag_src);
	if (mapped) {
		family = AF_INET;
		src = &m->id.idiag_src[3];
		dst = &m->id.idiag_dst[3];
	}
	n = xrealloc(c->l->conns, (c->l->nr_conns + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->l->conns = n;
	x = &n[c->l->nr_conns];
	*x = (struct conn){ .family = family, .lport = ntohs(m->id.idiag_sport), .pport = ntohs(m->id.idiag_dport) };
	inet_ntop(family, src, x->local, sizeof(x->local));
	inet_ntop(family, dst, x->peer, sizeof(x->peer));
	if (asprintf(&x->text, family == AF_INET6 ? "[%s]:%u -> [%s]:%u" : "%s:%u -> %s:%u", x->local, x->lport,
		     x->peer, x->pport) < 0)
		return pr_errno(-ENOMEM, "network lock: asprintf");
	t = xrealloc(c->l->texts, (c->l->nr_conns + 1) * sizeof(*t));
	if (!t) {
		free(x->text);
		return -ENOMEM;
	}
	c->l->texts = t;
	t[c->l->nr_conns++] = x->text;
	if (family == AF_INET6)
		c->l->v6 = true;
	else
		c->l->v4 = true;
	return 0;
}

/*
 * The states of the connections repair mode keeps (tcp_repair_state_kept()):
 * established, or closing with the socket still open.
 */
#define NETLOCK_TCP_STATES	(1 << TCP_ESTABLISHED | 1 << TCP_CLOSE_WAIT | 1 << TCP_FIN_WAIT1 | \
				 1 << TCP_FIN_WAIT2 | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING)

/* The established or closing TCP connections of @tree, from sock_diag of cr's (the tree's) namespace. */
static int collect_conns(struct netlock *l, const struct pstree *tree)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct inodes s = { 0 };
	int err = 0;

	for (unsigned i = 0; i < tree->nr && !err; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			err = inodes_add_task(&s, tree->tasks[i].pid);
	if (!err && s.nr)
		qsort(s.v, s.nr, sizeof(*s.v), cmp_ino);
	for (unsigned i = 0; i < ARRAY_SIZE(families) && !err && s.nr; i++) {
		struct inet_diag_req_v2 req = { .sdiag_family = families[i], .sdiag_protocol = IPPROTO_TCP,
						.idiag_states = NETLOCK_TCP_STATES };
		struct collect c = { l, &s, families[i] };

		err = sock_diag_dump(&req, sizeof(req), families[i] == AF_INET6 ? "the tree's TCP connections (IPv6)"
						 : "the tree's TCP connections (IPv4)", collect_one, &c);
	}
	free(s.v);
	return err;
}

/*
 * The dump's lock, made in a thread of cr's: collecting the tree's
 * connections (a readlink of every fd of the tree, sock_diag) and nft's
 * commit take ~0.3 s for 10,000 connections, and the lock need only be in
 * place when the first connection is read (netlock_dump_wait()), after
 * every task's memory and fd table, which cr dumps meanwhile.
 */
static void *dump_lock_worker(void *arg)
{
	struct netlock *l = arg;
	int err = l->netns ? 0 : collect_conns(l, l->tree);

	if (!err && (l->netns || l->nr_conns))
		err = lock(l);
	l->worker_err = err;
	return NULL;
}

int netlock_dump_lock(const struct cr_options *o, const struct pstree *tree, bool own_netns, struct guard *g,
		      struct netlock **ret)
{
	struct netlock *l = NULL;
	uint32_t id;
	int err;

	*ret = NULL;
	if (o->network_lock == NETLOCK_SKIP)
		return 0;
	/* With only a loopback, just the connections inside it need the lock. */
	if (own_netns && !has_links() && !o->tcp_established) {
		pr_info("network lock: the tree's net namespace has no link but its loopback: nothing to lock");
		return 0;
	}
	/* Without it an established connection is refused: nothing in repair mode. */
	if (!own_netns && !o->tcp_established)
		return 0;
	err = new_id(&id);
	if (!err)
		err = netlock_new(o->network_lock, own_netns, id, -1, &l);
	/* The guard first: a cr killed right after the lock must not leave it (an unlock of none is harmless). */
	if (!err && g)
		err = guard_keep_fd(g, l->nsfd, guard_unlock, guard_tag(l), GUARD_UNDO);
	if (err) {
		netlock_free(l);
		return err;
	}
	l->tree = tree;
	if (pthread_create(&l->worker, NULL, dump_lock_worker, l) == 0)
		l->pending = true;
	else
		dump_lock_worker(l);	/* no thread: here and now */
	*ret = l;
	return 0;
}

int netlock_dump_wait(struct netlock **lp)
{
	struct netlock *l = *lp;
	int err;

	if (!l)
		return 0;
	err = lock_join(l);
	if (err)
		return err;
	if (!l->netns && !l->nr_conns) {
		pr_info("network lock: the tree has no established TCP connection: nothing to lock");
		netlock_free(l);
		*lp = NULL;
		return 0;
	}
	for (unsigned i = 0; i < l->nr_conns; i++)
		pr_info("network lock %s: %s", l->name, l->conns[i].text);
	return 0;
}

void netlock_dump_record(const struct netlock *l, InventoryEntry *inv, NetlockEntry *e)
{
	if (!l || l->netns)
		return;
	e->method = l->mode;
	e->name = (char *)l->name;
	e->has_ipv4 = e->has_ipv6 = true;
	e->ipv4 = l->v4;
	e->ipv6 = l->v6;
	e->n_connections = l->nr_conns;
	e->connections = l->texts;
	inv->netlock = e;
}

/*
 * The killed tree's namespace dies once cr lets go of it, and the kernel
 * removes its rules before its links: a peer's packet arriving through a
 * link then would find no socket and draw a reset. So its links go down
 * first (the namespace is locked and the tree dead: nobody notices).
 */
static void links_down(const struct netlock *l)
{
	static char *const argv[] = { "ip", "-batch", "-", NULL };
	struct if_nameindex *ifs = if_nameindex(), *i;
	char *buf = NULL, msg[TOOL_MSG_MAX];
	size_t size = 0;
	FILE *f;
	int err;

	if (!ifs) {
		pr_perror("network lock %s: listing the links to set down", l->name);
		return;
	}
	f = open_memstream(&buf, &size);
	for (i = ifs; f && i->if_index; i++)
		if (strcmp(i->if_name, "lo"))
			fprintf(f, "link set dev %s down\n", i->if_name);
	if_freenameindex(ifs);
	if (!f || fclose(f)) {
		pr_perror("network lock %s: open_memstream", l->name);
		free(buf);
		return;
	}
	err = tool_run(l->nsfd, argv, buf, NULL, msg, sizeof(msg));
	free(buf);
	if (err)
		pr_errno(err, "network lock %s: setting the dumped namespace's links down: %s", l->name, msg);
}

void netlock_dump_end(struct netlock *l, bool keep)
{
	if (!l)
		return;
	if (keep && l->netns)
		links_down(l);
	if (keep)
		pr_info("network lock %s stays %s", l->name, l->netns ? "in the dumped net namespace, its links down "
			"(it goes with the tree)" : "until the restore");
	else
		netlock_release(l);
	netlock_free(l);
}

/* ---- restore ---------------------------------------------------------------------------- */

static int parse_name(const char *name, uint32_t *ret)
{
	char *end;
	unsigned long v;

	if (!name || strlen(name) != NETLOCK_NAME_LEN || strncmp(name, "cr-", 3))
		return -EINVAL;
	for (unsigned i = 3; i < NETLOCK_NAME_LEN; i++)
		if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
			return -EINVAL;
	v = strtoul(name + 3, &end, 16);
	*ret = (uint32_t)v;
	return 0;
}

int netlock_restore_read(const struct cr_options *o, const InventoryEntry *inv, struct netlock **ret)
{
	const NetlockEntry *e = inv->netlock;
	struct netlock *l;
	uint32_t id;
	int err;

	*ret = NULL;
	if (!e)
		return 0;
	if ((e->method != NETLOCK_IPTABLES && e->method != NETLOCK_NFTABLES) || parse_name(e->name, &id))
		return pr_errno(-EBADMSG, "inventory.img: a network lock of method %u named \"%s\": not one cr makes",
				e->method, e->name ? e->name : "");
	if (o->network_lock == NETLOCK_SKIP) {
		pr_warn("network lock %s of the dump stays (--network-lock skip): its connections get no packet "
			"until it is taken out", e->name);
		return 0;
	}
	err = netlock_new(e->method, false, id, -1, &l);
	if (err)
		return err;
	l->v4 = e->has_ipv4 && e->ipv4;
	l->v6 = e->has_ipv6 && e->ipv6;
	pr_info("network lock %s (%s) of the dump: taken out once the connections are live", l->name,
		netlock_mode_name(l->mode));
	*ret = l;
	return 0;
}

int netlock_netns_new(const struct cr_options *o, int nsfd, struct netlock **ret)
{
	struct netlock *l = NULL;
	uint32_t id;
	int err;

	*ret = NULL;
	if (o->network_lock == NETLOCK_SKIP)
		return 0;
	err = new_id(&id);
	if (!err)
		err = netlock_new(o->network_lock, true, id, nsfd, &l);
	if (!err)
		err = lock(l);
	if (err) {
		netlock_free(l);
		return err;
	}
	*ret = l;
	return 0;
}
