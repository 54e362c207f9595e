/*
 * The lazy-pages server's checksum checks (lazy-daemon.c): every run
 * the dump stored in the page image, each task's own ones (a shared run
 * refers to bytes of earlier tasks' runs), by offset. A run is checked
 * whole, once, right before the first copy of any of its bytes, through
 * the mapping the copy reads (a thread checking ahead on the second core
 * was measured slower: two mappings of the same pages, and the tree and
 * cr want that core).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "image.h"
#include "lazy-priv.h"
#include "log.h"
#include "mem.h"

enum { RUN_UNCHECKED, RUN_OK, RUN_BAD };

struct img_run {
	uint64_t off, len;
	uint32_t crc;
	uint32_t state;			/* RUN_* */
};

struct lazy_check {
	struct img_run *runs;
	unsigned nr;
	unsigned pages_id;
};

static int run_cmp(const void *a, const void *b)
{
	const struct img_run *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int add_runs(struct lazy_check *c, const struct mem_plan *plan, unsigned *cap)
{
	for (unsigned i = 0; i < plan->nr_runs; i++) {
		if (plan->runs[i].shared)
			continue;
		if (c->nr == *cap) {
			struct img_run *n = xrealloc(c->runs, sizeof(*n) * (*cap = *cap * 2 + 256));

			if (!n)
				return -ENOMEM;
			c->runs = n;
		}
		c->runs[c->nr++] = (struct img_run){ plan->runs[i].off, plan->runs[i].len, plan->runs[i].crc,
						     RUN_UNCHECKED };
	}
	return 0;
}

int lazy_for_each_task(int dfd, lazy_task_fn fn, void *arg)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = dup(dfd), err = 0;
	bool any = false;

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return pr_errno(-errno, "lazy-pages: listing the images dir");
	}
	rewinddir(d);
	while (!err && (de = readdir(d))) {
		_cleanup_img_ struct img *img = NULL;
		struct mem_plan plan = { 0 };
		MmEntry *mm = NULL;
		int pid;

		if (sscanf(de->d_name, "pagemap-%d.img", &pid) != 1)
			continue;
		err = img_open(dfd, IMG_MM, pid, O_RDONLY, &img);
		if (!err)
			err = pb_read_one_required(img, (void **)&mm, PB_MM);
		if (!err)
			err = mem_read_runs(dfd, pid, mm, -1, NULL, &plan);
		if (!err)
			err = fn(arg, pid, mm, &plan);
		any |= !err;
		mem_plan_free(&plan);
		if (mm)
			pb_free(mm, PB_MM);
	}
	if (!err && !any)
		err = pr_errno(-ENOENT, "lazy-pages: no pagemap-*.img in the images dir");
	return err;
}

struct load_arg {
	struct lazy_check *c;
	unsigned cap;
};

static int load_task(void *arg, int pid, const MmEntry *mm, const struct mem_plan *plan)
{
	struct load_arg *a = arg;

	(void)pid;
	(void)mm;
	a->c->pages_id = plan->pages_id;
	return add_runs(a->c, plan, &a->cap);
}

/* Every task's own runs: the pagemap-*.img files of the images dir. */
static int load_runs(struct lazy_check *c, int dfd)
{
	struct load_arg a = { c, 0 };
	int err = lazy_for_each_task(dfd, load_task, &a);

	qsort(c->runs, c->nr, sizeof(*c->runs), run_cmp);
	return err;
}

/* Checks run @r with @src: RUN_OK or RUN_BAD, or -errno (reading it failed, logged). */
static int check_one(struct lazy_src *src, struct img_run *r)
{
	const void *buf;
	int err;

	if (r->state != RUN_UNCHECKED)
		return r->state;
	err = src->ops->get(src, r->off, r->len, &buf);
	if (err)
		return err;
	r->state = crc32c(0, buf, r->len) == r->crc ? RUN_OK : RUN_BAD;
	src->ops->put(src, r->off, r->len);
	return r->state;
}

void lazy_check_stop(struct lazy_check *c)
{
	if (!c)
		return;
	free(c->runs);
	free(c);
}

int lazy_check_start(int dfd, struct lazy_check **ret)
{
	struct lazy_check *c = xzalloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	err = load_runs(c, dfd);
	if (err) {
		lazy_check_stop(c);
		return err;
	}
	*ret = c;
	return 0;
}

unsigned lazy_check_pages_id(const struct lazy_check *c)
{
	return c->pages_id;
}

int lazy_check_range(struct lazy_check *c, struct lazy_src *src, uint64_t off, uint64_t len, int pid)
{
	unsigned lo = 0, hi = c->nr;
	uint64_t covered = off;

	/* The first run that ends after @off. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (c->runs[mid].off + c->runs[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = lo; i < c->nr && covered < off + len; i++) {
		struct img_run *r = &c->runs[i];
		int st;

		if (r->off > covered)
			break;
		st = check_one(src, r);
		if (st < 0)
			return st;
		if (st == RUN_BAD)
			return pr_errno(-EBADMSG, "lazy-pages: pages-%u.img: checksum mismatch in the %lu pages at "
					"file offset %lu (for pid %d): killing the restored tree", c->pages_id,
					(unsigned long)(r->len / PAGE_SIZE), (unsigned long)r->off, pid);
		covered = r->off + r->len;
	}
	if (covered < off + len)
		return pr_errno(-EBADMSG, "lazy-pages: pid %d: pages-%u.img bytes %lu-%lu are no task's own", pid,
				c->pages_id, (unsigned long)off, (unsigned long)(off + len));
	return 0;
}
