/*
 * Restore from a chain of images (pre-copy): a dump's pagemap entries
 * in_parent name pages the parent image (the symlink "parent" in -D)
 * holds for the same pid and addresses, stored there or in its own
 * parent. mem_parents_open() opens the chain and checks each link is the
 * very image the dump was made against (its dump id); read_runs() in
 * mem.c has each in_parent entry resolved here into runs read from the
 * parents' page images (mem_run.src), and the parent runs they read
 * are checksummed whole (mem_plan.checks) before any task goes live.
 * And the dump side of --auto-dedup: parent runs a newer image replaced.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "image.h"
#include "inventory.pb-c.h"
#include "log.h"
#include "pagez.h"
#include "mem.h"
#include "pagemap.pb-c.h"
#include "restore.h"

#define PARENT_LINK	"parent"

/* One parent run of the task being resolved. */
struct prun {
	uint64_t vaddr, len, off;	/* vaddr first: addr_cmp() */
	uint32_t crc;
	bool has_mac;
	uint8_t mac[IMG_MAC_SIZE];
	bool in_parent, used;
};

struct plevel {
	int dfd;
	struct img *pages;
	uint64_t data_end;
	uint8_t self_id[IMG_DUMP_ID_SIZE];	/* its images' dump id */
	uint8_t dump_id[IMG_DUMP_ID_SIZE];	/* its parent's, if any */
	bool has_parent;
	/* The runs of @pid, loaded on demand, in address order. */
	pid_t pid;
	struct prun *runs;
	size_t nr;
};

struct mem_parents {
	unsigned nr;
	struct plevel lv[MEM_MAX_PARENTS];
};

void mem_parents_free(struct mem_parents *ps)
{
	if (!ps)
		return;
	for (unsigned i = 0; i < ps->nr; i++) {
		if (ps->lv[i].dfd >= 0)
			close(ps->lv[i].dfd);
		img_close(ps->lv[i].pages);
		free(ps->lv[i].runs);
	}
	free(ps);
}

/* Level @l (0: the parent of -D) at @dfd, which must be the image @want_id; takes @dfd. */
static int level_open(struct mem_parents *ps, int dfd, const uint8_t *want_id)
{
	struct plevel *l = &ps->lv[ps->nr];
	_cleanup_img_ struct img *img = NULL;
	InventoryEntry *inv = NULL;
	char name[32];
	int err;

	*l = (struct plevel){ .dfd = dfd, .pid = -1 };
	memcpy(l->self_id, want_id, IMG_DUMP_ID_SIZE);
	ps->nr++;
	err = img_open_other(dfd, IMG_INVENTORY, 0, want_id, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&inv, PB_INVENTORY);
	if (err)
		return pr_errno(err == -EBADMSG ? -ESTALE : err, "parent image %u: not the pre-dump this dump was "
				"made against (changed or replaced since?)", ps->nr);
	if (!inv->has_pre_dump || !inv->pre_dump)
		err = pr_errno(-EBADMSG, "parent image %u: not a pre-dump", ps->nr);
	l->has_parent = inv->has_parent_dump_id;
	if (!err && l->has_parent && inv->parent_dump_id.len != IMG_DUMP_ID_SIZE)
		err = pr_errno(-EBADMSG, "parent image %u: its parent's dump id is %zu bytes", ps->nr,
			       inv->parent_dump_id.len);
	if (!err && l->has_parent)
		memcpy(l->dump_id, inv->parent_dump_id.data, IMG_DUMP_ID_SIZE);
	if (!err)
		err = pages_open(dfd, inv->pages_id, true, want_id, &l->pages);
	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, inv->pages_id);
	pb_free(inv, PB_INVENTORY);
	if (!err)
		err = img_raw_data_end(l->pages->fd, name, &l->data_end);
	return err;
}

int mem_parents_open(int dfd, const InventoryEntry *inv, struct mem_parents **ret)
{
	struct mem_parents *ps;
	const uint8_t *want;
	int cur = dfd, err = 0;

	*ret = NULL;
	if (!inv->has_parent_dump_id)
		return 0;
	if (inv->parent_dump_id.len != IMG_DUMP_ID_SIZE)
		return pr_errno(-EBADMSG, "inventory.img: the parent's dump id is %zu bytes", inv->parent_dump_id.len);
	ps = xzalloc(sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	want = inv->parent_dump_id.data;
	while (!err) {
		int pdfd;

		if (ps->nr == MEM_MAX_PARENTS) {
			err = pr_errno(-E2BIG, "more than %d parent images", MEM_MAX_PARENTS);
			break;
		}
		pdfd = openat(cur, PARENT_LINK, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pdfd < 0) {
			err = pr_errno(-errno, "parent image %u (the link %s in the %s image): the pages this dump "
				       "did not store are there", ps->nr + 1, PARENT_LINK, ps->nr ? "parent" : "dump's");
			break;
		}
		err = level_open(ps, pdfd, want);
		if (err || !ps->lv[ps->nr - 1].has_parent)
			break;
		cur = pdfd;
		want = ps->lv[ps->nr - 1].dump_id;
	}
	if (err) {
		mem_parents_free(ps);
		return err;
	}
	pr_info("the dump's pages come from it and %u parent images", ps->nr);
	*ret = ps;
	return 0;
}

/* For qsort() of struct prun and struct vrange, which both start with their address. */
static int addr_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* The runs level @l has for @pid, in address order; refuses what a pre-dump never writes. */
static int level_load(struct plevel *l, unsigned depth, pid_t pid)
{
	_cleanup_img_ struct img *img = NULL;
	PagemapHead *head = NULL;
	size_t cap = 0;
	uint64_t off;
	int ret;

	if (l->pid == pid)
		return 0;
	free(l->runs);
	l->runs = NULL;
	l->nr = 0;
	l->pid = -1;
	ret = img_open_other(l->dfd, IMG_PAGEMAP, pid, l->self_id, &img);
	if (ret)
		return pr_errno(ret, "parent image %u: pid %d has no pagemap there", depth, pid);
	ret = pb_read_one_required(img, (void **)&head, PB_PAGEMAP_HEAD);
	if (ret)
		return ret;
	off = head->page_off;
	pb_free(head, PB_PAGEMAP_HEAD);
	for (;;) {
		PagemapEntry *pe;
		struct prun *r;

		ret = pb_read_one(img, (void **)&pe, PB_PAGEMAP);
		if (ret <= 0)
			break;
		ret = 0;
		if (pe->has_shared_off || !pe->nr_pages)
			ret = pr_errno(-EBADMSG, "parent image %u: %s has a run at %lx a pre-dump does not write",
				       depth, img->name, (unsigned long)pe->vaddr);
		if (!ret && l->nr == cap) {
			struct prun *n = xrealloc(l->runs, sizeof(*n) * (cap = cap ? cap * 2 : 256));

			if (!n)
				ret = -ENOMEM;
			else
				l->runs = n;
		}
		if (!ret) {
			r = &l->runs[l->nr++];
			*r = (struct prun){ .vaddr = pe->vaddr, .len = (uint64_t)pe->nr_pages * PAGE_SIZE,
					    .crc = pe->crc, .in_parent = pe->has_in_parent && pe->in_parent };
			if (!r->in_parent)
				ret = mem_run_mac(pe, img->name, &r->has_mac, r->mac);
			if (!ret && !r->in_parent) {
				r->off = off;
				off += r->len;
				if (off > l->data_end)
					ret = pr_errno(-EBADMSG, "parent image %u: pid %d's pages end past its page "
						       "image (%lu bytes)", depth, pid, (unsigned long)l->data_end);
			}
		}
		pb_free(pe, PB_PAGEMAP);
		if (ret)
			return ret;
	}
	if (ret)
		return ret;
	qsort(l->runs, l->nr, sizeof(*l->runs), addr_cmp);
	l->pid = pid;
	return 0;
}

static int plan_add_run(struct mem_plan *plan, const struct mem_run *run)
{
	if (plan->nr_runs == plan->cap_runs) {
		unsigned cap = plan->cap_runs ? plan->cap_runs * 2 : 256;
		struct mem_run *n = xrealloc(plan->runs, sizeof(*n) * cap);

		if (!n)
			return -ENOMEM;
		plan->runs = n;
		plan->cap_runs = cap;
	}
	plan->runs[plan->nr_runs++] = *run;
	return 0;
}

/* [@vaddr, +@len) of @pid from level @d (0-based) on: into @plan. */
static int resolve(struct mem_parents *ps, unsigned d, pid_t pid, uint64_t vaddr, uint64_t len,
		   struct mem_plan *plan)
{
	uint64_t cur = vaddr, end = vaddr + len;
	struct plevel *l;
	size_t lo, hi;
	int err;

	if (d >= ps->nr)
		return pr_errno(-EBADMSG, "pid %d: pages at %lx are in the parent of the last parent image %u", pid,
				(unsigned long)vaddr, ps->nr);
	l = &ps->lv[d];
	err = level_load(l, d + 1, pid);
	if (err)
		return err;
	for (lo = 0, hi = l->nr; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->runs[mid].vaddr + l->runs[mid].len <= cur)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; cur < end; lo++) {
		struct prun *r = lo < l->nr ? &l->runs[lo] : NULL;
		uint64_t piece;

		if (!r || r->vaddr > cur)
			return pr_errno(-EBADMSG, "pid %d: parent image %u does not hold the pages at %lx its child "
					"says it has", pid, d + 1, (unsigned long)cur);
		piece = min(end, r->vaddr + r->len) - cur;
		if (r->in_parent) {
			err = resolve(ps, d + 1, pid, cur, piece, plan);
		} else {
			struct mem_run run = { .vaddr = cur, .len = piece, .off = r->off + (cur - r->vaddr),
					       .shared = true, .src = d + 1 };

			r->used = true;
			err = plan_add_run(plan, &run);
		}
		if (err)
			return err;
		cur += piece;
	}
	return 0;
}

int mem_parent_resolve(struct mem_parents *ps, pid_t pid, uint64_t vaddr, uint64_t len, struct mem_plan *plan)
{
	if (!ps)
		return pr_errno(-EBADMSG, "pid %d: pagemap says the pages at %lx are in the parent image, the "
				"inventory names none", pid, (unsigned long)vaddr);
	plan->parents = ps;
	return resolve(ps, 0, pid, vaddr, len, plan);
}

int mem_parent_checks(struct mem_parents *ps, struct mem_plan *plan)
{
	for (unsigned d = 0; ps && d < ps->nr; d++) {
		struct plevel *l = &ps->lv[d];

		for (size_t i = 0; i < l->nr; i++) {
			struct mem_check *n;

			if (!l->runs[i].used)
				continue;
			l->runs[i].used = false;
			n = xrealloc(plan->checks, sizeof(*n) * (plan->nr_checks + 1));
			if (!n)
				return -ENOMEM;
			plan->checks = n;
			n[plan->nr_checks] = (struct mem_check){ .src = d + 1, .off = l->runs[i].off,
								 .len = l->runs[i].len, .crc = l->runs[i].crc,
								 .has_mac = l->runs[i].has_mac };
			memcpy(n[plan->nr_checks++].mac, l->runs[i].mac, IMG_MAC_SIZE);
		}
	}
	return 0;
}

int mem_parents_fd(const struct mem_parents *ps, unsigned src)
{
	return ps && src >= 1 && src <= ps->nr ? ps->lv[src - 1].pages->fd : -EBADF;
}

const struct img *mem_parents_img(const struct mem_parents *ps, unsigned src)
{
	return ps && src >= 1 && src <= ps->nr ? ps->lv[src - 1].pages : NULL;
}

int mem_parents_fds_high(struct mem_parents *ps, int from)
{
	for (unsigned i = 0; ps && i < ps->nr; i++) {
		int err = move_fd_high(&ps->lv[i].pages->fd, from);

		if (err)
			return err;
	}
	return 0;
}

const char *mem_parents_name(const struct mem_parents *ps, unsigned src)
{
	return ps && src >= 1 && src <= ps->nr ? ps->lv[src - 1].pages->name : NULL;
}

unsigned mem_parents_nr(const struct mem_parents *ps)
{
	return ps ? ps->nr : 0;
}

/* ---- dump --auto-dedup -------------------------------------------------------- */

struct vrange {
	uint64_t start, end;	/* start first: addr_cmp() */
};

/* The in_parent runs of @pid in the image just written to @dfd, in address order. */
static int child_in_parent(int dfd, pid_t pid, struct vrange **ret, size_t *ret_nr)
{
	_cleanup_img_ struct img *img = NULL;
	struct vrange *v = NULL;
	size_t nr = 0, cap = 0;
	void *head = NULL;
	int ret_err = img_open(dfd, IMG_PAGEMAP, pid, O_RDONLY, &img);

	if (!ret_err)
		ret_err = pb_read_one_required(img, &head, PB_PAGEMAP_HEAD);
	if (ret_err)
		return ret_err;
	pb_free(head, PB_PAGEMAP_HEAD);
	for (;;) {
		PagemapEntry *pe;
		int r = pb_read_one(img, (void **)&pe, PB_PAGEMAP);

		if (r <= 0) {
			ret_err = r;
			break;
		}
		if (pe->has_in_parent && pe->in_parent) {
			if (nr == cap) {
				struct vrange *n = xrealloc(v, sizeof(*n) * (cap = cap ? cap * 2 : 256));

				if (!n) {
					pb_free(pe, PB_PAGEMAP);
					ret_err = -ENOMEM;
					break;
				}
				v = n;
			}
			v[nr++] = (struct vrange){ pe->vaddr, pe->vaddr + (uint64_t)pe->nr_pages * PAGE_SIZE };
		}
		pb_free(pe, PB_PAGEMAP);
	}
	if (ret_err) {
		free(v);
		return ret_err;
	}
	/* Written in address order within each kind of entry: sorted once for the lookups. */
	qsort(v, nr, sizeof(*v), addr_cmp);
	*ret = v;
	*ret_nr = nr;
	return 0;
}

static bool overlaps(const struct vrange *v, size_t nr, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && v[lo].start < end;
}

/* Whether the parent's pages-@pages_id.img is compressed (an image that does not open: not). */
static bool parent_compressed(int parent_dfd, unsigned pages_id, const uint8_t *parent_id)
{
	_cleanup_img_ struct img *img = NULL;

	return !img_open_pages(parent_dfd, pages_id, true, parent_id, &img) && img->type == IMG_PAGESZ;
}

int mem_parent_dedup(int dfd, int parent_dfd, const uint8_t *parent_id, unsigned pages_id, pid_t pid,
		     uint64_t *ret_bytes)
{
	struct plevel l = { .dfd = parent_dfd, .pid = -1, .data_end = UINT64_MAX };
	_cleanup_free_ struct vrange *v = NULL;
	_cleanup_close_ int fd = -EBADF;
	char name[32];
	size_t nr = 0;
	int err;

	memcpy(l.self_id, parent_id, IMG_DUMP_ID_SIZE);
	/* A task the parent round did not see: nothing of it there. */
	snprintf(name, sizeof(name), img_descs[IMG_PAGEMAP].fmt, pid);
	if (faccessat(parent_dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT)
		return 0;
	err = child_in_parent(dfd, pid, &v, &nr);
	if (!err)
		err = level_load(&l, 1, pid);
	snprintf(name, sizeof(name), img_descs[IMG_PAGES].fmt, pages_id);
	if (!err && parent_compressed(parent_dfd, pages_id, parent_id)) {
		/* Its offsets are of uncompressed bytes: there is nothing to punch at them. */
		pr_info("parent image: %s is compressed: --auto-dedup leaves it whole", name);
		free(l.runs);
		return 0;
	}
	if (!err) {
		fd = openat(parent_dfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			err = pr_errno(-errno, "parent image: %s for --auto-dedup", name);
	}
	for (size_t i = 0; i < l.nr && !err; i++) {
		const struct prun *r = &l.runs[i];

		if (r->in_parent || overlaps(v, nr, r->vaddr, r->vaddr + r->len))
			continue;
		/* Replaced whole by this image: no restore reads it again (nor checks its CRC). */
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, r->off, r->len))
			err = pr_errno(-errno, "parent image: punching %lu bytes at %lu of %s", (unsigned long)r->len,
				       (unsigned long)r->off, name);
		else
			*ret_bytes += r->len;
	}
	free(l.runs);
	return err;
}
