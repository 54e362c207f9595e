/*
 * Segments from a connection's peer, made up at restore (sk-tcp-fin.h).
 *
 * A connection rebuilt in repair mode starts out established. What
 * followed in the dumped one is replayed into it: its own FIN by
 * shutdown() (sk-tcp.c), the peer's FIN, and the peer's ACK of its own
 * FIN, by one TCP segment each, sent from the peer's address and port to
 * the socket through a raw socket of the socket's net namespace. The
 * segment goes the loopback way whatever the peer's address is (its
 * destination is local), carries NETLOCK_PASS_MARK through the network
 * lock, and the socket answers it with an ACK the lock drops (a peer in
 * the tree is rebuilt in its own state; a remote one had that ACK
 * already).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "netlock.h"
#include "sk-inet-addr.h"
#include "sk-tcp-fin.h"

/* IPv4-mapped IPv6 (::ffff:a.b.c.d): the connection is IPv4 on the wire. */
static bool v4_mapped(const ProtobufCBinaryData *a)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return a->len == 16 && !memcmp(a->data, prefix, sizeof(prefix));
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/*
 * A raw socket (IP header included) in the net namespace of @sk: cr may be
 * in another one by now (the guard is cr's fork, in cr's).
 */
static int raw_socket_of(int sk, int family)
{
	_cleanup_close_ int own = -EBADF, ns = -EBADF;
	int raw, err = 0, mark = NETLOCK_PASS_MARK;

	ns = ioctl(sk, SIOCGSKNS);
	own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0 || own < 0)
		return pr_errno(-errno, "the net namespace of a TCP socket");
	if (setns(ns, CLONE_NEWNET) < 0)
		return pr_errno(-errno, "entering the net namespace of a TCP socket");
	raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (raw < 0)
		err = pr_errno(-errno, "a raw socket%s", errno == EPERM ? " (needs CAP_NET_RAW)" : "");
	else if (setsockopt(raw, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		err = pr_errno(-errno, "SO_MARK of a raw socket");
	if (setns(own, CLONE_NEWNET) < 0 && !err)
		err = pr_errno(-errno, "back to cr's net namespace");
	if (err && raw >= 0)
		close(raw);
	return err ? err : raw;
}

int tcp_peer_segment(int sk, const InetSkEntry *e, const struct tcp_segment *seg)
{
	/* The IP header, then the TCP header without options. */
	union {
		uint8_t b[sizeof(struct ip6_hdr) + sizeof(struct tcphdr)];
		uint32_t align;
	} buf;
	struct sockaddr_storage dst = { 0 };
	struct inet_addr_str as, bs;
	const uint8_t *from, *to;
	bool v4 = e->family == AF_INET || v4_mapped(&e->src_addr);
	size_t alen = v4 ? 4 : 16, off = v4 ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	uint8_t *pkt = buf.b;
	struct tcphdr *th = (struct tcphdr *)(pkt + off);
	_cleanup_close_ int raw = -EBADF;
	uint8_t proto_len[4] = { 0, IPPROTO_TCP, 0, sizeof(*th) };
	uint32_t sum;
	socklen_t dlen;

	if (e->src_addr.len < alen || e->dst_addr.len < alen)
		return pr_errno(-EINVAL, "a TCP segment: bad addresses");
	/* The peer's address is the source, the socket's the destination. */
	from = e->dst_addr.data + (e->dst_addr.len - alen);
	to = e->src_addr.data + (e->src_addr.len - alen);
	memset(pkt, 0, off + sizeof(*th));
	if (v4) {
		struct iphdr *ip = (struct iphdr *)pkt;
		struct sockaddr_in *d = (struct sockaddr_in *)&dst;

		ip->version = 4;
		ip->ihl = sizeof(*ip) / 4;
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		ip->tot_len = htons(off + sizeof(*th));	/* the checksum and id: the kernel's */
		memcpy(&ip->saddr, from, 4);
		memcpy(&ip->daddr, to, 4);
		d->sin_family = AF_INET;
		memcpy(&d->sin_addr, to, 4);
		dlen = sizeof(*d);
	} else {
		struct ip6_hdr *ip = (struct ip6_hdr *)pkt;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&dst;

		ip->ip6_flow = htonl(6u << 28);
		ip->ip6_plen = htons(sizeof(*th));
		ip->ip6_nxt = IPPROTO_TCP;
		ip->ip6_hops = 64;
		memcpy(&ip->ip6_src, from, 16);
		memcpy(&ip->ip6_dst, to, 16);
		d->sin6_family = AF_INET6;
		memcpy(&d->sin6_addr, to, 16);
		dlen = sizeof(*d);
	}
	th->source = htons(e->dst_port);
	th->dest = htons(e->src_port);
	th->seq = htonl(seg->seq);
	th->ack_seq = htonl(seg->ack);
	th->doff = sizeof(*th) / 4;
	th->ack = 1;
	th->fin = seg->fin;
	th->window = htons(seg->window);
	/* The pseudo header: both addresses, the protocol, the TCP length. */
	sum = csum_add(0, from, alen);
	sum = csum_add(sum, to, alen);
	sum = csum_add(sum, proto_len, sizeof(proto_len));
	th->check = csum_fold(csum_add(sum, th, sizeof(*th)));

	raw = raw_socket_of(sk, v4 ? AF_INET : AF_INET6);
	if (raw < 0)
		return raw;
	if (sendto(raw, pkt, off + sizeof(*th), 0, (struct sockaddr *)&dst, dlen) < 0)
		return pr_errno(-errno, "TCP connection %s -> %s: sending the peer's %s",
				inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port),
				inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port), seg->fin ? "FIN" : "ACK");
	return 0;
}
