/*
 * Datagram sockets (zdtm.h): sending and checking what arrives, with
 * its sender, for the UDP and UDP-Lite tests.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "zdtm.h"

void dgram_send(struct dgram_sk *from, const struct dgram_sk *to, const char *msg)
{
	if (sendto(from->fd, msg, strlen(msg), 0, to ? (const struct sockaddr *)&to->addr : NULL,
		   to ? to->alen : 0) != (ssize_t)strlen(msg))
		fail_errno("%s -> %s: send '%s'", from->name, to ? to->name : "peer", msg);
}

void dgram_expect_from(struct dgram_sk *r, const struct sockaddr_storage *addr, socklen_t alen, const char *who,
		       const char *msg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[256];
	ssize_t n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &len);

	if (n < 0)
		fail_errno("%s: expected '%s' from %s", r->name, msg, who);
	if ((size_t)n != strlen(msg) || memcmp(buf, msg, n))
		fail("%s: got '%.*s' (%zd bytes), expected '%s'", r->name, (int)n, buf, n, msg);
	if (len != alen || memcmp(&ss, addr, len))
		fail("%s: '%s' did not come from %s's address", r->name, msg, who);
}

void dgram_expect(struct dgram_sk *r, const struct dgram_sk *from, const char *msg)
{
	dgram_expect_from(r, &from->addr, from->alen, from->name, msg);
}

void dgram_expect_empty(struct dgram_sk *r)
{
	char c;

	if (recv(r->fd, &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("%s: more datagrams than expected", r->name);
}

int sk_getint(int fd, int level, int opt, const char *who)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len))
		fail_errno("%s: getsockopt(%d, %d)", who, level, opt);
	return v;
}
