/*
 * zdtm: cr-opts: --tcp-established
 *
 * Loopback TCP connections (both ends in this process) whose own FIN was
 * sent but is not acknowledged at the checkpoint, over IPv4, IPv6 and
 * IPv4-mapped IPv6. The peer does not acknowledge because it receives
 * nothing: a socket filter that drops every packet is attached to it
 * (SO_ATTACH_FILTER, which the dump keeps). A connects, B accepts:
 *
 *   fin_wait1  B drops; A sends DATA_LEN bytes and shuts down for
 *              writing: A FIN_WAIT1 with its bytes and its FIN in flight,
 *              B ESTABLISHED with nothing received.
 *   last_ack   A shuts down for writing (B CLOSE_WAIT, A FIN_WAIT2), then
 *              A drops; B sends DATA_LEN bytes and shuts down: B LAST_ACK
 *              with its bytes and FIN in flight.
 *   closing    B drops; A sends and shuts down (FIN_WAIT1), then B sends
 *              and shuts down: B's FIN reaches A, A CLOSING with its own
 *              FIN not acknowledged; A's ACK is dropped: B FIN_WAIT1 with
 *              its bytes and FIN in flight.
 *
 * After the restore every end is in its dumped state; then the filters
 * are detached, the retransmissions get through, and each end reads what
 * the other had sent, every byte once and in order, then the end of file
 * where a FIN was sent.
 */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define DATA_LEN	100
#define WAIT_MS		30000	/* retransmissions back off: seconds apart */

enum { FIN_WAIT1_PAIR, LAST_ACK_PAIR, CLOSING_PAIR, NR_KINDS };
#define NR_FAMILIES	NR_LOOP_FAMILIES

static const char *const kind_names[] = { "fin_wait1", "last_ack", "closing" };
static const char *const family_names[] = { "IPv4", "IPv6", "IPv4-mapped IPv6" };

struct pair {
	int a, b;
	bool a_sent, b_sent;		/* DATA_LEN bytes and a FIN */
	bool a_drops, b_drops;		/* the filter attached */
	unsigned a_state, b_state;
	char name[48];
};

static struct pair pairs[NR_FAMILIES][NR_KINDS];

static uint8_t byte_of(unsigned seed, unsigned i)
{
	return (uint8_t)(i * 37 + seed * 11);
}

/* Every packet to @fd dropped (a classic BPF program: return 0). */
static void drop_all(int fd, const char *name)
{
	static struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail_errno("%s: SO_ATTACH_FILTER", name);
}

static void send_and_close(int fd, unsigned seed, const char *name)
{
	uint8_t buf[DATA_LEN];

	for (unsigned i = 0; i < DATA_LEN; i++)
		buf[i] = byte_of(seed, i);
	if (send(fd, buf, sizeof(buf), 0) != sizeof(buf) || shutdown(fd, SHUT_WR))
		fail_errno("%s: send and shutdown", name);
}

static void wait_states(const struct pair *p)
{
	for (int i = 0; i < 1000 && (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state); i++)
		usleep(1000);
	if (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state)
		fail("%s: states %u and %u, not %u and %u", p->name, tcp_state(p->a), tcp_state(p->b),
		     p->a_state, p->b_state);
}

static void setup(int fam, int kind)
{
	struct pair *p = &pairs[fam][kind];

	snprintf(p->name, sizeof(p->name), "%s %s", family_names[fam], kind_names[kind]);
	tcp_loopback_pair(fam, 0, &p->a, &p->b, p->name);
	switch (kind) {
	case FIN_WAIT1_PAIR:
		drop_all(p->b, p->name);
		send_and_close(p->a, 1, p->name);
		p->a_sent = p->b_drops = true;
		p->a_state = TCP_FIN_WAIT1;
		p->b_state = TCP_ESTABLISHED;
		break;
	case LAST_ACK_PAIR:
		if (shutdown(p->a, SHUT_WR))
			fail_errno("%s: shutdown", p->name);
		p->a_state = TCP_FIN_WAIT2;
		p->b_state = TCP_CLOSE_WAIT;
		wait_states(p);
		drop_all(p->a, p->name);
		send_and_close(p->b, 2, p->name);
		p->b_sent = p->a_drops = true;
		p->b_state = TCP_LAST_ACK;
		break;
	case CLOSING_PAIR:
		drop_all(p->b, p->name);
		send_and_close(p->a, 1, p->name);
		p->a_state = TCP_FIN_WAIT1;
		p->b_state = TCP_ESTABLISHED;
		wait_states(p);
		send_and_close(p->b, 2, p->name);
		p->a_sent = p->b_sent = p->b_drops = true;
		p->a_state = TCP_CLOSING;
		p->b_state = TCP_FIN_WAIT1;
		break;
	}
	wait_states(p);
}

/* @fd reads the peer's DATA_LEN bytes (@seed), then the end of file. */
static void expect_data(const struct pair *p, int fd, unsigned seed, const char *who)
{
	uint8_t buf[DATA_LEN + 1];
	unsigned got = 0;

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, WAIT_MS) != 1)
			fail("%s: %s: %u of %u bytes, then nothing for %d s", p->name, who, got, DATA_LEN,
			     WAIT_MS / 1000);
		n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n < 0)
			fail("%s: %s: recv after %u bytes: %m", p->name, who, got);
		if (n == 0)
			break;
		got += n;
		if (got > DATA_LEN)
			fail("%s: %s: more than the %u bytes sent", p->name, who, DATA_LEN);
	}
	if (got != DATA_LEN)
		fail("%s: %s: end of file after %u of %u bytes", p->name, who, got, DATA_LEN);
	for (unsigned i = 0; i < DATA_LEN; i++)
		if (buf[i] != byte_of(seed, i))
			fail("%s: %s: byte %u is %u, not %u", p->name, who, i, buf[i], byte_of(seed, i));
}

/* Nothing came in, and the peer's FIN (sent before the dump) is there. */
static void expect_eof(const struct pair *p, int fd, const char *who)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	if (n != 0)
		fail("%s: %s: recv gave %zd (%s), not the end of file", p->name, who, n,
		     n < 0 ? strerror(errno) : "data");
}

/* The states as dumped, then every packet let in again. */
static void check_states(struct pair *p)
{
	int zero = 0;

	if (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state)
		fail("%s: states %u and %u after the restore, %u and %u at the dump", p->name,
		     tcp_state(p->a), tcp_state(p->b), p->a_state, p->b_state);
	if ((p->a_drops && setsockopt(p->a, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero))) ||
	    (p->b_drops && setsockopt(p->b, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero))))
		fail("%s: SO_DETACH_FILTER (was the filter restored?): %m", p->name);
}

/* Once every filter is gone: the retransmissions of all come in together. */
static void check_data(struct pair *p)
{
	if (p->a_sent)
		expect_data(p, p->b, 1, "B");
	else
		expect_eof(p, p->b, "B");
	if (p->b_sent)
		expect_data(p, p->a, 2, "A");
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
			check_states(&pairs[f][k]);
	for (int f = 0; f < NR_FAMILIES; f++)
		for (int k = 0; k < NR_KINDS; k++)
			check_data(&pairs[f][k]);
	pass();
}
