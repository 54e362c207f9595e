/*
 * Files in flight in unix socket queues (SCM_RIGHTS), as the socket kind
 * sees them; files-flight.c makes them open files of the dump.
 *
 * Dump: before any socket is dumped, every queue is peeked once
 * (unix_scm_flight(), the kind's dump_flight) so that each file in flight
 * has an id, and a socket in flight is dumped like the others (its own
 * queue too: the list of sockets grows). The queue's dump peeks again
 * and records, per run of the queue, the ids of the files that came with
 * it (unix_sk_entry.rights).
 *
 * What a peek shows (net/unix/af_unix.c): a datagram or seqpacket peek
 * returns one message with its fds. A stream peek gathers data over
 * several sends and stops at the end of the first send that carried fds,
 * with those fds; it also reports the fds of a later send it did not read
 * any byte of. So cr peeks a stream with room for all of it: the fds it
 * reports came with the send that ends where the peek stopped. Where that
 * send began is not shown: the restore sends the data between two such
 * ends as one send with the fds (they arrive with the first byte after
 * the previous fds' send, never later than before).
 *
 * Restore: the queue is sent again run by run (sk-unix-queue.c), a run
 * with files as a sendmsg with SCM_RIGHTS of cr's fds of those entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sk-unix-priv.h"

int unix_scm_take(const struct fd_dump *d, struct msghdr *mh, struct scm_fds *ret)
{
	bool trunc = mh->msg_flags & MSG_CTRUNC;

	ret->nr = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (int *p = (int *)CMSG_DATA(c); (char *)(p + 1) <= (char *)c + c->cmsg_len; p++) {
			if (ret->nr < SCM_FDS_MAX)
				ret->fd[ret->nr++] = *p;
			else {
				close(*p);
				trunc = true;
			}
		}
	}
	if (!trunc)
		return 0;
	unix_scm_close(ret);
	/* The kernel drops what does not fit cr's control buffer or its RLIMIT_NOFILE. */
	return files_refuse(d, "a unix socket",
			    "cr could not take all the files in flight in its queue (too many open files?)");
}

void unix_scm_close(struct scm_fds *f)
{
	for (unsigned i = 0; i < f->nr; i++)
		close(f->fd[i]);
	f->nr = 0;
}

/* The first peek: each fd becomes an open file of the dump (files_dump_flight()). */
static int flight_run(const struct fd_dump *d, const void *buf, size_t len, const struct scm_fds *f, void *arg)
{
	(void)buf, (void)len, (void)arg;
	for (unsigned i = 0; f && i < f->nr; i++) {
		uint32_t id;
		int err = files_dump_flight(d->df, d, f->fd[i], &id);

		if (err)
			return err;
	}
	return 0;
}

int unix_scm_flight(const struct fd_dump *d, unsigned type)
{
	return unix_queue_walk(d, type, flight_run, NULL);
}

int unix_scm_record(const struct fd_dump *d, UnixSkEntry *u, size_t run, const struct scm_fds *f)
{
	UnixSkRights **n = xrealloc(u->rights, (u->n_rights + 1) * sizeof(*n)), *r;

	if (!n)
		return -ENOMEM;
	u->rights = n;
	r = xmalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	unix_sk_rights__init(r);
	n[u->n_rights++] = r;
	r->run = run;
	r->files = xmalloc(f->nr * sizeof(*r->files));
	if (!r->files)
		return -ENOMEM;
	for (unsigned i = 0; i < f->nr; i++) {
		/* The first peek (unix_scm_flight) made every one of them known. */
		int err = files_dump_flight(d->df, d, f->fd[i], &r->files[i]);

		if (err)
			return err;
		r->n_files++;
	}
	return 0;
}

void unix_scm_free(UnixSkEntry *u)
{
	for (size_t i = 0; i < u->n_rights; i++) {
		if (u->rights[i])
			free(u->rights[i]->files);
		free(u->rights[i]);
	}
	free(u->rights);
	u->rights = NULL;
	u->n_rights = 0;
}

/* ---- restore ---------------------------------------------------------- */

int unix_scm_check(struct files_rst *rf, const FileEntry *fe)
{
	const UnixSkEntry *u = fe->unix_sk;

	for (size_t i = 0; i < u->n_rights; i++) {
		const UnixSkRights *r = u->rights[i];

		if (r->run >= u->n_queue || (i && r->run <= u->rights[i - 1]->run) || !r->n_files ||
		    r->n_files > SCM_FDS_MAX || (u->type == SOCK_STREAM && !u->queue[r->run]->len))
			return pr_errno(-EBADMSG, "files.img: unix socket file id %u: its files in flight (record %zu) are invalid",
					fe->id, i);
		for (size_t k = 0; k < r->n_files; k++)
			if (!files_rst_entry(rf, r->files[k]))
				return pr_errno(-EBADMSG, "files.img: unix socket file id %u: file id %u in flight in its queue does not exist",
						fe->id, r->files[k]);
	}
	return 0;
}

int unix_scm_cmsg(struct files_rst *rf, const UnixSkEntry *u, size_t run, struct scm_cbuf *cb, struct msghdr *mh)
{
	const UnixSkRights *r = NULL;
	struct cmsghdr *c;

	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	for (size_t i = 0; i < u->n_rights && !r; i++)
		if (u->rights[i]->run == run)
			r = u->rights[i];
	if (!r)
		return 0;
	mh->msg_control = cb->buf;
	mh->msg_controllen = CMSG_SPACE(r->n_files * sizeof(int));
	memset(cb->buf, 0, mh->msg_controllen);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(r->n_files * sizeof(int));
	for (size_t k = 0; k < r->n_files; k++) {
		int fd = files_rst_flight_fd(rf, r->files[k]);

		if (fd < 0)
			return fd;
		memcpy(CMSG_DATA(c) + k * sizeof(int), &fd, sizeof(int));
	}
	return 0;
}
