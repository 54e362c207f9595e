/*
 * Memory of huge pages, dump and restore side: hugetlb mappings
 * (MAP_HUGETLB anonymous memory, "/anon_hugepage" in maps, SHM_HUGETLB
 * segments and files of a hugetlbfs mount), which smaps marks "ht" with
 * their page size in KernelPageSize. They come back as hugetlb memory of
 * the same page size; the huge pages they need must be free at restore,
 * which is checked before any task is made.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "region.h"
#include "restorer-abi.h"

#define ANON_HUGEPAGE		"/anon_hugepage"
#define SYSV_PREFIX		"/SYSV"
#define HUGEPAGES_SYSFS		"/sys/kernel/mm/hugepages/hugepages-%lukB/%s"
#define HUGE_SHIFT_MIN		16	/* 64 KiB: no hugetlb page size is smaller */
#define HUGE_SHIFT_MAX		34	/* 16 GiB */
#define SHM_HUGE_SHIFT_		26	/* linux/shm.h, as MAP_HUGE_SHIFT; glibc's sys/shm.h lacks it */

/* log2 of a hugetlb page size, or 0 if it is none. */
static unsigned huge_shift(uint64_t size)
{
	unsigned s;

	if (!size || (size & (size - 1)))
		return 0;
	s = __builtin_ctzll(size);
	return s >= HUGE_SHIFT_MIN && s <= HUGE_SHIFT_MAX ? s : 0;
}

uint32_t mem_huge_map_flags(uint64_t size)
{
	return MAP_HUGETLB | (huge_shift(size) << MAP_HUGE_SHIFT);
}

int mem_huge_shm_flags(uint64_t size)
{
	return huge_shift(size) ? SHM_HUGETLB | (int)(huge_shift(size) << SHM_HUGE_SHIFT_) : 0;
}

int mem_huge_classify(pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	uint64_t size = (uint64_t)v->page_kb << 10;
	unsigned long s = v->start, end = v->end;

	if (!huge_shift(size) || s % size || end % size)
		return pr_errno(-ENOTSUP, "pid %d: hugetlb mapping %lx-%lx: page size %u kB does not fit it", pid, s,
				end, v->page_kb);
	e->has_hugetlb_size = true;
	e->hugetlb_size = size;
	if (!v->path)
		return pr_errno(-ENOTSUP, "pid %d: hugetlb mapping %lx-%lx has no name in maps", pid, s, end);
	if (v->deleted && !strcmp(v->path, ANON_HUGEPAGE)) {
		/* Private: its pages are the task's (pagemap); shared: an object shmem.c saves once. */
		e->kind = v->shared ? VMA_KIND__VMA_ANON_SHARED : VMA_KIND__VMA_ANON_PRIVATE;
		e->flags |= MAP_ANONYMOUS | (v->shared ? 0 : mem_huge_map_flags(size));
		e->name = xstrdup(v->path);
		return e->name ? 0 : -ENOMEM;
	}
	if (v->deleted && !strncmp(v->path, SYSV_PREFIX, strlen(SYSV_PREFIX)))
		return 1;	/* a SysV segment, as any other (shmem.c) */
	if (v->deleted)
		return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of %s: a deleted file of a hugetlbfs mount, whose "
				"content cr cannot save yet", pid, s, end, v->path);
	return 1;		/* a file of a hugetlbfs mount, which holds its content */
}

int mem_huge_check_file(pid_t pid, const VmaEntry *e)
{
	if (!e->has_hugetlb_size || !e->has_file_id)
		return 0;
	return pr_errno(-ENOTSUP, "pid %d: mapping %lx-%lx of %s: a hugetlbfs file that no longer has that name, "
			"whose content cr cannot save yet", pid, (unsigned long)e->start, (unsigned long)e->end, e->path);
}

/* Huge pages of @size that the kernel has free and not promised to a mapping. */
static int huge_available(uint64_t size, uint64_t *ret)
{
	const char *field[2] = { "free_hugepages", "resv_hugepages" };
	uint64_t n[2];

	for (int i = 0; i < 2; i++) {
		_cleanup_free_ char *buf = NULL;
		char path[128];
		int err;

		snprintf(path, sizeof(path), HUGEPAGES_SYSFS, (unsigned long)(size >> 10), field[i]);
		err = read_file_at(AT_FDCWD, path, &buf, NULL);
		if (err)
			return pr_errno(err, "huge pages of %lu kB: %s (this kernel has no such page size?)",
					(unsigned long)(size >> 10), path);
		n[i] = strtoull(buf, NULL, 10);
	}
	*ret = n[0] > n[1] ? n[0] - n[1] : 0;
	return 0;
}

int mem_huge_enomem(uint64_t size, uint64_t len, const char *what)
{
	uint64_t avail = 0;

	if (huge_available(size, &avail))
		return -ENOMEM;
	return pr_errno(-ENOMEM, "%s needs %lu huge pages of %lu kB, the kernel has %lu free (see "
			"/proc/sys/vm/nr_hugepages)", what, (unsigned long)(len / size), (unsigned long)(size >> 10),
			(unsigned long)avail);
}

/*
 * A private hugetlb mapping takes its huge pages from the kernel's pool
 * when it is made (unless MAP_NORESERVE): the restorer's mmap() would
 * fail with a bare ENOMEM where a line here says which and why.
 */
int mem_huge_check(pid_t pid, const MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		uint64_t need = 0, avail;
		char what[96];
		int err;

		if (!v->has_hugetlb_size || (v->flags & MAP_NORESERVE) ||
		    (v->kind != VMA_KIND__VMA_ANON_PRIVATE && v->kind != VMA_KIND__VMA_FILE_PRIVATE))
			continue;
		if (!huge_shift(v->hugetlb_size) || v->start % v->hugetlb_size || v->end % v->hugetlb_size)
			return pr_errno(-EBADMSG, "mm-%d.img: hugetlb mapping at %lx has page size %lu", pid,
					(unsigned long)v->start, (unsigned long)v->hugetlb_size);
		/* All of this task's private mappings of this page size. */
		for (size_t k = 0; k < mm->n_vmas; k++) {
			const VmaEntry *w = mm->vmas[k];

			if (w->has_hugetlb_size && w->hugetlb_size == v->hugetlb_size && !(w->flags & MAP_NORESERVE) &&
			    (w->kind == VMA_KIND__VMA_ANON_PRIVATE || w->kind == VMA_KIND__VMA_FILE_PRIVATE)) {
				if (k < i)
					break;	/* counted with an earlier one */
				need += w->end - w->start;
			}
		}
		if (!need)
			continue;
		err = huge_available(v->hugetlb_size, &avail);
		if (err)
			return err;
		if (avail * v->hugetlb_size < need) {
			snprintf(what, sizeof(what), "pid %d: its private hugetlb memory (first at %lx)", pid,
				 (unsigned long)v->start);
			return mem_huge_enomem(v->hugetlb_size, need, what);
		}
	}
	return 0;
}

#define THP_SIZE		(2UL << 20)	/* a PMD of x86-64 */
#define THP_ZERO_PAGE_FILE	"/sys/kernel/mm/transparent_hugepage/use_zero_page"

/*
 * What a read fault maps at a huge page boundary of an area of ours
 * advised MADV_HUGEPAGE, if it maps a huge page: the page after the one
 * read is then there too, with the next PFN (the small zero page would
 * map only the one read).
 */
static uint64_t read_fault_pfn(int pm_fd)
{
	uint8_t *p = mmap(NULL, 2 * THP_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	volatile uint8_t *a;
	uint64_t pme[2] = { 0, 0 }, pfn;

	if (p == MAP_FAILED)
		return 0;
	a = (uint8_t *)ALIGN_UP((uintptr_t)p, THP_SIZE);
	if (!madvise((void *)a, THP_SIZE, MADV_HUGEPAGE)) {
		(void)a[0];
		if (pread(pm_fd, pme, sizeof(pme), ((uintptr_t)a / PAGE_SIZE) * sizeof(pme[0])) != sizeof(pme))
			pme[0] = 0;
	}
	munmap(p, 2 * THP_SIZE);
	pfn = pme[0] & PME_PFN_MASK;
	return (pme[0] & PME_PRESENT) && (pme[1] & PME_PRESENT) && (pme[1] & PME_PFN_MASK) == pfn + 1 ? pfn : 0;
}

/*
 * The first PFN of the kernel's huge zero page, or 0: a read fault in a
 * THP area maps it whole (pagemap gives its PFNs, first + index), when
 * use_zero_page is on. It is the one page two areas of ours both get; a
 * page of our own would be freed and could then be a task's data.
 */
uint64_t mem_huge_zero_pfn(void)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	uint64_t a, b;

	if (read_file_at(AT_FDCWD, THP_ZERO_PAGE_FILE, &buf, NULL) || atoi(buf) != 1)
		return 0;
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	a = read_fault_pfn(fd);
	b = read_fault_pfn(fd);
	return a && a == b && !(a % (THP_SIZE / PAGE_SIZE)) ? a : 0;
}

bool mem_huge_zero_page(uint64_t pfn, uint64_t zero_pfn)
{
	return zero_pfn && pfn >= zero_pfn && pfn < zero_pfn + THP_SIZE / PAGE_SIZE;
}

/* ---- transparent huge pages kept where they do not come by themselves ---- */

#define KPAGEFLAGS		"/proc/kpageflags"
#define KPF_THP			(1ULL << 22)	/* Documentation/admin-guide/mm/pagemap.rst */

/*
 * A VMA whose huge pages would not come back by themselves when the
 * restorer fills it: anonymous, advised neither way (MADV_HUGEPAGE areas
 * get them at the fill, MADV_NOHUGEPAGE ones may not have them).
 */
static bool thp_by_collapse(const VmaEntry *v, uint64_t thp_kb)
{
	return thp_kb && v->kind == VMA_KIND__VMA_ANON_PRIVATE && !v->has_hugetlb_size &&
	       !(v->madv & (VMF_HUGEPAGE | VMF_NOHUGEPAGE));
}

static int add_thp(MmEntry *mm, size_t *cap, uint64_t start)
{
	ThpRun *r;

	if (mm->n_thp_runs && mm->thp_runs[mm->n_thp_runs - 1]->start + mm->thp_runs[mm->n_thp_runs - 1]->len == start) {
		mm->thp_runs[mm->n_thp_runs - 1]->len += THP_SIZE;
		return 0;
	}
	if (mm->n_thp_runs == *cap) {
		ThpRun **n = xrealloc(mm->thp_runs, sizeof(*n) * (*cap = *cap ? *cap * 2 : 16));

		if (!n)
			return -ENOMEM;
		mm->thp_runs = n;
	}
	r = xmalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	thp_run__init(r);
	r->start = start;
	r->len = THP_SIZE;
	mm->thp_runs[mm->n_thp_runs++] = r;
	return 0;
}

/* Whether the page that @pm_fd maps at @addr is part of a transparent huge page. */
static int is_thp(int pm_fd, int kpf_fd, uint64_t addr, bool *ret)
{
	uint64_t pme, flags;

	*ret = false;
	if (pread(pm_fd, &pme, sizeof(pme), (addr / PAGE_SIZE) * sizeof(pme)) != sizeof(pme))
		return pr_errno(-EIO, "pagemap at %lx", (unsigned long)addr);
	if (!(pme & PME_PRESENT) || !(pme & PME_PFN_MASK))
		return 0;
	if (pread(kpf_fd, &flags, sizeof(flags), (pme & PME_PFN_MASK) * sizeof(flags)) != sizeof(flags))
		return pr_errno(-EIO, "%s at the page of %lx", KPAGEFLAGS, (unsigned long)addr);
	*ret = !!(flags & KPF_THP);
	return 0;
}

int mem_thp_collect(pid_t pid, const struct proc_maps *maps, MmEntry *mm)
{
	_cleanup_close_ int pm_fd = -EBADF, kpf_fd = -EBADF;
	size_t cap = 0;
	int err;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (!thp_by_collapse(v, maps->vmas[i].thp_kb))
			continue;
		if (pm_fd < 0) {
			pm_fd = proc_pagemap_open(pid);
			if (pm_fd < 0)
				return pm_fd;
			kpf_fd = open(KPAGEFLAGS, O_RDONLY | O_CLOEXEC);
			if (kpf_fd < 0) {
				pr_warn("pid %d: %s: %s; its huge pages come back as small ones", pid, KPAGEFLAGS,
					strerror(errno));
				return 0;
			}
		}
		for (uint64_t a = ALIGN_UP(v->start, THP_SIZE); a + THP_SIZE <= v->end; a += THP_SIZE) {
			bool thp;

			err = is_thp(pm_fd, kpf_fd, a, &thp);
			if (!err && thp)
				err = add_thp(mm, &cap, a);
			if (err)
				return err;
		}
	}
	return 0;
}

void mem_thp_free(MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_thp_runs; i++)
		free(mm->thp_runs[i]);
	free(mm->thp_runs);
	mm->thp_runs = NULL;
	mm->n_thp_runs = 0;
}

int mem_thp_check(pid_t pid, const MmEntry *mm)
{
	uint64_t last = 0;

	for (size_t i = 0; i < mm->n_thp_runs; i++) {
		const ThpRun *r = mm->thp_runs[i];
		const VmaEntry *v = mem_find_vma(mm, r->start, r->start + r->len);

		if (!v || v->kind != VMA_KIND__VMA_ANON_PRIVATE || r->start % THP_SIZE || !r->len ||
		    r->len % THP_SIZE || r->start < last)
			return pr_errno(-EBADMSG, "mm-%d.img: huge page run at %lx (%lu bytes) is not in an anonymous "
					"mapping, or out of order", pid, (unsigned long)r->start, (unsigned long)r->len);
		last = r->start + r->len;
	}
	return 0;
}

int mem_thp_fill_args(const MmEntry *mm, struct region *rg, struct restorer_args *a)
{
	struct restorer_thp *t;

	if (!mm->n_thp_runs)
		return 0;
	t = region_alloc(rg, sizeof(*t) * mm->n_thp_runs, 8);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_thp_runs; i++)
		t[i] = (struct restorer_thp){ .start = mm->thp_runs[i]->start, .len = mm->thp_runs[i]->len };
	a->thp = (uint64_t)t;
	a->nr_thp = mm->n_thp_runs;
	return 0;
}
