#ifndef CR_SCM_H
#define CR_SCM_H

/*
 * One message on a unix socket, with one fd alongside (SCM_RIGHTS) when
 * @fd >= 0; never SIGPIPE. Returns what sendmsg() returns. Shared by the
 * engine (commands to its blob) and the tool (the guard's channel).
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define SCM_MAX_FDS	2

/* As scm_send(), with the @nr_fds (at most SCM_MAX_FDS) fds of @fds. */
static inline ssize_t scm_send_fds(int sock, const void *buf, size_t len, const int *fds, unsigned nr_fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&u, 0, sizeof(u));
	if (nr_fds) {
		struct cmsghdr *c;

		h.msg_control = u.buf;
		h.msg_controllen = CMSG_SPACE(sizeof(int) * nr_fds);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nr_fds);
	}
	return sendmsg(sock, &h, MSG_NOSIGNAL);
}

static inline ssize_t scm_send(int sock, const void *buf, size_t len, int fd)
{
	return scm_send_fds(sock, buf, len, &fd, fd >= 0);
}

/*
 * One message into @buf; the fds that came with it (close-on-exec) into
 * @fds, up to @max (at most SCM_MAX_FDS), the others of @fds set to -1.
 * Returns what recvmsg() returns.
 */
static inline ssize_t scm_recv_fds(int sock, void *buf, size_t len, int *fds, unsigned max)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SCM_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&h) : NULL;
	unsigned got = 0;

	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		got = got < max ? got : max;
		memcpy(fds, CMSG_DATA(c), sizeof(int) * got);
	}
	for (unsigned i = got; i < max; i++)
		fds[i] = -1;
	return n;
}

#endif
