/*
 * Copy-on-write sharing rebuilt at restore (see mem-cow.h): the plan in
 * cr, the premaps in the new tasks before they fork, and what the
 * restorer is told (the VMAs it moves, the runs it does not read, the
 * ranges it keeps).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "mem-cow.h"
#include "mem.h"
#include "proc-parse.h"
#include "pstree.h"
#include "restore.h"
#include "restorer-abi.h"

#define COW_ALIGN	(2ULL << 20)	/* a huge page: slots keep the final offset modulo it */
#define NO_PAGE		UINT64_MAX

struct cow_slot {
	uint64_t addr, len;
	bool inherited;			/* the parent's, taken over */
};

struct cow_task {
	uint64_t *slot;			/* per VMA of the mm image: premap address, 0: none */
	int *src;			/* per VMA: the parent's VMA whose slot it takes, -1: its own */
	bool *run_premapped;		/* per run of the mem plan */
	struct mem_run *sorted;		/* the runs in address order */
	unsigned nr_sorted;
	struct cow_slot *slots;		/* address order */
	unsigned nr_slots;
};

struct cow_plan {
	uint64_t base, size;		/* the arena, reserved in cr */
	struct cow_task *tasks;		/* parallel to the tree's */
	unsigned nr;
};

/*
 * What is premapped: private memory a child inherits as it is. Not a
 * stack (MAP_GROWSDOWN), nor what fork() does not copy as it is
 * (MADV_DONTFORK, MADV_WIPEONFORK), nor a VMA with guards (they are
 * installed on the final VMAs); shared memory is shared by its object.
 */
static bool cow_kind(const VmaEntry *v)
{
	if (v->kind != VMA_KIND__VMA_ANON_PRIVATE && v->kind != VMA_KIND__VMA_FILE_PRIVATE &&
	    v->kind != VMA_KIND__VMA_ZERO_PRIVATE)
		return false;
	/* hugetlb memory is made by its own code (mem-huge.c), with its page size. */
	return !(v->flags & MAP_GROWSDOWN) && !(v->madv & (VMF_DONTCOPY | VMF_WIPEONFORK | VMF_GUARD)) &&
	       !v->has_hugetlb_size;
}

/* The child's VMA @c is its parent's @p as fork() left it: same place, kind, flags and backing. */
static bool same_vma(const VmaEntry *p, const VmaEntry *c)
{
	if (p->start != c->start || p->end != c->end || p->kind != c->kind || p->flags != c->flags)
		return false;
	if (c->kind == VMA_KIND__VMA_ANON_PRIVATE)
		return true;
	if (p->pgoff != c->pgoff || p->has_file_id != c->has_file_id)
		return false;
	if (c->has_file_id)
		return p->file_id == c->file_id;
	return p->path && c->path && !strcmp(p->path, c->path) && p->dev == c->dev && p->ino == c->ino;
}

/* The index of the VMA of @mm that starts at @start, or -1 (VMAs are in address order). */
static int vma_at(const MmEntry *mm, uint64_t start)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mm->n_vmas && mm->vmas[lo]->start == start ? (int)lo : -1;
}

/* The index of the VMA of @mm that holds @addr, or -1. */
static int vma_holding(const MmEntry *mm, uint64_t addr)
{
	const VmaEntry *v = mem_find_vma(mm, addr, addr + 1);

	return v ? vma_at(mm, v->start) : -1;
}

static int cmp_run(const void *a, const void *b)
{
	const struct mem_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_slot(const void *a, const void *b)
{
	const struct cow_slot *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The first of @c's runs that ends after @addr. */
static unsigned first_run(const struct cow_task *c, uint64_t addr)
{
	unsigned lo = 0, hi = c->nr_sorted;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (c->sorted[mid].vaddr + c->sorted[mid].len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool has_runs_in(const struct cow_task *c, const VmaEntry *v)
{
	unsigned k = first_run(c, v->start);

	return k < c->nr_sorted && c->sorted[k].vaddr < v->end;
}

static bool has_alive_child(const struct pstree *tree, unsigned idx)
{
	const struct pstree_task *pt = &tree->tasks[idx];

	for (unsigned i = 0; i < pt->nr_children; i++)
		if (tree->tasks[pt->children[i]].kind == TASK_ALIVE)
			return true;
	return false;
}

static void cow_task_free(struct cow_task *c)
{
	free(c->slot);
	free(c->src);
	free(c->run_premapped);
	free(c->sorted);
	free(c->slots);
}

/*
 * Task @idx's slots, as offsets in the arena from *@cursor on (its parent
 * planned before it: parents come first in the tree).
 */
static int plan_task(struct cow_plan *plan, const struct pstree *tree, const struct rst_task *tasks, unsigned idx,
		     uint64_t *cursor)
{
	struct cow_task *c = &plan->tasks[idx];
	const struct rst_task *t = &tasks[idx];
	int parent = tree->tasks[idx].parent;
	const struct cow_task *pc = parent >= 0 && tree->tasks[parent].kind == TASK_ALIVE ? &plan->tasks[parent] : NULL;
	const MmEntry *pmm = pc ? tasks[parent].mm : NULL;
	bool forks = has_alive_child(tree, idx);
	size_t n = t->mm->n_vmas;

	c->slot = xzalloc(sizeof(*c->slot) * (n ? n : 1));
	c->src = xmalloc(sizeof(*c->src) * (n ? n : 1));
	c->run_premapped = xzalloc(sizeof(bool) * (t->mem.nr_runs ? t->mem.nr_runs : 1));
	c->sorted = xmalloc(sizeof(*c->sorted) * (t->mem.nr_runs ? t->mem.nr_runs : 1));
	if (!c->slot || !c->src || !c->run_premapped || !c->sorted)
		return -ENOMEM;
	memcpy(c->sorted, t->mem.runs, sizeof(*c->sorted) * t->mem.nr_runs);
	c->nr_sorted = t->mem.nr_runs;
	qsort(c->sorted, c->nr_sorted, sizeof(*c->sorted), cmp_run);

	for (size_t i = 0; i < n; i++) {
		const VmaEntry *v = t->mm->vmas[i];
		int k = pmm ? vma_at(pmm, v->start) : -1;

		c->src[i] = -1;
		if (!cow_kind(v))
			continue;
		if (k >= 0 && pc->slot[k] && same_vma(pmm->vmas[k], v)) {
			c->slot[i] = pc->slot[k];
			c->src[i] = k;
			c->nr_slots++;
		} else if (forks && has_runs_in(c, v)) {
			/* Never offset 0: that means none. */
			*cursor = ALIGN_UP(*cursor + PAGE_SIZE, COW_ALIGN) + (v->start & (COW_ALIGN - 1));
			c->slot[i] = *cursor;
			*cursor += v->end - v->start;
			c->nr_slots++;
		}
	}
	return 0;
}

/* Offsets to addresses, and what the restorer and the premap need in address order. */
static int finish_task(struct cow_plan *plan, const struct rst_task *t, struct cow_task *c)
{
	unsigned k = 0;

	c->slots = xmalloc(sizeof(*c->slots) * (c->nr_slots ? c->nr_slots : 1));
	if (!c->slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		if (!c->slot[i])
			continue;
		c->slot[i] += plan->base;	/* also a parent's: all were planned before */
		c->slots[k++] = (struct cow_slot){ c->slot[i], t->mm->vmas[i]->end - t->mm->vmas[i]->start,
						   c->src[i] >= 0 };
	}
	qsort(c->slots, k, sizeof(*c->slots), cmp_slot);
	for (unsigned r = 0; r < t->mem.nr_runs; r++) {
		int v = vma_holding(t->mm, t->mem.runs[r].vaddr);

		c->run_premapped[r] = v >= 0 && c->slot[v];
	}
	return 0;
}

/*
 * The arena: free in cr and in every dumped layout, reserved so that
 * nothing of cr's lands there. No room leaves plan->base 0.
 */
static int reserve_arena(struct cow_plan *plan, const struct pstree *tree, const struct rst_task *tasks)
{
	_cleanup_free_ const MmEntry **mms = xzalloc(sizeof(*mms) * tree->nr);
	struct proc_maps self = { 0 };
	uint64_t addr;
	void *p;
	int err;

	if (!mms)
		return -ENOMEM;
	for (unsigned i = 0; i < tree->nr; i++)
		mms[i] = tasks[i].mm;
	err = proc_parse_maps(getpid(), &self);
	if (err)
		return err;
	err = region_find_free(mms, tree->nr, &self, plan->size + COW_ALIGN, &addr);
	proc_maps_free(&self);
	if (err == -ENOMEM) {
		pr_warn("no free address range of %lu bytes to premap the tree's memory: pages its processes "
			"shared copy-on-write are restored as copies", (unsigned long)plan->size);
		return 0;
	}
	if (err)
		return err;
	addr = ALIGN_UP(addr, COW_ALIGN);
	p = mmap((void *)addr, plan->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED && errno == ENOMEM) {	/* RLIMIT_AS, say: as without room */
		pr_warn("reserving %lu bytes at %lx to premap the tree's memory: %s: pages its processes shared "
			"copy-on-write are restored as copies", (unsigned long)plan->size, (unsigned long)addr,
			strerror(errno));
		return 0;
	}
	if (p == MAP_FAILED)
		return pr_errno(-errno, "reserving the premap area at %lx", (unsigned long)addr);
	plan->base = addr;
	pr_debug("premap area %lx-%lx", (unsigned long)plan->base, (unsigned long)(plan->base + plan->size));
	return 0;
}

int cow_plan_build(const struct pstree *tree, struct rst_task *tasks, struct cow_plan **ret)
{
	struct cow_plan *plan = xzalloc(sizeof(*plan));
	uint64_t cursor = 0;
	int err = 0;

	*ret = NULL;
	if (!plan)
		return -ENOMEM;
	plan->tasks = xzalloc(sizeof(*plan->tasks) * tree->nr);
	plan->nr = tree->nr;
	if (!plan->tasks)
		err = -ENOMEM;
	for (unsigned i = 0; i < tree->nr && !err; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			err = plan_task(plan, tree, tasks, i, &cursor);
	plan->size = ALIGN_UP(cursor, PAGE_SIZE);
	if (!err && plan->size)
		err = reserve_arena(plan, tree, tasks);
	for (unsigned i = 0; i < tree->nr && !err && plan->base; i++)
		if (tree->tasks[i].kind == TASK_ALIVE)
			err = finish_task(plan, &tasks[i], &plan->tasks[i]);
	if (err || !plan->base) {
		cow_plan_free(plan);
		return err;
	}
	for (unsigned i = 0; i < tree->nr; i++)
		if (plan->tasks[i].nr_slots)
			tasks[i].cow = &plan->tasks[i];
	*ret = plan;
	return 0;
}

void cow_plan_free(struct cow_plan *plan)
{
	if (!plan)
		return;
	if (plan->base)
		munmap((void *)plan->base, plan->size);
	for (unsigned i = 0; plan->tasks && i < plan->nr; i++)
		cow_task_free(&plan->tasks[i]);
	free(plan->tasks);
	free(plan);
}

uint64_t cow_vma_slot(const struct rst_task *t, unsigned vma)
{
	return t->cow ? t->cow->slot[vma] : 0;
}

bool cow_run_premapped(const struct rst_task *t, unsigned run)
{
	return t->cow && t->cow->run_premapped[run];
}

int cow_fill_keep(struct rst_task *t, uint64_t region_start, uint64_t region_size)
{
	unsigned nr = t->cow ? t->cow->nr_slots : 0, k = 0;
	struct restorer_iov *keep = region_alloc(&t->rg, sizeof(*keep) * (nr + 1), 8);
	bool region_in = false;

	if (!keep)
		return -ENOMEM;
	/* The region and the arena do not overlap: the region was placed around the reserved arena. */
	for (unsigned i = 0; i < nr; i++) {
		if (!region_in && t->cow->slots[i].addr > region_start) {
			keep[k++] = (struct restorer_iov){ region_start, region_size };
			region_in = true;
		}
		keep[k++] = (struct restorer_iov){ t->cow->slots[i].addr, t->cow->slots[i].len };
	}
	if (!region_in)
		keep[k++] = (struct restorer_iov){ region_start, region_size };
	t->args->keep = (uint64_t)keep;
	t->args->nr_keep = k;
	return 0;
}

/* ---- in the new task, before it forks ------------------------------------- */

/* Walks a task's runs in address order: what is stored for each address. */
struct run_cursor {
	const struct mem_run *r;
	unsigned n, i;
};

static struct run_cursor cursor_of(const struct cow_task *c, uint64_t start)
{
	if (!c)
		return (struct run_cursor){ NULL, 0, 0 };
	return (struct run_cursor){ c->sorted, c->nr_sorted, first_run(c, start) };
}

/*
 * The page-image offset of the bytes at @addr (NO_PAGE: none are stored),
 * and in *@ret_len for how many bytes from @addr (below @end) that holds.
 */
static uint64_t cursor_at(struct run_cursor *c, uint64_t addr, uint64_t end, uint64_t *ret_len)
{
	while (c->i < c->n && c->r[c->i].vaddr + c->r[c->i].len <= addr)
		c->i++;
	if (c->i < c->n && c->r[c->i].vaddr <= addr) {
		*ret_len = c->r[c->i].vaddr + c->r[c->i].len - addr;
		return c->r[c->i].off + (addr - c->r[c->i].vaddr);
	}
	*ret_len = (c->i < c->n && c->r[c->i].vaddr < end ? c->r[c->i].vaddr : end) - addr;
	return NO_PAGE;
}

static int read_into(pid_t pid, int pages_fd, uint64_t dst, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(pages_fd, (void *)dst, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_errno(n < 0 ? -errno : -EIO, "pid %d: reading the page image at %lu into the premap at %lx",
					pid, (unsigned long)off, (unsigned long)dst);
		dst += n;
		len -= n;
		off += n;
	}
	return 0;
}

/*
 * VMA @v, premapped at @slot, gets @mine's pages where @theirs (the
 * parent's, whose pages are there now; NULL: nothing is) differ: the
 * pages the child stored are read, the ones only the parent has dropped.
 * Pages stored once for both (the same offset) stay shared.
 */
static int fill_slot(pid_t pid, int pages_fd, const VmaEntry *v, uint64_t slot, const struct cow_task *mine,
		     const struct cow_task *theirs)
{
	struct run_cursor a = cursor_of(mine, v->start), b = cursor_of(theirs, v->start);
	uint64_t addr, len;

	for (addr = v->start; addr < v->end; addr += len) {
		uint64_t la, lb, oa = cursor_at(&a, addr, v->end, &la), ob = cursor_at(&b, addr, v->end, &lb);
		uint64_t dst = slot + (addr - v->start);
		int err = 0;

		len = min(min(la, lb), v->end - addr);
		if (oa == ob)
			continue;
		if (oa != NO_PAGE)
			err = read_into(pid, pages_fd, dst, len, oa);
		else if (madvise((void *)dst, len, MADV_DONTNEED))
			err = pr_errno(-errno, "pid %d: dropping the parent's pages at %lx (premap of %lx)", pid,
				       (unsigned long)(v->start + (addr - v->start)), (unsigned long)dst);
		if (err)
			return err;
	}
	return 0;
}

/* A slot of its own: mapped as the VMA will be, readable and writable to be filled. */
static int map_slot(pid_t pid, const VmaEntry *v, uint64_t slot, int fd)
{
	int flags = (v->flags & ~MAP_GROWSDOWN) | MAP_FIXED;
	void *p;

	if (fd >= 0)
		flags &= ~MAP_ANONYMOUS;
	p = mmap((void *)slot, v->end - v->start, PROT_READ | PROT_WRITE, flags, fd, fd >= 0 ? v->pgoff : 0);
	if (p == MAP_FAILED)
		return pr_errno(-errno, "pid %d: premapping %lx-%lx at %lx", pid, (unsigned long)v->start,
				(unsigned long)v->end, (unsigned long)slot);
	/* Huge pages as the restorer would get them: the advice before the first fault. */
	if ((v->madv & VMF_HUGEPAGE) && madvise(p, v->end - v->start, MADV_HUGEPAGE))
		return pr_errno(-errno, "pid %d: MADV_HUGEPAGE on the premap of %lx", pid, (unsigned long)v->start);
	if ((v->madv & VMF_NOHUGEPAGE) && madvise(p, v->end - v->start, MADV_NOHUGEPAGE))
		return pr_errno(-errno, "pid %d: MADV_NOHUGEPAGE on the premap of %lx", pid, (unsigned long)v->start);
	return 0;
}

/* Back to the reservation: [from, to) of the arena. */
static int clear_range(uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	if (mmap((void *)from, to - from, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) == MAP_FAILED)
		return pr_errno(-errno, "clearing the premap area at %lx-%lx", (unsigned long)from,
				(unsigned long)to);
	return 0;
}

/*
 * What the task inherited but does not take over goes: its children must
 * not inherit it, and the memory is free at once. The arena stays
 * reserved, so nothing of cr's the task maps lands where a slot will be.
 */
static int clear_unused(const struct cow_plan *plan, const struct cow_task *c)
{
	uint64_t from = plan->base;
	int err = 0;

	for (unsigned i = 0; c && i < c->nr_slots && !err; i++) {
		if (!c->slots[i].inherited)
			continue;
		err = clear_range(from, c->slots[i].addr);
		from = c->slots[i].addr + c->slots[i].len;
	}
	return err ? err : clear_range(from, plan->base + plan->size);
}

int cow_premap(const struct cow_plan *plan, const struct pstree *tree, const struct rst_task *tasks, unsigned idx,
	       int pages_fd)
{
	const struct rst_task *t = &tasks[idx];
	const struct cow_task *c = t->cow, *pc;
	int parent = tree->tasks[idx].parent;
	int err;

	/* Reached by every alive task, with or without a plan: the N-th task's fails. */
	err = cr_fail_point_nth("premap", idx + 1);
	if (!err && plan)
		err = clear_unused(plan, c);
	if (err || !c)
		return err;
	pc = parent >= 0 ? tasks[parent].cow : NULL;
	for (size_t i = 0; i < t->mm->n_vmas && !err; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (!c->slot[i])
			continue;
		if (c->src[i] < 0)
			err = map_slot(t->pid, v, c->slot[i], t->mem.vma_fds[i]);
		if (!err)
			err = fill_slot(t->pid, pages_fd, v, c->slot[i], c, c->src[i] >= 0 ? pc : NULL);
	}
	return err;
}

void cow_plan_counts(const struct pstree *tree, const struct rst_task *tasks, uint64_t *ret_compared,
		     uint64_t *ret_kept)
{
	uint64_t compared = 0, kept = 0;

	for (unsigned idx = 0; idx < tree->nr; idx++) {
		const struct rst_task *t = &tasks[idx];
		const struct cow_task *c = t->cow;
		int parent = tree->tasks[idx].parent;
		const struct cow_task *pc = parent >= 0 ? tasks[parent].cow : NULL;

		for (size_t i = 0; c && pc && i < t->mm->n_vmas; i++) {
			const VmaEntry *v = t->mm->vmas[i];
			struct run_cursor a, b;
			uint64_t addr, len;

			if (!c->slot[i] || c->src[i] < 0)
				continue;
			a = cursor_of(c, v->start);
			b = cursor_of(pc, v->start);
			/* As fill_slot() walks it. */
			for (addr = v->start; addr < v->end; addr += len) {
				uint64_t la, lb, oa = cursor_at(&a, addr, v->end, &la), ob = cursor_at(&b, addr, v->end, &lb);

				len = min(min(la, lb), v->end - addr);
				if (oa != NO_PAGE || ob != NO_PAGE)
					compared += len;
				if (oa == ob && oa != NO_PAGE)
					kept += len;
			}
		}
	}
	*ret_compared = compared / PAGE_SIZE;
	*ret_kept = kept / PAGE_SIZE;
}
