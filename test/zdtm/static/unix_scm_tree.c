/*
 * Fd passing between two processes of the tree, over a stream and a
 * datagram socketpair, across the checkpoint. Before it the parent sent
 * the child a pipe's read end with data in the pipe (the stream pair) and
 * an eventfd (the datagram pair), which stay in flight. After restore the
 * child receives them and finds them working; then the parent passes new
 * files (a pipe end, an eventfd) to the child and the child passes one
 * back: fd passing keeps working in both directions.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static int st[2], dg[2];

static void send_fd(int sk, const char *text, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sk, &mh, 0) != (ssize_t)iov.iov_len)
		fail_errno("sending '%s' with an fd", text);
}

/* Receives @text (blocking) with exactly one fd; returns it. */
static int recv_fd(int sk, const char *text)
{
	char buf[32], cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sk, &mh, 0);
	int fd;

	if (n < 0)
		fail_errno("receiving '%s'", text);
	if ((size_t)n != strlen(text) || memcmp(buf, text, n))
		fail("got %zd bytes '%.*s', expected '%s'", n, (int)n, buf, text);
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		fail("'%s' came without its one fd", text);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static void check_count(const char *what, int ev, uint64_t want)
{
	uint64_t v;

	if (read(ev, &v, sizeof(v)) != sizeof(v) || v != want)
		fail("%s: the eventfd does not count %llu", what, (unsigned long long)want);
}

static void check_pipe(const char *what, int rd, const char *want)
{
	char buf[32];
	size_t n = read_full(rd, buf, sizeof(buf));

	if (n != strlen(want) || memcmp(buf, want, n))
		fail("%s: the pipe holds %zu bytes, not '%s'", what, n, want);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();
	int fd, p[2];

	close(st[0]);
	close(dg[0]);
	tree_send(parent, 0);
	test_wait_checkpoint();

	fd = recv_fd(st[1], "pre-pipe");
	check_pipe("in flight over the checkpoint", fd, "before");
	close(fd);
	fd = recv_fd(dg[1], "pre-evfd");
	check_count("in flight over the checkpoint", fd, 5);
	close(fd);

	tree_send(parent, 0);		/* the parent passes new files now */
	fd = recv_fd(st[1], "post-pipe");
	check_pipe("passed after restore", fd, "after");
	close(fd);
	fd = recv_fd(dg[1], "post-evfd");
	check_count("passed after restore", fd, 9);
	close(fd);

	if (pipe(p))
		fail_errno("pipe");
	send_fd(st[1], "back", p[1]);
	close(p[1]);
	tree_recv(parent);		/* the parent wrote into it */
	check_pipe("passed back to the parent", p[0], "reply");
	tree_exit(0);
}

int main(int argc, char **argv)
{
	int p[2], ev, fd;
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		fail_errno("socketpair");
	kid = tree_fork(child);
	close(st[1]);
	close(dg[1]);
	tree_recv(kid);

	if (pipe(p))
		fail_errno("pipe");
	write_full(p[1], "before", 6);
	close(p[1]);
	send_fd(st[0], "pre-pipe", p[0]);
	close(p[0]);
	ev = eventfd(5, 0);
	if (ev < 0)
		fail_errno("eventfd");
	send_fd(dg[0], "pre-evfd", ev);
	close(ev);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	tree_recv(kid);
	if (pipe(p))
		fail_errno("pipe");
	write_full(p[1], "after", 5);
	close(p[1]);
	send_fd(st[0], "post-pipe", p[0]);
	close(p[0]);
	ev = eventfd(9, 0);
	if (ev < 0)
		fail_errno("eventfd");
	send_fd(dg[0], "post-evfd", ev);
	close(ev);

	fd = recv_fd(st[0], "back");
	write_full(fd, "reply", 5);
	close(fd);
	tree_send(kid, 0);
	tree_exit(tree_collect(&kid, 1));
}
