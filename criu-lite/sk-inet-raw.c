/*
 * Raw IPv4 and IPv6 sockets (sk-inet-raw.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>

#include "cleanup.h"
#include "log.h"
#include "sk-inet-addr.h"
#include "sk-inet-raw.h"

/* Bound: to an address of its own (a raw socket has no port, its "port" is the protocol). */
static bool addr_is_any(const ProtobufCBinaryData *a)
{
	for (size_t i = 0; i < a->len; i++)
		if (a->data[i])
			return false;
	return true;
}

static int dump_icmpv6_filter(const struct fd_dump *d, InetSkEntry *e)
{
	struct icmp6_filter f, pass_all;
	socklen_t len = sizeof(f);

	if (getsockopt(d->cr_fd, SOL_ICMPV6, ICMP6_FILTER, &f, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): ICMP6_FILTER", d->pid, d->fd, d->link);
	ICMP6_FILTER_SETPASSALL(&pass_all);
	if (len != sizeof(f) || !memcmp(&f, &pass_all, sizeof(f)))
		return 0;
	e->icmpv6_filter.data = xmalloc(sizeof(f));
	if (!e->icmpv6_filter.data)
		return -ENOMEM;
	memcpy(e->icmpv6_filter.data, &f, sizeof(f));
	e->icmpv6_filter.len = sizeof(f);
	e->has_icmpv6_filter = true;
	return 0;
}

/*
 * The peer of a connected raw socket: getpeername() knows none (a raw
 * socket's peer has no port) and raw_diag may not be there (a module);
 * the holder's /proc/PID/net/raw (of its net namespace) has it, as
 * native-endian hex words of the address.
 */
static int dump_peer(const struct fd_dump *d, InetSkEntry *e)
{
	char path[64], line[512], rem[40];
	bool v6 = e->family == AF_INET6;
	struct sockaddr_storage ss = { .ss_family = e->family };
	uint32_t words[4];
	unsigned long ino;
	unsigned st;
	_cleanup_fclose_ FILE *f = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/net/%s%s", d->pid, e->type == SOCK_RAW ? "raw" : "icmp", v6 ? "6" : "");
	f = fopen(path, "re");
	if (!f)
		return pr_errno(-errno, "pid %d: fd %d: opening %s", d->pid, d->fd, path);
	while (fgets(line, sizeof(line), f)) {
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
		if (sscanf(line, "%*s %*s %39s %x %*s %*s %*s %*s %*s %lu", rem, &st, &ino) != 3 ||
		    ino != (unsigned long)d->st.st_ino)
			continue;
		if (st != TCP_ESTABLISHED) {
			e->state = INET_SK_STATE__INET_UNCONNECTED;
			return 0;
		}
		for (unsigned i = 0; i < (v6 ? 4u : 1u); i++) {
			char w[9] = { 0 };

			memcpy(w, rem + 8 * i, 8);
			words[i] = (uint32_t)strtoul(w, NULL, 16);
		}
		if (v6)
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, words, 16);
		else
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr, words, 4);
		err = inet_addr_from_sa(&ss, &e->dst_addr, &e->dst_port);
		e->has_dst_addr = e->has_dst_port = !err;
		e->state = INET_SK_STATE__INET_CONNECTED;
		return err;
	}
	return files_refuse(d, e->type == SOCK_RAW ? "a raw socket" : "a ping socket",
			    "its net namespace's /proc/net table does not list it");
}

int inet_raw_dump(struct fd_dump *d, InetSkEntry *e)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len;
	int err = dump_peer(d, e);

	if (err)
		return err;
	/* A ping socket's port is its ICMP echo id, a raw one's is its protocol. */
	e->bound = !addr_is_any(&e->src_addr) || (e->type == SOCK_DGRAM && e->src_port);
	if (e->type == SOCK_RAW && e->family == AF_INET6 && e->protocol == IPPROTO_ICMPV6) {
		err = dump_icmpv6_filter(d, e);
		if (err)
			return err;
	}
	len = sizeof(mi);
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 && mi[SK_MEMINFO_RMEM_ALLOC])
		pr_warn("pid %d: fd %d: %s socket (protocol %u): the packets in its receive queue (%u bytes) are "
			"dropped", d->pid, d->fd, e->type == SOCK_RAW ? "raw" : "ping", e->protocol,
			mi[SK_MEMINFO_RMEM_ALLOC]);
	return 0;
}

int inet_raw_open(const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	struct sockaddr_storage ss;
	struct inet_addr_str as;
	socklen_t len;

	if (e->has_icmpv6_filter) {
		if (e->icmpv6_filter.len != sizeof(struct icmp6_filter))
			return pr_errno(-EBADMSG, "file id %u: a raw socket's ICMPv6 filter is %zu bytes", fe->id,
					e->icmpv6_filter.len);
		if (setsockopt(fd, SOL_ICMPV6, ICMP6_FILTER, e->icmpv6_filter.data, e->icmpv6_filter.len) < 0)
			return pr_errno(-errno, "file id %u: ICMP6_FILTER", fe->id);
	}
	if (e->bound) {
		uint32_t port = e->type == SOCK_RAW ? 0 : e->src_port;

		len = inet_sockaddr(e->family, &e->src_addr, port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0)
			return pr_errno(-errno, "file id %u: %s socket (protocol %u): bind to %s", fe->id,
					e->type == SOCK_RAW ? "raw" : "ping", e->protocol,
					inet_addr_fmt(&as, e->family, &e->src_addr, port));
	}
	if (e->state == INET_SK_STATE__INET_CONNECTED) {
		len = inet_sockaddr(e->family, &e->dst_addr, 0, &ss);
		if (connect(fd, (struct sockaddr *)&ss, len) < 0)
			return pr_errno(-errno, "file id %u: raw socket (protocol %u): connect to %s", fe->id,
					e->protocol, inet_addr_fmt(&as, e->family, &e->dst_addr, 0));
	}
	return 0;
}
