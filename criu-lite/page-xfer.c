/*
 * The page sink of a dump (page-xfer.h): pages-N.img in -D, or a
 * connection to `cr page-server` (the protocol is page-wire.h's).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "image-mac.h"
#include "io.h"
#include "log.h"
#include "page-wire.h"
#include "page-xfer.h"
#include "page-sign.h"

#define SIGN_PIECE	(1u << 20)	/* signed dumps: spliced at a time */
#include "pagez.h"

struct page_xfer {
	struct img *img;		/* local: the file */
	int sk;				/* remote: the connection, else -1 */
	unsigned id;
	char peer[80];			/* remote: "page server ADDR:PORT" */
	uint64_t off;			/* of the next byte stored (compressed: of the blocks) */
	uint64_t summed;		/* remote: bytes whose SUMS went */
	uint64_t loff;			/* of the next byte of pages (the pagemap's offsets) */
	struct pagez_writer *z;		/* --compress: pages go through it */
	struct sigaction old_pipe;	/* remote: SIGPIPE as it was */
	int rfd;			/* local, signed: the file again, for reading */
	struct page_sign *signer;	/* local, signed: page-sign.h */
};

/* A lost connection says so, whatever the errno of the call that saw it. */
static int peer_errno(struct page_xfer *x, int err, const char *what)
{
	if (err == -EPIPE || err == -ECONNRESET)
		return pr_errno(err, "%s: the connection was lost while %s (%lu bytes of pages-%u.img sent; "
				"a server that gave up says why in its log)",
				x->peer, what, (unsigned long)(x->off - IMG_PAGES_DATA_OFF), x->id);
	return pr_errno(err, "%s: %s", x->peer, what);
}

static int connect_to(const char *address, int port, char *peer, size_t peer_len)
{
	const char *gai;
	int sk = ps_socket(address, port, false, &gai);

	snprintf(peer, peer_len, "page server %s:%d", address, port);
	if (sk < 0 && gai)
		return pr_errno(sk, "%s: %s", peer, gai);
	if (sk < 0)
		return pr_errno(sk, "%s: cannot connect", peer);
	return sk;
}

static int open_remote(const struct cr_options *o, unsigned id, struct page_xfer *x)
{
	struct ps_hdr h = { .cmd = o->compress_level ? PS_OPENZ : PS_OPEN, .id = id, .len = IMG_DUMP_ID_SIZE };
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	struct sigaction ign = { .sa_handler = SIG_IGN };
	int one = 1, err;

	if (o->ps.has_fd) {
		snprintf(x->peer, sizeof(x->peer), "page server on fd %d", o->ps.fd);
		x->sk = fcntl(o->ps.fd, F_DUPFD_CLOEXEC, 0);
		if (x->sk < 0)
			return pr_errno(-errno, "%s: dup", x->peer);
	} else {
		if (!o->ps.address || o->ps.port <= 0)
			return pr_errno(-EINVAL, "--page-server needs --address and --port");
		x->sk = connect_to(o->ps.address, o->ps.port, x->peer, sizeof(x->peer));
		if (x->sk < 0)
			return x->sk;
	}
	/* COMMIT waits for its ACK: no Nagle delay on the small messages. */
	if (setsockopt(x->sk, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		pr_debug("%s: TCP_NODELAY: %s", x->peer, strerror(errno));
	/* splice() into a socket the peer closed raises SIGPIPE: an error return instead. */
	sigaction(SIGPIPE, &ign, &x->old_pipe);
	img_dump_id_get(dump_id);
	err = ps_send(x->sk, &h, dump_id, sizeof(dump_id), 0);
	if (err)
		return peer_errno(x, err, "opening pages image");
	pr_info("%s: sending pages-%u.img%s", x->peer, id, o->compress_level ? " (compressed)" : "");
	return 0;
}

/*
 * One compressed block, in order (pagez_out_fn): into the file, or to
 * the page server as DATA with its SUMS, the checksum of the stored
 * bytes, which the server checks as it checks plain runs.
 */
static int out_block(void *ctx, const void *block, size_t len)
{
	struct page_xfer *x = ctx;
	struct ps_hdr h = { .cmd = PS_DATA, .id = x->id, .off = x->off, .len = len };
	unsigned char sum[PS_SUM_SIZE];
	int err;

	if (x->img) {
		err = cr_fail_point("pagez-write");
		if (!err)
			err = write_all(x->img->fd, block, len);
		if (err)
			return pr_errno(err, "writing compressed pages into %s", x->img->name);
		x->off += len;
		return 0;
	}
	err = cr_fail_point("page-send");
	if (err)
		return err;
	err = ps_send(x->sk, &h, block, len, 1);
	if (err)
		return peer_errno(x, err, "sending compressed pages");
	x->off += len;
	ps_sum_pack(len, crc32c(0, block, len), sum);
	h = (struct ps_hdr){ .cmd = PS_SUMS, .id = x->id, .off = x->summed, .len = sizeof(sum), .count = 1 };
	err = ps_send(x->sk, &h, sum, sizeof(sum), 1);
	if (err)
		return peer_errno(x, err, "sending checksums");
	x->summed += len;
	return 0;
}

/* The image of a dump that serves its pages itself: unnamed, so that nobody restores from -D without it. */
static int open_private(int dfd, unsigned id, struct img **ret_img)
{
	char name[32];
	int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, id);
	if (fd < 0)
		return pr_errno(-errno, "--lazy-pages: an unnamed file in -D for the pages served from it");
	return img_create_fd(fd, IMG_PAGES, id, name, ret_img);
}

int page_xfer_dup_fd(const struct page_xfer *x)
{
	int fd = x->img ? fcntl(x->img->fd, F_DUPFD_CLOEXEC, 0) : -EBADF;

	if (!x->img)
		return pr_errno(-EINVAL, "pages-%u.img goes to a page server: no file here", x->id);
	return fd < 0 ? pr_errno(-errno, "dup of %s", x->img->name) : fd;
}

int page_xfer_open(const struct cr_options *o, int dfd, unsigned id, struct page_xfer **ret_x)
{
	struct page_xfer *x = xzalloc(sizeof(*x));
	int err;

	if (!x)
		return -ENOMEM;
	x->sk = x->rfd = -1;
	x->id = id;
	x->off = x->summed = x->loff = IMG_PAGES_DATA_OFF;
	if (o->ps.on && img_key_loaded())
		err = pr_errno(-EOPNOTSUPP, "--key-file with --page-server: the page server cannot sign the pages "
			       "it receives yet; dump signed images locally");
	else if (o->compress_level && img_key_loaded())
		err = pr_errno(-EOPNOTSUPP, "--key-file with --compress: compressed page images cannot be signed "
			       "yet; dump signed images uncompressed");
	else if (o->ps.on)
		err = open_remote(o, id, x);
	else if (o->lazy_pages)
		err = open_private(dfd, id, &x->img);
	else
		err = img_open(dfd, o->compress_level ? IMG_PAGESZ : IMG_PAGES, id, O_WRONLY, &x->img);
	if (!err && o->compress_level)
		err = pagez_writer_new(o->compress_level, 0, IMG_PAGES_DATA_OFF, out_block, x, &x->z);
	if (err) {
		page_xfer_free(x);
		return err;
	}
	*ret_x = x;
	return 0;
}

uint64_t page_xfer_offset(const struct page_xfer *x)
{
	return x->loff;
}

int page_xfer_splice(struct page_xfer *x, pid_t pid, int pipe_r, uint64_t len)
{
	struct ps_hdr h = { .cmd = PS_DATA, .id = x->id, .pid = pid, .off = x->off, .len = len };
	char what[32];
	int err;

	x->loff += len;
	if (x->z) {
		/* Copies out of the pipe: the task's pages are free to change once this returns. */
		snprintf(what, sizeof(what), "pid %d", pid);
		return pagez_write_from(x->z, pipe_r, len, what);
	}
	if (x->img) {
		/*
		 * cr holds the pipe's write end too: it never ends, a parasite
		 * gone is an error of its channel. Signed: in pieces, each
		 * signed while the next one is spliced.
		 */
		for (uint64_t left = len, n; left; left -= n) {
			n = x->signer ? min(left, (uint64_t)SIGN_PIECE) : left;
			err = ps_splice_all(pipe_r, x->img->fd, n);
			if (err)
				return pr_errno(err, "pid %d: splicing pages into %s", pid, x->img->name);
			x->off += n;
			if (x->signer)
				page_sign_written(x->signer, x->off);
		}
		return 0;
	} else {
		/* In pieces: the receiver's progress (and a fault point) per piece. */
		for (uint64_t left = len; left; left -= h.len) {
			h.off = x->off;
			h.len = min(left, (uint64_t)PS_DATA_MAX);
			err = cr_fail_point("page-send");
			if (err)
				return err;
			err = ps_send(x->sk, &h, NULL, 0, 1);
			if (!err)
				err = ps_splice_all(pipe_r, x->sk, h.len);
			if (err)
				return peer_errno(x, err, "sending page data");
			x->off += h.len;
		}
		return 0;
	}
}

int page_xfer_sign(struct page_xfer *x, uint64_t off, uint64_t len, uint8_t *ret_mac)
{
	if (!x->img)
		return pr_errno(-EOPNOTSUPP, "%s: pages sent to a page server cannot be signed", x->peer);
	if (x->rfd < 0) {
		char path[32];

		/* The image is open write-only: the signer reads it back. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", x->img->fd);
		x->rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (x->rfd < 0)
			return pr_errno(-errno, "%s: opening it again to sign its pages", x->img->name);
	}
	if (!x->signer) {
		int err = page_sign_start(x->rfd, x->img->dump_id, x->img->name, &x->signer);

		if (err)
			return err;
	}
	return page_sign_queue(x->signer, off, len, ret_mac);
}

int page_xfer_sign_wait(struct page_xfer *x)
{
	int err = cr_fail_point("page-sign");

	return err ? err : x->signer ? page_sign_wait(x->signer) : 0;
}

int page_xfer_mac_buf(struct page_xfer *x, const void *buf, uint64_t len, uint8_t *ret_mac)
{
	uint8_t id[IMG_DUMP_ID_SIZE];
	char name[32];

	if (x->img)
		return img_mac_data(x->img->dump_id, x->img->name, x->off, buf, len, ret_mac);
	img_dump_id_get(id);
	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, x->id);
	return img_mac_data(id, name, x->off, buf, len, ret_mac);
}

int page_xfer_write(struct page_xfer *x, pid_t pid, const void *buf, uint64_t len)
{
	struct ps_hdr h = { .cmd = PS_DATA, .id = x->id, .pid = pid, .off = x->off, .len = len };
	int err;

	x->loff += len;
	if (x->z)
		return pagez_write(x->z, buf, len);
	if (x->img) {
		err = write_all(x->img->fd, buf, len);
		if (err)
			return pr_errno(err, "writing shared memory pages into %s", x->img->name);
	} else {
		err = ps_send(x->sk, &h, buf, len, 1);
		if (err)
			return peer_errno(x, err, "sending shared memory pages");
	}
	x->off += len;
	return 0;
}

int page_xfer_sums(struct page_xfer *x, const struct page_xfer_sum *sums, unsigned nr)
{
	struct ps_hdr h = { .cmd = PS_SUMS, .id = x->id, .off = x->summed };
	_cleanup_free_ unsigned char *buf = NULL;
	uint64_t covered = 0;
	int err;

	/* Compressed: each block's own checksum went with it (out_block()). */
	if (x->img || x->z || !nr)
		return 0;
	if (nr > PS_MAX_SUMS)
		return pr_errno(-E2BIG, "%s: %u checksums in one message, at most %u", x->peer, nr, PS_MAX_SUMS);
	buf = xmalloc((size_t)nr * PS_SUM_SIZE);
	if (!buf)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++) {
		ps_sum_pack(sums[i].len, sums[i].crc, buf + (size_t)i * PS_SUM_SIZE);
		covered += sums[i].len;
	}
	h.count = nr;
	h.len = (uint64_t)nr * PS_SUM_SIZE;
	err = ps_send(x->sk, &h, buf, h.len, 1);
	if (err)
		return peer_errno(x, err, "sending checksums");
	x->summed += covered;
	return 0;
}

/* @cmd (SYNC, COMMIT), then the server's ACK. 0 or -errno (logged). */
static int round_trip(struct page_xfer *x, enum ps_cmd cmd, const char *what)
{
	struct ps_hdr h = { .cmd = cmd, .id = x->id, .off = x->off };
	unsigned char buf[PS_HDR_SIZE];
	struct ps_hdr ack;
	int err;

	if (x->summed != x->off)
		return pr_errno(-EINVAL, "%s: pages-%u.img: %lu bytes sent without checksums", x->peer, x->id,
				(unsigned long)(x->off - x->summed));
	err = ps_send(x->sk, &h, NULL, 0, 0);
	if (!err)
		err = ps_recv_all(x->sk, buf, sizeof(buf));
	if (err)
		return peer_errno(x, err, what);
	err = ps_hdr_unpack(buf, x->peer, &ack);
	if (err)
		return err;
	if (ack.cmd != PS_ACK || ack.id != x->id)
		return pr_errno(-EPROTO, "%s: answered %s of pages-%u.img with %s of %u", x->peer, ps_cmd_name(cmd),
				x->id, ps_cmd_name(ack.cmd), ack.id);
	if (ack.count)
		return pr_errno(-(int)ack.count, "%s: could not %s pages-%u.img (see its log)", x->peer,
				cmd == PS_COMMIT ? "complete" : "receive", x->id);
	return 0;
}

int page_xfer_sync(struct page_xfer *x)
{
	return x->img ? 0 : round_trip(x, PS_SYNC, "waiting for the pages to arrive");
}

/* COMMIT, then the server's word that pages-N.img is complete. */
static int commit_remote(struct page_xfer *x)
{
	struct ps_hdr h = { .cmd = PS_CLOSE, .id = x->id };
	int err = round_trip(x, PS_COMMIT, "committing pages image");

	if (err)
		return err;
	err = ps_send(x->sk, &h, NULL, 0, 0);
	if (err)
		return peer_errno(x, err, "closing the session");
	pr_info("%s: pages-%u.img complete there, %lu bytes", x->peer, x->id,
		(unsigned long)(x->off - IMG_PAGES_DATA_OFF));
	return 0;
}

/* The last blocks out, and what compression made of the pages. */
static int finish_compressed(struct page_xfer *x)
{
	uint64_t raw = x->loff - IMG_PAGES_DATA_OFF;
	int err = pagez_writer_finish(x->z);

	if (!err)
		pr_info("pages-%u.img: %lu bytes of pages stored compressed in %lu (%.1f%%)", x->id,
			(unsigned long)raw, (unsigned long)pagez_writer_stored(x->z),
			raw ? 100.0 * pagez_writer_stored(x->z) / raw : 0.0);
	return err;
}

int page_xfer_commit(struct page_xfer *x)
{
	int err = 0;

	if (!x)
		return 0;
	page_sign_stop(TAKE_PTR(x->signer));
	if (x->z)
		err = finish_compressed(x);
	if (!err)
		err = x->img ? img_close(TAKE_PTR(x->img)) : commit_remote(x);
	page_xfer_free(x);
	return err;
}

void page_xfer_free(struct page_xfer *x)
{
	if (!x)
		return;
	page_sign_stop(x->signer);
	pagez_writer_free(x->z);
	img_close(x->img);
	if (x->rfd >= 0)
		close(x->rfd);
	if (x->sk >= 0) {
		close(x->sk);
		sigaction(SIGPIPE, &x->old_pipe, NULL);
	}
	free(x);
}
