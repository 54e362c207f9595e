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
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"

#define ANON_HUGEPAGE		"/anon_hugepage"
#define SYSV_PREFIX		"/SYSV"
#define HUGEPAGES_SYSFS		"/sys/kernel/mm/hugepages/hugepages-%lukB/%s"
#define HUGE_SHIFT_MIN		16	/* 64 KiB: no hugetlb page size is smaller */
#define HUGE_SHIFT_MAX		34	/* 16 GiB */

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
