/*
 * zdtm: cr-opts: --tcp-established
 *
 * An established loopback TCP connection (both ends in this process)
 * with megabytes queued both ways: each end has 4 MiB buffers
 * (SO_SNDBUFFORCE, SO_RCVBUFFORCE) and writes without blocking until
 * its socket takes no more, the other end reading nothing. So each
 * direction holds data unread in the receiver's queue, data sent and not
 * acknowledged, and data never sent (the window is closed).
 *
 * The ends must not talk while one is dumped and the other not yet: a
 * peek at a receive queue opens its window, the other end then sends
 * and has that acknowledged after the first was saved (the network
 * lock, on the loopback too, keeps them apart).
 *
 * After restore each end reads the other's whole stream, every byte
 * once and in order, then one more message goes each way.
 *
 * zdtm: flavors: h ns -uns (SO_*BUFFORCE needs CAP_NET_ADMIN outside a user namespace)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define BUF		(4 << 20)
#define CHUNK		65536

/* Byte @i of direction @dir's stream: the 8-byte word i / 8 holds its own index (and the direction). */
static uint8_t byte_of(int dir, uint64_t i)
{
	uint64_t w = (i / 8) | (uint64_t)dir << 63;

	return (uint8_t)(w >> (8 * (i % 8)));
}

static int ends[2];
static uint64_t sent[2];

/* Writes @fd's pattern until the socket takes no more. */
static void fill(int dir)
{
	static uint8_t buf[CHUNK];

	for (;;) {
		for (int i = 0; i < CHUNK; i++)
			buf[i] = byte_of(dir, sent[dir] + i);
		ssize_t n = send(ends[dir], buf, CHUNK, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			fail_errno("send on end %d", dir);
		sent[dir] += n;
	}
}

/* Reads all of the other end's stream on end @dir ^ 1 and checks it. */
static void drain(int dir, const char *when)
{
	static uint8_t buf[CHUNK];
	uint64_t got = 0;
	int rx = ends[dir ^ 1];

	while (got < sent[dir]) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) != 1)
			fail("%s: end %d: %llu of %llu bytes arrived, then nothing for 10 s", when, dir ^ 1,
			     (unsigned long long)got, (unsigned long long)sent[dir]);
		n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			fail("%s: end %d: recv %zd (%m) after %llu of %llu bytes", when, dir ^ 1, n,
			     (unsigned long long)got, (unsigned long long)sent[dir]);
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != byte_of(dir, got + i))
				fail("%s: end %d: byte %llu differs", when, dir ^ 1, (unsigned long long)(got + i));
		got += n;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l, size = BUF;
	char b;

	test_init(argc, argv);
	l = socket(AF_INET, SOCK_STREAM, 0);
	ends[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || ends[0] < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &alen))
		fail_errno("listener");
	if (setsockopt(ends[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) ||
	    setsockopt(ends[0], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) ||
	    setsockopt(l, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) ||
	    setsockopt(l, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		fail_errno("buffers");
	if (connect(ends[0], (struct sockaddr *)&a, alen))
		fail_errno("connect");
	ends[1] = accept(l, NULL, NULL);
	if (ends[1] < 0)
		fail_errno("accept");
	close(l);
	fill(0);
	fill(1);
	/* What was sent and not acknowledged yet: let the acks settle, then top up. */
	usleep(100000);
	fill(0);
	fill(1);
	test_msg("queued %llu and %llu bytes", (unsigned long long)sent[0], (unsigned long long)sent[1]);
	if (sent[0] < (2 << 20) || sent[1] < (2 << 20))
		fail("only %llu and %llu bytes could be queued", (unsigned long long)sent[0],
		     (unsigned long long)sent[1]);

	test_ready();
	test_wait_checkpoint();

	drain(0, "after restore");
	drain(1, "after restore");
	if (send(ends[0], "x", 1, 0) != 1 || send(ends[1], "y", 1, 0) != 1 ||
	    recv(ends[1], &b, 1, 0) != 1 || b != 'x' || recv(ends[0], &b, 1, 0) != 1 || b != 'y')
		fail_errno("one more message each way");
	pass();
}
