/*
 * zdtm: cr-opts: --tcp-established
 *
 * A tree of three processes joined by two established loopback TCP
 * connections, each full of data in flight both ways at the checkpoint,
 * and a third one, idle, on which the left child waits in recv():
 *
 *   left <==conn A==> root <==conn B==> right
 *   left <--wake----- root
 *
 * The root listens on 127.0.0.1 (a port the kernel picks, SO_REUSEADDR)
 * with small buffers, which its accepted ends inherit; each child connects with
 * small buffers too. Before the checkpoint the child writes without
 * blocking until its socket is full (the root's receive queue and the
 * child's send queue), then the root does the same the other way: on
 * both ends something waits unread and something was never sent. Each
 * tells the other how much it wrote (tree_send).
 *
 * The left child waits for the root's byte on the wake connection over
 * the checkpoint: its recv() is interrupted by the dump and runs again
 * when the task does, so a task let run while its socket is still in TCP
 * repair mode fails there (EPERM). After the checkpoint every end first
 * checks that its socket is out of repair mode and reads the whole of
 * what the other wrote before.
 * Then each child sends MORE_LEN bytes more, the root reads them, then
 * does the same the other way; the child then resets the connection
 * (SO_LINGER 0) and the root must see the reset right after the bytes:
 * a byte lost, doubled or reordered, or a connection that no longer
 * carries data either way, fails the test. No end closes with a FIN, so
 * no connection is left in TIME_WAIT: the same images restore again at
 * once, without waiting for the kernel to let their 4-tuples be reused.
 *
 * The fault suite (test/zdtm/fault) kills cr while it dumps or restores
 * this tree: a tree a killed dump left running must still pass, so no
 * connection may stay in repair mode.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define SK_BUF		16384		/* SO_SNDBUF and SO_RCVBUF of every end */
#define STREAM_MAX	(1 << 18)	/* what a full socket can hold, and more */
#define MORE_LEN	5000
#define NR_KIDS		2

struct conn {
	const char *name;
	int fd;
	uint64_t seed_out, seed_in;	/* the pattern each way */
	size_t sent;			/* what we wrote before the checkpoint */
	size_t peer_sent;		/* what the other end wrote */
	char *in;			/* the other's stream */
};

/* The root reads both connections at once: a buffer for each. */
static char out_buf[STREAM_MAX + MORE_LEN], in_bufs[NR_KIDS][STREAM_MAX + MORE_LEN + 1];
static struct sockaddr_in srv;
static socklen_t srv_len = sizeof(srv);

static void set_bufs(int fd, const char *who)
{
	int v = SK_BUF;

	/* Before listen or connect: the window of the handshake follows it. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		fail_errno("%s: socket buffers", who);
}

/* Writes our pattern without blocking until the socket takes no more. */
static void fill(struct conn *c)
{
	pattern_fill(out_buf, sizeof(out_buf), c->seed_out);
	for (;;) {
		ssize_t n = send(c->fd, out_buf + c->sent, STREAM_MAX - c->sent, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			fail_errno("%s: send at %zu", c->name, c->sent);
		c->sent += n;
		if (c->sent == STREAM_MAX)
			fail("%s: the socket took %d bytes and is not full yet", c->name, STREAM_MAX);
	}
	if (!c->sent)
		fail("%s: the socket took nothing", c->name);
}

static void check_not_repair(struct conn *c)
{
	int on = -1;
	socklen_t len = sizeof(on);

	if (getsockopt(c->fd, IPPROTO_TCP, TCP_REPAIR, &on, &len))
		fail_errno("%s: getsockopt TCP_REPAIR", c->name);
	if (on)
		fail("%s: the socket is still in TCP repair mode", c->name);
}

/* Reads what the other end wrote before the checkpoint. */
static void read_before(struct conn *c)
{
	size_t n;

	check_not_repair(c);
	n = read_full(c->fd, c->in, c->peer_sent);
	if (n != c->peer_sent)
		fail("%s: got %zu of the %zu bytes sent before the checkpoint, then EOF", c->name, n,
		     c->peer_sent);
}

static void send_more(struct conn *c)
{
	pattern_fill(out_buf, sizeof(out_buf), c->seed_out);
	write_full(c->fd, out_buf + c->sent, MORE_LEN);
}

/* Closes with a reset: the connection leaves nothing in TIME_WAIT. */
static void close_reset(int fd, const char *who)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail_errno("%s: SO_LINGER", who);
	close(fd);
}

/* The peer reset the connection after its last byte: nothing more comes. */
static void wait_reset(int fd, const char *who)
{
	char byte;
	ssize_t n;

	do
		n = recv(fd, &byte, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		fail("%s: a byte more than the peer sent", who);
	if (n == 0)
		fail("%s: the peer closed with a FIN, not the reset it sends", who);
	if (errno != ECONNRESET)
		fail_errno("%s: recv after the last byte", who);
	close(fd);
}

/* The left child: blocked in recv() until the root's byte comes. */
static void wait_wake(int fd)
{
	char byte;
	ssize_t n;

	do
		n = recv(fd, &byte, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EPERM)
		fail("wake (left): recv: EPERM: the socket was in TCP repair mode when this task ran again");
	if (n != 1)
		fail_errno("wake (left): recv returned %zd", n);
	close_reset(fd, "wake (left)");
}

/* The rest of the other's stream; then the whole stream is checked. */
static void read_to_end(struct conn *c)
{
	size_t total = c->peer_sent + MORE_LEN;
	size_t n = c->peer_sent + read_full(c->fd, c->in + c->peer_sent, MORE_LEN);
	long bad;

	if (n != total)
		fail("%s: the stream has %zu bytes, expected %zu", c->name, n, total);
	bad = pattern_check(c->in, total, c->seed_in);
	if (bad >= 0)
		fail("%s: wrong data at byte %ld of the stream (%zu before the checkpoint)", c->name, bad,
		     c->peer_sent);
}

static int connect_srv(const char *who)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		fail_errno("%s: socket", who);
	set_bufs(fd, who);
	if (connect(fd, (struct sockaddr *)&srv, srv_len))
		fail_errno("%s: connect", who);
	return fd;
}

/* @wake: the left child, which also connects the wake connection and waits on it. */
__attribute__((noreturn))
static void child(struct conn *c, int lfd, bool wake)
{
	int wake_fd = -1;

	close(lfd);
	c->fd = connect_srv(c->name);
	if (wake)
		wake_fd = connect_srv("wake (left)");
	fill(c);
	tree_send(tree_root, (int)c->sent);
	c->peer_sent = (unsigned)tree_recv(tree_root);
	tree_send(tree_root, 0);

	if (wake)
		wait_wake(wake_fd);
	else
		test_wait_checkpoint();

	read_before(c);
	send_more(c);
	read_to_end(c);
	close_reset(c->fd, c->name);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	struct conn conns[NR_KIDS] = {
		{ .name = "conn A (root)", .seed_out = 0x5443500000000001ULL, .seed_in = 0x5443500000000002ULL },
		{ .name = "conn B (root)", .seed_out = 0x5443500000000003ULL, .seed_in = 0x5443500000000004ULL },
	};
	static const char *kid_names[NR_KIDS] = { "conn A (left)", "conn B (right)" };
	pid_t kids[NR_KIDS];
	int lfd, wake = -1;

	test_init(argc, argv);
	tree_init();

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		fail_errno("socket");
	set_bufs(lfd, "listener");
	/*
	 * As servers do: a connection of a restore that failed may linger in
	 * TIME_WAIT on this port (its accepted end inherits the option) and
	 * must not keep the next restore from binding the listener.
	 */
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)))
		fail_errno("listener: SO_REUSEADDR");
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) || listen(lfd, NR_KIDS) ||
	    getsockname(lfd, (struct sockaddr *)&srv, &srv_len))
		fail_errno("listen");

	/* One child at a time: the connection accepted is that child's. */
	for (int i = 0; i < NR_KIDS; i++) {
		struct conn *c = &conns[i];

		c->in = in_bufs[i];
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0) {
			struct conn mine = { .name = kid_names[i], .seed_out = c->seed_in, .seed_in = c->seed_out,
					     .in = c->in };

			for (int k = 0; k < i; k++)
				close(conns[k].fd);
			if (wake >= 0)
				close(wake);
			child(&mine, lfd, i == 0);
		}
		/* The child connects its data connection first. */
		c->fd = accept(lfd, NULL, NULL);
		if (c->fd < 0)
			fail_errno("%s: accept", c->name);
		if (i == 0 && (wake = accept(lfd, NULL, NULL)) < 0)
			fail_errno("wake (root): accept");
		c->peer_sent = (unsigned)tree_recv(kids[i]);
		fill(c);
		tree_send(kids[i], (int)c->sent);
		tree_recv(kids[i]);
		test_msg("%s: %zu bytes in flight to the root, %zu from it", c->name, c->peer_sent, c->sent);
	}

	test_ready();
	test_wait_checkpoint();
	tree_forward(kids, NR_KIDS);
	if (write(wake, "w", 1) != 1)
		fail_errno("wake (root): write");

	for (int i = 0; i < NR_KIDS; i++)
		read_before(&conns[i]);
	for (int i = 0; i < NR_KIDS; i++)
		read_to_end(&conns[i]);
	for (int i = 0; i < NR_KIDS; i++)
		send_more(&conns[i]);
	for (int i = 0; i < NR_KIDS; i++)
		wait_reset(conns[i].fd, conns[i].name);
	wait_reset(wake, "wake (root)");
	close(lfd);
	tree_exit(tree_collect(kids, NR_KIDS));
}
