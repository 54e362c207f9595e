/*
 * Unix sockets whose peers are outside the dumped tree (--ext-unix-sk):
 * a server the test starts by a double fork (so it is not in the tree)
 * binds a datagram socket and a stream listener on absolute paths. The
 * test's bound datagram socket is connected to the server's, its stream
 * socket to the listener.
 *
 * After restore the datagram socket still sends to the server (which
 * answers to the test's name) and the stream socket is connected to the
 * listener again (a new connection, as criu does): a line sent gets its
 * echo. At the end the test tells the server to quit (it also leaves by
 * itself after 60 s).
 *
 * zdtm: flavors: h (in a pid namespace of its own the server would be the test's child)
 * zdtm: cr-opts: --ext-unix-sk
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define MAX_CONNS	8

static struct sockaddr_un srv_dgram, srv_listen, my_dgram;

static void make_addr(struct sockaddr_un *sa, const char *dir, const char *name)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, name) >= sizeof(sa->sun_path))
		fail("work dir %s too long for a socket path", dir);
	unlink(sa->sun_path);
}

/* The server: answers "got:X" to each datagram X, echoes each stream line; "quit" ends it. */
static void server(int ready)
{
	struct pollfd p[2 + MAX_CONNS];
	int d = socket(AF_UNIX, SOCK_DGRAM, 0), l = socket(AF_UNIX, SOCK_STREAM, 0), n = 2;

	alarm(60);
	/* A daemon: the test's session id must be free for the restore. */
	setsid();
	if (d < 0 || l < 0 || bind(d, (struct sockaddr *)&srv_dgram, sizeof(srv_dgram)) ||
	    bind(l, (struct sockaddr *)&srv_listen, sizeof(srv_listen)) || listen(l, 4))
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	p[0] = (struct pollfd){ .fd = d, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = l, .events = POLLIN };
	for (;;) {
		char buf[128], out[160];
		ssize_t r;

		if (poll(p, n, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			struct sockaddr_un from;
			socklen_t flen = sizeof(from);

			r = recvfrom(d, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
			if (r > 0) {
				buf[r] = '\0';
				if (!strcmp(buf, "quit"))
					_exit(0);
				snprintf(out, sizeof(out), "got:%s", buf);
				sendto(d, out, strlen(out), 0, (struct sockaddr *)&from, flen);
			}
		}
		if ((p[1].revents & POLLIN) && n < 2 + MAX_CONNS) {
			int c = accept(l, NULL, NULL);

			if (c >= 0)
				p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
		for (int i = 2; i < n; i++) {
			if (!p[i].revents)
				continue;
			r = read(p[i].fd, buf, sizeof(buf) - 1);
			if (r <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
				continue;
			}
			buf[r] = '\0';
			snprintf(out, sizeof(out), "echo:%s", buf);
			if (write(p[i].fd, out, strlen(out)) < 0)
				continue;
		}
	}
}

static pid_t start_server(void)
{
	int pp[2], status;
	pid_t c, srv;
	char b;

	if (pipe(pp))
		fail_errno("pipe");
	c = fork();
	if (c < 0)
		fail_errno("fork");
	if (c == 0) {
		srv = fork();
		if (srv == 0) {
			close(pp[0]);
			server(pp[1]);
		}
		if (write(pp[1], &srv, sizeof(srv)) != sizeof(srv))
			_exit(1);
		_exit(srv < 0);
	}
	close(pp[1]);
	if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    read(pp[0], &srv, sizeof(srv)) != sizeof(srv) || read(pp[0], &b, 1) != 1)
		fail("the server did not start");
	close(pp[0]);
	return srv;
}

static void expect(int fd, const char *want, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[160];
	ssize_t n;

	if (poll(&p, 1, 5000) != 1)
		fail("%s: no answer from the server in 5 s", what);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0)
		fail_errno("%s: recv", what);
	buf[n] = '\0';
	if (strcmp(buf, want))
		fail("%s: '%s', expected '%s'", what, buf, want);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX];
	int d, s;

	test_init(argc, argv);
	if (!getcwd(dir, sizeof(dir)))
		fail_errno("getcwd");
	make_addr(&srv_dgram, dir, "zdtm_unix_ext.srv");
	make_addr(&srv_listen, dir, "zdtm_unix_ext.listen");
	make_addr(&my_dgram, dir, "zdtm_unix_ext.me");
	start_server();

	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (d < 0 || s < 0 || bind(d, (struct sockaddr *)&my_dgram, sizeof(my_dgram)) ||
	    connect(d, (struct sockaddr *)&srv_dgram, sizeof(srv_dgram)) ||
	    connect(s, (struct sockaddr *)&srv_listen, sizeof(srv_listen)))
		fail_errno("connecting to the server");
	if (send(d, "before", 6, 0) != 6)
		fail_errno("send");
	expect(d, "got:before", "datagram before");
	if (write(s, "hello", 5) != 5)
		fail_errno("write");
	expect(s, "echo:hello", "stream before");

	test_ready();
	test_wait_checkpoint();

	if (send(d, "after", 5, 0) != 5)
		fail_errno("datagram send after restore");
	expect(d, "got:after", "datagram after restore");
	if (write(s, "again", 5) != 5)
		fail_errno("stream write after restore");
	expect(s, "echo:again", "stream after restore");
	if (send(d, "quit", 4, 0) != 4)
		fail_errno("telling the server to quit");
	pass();
}
