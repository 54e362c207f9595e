/*
 * Packet sockets (AF_PACKET, SOCK_RAW and SOCK_DGRAM): the protocol, the
 * interface they are bound to (kept by name: interface indexes are the
 * namespace's), the PACKET_* options, fanout group, memberships and
 * filter, from the kernel's packet_diag and getsockname(). Restore makes
 * the socket again in the tree's net namespace, bound as it was.
 *
 * The older SOCK_PACKET ones (AF_PACKET or, as old programs ask,
 * AF_INET: the kernel makes a packet socket either way) have no SOL_PACKET
 * options: their protocol (packet_diag's) and the device they are bound
 * to (getsockname()'s struct sockaddr_pkt names it) are kept, with the
 * socket-level options and filter.
 *
 * Not kept: the packets waiting in the queue (dropped with a warning, as
 * a busy link loses them).
 *
 * Refused: rings (PACKET_RX_RING, PACKET_TX_RING, any TPACKET_V*). Their
 * setup could be made again and mapped at the same address, but not
 * their position: the kernel fills (and sends) frames from an index of
 * its own, which no interface reads (packet_diag gives the geometry
 * only; a ring whose frames are all the kernel's does not show it) or
 * sets (a new ring starts at 0), while the program's index is in its
 * memory. A ring made again would have the kernel write where the
 * program does not read, and frames the user owns (unread packets,
 * frames queued for sending) out of order.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/packet_diag.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "files-kind.h"
#include "log.h"
#include "sk-filter.h"
#include "sk-netns.h"
#include "sk-opts.h"
#include "sock-diag.h"

#ifndef PACKET_VNET_HDR_SZ
#define PACKET_VNET_HDR_SZ	24
#endif

/* SOL_PACKET options packet_diag does not give, none of them SOCK_PACKET's. */
enum { NOT_SPKT = SK_OPT_CALLER, ONLY_VNET = SK_OPT_CALLER << 1 };
#define PACKET_OPT(o, fl, field)								\
	SK_OPT_INT_ROW(PacketSkEntry, SOL_PACKET, o, o, SK_SET_CHANGED, NOT_SPKT | (fl), field,		\
		       SK_OPT_HAS(PacketSkEntry, field))
static const struct sk_opt packet_opts[] = {
	PACKET_OPT(PACKET_QDISC_BYPASS, 0, qdisc_bypass),
	PACKET_OPT(PACKET_TX_HAS_OFF, 0, tx_has_off),
	PACKET_OPT(PACKET_IGNORE_OUTGOING, 0, ignore_outgoing),
	/* After PACKET_VNET_HDR (the header's size: 10 or 12); since 6.2. */
	PACKET_OPT(PACKET_VNET_HDR_SZ, ONLY_VNET, vnet_hdr_sz),
};
#undef PACKET_OPT

static unsigned opts_skip(const PacketSkEntry *e)
{
	return e->type == SOCK_PACKET ? NOT_SPKT : e->flags & PDI_VNETHDR ? 0 : ONLY_VNET;
}

/* ---- dump ---------------------------------------------------------------- */

static bool packet_match(const struct fd_dump *d)
{
	static const char *const names[] = { "PACKET", NULL };

	return sk_dump_proto_is(d, names);
}

struct diag_one {
	const struct fd_dump *d;
	PacketSkEntry *e;
	bool found;
	struct packet_diag_ring ring[2];	/* RX, TX: pdr_frame_nr 0 for none */
	uint16_t num;		/* the protocol, host order */
	int err;
};

static int add_mc(struct diag_one *o, const struct packet_diag_mclist *m)
{
	PacketSkEntry *e = o->e;
	PacketMclistEntry **n = xrealloc(e->mclist, (e->n_mclist + 1) * sizeof(*n)), *c;
	char name[IF_NAMESIZE];

	if (!n)
		return -ENOMEM;
	e->mclist = n;
	if (!if_indextoname(m->pdmc_index, name))
		return pr_errno(-errno, "pid %d: fd %d: a membership on interface %u", o->d->pid, o->d->fd,
				m->pdmc_index);
	c = xmalloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	packet_mclist_entry__init(c);
	e->mclist[e->n_mclist++] = c;
	c->ifname = xstrdup(name);
	c->type = m->pdmc_type;
	c->count = m->pdmc_count;
	if (m->pdmc_alen) {
		c->has_addr = true;
		c->addr.len = m->pdmc_alen > sizeof(m->pdmc_addr) ? sizeof(m->pdmc_addr) : m->pdmc_alen;
		c->addr.data = xmalloc(c->addr.len);
		if (!c->addr.data)
			return -ENOMEM;
		memcpy(c->addr.data, m->pdmc_addr, c->addr.len);
	}
	return c->ifname ? 0 : -ENOMEM;
}

static int diag_parse(struct nlmsghdr *h, void *arg)
{
	struct diag_one *o = arg;
	struct packet_diag_msg *m = nlmsg_data(h);
	struct nlattr *tb[PACKET_DIAG_MAX + 1];
	int err = 0;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)) || m->pdiag_ino != o->d->st.st_ino)
		return 0;
	o->found = true;
	o->num = m->pdiag_num;
	if (nlmsg_parse(h, sizeof(*m), tb, PACKET_DIAG_MAX, NULL))
		return pr_errno(-EBADMSG, "pid %d: fd %d: packet_diag's reply", o->d->pid, o->d->fd);
	if (tb[PACKET_DIAG_INFO]) {
		const struct packet_diag_info *i = nla_data(tb[PACKET_DIAG_INFO]);

		o->e->version = i->pdi_version;
		o->e->reserve = i->pdi_reserve;
		o->e->tstamp = i->pdi_tstamp;
		o->e->copy_thresh = i->pdi_copy_thresh;
		o->e->flags = i->pdi_flags & (PDI_AUXDATA | PDI_ORIGDEV | PDI_VNETHDR | PDI_LOSS);
	}
	for (int k = 0; k < 2; k++) {
		const struct nlattr *a = tb[k ? PACKET_DIAG_TX_RING : PACKET_DIAG_RX_RING];

		if (a && nla_len(a) >= (int)sizeof(o->ring[k]))
			memcpy(&o->ring[k], nla_data(a), sizeof(o->ring[k]));
	}
	if (tb[PACKET_DIAG_FANOUT]) {
		o->e->has_fanout = true;
		o->e->fanout = nla_get_u32(tb[PACKET_DIAG_FANOUT]);
	}
	if (tb[PACKET_DIAG_MCLIST]) {
		const struct packet_diag_mclist *mc = nla_data(tb[PACKET_DIAG_MCLIST]);
		size_t n = nla_len(tb[PACKET_DIAG_MCLIST]) / sizeof(*mc);

		for (size_t k = 0; k < n && !err; k++)
			err = add_mc(o, &mc[k]);
	}
	return err;
}

/* A SOCK_PACKET socket: the device it is bound to, by name (getsockname() says "" when none). */
static int dump_spkt(struct fd_dump *d, PacketSkEntry *e, const struct sockaddr_pkt *sp)
{
	char name[sizeof(sp->spkt_device) + 1];

	memcpy(name, sp->spkt_device, sizeof(sp->spkt_device));
	name[sizeof(sp->spkt_device)] = '\0';
	if (!name[0])
		return 0;
	e->ifname = xstrdup(name);
	if (!e->ifname)
		return -ENOMEM;
	pr_info("pid %d: fd %d: SOCK_PACKET socket bound to %s", d->pid, d->fd, name);
	return 0;
}

/*
 * The fanout group: packet_diag gives its id and type, not its flags
 * (PACKET_FANOUT_FLAG_*), which getsockopt() gives in the form setsockopt()
 * takes: id | (type | flags) << 16. A group that demultiplexes by a BPF
 * program is refused: the program cannot be read back.
 */
static int dump_fanout(struct fd_dump *d, PacketSkEntry *e)
{
	uint32_t type;
	int err = sk_dump_getsockopt(d, SOL_PACKET, PACKET_FANOUT, "PACKET_FANOUT", &e->fanout, sizeof(e->fanout));
	char why[128];

	if (err)
		return err;
	type = (e->fanout >> 16) & 0xff;
	if (type == PACKET_FANOUT_CBPF || type == PACKET_FANOUT_EBPF) {
		snprintf(why, sizeof(why), "it is in fanout group %u, which picks sockets by a %s program (it cannot be "
			 "read back)", e->fanout & 0xffff, type == PACKET_FANOUT_CBPF ? "classic BPF" : "eBPF");
		return files_refuse(d, "a packet socket", why);
	}
	return 0;
}

/* Refuses @d, which has a ring: which, of what version and size. */
static int refuse_rings(const struct fd_dump *d, const struct diag_one *o)
{
	char why[320], part[2][96] = { "", "" };

	for (int k = 0; k < 2; k++)
		if (o->ring[k].pdr_frame_nr)
			snprintf(part[k], sizeof(part[k]), "%s%s (%u blocks of %u bytes, %u frames of %u)",
				 k && part[0][0] ? " and " : "", k ? "PACKET_TX_RING" : "PACKET_RX_RING",
				 o->ring[k].pdr_block_nr, o->ring[k].pdr_block_size, o->ring[k].pdr_frame_nr,
				 o->ring[k].pdr_frame_size);
	snprintf(why, sizeof(why), "it has a ring: %s%s, TPACKET_V%u; a ring made again would start where the "
		 "kernel's index is 0, not where the program reads", part[0], part[1], o->e->version + 1);
	return files_refuse(d, "a packet socket", why);
}

static int packet_dump(struct fd_dump *d, FileEntry *fe)
{
	PacketSkEntry *e = xmalloc(sizeof(*e));
	struct packet_diag_req req = {
		.sdiag_family = AF_PACKET, .pdiag_ino = d->st.st_ino,
		.pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT,
	};
	struct diag_one o = { .d = d, .e = e };
	union {
		struct sockaddr_ll ll;
		struct sockaddr_pkt pkt;	/* SOCK_PACKET's */
	} sa;
	socklen_t len = sizeof(sa), vlen = sizeof(int);
	char ifname[IF_NAMESIZE], c;
	int type, v, err = 0;
	ssize_t n;

	if (!e)
		return -ENOMEM;
	packet_sk_entry__init(e);
	fe->packet_sk = e;
	err = sk_dump_netns_check(d, "a packet socket");
	if (err)
		return err;
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_TYPE, &type, &vlen) < 0 || getsockname(d->cr_fd, (struct sockaddr *)&sa, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): SO_TYPE, getsockname", d->pid, d->fd, d->link);
	if (type != SOCK_RAW && type != SOCK_DGRAM && type != SOCK_PACKET)
		return files_refuse(d, "a packet socket", "only SOCK_RAW, SOCK_DGRAM and SOCK_PACKET ones are kept");
	e->type = type;
	if (type == SOCK_PACKET) {
		err = dump_spkt(d, e, &sa.pkt);
	} else if (sa.ll.sll_ifindex) {
		if (!if_indextoname(sa.ll.sll_ifindex, ifname))
			return pr_errno(-errno, "pid %d: fd %d: the interface %d it is bound to", d->pid, d->fd,
					sa.ll.sll_ifindex);
		e->ifname = xstrdup(ifname);
		if (!e->ifname)
			return -ENOMEM;
	}
	if (!err)
		err = sock_diag_dump(&req, sizeof(req), "the packet sockets", diag_parse, &o);
	if (err)
		return err;
	if (!o.found)
		return files_refuse(d, "a packet socket", "packet_diag does not list it");
	if (o.ring[0].pdr_frame_nr || o.ring[1].pdr_frame_nr)
		return refuse_rings(d, &o);
	if (e->has_fanout)
		err = dump_fanout(d, e);
	if (err)
		return err;
	/* SOCK_PACKET's address has the protocol only as the caller gave it to bind(). */
	e->protocol = type == SOCK_PACKET ? htons(o.num) : sa.ll.sll_protocol;
	err = sk_opts_dump(d, packet_opts, ARRAY_SIZE(packet_opts), opts_skip(e), e);
	if (err)
		return err;
	vlen = sizeof(v);
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_RCVBUF, &v, &vlen) == 0) {
		e->has_rcvbuf = true;
		e->rcvbuf = v;
	}
	vlen = sizeof(v);
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_SNDBUF, &v, &vlen) == 0) {
		e->has_sndbuf = true;
		e->sndbuf = v;
	}
	n = recv(d->cr_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n >= 0)
		pr_warn("pid %d: fd %d: packets wait in the queue of a packet socket; they are not kept", d->pid, d->fd);
	return sk_filter_dump(d, &e->filter);
}

static void packet_free_entry(FileEntry *fe)
{
	PacketSkEntry *e = fe->packet_sk;

	if (!e)
		return;
	for (size_t i = 0; i < e->n_mclist; i++) {
		free(e->mclist[i]->ifname);
		free(e->mclist[i]->addr.data);
		free(e->mclist[i]);
	}
	free(e->mclist);
	free(e->ifname);
	sk_filter_free(e->filter);
	free(e);
	fe->packet_sk = NULL;
}

/* ---- restore ------------------------------------------------------------- */

static int packet_check(struct files_rst *rf, const FileEntry *fe)
{
	const PacketSkEntry *e = fe->packet_sk;

	(void)rf;
	if (!e || (e->type != SOCK_RAW && e->type != SOCK_DGRAM && e->type != SOCK_PACKET) ||
	    sk_filter_check(e->filter))
		return pr_errno(-EBADMSG, "files.img: packet socket file id %u is invalid", fe->id);
	/* SOCK_PACKET: no SOL_PACKET option, a device name as short as struct sockaddr_pkt holds. */
	if (e->type == SOCK_PACKET &&
	    (e->version || e->reserve || e->tstamp || e->flags || e->copy_thresh || e->has_fanout || e->n_mclist ||
	     (e->ifname && strlen(e->ifname) >= sizeof(((struct sockaddr_pkt *)0)->spkt_device))))
		return pr_errno(-EBADMSG, "files.img: SOCK_PACKET socket file id %u has options it cannot have",
				fe->id);
	for (size_t i = 0; i < e->n_mclist; i++)
		if (e->mclist[i]->has_addr && e->mclist[i]->addr.len > sizeof(((struct packet_mreq *)0)->mr_address))
			return pr_errno(-EBADMSG, "files.img: packet socket file id %u: a membership's address is too long",
					fe->id);
	return 0;
}

static int set_int(int fd, int opt, int v, const char *name, const char *what)
{
	if (setsockopt(fd, SOL_PACKET, opt, &v, sizeof(v)) < 0)
		return pr_errno(-errno, "%s: setting %s to %d", what, name, v);
	return 0;
}

static int ifindex_of(const char *name, const char *what)
{
	unsigned i = if_nametoindex(name);

	return i ? (int)i : pr_errno(-errno, "%s: interface %s, which it was bound to, is not there", what, name);
}

static int packet_open(struct files_rst *rf, const FileEntry *fe)
{
	const PacketSkEntry *e = fe->packet_sk;
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = e->protocol };
	_cleanup_close_ int fd = -EBADF;
	char what[48];
	int err = 0;

	(void)rf;
	snprintf(what, sizeof(what), "file id %u (packet socket)", fe->id);
	fd = socket(AF_PACKET, e->type | SOCK_CLOEXEC, e->protocol);
	if (fd < 0)
		return pr_errno(-errno, "%s: socket", what);
	if (e->version)
		err = set_int(fd, PACKET_VERSION, e->version, "PACKET_VERSION", what);
	if (!err && e->reserve)
		err = set_int(fd, PACKET_RESERVE, e->reserve, "PACKET_RESERVE", what);
	if (!err && e->tstamp)
		err = set_int(fd, PACKET_TIMESTAMP, e->tstamp, "PACKET_TIMESTAMP", what);
	if (!err && e->copy_thresh)
		err = set_int(fd, PACKET_COPY_THRESH, e->copy_thresh, "PACKET_COPY_THRESH", what);
	if (!err && (e->flags & PDI_AUXDATA))
		err = set_int(fd, PACKET_AUXDATA, 1, "PACKET_AUXDATA", what);
	if (!err && (e->flags & PDI_ORIGDEV))
		err = set_int(fd, PACKET_ORIGDEV, 1, "PACKET_ORIGDEV", what);
	if (!err && (e->flags & PDI_VNETHDR))
		err = set_int(fd, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", what);
	if (!err && (e->flags & PDI_LOSS))
		err = set_int(fd, PACKET_LOSS, 1, "PACKET_LOSS", what);
	if (!err)
		err = sk_opts_restore(fd, packet_opts, ARRAY_SIZE(packet_opts), opts_skip(e), e, what);
	if (!err && e->has_rcvbuf) {
		int v = e->rcvbuf / 2;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
			err = pr_errno(-errno, "%s: SO_RCVBUFFORCE", what);
	}
	if (!err && e->has_sndbuf) {
		int v = e->sndbuf / 2;

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
			err = pr_errno(-errno, "%s: SO_SNDBUFFORCE", what);
	}
	if (err)
		return err;
	if (e->ifname && e->type == SOCK_PACKET) {
		struct sockaddr_pkt sp = { .spkt_family = AF_PACKET, .spkt_protocol = e->protocol };

		/* The kernel wants struct sockaddr's size, and binds with the socket's protocol. */
		memcpy(sp.spkt_device, e->ifname, strlen(e->ifname));
		if (bind(fd, (struct sockaddr *)&sp, sizeof(struct sockaddr)) < 0)
			return pr_errno(-errno, "%s: bind to %s (SOCK_PACKET)%s", what, e->ifname,
					errno == ENODEV ? ": no such interface" : "");
	} else if (e->ifname) {
		sa.sll_ifindex = ifindex_of(e->ifname, what);
		if (sa.sll_ifindex < 0)
			return sa.sll_ifindex;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return pr_errno(-errno, "%s: bind to %s", what, e->ifname);
	}
	for (size_t i = 0; i < e->n_mclist; i++) {
		const PacketMclistEntry *m = e->mclist[i];
		struct packet_mreq mr = { .mr_type = m->type, .mr_alen = m->has_addr ? m->addr.len : 0 };

		mr.mr_ifindex = ifindex_of(m->ifname, what);
		if (mr.mr_ifindex < 0)
			return mr.mr_ifindex;
		if (m->has_addr)
			memcpy(mr.mr_address, m->addr.data, m->addr.len);
		for (uint32_t k = 0; k < m->count; k++)
			if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
				return pr_errno(-errno, "%s: a membership (type %u) on %s", what, m->type, m->ifname);
	}
	if (e->has_fanout)
		err = set_int(fd, PACKET_FANOUT, e->fanout, "PACKET_FANOUT", what);
	if (!err)
		err = sk_filter_restore(fd, e->filter, what);
	return err ? err : TAKE_FD(fd);
}

const struct fd_kind fd_kind_packet = {
	.kind = FILE_KIND__FILE_PACKET_SK, .name = "packet socket",
	.match = packet_match, .dump = packet_dump, .free_entry = packet_free_entry,
	.check = packet_check, .open = packet_open,
};
