/*
 * Receive queues and shutdowns of unix sockets. Dump: the queued bytes
 * are read without consuming them, MSG_PEEK on cr's copy of the socket,
 * walking the queue with SO_PEEK_OFF (put back afterwards: it belongs
 * to the socket); a stream queue is one run (cut where a send with fds
 * ended: sk-unix-scm.c), a datagram or seqpacket queue one run per
 * message. Restore: the runs are sent again from the peer (or by name),
 * with the files in flight they came with, then shutdowns are applied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "sk-opts.h"
#include "sk-unix-priv.h"

/* The first datagram buffer; grown to the largest message. */
#define DGRAM_BUF_START	(64 * 1024)
/* Room for the control messages MSG_PEEK brings (SCM_RIGHTS, SCM_CREDENTIALS). */
#define CMSG_ROOM	(CMSG_SPACE(SCM_FDS_MAX * sizeof(int)) + 256)

/*
 * Peeks at the queue after the peek offset into @buf (@size bytes),
 * taking the fds that came along into @fds. Returns the length of what
 * was read (datagrams: of the whole message, even if larger than @size;
 * MSG_TRUNC), -EAGAIN past the end (not logged), or -errno.
 */
static ssize_t peek_one(const struct fd_dump *d, void *buf, size_t size, int flags, struct scm_fds *fds)
{
	char cbuf[CMSG_ROOM] __attribute__((aligned(8)));
	struct iovec iov = { buf, size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	ssize_t n = recvmsg(d->cr_fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC | flags);
	int err;

	fds->nr = 0;
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : pr_errno(-errno, "pid %d: fd %d (%s): peeking at its queue",
						      d->pid, d->fd, d->link);
	err = unix_scm_take(d, &mh, fds);
	return err ? err : n;
}

/*
 * A stream, with room for all of it in one peek: each peek stops at the
 * end of a send that carried fds (or at a change of sender, with
 * SO_PASSCRED), so the fds it brings came with the bytes up to there.
 */
static int walk_stream(const struct fd_dump *d, unix_run_fn fn, void *arg)
{
	_cleanup_free_ char *buf = NULL;
	struct scm_fds fds;
	size_t off = 0, start = 0;
	int inq, err = 0;

	if (ioctl(d->cr_fd, SIOCINQ, &inq) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): SIOCINQ", d->pid, d->fd, d->link);
	buf = xmalloc(inq + 1);
	if (!buf)
		return -ENOMEM;
	while (!err && off < (size_t)inq) {
		ssize_t n = peek_one(d, buf + off, inq + 1 - off, 0, &fds);

		/* 0: the end after a shutdown. */
		if (n == -EAGAIN || (n == 0 && !fds.nr))
			break;
		if (n == 0)
			err = files_refuse(d, "a unix socket", "files are in flight in its queue without data");
		else if (n < 0)
			err = n;
		if (!err)
			off += n;
		if (!err && fds.nr) {
			err = fn(d, buf + start, off - start, &fds, arg);
			start = off;
		}
		unix_scm_close(&fds);
	}
	if (!err && off > start)
		err = fn(d, buf + start, off - start, NULL, arg);
	return err;
}

/* Datagrams and seqpacket: one message per peek. */
static int walk_dgram(const struct fd_dump *d, unsigned type, unix_run_fn fn, void *arg)
{
	_cleanup_free_ char *buf = xmalloc(DGRAM_BUF_START);
	size_t size = DGRAM_BUF_START;
	struct scm_fds fds;
	int off = 0, err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err) {
		ssize_t n = peek_one(d, buf, size, MSG_TRUNC, &fds);

		/*
		 * The end of a datagram queue says EAGAIN: 0 is a zero-length
		 * datagram, which the peek offset cannot step over. Seqpacket
		 * says 0 at the end after a shutdown.
		 */
		if (n == 0 && type == SOCK_DGRAM)
			err = files_refuse(d, "a unix socket", "a zero-length datagram is in its queue");
		else if (n < 0 && n != -EAGAIN)
			err = n;
		if (n <= 0) {
			unix_scm_close(&fds);
			break;
		}
		if ((size_t)n > size) {
			/* Truncated: the offset moved by what was copied; peek it again whole. */
			char *p = xrealloc(buf, n);

			unix_scm_close(&fds);
			if (!p)
				return -ENOMEM;
			buf = p;
			size = n;
			err = sk_dump_set_peek_off(d, off);
			continue;
		}
		err = fn(d, buf, n, fds.nr ? &fds : NULL, arg);
		unix_scm_close(&fds);
		off += n;
	}
	return err;
}

int unix_queue_walk(const struct fd_dump *d, unsigned type, unix_run_fn fn, void *arg)
{
	int own_off, err;

	err = sk_dump_peek_from_start(d, &own_off);
	if (err)
		return err;
	err = cr_fail_point("unix-peek");
	if (!err)
		err = type == SOCK_STREAM ? walk_stream(d, fn, arg) : walk_dgram(d, type, fn, arg);
	/* SO_PEEK_OFF belongs to the socket: the task gets its own value back. */
	if (sk_dump_set_peek_off(d, own_off) && !err)
		err = -EIO;
	return err;
}

static int add_run(const struct fd_dump *d, const void *buf, size_t len, const struct scm_fds *fds, void *arg)
{
	UnixSkEntry *u = arg;
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
	if (!err && fds)
		err = unix_scm_record(d, u, u->n_queue - 1, fds);
	return err;
}

int unix_queue_dump(const struct fd_dump *d, UnixSkEntry *u)
{
	return unix_queue_walk(d, u->type, add_run, u);
}

/* ---- restore ---------------------------------------------------------- */

int unix_shutdown_apply(int fd, const UnixSkEntry *u)
{
	int how;

	switch (u->shutdown & (SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN)) {
	case SK_RCV_SHUTDOWN: how = SHUT_RD; break;
	case SK_SEND_SHUTDOWN: how = SHUT_WR; break;
	case SK_RCV_SHUTDOWN | SK_SEND_SHUTDOWN: how = SHUT_RDWR; break;
	default: return 0;
	}
	if (shutdown(fd, how) < 0) {
		char what[UNIX_NAME_STR_MAX];

		unix_name_str(u, what, sizeof(what));
		return pr_errno(-errno, "unix socket %s: shutdown %d", what, how);
	}
	return 0;
}

/*
 * Puts @u's saved receive queue back by sending it from @from: connected
 * to it (@to_addr false) or by its name. Never blocks: a queue that does
 * not fit any more is an error.
 */
int unix_queue_fill(struct files_rst *rf, const UnixSkEntry *u, int from, bool to_addr)
{
	char what[UNIX_NAME_STR_MAX];
	struct unix_in_dir s = { .saved = -1 };
	int err = 0;

	unix_name_str(u, what, sizeof(what));
	if (to_addr && (err = unix_enter_dir(u, &s)))
		return err;
	for (size_t i = 0; i < u->n_queue && !err; i++) {
		_cleanup_free_ char *buf = xmalloc(u->queue[i]->len ? u->queue[i]->len : 1);
		struct scm_cbuf cb;
		struct iovec iov;
		struct msghdr mh = {
			.msg_name = to_addr ? &s.sa : NULL, .msg_namelen = to_addr ? s.len : 0,
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		size_t done = 0;

		if (!buf) {
			err = -ENOMEM;
			break;
		}
		err = fdata_read(rf, u->queue[i], buf);
		if (!err)
			err = unix_scm_cmsg(rf, u, i, &cb, &mh);
		if (!err && mh.msg_control)
			err = cr_fail_point("unix-rights-fill");
		while (!err && (done < u->queue[i]->len || (!done && u->type != SOCK_STREAM))) {
			ssize_t n;

			iov = (struct iovec){ buf + done, u->queue[i]->len - done };
			n = sendmsg(from, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				err = pr_errno(-errno, "unix socket %s: putting back %llu queued bytes%s",
					       what, (unsigned long long)u->queue[i]->len,
					       mh.msg_control ? " with files in flight" : "");
				break;
			}
			done += n;
			/* The fds went with the first part (a stream run with fds is one send). */
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
			if (u->type != SOCK_STREAM)
				break;		/* one message, whole */
		}
	}
	unix_leave_dir(&s);
	return err;
}
