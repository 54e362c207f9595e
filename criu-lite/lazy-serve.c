/*
 * The source of a lazy migration (lazy-serve.h): answers the LZ_*
 * requests of one destination from a page image (page-wire.h).
 * The bytes go from the file to the socket with sendfile(), never
 * through cr's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "lazy-serve.h"
#include "log.h"
#include "page-wire.h"

struct lz_server {
	int sk, fd;
	unsigned id;
	uint64_t size;			/* of the image */
	uint64_t served, gets;
	bool opened, started;
	char peer[80];
};

const char *lazy_serve_opts_error(const struct cr_options *o)
{
	bool dump = !strcmp(o->command, "dump");
	bool source = o->lazy_pages && (dump || !strcmp(o->command, "page-server"));

	if (source && !o->ps.port)
		return "--lazy-pages of dump and page-server needs --port (and --address) to serve the pages on";
	if (source && dump && (o->ps.on || o->leave_running || o->prev_images_dir || o->track_mem ||
			       o->pre_copy_rounds))
		return "dump --lazy-pages serves the pages itself, from this dump alone: not with --page-server, "
		       "--leave-running, --prev-images-dir, --track-mem or --pre-copy";
	if (source && dump && o->compress_level)
		return "dump --lazy-pages sends its pages as they are: not with --compress";
	if (o->lazy_pages && !strcmp(o->command, "pre-dump"))
		return "pre-dump --lazy-pages: a pre-dump serves no pages (dump --lazy-pages does)";
	if (!strcmp(o->command, "lazy-pages") && o->ps.on && (!o->ps.address || !o->ps.port))
		return "lazy-pages --page-server needs --address and --port of the page source";
	return NULL;
}

int lazy_serve_listen(const struct cr_options *o)
{
	const char *gai, *addr = o->ps.address ? o->ps.address : "*";
	int sk;

	if (o->ps.port <= 0)
		return pr_errno(-EINVAL, "--lazy-pages: the page source needs --port (and --address)");
	sk = ps_socket(o->ps.address, o->ps.port, true, &gai);
	if (sk < 0 && gai)
		return pr_errno(sk, "lazy pages source: address %s: %s", addr, gai);
	if (sk < 0)
		return pr_errno(sk, "lazy pages source: listening on %s port %d", addr, o->ps.port);
	pr_info("lazy pages source: listening on %s port %d", addr, o->ps.port);
	return sk;
}

static int answer(struct lz_server *s, const struct ps_hdr *req, uint64_t len, int err)
{
	struct ps_hdr ack = { .cmd = PS_ACK, .id = req->id, .off = req->off, .len = len, .count = -err };
	int e = ps_send(s->sk, &ack, NULL, 0, 0);

	return e ? pr_errno(e, "lazy pages source: %s: answering %s", s->peer, ps_cmd_name(req->cmd)) : 0;
}

/* @len bytes at @off, changed on the way (the fault point "lazy-corrupt": the destination must notice). */
static int send_corrupt(struct lz_server *s, uint64_t off, uint64_t len)
{
	_cleanup_free_ unsigned char *buf = xmalloc(len);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = pread(s->fd, buf, len, off);
	if (n != (ssize_t)len)
		return pr_errno(n < 0 ? -errno : -EIO, "lazy pages source: reading pages-%u.img at %lu", s->id,
				(unsigned long)off);
	buf[len / 2] ^= 0x5a;
	return ps_send(s->sk, &(struct ps_hdr){ .cmd = PS_DATA, .id = s->id, .off = off, .len = len }, buf, len, 0);
}

/* DATA: the header, then the bytes straight from the file. 0 or -errno (not logged). */
static int send_file(struct lz_server *s, uint64_t off, uint64_t len)
{
	struct ps_hdr d = { .cmd = PS_DATA, .id = s->id, .off = off, .len = len };
	off_t pos = off;
	int err = ps_send(s->sk, &d, NULL, 0, 1);

	while (!err && len) {
		ssize_t n = sendfile(s->sk, s->fd, &pos, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			err = n < 0 ? -errno : -EIO;	/* 0: the file is shorter than it was */
		else
			len -= n;
	}
	return err;
}

static int do_get(struct lz_server *s, const struct ps_hdr *h)
{
	int err;

	if (!s->opened || h->id != s->id || !h->len || h->len > PS_DATA_MAX || h->off > s->size ||
	    h->len > s->size - h->off) {
		pr_warn("lazy pages source: %s asked for %lu bytes at %lu of pages-%u.img (%lu bytes, %s): refused",
			s->peer, (unsigned long)h->len, (unsigned long)h->off, h->id, (unsigned long)s->size,
			s->opened ? "open" : "not open");
		return answer(s, h, 0, -EINVAL);
	}
	err = cr_fail_point("lazy-serve");
	if (err)
		return err;
	err = cr_fail_point("lazy-corrupt") ? send_corrupt(s, h->off, h->len) : send_file(s, h->off, h->len);
	if (err)
		return pr_errno(err, "lazy pages source: %s: sending %lu bytes at %lu of pages-%u.img", s->peer,
				(unsigned long)h->len, (unsigned long)h->off, s->id);
	s->gets++;
	s->served += h->len;
	return 0;
}

static int do_open(struct lz_server *s, const struct ps_hdr *h)
{
	struct stat st;

	if (s->opened)
		return pr_errno(-EPROTO, "lazy pages source: %s opened pages-%u.img twice", s->peer, h->id);
	if (h->id != s->id) {
		pr_err("lazy pages source: %s asked for pages-%u.img; this source has pages-%u.img", s->peer, h->id,
		       s->id);
		return answer(s, h, 0, -ENOENT) ?: -ENOENT;
	}
	if (fstat(s->fd, &st))
		return pr_errno(-errno, "lazy pages source: fstat of pages-%u.img", s->id);
	s->size = st.st_size;
	s->opened = true;
	pr_info("lazy pages source: %s opened pages-%u.img (%lu bytes)", s->peer, s->id, (unsigned long)s->size);
	return answer(s, h, s->size, 0);
}

/* From here the destination may run a tree on these bytes. */
static int do_start(struct lz_server *s, const struct ps_hdr *h, lazy_serve_start_fn start, void *arg)
{
	int err = 0;

	if (!s->opened || s->started)
		return pr_errno(-EPROTO, "lazy pages source: %s sent LZ_START %s", s->peer,
				s->started ? "twice" : "before it opened the image");
	err = cr_fail_point("lazy-start");
	if (!err && start)
		err = start(arg);
	s->started = !err;
	if (!err)
		pr_info("lazy pages source: %s starts its restore", s->peer);
	return answer(s, h, 0, err) ?: err;
}

/* One request. 1 after LZ_DONE, 0 to go on, -errno (logged). */
static int serve_one(struct lz_server *s, lazy_serve_start_fn start, void *arg)
{
	unsigned char buf[PS_HDR_SIZE];
	struct ps_hdr h;
	int err = ps_recv_all(s->sk, buf, sizeof(buf));

	if (err == -EPIPE || err == -ECONNRESET || err == -ETIMEDOUT)
		return pr_errno(-EPIPE, "lazy pages source: %s went away before it had every page (%s; %lu bytes "
				"served in %lu requests)", s->peer, err == -EPIPE ? "the connection closed" : strerror(-err),
				(unsigned long)s->served, (unsigned long)s->gets);
	if (err)
		return pr_errno(err, "lazy pages source: %s: reading a request", s->peer);
	err = ps_hdr_unpack(buf, s->peer, &h);
	if (err)
		return err;
	switch (h.cmd) {
	case PS_LZ_OPEN:
		return do_open(s, &h);
	case PS_LZ_START:
		return do_start(s, &h, start, arg);
	case PS_LZ_GET:
		return do_get(s, &h);
	case PS_LZ_DONE:
		if (!s->started)
			return pr_errno(-EPROTO, "lazy pages source: %s said done before it started", s->peer);
		return answer(s, &h, 0, 0) ?: 1;
	default:
		return pr_errno(-EPROTO, "lazy pages source: %s sent %s, not a lazy-pages request", s->peer,
				ps_cmd_name(h.cmd));
	}
}

int lazy_serve(const struct cr_options *o, int lsk, int fd, unsigned id, lazy_serve_start_fn start, void *arg,
	       bool *ret_started)
{
	struct lz_server s = { .sk = -1, .fd = fd, .id = id };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int err;

	*ret_started = false;
	err = cr_status_ready(o);
	if (!err)
		err = cr_fail_point("lazy-accept");
	if (err)
		return err;
	pr_info("lazy pages source: waiting for cr lazy-pages --page-server to connect");
	s.sk = accept4(lsk, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (s.sk < 0)
		return pr_errno(-errno, "lazy pages source: accept");
	ps_peer_name(&ss, len, "the destination", "the destination", s.peer, sizeof(s.peer));
	ps_keepalive(s.sk);
	/* sendfile() into a socket the peer closed raises SIGPIPE: an error return instead. */
	sigaction(SIGPIPE, &ign, &old);
	do
		err = serve_one(&s, start, arg);
	while (!err);
	sigaction(SIGPIPE, &old, NULL);
	close(s.sk);
	*ret_started = s.started;
	if (err == 1) {
		pr_info("lazy pages source: %s has every page: %lu bytes served in %lu requests", s.peer,
			(unsigned long)s.served, (unsigned long)s.gets);
		err = 0;
	}
	return err;
}

int cr_lazy_page_server(const struct cr_options *o, int dfd)
{
	_cleanup_img_ struct img *img = NULL;
	_cleanup_close_ int lsk = -EBADF;
	bool started;
	int err;

	err = img_open(dfd, IMG_PAGES, 1, O_RDONLY, &img);
	lsk = err ? -EBADF : lazy_serve_listen(o);
	if (!err && lsk < 0)
		err = lsk;
	if (!err)
		err = lazy_serve(o, lsk, img->fd, 1, NULL, NULL, &started);
	close(dfd);
	return err;
}
