/*
 * The lazy-pages daemon's remote page source (lazy-priv.h): a TCP
 * connection to `cr dump --lazy-pages` or `cr page-server --lazy-pages`
 * on the source host (lazy-serve.c; the LZ_* messages of page-wire.h).
 *
 * Before the daemon listens, the local pages-N.img the restore reads is
 * made: every byte of the source's image but the runs the daemon fills
 * lazily, which stay holes (the restore reads none of them, and checks
 * none: the daemon checks them as they come). Then each get() asks the
 * source for the bytes, into one of a few buffers: a run being copied
 * and the runs its check reads may be wanted at once.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "lazy.h"
#include "lazy-priv.h"
#include "log.h"
#include "mem.h"
#include "page-wire.h"

#define NR_SLOTS	4
#define SLOT_ALIGN	(2u << 20)

struct slot {
	unsigned char *buf;
	uint64_t cap;			/* bytes mapped at @buf */
	uint64_t off, len;		/* what it holds (len 0: nothing) */
	unsigned refs, age;
};

struct remote_src {
	int sk;
	unsigned id;
	uint64_t size;			/* of the source's image */
	uint64_t fetched, gets;
	unsigned clock;
	struct slot slot[NR_SLOTS];
	char peer[96];
};

/* A lost connection says that the page source is gone. */
static int peer_err(struct remote_src *r, int err, const char *what, uint64_t off, uint64_t len)
{
	if (err == -EPIPE || err == -ECONNRESET || err == -ETIMEDOUT)
		return pr_errno(err, "lazy-pages: %s: the page source is gone (%s) while %s %lu bytes at %lu of "
				"pages-%u.img (%lu bytes came before)", r->peer,
				err == -EPIPE ? "the connection closed" : strerror(-err), what, (unsigned long)len,
				(unsigned long)off, r->id, (unsigned long)r->fetched);
	return pr_errno(err, "lazy-pages: %s: %s %lu bytes at %lu of pages-%u.img", r->peer, what,
			(unsigned long)len, (unsigned long)off, r->id);
}

/* A request, then its answer's header (an ACK with an error is logged). 0 or -errno. */
static int request(struct remote_src *r, const struct ps_hdr *req, struct ps_hdr *ret, const char *what)
{
	unsigned char buf[PS_HDR_SIZE];
	int err = ps_send(r->sk, req, NULL, 0, 0);

	if (!err)
		err = ps_recv_all(r->sk, buf, sizeof(buf));
	if (err)
		return peer_err(r, err, what, req->off, req->len);
	err = ps_hdr_unpack(buf, r->peer, ret);
	if (err)
		return err;
	if (ret->cmd == PS_ACK && ret->count)
		return pr_errno(-(int)ret->count, "lazy-pages: %s refused %s of pages-%u.img (see its log)", r->peer,
				ps_cmd_name(req->cmd), req->id);
	return 0;
}

/* @len bytes at @off into @buf, in messages of at most PS_DATA_MAX. 0 or -errno (logged). */
static int fetch(struct remote_src *r, uint64_t off, uint64_t len, void *buf)
{
	for (uint64_t done = 0; done < len;) {
		struct ps_hdr req = { .cmd = PS_LZ_GET, .id = r->id, .off = off + done,
				      .len = min(len - done, (uint64_t)PS_DATA_MAX) }, ans;
		int err = cr_fail_point("lazy-fetch");

		if (!err)
			err = request(r, &req, &ans, "asking for");
		if (err)
			return err;
		if (ans.cmd != PS_DATA || ans.id != r->id || ans.off != req.off || ans.len != req.len)
			return pr_errno(-EPROTO, "lazy-pages: %s answered a request for %lu bytes at %lu with %s of %lu "
					"at %lu", r->peer, (unsigned long)req.len, (unsigned long)req.off,
					ps_cmd_name(ans.cmd), (unsigned long)ans.len, (unsigned long)ans.off);
		err = ps_recv_all(r->sk, (char *)buf + done, req.len);
		if (err)
			return peer_err(r, err, "receiving", req.off, req.len);
		done += req.len;
		r->fetched += req.len;
		r->gets++;
	}
	return 0;
}

static struct slot *slot_holding(struct remote_src *r, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < NR_SLOTS; i++) {
		struct slot *sl = &r->slot[i];

		if (sl->len && off >= sl->off && off + len <= sl->off + sl->len)
			return sl;
	}
	return NULL;
}

/* The least recently used slot no get() holds, with room for @len bytes. NULL: -errno in *@ret_err (logged). */
static struct slot *slot_free(struct remote_src *r, uint64_t len, int *ret_err)
{
	struct slot *best = NULL;

	for (unsigned i = 0; i < NR_SLOTS; i++)
		if (!r->slot[i].refs && (!best || r->slot[i].age < best->age))
			best = &r->slot[i];
	*ret_err = -ENOBUFS;
	if (!best) {
		pr_err("lazy-pages: more than %u ranges of the page source wanted at once", NR_SLOTS);
		return NULL;
	}
	best->len = 0;
	if (best->cap < len) {
		uint64_t cap = ALIGN_UP(len, SLOT_ALIGN);
		void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED) {
			*ret_err = pr_errno(-errno, "lazy-pages: a buffer of %lu bytes", (unsigned long)cap);
			return NULL;
		}
		if (best->buf)
			munmap(best->buf, best->cap);
		best->buf = m;
		best->cap = cap;
	}
	return best;
}

static int remote_get(struct lazy_src *s, uint64_t off, uint64_t len, const void **ret)
{
	struct remote_src *r = s->priv;
	struct slot *sl = slot_holding(r, off, len);
	int err = 0;

	if (off + len < off || off + len > r->size)
		return pr_errno(-EBADMSG, "lazy-pages: pages-%u.img bytes %lu-%lu are past its end (%lu)", r->id,
				(unsigned long)off, (unsigned long)(off + len), (unsigned long)r->size);
	if (!sl) {
		sl = slot_free(r, len, &err);
		if (!sl)
			return err;
		err = fetch(r, off, len, sl->buf);
		if (err)
			return err;
		sl->off = off;
		sl->len = len;
	}
	sl->refs++;
	sl->age = ++r->clock;
	*ret = sl->buf + (off - sl->off);
	return 0;
}

static void remote_put(struct lazy_src *s, uint64_t off, uint64_t len)
{
	struct remote_src *r = s->priv;

	for (unsigned i = 0; i < NR_SLOTS; i++) {
		struct slot *sl = &r->slot[i];

		if (sl->refs && sl->len && off >= sl->off && off + len <= sl->off + sl->len) {
			sl->refs--;
			return;
		}
	}
}

static void remote_close(struct lazy_src *s)
{
	struct remote_src *r = s->priv;

	if (!r)
		return;
	for (unsigned i = 0; i < NR_SLOTS; i++)
		if (r->slot[i].buf)
			munmap(r->slot[i].buf, r->slot[i].cap);
	if (r->sk >= 0)
		close(r->sk);
	free(r);
	s->priv = NULL;
}

static int remote_finish(struct lazy_src *s)
{
	struct remote_src *r = s->priv;
	struct ps_hdr req = { .cmd = PS_LZ_DONE, .id = r->id }, ans;
	int err = request(r, &req, &ans, "saying done after");

	if (!err && ans.cmd != PS_ACK)
		err = pr_errno(-EPROTO, "lazy-pages: %s answered LZ_DONE with %s", r->peer, ps_cmd_name(ans.cmd));
	if (!err)
		pr_info("lazy-pages: %s: every page is in place: %lu bytes in %lu requests", r->peer,
			(unsigned long)r->fetched, (unsigned long)r->gets);
	return err;
}

/* The source kills its tree and says so: a restore may start. */
static int remote_start(struct lazy_src *s)
{
	struct remote_src *r = s->priv;
	struct ps_hdr req = { .cmd = PS_LZ_START, .id = r->id }, ans;
	int err = request(r, &req, &ans, "starting the restore after");

	if (!err && ans.cmd != PS_ACK)
		err = pr_errno(-EPROTO, "lazy-pages: %s answered LZ_START with %s", r->peer, ps_cmd_name(ans.cmd));
	return err;
}

static const struct lazy_src_ops remote_ops = { remote_get, remote_put, remote_close, remote_start,
						remote_finish };

/* ---- the local image ------------------------------------------------------------ */

struct range {
	uint64_t off, len;
};

struct lazy_ranges {
	struct range *r;
	unsigned nr, cap;
	bool all;			/* a run cr fills itself refers to lazy bytes: fetch everything */
};

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The task's own runs the daemon fills lazily (lazy.c's lazy_mark_runs() decides the same way). */
static int collect_lazy(void *arg, int pid, const MmEntry *mm, const struct mem_plan *plan)
{
	struct lazy_ranges *l = arg;

	(void)pid;
	for (unsigned i = 0; i < plan->nr_runs; i++) {
		const struct mem_run *run = &plan->runs[i];
		bool lazy = lazy_vma(mem_find_vma(mm, run->vaddr, run->vaddr + run->len));

		if (run->shared) {
			/* The restore checks every lazy run then (restore.c): they must all be here. */
			l->all |= !lazy;
			continue;
		}
		if (!lazy)
			continue;
		if (l->nr == l->cap) {
			struct range *n = xrealloc(l->r, sizeof(*n) * (l->cap = l->cap * 2 + 256));

			if (!n)
				return -ENOMEM;
			l->r = n;
		}
		l->r[l->nr++] = (struct range){ run->off, run->len };
	}
	return 0;
}

/* [@off, @off + @len) of the source into @fd at the same offset. 0 or -errno (logged). */
static int copy_out(struct lazy_src *s, int fd, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = min(len, (uint64_t)PS_DATA_MAX);
		const void *buf;
		int err = remote_get(s, off, n, &buf);

		if (err)
			return err;
		err = pwrite(fd, buf, n, off) == (ssize_t)n ? 0 : -(errno ?: EIO);
		remote_put(s, off, n);
		if (err)
			return pr_errno(err, "lazy-pages: writing the local pages image at %lu", (unsigned long)off);
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * The local pages-N.img: an unnamed file of the source's size, holes
 * where the lazy runs are, linked in under its name once whole.
 */
static int make_local_image(struct lazy_src *s, int dfd, const struct lazy_ranges *l)
{
	struct remote_src *r = s->priv;
	_cleanup_close_ int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char name[32], path[64];
	uint64_t at = 0, lazy = 0;
	int err = 0;

	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, r->id);
	if (fd < 0)
		return pr_errno(-errno, "lazy-pages: an unnamed file for the local %s", name);
	if (ftruncate(fd, r->size))
		return pr_errno(-errno, "lazy-pages: sizing the local %s to %lu bytes", name, (unsigned long)r->size);
	for (unsigned i = 0; i <= l->nr && !err; i++) {
		uint64_t end = i < l->nr && !l->all ? l->r[i].off : r->size;

		if (end > at)
			err = copy_out(s, fd, at, end - at);
		if (i < l->nr && !l->all) {
			at = max(at, l->r[i].off + l->r[i].len);
			lazy += l->r[i].len;
		} else {
			at = max(at, end);
		}
	}
	if (!err && unlinkat(dfd, name, 0) && errno != ENOENT)
		err = pr_errno(-errno, "lazy-pages: removing an old %s", name);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!err && linkat(AT_FDCWD, path, dfd, name, AT_SYMLINK_FOLLOW))
		err = pr_errno(-errno, "lazy-pages: linking the local %s in", name);
	if (!err)
		pr_info("lazy-pages: local %s: %lu bytes fetched, %lu to come lazily%s", name,
			(unsigned long)(r->size - lazy), (unsigned long)lazy,
			l->all ? " (none: a run filled at restore refers to lazy bytes)" : "");
	return err;
}

static int connect_source(const struct cr_options *o, struct remote_src *r)
{
	const char *gai;

	if (!o->ps.address || o->ps.port <= 0)
		return pr_errno(-EINVAL, "lazy-pages --page-server needs --address and --port of the page source");
	snprintf(r->peer, sizeof(r->peer), "page source %s:%d", o->ps.address, o->ps.port);
	r->sk = ps_socket(o->ps.address, o->ps.port, false, &gai);
	if (r->sk < 0 && gai)
		return pr_errno(r->sk, "lazy-pages: %s: %s", r->peer, gai);
	if (r->sk < 0)
		return pr_errno(r->sk, "lazy-pages: %s: cannot connect", r->peer);
	ps_keepalive(r->sk);
	return 0;
}

int lazy_src_open_remote(const struct cr_options *o, int dfd, unsigned pages_id, struct lazy_src *ret)
{
	struct remote_src *r = xzalloc(sizeof(*r));
	struct lazy_src s = { &remote_ops, r };
	struct lazy_ranges l = { 0 };
	struct ps_hdr req = { .cmd = PS_LZ_OPEN, .id = pages_id }, ans;
	int err;

	if (!r)
		return -ENOMEM;
	r->id = pages_id;
	err = connect_source(o, r);
	if (!err)
		err = request(r, &req, &ans, "opening");
	if (!err && ans.cmd != PS_ACK)
		err = pr_errno(-EPROTO, "lazy-pages: %s answered LZ_OPEN with %s", r->peer, ps_cmd_name(ans.cmd));
	if (!err && ans.len < IMG_PAGES_DATA_OFF)
		err = pr_errno(-EBADMSG, "lazy-pages: %s: its pages-%u.img has %lu bytes, not even a header", r->peer,
			       pages_id, (unsigned long)ans.len);
	if (!err) {
		r->size = ans.len;
		pr_info("lazy-pages: %s: pages-%u.img, %lu bytes", r->peer, pages_id, (unsigned long)r->size);
		err = lazy_for_each_task(dfd, collect_lazy, &l);
	}
	if (!err) {
		qsort(l.r, l.nr, sizeof(*l.r), range_cmp);
		err = make_local_image(&s, dfd, &l);
	}
	free(l.r);
	if (err) {
		remote_close(&s);
		return err;
	}
	*ret = s;
	return 0;
}
