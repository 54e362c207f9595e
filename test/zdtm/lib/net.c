/*
 * Sockets (zdtm.h): what several tests ask of theirs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtm.h"

unsigned tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len))
		fail_errno("TCP_INFO of fd %d", fd);
	return ti.tcpi_state;
}

void loopback_addr(int fam, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (fam == LOOP_V4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		if (fam == LOOP_V6)
			a->sin6_addr = in6addr_loopback;
		else
			inet_pton(AF_INET6, "::ffff:127.0.0.1", &a->sin6_addr);
		*len = sizeof(*a);
	}
}

void tcp_loopback_pair(int fam, int rcvbuf, int *ret_a, int *ret_b, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, a, b;

	loopback_addr(fam, &ss, &len);
	l = socket(ss.ss_family, SOCK_STREAM, 0);
	a = socket(ss.ss_family, SOCK_STREAM, 0);
	if (l < 0 || a < 0)
		fail_errno("%s: socket", name);
	if (rcvbuf && setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)))
		fail_errno("%s: SO_RCVBUF", name);
	if (bind(l, (struct sockaddr *)&ss, len) || listen(l, 1) || getsockname(l, (struct sockaddr *)&ss, &len))
		fail_errno("%s: listener", name);
	if (connect(a, (struct sockaddr *)&ss, len))
		fail_errno("%s: connect", name);
	b = accept(l, NULL, NULL);
	if (b < 0)
		fail_errno("%s: accept", name);
	close(l);
	*ret_a = a;
	*ret_b = b;
}
