/*
 * zdtm: cr-opts: --tcp-established
 *
 * Loopback TCP connections (both ends in this process) caught while
 * closing, over IPv4, IPv6 and IPv4-mapped IPv6. A connects, B accepts:
 *
 *   shut_rd    A shut down for reading only: both ESTABLISHED, A's
 *              recv() says end of file at once.
 *   fin_wait2  A sent some bytes, then shut down for writing; B sent
 *              some too, and nobody read: A FIN_WAIT2, B CLOSE_WAIT.
 *   fin_wait1  B's receive buffer is small and full, A's send buffer
 *              full behind it, then A shut down for writing: its FIN
 *              waits behind the unsent bytes: A FIN_WAIT1.
 *   closing    as fin_wait1, then B shut down too: A CLOSING (B's FIN
 *              came in before A's could go out), B FIN_WAIT2.
 *   last_ack   B shut down first, then A filled B up and shut down:
 *              A LAST_ACK, B FIN_WAIT2.
 *
 * After the restore every socket is in its dumped state; then each end
 * reads what the other had sent, every byte once and in order, and the
 * end of file where a FIN came; the connections still open carry one
 * more message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

enum { SHUT_RD_PAIR, FIN_WAIT2_PAIR, FIN_WAIT1_PAIR, CLOSING_PAIR, LAST_ACK_PAIR, NR_KINDS };
enum { V4, V6, V4_MAPPED, NR_FAMILIES };

static const char *const kind_names[] = { "shut_rd", "fin_wait2", "fin_wait1", "closing", "last_ack" };
static const char *const family_names[] = { "IPv4", "IPv6", "IPv4-mapped IPv6" };

struct pair {
	int a, b;
	uint64_t a_sent, b_sent;	/* pattern bytes each end wrote */
	unsigned a_state, b_state;	/* TCP states at the dump */
	char name[48];
};

static struct pair pairs[NR_FAMILIES][NR_KINDS];

static uint8_t byte_of(unsigned seed, uint64_t i)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

/* Writes @fd's pattern (@seed) until the socket takes no more. */
static void fill(int fd, unsigned seed, uint64_t *sent)
{
	uint8_t buf[4096];

	for (;;) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = byte_of(seed, *sent + i);
		ssize_t n = send(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0)
			fail_errno("send");
		*sent += n;
	}
}

static void send_some(int fd, unsigned seed, uint64_t *sent, size_t len)
{
	uint8_t buf[256];

	for (size_t i = 0; i < len; i++)
		buf[i] = byte_of(seed, *sent + i);
	if (send(fd, buf, len, 0) != (ssize_t)len)
		fail_errno("send");
	*sent += len;
}

/* Reads pattern bytes (@seed) @got to @want on @fd, then, if @eof, the end of file. */
static void drain_from(const struct pair *p, int fd, unsigned seed, uint64_t got, uint64_t want, int eof,
		       const char *who)
{
	uint8_t buf[4096];

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (got == want && !eof)
			return;
		if (poll(&pf, 1, 10000) != 1)
			fail("%s: %s: %llu of %llu bytes, then nothing for 10 s", p->name, who,
			     (unsigned long long)got, (unsigned long long)want);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			fail("%s: %s: recv after %llu bytes: %m", p->name, who, (unsigned long long)got);
		if (n == 0) {
			if (got != want)
				fail("%s: %s: end of file after %llu of %llu bytes", p->name, who,
				     (unsigned long long)got, (unsigned long long)want);
			return;
		}
		for (ssize_t i = 0; i < n; i++)
			if (got + i >= want || buf[i] != byte_of(seed, got + i))
				fail("%s: %s: byte %llu is %u, not %u (of %llu)", p->name, who, (unsigned long long)(got + i),
				     buf[i], byte_of(seed, got + i), (unsigned long long)want);
		got += n;
	}
}

static void drain(const struct pair *p, int fd, unsigned seed, uint64_t want, int eof, const char *who)
{
	drain_from(p, fd, seed, 0, want, eof, who);
}

/* A connected pair; B's receive buffer and A's send buffer small if @small. */
static void connect_pair(int fam, struct pair *p, int small)
{
	int snd = 8192;

	tcp_loopback_pair(fam, small ? 4096 : 0, &p->a, &p->b, p->name);
	if (small && setsockopt(p->a, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd)))
		fail_errno("%s: SO_SNDBUF", p->name);
}

/* A fills B's receive window and its own send buffer: what it sends next waits. */
static void stuff(struct pair *p)
{
	fill(p->a, 1, &p->a_sent);
	usleep(50000);	/* the acks of what went out */
	fill(p->a, 1, &p->a_sent);
}

static void setup(int fam, int kind)
{
	struct pair *p = &pairs[fam][kind];
	static const unsigned want[NR_KINDS][2] = {
		[SHUT_RD_PAIR] = { TCP_ESTABLISHED, TCP_ESTABLISHED },
		[FIN_WAIT2_PAIR] = { TCP_FIN_WAIT2, TCP_CLOSE_WAIT },
		[FIN_WAIT1_PAIR] = { TCP_FIN_WAIT1, TCP_ESTABLISHED },
		[CLOSING_PAIR] = { TCP_CLOSING, TCP_FIN_WAIT2 },
		[LAST_ACK_PAIR] = { TCP_LAST_ACK, TCP_FIN_WAIT2 },
	};
	char c;

	snprintf(p->name, sizeof(p->name), "%s %s", family_names[fam], kind_names[kind]);
	connect_pair(fam, p, kind >= FIN_WAIT1_PAIR);
	switch (kind) {
	case SHUT_RD_PAIR:
		if (shutdown(p->a, SHUT_RD))
			fail_errno("%s: shutdown", p->name);
		break;
	case FIN_WAIT2_PAIR:
		send_some(p->a, 1, &p->a_sent, 100);
		send_some(p->b, 2, &p->b_sent, 200);
		if (shutdown(p->a, SHUT_WR))
			fail_errno("%s: shutdown", p->name);
		break;
	case FIN_WAIT1_PAIR:
	case CLOSING_PAIR:
		stuff(p);
		if (shutdown(p->a, SHUT_WR) || (kind == CLOSING_PAIR && shutdown(p->b, SHUT_WR)))
			fail_errno("%s: shutdown", p->name);
		break;
	case LAST_ACK_PAIR:
		if (shutdown(p->b, SHUT_WR))
			fail_errno("%s: shutdown", p->name);
		usleep(20000);
		stuff(p);
		if (shutdown(p->a, SHUT_WR))
			fail_errno("%s: shutdown", p->name);
		break;
	}
	/* An ACK of a FIN may be delayed (40 ms and more). */
	for (int waited = 0; waited < 2000; waited += 10) {
		p->a_state = tcp_state(p->a);
		p->b_state = tcp_state(p->b);
		if (p->a_state == want[kind][0] && p->b_state == want[kind][1])
			break;
		usleep(10000);
	}
	if (p->a_state != want[kind][0] || p->b_state != want[kind][1])
		fail("%s: the setup gave states %u and %u, not %u and %u", p->name, p->a_state, p->b_state,
		     want[kind][0], want[kind][1]);
	if (kind == SHUT_RD_PAIR && recv(p->a, &c, 1, MSG_DONTWAIT) != 0)
		fail("%s: a recv after shutdown for reading gives no end of file", p->name);
}

static void check(struct pair *p, int kind)
{
	uint64_t none = 0;
	char c;

	if (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state)
		fail("%s: states %u and %u after restore, %u and %u at the dump", p->name, tcp_state(p->a),
		     tcp_state(p->b), p->a_state, p->b_state);
	switch (kind) {
	case SHUT_RD_PAIR:
		if (recv(p->a, &c, 1, MSG_DONTWAIT) != 0)
			fail("%s: A's shutdown for reading is lost", p->name);
		send_some(p->a, 3, &p->a_sent, 10);
		drain(p, p->b, 3, 10, 0, "B");
		break;
	case FIN_WAIT2_PAIR:
		drain(p, p->b, 1, p->a_sent, 1, "B");
		drain(p, p->a, 2, p->b_sent, 0, "A");
		send_some(p->b, 2, &p->b_sent, 50);
		drain_from(p, p->a, 2, p->b_sent - 50, p->b_sent, 0, "A");
		if (shutdown(p->b, SHUT_WR))
			fail_errno("%s: shutdown", p->name);
		drain(p, p->a, 2, 0, 1, "A after B's shutdown");
		break;
	case FIN_WAIT1_PAIR:
		drain(p, p->b, 1, p->a_sent, 1, "B");
		send_some(p->b, 2, &none, 30);
		drain(p, p->a, 2, 30, 0, "A");
		break;
	case CLOSING_PAIR:
	case LAST_ACK_PAIR:
		drain(p, p->a, 2, 0, 1, "A");
		drain(p, p->b, 1, p->a_sent, 1, "B");
		break;
	}
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int f = 0; f < NR_FAMILIES; f++)
		for (int k = 0; k < NR_KINDS; k++)
			setup(f, k);
	test_ready();
	test_wait_checkpoint();
	for (int f = 0; f < NR_FAMILIES; f++)
		for (int k = 0; k < NR_KINDS; k++)
			check(&pairs[f][k], k);
	pass();
}
