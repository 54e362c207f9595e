/*
 * A UDP socket corked (UDP_CORK) with part of a datagram written: the
 * kernel holds it in the socket's send queue until uncorked, and no
 * interface reads it. Not supported: the dump is refused (it would be
 * lost) and the tree runs on; then, uncorked, the whole datagram goes
 * out.
 *
 * zdtm: refused: corked
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

int main(int argc, char **argv)
{
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(lo);
	int s, r, on = 1, off = 0;
	char buf[64];
	ssize_t n;

	test_init(argc, argv);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	r = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || r < 0 || bind(r, (struct sockaddr *)&lo, sizeof(lo)) ||
	    getsockname(r, (struct sockaddr *)&lo, &len) || connect(s, (struct sockaddr *)&lo, sizeof(lo)))
		fail_errno("UDP pair");
	if (setsockopt(s, SOL_UDP, UDP_CORK, &on, sizeof(on)) || send(s, "half ", 5, 0) != 5)
		fail_errno("corked send");

	test_ready();
	test_wait_checkpoint();

	if (send(s, "and half", 8, 0) != 8 || setsockopt(s, SOL_UDP, UDP_CORK, &off, sizeof(off)))
		fail_errno("uncorking");
	n = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != 13 || memcmp(buf, "half and half", 13))
		fail("got %zd bytes (%m), expected 'half and half'", n);
	pass();
}
