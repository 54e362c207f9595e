/*
 * The receive queue of a UDP or UDP-Lite socket: the datagrams waiting
 * in it, each with its sender's address and port. Dump: peeked, so they
 * stay queued. Restore: sent again from each old sender's address
 * through a raw socket, so the program's recvfrom() sees the same
 * sender. A UDP-Lite datagram goes back with its checksum covering all
 * of it (coverage 0), which any UDPLITE_RECV_CSCOV takes; the coverage
 * it came with is not kept (the kernel does not tell it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "sk-inet-addr.h"
#include "sk-opts.h"
#include "sk-udp.h"

#define UDP_MAX_PAYLOAD		65535
/* Datagrams re-sent at restore reach the socket within this, or restore fails. */
#define UDP_REQUEUE_WAIT_MS	1000

void udp_queue_free(InetSkEntry *e)
{
	for (size_t i = 0; i < e->n_dgrams; i++) {
		free(e->dgrams[i]->src_addr.data);
		free(e->dgrams[i]->data);
		free(e->dgrams[i]);
	}
	free(e->dgrams);
	e->dgrams = NULL;
	e->n_dgrams = 0;
}

/*
 * Peeks every queued datagram with its sender. SO_PEEK_OFF makes each
 * MSG_PEEK go on where the last stopped; it is put back as it was (by
 * the guard if cr dies meanwhile).
 */
int udp_queue_dump(struct fd_dump *d, InetSkEntry *e)
{
	_cleanup_free_ char *buf = xmalloc(UDP_MAX_PAYLOAD + 1);
	int saved, back, err;

	if (!buf)
		return -ENOMEM;
	err = sk_dump_peek_from_start(d, &saved);
	if (err)
		return err;
	err = cr_fail_point("udp-peek");
	while (!err) {
		struct sockaddr_storage from;
		struct iovec iov = { buf, UDP_MAX_PAYLOAD + 1 };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1 };
		UdpDgram *g, **n;
		ssize_t len = recvmsg(d->cr_fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			break;
		if (len < 0) {
			err = pr_errno(-errno, "pid %d: fd %d (%s): reading queued datagrams", d->pid,
				       d->fd, d->link);
			break;
		}
		if (len > UDP_MAX_PAYLOAD) {
			err = pr_errno(-EMSGSIZE, "pid %d: fd %d (%s): a queued datagram of %zd bytes",
				       d->pid, d->fd, d->link, len);
			break;
		}
		n = xrealloc(e->dgrams, (e->n_dgrams + 1) * sizeof(*n));
		g = xmalloc(sizeof(*g));
		if (n)
			e->dgrams = n;
		if (!n || !g) {
			free(g);
			err = -ENOMEM;
			break;
		}
		udp_dgram__init(g);
		g->data = xmalloc(sizeof(*g->data));
		e->dgrams[e->n_dgrams++] = g;
		if (!g->data) {
			err = -ENOMEM;
			break;
		}
		err = inet_addr_from_sa(&from, &g->src_addr, &g->src_port);
		if (!err)
			err = fdata_append(d->df, buf, len, g->data);
		if (err)
			break;
	}
	/* Whatever happened: the program's own peek offset back (normally off, -1). */
	back = sk_dump_set_peek_off(d, saved);
	if (!err)
		err = back;
	if (!err && e->n_dgrams)
		pr_info("pid %d: fd %d: %zu queued datagrams", d->pid, d->fd, e->n_dgrams);
	return err;
}

/* The Internet checksum of @len bytes at @p, added to @sum (not folded). */
static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (; len > 1; b += 2, len -= 2)
		sum += (uint32_t)b[0] << 8 | b[1];
	if (len)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

/*
 * The UDP-Lite checksum of @pkt (@len bytes, covering all: RFC 3828) from
 * @src to @dst over IPv4, into its header. A raw IPv4 socket does not
 * make it (IPv6 has IPV6_CHECKSUM); a UDP-Lite datagram without one is
 * dropped.
 */
static void udplite_csum4(const struct in_addr *src, const struct in_addr *dst, char *pkt, size_t len)
{
	uint8_t ph[12] = { [9] = IPPROTO_UDPLITE, [10] = len >> 8, [11] = len & 0xff };
	struct udphdr *uh = (struct udphdr *)pkt;
	uint32_t sum;

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	sum = csum_add(csum_add(0, ph, sizeof(ph)), pkt, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	uh->check = htons(sum ? sum : 0xffff);
}

/*
 * Puts datagram @g back into @fd's queue: sent from its old sender's
 * address and port through a raw socket (cr makes the UDP header), so the
 * program's recvfrom() sees the same sender.
 */
static int requeue_dgram(struct files_rst *rf, const FileEntry *fe, const struct sockaddr_storage *self,
			 const UdpDgram *g)
{
	const InetSkEntry *e = fe->inet_sk;
	struct sockaddr_storage src, dst = *self;
	_cleanup_free_ char *pkt = xmalloc(sizeof(struct udphdr) + g->data->len);
	_cleanup_close_ int raw = -EBADF;
	struct inet_addr_str as;
	struct udphdr *uh;
	int family = e->family;
	bool lite = e->protocol == IPPROTO_UDPLITE;
	socklen_t slen, dlen;

	if (!pkt)
		return -ENOMEM;
	if (g->src_addr.len != inet_addr_len(e->family) || g->data->len > UDP_MAX_PAYLOAD - sizeof(*uh))
		return pr_errno(-EBADMSG, "file id %u: a queued datagram's sender or size is invalid", fe->id);
	slen = inet_sockaddr(e->family, &g->src_addr, 0, &src);
	dlen = sizeof(struct sockaddr_in6);
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&src)->sin6_addr)) {
		/* An IPv4 sender of a dual-stack socket: IPv4 it is. */
		struct sockaddr_in6 s6 = *(struct sockaddr_in6 *)&src, d6 = *(struct sockaddr_in6 *)&dst;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&src, *d4 = (struct sockaddr_in *)&dst;

		memset(&src, 0, sizeof(src));
		memset(&dst, 0, sizeof(dst));
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
		if (IN6_IS_ADDR_V4MAPPED(&d6.sin6_addr))
			memcpy(&d4->sin_addr, &d6.sin6_addr.s6_addr[12], 4);
		family = AF_INET;
		slen = sizeof(*s4);
	}
	if (family == AF_INET) {
		struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;

		dlen = sizeof(*d4);
		if (d4->sin_addr.s_addr == htonl(INADDR_ANY))
			d4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		d4->sin_port = 0;
	} else {
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;

		if (IN6_IS_ADDR_UNSPECIFIED(&d6->sin6_addr))
			d6->sin6_addr = in6addr_loopback;
		d6->sin6_port = 0;
	}

	uh = (struct udphdr *)pkt;
	uh->source = htons(g->src_port);
	uh->dest = ((struct sockaddr_in *)self)->sin_port;	/* sin_port and sin6_port coincide */
	/* UDP-Lite: the checksum's coverage, 0 for all of it. */
	uh->len = lite ? 0 : htons(sizeof(*uh) + g->data->len);
	uh->check = 0;		/* IPv4: none (UDP-Lite: below); IPv6: the kernel's, IPV6_CHECKSUM below */
	if (fdata_read(rf, g->data, pkt + sizeof(*uh)))
		return -EBADMSG;
	if (lite && family == AF_INET)
		udplite_csum4(&((struct sockaddr_in *)&src)->sin_addr, &((struct sockaddr_in *)&dst)->sin_addr, pkt,
			      sizeof(*uh) + g->data->len);

	raw = socket(family, SOCK_RAW | SOCK_CLOEXEC, e->protocol);
	if (raw < 0)
		return pr_errno(-errno, "file id %u: a raw socket to requeue datagrams", fe->id);
	if (family == AF_INET6) {
		int off = offsetof(struct udphdr, check);

		if (setsockopt(raw, SOL_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0)
			return pr_errno(-errno, "file id %u: IPV6_CHECKSUM", fe->id);
	}
	inet_addr_fmt(&as, e->family, &g->src_addr, g->src_port);
	if (bind(raw, (struct sockaddr *)&src, slen) < 0)
		return pr_errno(-errno, "file id %u: a queued datagram came from %s, which is not an address of this host now",
				fe->id, as.s);
	if (sendto(raw, pkt, sizeof(*uh) + g->data->len, 0, (struct sockaddr *)&dst, dlen) < 0)
		return pr_errno(-errno, "file id %u: requeueing a datagram from %s", fe->id, as.s);
	return 0;
}

/*
 * Memory the receive queue of @fd holds. It grows with each datagram,
 * even an empty one; peeking to count them would not do: the kernel marks
 * an empty datagram peeked with an offset and skips it in later peeks
 * (the next dump's).
 */
static int rmem_alloc(int fd, uint32_t *ret)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0)
		return -errno;
	*ret = mi[SK_MEMINFO_RMEM_ALLOC];
	return 0;
}

int udp_queue_restore(struct files_rst *rf, const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	struct sockaddr_storage self;
	socklen_t len = sizeof(self);

	if (!e->n_dgrams)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&self, &len) < 0)
		return pr_errno(-errno, "file id %u: getsockname", fe->id);
	for (size_t i = 0; i < e->n_dgrams; i++) {
		uint32_t before = 0, now = 0;
		int err = rmem_alloc(fd, &before);

		if (!err)
			err = requeue_dgram(rf, fe, &self, e->dgrams[i]);
		if (err)
			return err;
		/* Loopback delivers at once, normally: wait a little before calling it lost. */
		for (int ms = 0; ms <= UDP_REQUEUE_WAIT_MS && now <= before; ms += 5) {
			if (ms)
				nanosleep(&(struct timespec){ 0, 5 * 1000 * 1000 }, NULL);
			err = rmem_alloc(fd, &now);
			if (err)
				return pr_errno(err, "file id %u: SO_MEMINFO", fe->id);
		}
		if (now <= before)
			return pr_errno(-EIO, "file id %u: requeued datagram %zu of %zu did not arrive",
					fe->id, i + 1, e->n_dgrams);
	}
	return 0;
}
