/*
 * Packet sockets with rings mapped into memory: a TPACKET_V2 socket on
 * the loopback with an RX ring and a TX ring (one mapping for both), and
 * a TPACKET_V3 RX ring whose socket was closed after the mmap (only the
 * mapping holds it).
 *
 * Not supported: the kernel's index into a ring cannot be set, so a ring
 * made again would not be where the program reads. The dump is refused,
 * naming the ring, and the tree runs on; then the V2 ring still gets a
 * datagram sent over the loopback in a frame the user owns.
 *
 * zdtm: refused: ring
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#define FRAME	2048
#define NFRAMES	8

int main(int argc, char **argv)
{
	struct tpacket_req req = { .tp_block_size = 4096, .tp_block_nr = 4, .tp_frame_size = FRAME,
				   .tp_frame_nr = NFRAMES };
	struct tpacket_req3 req3 = { .tp_block_size = 4096, .tp_block_nr = 2, .tp_frame_size = FRAME,
				     .tp_frame_nr = 4, .tp_retire_blk_tov = 10 };
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int v2 = TPACKET_V2, v3 = TPACKET_V3, fd, fd3, u, got = 0;
	size_t len = (size_t)req.tp_block_size * req.tp_block_nr;
	char *ring, *ring3;

	test_init(argc, argv);
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	fd3 = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0 || fd3 < 0)
		fail_errno("packet sockets");
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		fail_errno("TPACKET_V2 rings");
	if (setsockopt(fd3, SOL_PACKET, PACKET_VERSION, &v3, sizeof(v3)) ||
	    setsockopt(fd3, SOL_PACKET, PACKET_RX_RING, &req3, sizeof(req3)))
		fail_errno("TPACKET_V3 ring");
	sa.sll_ifindex = if_nametoindex("lo");
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("bind to lo");
	ring = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ring3 = mmap(NULL, (size_t)req3.tp_block_size * req3.tp_block_nr, PROT_READ, MAP_SHARED, fd3, 0);
	if (ring == MAP_FAILED || ring3 == MAP_FAILED)
		fail_errno("mmap of the rings");
	close(fd3);

	test_ready();
	test_wait_checkpoint();

	/* Whatever came meanwhile is given back to the kernel; then one more. */
	for (int i = 0; i < NFRAMES; i++)
		((struct tpacket2_hdr *)(ring + i * FRAME))->tp_status = TP_STATUS_KERNEL;
	__sync_synchronize();
	u = socket(AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || sendto(u, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)) != 4)
		fail_errno("sending a datagram over lo");
	for (int tries = 0; tries < 50 && !got; tries++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, 100);
		for (int i = 0; i < NFRAMES; i++)
			got |= ((volatile struct tpacket2_hdr *)(ring + i * FRAME))->tp_status & TP_STATUS_USER;
	}
	if (!got)
		fail("the RX ring got nothing of a datagram sent over lo");
	pass();
}
