/*
 * zdtm: cr-opts: --tcp-close
 *
 * --tcp-close: loopback TCP connections (both ends in this process) over
 * IPv4, IPv6 and IPv4-mapped IPv6, each with bytes unread both ways, one
 * pair established and one half-closed (A shut down for writing: A
 * FIN_WAIT2, B CLOSE_WAIT), next to a listener of each family. The dump
 * needs no repair mode for them (so no CAP_NET_ADMIN, and no network
 * lock).
 *
 * After the checkpoint:
 *   - restored (the process's start time is not the one it had): every
 *     connected end is closed: TCP state CLOSE, poll() says POLLHUP,
 *     recv() end of file, send() EPIPE; each listener takes a new
 *     connection that carries data both ways;
 *   - left running (--leave-running): every end is as it was, its bytes
 *     still there to read.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_FAMILIES	NR_LOOP_FAMILIES
enum { OPEN_PAIR, HALF_PAIR, NR_KINDS };

static const char *const family_names[] = { "IPv4", "IPv6", "IPv4-mapped IPv6" };
static const char *const kind_names[] = { "established", "half-closed" };
static const char msg_a[] = "from A", msg_b[] = "from B";

struct pair {
	int a, b;
	unsigned a_state, b_state;
	char name[48];
};

static struct pair pairs[NR_FAMILIES][NR_KINDS];
static int listeners[NR_FAMILIES];

/* A connection to @l (listening, of family @fam): *@ret_a connects, *@ret_b is accepted. */
static void connect_to(int fam, int l, int *ret_a, int *ret_b, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int a = socket(fam == LOOP_V4 ? AF_INET : AF_INET6, SOCK_STREAM, 0);

	if (a < 0 || getsockname(l, (struct sockaddr *)&ss, &len))
		fail_errno("%s: socket", name);
	if (connect(a, (struct sockaddr *)&ss, len))
		fail_errno("%s: connect", name);
	*ret_b = accept(l, NULL, NULL);
	if (*ret_b < 0)
		fail_errno("%s: accept", name);
	*ret_a = a;
}

static void send_msg(int fd, const char *msg, const char *name)
{
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		fail_errno("%s: send", name);
}

static void expect_msg(int fd, const char *msg, const char *name, const char *who)
{
	char buf[64];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < strlen(msg)) {
		ssize_t n;

		if (poll(&p, 1, 10000) != 1)
			fail("%s: %s: no data for 10 s", name, who);
		n = recv(fd, buf + got, strlen(msg) - got, 0);
		if (n <= 0)
			fail("%s: %s: recv: %s", name, who, n ? strerror(errno) : "end of file");
		got += n;
	}
	if (memcmp(buf, msg, got))
		fail("%s: %s: the bytes differ", name, who);
}

static void setup(int fam, int kind)
{
	struct pair *p = &pairs[fam][kind];

	snprintf(p->name, sizeof(p->name), "%s %s", family_names[fam], kind_names[kind]);
	connect_to(fam, listeners[fam], &p->a, &p->b, p->name);
	send_msg(p->a, msg_a, p->name);
	send_msg(p->b, msg_b, p->name);
	if (kind == HALF_PAIR && shutdown(p->a, SHUT_WR))
		fail_errno("%s: shutdown", p->name);
	p->a_state = kind == HALF_PAIR ? TCP_FIN_WAIT2 : TCP_ESTABLISHED;
	p->b_state = kind == HALF_PAIR ? TCP_CLOSE_WAIT : TCP_ESTABLISHED;
	/* The FIN and its ACK go through the loopback in softirq time. */
	for (int i = 0; i < 1000 && (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state); i++)
		usleep(1000);
	if (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state)
		fail("%s: states %u and %u, not %u and %u", p->name, tcp_state(p->a), tcp_state(p->b),
		     p->a_state, p->b_state);
}

/* The process's start time (/proc/self/stat field 22): a restored process is a new one. */
static unsigned long long start_time(void)
{
	char buf[1024], *s;
	unsigned long long t = 0;
	FILE *f = fopen("/proc/self/stat", "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		fail_errno("/proc/self/stat");
	fclose(f);
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &t) != 1)
		fail("/proc/self/stat: no start time");
	return t;
}

static void check_closed(int fd, const char *name, const char *who)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	char c;
	ssize_t n;

	if (tcp_state(fd) != TCP_CLOSE)
		fail("%s: %s: state %u after the restore, not CLOSE", name, who, tcp_state(fd));
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLHUP))
		fail("%s: %s: poll says %#x, no POLLHUP", name, who, p.revents);
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	if (n != 0)
		fail("%s: %s: recv gave %zd (%s), not the end of file", name, who, n, n < 0 ? strerror(errno) : "data");
	if (send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		fail("%s: %s: send did not fail with EPIPE", name, who);
}

static void check_intact(const struct pair *p)
{
	if (tcp_state(p->a) != p->a_state || tcp_state(p->b) != p->b_state)
		fail("%s: not restored, yet states %u and %u, not %u and %u", p->name, tcp_state(p->a),
		     tcp_state(p->b), p->a_state, p->b_state);
	expect_msg(p->b, msg_a, p->name, "B");
	expect_msg(p->a, msg_b, p->name, "A");
}

/* A listener still takes connections, and they carry data both ways. */
static void check_listener(int fam)
{
	char name[48];
	int a, b;

	snprintf(name, sizeof(name), "%s listener", family_names[fam]);
	connect_to(fam, listeners[fam], &a, &b, name);
	send_msg(a, msg_a, name);
	send_msg(b, msg_b, name);
	expect_msg(b, msg_a, name, "accepted end");
	expect_msg(a, msg_b, name, "connecting end");
	close(a);
	close(b);
}

int main(int argc, char **argv)
{
	unsigned long long started;
	bool restored;

	test_init(argc, argv);
	started = start_time();
	for (int f = 0; f < NR_FAMILIES; f++) {
		struct sockaddr_storage ss;
		socklen_t len;

		loopback_addr(f, &ss, &len);
		listeners[f] = socket(ss.ss_family, SOCK_STREAM, 0);
		if (listeners[f] < 0 || bind(listeners[f], (struct sockaddr *)&ss, len) || listen(listeners[f], 4))
			fail_errno("%s: listener", family_names[f]);
		for (int k = 0; k < NR_KINDS; k++)
			setup(f, k);
	}

	test_ready();
	test_wait_checkpoint();

	restored = start_time() != started;
	for (int f = 0; f < NR_FAMILIES; f++) {
		for (int k = 0; k < NR_KINDS; k++) {
			struct pair *p = &pairs[f][k];

			if (!restored) {
				check_intact(p);
				continue;
			}
			check_closed(p->a, p->name, "A");
			check_closed(p->b, p->name, "B");
		}
		check_listener(f);
	}
	pass();
}
