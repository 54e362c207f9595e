/*
 * console-recv SOCKET OUT IN: a console socket for `runc run
 * --console-socket` and `runc restore --console-socket` (runc's recvtty
 * does the same job; this one is ours and scriptable).
 *
 * Listens on the unix socket SOCKET. Each connection brings one pty
 * master as SCM_RIGHTS (runc's utils.SendFd: the name in the data, the fd
 * in the control message); the newest master is the terminal: what it
 * reads is appended to the file OUT, what is written to the FIFO IN goes
 * to it. Each master received adds a line "console-recv: master N" to
 * stderr. A master hung up (its slave's last holder is gone: a
 * checkpoint killed the container) is closed. Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_master(int lsk)
{
	char name[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int sk, fd = -1;

	sk = accept4(lsk, NULL, NULL, SOCK_CLOEXEC);
	if (sk < 0) {
		perror("console-recv: accept");
		return -1;
	}
	if (recvmsg(sk, &mh, MSG_CMSG_CLOEXEC) < 0)
		perror("console-recv: recvmsg");
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	else
		fprintf(stderr, "console-recv: a connection without an fd\n");
	close(sk);
	return fd;
}

static int copy(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return -1;
	return write(to, buf, n) == n ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lsk, out, in, master = -1, count = 0;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: console-recv SOCKET OUT IN\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	lsk = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsk < 0 || bind(lsk, (struct sockaddr *)&sa, sizeof(sa)) || listen(lsk, 4)) {
		perror("console-recv: listening");
		return 1;
	}
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	/* read-write: the FIFO never reads as closed between writers */
	in = open(argv[3], O_RDWR | O_CLOEXEC);
	if (out < 0 || in < 0) {
		perror("console-recv: opening OUT or IN");
		return 1;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = lsk, .events = POLLIN }, { .fd = in, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
		};

		if (poll(p, master >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("console-recv: poll");
			return 1;
		}
		if (p[0].revents & POLLIN) {
			int fd = recv_master(lsk);

			if (fd >= 0) {
				if (master >= 0)
					close(master);
				master = fd;
				fprintf(stderr, "console-recv: master %d\n", ++count);
			}
			continue;
		}
		if (master >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)) && copy(master, out)) {
			close(master);
			master = -1;
		}
		if ((p[1].revents & POLLIN)) {
			if (master < 0) {
				char drop[4096];

				/* no terminal now: the input is dropped, as a line on a hung-up terminal */
				if (read(in, drop, sizeof(drop)) < 0)
					perror("console-recv: reading IN");
			} else if (copy(in, master)) {
				perror("console-recv: writing to the master");
			}
		}
	}
}
