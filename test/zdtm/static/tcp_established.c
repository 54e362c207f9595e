/*
 * zdtm: cr-opts: --tcp-established
 * zdtm: lazy (the source of a lazy migration lets its ports go when the
 *       destination starts: mode lazy-remote restores them on this host)
 *
 * An established loopback TCP connection between two processes of the
 * tree, with data queued in both directions, survives checkpoint and
 * restore (TCP repair mode).
 *
 * The parent listens on 127.0.0.1 (a port the kernel picks), the child
 * connects with a small receive buffer. The child sends C_LEN bytes that
 * the parent leaves unread (the parent's receive queue). The parent then
 * writes without blocking until the socket is full: part of it waits
 * unread in the child's receive queue, the rest was never sent (the
 * child's window is closed), in the parent's send queue.
 *
 * After restore both ends read and check every byte of their stream,
 * then exchange one more message each way; the listener, whose port the
 * connection shares, still accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "zdtm.h"

#define C_LEN		1000
#define CHILD_RCVBUF	4096
#define MORE_LEN	3000

static uint8_t p_byte(uint64_t i) { return (uint8_t)(i * 131 + 7); }	/* parent -> child */
static uint8_t c_byte(uint64_t i) { return (uint8_t)(i * 17 + 101); }	/* child -> parent */

static struct sockaddr_in srv;
static socklen_t srv_len = sizeof(srv);

/* Reads exactly @len bytes of the stream @fd, checking them from stream offset @off. */
static void read_check(int fd, uint64_t off, uint64_t len, uint8_t (*byte)(uint64_t), const char *who)
{
	uint8_t buf[4096];
	uint64_t got = 0;

	while (got < len) {
		size_t want = len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_errno("%s: read at %llu of %llu", who, (unsigned long long)got,
				   (unsigned long long)len);
		if (n == 0)
			fail("%s: connection closed after %llu of %llu bytes", who,
			     (unsigned long long)got, (unsigned long long)len);
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != byte(off + got + k))
				fail("%s: byte %llu is 0x%02x, expected 0x%02x", who,
				     (unsigned long long)(off + got + k), buf[k], byte(off + got + k));
		got += n;
	}
}

static void write_all(int fd, uint64_t off, uint64_t len, uint8_t (*byte)(uint64_t), const char *who)
{
	uint8_t buf[4096];
	uint64_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t w;

		for (size_t k = 0; k < n; k++)
			buf[k] = byte(off + done + k);
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail_errno("%s: write", who);
		done += w;
	}
}

static int child(pid_t parent)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), rcvbuf = CHILD_RCVBUF;
	uint64_t n;

	if (fd < 0)
		fail_errno("child: socket");
	/* Before connect: the window announced in the handshake follows it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		fail_errno("child: SO_RCVBUF");
	if (connect(fd, (struct sockaddr *)&srv, srv_len))
		fail_errno("child: connect");
	write_all(fd, 0, C_LEN, c_byte, "child");
	tree_send(parent, 0);
	n = (unsigned)tree_recv(parent);	/* how much the parent wrote */

	test_wait_checkpoint();

	read_check(fd, 0, n, p_byte, "child");
	write_all(fd, C_LEN, MORE_LEN, c_byte, "child");
	read_check(fd, n, MORE_LEN, p_byte, "child");
	close(fd);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	int lfd, fd, c, inq, unsent;
	uint8_t buf[4096];
	uint64_t n = 0;
	pid_t kid;

	test_init(argc, argv);
	tree_init();

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		fail_errno("socket");
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&srv, sizeof(srv)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&srv, &srv_len))
		fail_errno("listen");

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child(getppid());

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		fail_errno("accept");
	tree_recv(kid);			/* the child's C_LEN bytes are sent */

	/* Fill the child's receive queue and then our send queue. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		fail_errno("O_NONBLOCK");
	for (int round = 0; round < 3; round++) {
		for (;;) {
			ssize_t w;

			for (size_t k = 0; k < sizeof(buf); k++)
				buf[k] = p_byte(n + k);
			w = write(fd, buf, sizeof(buf));
			if (w < 0 && errno == EAGAIN)
				break;
			if (w < 0)
				fail_errno("parent: write");
			n += w;
		}
		/* Let the acknowledgements and window updates settle. */
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	if (fcntl(fd, F_SETFL, 0))
		fail_errno("clear O_NONBLOCK");
	if (ioctl(fd, SIOCINQ, &inq) || ioctl(fd, SIOCOUTQNSD, &unsent))
		fail_errno("queue lengths");
	if (inq != C_LEN)
		fail("parent: %d bytes queued to read, expected %d", inq, C_LEN);
	test_msg("parent wrote %llu bytes, %d of them never sent\n", (unsigned long long)n, unsent);
	tree_send(kid, (int)n);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	read_check(fd, 0, C_LEN, c_byte, "parent");
	read_check(fd, C_LEN, MORE_LEN, c_byte, "parent");
	write_all(fd, n, MORE_LEN, p_byte, "parent");

	/* The listener shares the connection's port and still accepts. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&srv, srv_len))
		fail_errno("connect to the restored listener");
	close(c);
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		fail_errno("accept after restore");
	close(c);

	tree_exit(tree_collect(&kid, 1));
}
