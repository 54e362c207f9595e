/*
 * Port sharing: two TCP listeners with SO_REUSEPORT on one IPv4 port,
 * two UDP sockets with SO_REUSEPORT on one IPv6 port, and two TCP
 * sockets with SO_REUSEADDR bound to one port on 127.0.0.1, one of them
 * listening (the other bound only, as a server about to listen).
 *
 * After restore all are bound to their ports again with their options,
 * and a client connects to the shared TCP port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

struct sk {
	const char *what;
	int fd, opt;
	struct sockaddr_storage addr;
	socklen_t len;
};

static struct sk sks[6] = {
	{ .what = "TCP reuseport listener 1", .fd = -1, .opt = SO_REUSEPORT }, { .what = "TCP reuseport listener 2", .fd = -1, .opt = SO_REUSEPORT },
	{ .what = "UDP reuseport 1", .fd = -1, .opt = SO_REUSEPORT }, { .what = "UDP reuseport 2", .fd = -1, .opt = SO_REUSEPORT },
	{ .what = "TCP reuseaddr listener", .fd = -1, .opt = SO_REUSEADDR }, { .what = "TCP reuseaddr bound", .fd = -1, .opt = SO_REUSEADDR },
};

static void make(struct sk *s, int family, int type, const struct sockaddr_storage *at, socklen_t len)
{
	int one = 1;

	s->fd = socket(family, type, 0);
	if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, s->opt, &one, sizeof(one)) ||
	    bind(s->fd, (const struct sockaddr *)at, len))
		fail_errno("%s", s->what);
	s->len = sizeof(s->addr);
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->len))
		fail_errno("%s: getsockname", s->what);
}

static void check(struct sk *s)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int v = 0;

	if (getsockname(s->fd, (struct sockaddr *)&a, &len) || len != s->len || memcmp(&a, &s->addr, len))
		fail("%s: not bound to its address after restore", s->what);
	len = sizeof(v);
	if (getsockopt(s->fd, SOL_SOCKET, s->opt, &v, &len) || !v)
		fail("%s: lost its %s", s->what, s->opt == SO_REUSEPORT ? "SO_REUSEPORT" : "SO_REUSEADDR");
}

int main(int argc, char **argv)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int c;

	test_init(argc, argv);
	make(&sks[0], AF_INET, SOCK_STREAM, (struct sockaddr_storage *)&v4, sizeof(v4));
	make(&sks[1], AF_INET, SOCK_STREAM, &sks[0].addr, sks[0].len);
	make(&sks[2], AF_INET6, SOCK_DGRAM, (struct sockaddr_storage *)&v6, sizeof(v6));
	make(&sks[3], AF_INET6, SOCK_DGRAM, &sks[2].addr, sks[2].len);
	make(&sks[4], AF_INET, SOCK_STREAM, (struct sockaddr_storage *)&v4, sizeof(v4));
	make(&sks[5], AF_INET, SOCK_STREAM, &sks[4].addr, sks[4].len);
	if (listen(sks[0].fd, 4) || listen(sks[1].fd, 4) || listen(sks[4].fd, 4))
		fail_errno("listen");

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < 6; i++)
		check(&sks[i]);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sks[0].addr, sks[0].len))
		fail_errno("connecting to the shared port after restore");
	close(c);
	pass();
}
