/*
 * IPv4 and IPv6 TCP, UDP and UDP-Lite sockets (and raw and ping ones:
 * sk-inet-raw.c). UDP-Lite is UDP with a partial checksum: kept as UDP
 * is, with its checksum coverage options.
 *
 * Kept: family, type, bound address and port, listening state and
 * backlog, a UDP socket's peer and its queued datagrams (with their
 * senders: sk-udp.c), the common options (table below). Established TCP
 * connections go through repair mode (sk-tcp.c) with --tcp-established;
 * without it they, and TCP sockets in any state but closed, listening or
 * established, are refused.
 *
 * The kernel's sock_diag (inet_diag, sock-diag.c) gives what no
 * getsockopt() does: a listener's backlog and accept queue, a
 * connection's shutdown state.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/icmp.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <netinet/udp.h>
#include <netlink/msg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "sk-inet-addr.h"
#include "sk-inet-mc.h"
#include "sk-inet-raw.h"
#include "sk-filter.h"
#include "sk-netns.h"
#include "sk-opts.h"
#include "sk-tcp.h"
#include "sk-udp.h"
#include "sock-diag.h"

/* UDP-Lite (include/net/udplite.h: no uapi header has them). */
#ifndef SOL_UDPLITE
#define SOL_UDPLITE		136
#endif
#define UDPLITE_SEND_CSCOV	10
#define UDPLITE_RECV_CSCOV	11

/* ---- sock_diag: what getsockopt() does not tell ---------------------------- */

/* sk_shutdown bits (include/net/sock.h); shutdown()'s how is one less. */
#define RCV_SHUTDOWN	1
#define SHUTDOWN_MASK	3

struct diag_sk {
	ino_t ino;
	uint32_t rqueue, wqueue;	/* listener: accept queue, backlog */
	uint8_t state, shutdown;
	uint8_t dst[16];		/* the peer (of a socket in SYN_SENT: getpeername() says none) */
	uint16_t dport;			/* host order */
};

/* UDP or UDP-Lite: a datagram socket with ports, a queue cr keeps and sock_diag's udp tables. */
static bool is_udp(uint32_t type, uint32_t proto)
{
	return type == SOCK_DGRAM && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE);
}

static const char *proto_name(uint32_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_UDPLITE ? "UDP-Lite" : "TCP";
}

/*
 * TCP, UDP and UDP-Lite sockets of the net namespace, by protocol and
 * family (the index: protocol * 2 + v6), sorted by inode; each read once
 * per dump.
 */
static struct diag_cache {
	bool done;
	struct diag_sk *v;
	size_t nr, cap;
} diag[6];

static struct diag_cache *diag_of(int family, int proto)
{
	return &diag[(proto == IPPROTO_UDP ? 1 : proto == IPPROTO_UDPLITE ? 2 : 0) * 2 + (family == AF_INET6)];
}

/* One reply of the dump: a socket into the cache. 0 or -ENOMEM. */
static int diag_add(struct nlmsghdr *h, void *arg)
{
	struct diag_cache *c = arg;
	struct inet_diag_msg *m = nlmsg_data(h);
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct diag_sk *s;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	if (c->nr == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct diag_sk *n = xrealloc(c->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->v = n;
		c->cap = cap;
	}
	s = &c->v[c->nr++];
	*s = (struct diag_sk){ .ino = m->idiag_inode, .rqueue = m->idiag_rqueue,
			       .wqueue = m->idiag_wqueue, .state = m->idiag_state, .dport = ntohs(m->id.idiag_dport) };
	memcpy(s->dst, m->id.idiag_dst, sizeof(s->dst));
	if (nlmsg_parse(h, sizeof(*m), tb, INET_DIAG_MAX, NULL) == 0 && tb[INET_DIAG_SHUTDOWN])
		s->shutdown = nla_get_u8(tb[INET_DIAG_SHUTDOWN]);
	return 0;
}

static int cmp_diag(const void *a, const void *b)
{
	ino_t x = ((const struct diag_sk *)a)->ino, y = ((const struct diag_sk *)b)->ino;

	return (x > y) - (x < y);
}

static int diag_load(struct diag_cache *c, int family, int proto)
{
	/* UDP: bound or connected (unbound ones are in no table the kernel lists). */
	struct inet_diag_req_v2 req = {
		.sdiag_family = family, .sdiag_protocol = proto,
		.idiag_states = proto != IPPROTO_TCP ? ~0u : 1 << TCP_LISTEN | 1 << TCP_ESTABLISHED | 1 << TCP_CLOSE_WAIT | 1 << TCP_SYN_SENT |
				1 << TCP_FIN_WAIT1 | 1 << TCP_FIN_WAIT2 | 1 << TCP_LAST_ACK | 1 << TCP_CLOSING,
	};
	char what[32];
	int err;

	snprintf(what, sizeof(what), "the %s sockets (IPv%d)", proto_name(proto),
		 family == AF_INET6 ? 6 : 4);
	err = sock_diag_dump(&req, sizeof(req), what, diag_add, c);

	if (err)
		return err;
	qsort(c->v, c->nr, sizeof(*c->v), cmp_diag);
	c->done = true;
	return 0;
}

static int diag_find(const struct fd_dump *d, int family, int proto, const struct diag_sk **ret)
{
	struct diag_cache *c = diag_of(family, proto);
	struct diag_sk key = { .ino = d->st.st_ino };
	int err;

	if (!c->done && (err = diag_load(c, family, proto)))
		return err;
	*ret = bsearch(&key, c->v, c->nr, sizeof(*c->v), cmp_diag);
	if (!*ret)
		return pr_errno(-ENOENT, "pid %d: fd %d (%s): sock_diag does not list this %s socket",
				d->pid, d->fd, d->link, proto_name(proto));
	return 0;
}

static void diag_free(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(diag); i++)
		free(diag[i].v);
	memset(diag, 0, sizeof(diag));
}

/* A ping socket (SOCK_DGRAM of ICMP, ICMPv6: net.ipv4.ping_group_range lets groups make them). */
static bool is_ping(uint32_t type, uint32_t proto)
{
	return type == SOCK_DGRAM && (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6);
}

/* ---- options --------------------------------------------------------------- */

enum {
	ONLY_TCP = SK_OPT_CALLER, ONLY_V6 = SK_OPT_CALLER << 1, NOT_IN_REPAIR = SK_OPT_CALLER << 2,
	ONLY_UDP = SK_OPT_CALLER << 3, ONLY_RAW = SK_OPT_CALLER << 4, ONLY_ICMP4 = SK_OPT_CALLER << 5,
	IP4 = SK_OPT_CALLER << 6,	/* SOL_IP: not on a raw IPv6 socket, which has no IPv4 side */
	ONLY_UDPLITE = SK_OPT_CALLER << 7,
};

/* Read at dump; the integers set at restore where they differ from a new socket's. */
#define INET_OPT(lvl, o, set_o, fl, field)						\
	SK_OPT_INT_ROW(InetSkEntry, lvl, o, set_o, SK_SET_CHANGED, fl, field, SK_OPT_HAS(InetSkEntry, field))
static const struct sk_opt inet_opts[] = {
	INET_OPT(SOL_IPV6, IPV6_V6ONLY, IPV6_V6ONLY, ONLY_V6, v6only),
	/* Repair mode forces address reuse and clears it when it ends: set then. */
	INET_OPT(SOL_SOCKET, SO_REUSEADDR, SO_REUSEADDR, NOT_IN_REPAIR, reuseaddr),
	INET_OPT(SOL_SOCKET, SO_REUSEPORT, SO_REUSEPORT, 0, reuseport),
	INET_OPT(SOL_SOCKET, SO_KEEPALIVE, SO_KEEPALIVE, 0, keepalive),
	INET_OPT(SOL_SOCKET, SO_BROADCAST, SO_BROADCAST, 0, broadcast),
	INET_OPT(SOL_SOCKET, SO_PRIORITY, SO_PRIORITY, 0, priority),
	INET_OPT(SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE, SK_OPT_HALF, rcvbuf),
	INET_OPT(SOL_SOCKET, SO_SNDBUF, SO_SNDBUFFORCE, SK_OPT_HALF, sndbuf),
	INET_OPT(SOL_TCP, TCP_NODELAY, TCP_NODELAY, ONLY_TCP, tcp_nodelay),
	INET_OPT(SOL_TCP, TCP_KEEPIDLE, TCP_KEEPIDLE, ONLY_TCP, tcp_keepidle),
	INET_OPT(SOL_TCP, TCP_KEEPINTVL, TCP_KEEPINTVL, ONLY_TCP, tcp_keepintvl),
	INET_OPT(SOL_TCP, TCP_KEEPCNT, TCP_KEEPCNT, ONLY_TCP, tcp_keepcnt),
	/* IP_* on an IPv6 socket are its IPv4 side's (IPv4-mapped peers). */
	INET_OPT(SOL_IP, IP_TOS, IP_TOS, IP4, ip_tos),
	INET_OPT(SOL_IP, IP_TTL, IP_TTL, IP4, ip_ttl),
	INET_OPT(SOL_IP, IP_RECVERR, IP_RECVERR, IP4, ip_recverr),
	INET_OPT(SOL_IP, IP_PKTINFO, IP_PKTINFO, IP4, ip_pktinfo),
	INET_OPT(SOL_IP, IP_FREEBIND, IP_FREEBIND, IP4, ip_freebind),
	INET_OPT(SOL_IP, IP_MULTICAST_TTL, IP_MULTICAST_TTL, ONLY_UDP, ip_mc_ttl),
	INET_OPT(SOL_IP, IP_MULTICAST_LOOP, IP_MULTICAST_LOOP, ONLY_UDP, ip_mc_loop),
	INET_OPT(SOL_IP, IP_MULTICAST_ALL, IP_MULTICAST_ALL, ONLY_UDP, ip_mc_all),
	INET_OPT(SOL_SOCKET, SO_MARK, SO_MARK, 0, so_mark),
	INET_OPT(SOL_SOCKET, SO_RCVLOWAT, SO_RCVLOWAT, 0, so_rcvlowat),
	INET_OPT(SOL_SOCKET, SO_OOBINLINE, SO_OOBINLINE, 0, so_oobinline),
	INET_OPT(SOL_SOCKET, SO_TIMESTAMP, SO_TIMESTAMP, 0, so_timestamp),
	INET_OPT(SOL_SOCKET, SO_TIMESTAMPNS, SO_TIMESTAMPNS, 0, so_timestampns),
	INET_OPT(SOL_SOCKET, SO_BUF_LOCK, SO_BUF_LOCK, 0, so_buf_lock),
	INET_OPT(SOL_IPV6, IPV6_UNICAST_HOPS, IPV6_UNICAST_HOPS, ONLY_V6, v6_unicast_hops),
	INET_OPT(SOL_IPV6, IPV6_TCLASS, IPV6_TCLASS, ONLY_V6, v6_tclass),
	INET_OPT(SOL_IPV6, IPV6_RECVERR, IPV6_RECVERR, ONLY_V6, v6_recverr),
	INET_OPT(SOL_IPV6, IPV6_RECVPKTINFO, IPV6_RECVPKTINFO, ONLY_V6, v6_recvpktinfo),
	INET_OPT(SOL_IPV6, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_HOPS, ONLY_V6 | ONLY_UDP, v6_mc_hops),
	INET_OPT(SOL_IPV6, IPV6_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, ONLY_V6 | ONLY_UDP, v6_mc_loop),
	INET_OPT(SOL_TCP, TCP_CORK, TCP_CORK, ONLY_TCP, tcp_cork),
	INET_OPT(SOL_TCP, TCP_USER_TIMEOUT, TCP_USER_TIMEOUT, ONLY_TCP, tcp_user_timeout),
	INET_OPT(SOL_TCP, TCP_WINDOW_CLAMP, TCP_WINDOW_CLAMP, ONLY_TCP, tcp_window_clamp),
	INET_OPT(SOL_TCP, TCP_NOTSENT_LOWAT, TCP_NOTSENT_LOWAT, ONLY_TCP, tcp_notsent_lowat),
	INET_OPT(SOL_IP, IP_HDRINCL, IP_HDRINCL, ONLY_RAW | IP4, ip_hdrincl),
	INET_OPT(SOL_RAW, ICMP_FILTER, ICMP_FILTER, ONLY_RAW | ONLY_ICMP4, icmp_filter),
	INET_OPT(SOL_IPV6, IPV6_CHECKSUM, IPV6_CHECKSUM, ONLY_RAW | ONLY_V6, v6_checksum),
	INET_OPT(SOL_IPV6, IPV6_HDRINCL, IPV6_HDRINCL, ONLY_RAW | ONLY_V6, v6_hdrincl),
	INET_OPT(SOL_UDPLITE, UDPLITE_SEND_CSCOV, UDPLITE_SEND_CSCOV, ONLY_UDPLITE, udplite_send_cscov),
	INET_OPT(SOL_UDPLITE, UDPLITE_RECV_CSCOV, UDPLITE_RECV_CSCOV, ONLY_UDPLITE, udplite_recv_cscov),
	/* SOL_UDP for UDP-Lite too. UDP_CORK: refused with a datagram corked (dump_udp_cork()). */
	INET_OPT(SOL_UDP, UDP_CORK, UDP_CORK, ONLY_UDP, udp_cork),
	INET_OPT(SOL_UDP, UDP_SEGMENT, UDP_SEGMENT, ONLY_UDP, udp_segment),
	INET_OPT(SOL_UDP, UDP_GRO, UDP_GRO, ONLY_UDP, udp_gro),
	INET_OPT(SOL_UDP, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_TX, ONLY_UDP | ONLY_V6, udp_no_check6_tx),
	INET_OPT(SOL_UDP, UDP_NO_CHECK6_RX, UDP_NO_CHECK6_RX, ONLY_UDP | ONLY_V6, udp_no_check6_rx),
#undef INET_OPT
	/* Before bind: a socket bound to a device binds within it. */
	SK_OPT_STR_ROW(InetSkEntry, SOL_SOCKET, SO_BINDTODEVICE, SK_SET_CHANGED, 0, bindtodevice),
	SK_OPT_STR_ROW(InetSkEntry, SOL_TCP, TCP_CONGESTION, SK_SET_CHANGED, ONLY_TCP, tcp_congestion),
	SK_OPT_TIMEO_ROW(InetSkEntry, SO_RCVTIMEO, rcvtimeo_us, SK_OPT_HAS(InetSkEntry, rcvtimeo_us)),
	SK_OPT_TIMEO_ROW(InetSkEntry, SO_SNDTIMEO, sndtimeo_us, SK_OPT_HAS(InetSkEntry, sndtimeo_us)),
	SK_OPT_LINGER_ROW(InetSkEntry, linger_onoff, linger_secs, SK_OPT_HAS(InetSkEntry, linger_onoff),
			  SK_OPT_HAS(InetSkEntry, linger_secs)),
};

/* The rows that do not apply to a socket of @family, @type and @proto. */
static unsigned opts_skip(uint32_t family, uint32_t type, uint32_t proto)
{
	bool raw = type == SOCK_RAW;

	return (raw || proto != IPPROTO_TCP ? ONLY_TCP : 0) | (!is_udp(type, proto) ? ONLY_UDP : 0) |
	       (!is_udp(type, proto) || proto != IPPROTO_UDPLITE ? ONLY_UDPLITE : 0) |
	       (family != AF_INET6 ? ONLY_V6 : 0) | (!raw ? ONLY_RAW : 0) |
	       (family != AF_INET || proto != IPPROTO_ICMP ? ONLY_ICMP4 : 0) |
	       (raw && family == AF_INET6 ? IP4 : 0);
}

static int dump_opts(const struct fd_dump *d, InetSkEntry *e)
{
	return sk_opts_dump(d, inet_opts, ARRAY_SIZE(inet_opts), opts_skip(e->family, e->type, e->protocol), e);
}

/* Sets the options that differ from @fd's (a new socket); @repair: skip NOT_IN_REPAIR ones. */
static int restore_opts(int fd, const FileEntry *fe, bool repair)
{
	const InetSkEntry *e = fe->inet_sk;
	char what[64];

	snprintf(what, sizeof(what), "file id %u (inet socket)", fe->id);
	return sk_opts_restore(fd, inet_opts, ARRAY_SIZE(inet_opts),
			       opts_skip(e->family, e->type, e->protocol) | (repair ? NOT_IN_REPAIR : 0), e, what);
}

/* ---- dump ---------------------------------------------------------------- */

static bool inet_match(const struct fd_dump *d)
{
	static const char *const names[] = { "TCP", "TCPv6", "UDP", "UDPv6", "UDP-Lite", "UDPLITEv6", "RAW", "RAWv6",
					     "PING", "PINGv6", NULL };

	return sk_dump_proto_is(d, names);
}

static int dump_peer(const struct fd_dump *d, InetSkEntry *e)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	if (getpeername(d->cr_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	err = inet_addr_from_sa(&ss, &e->dst_addr, &e->dst_port);
	e->has_dst_addr = e->has_dst_port = !err;
	return err;
}

/*
 * A connect() in progress: nothing was exchanged but SYNs, so restore
 * connects again from the same address and port (the program's connect()
 * goes on waiting, or polls, as it did). The peer is sock_diag's.
 */
static int dump_connecting(struct fd_dump *d, InetSkEntry *e)
{
	struct sockaddr_storage ss = { .ss_family = e->family };
	const struct diag_sk *s;
	int err = diag_find(d, e->family, IPPROTO_TCP, &s);

	if (err)
		return err;
	if (e->family == AF_INET) {
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, s->dst, 4);
		((struct sockaddr_in *)&ss)->sin_port = htons(s->dport);
	} else {
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, s->dst, 16);
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(s->dport);
	}
	err = inet_addr_from_sa(&ss, &e->dst_addr, &e->dst_port);
	if (err)
		return err;
	e->has_dst_addr = e->has_dst_port = true;
	e->state = INET_SK_STATE__INET_CONNECTING;
	e->bound = true;
	return 0;
}

/*
 * An unbound closed TCP socket shut down for reading says end of file,
 * a new one ENOTCONN: such is a connection restored closed
 * (--tcp-close), and it is again. Only poll tells (POLLRDHUP); send()
 * says EPIPE either way.
 */
static int dump_closed(const struct fd_dump *d, InetSkEntry *e)
{
	struct pollfd p = { .fd = d->cr_fd, .events = POLLRDHUP };

	if (poll(&p, 1, 0) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): poll", d->pid, d->fd, d->link);
	if (p.revents & POLLRDHUP)
		e->has_tcp_closed = e->tcp_closed = true;
	return 0;
}

static int dump_tcp(struct fd_dump *d, InetSkEntry *e)
{
	const struct diag_sk *s;
	struct inet_addr_str as, bs;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	char why[320];
	int err;

	if (getsockopt(d->cr_fd, SOL_TCP, TCP_INFO, &ti, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): TCP_INFO", d->pid, d->fd, d->link);
	inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port);
	switch (ti.tcpi_state) {
	case TCP_CLOSE:
		e->state = INET_SK_STATE__INET_UNCONNECTED;
		e->bound = e->src_port != 0;
		return e->bound ? 0 : dump_closed(d, e);
	case TCP_LISTEN:
		err = diag_find(d, e->family, IPPROTO_TCP, &s);
		if (err)
			return err;
		if (s->rqueue && files_dump_opts(d->df)->tcp_skip_in_flight) {
			pr_warn("pid %d: fd %d: listening TCP socket %s: %u connections in its accept queue are "
				"dropped (--tcp-skip-in-flight)", d->pid, d->fd, as.s, s->rqueue);
		} else if (s->rqueue) {
			snprintf(why, sizeof(why), "%u connections wait in its accept queue (they would be lost; "
				 "--tcp-skip-in-flight drops them)", s->rqueue);
			return files_refuse(d, "a listening TCP socket", why);
		}
		e->state = INET_SK_STATE__INET_LISTEN;
		e->bound = true;
		e->has_backlog = true;
		e->backlog = s->wqueue;
		return 0;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		err = dump_peer(d, e);
		if (err)
			return pr_errno(err, "pid %d: fd %d (%s): getpeername", d->pid, d->fd, d->link);
		inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port);
		/* Closed at restore: nothing of the connection is kept but its addresses. */
		if (files_dump_opts(d->df)->tcp_close) {
			pr_info("pid %d: fd %d: TCP connection %s -> %s (%s): restored closed (--tcp-close)",
				d->pid, d->fd, as.s, bs.s, tcp_state_name(ti.tcpi_state));
			e->state = INET_SK_STATE__INET_UNCONNECTED;
			e->has_tcp_closed = e->tcp_closed = true;
			return 0;
		}
		if (!files_dump_opts(d->df)->tcp_established) {
			snprintf(why, sizeof(why), "%s -> %s; dump with --tcp-established to keep it "
				 "(or --tcp-close to have it closed)", as.s, bs.s);
			return files_refuse(d, "an established TCP connection", why);
		}
		err = diag_find(d, e->family, IPPROTO_TCP, &s);
		if (err)
			return err;
		/* Shut down for writing is the own FIN, which the state says; for reading only this says. */
		e->has_shutdown = s->shutdown != 0;
		e->shutdown = s->shutdown;
		e->state = INET_SK_STATE__INET_CONNECTED;
		e->bound = true;
		return tcp_repair_dump(d, e, e->reuseaddr, ti.tcpi_state);
	case TCP_SYN_SENT:
		return dump_connecting(d, e);
	default:
		snprintf(why, sizeof(why), "%s is in state %s; closed, connecting, listening and connected ones "
			 "(established or closing) can be kept", as.s, tcp_state_name(ti.tcpi_state));
		return files_refuse(d, "a TCP socket", why);
	}
}

/*
 * A UDP socket's shutdown: sock_diag's for a bound or connected one; an
 * unbound one is in no table the kernel lists, and only poll tells:
 * POLLRDHUP for reading, POLLHUP both ways (writing alone does not show,
 * and is lost).
 */
static int dump_udp_shutdown(const struct fd_dump *d, InetSkEntry *e)
{
	struct pollfd p = { .fd = d->cr_fd, .events = POLLRDHUP };
	const struct diag_sk *s;
	int err;

	if (e->bound || e->state == INET_SK_STATE__INET_CONNECTED) {
		err = diag_find(d, e->family, e->protocol, &s);
		if (err)
			return err;
		e->shutdown = s->shutdown;
	} else {
		if (poll(&p, 1, 0) < 0)
			return pr_errno(-errno, "pid %d: fd %d (%s): poll", d->pid, d->fd, d->link);
		e->shutdown = p.revents & POLLHUP ? SHUTDOWN_MASK : p.revents & POLLRDHUP ? RCV_SHUTDOWN : 0;
	}
	e->has_shutdown = e->shutdown != 0;
	return 0;
}

/*
 * A UDP socket corked with UDP_CORK holds the datagram being built in
 * its send queue, which cr cannot read: refused then. (One corked by
 * MSG_MORE alone does not show apart from datagrams still on their way
 * out, in the same count: its part is lost.)
 */
static int dump_udp_cork(const struct fd_dump *d, const InetSkEntry *e)
{
	char why[128];
	int outq;

	if (!e->udp_cork)
		return 0;
	if (ioctl(d->cr_fd, SIOCOUTQ, &outq) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): SIOCOUTQ", d->pid, d->fd, d->link);
	if (!outq)
		return 0;
	snprintf(why, sizeof(why), "it is corked (UDP_CORK) with a datagram being built (%d bytes) that cr cannot read",
		 outq);
	return files_refuse(d, e->protocol == IPPROTO_UDPLITE ? "a UDP-Lite socket" : "a UDP socket", why);
}

static int inet_dump(struct fd_dump *d, FileEntry *fe)
{
	InetSkEntry *e = xmalloc(sizeof(*e));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int family, type, proto, err;

	if (!e)
		return -ENOMEM;
	inet_sk_entry__init(e);
	fe->inet_sk = e;
	err = sk_dump_netns_check(d, "an inet socket");
	if (!err)
		err = sk_dump_getsockopt(d, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", &family, sizeof(family));
	if (!err)
		err = sk_dump_getsockopt(d, SOL_SOCKET, SO_TYPE, "SO_TYPE", &type, sizeof(type));
	if (!err)
		err = sk_dump_getsockopt(d, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL", &proto, sizeof(proto));
	if (err)
		return err;
	if ((family != AF_INET && family != AF_INET6) ||
	    !((type == SOCK_STREAM && proto == IPPROTO_TCP) || is_udp(type, proto) ||
	      type == SOCK_RAW || is_ping(type, proto)))
		return files_refuse(d, "an inet socket",
				    "only TCP, UDP, UDP-Lite, raw and ping sockets of IPv4 and IPv6 are kept");
	e->family = family;
	e->type = type;
	e->protocol = proto;
	if (getsockname(d->cr_fd, (struct sockaddr *)&ss, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): getsockname", d->pid, d->fd, d->link);
	err = inet_addr_from_sa(&ss, &e->src_addr, &e->src_port);
	if (!err)
		err = dump_opts(d, e);
	if (!err)
		err = sk_filter_dump(d, &e->filter);
	if (err)
		return err;
	if (type == SOCK_RAW || is_ping(type, proto)) {
		err = inet_raw_dump(d, e);
		return err ? err : inet_mc_dump(d, e);
	}
	if (proto == IPPROTO_TCP)
		return dump_tcp(d, e);

	err = dump_peer(d, e);
	if (err && err != -ENOTCONN)
		return pr_errno(err, "pid %d: fd %d (%s): getpeername", d->pid, d->fd, d->link);
	e->state = err ? INET_SK_STATE__INET_UNCONNECTED : INET_SK_STATE__INET_CONNECTED;
	e->bound = e->src_port != 0;
	err = dump_udp_cork(d, e);
	if (!err)
		err = dump_udp_shutdown(d, e);
	if (!err)
		err = inet_mc_dump(d, e);
	return err ? err : udp_queue_dump(d, e);
}

static void inet_free_entry(FileEntry *fe)
{
	InetSkEntry *e = fe->inet_sk;

	if (!e)
		return;
	sk_opts_free(inet_opts, ARRAY_SIZE(inet_opts), e);
	sk_filter_free(e->filter);
	free(e->src_addr.data);
	free(e->dst_addr.data);
	free(e->icmpv6_filter.data);
	inet_mc_free(e);
	tcp_stream_free(e->tcp);
	udp_queue_free(e);
	free(e);
	fe->inet_sk = NULL;
}

static void inet_dump_end(bool tree_killed)
{
	tcp_repair_dump_end(tree_killed);
	diag_free();
	sk_dump_netns_end();
}

/* ---- restore --------------------------------------------------------------- */

static bool is_repair(const InetSkEntry *e)
{
	return e->type == SOCK_STREAM && e->protocol == IPPROTO_TCP && e->state == INET_SK_STATE__INET_CONNECTED;
}

/*
 * Restored as a closed connection: dumped so (--tcp-close), or a
 * connection kept in repair mode restored with --tcp-close.
 */
static bool restored_closed(struct files_rst *rf, const InetSkEntry *e)
{
	return e->tcp_closed || (is_repair(e) && files_rst_opts(rf)->tcp_close);
}

static int inet_check(struct files_rst *rf, const FileEntry *fe)
{
	const InetSkEntry *e = fe->inet_sk;
	bool tcp;

	(void)rf;
	if (!e)
		return pr_errno(-EBADMSG, "files.img: inet socket id %u has no socket entry", fe->id);
	tcp = e->type == SOCK_STREAM && e->protocol == IPPROTO_TCP;
	if ((e->family != AF_INET && e->family != AF_INET6) ||
	    !(tcp || is_udp(e->type, e->protocol) ||
	      (e->type == SOCK_RAW && e->protocol <= UINT8_MAX) || is_ping(e->type, e->protocol)) ||
	    e->src_addr.len != inet_addr_len(e->family) || e->src_port > UINT16_MAX ||
	    (e->state == INET_SK_STATE__INET_CONNECTING && !tcp) ||
	    ((e->state == INET_SK_STATE__INET_CONNECTED || e->state == INET_SK_STATE__INET_CONNECTING) &&
	     (!e->has_dst_addr || e->dst_addr.len != inet_addr_len(e->family) || e->dst_port > UINT16_MAX)) ||
	    (e->state == INET_SK_STATE__INET_LISTEN && (!tcp || !e->has_backlog)) ||
	    (is_repair(e) != !!e->tcp) || e->shutdown > SHUTDOWN_MASK ||
	    (e->tcp && e->tcp->has_state && !tcp_repair_state_kept(e->tcp->state)) ||
	    (e->n_mc && tcp) || !inet_mc_valid(e) ||
	    (e->tcp_closed && (!tcp || e->state != INET_SK_STATE__INET_UNCONNECTED || e->bound)) ||
	    sk_filter_check(e->filter))
		return pr_errno(-EBADMSG, "files.img: inet socket id %u is inconsistent", fe->id);
	if (is_repair(e) && !files_rst_opts(rf)->tcp_established && !files_rst_opts(rf)->tcp_close) {
		struct inet_addr_str as, bs;

		pr_err("file id %u: the images hold an established TCP connection %s -> %s; restore with "
		       "--tcp-established (or --tcp-close to have it closed)",
		       fe->id, inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port),
		       inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port));
		return -EINVAL;
	}
	return is_repair(e) && !restored_closed(rf, e) ? tcp_repair_check(rf, fe) : 0;
}

/* An unconnected UDP socket says ENOTCONN, and is shut down all the same. */
static int udp_shutdown_restore(const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	struct inet_addr_str as;

	/* A TCP connection's are part of its state (sk-tcp.c). */
	if (e->type != SOCK_DGRAM || !e->shutdown || shutdown(fd, e->shutdown - 1) == 0 ||
	    (errno == ENOTCONN && e->state == INET_SK_STATE__INET_UNCONNECTED))
		return 0;
	return pr_errno(-errno, "file id %u: UDP %s: shutdown", fe->id,
			inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port));
}

static int filter_restore(const FileEntry *fe, int fd)
{
	char what[64];

	snprintf(what, sizeof(what), "file id %u (inet socket)", fe->id);
	return sk_filter_restore(fd, fe->inet_sk->filter, what);
}

/*
 * Once its queue is back (UDP): its shutdown and its filter. A
 * connection rebuilt in repair mode gets its filter once it is
 * (inet_post_open()): the filter would see the segments restore makes up
 * for it (sk-tcp-fin.c), and may drop them.
 */
static int inet_open_end(const FileEntry *fe, int fd)
{
	int err = udp_shutdown_restore(fe, fd);

	if (!err)
		err = inet_mc_restore(fe, fd);
	return err || is_repair(fe->inet_sk) ? err : filter_restore(fe, fd);
}

/*
 * A ping socket: the kernel lets only the groups of the net namespace's
 * ping_group_range make one, and cr's may not be one of them (in a user
 * namespace, cr's group is none the namespace knows). cr then makes it
 * with the range's first group as its effective one, as a task of the
 * tree could. -1 and errno on failure.
 */
static int ping_socket(const InetSkEntry *e)
{
	int fd = socket(e->family, e->type | SOCK_CLOEXEC, e->protocol), saved = errno;
	unsigned long lo, hi;
	gid_t own = getegid();
	FILE *f;

	if (fd >= 0 || errno != EACCES)
		return fd;
	/* The net namespace's range as cr's user namespace names it (cr is in the tree's net namespace). */
	f = fopen("/proc/sys/net/ipv4/ping_group_range", "re");
	if (!f || fscanf(f, "%lu %lu", &lo, &hi) != 2 || lo > hi || setegid((gid_t)lo) < 0) {
		if (f)
			fclose(f);
		errno = saved;
		return -1;
	}
	fclose(f);
	fd = socket(e->family, e->type | SOCK_CLOEXEC, e->protocol);
	saved = errno;
	if (setegid(own) < 0) {
		/* cr must not go on with another group: the restore fails. */
		saved = errno;
		pr_perror("putting cr's group back after a ping socket");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	errno = saved;
	return fd;
}

/*
 * A closed connection (--tcp-close): a TCP socket neither bound nor
 * connected, shut down both ways, as one whose connection was reset and
 * seen so: recv() says end of file, send() EPIPE, poll() POLLHUP. The
 * kernel shuts an unconnected socket down all the same, and says ENOTCONN.
 */
static int closed_open_end(const FileEntry *fe, int fd)
{
	int err = inet_open_end(fe, fd);

	/* Not rebuilt in repair mode after all: its filter now. */
	if (!err && is_repair(fe->inet_sk))
		err = filter_restore(fe, fd);
	if (err)
		return err;
	if (shutdown(fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
		return pr_errno(-errno, "file id %u: shutting down the closed TCP connection", fe->id);
	pr_info("file id %u: TCP connection restored closed", fe->id);
	return 0;
}

static int inet_open(struct files_rst *rf, const FileEntry *fe)
{
	const InetSkEntry *e = fe->inet_sk;
	_cleanup_close_ int fd = -EBADF;
	struct sockaddr_storage ss;
	struct inet_addr_str as, bs;
	socklen_t len;
	int err;

	inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port);
	fd = is_ping(e->type, e->protocol) ? ping_socket(e) : socket(e->family, e->type | SOCK_CLOEXEC, e->protocol);
	if (fd < 0)
		return pr_errno(-errno, "file id %u: socket for %s%s", fe->id, as.s,
				errno == EACCES && is_ping(e->type, e->protocol) ?
				" (a ping socket: net.ipv4.ping_group_range lets no group make one)" : "");
	if (restored_closed(rf, e)) {
		err = restore_opts(fd, fe, false);
		if (!err)
			err = closed_open_end(fe, fd);
		return err ? err : TAKE_FD(fd);
	}
	if (is_repair(e)) {
		int on = TCP_REPAIR_ON;

		if (setsockopt(fd, SOL_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
			return pr_errno(-errno, "file id %u: TCP repair mode for %s", fe->id, as.s);
	}
	err = restore_opts(fd, fe, is_repair(e));
	if (err)
		return err;
	if (e->type == SOCK_RAW || is_ping(e->type, e->protocol)) {
		err = inet_raw_open(fe, fd);
		if (!err)
			err = inet_open_end(fe, fd);
		return err ? err : TAKE_FD(fd);
	}
	/* A connection binds in post_open, once every listener holds its port. */
	if (is_repair(e) || !e->bound) {
		err = inet_open_end(fe, fd);
		return err ? err : TAKE_FD(fd);
	}

	len = inet_sockaddr(e->family, &e->src_addr, e->src_port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return pr_errno(-errno, "file id %u: bind %s %s", fe->id, proto_name(e->protocol), as.s);
	if (is_udp(e->type, e->protocol)) {
		/* Before connect(): a connected socket takes only its peer's datagrams. */
		err = udp_queue_restore(rf, fe, fd);
		if (err)
			return err;
		if (e->state == INET_SK_STATE__INET_CONNECTED) {
			len = inet_sockaddr(e->family, &e->dst_addr, e->dst_port, &ss);
			if (connect(fd, (struct sockaddr *)&ss, len) < 0)
				return pr_errno(-errno, "file id %u: %s %s: connect to %s", fe->id,
						proto_name(e->protocol), as.s,
						inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port));
		}
	}
	err = inet_open_end(fe, fd);
	return err ? err : TAKE_FD(fd);
}

/*
 * A connect() in progress again, non-blocking (the status flags are set
 * after this): the listeners of the tree listen by now.
 */
static int connect_again(const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	struct sockaddr_storage ss;
	struct inet_addr_str as, bs;
	socklen_t len = inet_sockaddr(e->family, &e->dst_addr, e->dst_port, &ss);
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return pr_errno(-errno, "file id %u: O_NONBLOCK", fe->id);
	if (connect(fd, (struct sockaddr *)&ss, len) == 0 || errno == EINPROGRESS)
		return 0;
	return pr_errno(-errno, "file id %u: TCP %s: connecting to %s again", fe->id,
			inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port),
			inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port));
}

/*
 * Every socket is bound by now: a listener listens only then, as
 * SO_REUSEADDR lets others bind its port only while none listens on it.
 */
static int inet_post_open(struct files_rst *rf, const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	struct inet_addr_str as;
	int err;

	if (e->state == INET_SK_STATE__INET_LISTEN && listen(fd, e->backlog) < 0)
		return pr_errno(-errno, "file id %u: listen on %s", fe->id,
				inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port));
	if (e->state == INET_SK_STATE__INET_CONNECTING)
		return connect_again(fe, fd);
	if (!is_repair(e) || restored_closed(rf, e))
		return 0;
	err = tcp_repair_restore(rf, fe, fd);
	return err ? err : filter_restore(fe, fd);
}

/*
 * A connection rebuilt in repair mode is made by its task: a tree of
 * 10,000 connections has 20,000 of them, more than cr may hold.
 */
static bool inet_open_by_owner(struct files_rst *rf, const FileEntry *fe)
{
	return is_repair(fe->inet_sk) && !restored_closed(rf, fe->inet_sk);
}

static int inet_finish(struct files_rst *rf, const FileEntry *fe, int fd)
{
	return is_repair(fe->inet_sk) && !restored_closed(rf, fe->inet_sk) ? tcp_repair_finish(rf, fe, fd) : 0;
}

/*
 * Deferred: inet sockets are dumped once every task's memory is, at the
 * end of the frozen time, so an established connection spends only that
 * end in repair mode, where a dead cr's tasks could meet it before the
 * guard takes it out. Until then the kernel keeps the connection going
 * (acks, sends from the queue); what the queues hold then is dumped.
 */
const struct fd_kind fd_kind_inet_sk = {
	.kind = FILE_KIND__FILE_INET_SK, .name = "inet socket",
	.match = inet_match, .dump = inet_dump, .deferred = true, .free_entry = inet_free_entry,
	.dump_end = inet_dump_end,
	.check = inet_check, .open = inet_open, .post_open = inet_post_open,
	.open_by_owner = inet_open_by_owner, .finish = inet_finish,
};
