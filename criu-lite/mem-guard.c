/*
 * Guard regions (MADV_GUARD_INSTALL, Linux 6.13): pages of a VMA that
 * fault with SIGSEGV. They are page table markers, not VMAs, so maps
 * does not show them: pagemap flags each guard page (bit 58, with the
 * swap bit), and smaps' "gu" marks the VMAs that may hold one (the flag
 * stays once a guard was installed). The dump lists the guard runs of
 * those VMAs; the restorer installs them again after it read the pages.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "restorer-abi.h"

struct guard_list {
	GuardRun *runs;
	size_t nr, cap;
};

static int guard_add(struct guard_list *l, uint64_t start, uint32_t nr_pages)
{
	if (l->nr == l->cap) {
		GuardRun *n = xrealloc(l->runs, sizeof(*n) * (l->cap = l->cap ? l->cap * 2 : 16));

		if (!n)
			return -ENOMEM;
		l->runs = n;
	}
	guard_run__init(&l->runs[l->nr]);
	l->runs[l->nr].start = start;
	l->runs[l->nr++].nr_pages = nr_pages;
	return 0;
}

/* Appends the guard runs of @v to @l; a run lies in one VMA. */
static int scan_vma_guards(pid_t pid, int pm_fd, const VmaEntry *v, uint64_t *pme, struct guard_list *l)
{
	uint64_t addr = v->start, run_start = 0;
	uint32_t run_len = 0;
	int err = 0;

	while (addr < v->end && !err) {
		size_t nr = min((v->end - addr) / PAGE_SIZE, (uint64_t)PAGEMAP_BATCH);
		ssize_t n = pread(pm_fd, pme, nr * 8, (addr / PAGE_SIZE) * 8);

		if (n != (ssize_t)(nr * 8))
			return pr_errno(n < 0 ? -errno : -EIO, "pid %d: reading pagemap at %lx", pid,
					(unsigned long)addr);
		for (size_t i = 0; i < nr && !err; i++, addr += PAGE_SIZE) {
			if (pme[i] & PME_GUARD) {
				if (!run_len++)
					run_start = addr;
			} else if (run_len) {
				err = guard_add(l, run_start, run_len);
				run_len = 0;
			}
		}
	}
	if (!err && run_len)
		err = guard_add(l, run_start, run_len);
	return err;
}

int mem_guard_collect(pid_t pid, MmEntry *mm)
{
	_cleanup_free_ uint64_t *pme = NULL;
	_cleanup_close_ int pm_fd = -EBADF;
	struct guard_list l = { 0 };
	int err = 0;

	for (size_t i = 0; i < mm->n_vmas && !err; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (!(v->madv & VMF_GUARD))
			continue;
		if (pm_fd < 0) {
			pme = xmalloc(PAGEMAP_BATCH * 8);
			if (!pme)
				return -ENOMEM;
			pm_fd = proc_pagemap_open(pid);
			if (pm_fd < 0)
				return pm_fd;
		}
		err = scan_vma_guards(pid, pm_fd, v, pme, &l);
	}
	if (!err && l.nr) {
		mm->guards = xmalloc(sizeof(*mm->guards) * l.nr);
		if (!mm->guards)
			err = -ENOMEM;
	}
	if (err) {
		free(l.runs);
		return err;
	}
	for (size_t i = 0; i < l.nr; i++)
		mm->guards[i] = &l.runs[i];
	mm->n_guards = l.nr;
	if (l.nr)
		pr_debug("pid %d: %zu runs of guard pages", pid, l.nr);
	return 0;
}

void mem_guard_free(MmEntry *mm)
{
	if (mm->n_guards)
		free(mm->guards[0]);
	free(mm->guards);
	mm->guards = NULL;
	mm->n_guards = 0;
}

int mem_guard_check(const MmEntry *mm)
{
	uint64_t prev_end = 0;

	for (size_t i = 0; i < mm->n_guards; i++) {
		const GuardRun *g = mm->guards[i];
		uint64_t end = g->start + (uint64_t)g->nr_pages * PAGE_SIZE;
		const VmaEntry *v = mem_find_vma(mm, g->start, end);

		if (!g->nr_pages || g->start % PAGE_SIZE || end <= g->start || g->start < prev_end || !v || !(v->madv & VMF_GUARD))
			return pr_errno(-EBADMSG, "mm image: guard run of %u pages at %lx is not inside a dumped "
					"mapping that had guards (or out of order)", g->nr_pages,
					(unsigned long)g->start);
		prev_end = end;
	}
	return 0;
}

static int cmp_run_addr(const void *a, const void *b)
{
	const struct mem_run *x = *(const struct mem_run *const *)a, *y = *(const struct mem_run *const *)b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/*
 * A page of private VMA @v that no run fills (so a guard installed and
 * removed there drops nothing), or 0. Every page of a shared mapping is
 * such a page: its contents stay in the object.
 */
static uint64_t empty_page(const VmaEntry *v, const struct mem_plan *plan)
{
	_cleanup_free_ const struct mem_run **in = NULL;
	uint64_t cand = v->start;
	size_t n = 0;

	if (!mem_vma_has_pages(v))
		return v->start;
	in = xmalloc(sizeof(*in) * (plan->nr_runs ? plan->nr_runs : 1));
	if (!in)
		return 0;
	for (unsigned i = 0; i < plan->nr_runs; i++)
		if (plan->runs[i].vaddr >= v->start && plan->runs[i].vaddr < v->end)
			in[n++] = &plan->runs[i];
	qsort(in, n, sizeof(*in), cmp_run_addr);
	for (size_t i = 0; i < n && in[i]->vaddr <= cand; i++)
		cand = max(cand, in[i]->vaddr + in[i]->len);
	return cand < v->end ? cand : 0;
}

/*
 * Walks the "gu" VMAs of @mm: the guard runs into @out (NULL: counted
 * only), and for a VMA left without guards, the empty page that gets its
 * flag (or, with @warn, a warning that it has none). Returns the count.
 */
static unsigned guard_walk(pid_t pid, const MmEntry *mm, const struct mem_plan *plan, struct restorer_guard *out,
			   bool warn)
{
	unsigned nr = 0;
	size_t g = 0;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		bool has_guard = false;
		uint64_t page;

		if (!(v->madv & VMF_GUARD))
			continue;
		/* Both lists are in address order (mem_guard_check()). */
		for (; g < mm->n_guards && mm->guards[g]->start < v->end; g++, nr++, has_guard = true)
			if (out)
				out[nr] = (struct restorer_guard){ .start = mm->guards[g]->start,
					.len = (uint64_t)mm->guards[g]->nr_pages * PAGE_SIZE };
		if (has_guard)
			continue;
		page = empty_page(v, plan);
		if (page && out)
			out[nr] = (struct restorer_guard){ .start = page, .len = PAGE_SIZE, .flag_only = 1 };
		else if (!page && warn)
			pr_warn("pid %d: mapping %lx-%lx comes back without its \"gu\" flag (a guard page was "
				"removed from it): every page holds data", pid, (unsigned long)v->start,
				(unsigned long)v->end);
		nr += !!page;
	}
	return nr;
}

unsigned mem_guard_ops(const MmEntry *mm, const struct mem_plan *plan, struct restorer_guard *out)
{
	return guard_walk(0, mm, plan, out, false);
}

void mem_guard_warn(pid_t pid, const MmEntry *mm, const struct mem_plan *plan)
{
	(void)guard_walk(pid, mm, plan, NULL, true);
}
