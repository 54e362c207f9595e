/*
 * zdtm: cr-opts: --tcp-established
 * zdtm: cr-nofile: 4096
 * zdtm: flavors: h ns -uns (in a user namespace of its own cr makes every connection itself: its tasks may not use TCP repair mode there)
 *
 * More established loopback TCP connections than cr has fds: the runner
 * runs cr with RLIMIT_NOFILE 4096 (soft and hard, "zdtm: cr-nofile"),
 * and the tree holds NR_CONNS = 2500 connections, both ends in it: the
 * root has the accepted ends and the listener, its child the connecting
 * ends, 5000 sockets in all. A cr that holds a copy of every socket of
 * the tree at once, at dump (to put it into repair mode and read it) or
 * at restore (made before the fork), runs out of fds; each process of the
 * tree holds only its own 2500 and a few.
 *
 * On each connection the child sends a record naming it, the root reads
 * it and answers with one of its own, and the child sends one more: at
 * the checkpoint every connection has a record unread in each direction.
 * After it each end reads the record the other had queued, for the
 * right connection, then every connection carries one more record each
 * way. The child then resets every connection (SO_LINGER 0), so none is
 * left in TIME_WAIT and the same images restore again at once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_CONNS	2500
#define MAGIC		0x6d616e79u	/* "many" */

enum rec_kind { REC_HELLO = 1, REC_ANSWER, REC_QUEUED, REC_AFTER };

struct rec {
	uint32_t magic, conn, kind, from;	/* from: 0 the root, 1 the child */
};

static int fds[NR_CONNS];
static struct sockaddr_in srv;
static socklen_t srv_len = sizeof(srv);

static void send_rec(int conn, enum rec_kind kind, int from)
{
	struct rec r = { MAGIC, conn, kind, from };

	write_full(fds[conn], &r, sizeof(r));
}

static void expect_rec(int conn, enum rec_kind kind, int from, const char *when)
{
	struct rec r;

	if (read_full(fds[conn], &r, sizeof(r)) != sizeof(r))
		fail("connection %d: end of file %s", conn, when);
	if (r.magic != MAGIC || r.conn != (uint32_t)conn || r.kind != kind || r.from != (uint32_t)from)
		fail("connection %d: got record %#x/%u/%u/%u %s, expected %#x/%d/%d/%d", conn, r.magic, r.conn, r.kind,
		     r.from, when, MAGIC, conn, kind, from);
}

/* Room for every connection, and what cr and the runner's processes around us use. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		fail_errno("getrlimit");
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < NR_CONNS + 64)
		fail("RLIMIT_NOFILE's hard limit %llu is below %d", (unsigned long long)rl.rlim_max, NR_CONNS + 64);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail_errno("setrlimit");
}

/* After the checkpoint: the queued records, then one more each way (@self 0 the root, 1 the child). */
static void check_after(int self, pid_t peer)
{
	for (int i = 0; i < NR_CONNS; i++)
		expect_rec(i, self ? REC_ANSWER : REC_QUEUED, !self, "before the checkpoint's record");
	/* The child sends first, the root answers once it read them all. */
	if (self) {
		for (int i = 0; i < NR_CONNS; i++)
			send_rec(i, REC_AFTER, self);
		tree_send(peer, 1);
	} else {
		tree_recv(peer);
	}
	for (int i = 0; i < NR_CONNS; i++)
		expect_rec(i, REC_AFTER, !self, "after the checkpoint");
	if (!self)
		for (int i = 0; i < NR_CONNS; i++)
			send_rec(i, REC_AFTER, self);
}

__attribute__((noreturn))
static void child(int lfd)
{
	pid_t root = tree_root;

	close(lfd);
	for (int i = 0; i < NR_CONNS; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&srv, srv_len))
			fail_errno("connection %d: connect", i);
		send_rec(i, REC_HELLO, 1);
		send_rec(i, REC_QUEUED, 1);
	}
	tree_send(root, 0);
	test_wait_checkpoint();
	check_after(1, root);
	/* Resets: nothing stays in TIME_WAIT. */
	for (int i = 0; i < NR_CONNS; i++) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			fail_errno("connection %d: SO_LINGER", i);
		close(fds[i]);
	}
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;
	int lfd;

	test_init(argc, argv);
	tree_init();
	raise_nofile();
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		fail_errno("socket");
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)))
		fail_errno("listener: SO_REUSEADDR");
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) || listen(lfd, SOMAXCONN) ||
	    getsockname(lfd, (struct sockaddr *)&srv, &srv_len))
		fail_errno("listen");
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child(lfd);
	/* The hello names the connection; the record behind it stays queued. */
	memset(fds, 0xff, sizeof(fds));
	for (int n = 0; n < NR_CONNS; n++) {
		int fd = accept(lfd, NULL, NULL);
		struct rec r;

		if (fd < 0)
			fail_errno("connection %d: accept", n);
		if (read_full(fd, &r, sizeof(r)) != sizeof(r) || r.magic != MAGIC || r.kind != REC_HELLO ||
		    r.conn >= NR_CONNS || fds[r.conn] >= 0)
			fail("accepted connection %d: a bad hello", n);
		fds[r.conn] = fd;
		send_rec(r.conn, REC_ANSWER, 0);
	}
	tree_recv(kid);
	test_msg("%d connections, a record queued each way on each", NR_CONNS);
	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);
	check_after(0, kid);
	if (tree_collect(&kid, 1))
		tree_exit(1);
	for (int i = 0; i < NR_CONNS; i++)
		close(fds[i]);
	close(lfd);
	tree_exit(0);
}
