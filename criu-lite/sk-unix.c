/*
 * Unix sockets (AF_UNIX): stream, datagram and seqpacket; socketpairs,
 * bound (path and abstract names, also a path unlinked after bind),
 * listening sockets with the connections accepted from them, connected
 * datagram sockets; the receive queues (message boundaries kept for
 * datagram and seqpacket), shutdown state and socket options.
 *
 * Dump: names, peers, pending connections and queue lengths come from the
 * kernel's sock_diag (NETLINK_SOCK_DIAG, unix_diag), read once per dump
 * while the tree is frozen. Queued bytes are read without consuming them:
 * MSG_PEEK on cr's copy of the socket, walking the queue with SO_PEEK_OFF
 * (which is put back afterwards: it belongs to the socket).
 *
 * Restore: a connected pair is made with socketpair() (then each end is
 * bound to its name), an accepted connection by connecting a new socket
 * to the restored listener and accepting it. Queues are refilled by
 * sending from the peer (or from a temporary socket for a datagram socket
 * that others send to), then shutdowns are applied.
 *
 * Refused, with the pid and fd: a peer outside the tree, connections not
 * yet accepted, file descriptors in flight (SCM_RIGHTS), an accepted
 * connection whose listener is outside the tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/unix_diag.h>
#include <netlink/msg.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "log.h"
#include "sk-opts.h"
#include "sock-diag.h"

/* Socket states as unix_diag reports them (include/net/tcp_states.h). */
#define SK_ESTABLISHED	1
#define SK_CLOSE	7
#define SK_LISTEN	10

/* sk_shutdown bits (include/net/sock.h). */
#define SK_RCV_SHUTDOWN		1
#define SK_SEND_SHUTDOWN	2

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)

/* The first datagram buffer; grown to the largest message. */
#define DGRAM_BUF_START	(64 * 1024)
/* Room for the control messages MSG_PEEK brings (SCM_RIGHTS, SCM_CREDENTIALS). */
#define CMSG_ROOM	4096

/* ==== sock_diag ========================================================= */

/* One unix socket of the netns, as unix_diag describes it. */
struct usk {
	uint32_t ino;
	uint8_t type, state, shutdown;
	bool has_vfs, has_peer;
	uint32_t vfs_ino, vfs_dev;	/* the socket file, kernel dev_t encoding */
	uint32_t peer;			/* 0: the peer was closed */
	uint32_t rq, wq;		/* queued bytes; a listener: queued connections, backlog */
	uint32_t nr_icons;		/* a listener: connections not accepted yet */
	uint32_t *icons;
	unsigned name_len;
	char name[SUN_PATH_MAX];
};

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

static const struct usk *diag_find(uint32_t ino)
{
	struct usk key = { .ino = ino };

	return diag.nr ? bsearch(&key, diag.v, diag.nr, sizeof(*diag.v), cmp_usk) : NULL;
}

/*
 * The table for dump @df, read at its first use (the tree is frozen by
 * then), and again when it lacks socket @ino: a dump struct may sit
 * where a freed one was, so the pointer alone cannot tell an old table.
 */
static int diag_get(const struct files_dump *df, uint32_t ino)
{
	int err;

	if (diag.df == df && diag.v && diag_find(ino))
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
static const struct usk *listener_of(const struct usk *u)
{
	if (u->state != SK_ESTABLISHED || u->type == SOCK_DGRAM || !u->name_len)
		return NULL;
	for (size_t i = 0; i < diag.nr; i++)
		if (diag.v[i].state == SK_LISTEN && diag.v[i].type == u->type && same_name(&diag.v[i], u))
			return &diag.v[i];
	return NULL;
}

static const struct usk *icon_owner(uint32_t ino)
{
	for (size_t i = 0; i < diag.nr; i++)
		for (uint32_t k = 0; k < diag.v[i].nr_icons; k++)
			if (diag.v[i].icons[k] == ino)
				return &diag.v[i];
	return NULL;
}

/* ==== dump ============================================================== */

static bool unix_match(const struct fd_dump *d)
{
	if (!S_ISSOCK(d->st.st_mode))
		return false;
	if (diag_get(d->df, d->st.st_ino))
		return false;
	return diag_find(d->st.st_ino) != NULL;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "datagram";
	case SOCK_SEQPACKET: return "seqpacket";
	default: return "unknown type";
	}
}

/* The options kept (the same for every unix socket type), in the order restore sets them. */
#define UNIX_OPT(o, when, fl, field)							\
	SK_OPT_INT_ROW(UnixSkOpts, SOL_SOCKET, o, o, when, fl, field, SK_OPT_NO_HAS)
static const struct sk_opt unix_opts[] = {
	/* getsockopt reports the doubled value the kernel keeps; setsockopt doubles. */
	UNIX_OPT(SO_SNDBUF, SK_SET_ALWAYS, SK_OPT_HALF, sndbuf),
	UNIX_OPT(SO_RCVBUF, SK_SET_ALWAYS, SK_OPT_HALF, rcvbuf),
	UNIX_OPT(SO_PASSCRED, SK_SET_NONZERO, 0, passcred),
	UNIX_OPT(SO_PASSSEC, SK_SET_NONZERO, 0, passsec),
	UNIX_OPT(SO_PEEK_OFF, SK_SET_NONNEG, 0, peek_off),
	SK_OPT_TIMEO_ROW(UnixSkOpts, SO_RCVTIMEO, rcvtimeo_us, SK_OPT_NO_HAS),
	SK_OPT_TIMEO_ROW(UnixSkOpts, SO_SNDTIMEO, sndtimeo_us, SK_OPT_NO_HAS),
#undef UNIX_OPT
};

static int dump_opts(const struct fd_dump *d, UnixSkOpts *o)
{
	unix_sk_opts__init(o);
	return sk_opts_dump(d, unix_opts, ARRAY_SIZE(unix_opts), 0, o);
}

/* Fds in flight came with the peek (the kernel clones them): close ours, refuse. */
static int check_cmsgs(const struct fd_dump *d, struct msghdr *mh)
{
	bool fds = false;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		fds = true;
		for (int *p = (int *)CMSG_DATA(c); (char *)(p + 1) <= (char *)c + c->cmsg_len; p++)
			close(*p);
	}
	if (fds || (mh->msg_flags & MSG_CTRUNC))
		return files_refuse(d, "a unix socket",
				    "file descriptors are in flight in its queue (SCM_RIGHTS)");
	return 0;
}

struct peek_buf {
	char *p;
	size_t size;
};

/*
 * Peeks at the next part of the queue after the peek offset into @b.
 * Returns the length of the message (datagrams: the whole of it, even if
 * larger than @b; MSG_TRUNC), -EAGAIN past the end (not logged), or -errno.
 */
static ssize_t peek_one(const struct fd_dump *d, struct peek_buf *b, int flags)
{
	char cbuf[CMSG_ROOM] __attribute__((aligned(8)));
	struct iovec iov = { b->p, b->size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	ssize_t n = recvmsg(d->cr_fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | flags);
	int err;

	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : pr_errno(-errno, "pid %d: fd %d (%s): peeking at its queue",
						      d->pid, d->fd, d->link);
	err = check_cmsgs(d, &mh);
	return err ? err : n;
}

static int add_ref(const struct fd_dump *d, UnixSkEntry *u, const void *buf, size_t len)
{
	DataRef **n = xrealloc(u->queue, (u->n_queue + 1) * sizeof(*n));
	int err;

	if (!n)
		return -ENOMEM;
	u->queue = n;
	n[u->n_queue] = xmalloc(sizeof(**n));
	if (!n[u->n_queue])
		return -ENOMEM;
	err = fdata_append(d->df, buf, len, n[u->n_queue]);
	u->n_queue++;
	return err;
}

/* The receive queue, walked with SO_PEEK_OFF from 0. */
static int walk_queue(const struct fd_dump *d, UnixSkEntry *u)
{
	struct peek_buf b = { xmalloc(DGRAM_BUF_START), DGRAM_BUF_START };
	_cleanup_free_ char *stream = NULL;
	size_t stream_len = 0;
	int off = 0, err;

	if (!b.p)
		return -ENOMEM;
	err = sk_dump_set_peek_off(d, 0);
	while (!err) {
		ssize_t n = peek_one(d, &b, u->type == SOCK_STREAM ? 0 : MSG_TRUNC);

		if (n < 0 && n != -EAGAIN)
			err = n;
		/*
		 * The end of a datagram queue says EAGAIN: 0 is a zero-length
		 * datagram, which the peek offset cannot step over. Stream
		 * and seqpacket say 0 at the end after a shutdown.
		 */
		if (n == 0 && u->type == SOCK_DGRAM)
			err = files_refuse(d, "a unix socket", "a zero-length datagram is in its queue");
		if (n <= 0)
			break;
		if (u->type == SOCK_STREAM) {
			char *s = xrealloc(stream, stream_len + n);

			if (!s) {
				err = -ENOMEM;
				break;
			}
			stream = s;
			memcpy(stream + stream_len, b.p, n);
			stream_len += n;
		} else if ((size_t)n > b.size) {
			/* Truncated: the offset moved by what was copied; peek it again whole. */
			char *p = xrealloc(b.p, n);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			b.p = p;
			b.size = n;
			err = sk_dump_set_peek_off(d, off);
			continue;
		} else {
			err = add_ref(d, u, b.p, n);
		}
		off += n;
	}
	free(b.p);
	if (!err && stream_len)
		err = add_ref(d, u, stream, stream_len);
	/* SO_PEEK_OFF belongs to the socket: the task gets its own value back. */
	if (sk_dump_set_peek_off(d, u->opts->peek_off) && !err)
		err = -EIO;
	return err;
}

/* Sets name, dir, deleted and mode of a bound socket. */
static int dump_name(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u, bool accepted)
{
	char path[PATH_MAX + SUN_PATH_MAX + 2], cwd[PATH_MAX];
	struct stat st;
	ssize_t n;

	u->has_name = true;
	u->name.len = us->name_len;
	u->name.data = xmalloc(us->name_len);
	if (!u->name.data)
		return -ENOMEM;
	memcpy(u->name.data, us->name, us->name_len);
	if (!us->name[0] && us->name_len)
		return 0;		/* abstract */

	snprintf(path, sizeof(path), "%.*s", (int)us->name_len, us->name);
	if (path[0] != '/') {
		char link[64];

		snprintf(link, sizeof(link), "/proc/%d/cwd", d->pid);
		n = readlink(link, cwd, sizeof(cwd) - 1);
		if (n < 0)
			return pr_errno(-errno, "pid %d: fd %d: readlink %s", d->pid, d->fd, link);
		cwd[n] = '\0';
		u->dir = xstrdup(cwd);
		if (!u->dir)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s/%.*s", cwd, (int)us->name_len, us->name);
	}
	if (stat(path, &st) == 0 && us->has_vfs && st.st_ino == us->vfs_ino &&
	    major(st.st_dev) == (us->vfs_dev >> 20) && minor(st.st_dev) == (us->vfs_dev & 0xfffff)) {
		u->has_mode = true;
		u->mode = st.st_mode & 07777;
		return 0;
	}
	if (accepted)
		return 0;		/* restored through its listener, never bound */
	if (stat(path, &st) == 0)
		return files_refuse(d, "a unix socket",
				    "its path was replaced by another file since bind (a relative name bound in another directory?)");
	u->has_deleted = true;
	u->deleted = true;
	return 0;
}

/*
 * A client whose connection waits in a listener's queue: the listener
 * (in the tree) connects it again at restore. What it sent already sits
 * in the embryo, which cr cannot read: refused.
 */
static int dump_pending(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u)
{
	const struct usk *l = icon_owner(us->ino);
	uint32_t id;
	int err;

	if (!l)
		return files_refuse(d, "a unix socket", "its connection was not accepted yet, by a listener sock_diag does not show");
	err = files_dump_find(d->df, d->st.st_dev, l->ino, NULL, NULL, &id);
	if (err == -ENOENT)
		return files_refuse(d, "a unix socket",
				    "its connection was not accepted yet by a listening socket outside the dumped tree");
	if (err)
		return err;
	if (us->wq)
		return files_refuse(d, "a unix socket",
				    "it sent data on a connection not accepted yet (cr cannot read it back)");
	u->has_listener = true;
	u->listener = id;
	u->has_pending = true;
	u->pending = true;
	return 0;
}

/* Peer, listener and accepted connections. */
static int dump_links(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u)
{
	const struct usk *l;
	uint32_t id;
	int err;

	if (us->state == SK_LISTEN) {
		/* unix_diag names a pending connection by its client's inode. */
		for (uint32_t k = 0; k < us->nr_icons; k++) {
			uint32_t *n;

			err = files_dump_find(d->df, d->st.st_dev, us->icons[k], NULL, NULL, &id);
			if (err == -ENOENT)
				return files_refuse(d, "a listening unix socket",
						    "a connection from outside the dumped tree waits to be accepted");
			if (err)
				return err;
			n = xrealloc(u->icons, (u->n_icons + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			u->icons = n;
			u->icons[u->n_icons++] = id;
		}
		u->has_backlog = true;
		u->backlog = us->wq;
		for (size_t i = 0; i < diag.nr; i++) {
			const struct usk *v = &diag.v[i];
			uint32_t *n;

			if (v == us || listener_of(v) != us)
				continue;
			err = files_dump_find(d->df, d->st.st_dev, v->ino, NULL, NULL, &id);
			if (err == -ENOENT)
				continue;	/* held outside the tree: not ours to restore */
			if (err)
				return err;
			n = xrealloc(u->accepted, (u->n_accepted + 1) * sizeof(*n));
			if (!n)
				return -ENOMEM;
			u->accepted = n;
			u->accepted[u->n_accepted++] = id;
		}
		return 0;
	}
	l = listener_of(us);
	if (!l && us->has_peer && us->peer) {
		const struct usk *p = diag_find(us->peer);

		l = p ? listener_of(p) : NULL;
	}
	if (l) {
		err = files_dump_find(d->df, d->st.st_dev, l->ino, NULL, NULL, &id);
		if (err == -ENOENT)
			return files_refuse(d, "a unix socket",
					    "it was accepted from a listening socket outside the dumped tree");
		if (err)
			return err;
		u->has_listener = true;
		u->listener = id;
	}
	if (!us->has_peer)
		return 0;
	/*
	 * Peer inode 0: a closed peer, or the embryo a listener holds for a
	 * connection not accepted yet (it has no inode). Closing a stream
	 * peer shuts this end down both ways; a pending connection is not.
	 */
	if (!us->peer && us->type != SOCK_DGRAM &&
	    (us->shutdown & (SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN)) != (SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN))
		return dump_pending(d, us, u);
	if (!us->peer) {
		u->has_peer_gone = true;
		u->peer_gone = true;
		return 0;
	}
	err = files_dump_find(d->df, d->st.st_dev, us->peer, NULL, NULL, &id);
	if (err == -ENOENT) {
		char why[128];

		if (icon_owner(us->peer))
			return files_refuse(d, "a unix socket", "its connection was not accepted yet by the listening socket");
		snprintf(why, sizeof(why), "its peer (socket inode %u) is outside the dumped tree", us->peer);
		return files_refuse(d, "a unix socket", why);
	}
	if (err)
		return err;
	u->has_peer = true;
	u->peer = id;
	return 0;
}

static int unix_dump(struct fd_dump *d, FileEntry *fe)
{
	const struct usk *us;
	UnixSkEntry *u;
	int err;

	err = diag_get(d->df, d->st.st_ino);
	if (err)
		return err;
	us = diag_find(d->st.st_ino);
	if (!us)
		return files_refuse(d, "a unix socket", "sock_diag does not list it (another network namespace?)");
	if (us->type != SOCK_STREAM && us->type != SOCK_DGRAM && us->type != SOCK_SEQPACKET)
		return files_refuse(d, "a unix socket of an unknown type", NULL);
	if (us->state != SK_ESTABLISHED && us->state != SK_LISTEN && us->state != SK_CLOSE)
		return files_refuse(d, "a unix socket", "it is being connected");

	u = xmalloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	unix_sk_entry__init(u);
	fe->unix_sk = u;
	u->opts = xmalloc(sizeof(*u->opts));
	if (!u->opts)
		return -ENOMEM;
	u->type = us->type;
	u->state = us->state;
	u->ino = us->ino;
	u->shutdown = us->shutdown;
	err = dump_opts(d, u->opts);
	if (!err)
		err = dump_links(d, us, u);
	if (!err && us->name_len)
		err = dump_name(d, us, u, listener_of(us) != NULL);
	if (!err && us->state != SK_LISTEN)
		err = walk_queue(d, u);
	if (!err)
		pr_info("pid %d: fd %d: unix %s socket ino %u state %u%s%s, %zu queue runs",
			d->pid, d->fd, type_name(u->type), us->ino, us->state,
			u->has_peer ? ", connected" : "", u->has_listener ? ", accepted" : "",
			u->n_queue);
	return err;
}

static void unix_free_entry(FileEntry *fe)
{
	UnixSkEntry *u = fe->unix_sk;

	if (!u)
		return;
	for (size_t i = 0; i < u->n_queue; i++)
		free(u->queue[i]);
	free(u->queue);
	free(u->accepted);
	free(u->icons);
	free(u->name.data);
	free(u->dir);
	free(u->opts);
	free(u);
	fe->unix_sk = NULL;
}

/* ==== restore =========================================================== */

static bool is_path(const UnixSkEntry *u)
{
	return u->has_name && u->name.len && u->name.data[0];
}

/* The name as a C string (a path name) for messages and file operations. */
static void name_str(const UnixSkEntry *u, char *buf, size_t size)
{
	if (!u->has_name || !u->name.len)
		snprintf(buf, size, "(unnamed)");
	else if (!u->name.data[0])
		snprintf(buf, size, "@%.*s", (int)u->name.len - 1, (const char *)u->name.data + 1);
	else if (u->dir)
		snprintf(buf, size, "%s/%.*s", u->dir, (int)u->name.len, (const char *)u->name.data);
	else
		snprintf(buf, size, "%.*s", (int)u->name.len, (const char *)u->name.data);
}

static socklen_t make_addr(const UnixSkEntry *u, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, u->name.data, u->name.len);
	return offsetof(struct sockaddr_un, sun_path) + u->name.len + (is_path(u) ? 1 : 0);
}

/*
 * A relative name resolves against the directory it was bound in: cr
 * works there (fchdir) while it binds, connects or unlinks it.
 */
struct in_dir {
	int saved;
};

static int enter_dir(const UnixSkEntry *u, struct in_dir *s)
{
	s->saved = -1;
	if (!is_path(u) || !u->dir)
		return 0;
	s->saved = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->saved < 0)
		return pr_errno(-errno, "unix socket: opening cr's working directory");
	if (chdir(u->dir) < 0) {
		int err = pr_errno(-errno, "unix socket %.*s: entering %s, the directory it was bound in",
				   (int)u->name.len, (const char *)u->name.data, u->dir);

		close(s->saved);
		s->saved = -1;
		return err;
	}
	return 0;
}

static void leave_dir(struct in_dir *s)
{
	if (s->saved < 0)
		return;
	if (fchdir(s->saved) < 0)
		pr_perror("unix socket: going back to cr's working directory");
	close(s->saved);
	s->saved = -1;
}

static int set_opts(int fd, const UnixSkEntry *u)
{
	char name[SUN_PATH_MAX + PATH_MAX + 8], what[sizeof(name) + 16];

	name_str(u, name, sizeof(name));
	snprintf(what, sizeof(what), "unix socket %s", name);
	return sk_opts_restore(fd, unix_opts, ARRAY_SIZE(unix_opts), 0, u->opts, what);
}

/*
 * What is at a path name now: nothing, or a socket file (the original's,
 * left when it died: replaced) is fine; anything else is an error naming it.
 */
static int check_path_free(const UnixSkEntry *u, bool remove)
{
	char what[SUN_PATH_MAX + PATH_MAX + 8], rel[SUN_PATH_MAX + 1];
	struct in_dir s;
	struct stat st;
	int err;

	name_str(u, what, sizeof(what));
	snprintf(rel, sizeof(rel), "%.*s", (int)u->name.len, (const char *)u->name.data);
	err = enter_dir(u, &s);
	if (err)
		return err;
	if (lstat(rel, &st) < 0) {
		err = errno == ENOENT ? 0 : pr_errno(-errno, "unix socket %s: stat", what);
	} else if (!S_ISSOCK(st.st_mode)) {
		err = pr_errno(-EEXIST, "unix socket %s: the path exists and is not a socket (mode 0%o); cr will not replace it",
			       what, (unsigned)st.st_mode);
	} else if (remove) {
		if (unlink(rel) < 0)
			err = pr_errno(-errno, "unix socket %s: removing the stale socket file", what);
		else
			pr_info("unix socket %s: replaced the stale socket file", what);
	}
	leave_dir(&s);
	return err;
}

static int sk_bind(int fd, const UnixSkEntry *u)
{
	char what[SUN_PATH_MAX + PATH_MAX + 8];
	struct sockaddr_un sa;
	socklen_t len = make_addr(u, &sa);
	struct in_dir s;
	int err;

	if (!u->has_name || !u->name.len)
		return 0;
	name_str(u, what, sizeof(what));
	if (is_path(u)) {
		err = check_path_free(u, true);
		if (err)
			return err;
	}
	err = enter_dir(u, &s);
	if (err)
		return err;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0)
		err = pr_errno(-errno, "unix socket %s: bind", what);
	else if (is_path(u) && u->has_mode && fchmodat(AT_FDCWD, sa.sun_path, u->mode, 0) < 0)
		err = pr_errno(-errno, "unix socket %s: chmod 0%o", what, u->mode);
	/* After a failed chmod the file is ours; EADDRINUSE means it is someone else's. */
	if (err && is_path(u) && err != -EADDRINUSE)
		(void)unlink(sa.sun_path);
	leave_dir(&s);
	return err;
}

static int sk_connect(int fd, const UnixSkEntry *to)
{
	char what[SUN_PATH_MAX + PATH_MAX + 8];
	struct sockaddr_un sa;
	socklen_t len = make_addr(to, &sa);
	struct in_dir s;
	int err;

	name_str(to, what, sizeof(what));
	if (!to->has_name || !to->name.len)
		return pr_errno(-EBADMSG, "unix socket: connecting to an unnamed socket other than through socketpair");
	err = enter_dir(to, &s);
	if (err)
		return err;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		err = pr_errno(-errno, "unix socket: connecting to %s", what);
	leave_dir(&s);
	return err;
}

/* A new socket of @u's kind with its options and name. */
static int new_socket(const UnixSkEntry *u)
{
	_cleanup_close_ int fd = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return pr_errno(-errno, "unix %s socket: socket()", type_name(u->type));
	err = set_opts(fd, u);
	if (!err)
		err = sk_bind(fd, u);
	return err ? err : TAKE_FD(fd);
}

static const UnixSkEntry *entry_of(struct files_rst *rf, uint32_t id)
{
	const FileEntry *fe = files_rst_entry(rf, id);

	return fe && fe->kind == FILE_KIND__FILE_UNIX_SK ? fe->unix_sk : NULL;
}

static bool mutual(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *p;

	if (!u->has_peer)
		return false;
	p = entry_of(rf, u->peer);
	return p && p->has_peer && p->peer == fe->id;
}

/* An accepted socket carries its listener's name: it never binds one itself. */
static bool binds_path(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *l;

	if (!is_path(u))
		return false;
	if (!u->has_listener)
		return true;
	l = entry_of(rf, u->listener);
	for (size_t i = 0; l && i < l->n_accepted; i++)
		if (l->accepted[i] == fe->id)
			return false;
	return true;
}

static int apply_shutdown(int fd, const UnixSkEntry *u)
{
	int how;

	switch (u->shutdown & (SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN)) {
	case SK_RCV_SHUTDOWN: how = SHUT_RD; break;
	case SK_SEND_SHUTDOWN: how = SHUT_WR; break;
	case SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN: how = SHUT_RDWR; break;
	default: return 0;
	}
	if (shutdown(fd, how) < 0) {
		char what[SUN_PATH_MAX + PATH_MAX + 8];

		name_str(u, what, sizeof(what));
		return pr_errno(-errno, "unix socket %s: shutdown %d", what, how);
	}
	return 0;
}

/*
 * Puts @u's saved receive queue back by sending it from @from: connected
 * to it (@to_addr false) or by its name. Never blocks: a queue that does
 * not fit any more is an error.
 */
static int fill_queue(struct files_rst *rf, const UnixSkEntry *u, int from, bool to_addr)
{
	char what[SUN_PATH_MAX + PATH_MAX + 8];
	struct sockaddr_un sa;
	socklen_t len = make_addr(u, &sa);
	struct in_dir s = { -1 };
	int err = 0;

	name_str(u, what, sizeof(what));
	if (to_addr && (err = enter_dir(u, &s)))
		return err;
	for (size_t i = 0; i < u->n_queue && !err; i++) {
		_cleanup_free_ char *buf = xmalloc(u->queue[i]->len ? u->queue[i]->len : 1);
		size_t done = 0;

		if (!buf) {
			err = -ENOMEM;
			break;
		}
		err = fdata_read(rf, u->queue[i], buf);
		while (!err && (done < u->queue[i]->len || (!done && u->type != SOCK_STREAM))) {
			ssize_t n = sendto(from, buf + done, u->queue[i]->len - done,
					   MSG_DONTWAIT | MSG_NOSIGNAL,
					   to_addr ? (struct sockaddr *)&sa : NULL, to_addr ? len : 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err = pr_errno(-errno, "unix socket %s: putting back %llu queued bytes",
					       what, (unsigned long long)u->queue[i]->len);
				break;
			}
			done += n;
			if (u->type != SOCK_STREAM)
				break;		/* one message, whole */
		}
	}
	leave_dir(&s);
	return err;
}

/*
 * An accepted connection whose client was closed: accept one from a
 * temporary client, refill the queue from it, close it.
 */
static int accept_gone(struct files_rst *rf, int l, const UnixSkEntry *lu, uint32_t id,
		       const UnixSkEntry *a)
{
	_cleanup_close_ int cfd = socket(AF_UNIX, a->type | SOCK_CLOEXEC, 0), afd = -EBADF;
	int err;

	if (cfd < 0)
		return pr_errno(-errno, "unix socket file id %u: a client to accept", id);
	err = sk_connect(cfd, lu);
	if (err)
		return err;
	afd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		return pr_errno(-errno, "unix socket file id %u: accepting it", id);
	err = set_opts(afd, a);
	if (!err)
		err = fill_queue(rf, a, cfd, false);
	if (err)
		return err;
	close(TAKE_FD(cfd));
	err = apply_shutdown(afd, a);
	return err ? err : files_rst_set(rf, id, TAKE_FD(afd));
}

/* The listener, then every connection accepted from it that the tree holds. */
static int open_listener(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	_cleanup_close_ int l = new_socket(u);
	int err;

	if (l < 0)
		return l;
	if (listen(l, u->backlog) < 0)
		return pr_errno(-errno, "unix socket file id %u: listen", fe->id);
	for (size_t i = 0; i < u->n_accepted; i++) {
		const UnixSkEntry *a = entry_of(rf, u->accepted[i]), *c;
		_cleanup_close_ int cfd = -EBADF, afd = -EBADF;

		if (a && a->peer_gone) {
			err = accept_gone(rf, l, u, u->accepted[i], a);
			if (err)
				return err;
			continue;
		}
		c = a && a->has_peer ? entry_of(rf, a->peer) : NULL;
		if (!c)
			return pr_errno(-EBADMSG, "files.img: listener %u: accepted socket %u has no peer",
					fe->id, u->accepted[i]);
		cfd = new_socket(c);
		if (cfd < 0)
			return cfd;
		err = sk_connect(cfd, u);
		if (err)
			return err;
		afd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (afd < 0)
			return pr_errno(-errno, "unix socket file id %u: accepting connection %u",
					fe->id, u->accepted[i]);
		err = set_opts(afd, a);
		if (!err)
			err = files_rst_set(rf, u->accepted[i], TAKE_FD(afd));
		if (!err)
			err = files_rst_set(rf, a->peer, TAKE_FD(cfd));
		if (err)
			return err;
	}
	/* Last, so that accept() above took the connections made for it. */
	for (size_t i = 0; i < u->n_icons; i++) {
		const UnixSkEntry *c = entry_of(rf, u->icons[i]);
		_cleanup_close_ int cfd = -EBADF;

		if (!c)
			return pr_errno(-EBADMSG, "files.img: listener %u: pending client %u is not a unix socket",
					fe->id, u->icons[i]);
		cfd = new_socket(c);
		if (cfd < 0)
			return cfd;
		err = sk_connect(cfd, u);
		if (!err)
			err = files_rst_set(rf, u->icons[i], TAKE_FD(cfd));
		if (err)
			return err;
	}
	return TAKE_FD(l);
}

static int open_pair(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *p = u->has_peer ? entry_of(rf, u->peer) : NULL;
	_cleanup_close_ int a = -EBADF, b = -EBADF;
	int sv[2], err;

	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv) < 0)
		return pr_errno(-errno, "unix %s socket file id %u: socketpair", type_name(u->type), fe->id);
	a = sv[0];
	b = sv[1];
	err = set_opts(a, u);
	if (!err)
		err = sk_bind(a, u);
	if (err)
		return err;
	if (p) {
		err = set_opts(b, p);
		if (!err)
			err = sk_bind(b, p);
		if (!err)
			err = files_rst_set(rf, u->peer, TAKE_FD(b));
		return err ? err : TAKE_FD(a);
	}
	/* The peer was closed: refill the queue from it, then close it. */
	err = fill_queue(rf, u, b, false);
	if (err)
		return err;
	close(TAKE_FD(b));
	err = apply_shutdown(a, u);
	return err ? err : TAKE_FD(a);
}

static int unix_open(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	_cleanup_close_ int fd = -EBADF;
	int err;

	if (u->state == SK_LISTEN)
		return open_listener(rf, fe);
	if (u->has_listener) {
		/* The listener creates both ends of its connections. */
		err = files_rst_get(rf, u->listener);
		return err < 0 ? err : files_rst_get(rf, fe->id);
	}
	if (u->peer_gone || mutual(rf, fe))
		return open_pair(rf, fe);
	fd = new_socket(u);
	if (fd < 0)
		return fd;
	if (u->has_peer) {
		/* A datagram socket connected to a named one that is not connected back. */
		int p = files_rst_get(rf, u->peer);

		if (p < 0)
			return p;
		err = sk_connect(fd, entry_of(rf, u->peer));
		if (err)
			return err;
	}
	return TAKE_FD(fd);
}

static int unlink_name(const UnixSkEntry *u)
{
	char what[SUN_PATH_MAX + PATH_MAX + 8], rel[SUN_PATH_MAX + 1];
	struct in_dir s;
	int err;

	name_str(u, what, sizeof(what));
	snprintf(rel, sizeof(rel), "%.*s", (int)u->name.len, (const char *)u->name.data);
	err = enter_dir(u, &s);
	if (err)
		return err;
	if (unlink(rel) < 0)
		err = pr_errno(-errno, "unix socket %s: unlinking it after bind, as it was at dump", what);
	leave_dir(&s);
	return err;
}

/*
 * Every socket exists now: queues and shutdowns. A connected pair is done
 * by its lower id, both directions before either shutdown (a shutdown
 * would stop the other direction's refill).
 */
static int unix_post_open(struct files_rst *rf, const FileEntry *fe, int fd)
{
	const UnixSkEntry *u = fe->unix_sk;
	int err = 0;

	if (u->state != SK_LISTEN && !u->peer_gone) {
		if (mutual(rf, fe)) {
			const UnixSkEntry *p = entry_of(rf, u->peer);
			int pfd;

			if (u->peer < fe->id)
				goto names;
			pfd = files_rst_get(rf, u->peer);
			if (pfd < 0)
				return pfd;
			err = fill_queue(rf, u, pfd, false);
			if (!err)
				err = fill_queue(rf, p, fd, false);
			if (!err)
				err = apply_shutdown(fd, u);
			if (!err)
				err = apply_shutdown(pfd, p);
		} else if (u->n_queue) {
			_cleanup_close_ int tmp = -EBADF;

			if (u->type == SOCK_STREAM || !u->has_name || !u->name.len)
				return pr_errno(-EBADMSG, "files.img: unix socket file id %u has queued data but no peer to send it",
						fe->id);
			tmp = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
			if (tmp < 0)
				return pr_errno(-errno, "unix socket file id %u: a socket to refill its queue", fe->id);
			err = fill_queue(rf, u, tmp, true);
			if (!err)
				err = apply_shutdown(fd, u);
		} else {
			err = apply_shutdown(fd, u);
		}
	}
names:
	if (!err && u->deleted && binds_path(rf, fe))
		err = unlink_name(u);
	return err;
}

static int unix_check(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;

	if (!u || !u->opts)
		return pr_errno(-EBADMSG, "files.img: file id %u has no unix socket record", fe->id);
	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM && u->type != SOCK_SEQPACKET)
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u has type %u", fe->id, u->type);
	if (u->has_name && u->name.len > SUN_PATH_MAX - (u->name.data[0] ? 1 : 0))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: name too long", fe->id);
	if (u->has_peer && !entry_of(rf, u->peer))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: peer %u is not a unix socket",
				fe->id, u->peer);
	if (u->has_peer && u->type != SOCK_DGRAM && !mutual(rf, fe))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: its peer %u is not connected back",
				fe->id, u->peer);
	if (u->has_listener) {
		const UnixSkEntry *l = entry_of(rf, u->listener);

		bool listed = false;

		if (!l || l->state != SK_LISTEN)
			return pr_errno(-EBADMSG, "files.img: unix socket file id %u: listener %u is not a listening unix socket",
					fe->id, u->listener);
		for (size_t i = 0; i < l->n_icons; i++)
			listed |= l->icons[i] == fe->id;
		for (size_t i = 0; i < l->n_accepted; i++) {
			const UnixSkEntry *a = entry_of(rf, l->accepted[i]);

			listed |= l->accepted[i] == fe->id || (a && a->has_peer && a->peer == fe->id);
		}
		if (!listed)
			return pr_errno(-EBADMSG, "files.img: unix socket file id %u: listener %u does not list it",
					fe->id, u->listener);
	}
	for (size_t i = 0; i < u->n_icons; i++) {
		const UnixSkEntry *c = entry_of(rf, u->icons[i]);

		if (!c || !c->pending || c->listener != fe->id)
			return pr_errno(-EBADMSG, "files.img: listener %u: %u is not a client waiting for it",
					fe->id, u->icons[i]);
	}
	for (size_t i = 0; i < u->n_accepted; i++) {
		const UnixSkEntry *a = entry_of(rf, u->accepted[i]);

		if (!a || !a->has_listener || a->listener != fe->id)
			return pr_errno(-EBADMSG, "files.img: listener %u: %u is not a connection accepted from it",
					fe->id, u->accepted[i]);
	}
	/* Bound sockets only; accepted ones carry their listener's name. */
	if (binds_path(rf, fe))
		return check_path_free(u, false);
	return 0;
}

/* A failed restore: the socket files this restore bound go away. */
static void unix_abort(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	char rel[SUN_PATH_MAX + 1];
	struct in_dir s;
	struct stat st;

	if (!binds_path(rf, fe) || enter_dir(u, &s))
		return;
	snprintf(rel, sizeof(rel), "%.*s", (int)u->name.len, (const char *)u->name.data);
	if (lstat(rel, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(rel) < 0)
		pr_perror("unix socket %s: removing it after the failed restore", rel);
	leave_dir(&s);
}

const struct fd_kind fd_kind_unix = {
	.kind = FILE_KIND__FILE_UNIX_SK, .name = "unix socket",
	.match = unix_match, .dump = unix_dump, .deferred = true, .free_entry = unix_free_entry,
	.check = unix_check, .open = unix_open, .post_open = unix_post_open, .abort = unix_abort,
};
