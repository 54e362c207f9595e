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
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

static int st[2], dg[2];

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

/* The parent: a pipe holding @data over the stream pair, an eventfd counting @count over the datagram one. */
static void pass_files(const char *tag, const char *data, uint64_t count)
{
	char text[32];
	int p[2], ev;

	if (pipe(p))
		fail_errno("pipe");
	write_full(p[1], data, strlen(data));
	close(p[1]);
	snprintf(text, sizeof(text), "%s-pipe", tag);
	scm_send_fds(st[0], text, &p[0], 1, 0);
	close(p[0]);
	ev = eventfd(count, 0);
	if (ev < 0)
		fail_errno("eventfd");
	snprintf(text, sizeof(text), "%s-evfd", tag);
	scm_send_fds(dg[0], text, &ev, 1, 0);
	close(ev);
}

/* The child: what pass_files() sent. */
static void take_files(const char *tag, const char *data, uint64_t count)
{
	char text[32];
	int fd;

	snprintf(text, sizeof(text), "%s-pipe", tag);
	fd = scm_recv_fd(st[1], text, 0);
	check_pipe(text, fd, data);
	close(fd);
	snprintf(text, sizeof(text), "%s-evfd", tag);
	fd = scm_recv_fd(dg[1], text, 0);
	check_count(text, fd, count);
	close(fd);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();
	int p[2];

	close(st[0]);
	close(dg[0]);
	tree_send(parent, 0);
	test_wait_checkpoint();

	take_files("pre", "before", 5);
	tree_send(parent, 0);		/* the parent passes new files now */
	take_files("post", "after", 9);

	if (pipe(p))
		fail_errno("pipe");
	scm_send_fds(st[1], "back", &p[1], 1, 0);
	close(p[1]);
	tree_recv(parent);		/* the parent wrote into it */
	check_pipe("passed back to the parent", p[0], "reply");
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int fd;

	test_init(argc, argv);
	tree_init();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		fail_errno("socketpair");
	kid = tree_fork(child);
	close(st[1]);
	close(dg[1]);
	tree_recv(kid);

	pass_files("pre", "before", 5);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	tree_recv(kid);
	pass_files("post", "after", 9);

	fd = scm_recv_fd(st[0], "back", 0);
	write_full(fd, "reply", 5);
	close(fd);
	tree_send(kid, 0);
	tree_exit(tree_collect(&kid, 1));
}
