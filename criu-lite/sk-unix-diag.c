/*
 * The unix sockets of cr's network namespace as the kernel's unix_diag
 * (sock_diag) lists them: inode, type, state, name, socket file, peer,
 * queue lengths and a listener's waiting connections; what no
 * getsockopt() tells. Read once per dump, while the tree is frozen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/unix_diag.h>
#include <netlink/msg.h>

#include "cleanup.h"
#include "log.h"
#include "sk-unix-priv.h"
#include "sock-diag.h"

static struct {
	const struct files_dump *df;	/* the dump the table was read for */
	struct usk *v;			/* sorted by ino */
	size_t nr, cap;
} diag;

static void diag_free(void)
{
	for (size_t i = 0; i < diag.nr; i++)
		free(diag.v[i].icons);
	free(diag.v);
	memset(&diag, 0, sizeof(diag));
}

/* One reply of the dump: a socket into the table. 0 or -errno (logged). */
static int diag_parse(struct nlmsghdr *nlh, void *arg)
{
	struct unix_diag_msg *m = nlmsg_data(nlh);
	struct nlattr *tb[UNIX_DIAG_MAX + 1];
	struct usk *u;

	(void)arg;
	if (nlmsg_parse(nlh, sizeof(*m), tb, UNIX_DIAG_MAX, NULL) < 0)
		return pr_errno(-EBADMSG, "sock_diag: a malformed unix_diag message");
	if (diag.nr == diag.cap) {
		size_t cap = diag.cap ? diag.cap * 2 : 64;
		struct usk *n = xrealloc(diag.v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		diag.v = n;
		diag.cap = cap;
	}
	u = &diag.v[diag.nr];
	memset(u, 0, sizeof(*u));
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	if (tb[UNIX_DIAG_NAME]) {
		unsigned len = nla_len(tb[UNIX_DIAG_NAME]);

		if (len > SUN_PATH_MAX)
			len = SUN_PATH_MAX;
		memcpy(u->name, nla_data(tb[UNIX_DIAG_NAME]), len);
		/* A path name may carry its terminating 0; abstract ones start with 0. */
		while (len > 1 && u->name[0] && !u->name[len - 1])
			len--;
		u->name_len = len;
	}
	if (tb[UNIX_DIAG_VFS]) {
		struct unix_diag_vfs *vfs = nla_data(tb[UNIX_DIAG_VFS]);

		u->has_vfs = true;
		u->vfs_ino = vfs->udiag_vfs_ino;
		u->vfs_dev = vfs->udiag_vfs_dev;
	}
	if (tb[UNIX_DIAG_PEER]) {
		u->has_peer = true;
		u->peer = nla_get_u32(tb[UNIX_DIAG_PEER]);
	}
	if (tb[UNIX_DIAG_RQLEN]) {
		struct unix_diag_rqlen *rq = nla_data(tb[UNIX_DIAG_RQLEN]);

		u->rq = rq->udiag_rqueue;
		u->wq = rq->udiag_wqueue;
	}
	if (tb[UNIX_DIAG_SHUTDOWN])
		u->shutdown = nla_get_u8(tb[UNIX_DIAG_SHUTDOWN]);
	if (tb[UNIX_DIAG_ICONS] && nla_len(tb[UNIX_DIAG_ICONS]) >= (int)sizeof(uint32_t)) {
		u->nr_icons = nla_len(tb[UNIX_DIAG_ICONS]) / sizeof(uint32_t);
		u->icons = xmalloc(u->nr_icons * sizeof(uint32_t));
		if (!u->icons)
			return -ENOMEM;
		memcpy(u->icons, nla_data(tb[UNIX_DIAG_ICONS]), u->nr_icons * sizeof(uint32_t));
	}
	diag.nr++;
	return 0;
}

static int cmp_usk(const void *a, const void *b)
{
	uint32_t x = ((const struct usk *)a)->ino, y = ((const struct usk *)b)->ino;

	return (x > y) - (x < y);
}

/* Reads every unix socket of cr's netns. Returns 0 or -errno (logged). */
static int diag_load(void)
{
	struct unix_diag_req req = {
		.sdiag_family = AF_UNIX,
		.udiag_states = ~0u,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER |
			      UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN,
	};
	int err = sock_diag_dump(&req, sizeof(req), "unix sockets", diag_parse, NULL);

	if (err)
		return err;
	qsort(diag.v, diag.nr, sizeof(*diag.v), cmp_usk);
	pr_debug("sock_diag: %zu unix sockets", diag.nr);
	return 0;
}

const struct usk *unix_diag_find(uint32_t ino)
{
	struct usk key = { .ino = ino };

	return diag.nr ? bsearch(&key, diag.v, diag.nr, sizeof(*diag.v), cmp_usk) : NULL;
}

const struct usk *unix_diag_next(const struct usk *prev)
{
	size_t i = prev ? (size_t)(prev - diag.v) + 1 : 0;

	return i < diag.nr ? &diag.v[i] : NULL;
}

/*
 * The table for dump @df, read at its first use (the tree is frozen by
 * then), and again when it lacks socket @ino: a dump struct may sit
 * where a freed one was, so the pointer alone cannot tell an old table.
 */
int unix_diag_get(const struct files_dump *df, uint32_t ino)
{
	int err;

	if (diag.df == df && diag.v && unix_diag_find(ino))
		return 0;
	diag_free();
	err = diag_load();
	if (err) {
		diag_free();
		return err;
	}
	diag.df = df;
	return 0;
}

static bool same_name(const struct usk *a, const struct usk *b)
{
	if (!a->name_len || a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len))
		return false;
	/* One path may name different files over time: the inode decides. */
	if (a->name[0])
		return a->has_vfs && b->has_vfs && a->vfs_ino == b->vfs_ino && a->vfs_dev == b->vfs_dev;
	return true;
}

/*
 * A connected socket that carries its listener's name (the kernel gives
 * an accepted socket the listener's address) was accepted from it.
 */
const struct usk *unix_diag_listener_of(const struct usk *u)
{
	if (u->state != SK_ESTABLISHED || u->type == SOCK_DGRAM || !u->name_len)
		return NULL;
	for (size_t i = 0; i < diag.nr; i++)
		if (diag.v[i].state == SK_LISTEN && diag.v[i].type == u->type && same_name(&diag.v[i], u))
			return &diag.v[i];
	return NULL;
}

const struct usk *unix_diag_icon_owner(uint32_t ino)
{
	for (size_t i = 0; i < diag.nr; i++)
		for (uint32_t k = 0; k < diag.v[i].nr_icons; k++)
			if (diag.v[i].icons[k] == ino)
				return &diag.v[i];
	return NULL;
}
