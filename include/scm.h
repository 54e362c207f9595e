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

static inline ssize_t scm_send(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		h.msg_control = cbuf;
		h.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &h, MSG_NOSIGNAL);
}

#endif
