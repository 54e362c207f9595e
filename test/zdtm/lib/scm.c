/* Messages with fds alongside (SCM_RIGHTS) on unix sockets. */
#include <string.h>
#include <sys/socket.h>
#include "zdtm.h"

/* Room for the fds of one message in these helpers. */
#define SCM_ROOM	16

void scm_send_fds(int sk, const char *text, const int *fds, int nr, int flags)
{
	char cbuf[CMSG_SPACE(SCM_ROOM * sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nr > SCM_ROOM)
		fail("scm_send_fds: %d fds, at most %d", nr, SCM_ROOM);
	if (nr) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nr * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nr * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nr * sizeof(int));
	}
	if (sendmsg(sk, &mh, flags) != (ssize_t)iov.iov_len)
		fail_errno("sending '%s' with %d fds", text, nr);
}

int scm_recv_fds(int sk, const char *text, bool whole, int *fds, int max, int flags)
{
	char buf[256], cbuf[CMSG_SPACE(SCM_ROOM * sizeof(int))];
	size_t len = strlen(text);
	struct iovec iov = { buf, whole ? sizeof(buf) : len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(sk, &mh, flags);
	int nr = 0;

	if (n < 0)
		fail_errno("receiving '%s'", text);
	if ((size_t)n != len || memcmp(buf, text, len))
		fail("got %zd bytes '%.*s', expected '%s'", n, (int)(n > 0 ? n : 0), buf, text);
	if (mh.msg_flags & MSG_CTRUNC)
		fail("'%s': its fds did not fit (MSG_CTRUNC)", text);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; CMSG_LEN((i + 1) * sizeof(int)) <= c->cmsg_len; i++, nr++) {
			if (nr >= max)
				fail("'%s' came with more than %d fds", text, max);
			memcpy(&fds[nr], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
	}
	return nr;
}

int scm_recv_fd(int sk, const char *text, int flags)
{
	int fd;

	if (scm_recv_fds(sk, text, false, &fd, 1, flags) != 1)
		fail("'%s' came without its fd", text);
	return fd;
}
