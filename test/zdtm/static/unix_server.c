/*
 * A unix stream server with two clients in separate processes. Each
 * client connected and was accepted; at the checkpoint a request from each
 * client waits in the server's accepted socket and a greeting from the
 * server waits in each client's socket.
 *
 * A third client connected but was not accepted yet at the checkpoint.
 *
 * After restore: the accepted sockets carry the server's name and the
 * clients see it as their peer; each side reads exactly what was queued,
 * then both clients keep talking with the server for a few rounds. The
 * pending connection is the first the listener accepts, and its client
 * talks over it. The listener still accepts new clients.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "zdtm.h"

#define PATH_SRV	"zdtm_unix_server.sock"
#define NR_CLIENTS	2
#define LATE		NR_CLIENTS	/* the client not accepted yet */
#define ROUNDS		10

static struct sockaddr_un srv_addr;
static socklen_t srv_len;

static void xsend(int fd, const char *s)
{
	if (send(fd, s, strlen(s) + 1, MSG_NOSIGNAL) != (ssize_t)strlen(s) + 1)
		fail_errno("send '%s'", s);
}

/* Reads one NUL-terminated string (the peers send each whole). */
static void xrecv(int fd, const char *want, int dontwait)
{
	char buf[64];
	size_t len = strlen(want) + 1, done = 0;

	while (done < len) {
		ssize_t n = recv(fd, buf + done, len - done, dontwait ? MSG_DONTWAIT : 0);

		if (n <= 0)
			fail_errno("expected '%s', got %zu bytes then %zd", want, done, n);
		done += n;
	}
	if (memcmp(buf, want, len))
		fail("got '%.*s', expected '%s'", (int)len, buf, want);
}

static void check_name(int fd, int peer, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len) : getsockname(fd, (struct sockaddr *)&sa, &len);

	if (r)
		fail_errno("%s: get%sname", what, peer ? "peer" : "sock");
	if (len != srv_len || strcmp(sa.sun_path, PATH_SRV))
		fail("%s: %s name '%s', expected '%s'", what, peer ? "peer" : "own", sa.sun_path, PATH_SRV);
}

__attribute__((noreturn))
static void client(int k)
{
	pid_t parent = getppid();
	char buf[64];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&srv_addr, srv_len))
		fail_errno("client %d: connect", k);
	if (k == LATE) {
		/* Nothing sent before accept: that would sit in the listener's embryo. */
		tree_send(parent, 0);
		test_wait_checkpoint();
		check_name(fd, 1, "pending client");
		xsend(fd, "late");
		xrecv(fd, "late ok", 0);
		tree_exit(0);
	}
	snprintf(buf, sizeof(buf), "request from %d", k);
	xsend(fd, buf);
	tree_send(parent, 0);
	test_wait_checkpoint();

	check_name(fd, 1, "client");
	snprintf(buf, sizeof(buf), "welcome %d", k);
	xrecv(fd, buf, 1);
	for (int r = 0; r < ROUNDS; r++) {
		snprintf(buf, sizeof(buf), "%d asks %d", k, r);
		xsend(fd, buf);
		snprintf(buf, sizeof(buf), "%d gets %d", k, r);
		xrecv(fd, buf, 0);
	}
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[NR_CLIENTS + 1];
	int lfd, conn[NR_CLIENTS + 1];
	char buf[64];

	test_init(argc, argv);
	tree_init();
	unlink(PATH_SRV);
	memset(&srv_addr, 0, sizeof(srv_addr));
	srv_addr.sun_family = AF_UNIX;
	strcpy(srv_addr.sun_path, PATH_SRV);
	srv_len = offsetof(struct sockaddr_un, sun_path) + sizeof(PATH_SRV);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&srv_addr, srv_len) || listen(lfd, 4))
		fail_errno("listener");

	for (int k = 0; k < NR_CLIENTS; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			fail_errno("fork");
		if (kids[k] == 0) {
			close(lfd);
			for (int j = 0; j < k; j++)
				close(conn[j]);
			client(k);
		}
		tree_recv(kids[k]);
		conn[k] = accept(lfd, NULL, NULL);
		if (conn[k] < 0)
			fail_errno("accept client %d", k);
		snprintf(buf, sizeof(buf), "welcome %d", k);
		xsend(conn[k], buf);
	}
	kids[LATE] = fork();
	if (kids[LATE] < 0)
		fail_errno("fork");
	if (kids[LATE] == 0) {
		close(lfd);
		for (int j = 0; j < NR_CLIENTS; j++)
			close(conn[j]);
		client(LATE);
	}
	tree_recv(kids[LATE]);

	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, NR_CLIENTS + 1);

	for (int k = 0; k < NR_CLIENTS; k++) {
		check_name(conn[k], 0, "accepted connection");
		snprintf(buf, sizeof(buf), "request from %d", k);
		xrecv(conn[k], buf, 1);
	}
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < NR_CLIENTS; k++) {
			snprintf(buf, sizeof(buf), "%d asks %d", k, r);
			xrecv(conn[k], buf, 0);
			snprintf(buf, sizeof(buf), "%d gets %d", k, r);
			xsend(conn[k], buf);
		}
	/* The connection pending at the checkpoint comes first. */
	conn[LATE] = accept(lfd, NULL, NULL);
	if (conn[LATE] < 0)
		fail_errno("accepting the pending connection");
	check_name(conn[LATE], 0, "the pending connection");
	xrecv(conn[LATE], "late", 0);
	xsend(conn[LATE], "late ok");
	/* The listener still serves a new client. */
	{
		int c = socket(AF_UNIX, SOCK_STREAM, 0), a;

		if (c < 0 || connect(c, (struct sockaddr *)&srv_addr, srv_len))
			fail_errno("a new client after restore");
		a = accept(lfd, NULL, NULL);
		if (a < 0)
			fail_errno("accepting a new client after restore");
		xsend(c, "new");
		xrecv(a, "new", 0);
	}
	unlink(PATH_SRV);
	tree_exit(tree_collect(kids, NR_CLIENTS + 1));
}
