/*
 * Socketpairs of the three unix types, one end in the parent and one in a
 * child, with data queued in both directions at the checkpoint: several
 * messages of different sizes, whose boundaries datagram and seqpacket
 * must keep. A fourth stream pair has queued data and was shut down for
 * writing by the parent (the child must read the data, then EOF). A fifth
 * datagram pair lost its other end before the checkpoint: its queued
 * messages stay readable, and sending says ECONNREFUSED.
 *
 * After restore each side reads exactly what the other queued, finds its
 * queues empty, then both keep talking over every pair.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_MSGS		5
#define MSG_MAX		3000

enum { P_STREAM, P_DGRAM, P_SEQPACKET, P_SHUT, P_ORPHAN, NR_PAIRS };

static const int types[NR_PAIRS] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, SOCK_DGRAM };
static const char *const names[NR_PAIRS] = { "stream", "dgram", "seqpacket", "stream-shut", "dgram-orphan" };
static int sv[NR_PAIRS][2];

/* Message k from side @side on pair @p: its length and a pattern of bytes. */
static size_t msg_len(int p, int side, int k)
{
	return 1 + (p * 977 + side * 331 + k * 613) % MSG_MAX;
}

static void msg_fill(char *buf, int p, int side, int k)
{
	size_t len = msg_len(p, side, k);

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(p * 31 + side * 17 + k * 7 + i);
}

static void send_msgs(int p, int side, int fd)
{
	char buf[MSG_MAX];

	for (int k = 0; k < NR_MSGS; k++) {
		msg_fill(buf, p, side, k);
		if (send(fd, buf, msg_len(p, side, k), MSG_DONTWAIT) != (ssize_t)msg_len(p, side, k))
			fail_errno("%s: queueing message %d", names[p], k);
	}
}

/* Reads what side @from queued on pair @p, with boundaries unless stream. */
static void recv_msgs(int p, int from, int fd)
{
	char want[MSG_MAX], got[MSG_MAX + 1];

	for (int k = 0; k < NR_MSGS; k++) {
		size_t len = msg_len(p, from, k), done = 0;

		msg_fill(want, p, from, k);
		while (done < len) {
			ssize_t n = recv(fd, got + done, types[p] == SOCK_STREAM ? len - done : sizeof(got),
					 MSG_DONTWAIT);

			if (n < 0)
				fail_errno("%s: message %d of %d: %zu of %zu bytes", names[p], k, NR_MSGS, done, len);
			if (n == 0)
				fail("%s: EOF at message %d", names[p], k);
			if (types[p] != SOCK_STREAM && (size_t)n != len)
				fail("%s: message %d is %zd bytes, expected %zu (boundaries lost)",
				     names[p], k, n, len);
			done += n;
		}
		if (memcmp(want, got, len))
			fail("%s: message %d has other bytes than were sent", names[p], k);
	}
}

static void check_empty(int p, int fd, int eof)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

	if (eof && n != 0)
		fail("%s: expected EOF after the queued data, got %zd (%m)", names[p], n);
	if (!eof && !(n < 0 && errno == EAGAIN))
		fail("%s: queue not empty after the queued messages (%zd)", names[p], n);
}

static void talk(int p, int fd, int first)
{
	char buf[16] = "ping", got[16];

	if (first && send(fd, buf, 5, 0) != 5)
		fail_errno("%s: send after restore", names[p]);
	if (recv(fd, got, sizeof(got), 0) != 5 || strcmp(got, "ping"))
		fail_errno("%s: recv after restore", names[p]);
	if (!first && send(fd, buf, 5, 0) != 5)
		fail_errno("%s: send back after restore", names[p]);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();

	for (int p = 0; p < NR_PAIRS; p++)
		close(sv[p][0]);
	for (int p = 0; p < NR_PAIRS; p++)
		send_msgs(p, 1, sv[p][1]);
	close(sv[P_ORPHAN][1]);
	tree_send(parent, 0);
	test_wait_checkpoint();

	tree_recv(parent);		/* the parent has read its queues */
	for (int p = 0; p < NR_PAIRS; p++) {
		if (p == P_ORPHAN)
			continue;
		recv_msgs(p, 0, sv[p][1]);
		check_empty(p, sv[p][1], p == P_SHUT);
	}
	tree_send(parent, 0);
	for (int p = 0; p < NR_PAIRS; p++)
		if (p != P_ORPHAN && p != P_SHUT)
			talk(p, sv[p][1], 0);
	/* The parent shut its side for writing: this direction still works. */
	if (send(sv[P_SHUT][1], "ping", 5, 0) != 5)
		fail_errno("stream-shut: send to the shut side");
	tree_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	for (int p = 0; p < NR_PAIRS; p++)
		if (socketpair(AF_UNIX, types[p], 0, sv[p]))
			fail_errno("socketpair %s", names[p]);
	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	for (int p = 0; p < NR_PAIRS; p++)
		close(sv[p][1]);
	for (int p = 0; p < NR_PAIRS; p++)
		if (p != P_ORPHAN)
			send_msgs(p, 0, sv[p][0]);
	if (shutdown(sv[P_SHUT][0], SHUT_WR))
		fail_errno("shutdown");
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	for (int p = 0; p < NR_PAIRS; p++) {
		recv_msgs(p, 1, sv[p][0]);
		check_empty(p, sv[p][0], 0);
	}
	tree_send(kid, 0);
	tree_recv(kid);
	for (int p = 0; p < NR_PAIRS; p++)
		if (p != P_ORPHAN && p != P_SHUT)
			talk(p, sv[p][0], 1);
	if (send(sv[P_SHUT][0], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("stream-shut: sending on the shut side did not fail with EPIPE");
	{
		char got[8];

		if (recv(sv[P_SHUT][0], got, sizeof(got), 0) != 5 || strcmp(got, "ping"))
			fail_errno("stream-shut: recv from the child");
	}
	if (send(sv[P_ORPHAN][0], "x", 1, MSG_DONTWAIT) != -1 || errno != ECONNREFUSED)
		fail("dgram-orphan: send to the closed end did not fail with ECONNREFUSED (%m)");
	tree_exit(tree_collect(&kid, 1));
}
