/*
 * zdtm: cr-opts: --tcp-established
 *
 * An established loopback TCP connection that an epoll watches, with
 * bytes unread on the watched end (A), and one nobody watches (C -> D).
 * A connection of one process's alone is made by that process at
 * restore, not by cr; one an epoll watches is needed by cr (it adds the
 * watch), so cr makes it after all: after the restore the epoll must
 * report A readable (EPOLLIN, with its data) and nothing else, every
 * end must read what was queued for it, and both connections must carry
 * data both ways.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define MSG_TO_A	"to the watched end"
#define MSG_TO_D	"to the other one"
#define WATCH_DATA	0x7463706570ULL

static void expect(int fd, const char *want, const char *who)
{
	char buf[64] = "";
	size_t n = strlen(want);

	if (read_full(fd, buf, n) != n || memcmp(buf, want, n))
		fail("%s: read '%.*s', expected '%s'", who, (int)n, buf, want);
}

/* One more message each way on a connection. */
static void round_trip(int x, int y, const char *who)
{
	write_full(x, "ping", 4);
	expect(y, "ping", who);
	write_full(y, "pong", 4);
	expect(x, "pong", who);
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WATCH_DATA }, got[2];
	int a, b, c, d, ep, n;

	test_init(argc, argv);
	tcp_loopback_pair(AF_INET, 0, &a, &b, "watched");
	tcp_loopback_pair(AF_INET, 0, &c, &d, "unwatched");
	ep = epoll_create1(0);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev))
		fail_errno("epoll");
	write_full(b, MSG_TO_A, strlen(MSG_TO_A));
	write_full(c, MSG_TO_D, strlen(MSG_TO_D));

	test_ready();
	test_wait_checkpoint();

	n = epoll_wait(ep, got, 2, 1000);
	if (n != 1 || got[0].data.u64 != WATCH_DATA || !(got[0].events & EPOLLIN))
		fail("epoll_wait: %d events (the first %#x, data %#llx), expected EPOLLIN of the watched end", n,
		     n > 0 ? got[0].events : 0, n > 0 ? (unsigned long long)got[0].data.u64 : 0ULL);
	expect(a, MSG_TO_A, "watched");
	expect(d, MSG_TO_D, "unwatched");
	round_trip(a, b, "watched");
	round_trip(c, d, "unwatched");
	/* Resets: no 4-tuple left in TIME_WAIT for the next restore of the same images. */
	for (int i = 0; i < 4; i++) {
		int fd = (int[]){ a, b, c, d }[i];

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 0 }, sizeof(struct linger)))
			fail_errno("SO_LINGER");
		close(fd);
	}
	pass();
}
