/*
 * Unix sockets (AF_UNIX): stream, datagram and seqpacket; socketpairs,
 * bound (path and abstract names, also a path unlinked after bind),
 * listening sockets with the connections accepted from them, connected
 * datagram sockets; the receive queues (message boundaries kept for
 * datagram and seqpacket), shutdown state and socket options.
 *
 * Dump: names, peers, pending connections and queue lengths come from the
 * kernel's sock_diag (NETLINK_SOCK_DIAG, unix_diag: sk-unix-diag.c), read
 * once per dump while the tree is frozen; queued bytes are peeked
 * (sk-unix-queue.c).
 *
 * Restore: sockets are created with their connections (sk-unix-conn.c)
 * and names (sk-unix-name.c); once every socket exists, queues are
 * refilled by sending from the peer (or from a temporary socket for a
 * datagram socket that others send to), then shutdowns are applied.
 *
 * This file holds the kind's hooks; sk-unix-priv.h lists the parts.
 *
 * Files in flight in the queues (SCM_RIGHTS) are open files of the dump
 * like the tasks' (sk-unix-scm.c).
 *
 * Refused, with the pid and fd: a peer outside the tree, connections not
 * yet accepted, an accepted connection whose listener is outside the tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "sk-filter.h"
#include "files-ghost.h"
#include "sk-unix-priv.h"

/* ==== dump ============================================================== */

static bool unix_match(const struct fd_dump *d)
{
	if (!S_ISSOCK(d->st.st_mode))
		return false;
	if (unix_diag_get(d->df, d->st.st_ino))
		return false;
	return unix_diag_find(d->st.st_ino) != NULL;
}

/* A listener, or a stream or seqpacket socket never connected, has no queue (the kernel refuses a peek). */
static bool has_queue(const struct usk *us)
{
	return us->state != SK_LISTEN && !(us->state == SK_CLOSE && us->type != SOCK_DGRAM);
}

static int unix_dump_flight(struct fd_dump *d)
{
	const struct usk *us;
	int err = unix_diag_get(d->df, d->st.st_ino);

	if (err)
		return err;
	us = unix_diag_find(d->st.st_ino);
	/* unix_dump() refuses the socket sock_diag does not list. */
	return us && has_queue(us) && us->rq ? unix_scm_flight(d, us->type) : 0;
}

static int unix_dump(struct fd_dump *d, FileEntry *fe)
{
	const struct usk *us;
	UnixSkEntry *u;
	int err;

	err = unix_diag_get(d->df, d->st.st_ino);
	if (err)
		return err;
	us = unix_diag_find(d->st.st_ino);
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
	err = unix_opts_dump(d, u->opts);
	if (!err)
		err = sk_filter_dump(d, &u->filter);
	if (!err)
		err = unix_links_dump(d, us, u);
	if (!err && us->name_len)
		err = unix_dump_name(d, us, u, unix_diag_listener_of(us) != NULL);
	if (!err && us->state == SK_CLOSE && us->type != SOCK_DGRAM && us->rq)
		err = files_refuse(d, "an unconnected unix socket", "it has queued data");
	else if (!err && has_queue(us))
		err = unix_queue_dump(d, u);
	if (!err)
		pr_info("pid %d: fd %d: unix %s socket ino %u state %u%s%s, %zu queue runs, %zu with files",
			d->pid, d->fd, unix_type_name(u->type), us->ino, us->state,
			u->has_peer ? ", connected" : "", u->has_listener ? ", accepted" : "",
			u->n_queue, u->n_rights);
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
	unix_scm_free(u);
	free(u->accepted);
	free(u->icons);
	free(u->name.data);
	free(u->ext_peer.data);
	sk_filter_free(u->filter);
	ghost_attrs_free(u->file);
	free(u->dir);
	free(u->opts);
	free(u);
	fe->unix_sk = NULL;
}

/* ==== restore =========================================================== */

static int unix_open(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	_cleanup_close_ int fd = -EBADF;
	int err;

	if (u->state == SK_LISTEN)
		return unix_open_listener(rf, fe);
	if (u->has_listener) {
		/* The listener creates both ends of its connections. */
		err = files_rst_get(rf, u->listener);
		return err < 0 ? err : files_rst_get(rf, fe->id);
	}
	if (u->peer_gone || unix_mutual(rf, fe))
		return unix_open_pair(rf, fe);
	fd = unix_new_socket(u);
	if (fd < 0)
		return fd;
	if (u->has_ext_peer) {
		err = unix_connect_ext(fd, u);
		if (err)
			return err;
	} else if (u->has_peer && u->peer == fe->id) {
		/* A datagram socket connected to itself (by its own name). */
		err = unix_connect(fd, u);
		if (err)
			return err;
	} else if (u->has_peer) {
		/* A datagram socket connected to a named one that is not connected back. */
		int p = files_rst_get(rf, u->peer);

		if (p < 0)
			return p;
		err = unix_connect(fd, unix_entry_of(rf, u->peer));
		if (err)
			return err;
	}
	return TAKE_FD(fd);
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
		if (unix_mutual(rf, fe)) {
			const UnixSkEntry *p = unix_entry_of(rf, u->peer);
			int pfd;

			if (u->peer < fe->id)
				goto names;
			pfd = files_rst_get(rf, u->peer);
			if (pfd < 0)
				return pfd;
			err = unix_queue_fill(rf, u, pfd, false);
			if (!err)
				err = unix_queue_fill(rf, p, fd, false);
			if (!err)
				err = unix_shutdown_apply(fd, u);
			if (!err)
				err = unix_shutdown_apply(pfd, p);
		} else if (u->n_queue && u->has_peer && u->peer == fe->id) {
			/* Connected to itself: it takes datagrams from itself only. */
			err = unix_queue_fill(rf, u, fd, false);
			if (!err)
				err = unix_shutdown_apply(fd, u);
		} else if (u->n_queue) {
			_cleanup_close_ int tmp = -EBADF;

			if (u->type == SOCK_STREAM || !u->has_name || !u->name.len)
				return pr_errno(-EBADMSG, "files.img: unix socket file id %u has queued data but no peer to send it",
						fe->id);
			tmp = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);
			if (tmp < 0)
				return pr_errno(-errno, "unix socket file id %u: a socket to refill its queue", fe->id);
			/* A hidden path: sent through a connection made where the helper has it. */
			if (unix_is_path(u) && u->deleted) {
				err = unix_connect(tmp, u);
				if (!err)
					err = unix_queue_fill(rf, u, tmp, false);
			} else {
				err = unix_queue_fill(rf, u, tmp, true);
			}
			if (!err)
				err = unix_shutdown_apply(fd, u);
		} else {
			err = unix_shutdown_apply(fd, u);
		}
	}
names:
	if (!err && u->deleted && unix_binds_path(rf, fe))
		err = unix_unlink_name(u);
	/* Its queue is back (a pair's by the lower id, before this): the filter judged those. */
	if (!err && u->filter) {
		char what[48];

		snprintf(what, sizeof(what), "file id %u (unix socket)", fe->id);
		err = sk_filter_restore(fd, u->filter, what);
	}
	return err;
}

static int unix_check(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;
	int err;

	if (!u || !u->opts)
		return pr_errno(-EBADMSG, "files.img: file id %u has no unix socket record", fe->id);
	if (u->type != SOCK_STREAM && u->type != SOCK_DGRAM && u->type != SOCK_SEQPACKET)
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u has type %u", fe->id, u->type);
	if (u->has_name && u->name.len > SUN_PATH_MAX - (u->name.data[0] ? 1 : 0))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: name too long", fe->id);
	if (u->has_ext_peer && (!u->ext_peer.len || u->ext_peer.len > SUN_PATH_MAX - (u->ext_peer.data[0] ? 1 : 0) ||
				u->has_peer || u->n_queue ||
				(u->ext_peer.data[0] && memchr(u->ext_peer.data, 0, u->ext_peer.len))))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: its peer outside the tree is invalid",
				fe->id);
	if (sk_filter_check(u->filter))
		return pr_errno(-EBADMSG, "files.img: unix socket file id %u: its filter is invalid", fe->id);
	err = unix_links_check(rf, fe);
	if (!err)
		err = unix_scm_check(rf, fe);
	if (err)
		return err;
	/* Bound sockets only; accepted ones carry their listener's name. A deleted name's path is left alone. */
	if (unix_binds_path(rf, fe) && !u->deleted)
		return unix_check_path_free(u, false);
	return 0;
}

/* A failed restore: the socket files this restore bound go away. */
static void unix_abort(struct files_rst *rf, const FileEntry *fe)
{
	if (unix_binds_path(rf, fe))
		unix_remove_name(fe->unix_sk);
}

const struct fd_kind fd_kind_unix = {
	.kind = FILE_KIND__FILE_UNIX_SK, .name = "unix socket",
	.match = unix_match, .dump = unix_dump, .deferred = true, .dump_flight = unix_dump_flight,
	.free_entry = unix_free_entry,
	.check = unix_check, .open = unix_open, .post_open = unix_post_open, .abort = unix_abort,
};
