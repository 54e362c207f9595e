/*
 * Unix sockets that are not (or no longer) connected, for stream,
 * datagram and seqpacket: one never connected nor bound; one whose peer
 * closed with nothing queued ("released"); one whose peer closed after
 * sending (its data still queued: for stream and seqpacket the reader
 * then sees end of file).
 *
 * Datagram extras: three senders sharing one bound receiver (one of them
 * closed after sending, its message still queued), and a socket
 * connected to itself with a message to itself queued.
 *
 * After restore: the never connected ones are still unconnected
 * (getpeername ENOTCONN), the released ones give their queued
 * data then end of file (stream, seqpacket) or EAGAIN, the receiver has
 * its three messages in order and the live senders still reach it, and
 * the self-connected socket reads its message and sends to itself again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "zdtm.h"

static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const tname[] = { "stream", "dgram", "seqpacket" };
#define NR_TYPES	3

static int never[NR_TYPES], released[NR_TYPES], closed_data[NR_TYPES];
static int receiver, senders[3], self_sk;
static struct sockaddr_un raddr;
static socklen_t rlen;

static void check_unconnected(int fd, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0)
		fail("%s: has a peer after restore", what);
	if (errno != ENOTCONN)
		fail_errno("%s: getpeername", what);
}

/* Reads @want (NULL: nothing) then expects end of file (stream/seqpacket) or EAGAIN. */
static void check_drained(int fd, int type, const char *want, const char *what)
{
	char buf[64];
	ssize_t n;

	if (want) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n != (ssize_t)strlen(want) + 1 || strcmp(buf, want))
			fail("%s: read %zd bytes, expected '%s'", what, n, want);
	}
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (type == SOCK_DGRAM) {
		if (n >= 0 || errno != EAGAIN)
			fail("%s: read %zd (%m) after its data, expected EAGAIN", what, n);
	} else if (n != 0) {
		fail("%s: read %zd (%m) after its data, expected end of file", what, n);
	}
}

static void expect_msg(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)strlen(want) + 1 || strcmp(buf, want))
		fail("%s: got %zd bytes '%.*s' (%m), expected '%s'", what, n, n > 0 ? (int)n : 0, buf, want);
}

int main(int argc, char **argv)
{
	char what[64];
	int p[2];

	test_init(argc, argv);
	for (int i = 0; i < NR_TYPES; i++) {
		never[i] = socket(AF_UNIX, types[i], 0);
		if (never[i] < 0)
			fail_errno("socket %s", tname[i]);
		if (socketpair(AF_UNIX, types[i], 0, p))
			fail_errno("socketpair %s", tname[i]);
		released[i] = p[0];
		close(p[1]);
		if (socketpair(AF_UNIX, types[i], 0, p))
			fail_errno("socketpair %s", tname[i]);
		closed_data[i] = p[0];
		if (send(p[1], "from the dead", 14, 0) != 14)
			fail_errno("send %s", tname[i]);
		close(p[1]);
	}

	memset(&raddr, 0, sizeof(raddr));
	raddr.sun_family = AF_UNIX;
	snprintf(raddr.sun_path + 1, sizeof(raddr.sun_path) - 1, "zdtm_unix_released.%d", getpid());
	rlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(raddr.sun_path + 1);
	receiver = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (receiver < 0 || bind(receiver, (struct sockaddr *)&raddr, rlen))
		fail_errno("receiver");
	for (int i = 0; i < 3; i++) {
		senders[i] = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (senders[i] < 0 || connect(senders[i], (struct sockaddr *)&raddr, rlen))
			fail_errno("sender %d", i);
		snprintf(what, sizeof(what), "sender %d", i);
		if (send(senders[i], what, strlen(what) + 1, 0) < 0)
			fail_errno("send %s", what);
	}
	close(senders[1]);
	senders[1] = -1;

	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		socklen_t len;

		snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "zdtm_unix_self.%d", getpid());
		len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
		self_sk = socket(AF_UNIX, SOCK_DGRAM, 0);
		if (self_sk < 0 || bind(self_sk, (struct sockaddr *)&sa, len) ||
		    connect(self_sk, (struct sockaddr *)&sa, len) || send(self_sk, "to myself", 10, 0) != 10)
			fail_errno("self-connected socket");
	}

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < NR_TYPES; i++) {
		snprintf(what, sizeof(what), "never connected %s", tname[i]);
		check_unconnected(never[i], what);
		snprintf(what, sizeof(what), "released %s", tname[i]);
		check_drained(released[i], types[i], NULL, what);
		snprintf(what, sizeof(what), "%s whose peer closed after sending", tname[i]);
		check_drained(closed_data[i], types[i], "from the dead", what);
	}
	expect_msg(receiver, "sender 0", "receiver, first");
	expect_msg(receiver, "sender 1", "receiver, from the closed sender");
	expect_msg(receiver, "sender 2", "receiver, third");
	for (int i = 0; i < 3; i += 2) {
		snprintf(what, sizeof(what), "again %d", i);
		if (send(senders[i], what, strlen(what) + 1, 0) < 0)
			fail_errno("sender %d after restore", i);
		expect_msg(receiver, what, "receiver, after restore");
	}
	expect_msg(self_sk, "to myself", "self-connected socket");
	if (send(self_sk, "again", 6, 0) != 6)
		fail_errno("self-connected socket: send after restore");
	expect_msg(self_sk, "again", "self-connected socket after restore");
	pass();
}
