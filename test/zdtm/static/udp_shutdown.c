/*
 * UDP sockets shut down, IPv4, IPv6 and IPv4-mapped IPv6: a connected one
 * shut for writing (a send fails with EPIPE), a connected one shut for
 * reading (poll reports POLLRDHUP), and an unbound one shut both ways
 * (shutdown says ENOTCONN but the kernel keeps the flags: poll reports
 * POLLHUP).
 *
 * After restore each behaves the same; the write-shut socket still
 * receives its peer's datagrams.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

enum { V4, V6, MAPPED, NR_FAM };
static const char *const fname[] = { "IPv4", "IPv6", "IPv4-mapped IPv6" };

struct set {
	int wr, wr_peer, rd, both;
};

static struct set sets[NR_FAM];

static socklen_t loopback(int f, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (f == V4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	if (f == V6)
		a->sin6_addr = in6addr_loopback;
	else
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr);
	return sizeof(*a);
}

/* A UDP socket bound to the family's loopback, port chosen by the kernel. */
static int bound(int f, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(f == V4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);

	*len = loopback(f, ss);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) || getsockname(fd, (struct sockaddr *)ss, len))
		fail_errno("%s: a bound UDP socket", fname[f]);
	return fd;
}

static void setup(int f)
{
	struct sockaddr_storage a, b;
	socklen_t al, bl;
	struct set *s = &sets[f];

	s->wr = bound(f, &a, &al);
	s->wr_peer = bound(f, &b, &bl);
	if (connect(s->wr, (struct sockaddr *)&b, bl) || connect(s->wr_peer, (struct sockaddr *)&a, al))
		fail_errno("%s: connect", fname[f]);
	if (shutdown(s->wr, SHUT_WR))
		fail_errno("%s: shutdown SHUT_WR", fname[f]);
	s->rd = bound(f, &a, &al);
	if (connect(s->rd, (struct sockaddr *)&b, bl) || shutdown(s->rd, SHUT_RD))
		fail_errno("%s: connected, shut for reading", fname[f]);
	s->both = socket(f == V4 ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
	if (s->both < 0 || shutdown(s->both, SHUT_RDWR) == 0 || errno != ENOTCONN)
		fail("%s: shutdown of an unbound UDP socket did not say ENOTCONN", fname[f]);
}

static void check(int f, const char *when)
{
	struct set *s = &sets[f];
	struct pollfd p;
	char b = 0;

	if (send(s->wr, "x", 1, 0) != -1 || errno != EPIPE)
		fail("%s %s: the write-shut socket sends (%m)", fname[f], when);
	if (send(s->wr_peer, "y", 1, 0) != 1 || recv(s->wr, &b, 1, 0) != 1 || b != 'y')
		fail("%s %s: the write-shut socket does not receive its peer's datagram (%m)", fname[f], when);
	p.fd = s->rd;
	p.events = POLLIN | POLLRDHUP;
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLRDHUP))
		fail("%s %s: the read-shut socket does not poll POLLRDHUP (revents 0x%x)", fname[f], when, p.revents);
	p = (struct pollfd){ .fd = s->both, .events = POLLIN | POLLOUT };
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLHUP))
		fail("%s %s: the socket shut both ways does not poll POLLHUP (revents 0x%x)", fname[f], when,
		     p.revents);
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	for (int f = 0; f < NR_FAM; f++) {
		setup(f);
		check(f, "before");
	}
	test_ready();
	test_wait_checkpoint();
	for (int f = 0; f < NR_FAM; f++)
		check(f, "after restore");
	pass();
}
