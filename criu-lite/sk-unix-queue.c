/*
 * Receive queues and shutdowns of unix sockets. Dump: the queued bytes
 * are read without consuming them, MSG_PEEK on cr's copy of the socket,
 * walking the queue with SO_PEEK_OFF (put back afterwards: it belongs
 * to the socket); a stream queue is one run, a datagram or seqpacket
 * queue one run per message. Restore: the runs are sent again from the
 * peer (or by name), then shutdowns are applied.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "sk-opts.h"
#include "sk-unix-priv.h"

/* The first datagram buffer; grown to the largest message. */
#define DGRAM_BUF_START	(64 * 1024)
/* Room for the control messages MSG_PEEK brings (SCM_RIGHTS, SCM_CREDENTIALS). */
#define CMSG_ROOM	4096

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
int unix_queue_dump(const struct fd_dump *d, UnixSkEntry *u)
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
	struct sockaddr_un sa;
	socklen_t len = unix_make_addr(u, &sa);
	struct unix_in_dir s = { -1 };
	int err = 0;

	unix_name_str(u, what, sizeof(what));
	if (to_addr && (err = unix_enter_dir(u, &s)))
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
	unix_leave_dir(&s);
	return err;
}
