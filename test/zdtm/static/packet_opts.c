/*
 * Packet socket options: a SOCK_RAW socket bound to the loopback with
 * PACKET_VERSION TPACKET_V3, PACKET_RESERVE, PACKET_ORIGDEV,
 * PACKET_AUXDATA, PACKET_TIMESTAMP, PACKET_COPY_THRESH, PACKET_LOSS,
 * PACKET_QDISC_BYPASS, PACKET_TX_HAS_OFF, PACKET_IGNORE_OUTGOING,
 * SO_SNDBUF and a classic BPF filter; a SOCK_DGRAM one with
 * PACKET_ORIGDEV; two in a fanout group with flags (PACKET_FANOUT_LB
 * with PACKET_FANOUT_FLAG_DEFRAG and PACKET_FANOUT_FLAG_ROLLOVER), one
 * of them with PACKET_VNET_HDR and PACKET_VNET_HDR_SZ 12.
 *
 * After restore each option reads back as it was (PACKET_COPY_THRESH has
 * no getsockopt: set only) and the filter is the same program.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef PACKET_VNET_HDR_SZ
#define PACKET_VNET_HDR_SZ	24
#endif
#define FANOUT_ID	0x4321
#define FANOUT_ARG	(FANOUT_ID | (PACKET_FANOUT_LB | PACKET_FANOUT_FLAG_DEFRAG | PACKET_FANOUT_FLAG_ROLLOVER) << 16)

struct opt {
	int opt, val;
	const char *name;
};

static const struct opt raw_opts[] = {
	{ PACKET_VERSION, TPACKET_V3, "PACKET_VERSION" },
	{ PACKET_RESERVE, 64, "PACKET_RESERVE" },
	{ PACKET_ORIGDEV, 1, "PACKET_ORIGDEV" },
	{ PACKET_AUXDATA, 1, "PACKET_AUXDATA" },
	{ PACKET_TIMESTAMP, SOF_TIMESTAMPING_RAW_HARDWARE, "PACKET_TIMESTAMP" },
	{ PACKET_LOSS, 1, "PACKET_LOSS" },
	{ PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS" },
	{ PACKET_TX_HAS_OFF, 1, "PACKET_TX_HAS_OFF" },
	{ PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING" },
};

/* Accepts IPv4 packets only (the EtherType at offset 12 of the Ethernet header). */
static struct sock_filter code[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int raw, dgram, fan[2];

static void set(int fd, int level, int opt, int v, const char *name)
{
	if (setsockopt(fd, level, opt, &v, sizeof(v)))
		fail_errno("setting %s to %d", name, v);
}

static void check(int fd, int level, int opt, int want, const char *name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len) || v != want)
		fail("%s is %d (%m), expected %d", name, v, want);
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sock_filter back[8];
	socklen_t blen = sizeof(back) / sizeof(back[0]);
	int sndbuf;

	test_init(argc, argv);
	raw = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	dgram = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	fan[0] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	fan[1] = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	if (raw < 0 || dgram < 0 || fan[0] < 0 || fan[1] < 0)
		fail_errno("packet sockets");
	sa.sll_ifindex = if_nametoindex("lo");
	if (!sa.sll_ifindex || bind(raw, (struct sockaddr *)&sa, sizeof(sa)))
		fail_errno("bind to lo");
	for (size_t i = 0; i < sizeof(raw_opts) / sizeof(raw_opts[0]); i++)
		set(raw, SOL_PACKET, raw_opts[i].opt, raw_opts[i].val, raw_opts[i].name);
	set(raw, SOL_PACKET, PACKET_COPY_THRESH, 128, "PACKET_COPY_THRESH");
	set(raw, SOL_SOCKET, SO_SNDBUF, 50000, "SO_SNDBUF");
	if (setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)))
		fail_errno("SO_ATTACH_FILTER");
	set(dgram, SOL_PACKET, PACKET_ORIGDEV, 1, "PACKET_ORIGDEV");
	set(fan[0], SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
	set(fan[0], SOL_PACKET, PACKET_VNET_HDR_SZ, 12, "PACKET_VNET_HDR_SZ");
	for (int i = 0; i < 2; i++)
		set(fan[i], SOL_PACKET, PACKET_FANOUT, FANOUT_ARG, "PACKET_FANOUT");
	check(raw, SOL_SOCKET, SO_SNDBUF, 100000, "SO_SNDBUF");
	sndbuf = 100000;

	test_ready();
	test_wait_checkpoint();

	for (size_t i = 0; i < sizeof(raw_opts) / sizeof(raw_opts[0]); i++)
		check(raw, SOL_PACKET, raw_opts[i].opt, raw_opts[i].val, raw_opts[i].name);
	check(raw, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF");
	check(dgram, SOL_PACKET, PACKET_ORIGDEV, 1, "PACKET_ORIGDEV");
	check(fan[0], SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
	check(fan[0], SOL_PACKET, PACKET_VNET_HDR_SZ, 12, "PACKET_VNET_HDR_SZ");
	check(fan[1], SOL_PACKET, PACKET_VNET_HDR, 0, "PACKET_VNET_HDR");
	for (int i = 0; i < 2; i++)
		check(fan[i], SOL_PACKET, PACKET_FANOUT, FANOUT_ARG, "PACKET_FANOUT");
	/* SO_GET_FILTER gives the program back (its length, in blocks, when blen is 0). */
	if (getsockopt(raw, SOL_SOCKET, SO_GET_FILTER, back, &blen) || blen != prog.len ||
	    memcmp(back, code, sizeof(code)))
		fail("the filter is not the one attached (%u blocks, %m)", blen);
	pass();
}
