/*
 * Established TCP connections through the kernel's TCP repair mode
 * (Documentation/networking: TCP_REPAIR; CRIU's sk-tcp.c and soccr).
 *
 * In repair mode a socket sends and receives nothing by itself: its
 * queues can be read with MSG_PEEK (TCP_REPAIR_QUEUE picks which), its
 * sequence numbers, window and negotiated options read and set, connect()
 * makes it established without a handshake, and close() drops it without
 * a FIN or RST. So the dump reads a connection without disturbing it, a
 * killed tree's connections vanish quietly, and restore rebuilds both
 * ends of a loopback connection before either sends a byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "files-kind.h"
#include "guard.h"
#include "log.h"
#include "sk-inet-addr.h"
#include "sk-opts.h"
#include "sk-tcp.h"
#include "sk-tcp-fin.h"
#include "task-fd.h"

/* TCP option kinds of TCP_REPAIR_OPTIONS (RFC 793, 7323, 2018). */
#define TCPOPT_MSS		2
#define TCPOPT_WSCALE		3
#define TCPOPT_SACK_PERM	4
#define TCPOPT_TSTAMP		8

/* A send of more than this into a repair queue may fail with ENOMEM (one linear skb). */
#define REPAIR_CHUNK_MIN	1024
/* Room beyond twice the unsent bytes while they are queued at restore. */
#define SNDBUF_SLACK		(1 << 20)

/* The connection has had the peer's FIN: it counts in the receive sequence. */
static bool fin_in(unsigned state)
{
	return state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/* The connection has queued its own FIN (shutdown for writing or close). */
static bool fin_out(unsigned state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_LAST_ACK ||
	       state == TCP_CLOSING;
}

static const char *const state_names[] = {
	[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV", [TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2", [TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE", [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK", [TCP_LISTEN] = "LISTEN", [TCP_CLOSING] = "CLOSING",
};

const char *tcp_state_name(unsigned state)
{
	return state < ARRAY_SIZE(state_names) && state_names[state] ? state_names[state] : "?";
}

bool tcp_repair_state_kept(unsigned state)
{
	return state == TCP_ESTABLISHED || fin_in(state) || fin_out(state);
}

static unsigned stream_state(const TcpStreamEntry *t)
{
	return t->has_state ? t->state : TCP_ESTABLISHED;
}

/* ---- dump ---------------------------------------------------------------- */

/*
 * Sockets put into repair mode by this dump, as fds of the frozen tasks:
 * cr holds no copy (a tree's 20,000 sockets would be more than its
 * RLIMIT_NOFILE), it takes one again to let each out.
 */
static struct repaired {
	pid_t pid;
	int fd;
	ino_t ino;
	bool reuseaddr;
} *repaired;
static size_t nr_repaired, cap_repaired;

static int repair_set(int fd, int val)
{
	return setsockopt(fd, SOL_TCP, TCP_REPAIR, &val, sizeof(val)) < 0 ? -errno : 0;
}

static int repair_queue(int fd, int queue)
{
	return setsockopt(fd, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ? -errno : 0;
}

/* Turns repair mode off on @fd; the kernel resets SO_REUSEADDR then. */
static int repair_off(int fd, bool reuseaddr)
{
	int one = 1, err = repair_set(fd, TCP_REPAIR_OFF);

	if (!err && reuseaddr && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		err = -errno;
	return err;
}

void tcp_repair_dump_end(bool tree_killed)
{
	struct task_fds tasks = TASK_FDS_INIT;

	/* Killed: the sockets stay in repair mode, so the dying tasks' close sends nothing to the peers. */
	for (size_t i = 0; i < nr_repaired && !tree_killed; i++) {
		const struct repaired *r = &repaired[i];
		int fd = task_fd_copy(&tasks, r->pid, r->fd, r->ino), err;

		err = fd < 0 ? fd : repair_off(fd, r->reuseaddr);
		if (err)
			pr_errno(err, "pid %d: fd %d: a dumped TCP connection could not leave repair mode; it is stuck",
				 r->pid, r->fd);
		if (fd >= 0)
			close(fd);
	}
	task_fds_close(&tasks);
	free(repaired);
	repaired = NULL;
	nr_repaired = cap_repaired = 0;
}

/* The guard's undo, if cr dies while the connection is in repair mode. */
static void repair_undo(int fd, uint64_t reuseaddr)
{
	int err = repair_off(fd, reuseaddr);

	if (err)
		pr_errno(err, "the guard could not take a TCP connection out of repair mode");
}

/*
 * Turns repair mode on, noted to be undone by tcp_repair_dump_end(), or
 * by the guard if cr dies before (both on the task's fd, which stays put
 * while the tree is frozen).
 */
static int repair_on_dump(const struct fd_dump *d, bool reuseaddr)
{
	struct guard *g = files_dump_guard(d->df);
	int err;

	if (nr_repaired == cap_repaired) {
		size_t cap = cap_repaired ? cap_repaired * 2 : 64;
		struct repaired *n = xrealloc(repaired, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		repaired = n;
		cap_repaired = cap;
	}
	/* The guard first: a cr that dies right after must not leave it in repair mode. */
	err = g ? guard_keep_task_fd(g, d->pid, d->fd, d->st.st_ino, repair_undo, reuseaddr, GUARD_UNDO) : 0;
	if (!err)
		err = repair_set(d->cr_fd, TCP_REPAIR_ON);
	if (err)
		return pr_errno(err, "pid %d: fd %d (%s): can't put the TCP connection into repair mode%s",
				d->pid, d->fd, d->link, err == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	repaired[nr_repaired++] = (struct repaired){ d->pid, d->fd, d->st.st_ino, reuseaddr };
	return 0;
}

/* One queue: its sequence number and (peeked, so it stays queued) its bytes. */
static int dump_queue(struct fd_dump *d, int queue, uint32_t len, uint32_t *ret_seq, DataRef *ref)
{
	_cleanup_free_ char *buf = NULL;
	const char *qname = queue == TCP_RECV_QUEUE ? "receive" : "send";
	ssize_t n;
	int err;

	err = repair_queue(d->cr_fd, queue);
	if (err)
		return pr_errno(err, "pid %d: fd %d: TCP_REPAIR_QUEUE %s", d->pid, d->fd, qname);
	err = sk_dump_getsockopt(d, SOL_TCP, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ", ret_seq, sizeof(*ret_seq));
	if (err)
		return err;
	buf = xmalloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	/* MSG_PEEK: in repair mode it copies the whole queue and takes nothing. */
	do
		n = len ? recv(d->cr_fd, buf, len, MSG_PEEK | MSG_DONTWAIT) : 0;
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d: reading the %s queue (%u bytes)",
				d->pid, d->fd, qname, len);
	if ((uint32_t)n != len)
		return pr_errno(-EIO, "pid %d: fd %d: the %s queue gave %zd of its %u bytes",
				d->pid, d->fd, qname, n, len);
	return fdata_append(d->df, buf, len, ref);
}

int tcp_repair_dump(struct fd_dump *d, InetSkEntry *e, bool reuseaddr, unsigned state)
{
	TcpStreamEntry *t = xmalloc(sizeof(*t));
	struct tcp_repair_window w;
	struct tcp_info ti;
	socklen_t len;
	int inq, outq, unsent, err;

	if (!t)
		return -ENOMEM;
	tcp_stream_entry__init(t);
	t->inq = xzalloc(sizeof(*t->inq));
	t->outq = xzalloc(sizeof(*t->outq));
	e->tcp = t;
	if (!t->inq || !t->outq)
		return -ENOMEM;
	data_ref__init(t->inq);
	data_ref__init(t->outq);

	err = repair_on_dump(d, reuseaddr);
	if (err)
		return err;

	len = sizeof(ti);
	if (getsockopt(d->cr_fd, SOL_TCP, TCP_INFO, &ti, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d: TCP_INFO", d->pid, d->fd);
	if (ti.tcpi_state != state)
		return pr_errno(-EAGAIN, "pid %d: fd %d (%s): the TCP connection changed state while frozen",
				d->pid, d->fd, d->link);
	if (state != TCP_ESTABLISHED) {
		t->has_state = true;
		t->state = state;
	}
	t->opt_mask = ti.tcpi_options;
	t->snd_wscale = ti.tcpi_snd_wscale;
	t->rcv_wscale = ti.tcpi_rcv_wscale;
	/* In repair mode TCP_MAXSEG reports the clamp negotiated at connect. */
	err = sk_dump_getsockopt(d, SOL_TCP, TCP_MAXSEG, "TCP_MAXSEG", &t->mss_clamp,
				 sizeof(t->mss_clamp));
	if (!err)
		err = sk_dump_getsockopt(d, SOL_TCP, TCP_TIMESTAMP, "TCP_TIMESTAMP", &t->timestamp,
					 sizeof(t->timestamp));
	if (err)
		return err;
	len = sizeof(w);
	if (getsockopt(d->cr_fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d: TCP_REPAIR_WINDOW", d->pid, d->fd);
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;

	/* SIOCOUTQ: sent or not, not acknowledged; SIOCOUTQNSD: never sent. */
	if (ioctl(d->cr_fd, SIOCINQ, &inq) < 0 || ioctl(d->cr_fd, SIOCOUTQ, &outq) < 0 ||
	    ioctl(d->cr_fd, SIOCOUTQNSD, &unsent) < 0)
		return pr_errno(-errno, "pid %d: fd %d: queue lengths", d->pid, d->fd);
	if (inq < 0 || outq < 0 || unsent < 0 || unsent > outq)
		return pr_errno(-EIO, "pid %d: fd %d: odd queue lengths (in %d, out %d, unsent %d)",
				d->pid, d->fd, inq, outq, unsent);
	/* The own FIN is counted in both while it is not acknowledged, and in unsent while not sent. */
	if (fin_out(state) && state != TCP_FIN_WAIT2) {
		t->has_fin_unsent = true;
		t->fin_unsent = unsent > 0;
		unsent -= unsent > 0;
		outq -= outq > 0;
	}
	t->unsent_len = unsent;
	err = dump_queue(d, TCP_SEND_QUEUE, outq, &t->outq_seq, t->outq);
	if (!err)
		err = dump_queue(d, TCP_RECV_QUEUE, inq, &t->inq_seq, t->inq);
	if (!err && (err = repair_queue(d->cr_fd, TCP_NO_QUEUE)))
		pr_errno(err, "pid %d: fd %d: TCP_REPAIR_QUEUE off", d->pid, d->fd);
	if (!err)
		pr_info("pid %d: fd %d: TCP connection (%s) with %d bytes to read, %d to send (%d never sent)",
			d->pid, d->fd, tcp_state_name(state), inq, outq, unsent);
	return err;
}

void tcp_stream_free(TcpStreamEntry *t)
{
	if (!t)
		return;
	free(t->inq);
	free(t->outq);
	free(t);
}

/* ---- restore ------------------------------------------------------------- */

static int set_seq(int fd, int queue, uint32_t seq)
{
	int err = repair_queue(fd, queue);

	if (!err && setsockopt(fd, SOL_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)) < 0)
		err = -errno;
	return err;
}

/*
 * Sends @len bytes of @buf. In repair mode they land in the queue
 * TCP_REPAIR_QUEUE chose, as received or as sent-not-acknowledged data.
 * The kernel makes one linear buffer of a repair send, so a large one can
 * fail with ENOMEM: halve it then.
 */
static int send_all(int fd, const char *buf, size_t len, int flags)
{
	size_t chunk = len, off = 0;

	while (off < len) {
		size_t want = len - off < chunk ? len - off : chunk;
		ssize_t n = send(fd, buf + off, want, flags | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (chunk > REPAIR_CHUNK_MIN && (n == 0 || errno == ENOMEM)) {
				chunk /= 2;
				continue;
			}
			return n < 0 ? -errno : -EIO;
		}
		off += n;
	}
	return 0;
}

static int fill_queue(struct files_rst *rf, int fd, int queue, const DataRef *ref,
		      uint64_t from, uint64_t len)
{
	_cleanup_free_ char *buf = xmalloc(ref->len ? ref->len : 1);
	int err;

	if (!buf)
		return -ENOMEM;
	err = fdata_read(rf, ref, buf);
	if (err || !len)
		return err;
	if (queue >= 0 && (err = repair_queue(fd, queue)))
		return err;
	return send_all(fd, buf + from, len, queue >= 0 ? 0 : MSG_DONTWAIT);
}

/*
 * Bytes a restored connection never sent before the dump, read from the
 * image by cr before the tree is created (tcp_repair_check()): finish()
 * sends them after the go, in cr or in the guard (a fork of cr: the copy
 * is there too), with no image to read then; the socket itself may be
 * made by its task.
 */
static struct unsent {
	uint32_t id;
	char *buf;
} *unsent;
static size_t nr_unsent;

static int keep_unsent(struct files_rst *rf, const FileEntry *fe)
{
	const TcpStreamEntry *t = fe->inet_sk->tcp;
	struct unsent *n;
	char *buf;
	int err;

	if (!t->unsent_len)
		return 0;
	n = xrealloc(unsent, (nr_unsent + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	unsent = n;
	buf = xmalloc(t->outq->len);
	if (!buf)
		return -ENOMEM;
	err = fdata_read(rf, t->outq, buf);
	if (err) {
		free(buf);
		return err;
	}
	unsent[nr_unsent++] = (struct unsent){ fe->id, buf };
	return 0;
}

static struct unsent *unsent_of(uint32_t id)
{
	for (size_t i = 0; i < nr_unsent; i++)
		if (unsent[i].id == id)
			return &unsent[i];
	return NULL;
}

/* ---- the FINs -------------------------------------------------------------- */

#define STATE_WAIT_MS	1000

/* The peer's window as its segments say it: scaled down. */
static uint16_t wire_window(const TcpStreamEntry *t)
{
	uint32_t w = t->snd_wnd >> ((t->opt_mask & TCPI_OPT_WSCALE) ? t->snd_wscale : 0);

	return w > UINT16_MAX ? UINT16_MAX : (uint16_t)w;
}

/* Until @fd is in TCP state @want (a segment is taken in softirq time). */
static int wait_state(int fd, unsigned want, unsigned *ret_state)
{
	for (unsigned waited = 0;; waited++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) < 0)
			return -errno;
		*ret_state = ti.tcpi_state;
		if (ti.tcpi_state == want)
			return 0;
		if (waited >= STATE_WAIT_MS)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

enum fin_step { OWN_FIN, PEER_FIN, PEER_ACK };

/*
 * One step of the close the dumped connection had gone through: its own
 * FIN (shutdown; in repair mode on the send queue, it counts as sent),
 * the peer's FIN or the peer's ACK of the own FIN (made-up segments).
 * @state is the state before; 0 and the state after, or -errno.
 */
static int fin_step(int fd, const FileEntry *fe, enum fin_step step, bool in_repair, unsigned *state)
{
	static const char *const what[] = { "its own FIN", "the peer's FIN", "the peer's ACK of its FIN" };
	const InetSkEntry *e = fe->inet_sk;
	const TcpStreamEntry *t = e->tcp;
	uint32_t snd_una = t->outq_seq - fin_out(stream_state(t)) - (uint32_t)t->outq->len;
	unsigned want = TCP_CLOSE, now = *state;
	int err = 0;

	switch (step) {
	case OWN_FIN:
		want = now == TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT1;
		if (in_repair)
			err = repair_queue(fd, TCP_SEND_QUEUE);
		if (!err && shutdown(fd, SHUT_WR) < 0)
			err = -errno;
		if (in_repair && !err)
			err = repair_queue(fd, TCP_NO_QUEUE);
		break;
	case PEER_FIN:
		want = now == TCP_FIN_WAIT1 ? TCP_CLOSING : TCP_CLOSE_WAIT;
		err = tcp_peer_segment(fd, e, &(struct tcp_segment){ .seq = t->inq_seq - 1, .ack = snd_una,
								     .window = wire_window(t), .fin = true });
		break;
	case PEER_ACK:
		want = TCP_FIN_WAIT2;
		err = tcp_peer_segment(fd, e, &(struct tcp_segment){ .seq = t->inq_seq, .ack = t->outq_seq,
								     .window = wire_window(t) });
		break;
	}
	if (!err)
		err = wait_state(fd, want, state);
	if (err) {
		struct inet_addr_str as, bs;

		return pr_errno(err, "file id %u: TCP connection %s -> %s: replaying %s (state %s, for %s)", fe->id,
				inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port),
				inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port), what[step],
				tcp_state_name(*state), tcp_state_name(want));
	}
	return 0;
}

/* @state shows @step taken already (a finish the guard goes on with). */
static bool fin_step_done(enum fin_step step, unsigned state)
{
	bool gone = state == TCP_CLOSE || state == TCP_TIME_WAIT;

	switch (step) {
	case OWN_FIN:
		return gone || fin_out(state);
	case PEER_FIN:
		return gone || fin_in(state);
	case PEER_ACK:
		return gone || state == TCP_FIN_WAIT2;
	}
	return false;
}

/*
 * The close of the dumped connection, in its order (CLOSING: the own FIN
 * went first; LAST_ACK: the peer's), each step in repair mode
 * (@in_repair) or, for an own FIN behind unsent bytes, after them at
 * finish (and in CLOSING the peer's FIN after it).
 */
static int replay_close(int fd, const FileEntry *fe, bool in_repair)
{
	const TcpStreamEntry *t = fe->inet_sk->tcp;
	unsigned dumped = stream_state(t), state = TCP_ESTABLISHED;
	bool own_late = t->fin_unsent, peer_late = dumped == TCP_CLOSING && t->fin_unsent;
	enum fin_step order[3];
	unsigned nr = 0;
	int err = 0;

	if (dumped == TCP_CLOSING)
		order[nr++] = OWN_FIN, order[nr++] = PEER_FIN;
	else {
		if (fin_in(dumped))
			order[nr++] = PEER_FIN;
		if (fin_out(dumped))
			order[nr++] = OWN_FIN;
		if (dumped == TCP_FIN_WAIT2)
			order[nr++] = PEER_ACK;
	}
	if (!in_repair) {
		/* What repair mode did already: the state to go on from. */
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) < 0)
			return pr_errno(-errno, "file id %u: TCP_INFO", fe->id);
		state = ti.tcpi_state;
	}
	for (unsigned i = 0; i < nr && !err; i++) {
		bool late = order[i] == OWN_FIN ? own_late : order[i] == PEER_FIN ? peer_late : false;

		if (late != !in_repair || (!in_repair && fin_step_done(order[i], state)))
			continue;
		err = fin_step(fd, fe, order[i], in_repair, &state);
	}
	return err;
}

/*
 * The dumped window, with its left edge no later than @rcv_nxt (before
 * the peer's FIN is replayed, the kernel takes none beyond): the right
 * edge stays where it was.
 */
static int set_window(int fd, const FileEntry *fe, uint32_t rcv_nxt)
{
	const TcpStreamEntry *t = fe->inet_sk->tcp;
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
	};
	int32_t ahead = (int32_t)(w.rcv_wup - rcv_nxt);

	if (ahead > 0) {
		w.rcv_wup -= ahead;
		w.rcv_wnd += ahead;
	}
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return pr_errno(-errno, "file id %u: TCP_REPAIR_WINDOW", fe->id);
	return 0;
}

int tcp_repair_restore(struct files_rst *rf, const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	const TcpStreamEntry *t = e->tcp;
	struct tcp_repair_opt o[4];
	struct sockaddr_storage src, dst;
	struct inet_addr_str as, bs;
	socklen_t slen, dlen;
	unsigned nr = 0, state = stream_state(t);
	int err;

	slen = inet_sockaddr(e->family, &e->src_addr, e->src_port, &src);
	dlen = inet_sockaddr(e->family, &e->dst_addr, e->dst_port, &dst);
	inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port);
	inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port);
	/* Repair mode binds over a port in use (the listener that accepted this). */
	if (bind(fd, (struct sockaddr *)&src, slen) < 0)
		return pr_errno(-errno, "file id %u: TCP connection %s -> %s: bind", fe->id, as.s, bs.s);
	/* The queues are filled below, so the sequence numbers start before them. */
	err = set_seq(fd, TCP_RECV_QUEUE, t->inq_seq - fin_in(state) - (uint32_t)t->inq->len);
	if (!err)
		err = set_seq(fd, TCP_SEND_QUEUE, t->outq_seq - fin_out(state) - (uint32_t)t->outq->len);
	if (err)
		return pr_errno(err, "file id %u: TCP connection %s -> %s: setting sequence numbers",
				fe->id, as.s, bs.s);
	/* No handshake in repair mode: the socket is established at once. */
	if (connect(fd, (struct sockaddr *)&dst, dlen) < 0)
		return pr_errno(-errno, "file id %u: TCP connection %s -> %s: connect in repair mode%s",
				fe->id, as.s, bs.s, errno == EADDRNOTAVAIL ?
				" (a connection of these addresses and ports exists: still closing, or in TIME_WAIT)" : "");

	if (t->opt_mask & TCPI_OPT_SACK)
		o[nr++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERM, 0 };
	if (t->opt_mask & TCPI_OPT_WSCALE)
		o[nr++] = (struct tcp_repair_opt){ TCPOPT_WSCALE, t->snd_wscale | t->rcv_wscale << 16 };
	if (t->opt_mask & TCPI_OPT_TIMESTAMPS)
		o[nr++] = (struct tcp_repair_opt){ TCPOPT_TSTAMP, 0 };
	o[nr++] = (struct tcp_repair_opt){ TCPOPT_MSS, t->mss_clamp };
	/* Before any data: the kernel takes options only on an unused connection. */
	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, o, nr * sizeof(o[0])) < 0)
		return pr_errno(-errno, "file id %u: TCP connection %s -> %s: TCP_REPAIR_OPTIONS",
				fe->id, as.s, bs.s);
	if ((t->opt_mask & TCPI_OPT_TIMESTAMPS) &&
	    setsockopt(fd, SOL_TCP, TCP_TIMESTAMP, &t->timestamp, sizeof(t->timestamp)) < 0)
		return pr_errno(-errno, "file id %u: TCP connection %s -> %s: TCP_TIMESTAMP",
				fe->id, as.s, bs.s);

	err = fill_queue(rf, fd, TCP_RECV_QUEUE, t->inq, 0, t->inq->len);
	if (err)
		return pr_errno(err, "file id %u: TCP connection %s -> %s: refilling %llu received bytes",
				fe->id, as.s, bs.s, (unsigned long long)t->inq->len);
	/* Only what was sent goes in as sent; the rest is sent at finish. */
	err = fill_queue(rf, fd, TCP_SEND_QUEUE, t->outq, 0, t->outq->len - t->unsent_len);
	if (err)
		return pr_errno(err, "file id %u: TCP connection %s -> %s: refilling %llu unacknowledged bytes",
				fe->id, as.s, bs.s, (unsigned long long)(t->outq->len - t->unsent_len));
	err = set_window(fd, fe, t->inq_seq - fin_in(state));
	if (!err && (err = repair_queue(fd, TCP_NO_QUEUE)))
		pr_errno(err, "file id %u: TCP_REPAIR_QUEUE off", fe->id);
	if (!err && state != TCP_ESTABLISHED) {
		err = replay_close(fd, fe, true);
		/* The peer's FIN is in: the window as it was. */
		if (!err && fin_in(state))
			err = set_window(fd, fe, t->inq_seq - !!(state == TCP_CLOSING && t->fin_unsent));
	}
	/* Shut down for reading alone: no segment says it. */
	if (!err && (e->shutdown & 1) && !fin_in(state) && shutdown(fd, SHUT_RD) < 0)
		err = pr_errno(-errno, "file id %u: TCP connection %s -> %s: shutdown for reading",
			       fe->id, as.s, bs.s);
	if (err)
		return err;
	pr_info("file id %u: TCP connection %s -> %s rebuilt in repair mode", fe->id, as.s, bs.s);
	return 0;
}

int tcp_repair_check(struct files_rst *rf, const FileEntry *fe)
{
	const InetSkEntry *e = fe->inet_sk;
	const TcpStreamEntry *t = e->tcp;
	struct inet_addr_str as, bs;
	int err = 0;

	inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port);
	inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port);
	if (!t->inq || !t->outq || t->outq->len < t->unsent_len || t->outq->len > UINT32_MAX ||
	    t->inq->len > UINT32_MAX)
		return pr_errno(-EBADMSG, "file id %u: TCP connection %s -> %s: bad queue lengths in the image",
				fe->id, as.s, bs.s);
	err = keep_unsent(rf, fe);
	if (err)
		return pr_errno(err, "file id %u: TCP connection %s -> %s: reading %u unsent bytes",
				fe->id, as.s, bs.s, t->unsent_len);
	return 0;
}

/* Sets the send buffer to @size bytes as getsockopt() shows it (0: leave it). */
static int set_sndbuf(int fd, uint64_t size)
{
	int v = size / 2 > INT_MAX / 2 ? INT_MAX / 2 : (int)(size / 2);

	if (!size)
		return 0;
	/* The kernel doubles what it is given (socket(7)). */
	return setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0 ? -errno : 0;
}

/*
 * How many of the never-sent bytes @fd holds already (a finish that was
 * cut short: cr died in it and the guard goes on). Since the connect in
 * repair mode everything written is either acknowledged (tcpi_bytes_acked
 * counts from there) or still queued (SIOCOUTQ), and the first
 * outq - unsent_len bytes were the ones refilled in repair mode. The own
 * FIN that may follow is not queued yet (its state says so first).
 */
static int unsent_done(int fd, const TcpStreamEntry *t, uint64_t *ret_done)
{
	/* The kernel's struct tcp_info goes on past glibc's (linux/tcp.h, since 4.1). */
	struct {
		struct tcp_info base;
		uint64_t pacing_rate, max_pacing_rate, bytes_acked;
	} ti;
	socklen_t len = sizeof(ti);
	uint64_t sent_part = t->outq->len - t->unsent_len, total;
	int outq;

	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) < 0 || ioctl(fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	if (len < sizeof(ti))
		return -EOPNOTSUPP;
	if (fin_out(ti.base.tcpi_state) || ti.base.tcpi_state == TCP_CLOSE || ti.base.tcpi_state == TCP_TIME_WAIT) {
		*ret_done = t->unsent_len;	/* the FIN went in behind all of them */
		return 0;
	}
	total = ti.bytes_acked + (uint64_t)(outq > 0 ? outq : 0);
	*ret_done = total <= sent_part ? 0 : total - sent_part > t->unsent_len ? t->unsent_len : total - sent_part;
	return 0;
}

/*
 * Never sent before the dump: an ordinary send now, of what the socket
 * does not hold yet. The peer's window may be closed (that is why it was
 * not sent) and the tree does not run yet, so it must all fit at once:
 * the kernel counts a new socket's buffers differently, so the send
 * buffer is made roomy for this and then set back.
 */
static int send_unsent(const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	const TcpStreamEntry *t = e->tcp;
	struct unsent *u = unsent_of(fe->id);
	uint64_t done = 0;
	int err;

	if (!t->unsent_len)
		return 0;
	err = u && u->buf ? unsent_done(fd, t, &done) : -ENOENT;
	if (!err && done < t->unsent_len) {
		err = set_sndbuf(fd, (uint64_t)t->unsent_len * 2 + SNDBUF_SLACK);
		if (!err)
			err = send_all(fd, u->buf + t->outq->len - t->unsent_len + done, t->unsent_len - done,
				       MSG_DONTWAIT);
		if (!err)
			err = set_sndbuf(fd, e->has_sndbuf ? e->sndbuf : 0);
	}
	if (u) {
		free(u->buf);
		u->buf = NULL;
	}
	return err;
}

/*
 * Out of repair mode, then what comes after: the never-sent bytes, the
 * FINs behind them. Each step is done only if the socket shows it is not
 * yet, so the guard can finish what a dead cr had begun (the network
 * lock holds the tree's packets until after this).
 */
int tcp_repair_finish(struct files_rst *rf, const FileEntry *fe, int fd)
{
	const InetSkEntry *e = fe->inet_sk;
	const TcpStreamEntry *t = e->tcp;
	struct inet_addr_str as, bs;
	int in_repair = 0, err = 0;
	socklen_t len = sizeof(in_repair);

	(void)rf;
	inet_addr_fmt(&as, e->family, &e->src_addr, e->src_port);
	inet_addr_fmt(&bs, e->family, &e->dst_addr, e->dst_port);
	if (getsockopt(fd, SOL_TCP, TCP_REPAIR, &in_repair, &len) < 0)
		return pr_errno(-errno, "file id %u: TCP connection %s -> %s: TCP_REPAIR", fe->id, as.s, bs.s);
	if (in_repair && (err = repair_off(fd, e->has_reuseaddr && e->reuseaddr)))
		return pr_errno(err, "file id %u: TCP connection %s -> %s: leaving repair mode",
				fe->id, as.s, bs.s);
	if (!t->unsent_len && !t->fin_unsent)
		return 0;
	/* Out of repair mode, the tail not sent yet: the guard's to finish. */
	if (in_repair)
		err = cr_fail_point("tcp-finish");
	if (!err && (err = send_unsent(fe, fd)))
		pr_errno(err, "file id %u: TCP connection %s -> %s: queueing %u unsent bytes",
			 fe->id, as.s, bs.s, t->unsent_len);
	return !err && t->fin_unsent ? replay_close(fd, fe, false) : err;
}
