/*
 * cr page-server -D DIR --port P [--address A] [--daemon] [--status-fd FD]:
 * the receiving end of `cr dump --page-server` (page-wire.h has the
 * protocol). It serves one connection: every pages-N.img the dump sends
 * is received into an unnamed file in DIR (O_TMPFILE), each run's
 * checksum checked as it comes, and linked in under its name on COMMIT,
 * so a half-received image never looks complete, and a server that dies
 * or fails leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "image.h"
#include "log.h"
#include "page-check.h"
#include "page-wire.h"
#include "stats.h"

#define CHECK_BUF_SIZE		(1u << 20)	/* draining a connection */
#define RECV_PIPE_SIZE		(1 << 20)
#define PEER_NAME_MAX		80
#define LINGER_SECONDS		5		/* for the dump to read a failure's ACK */

struct ps_image {
	struct img *img;	/* writing, on an unnamed file */
	int link_fd;		/* the same file, to link it in */
	unsigned id;
	char name[32];		/* pages-N.img */
	uint64_t got;		/* image offset of the next byte to come */
	uint64_t checked;	/* bytes before this matched their SUMS */
	struct timespec t_first;	/* the first DATA came (bench-pageserver reads the rate) */
	struct page_check *check;	/* reads back and checks what SUMS covered */
};

struct ps_server {
	const struct cr_options *o;
	int dfd;
	int sk;
	char peer[PEER_NAME_MAX];
	int pipe_r, pipe_w;
	unsigned char *buf;	/* CHECK_BUF_SIZE */
	struct ps_image cur;	/* cur.img: an image is open */
	unsigned nr_images;
};

static void image_drop(struct ps_image *im)
{
	/* The checker reads the file: it goes first. */
	page_check_stop(TAKE_PTR(im->check));
	img_close(TAKE_PTR(im->img));
	if (im->link_fd >= 0)
		close(im->link_fd);
	im->link_fd = -1;
}

static int proto_error(struct ps_server *s, const struct ps_hdr *h, const char *why)
{
	return pr_errno(-EPROTO, "page server: %s sent %s of pages-%u.img: %s", s->peer, ps_cmd_name(h->cmd),
			h->id, why);
}

static int do_open(struct ps_server *s, const struct ps_hdr *h)
{
	struct ps_image *im = &s->cur;
	uint8_t dump_id[IMG_DUMP_ID_SIZE];
	int fd, err;

	if (im->img)
		return proto_error(s, h, "another image is still open");
	if (h->len != IMG_DUMP_ID_SIZE)
		return proto_error(s, h, "the dump id is missing");
	if (++s->nr_images > PS_MAX_IMAGES)
		return proto_error(s, h, "too many images on one connection");
	err = ps_recv_all(s->sk, dump_id, sizeof(dump_id));
	if (err)
		return pr_errno(err, "page server: %s: reading the dump id", s->peer);
	img_dump_id_set(dump_id);
	im->id = h->id;
	im->got = im->checked = IMG_PAGES_DATA_OFF;
	snprintf(im->name, sizeof(im->name), img_descs[IMG_PAGES].fmt, h->id);
	fd = openat(s->dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return pr_errno(-errno, "page server: %s: an unnamed file for %s in %s", s->peer, im->name,
				s->o->images_dir);
	im->link_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (im->link_fd < 0) {
		close(fd);
		return pr_errno(-errno, "page server: dup");
	}
	pr_info("page server: %s: receiving %s%s", s->peer, im->name, h->cmd == PS_OPENZ ? " (compressed)" : "");
	err = page_check_start(im->link_fd, &im->check);
	if (err) {
		close(fd);
		return err;
	}
	/* Compressed: the blocks are stored as they come, checked as plain pages are. */
	return img_create_fd(fd, h->cmd == PS_OPENZ ? IMG_PAGESZ : IMG_PAGES, h->id, im->name, &im->img);
}

static int do_data(struct ps_server *s, const struct ps_hdr *h)
{
	struct ps_image *im = &s->cur;
	uint64_t left = h->len;
	int err;

	if (!im->img || h->id != im->id)
		return proto_error(s, h, "the image is not open");
	if (h->off != im->got)
		return proto_error(s, h, "its bytes do not follow those received");
	err = cr_fail_point("page-recv");
	if (err)
		return err;
	if (im->got == IMG_PAGES_DATA_OFF)
		clock_gettime(CLOCK_MONOTONIC, &im->t_first);
	/* socket -> pipe -> file: the bytes never enter cr's memory. */
	while (left) {
		ssize_t n = splice(s->sk, NULL, s->pipe_w, NULL, min(left, (uint64_t)RECV_PIPE_SIZE),
				   SPLICE_F_MOVE | SPLICE_F_MORE);

		if (n < 0 && errno == EINTR)
			continue;
		err = n < 0 ? -errno : n == 0 ? -EPIPE : ps_splice_all(s->pipe_r, im->img->fd, n);
		if (err == -EPIPE && n == 0)
			return pr_errno(err, "page server: %s: the connection ended in the middle of %lu bytes of %s "
					"(pid %u)", s->peer, (unsigned long)h->len, im->name, h->pid);
		if (err)
			return pr_errno(err, "page server: %s: receiving %s", s->peer, im->name);
		left -= n;
		im->got += n;
	}
	return 0;
}

/* What the checker found: 0, or -errno after logging the run that failed. */
static int check_result(struct ps_server *s, bool wait)
{
	struct page_check_run bad;
	int err = s->cur.check ? page_check_result(s->cur.check, wait, &bad) : 0;

	if (err == -EBADMSG)
		return pr_errno(err, "page server: %s: %s: checksum mismatch in the %lu bytes at offset %lu (pid %u): "
				"damaged on the way", s->peer, s->cur.name, (unsigned long)bad.len,
				(unsigned long)bad.off, bad.pid);
	if (err)
		return pr_errno(err, "page server: reading %s back at %lu", s->cur.name, (unsigned long)bad.off);
	return 0;
}

static int do_sums(struct ps_server *s, const struct ps_hdr *h)
{
	struct ps_image *im = &s->cur;
	_cleanup_free_ unsigned char *sums = NULL;
	int err;

	if (!im->img || h->id != im->id)
		return proto_error(s, h, "the image is not open");
	if (!h->count || h->count > PS_MAX_SUMS || h->len != (uint64_t)h->count * PS_SUM_SIZE || h->off != im->checked)
		return proto_error(s, h, "the checksums do not follow those checked");
	sums = xmalloc(h->len);
	if (!sums)
		return -ENOMEM;
	err = ps_recv_all(s->sk, sums, h->len);
	if (err)
		return pr_errno(err, "page server: %s: reading checksums of %s", s->peer, im->name);
	for (unsigned i = 0; i < h->count; i++) {
		uint64_t len;
		uint32_t want;

		ps_sum_unpack(sums + (size_t)i * PS_SUM_SIZE, &len, &want);
		if (!len || len > im->got - im->checked)
			return proto_error(s, h, "a checksum covers bytes that did not come");
		err = page_check_queue(im->check, &(struct page_check_run){ im->checked, len, want, h->pid });
		if (err)
			return err;
		im->checked += len;
	}
	return 0;
}

/* Whole and checked: the end marker, then the name (replacing an older image of that name). */
static int image_link(struct ps_server *s)
{
	struct ps_image *im = &s->cur;
	char path[64];
	int err;

	err = img_close(TAKE_PTR(im->img));
	if (!err)
		err = cr_fail_point("page-commit");
	if (err)
		return err;
	if (unlinkat(s->dfd, im->name, 0) < 0 && errno != ENOENT)
		return pr_errno(-errno, "page server: removing the old %s in %s", im->name, s->o->images_dir);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", im->link_fd);
	if (linkat(AT_FDCWD, path, s->dfd, im->name, AT_SYMLINK_FOLLOW) < 0)
		return pr_errno(-errno, "page server: linking %s into %s", im->name, s->o->images_dir);
	pr_info("page server: %s/%s complete, %lu bytes of pages in %.6f s from the first", s->o->images_dir,
		im->name, (unsigned long)(im->got - IMG_PAGES_DATA_OFF),
		im->got > IMG_PAGES_DATA_OFF ? stats_us_since(&im->t_first) / 1e6 : 0.0);
	image_drop(im);
	return 0;
}

/* SYNC and COMMIT: every byte came and was checked; COMMIT links the image in. */
static int do_ack(struct ps_server *s, const struct ps_hdr *h)
{
	struct ps_hdr ack = { .cmd = PS_ACK, .id = h->id };
	struct ps_image *im = &s->cur;
	int err, e;

	if (!im->img || h->id != im->id)
		return proto_error(s, h, "the image is not open");
	if (h->off != im->got || im->checked != im->got)
		err = proto_error(s, h, "bytes are missing or were not checked");
	else
		err = check_result(s, true);
	if (!err && h->cmd == PS_COMMIT)
		err = image_link(s);
	/* The dump says why it failed with what this says. */
	ack.count = -err;
	e = ps_send(s->sk, &ack, NULL, 0, 0);
	if (e && !err)
		err = pr_errno(e, "page server: %s: answering %s of %s", s->peer, ps_cmd_name(h->cmd), im->name);
	return err;
}

/* One message. Returns 1 after CLOSE, 0 to go on, -errno (logged). */
static int serve_one(struct ps_server *s)
{
	unsigned char buf[PS_HDR_SIZE];
	struct ps_hdr h;
	int err = ps_recv_all(s->sk, buf, sizeof(buf));

	if (err == -EPIPE && s->cur.img)
		return pr_errno(err, "page server: %s: the connection ended before %s was complete (%lu bytes came)",
				s->peer, s->cur.name, (unsigned long)(s->cur.got - IMG_PAGES_DATA_OFF));
	if (err == -EPIPE)
		return pr_errno(err, "page server: %s: the connection ended before the dump said it was done",
				s->peer);
	if (err)
		return pr_errno(err, "page server: %s: reading a message", s->peer);
	err = ps_hdr_unpack(buf, s->peer, &h);
	if (!err)
		err = check_result(s, false);
	if (err)
		return err;
	switch (h.cmd) {
	case PS_OPEN:
	case PS_OPENZ:
		return do_open(s, &h);
	case PS_DATA:
		return do_data(s, &h);
	case PS_SUMS:
		return do_sums(s, &h);
	case PS_SYNC:
	case PS_COMMIT:
		return do_ack(s, &h);
	case PS_CLOSE:
		return s->cur.img ? proto_error(s, &h, "an image is still open") : 1;
	default:
		return proto_error(s, &h, "not a command a dump sends");
	}
}

/* The listening socket of --address/--port. Returns it or -errno (logged). */
static int listen_on(const struct cr_options *o)
{
	const char *gai, *addr = o->ps.address ? o->ps.address : "*";
	int sk = ps_socket(o->ps.address, o->ps.port, true, &gai);

	if (sk < 0 && gai)
		return pr_errno(sk, "page server: address %s: %s", addr, gai);
	if (sk < 0)
		return pr_errno(sk, "page server: listening on %s port %d", addr, o->ps.port);
	return sk;
}

/* Listens, reports ready, (--daemon) forks; the child or cr itself accepts. *ret_parent: return 0 now. */
static int wait_connection(struct ps_server *s, bool *ret_parent)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	_cleanup_close_ int lsk = listen_on(s->o);
	int err;

	*ret_parent = false;
	if (lsk < 0)
		return lsk;
	if (!getsockname(lsk, (struct sockaddr *)&ss, &len))
		pr_info("page server: listening on port %d for %s",
			ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port),
			s->o->images_dir);
	err = cr_status_ready(s->o);
	if (err)
		return err;
	if (s->o->daemon) {
		pid_t pid = fork();

		if (pid < 0)
			return pr_errno(-errno, "page server: fork of the daemon");
		if (pid > 0) {
			*ret_parent = true;
			return 0;
		}
		setsid();
	}
	len = sizeof(ss);
	s->sk = accept4(lsk, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
	if (s->sk < 0)
		return pr_errno(-errno, "page server: accept");
	ps_peer_name(&ss, len, "the dump from", "the dump", s->peer, sizeof(s->peer));
	return 0;
}

static int make_pipe(struct ps_server *s)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return pr_errno(-errno, "page server: pipe");
	s->pipe_r = p[0];
	s->pipe_w = p[1];
	if (fcntl(s->pipe_w, F_SETPIPE_SZ, RECV_PIPE_SIZE) < 0)
		pr_debug("page server: F_SETPIPE_SZ: %s", strerror(errno));
	return 0;
}

/*
 * A close with bytes unread makes the kernel reset the connection, and a
 * reset drops what the dump had not read yet: the ACK that says why.
 * So: our FIN first, then whatever comes until the dump closes (a dump
 * that hangs is not waited for long).
 */
static void linger_close(struct ps_server *s)
{
	struct timeval tv = { .tv_sec = LINGER_SECONDS };

	shutdown(s->sk, SHUT_WR);
	setsockopt(s->sk, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (s->buf && recv(s->sk, s->buf, CHECK_BUF_SIZE, 0) > 0)
		;
	close(s->sk);
}

int cr_page_server(const struct cr_options *o, int dfd)
{
	struct ps_server s = { .o = o, .dfd = dfd, .sk = -1, .pipe_r = -1, .pipe_w = -1, .cur.link_fd = -1 };
	bool parent = false;
	int err = 0;

	if (o->ps.has_fd) {
		s.sk = fcntl(o->ps.fd, F_DUPFD_CLOEXEC, 0);
		snprintf(s.peer, sizeof(s.peer), "the dump on fd %d", o->ps.fd);
		if (s.sk < 0)
			err = pr_errno(-errno, "page server: fd %d", o->ps.fd);
		if (!err)
			err = cr_status_ready(o);
	} else {
		err = wait_connection(&s, &parent);
	}
	if (!err && !parent)
		err = make_pipe(&s);
	if (!err && !parent && !(s.buf = xmalloc(CHECK_BUF_SIZE)))
		err = -ENOMEM;
	while (!err && !parent) {
		err = serve_one(&s);
		if (err == 1) {
			err = 0;
			pr_info("page server: %s is done: %u images received", s.peer, s.nr_images);
			break;
		}
	}
	if (err && s.cur.img)
		pr_err("page server: %s in %s was not completed and is gone", s.cur.name, o->images_dir);
	image_drop(&s.cur);
	if (s.sk >= 0)
		linger_close(&s);
	free(s.buf);
	if (s.pipe_r >= 0) {
		close(s.pipe_r);
		close(s.pipe_w);
	}
	close(dfd);
	return err;
}
