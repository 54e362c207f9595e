/*
 * Listening and unconnected TCP sockets, IPv4 and IPv6, keep their bound
 * address and port, their backlog and their options.
 *
 * L4 listens on 127.0.0.1 (SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY,
 * SO_RCVBUF, SO_RCVTIMEO, TCP_KEEPIDLE, O_NONBLOCK), L6 on ::1 (IPV6_V6ONLY,
 * SO_REUSEPORT, SO_SNDBUF, SO_SNDTIMEO, SO_LINGER), B4 is bound but not
 * listening, U6 neither bound nor listening. Ports are the kernel's
 * (bind to port 0), so tests running at once never collide.
 *
 * After restore every socket has its address, state and options; the
 * test connects to L4 and L6, accepts, and passes data both ways; B4 and
 * U6 still work (B4 listens then, U6 connects to L6).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

struct sk {
	const char *name;
	int fd, family;
	struct sockaddr_storage addr;
	socklen_t alen;
	int listening;
};

static struct sk l4 = { .name = "L4", .fd = -1, .family = AF_INET },
		 l6 = { .name = "L6", .fd = -1, .family = AF_INET6 },
		 b4 = { .name = "B4", .fd = -1, .family = AF_INET },
		 u6 = { .name = "U6", .fd = -1, .family = AF_INET6 };

/* Options compared before and after. */
static const struct { int level, opt; const char *name; } opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" }, { SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT" },
	{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" }, { SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF" },
	{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF" }, { SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN" },
	{ SOL_SOCKET, SO_TYPE, "SO_TYPE" }, { SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN" },
	{ SOL_TCP, TCP_NODELAY, "TCP_NODELAY" }, { SOL_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE" },
};
#define NR_OPTS (sizeof(opts) / sizeof(opts[0]))

struct snap {
	int v[NR_OPTS];
	struct timeval rcvtimeo, sndtimeo;
	struct linger linger;
	int v6only, fl;
	struct sockaddr_storage name;
	socklen_t nlen;
};

static struct snap before[4];

static void setopt(struct sk *s, int level, int opt, int v)
{
	if (setsockopt(s->fd, level, opt, &v, sizeof(v)))
		fail_errno("%s: setsockopt %d/%d", s->name, level, opt);
}

static void take(struct sk *s, struct snap *n)
{
	socklen_t len;

	memset(n, 0, sizeof(*n));
	for (unsigned i = 0; i < NR_OPTS; i++) {
		len = sizeof(int);
		if (getsockopt(s->fd, opts[i].level, opts[i].opt, &n->v[i], &len))
			fail_errno("%s: getsockopt %s", s->name, opts[i].name);
	}
	len = sizeof(n->rcvtimeo);
	getsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &n->rcvtimeo, &len);
	len = sizeof(n->sndtimeo);
	getsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &n->sndtimeo, &len);
	len = sizeof(n->linger);
	getsockopt(s->fd, SOL_SOCKET, SO_LINGER, &n->linger, &len);
	if (s->family == AF_INET6) {
		len = sizeof(int);
		getsockopt(s->fd, SOL_IPV6, IPV6_V6ONLY, &n->v6only, &len);
	}
	n->fl = fcntl(s->fd, F_GETFL);
	n->nlen = sizeof(n->name);
	if (getsockname(s->fd, (struct sockaddr *)&n->name, &n->nlen))
		fail_errno("%s: getsockname", s->name);
}

static void compare(struct sk *s, const struct snap *a)
{
	struct snap b;

	take(s, &b);
	for (unsigned i = 0; i < NR_OPTS; i++)
		if (a->v[i] != b.v[i])
			fail("%s: %s was %d, is %d", s->name, opts[i].name, a->v[i], b.v[i]);
	if (memcmp(&a->rcvtimeo, &b.rcvtimeo, sizeof(b.rcvtimeo)) ||
	    memcmp(&a->sndtimeo, &b.sndtimeo, sizeof(b.sndtimeo)))
		fail("%s: timeouts changed", s->name);
	if (a->linger.l_onoff != b.linger.l_onoff || a->linger.l_linger != b.linger.l_linger)
		fail("%s: SO_LINGER changed", s->name);
	if (a->v6only != b.v6only)
		fail("%s: IPV6_V6ONLY was %d, is %d", s->name, a->v6only, b.v6only);
	if (a->fl != b.fl)
		fail("%s: status flags were 0%o, are 0%o", s->name, a->fl, b.fl);
	if (a->nlen != b.nlen || memcmp(&a->name, &b.name, a->nlen))
		fail("%s: bound address changed", s->name);
}

static void make(struct sk *s, const char *ip, int do_bind, int backlog)
{
	s->fd = socket(s->family, SOCK_STREAM, 0);
	if (s->fd < 0)
		fail_errno("%s: socket", s->name);
	if (!do_bind)
		return;
	memset(&s->addr, 0, sizeof(s->addr));
	if (s->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&s->addr;

		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
		s->alen = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->addr;

		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		s->alen = sizeof(*a);
	}
	if (bind(s->fd, (struct sockaddr *)&s->addr, s->alen))
		fail_errno("%s: bind %s", s->name, ip);
	/* The kernel's port, recorded for the connections after restore. */
	if (getsockname(s->fd, (struct sockaddr *)&s->addr, &s->alen))
		fail_errno("%s: getsockname", s->name);
	if (backlog) {
		if (listen(s->fd, backlog))
			fail_errno("%s: listen", s->name);
		s->listening = 1;
	}
}

/* Connects to @s, accepts, sends a line each way. */
static void exchange(struct sk *s, int client)
{
	char buf[32];
	int c = client, a;
	struct pollfd p = { s->fd, POLLIN, 0 };

	if (c < 0 && (c = socket(s->family, SOCK_STREAM, 0)) < 0)
		fail_errno("%s: client socket", s->name);
	if (connect(c, (struct sockaddr *)&s->addr, s->alen))
		fail_errno("%s: connect to the restored listener", s->name);
	if (poll(&p, 1, 5000) != 1)
		fail("%s: no connection to accept", s->name);
	a = accept(s->fd, NULL, NULL);
	if (a < 0)
		fail_errno("%s: accept", s->name);
	if (write(c, "ping", 4) != 4 || read(a, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4))
		fail("%s: client to server", s->name);
	if (write(a, "pong", 4) != 4 || read(c, buf, sizeof(buf)) != 4 || memcmp(buf, "pong", 4))
		fail("%s: server to client", s->name);
	close(a);
	close(c);
}

int main(int argc, char **argv)
{
	struct sk *all[] = { &l4, &l6, &b4, &u6 };
	struct timeval tv = { 7, 250000 }, tv2 = { 3, 0 };
	struct linger lg = { 1, 5 };

	test_init(argc, argv);


	/* L4 */
	l4.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (l4.fd < 0)
		fail_errno("socket");
	setopt(&l4, SOL_SOCKET, SO_REUSEADDR, 1);
	setopt(&l4, SOL_SOCKET, SO_KEEPALIVE, 1);
	setopt(&l4, SOL_TCP, TCP_NODELAY, 1);
	setopt(&l4, SOL_SOCKET, SO_RCVBUF, 50000);
	setopt(&l4, SOL_TCP, TCP_KEEPIDLE, 77);
	if (setsockopt(l4.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		fail_errno("SO_RCVTIMEO");
	{
		struct sockaddr_in *a = (struct sockaddr_in *)&l4.addr;

		memset(&l4.addr, 0, sizeof(l4.addr));
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		l4.alen = sizeof(*a);
		if (bind(l4.fd, (struct sockaddr *)a, l4.alen) || listen(l4.fd, 17) ||
		    getsockname(l4.fd, (struct sockaddr *)&l4.addr, &l4.alen))
			fail_errno("L4: bind/listen");
	}
	if (fcntl(l4.fd, F_SETFL, O_NONBLOCK))
		fail_errno("O_NONBLOCK");

	/* L6 */
	l6.fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (l6.fd < 0)
		fail_errno("socket v6");
	setopt(&l6, SOL_IPV6, IPV6_V6ONLY, 1);
	setopt(&l6, SOL_SOCKET, SO_REUSEPORT, 1);
	setopt(&l6, SOL_SOCKET, SO_SNDBUF, 70000);
	if (setsockopt(l6.fd, SOL_SOCKET, SO_SNDTIMEO, &tv2, sizeof(tv2)) ||
	    setsockopt(l6.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		fail_errno("L6 options");
	{
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l6.addr;

		memset(&l6.addr, 0, sizeof(l6.addr));
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		l6.alen = sizeof(*a);
		if (bind(l6.fd, (struct sockaddr *)a, l6.alen) || listen(l6.fd, 5) ||
		    getsockname(l6.fd, (struct sockaddr *)&l6.addr, &l6.alen))
			fail_errno("L6: bind/listen");
	}

	make(&b4, "127.0.0.1", 1, 0);
	make(&u6, NULL, 0, 0);

	for (int i = 0; i < 4; i++)
		take(all[i], &before[i]);

	test_ready();
	test_wait_checkpoint();

	for (int i = 0; i < 4; i++)
		compare(all[i], &before[i]);
	/* The listeners accept new connections. */
	exchange(&l6, -1);
	if (fcntl(l4.fd, F_SETFL, 0))
		fail_errno("clear O_NONBLOCK");
	exchange(&l4, -1);
	/* The bound socket can still listen on its port; the bare one connect. */
	if (listen(b4.fd, 3))
		fail_errno("B4: listen on its restored port");
	exchange(&b4, -1);
	exchange(&l6, u6.fd);
	pass();
}
