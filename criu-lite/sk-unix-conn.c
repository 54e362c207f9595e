/*
 * Connections of unix sockets: peers, listeners, the connections
 * accepted from a listener and those still waiting in its queue.
 * Dump: unix_diag's inodes become file ids of the dump; a peer or
 * listener outside the tree is refused. Restore: a connected pair is
 * made with socketpair() (then each end bound to its name), an accepted
 * connection by connecting a new socket to the restored listener and
 * accepting it, a waiting one by connecting it last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "sk-unix-priv.h"

/*
 * A client whose connection waits in a listener's queue: the listener
 * (in the tree) connects it again at restore. What it sent already sits
 * in the embryo, which cr cannot read: refused.
 */
static int dump_pending(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u)
{
	const struct usk *l = unix_diag_icon_owner(us->ino);
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

/* --ext-unix-sk names @us (or its peer), or every socket. */
static bool ext_allowed(const struct fd_dump *d, const struct usk *us)
{
	const struct cr_options *o = files_dump_opts(d->df);

	if (!o->ext_unix_sk)
		return false;
	for (unsigned i = 0; i < o->nr_ext_unix_inos; i++)
		if (o->ext_unix_inos[i] == us->ino || o->ext_unix_inos[i] == us->peer)
			return true;
	return !o->nr_ext_unix_inos;
}

/*
 * --ext-unix-sk: the peer outside the tree stays where it is; the
 * restore connects a new socket to its name (a listener's, for an
 * accepted stream peer). What it sent and this socket has not read
 * could not be sent again from there: refused.
 */
static int dump_ext_peer(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u)
{
	const struct usk *p = unix_diag_find(us->peer);

	if (!p || !p->name_len)
		return files_refuse(d, "a unix socket",
				    "its peer outside the dumped tree has no name to connect to again (--ext-unix-sk)");
	if (p->name[0] && p->name[0] != '/')
		return files_refuse(d, "a unix socket",
				    "its peer outside the dumped tree has a relative name (--ext-unix-sk)");
	if (us->rq)
		return files_refuse(d, "a unix socket",
				    "data from its peer outside the dumped tree is queued, which cr cannot send again");
	u->ext_peer.data = xmalloc(p->name_len);
	if (!u->ext_peer.data)
		return -ENOMEM;
	memcpy(u->ext_peer.data, p->name, p->name_len);
	u->ext_peer.len = p->name_len;
	u->has_ext_peer = true;
	return 0;
}

/* Appends @id to the file ids @v (*@nr of them). */
static int add_id(uint32_t **v, size_t *nr, uint32_t id)
{
	uint32_t *n = xrealloc(*v, (*nr + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	*v = n;
	n[(*nr)++] = id;
	return 0;
}

/* Peer, listener and accepted connections. */
int unix_links_dump(const struct fd_dump *d, const struct usk *us, UnixSkEntry *u)
{
	const struct usk *l;
	bool via_peer;
	uint32_t id;
	int err;

	if (us->state == SK_LISTEN) {
		/* unix_diag names a pending connection by its client's inode. */
		for (uint32_t k = 0; k < us->nr_icons; k++) {
			err = files_dump_find(d->df, d->st.st_dev, us->icons[k], NULL, NULL, &id);
			if (err == -ENOENT)
				return files_refuse(d, "a listening unix socket",
						    "a connection from outside the dumped tree waits to be accepted");
			if (err)
				return err;
			err = add_id(&u->icons, &u->n_icons, id);
			if (err)
				return err;
		}
		u->has_backlog = true;
		u->backlog = us->wq;
		for (const struct usk *v = unix_diag_next(NULL); v; v = unix_diag_next(v)) {
			if (v == us || unix_diag_listener_of(v) != us)
				continue;
			err = files_dump_find(d->df, d->st.st_dev, v->ino, NULL, NULL, &id);
			if (err == -ENOENT)
				continue;	/* held outside the tree: not ours to restore */
			if (err)
				return err;
			err = add_id(&u->accepted, &u->n_accepted, id);
			if (err)
				return err;
		}
		return 0;
	}
	l = unix_diag_listener_of(us);
	via_peer = !l && us->has_peer && us->peer;
	if (via_peer) {
		const struct usk *p = unix_diag_find(us->peer);

		l = p ? unix_diag_listener_of(p) : NULL;
	}
	if (l) {
		err = files_dump_find(d->df, d->st.st_dev, l->ino, NULL, NULL, &id);
		/* A client of a server outside: its peer is outside too (below). */
		if (err == -ENOENT && !(via_peer && ext_allowed(d, us)))
			return files_refuse(d, "a unix socket",
					    "it was accepted from a listening socket outside the dumped tree");
		if (err && err != -ENOENT)
			return err;
		u->has_listener = !err;
		u->listener = err ? 0 : id;
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

		if (unix_diag_icon_owner(us->peer))
			return files_refuse(d, "a unix socket", "its connection was not accepted yet by the listening socket");
		if (ext_allowed(d, us))
			return dump_ext_peer(d, us, u);
		snprintf(why, sizeof(why), "its peer (socket inode %u) is outside the dumped tree (--ext-unix-sk keeps it)",
			 us->peer);
		return files_refuse(d, "a unix socket", why);
	}
	if (err)
		return err;
	u->has_peer = true;
	u->peer = id;
	return 0;
}

int unix_links_check(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;

	if (u->has_peer && !unix_entry_of(rf, u->peer))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: peer %u is not a unix socket",
				fe->id, u->peer);
	if (u->has_peer && u->type != SOCK_DGRAM && !unix_mutual(rf, fe))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: its peer %u is not connected back",
				fe->id, u->peer);
	if (u->has_listener) {
		const UnixSkEntry *l = unix_entry_of(rf, u->listener);
		bool listed = false;

		if (!l || l->state != SK_LISTEN)
			return pr_errno(-EBADMSG, "files.img: unix socket file id %u: listener %u is not a listening unix socket",
					fe->id, u->listener);
		for (size_t i = 0; i < l->n_icons; i++)
			listed |= l->icons[i] == fe->id;
		for (size_t i = 0; i < l->n_accepted; i++) {
			const UnixSkEntry *a = unix_entry_of(rf, l->accepted[i]);

			listed |= l->accepted[i] == fe->id || (a && a->has_peer && a->peer == fe->id);
		}
		if (!listed)
			return pr_errno(-EBADMSG, "files.img: unix socket file id %u: listener %u does not list it",
					fe->id, u->listener);
	}
	for (size_t i = 0; i < u->n_icons; i++) {
		const UnixSkEntry *c = unix_entry_of(rf, u->icons[i]);

		if (!c || !c->pending || c->listener != fe->id)
			return pr_errno(-EBADMSG, "files.img: listener %u: %u is not a client waiting for it",
					fe->id, u->icons[i]);
	}
	for (size_t i = 0; i < u->n_accepted; i++) {
		const UnixSkEntry *a = unix_entry_of(rf, u->accepted[i]);

		if (!a || !a->has_listener || a->listener != fe->id)
			return pr_errno(-EBADMSG, "files.img: listener %u: %u is not a connection accepted from it",
					fe->id, u->accepted[i]);
	}
	return 0;
}

const UnixSkEntry *unix_entry_of(struct files_rst *rf, uint32_t id)
{
	const FileEntry *fe = files_rst_entry(rf, id);

	return fe && fe->kind == FILE_KIND__FILE_UNIX_SK ? fe->unix_sk : NULL;
}

bool unix_mutual(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *p;

	/* A datagram socket connected to itself is no pair. */
	if (!u->has_peer || u->peer == fe->id)
		return false;
	p = unix_entry_of(rf, u->peer);
	return p && p->has_peer && p->peer == fe->id;
}

/* An accepted socket carries its listener's name: it never binds one itself. */
bool unix_binds_path(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *l;

	if (!unix_is_path(u))
		return false;
	if (!u->has_listener)
		return true;
	l = unix_entry_of(rf, u->listener);
	for (size_t i = 0; l && i < l->n_accepted; i++)
		if (l->accepted[i] == fe->id)
			return false;
	return true;
}

/* Gives the new socket @fd @u's options and name. */
static int sk_setup(int fd, const UnixSkEntry *u)
{
	int err = unix_opts_set(fd, u);

	return err ? err : unix_bind(fd, u);
}

int unix_new_socket(const UnixSkEntry *u)
{
	_cleanup_close_ int fd = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return pr_errno(-errno, "unix %s socket: socket()", unix_type_name(u->type));
	err = sk_setup(fd, u);
	return err ? err : TAKE_FD(fd);
}

/* A new socket @c connected to the listener @l; returns its fd. */
static int new_client(const UnixSkEntry *c, const UnixSkEntry *l)
{
	_cleanup_close_ int fd = unix_new_socket(c);
	int err;

	if (fd < 0)
		return fd;
	err = unix_connect(fd, l);
	return err ? err : TAKE_FD(fd);
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
	err = unix_connect(cfd, lu);
	if (err)
		return err;
	afd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0)
		return pr_errno(-errno, "unix socket file id %u: accepting it", id);
	err = unix_opts_set(afd, a);
	if (!err)
		err = unix_queue_fill(rf, a, cfd, false);
	if (err)
		return err;
	close(TAKE_FD(cfd));
	err = unix_shutdown_apply(afd, a);
	return err ? err : files_rst_set(rf, id, TAKE_FD(afd));
}

/* The listener, then every connection accepted from it that the tree holds. */
int unix_open_listener(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	_cleanup_close_ int l = unix_new_socket(u);
	int err;

	if (l < 0)
		return l;
	if (listen(l, u->backlog) < 0)
		return pr_errno(-errno, "unix socket file id %u: listen", fe->id);
	for (size_t i = 0; i < u->n_accepted; i++) {
		const UnixSkEntry *a = unix_entry_of(rf, u->accepted[i]), *c;
		_cleanup_close_ int cfd = -EBADF, afd = -EBADF;

		if (a && a->peer_gone) {
			err = accept_gone(rf, l, u, u->accepted[i], a);
			if (err)
				return err;
			continue;
		}
		c = a && a->has_peer ? unix_entry_of(rf, a->peer) : NULL;
		if (!c)
			return pr_errno(-EBADMSG, "files.img: listener %u: accepted socket %u has no peer",
					fe->id, u->accepted[i]);
		cfd = new_client(c, u);
		if (cfd < 0)
			return cfd;
		afd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (afd < 0)
			return pr_errno(-errno, "unix socket file id %u: accepting connection %u",
					fe->id, u->accepted[i]);
		err = unix_opts_set(afd, a);
		if (!err)
			err = files_rst_set(rf, u->accepted[i], TAKE_FD(afd));
		if (!err)
			err = files_rst_set(rf, a->peer, TAKE_FD(cfd));
		if (err)
			return err;
	}
	/* Last, so that accept() above took the connections made for it. */
	for (size_t i = 0; i < u->n_icons; i++) {
		const UnixSkEntry *c = unix_entry_of(rf, u->icons[i]);
		_cleanup_close_ int cfd = -EBADF;

		if (!c)
			return pr_errno(-EBADMSG, "files.img: listener %u: pending client %u is not a unix socket",
					fe->id, u->icons[i]);
		cfd = new_client(c, u);
		if (cfd < 0)
			return cfd;
		err = files_rst_set(rf, u->icons[i], TAKE_FD(cfd));
		if (err)
			return err;
	}
	return TAKE_FD(l);
}

int unix_open_pair(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk, *p = u->has_peer ? unix_entry_of(rf, u->peer) : NULL;
	_cleanup_close_ int a = -EBADF, b = -EBADF;
	int sv[2], err;

	if (socketpair(AF_UNIX, u->type | SOCK_CLOEXEC, 0, sv) < 0)
		return pr_errno(-errno, "unix %s socket file id %u: socketpair", unix_type_name(u->type), fe->id);
	a = sv[0];
	b = sv[1];
	err = sk_setup(a, u);
	if (err)
		return err;
	if (p) {
		err = sk_setup(b, p);
		if (!err)
			err = files_rst_set(rf, u->peer, TAKE_FD(b));
		return err ? err : TAKE_FD(a);
	}
	/* The peer was closed: refill the queue from it, then close it. */
	err = unix_queue_fill(rf, u, b, false);
	if (err)
		return err;
	close(TAKE_FD(b));
	err = unix_shutdown_apply(a, u);
	return err ? err : TAKE_FD(a);
}
