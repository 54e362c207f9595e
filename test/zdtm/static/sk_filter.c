/*
 * Classic BPF socket filters (SO_ATTACH_FILTER): a UDP socket (IPv4)
 * and a unix datagram socketpair end, each with a filter that passes
 * only datagrams whose first byte is 'a'; the UDP one is locked
 * (SO_LOCK_FILTER), and one more UDP socket has a filter that was
 * detached again (SO_DETACH_FILTER: none after restore either).
 *
 * After restore SO_GET_FILTER gives the same program, the lock holds
 * (attaching another filter fails with EPERM), and the filters still
 * drop what does not start with 'a'.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

/* The first byte of the payload: after the UDP header for UDP. */
#define PROG(off) {							\
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, off),			\
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 'a', 0, 1),			\
	BPF_STMT(BPF_RET | BPF_K, 0xffff),	/* pass */		\
	BPF_STMT(BPF_RET | BPF_K, 0),		/* drop */		\
}
static struct sock_filter prog_udp[] = PROG(8), prog_unix[] = PROG(0);
#define NR_INSNS	(sizeof(prog_udp) / sizeof(prog_udp[0]))

static int udp, udp_tx, detached, ux[2];

static void attach(int fd, struct sock_filter *prog, const char *what)
{
	struct sock_fprog fp = { .len = NR_INSNS, .filter = prog };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)))
		fail_errno("%s: SO_ATTACH_FILTER", what);
}

static void check_prog(int fd, const struct sock_filter *prog, const char *what)
{
	struct sock_filter got[16];
	socklen_t len = 16;	/* in instructions */

	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, got, &len))
		fail_errno("%s: SO_GET_FILTER", what);
	if (len != NR_INSNS || memcmp(got, prog, sizeof(prog_udp)))
		fail("%s: the filter has %u instructions, not the %zu attached (or others)", what, len, NR_INSNS);
}

/* "a..." arrives, "b..." does not. */
static void check_drops(int tx, int rx, const struct sockaddr *to, socklen_t tolen, const char *what)
{
	char buf[8];

	if (sendto(tx, "bad", 3, 0, to, tolen) != 3 || sendto(tx, "ace", 3, 0, to, tolen) != 3)
		fail_errno("%s: send", what);
	if (recv(rx, buf, sizeof(buf), 0) != 3 || buf[0] != 'a')
		fail("%s: the first datagram received is not the one the filter passes", what);
	if (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("%s: the filter let a datagram through that it drops", what);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1;
	struct sock_filter none[1];
	socklen_t len = 1;

	test_init(argc, argv);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	udp_tx = socket(AF_INET, SOCK_DGRAM, 0);
	detached = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp < 0 || udp_tx < 0 || detached < 0 || bind(udp, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(udp, (struct sockaddr *)&a, &alen))
		fail_errno("UDP sockets");
	attach(udp, prog_udp, "UDP");
	if (setsockopt(udp, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)))
		fail_errno("SO_LOCK_FILTER");
	attach(detached, prog_udp, "detached UDP");
	if (setsockopt(detached, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one)))
		fail_errno("SO_DETACH_FILTER");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, ux))
		fail_errno("socketpair");
	attach(ux[1], prog_unix, "unix");
	check_drops(udp_tx, udp, (struct sockaddr *)&a, alen, "UDP before");
	check_drops(ux[0], ux[1], NULL, 0, "unix before");

	test_ready();
	test_wait_checkpoint();

	check_prog(udp, prog_udp, "UDP");
	check_prog(ux[1], prog_unix, "unix");
	len = sizeof(one);
	if (getsockopt(udp, SOL_SOCKET, SO_LOCK_FILTER, &one, &len) || !one)
		fail("UDP: SO_LOCK_FILTER is off after restore");
	{
		struct sock_fprog fp = { .len = NR_INSNS, .filter = prog_udp };

		if (setsockopt(udp, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) == 0 || errno != EPERM)
			fail("UDP: the locked filter could be replaced (%m)");
	}
	len = 1;
	if (getsockopt(detached, SOL_SOCKET, SO_GET_FILTER, none, &len) || len != 0)
		fail("the detached socket has a filter of %u instructions", len);
	check_drops(udp_tx, udp, (struct sockaddr *)&a, alen, "UDP after restore");
	check_drops(ux[0], ux[1], NULL, 0, "unix after restore");
	pass();
}
