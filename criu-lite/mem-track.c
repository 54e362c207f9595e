/*
 * Write tracking without soft-dirty (see mem-track.h): userfaultfd
 * write-protect in async mode and PAGEMAP_SCAN, kernel 6.7 and later.
 *
 * Why it is exact: a page gets the uffd-wp bit only from cr's scans; any
 * write, by the task, the kernel on its behalf or through /proc/PID/mem
 * and process_vm_writev, goes through a write fault that clears it first
 * (a page populated later comes without it, or from a marker that
 * WP_UNPOPULATED left, which the same fault clears). So a page with the
 * bit in a VMA still registered is the one the last scan protected. A VMA
 * made, moved (mremap drops the registration) or registered after the
 * last round is not tracked: copied whole.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "infect.h"
#include "log.h"
#include "mem.h"
#include "mem-track.h"
#include "proc-parse.h"

/* Debian's headers predate these (linux/fs.h, linux/userfaultfd.h of 6.7). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED		(1 << 0)
#define PAGE_IS_WRITTEN			(1 << 1)
#define PM_SCAN_WP_MATCHING		(1 << 0)
struct page_region {
	__u64 start, end, categories;
};
struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN			_IOWR('f', 16, struct pm_scan_arg)
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd			438
#endif

/*
 * WP_UNPOPULATED: PAGEMAP_SCAN says PAGE_IS_WPALLOWED for an anonymous
 * VMA only with it (userfaultfd_wp_use_markers()), and cr needs that to
 * tell the VMAs registered since the last round from the others.
 */
#define TRACK_FEATURES		(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
#define SCAN_VEC		1024		/* regions per PAGEMAP_SCAN call */

struct range {
	uint64_t start, end;
};

struct ranges {
	struct range *r;
	size_t nr, cap, cur;		/* cur: the cursor of lookups */
};

struct mem_track_task {
	pid_t pid;
	int uffd;
	struct ranges tracked;		/* registered since the last round */
	struct ranges written;		/* written since, in them */
	uint64_t nr_written, nr_tracked;
};

static int ranges_add(struct ranges *rs, uint64_t start, uint64_t end)
{
	if (rs->nr && rs->r[rs->nr - 1].end == start) {
		rs->r[rs->nr - 1].end = end;
		return 0;
	}
	if (rs->nr == rs->cap) {
		struct range *n = xrealloc(rs->r, sizeof(*n) * (rs->cap = rs->cap ? rs->cap * 2 : 64));

		if (!n)
			return -ENOMEM;
		rs->r = n;
	}
	rs->r[rs->nr++] = (struct range){ start, end };
	return 0;
}

/* @addr in @rs, for addresses asked in ascending order. */
static bool ranges_hold(struct ranges *rs, uint64_t addr)
{
	while (rs->cur < rs->nr && rs->r[rs->cur].end <= addr)
		rs->cur++;
	return rs->cur < rs->nr && rs->r[rs->cur].start <= addr;
}

static uint64_t ranges_pages(const struct ranges *rs)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rs->nr; i++)
		n += (rs->r[i].end - rs->r[i].start) / PAGE_SIZE;
	return n;
}

/*
 * PAGEMAP_SCAN of [@start, @end) with @flags, the pages of category
 * @mask (all of them) into @out. Loops when the vector fills up (the
 * kernel says where it stopped in walk_end).
 */
static int scan(int pm_fd, pid_t pid, uint64_t start, uint64_t end, uint64_t flags, uint64_t mask,
		struct ranges *out)
{
	struct page_region vec[SCAN_VEC];

	while (start < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .flags = flags, .start = start, .end = end,
			.vec = (uintptr_t)vec, .vec_len = SCAN_VEC, .category_mask = mask, .return_mask = mask,
		};
		long n = ioctl(pm_fd, PAGEMAP_SCAN, &a);

		if (n < 0)
			return pr_errno(-errno, "pid %d: PAGEMAP_SCAN of %lx-%lx", pid, (unsigned long)start,
					(unsigned long)end);
		for (long i = 0; i < n; i++) {
			int err = ranges_add(out, vec[i].start, vec[i].end);

			if (err)
				return err;
		}
		if (a.walk_end <= start)
			return pr_errno(-EIO, "pid %d: PAGEMAP_SCAN of %lx-%lx made no progress", pid,
					(unsigned long)start, (unsigned long)end);
		start = a.walk_end;
	}
	return 0;
}

/* The private VMAs whose pages cr dumps and that can be written (PROT_NONE: reservations, never registered). */
static bool vma_trackable(const VmaEntry *v)
{
	return mem_vma_has_pages(v) && v->prot != PROT_NONE;
}

/*
 * A uffd of @pid's mm: made by a remote userfaultfd() (it works on the
 * caller's mm), fetched with pidfd_getfd() and closed in the task again,
 * so that the program never sees it (if cr dies in between, the task
 * keeps an fd of an unregistered uffd: nothing is tracked). Its ioctls
 * work on the mm it was made for, whoever calls them. Returns 1 (warned,
 * no fd) when the task may not have one.
 */
static int uffd_make(struct parasite_ctl *ctl, pid_t pid, int *ret_fd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = TRACK_FEATURES };
	_cleanup_close_ int pidfd = -EBADF, fd = -EBADF;
	long remote, closed;
	int err;

	err = infect_syscall(ctl, __NR_userfaultfd, &remote, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY,
			     0, 0, 0, 0, 0);
	if (err)
		return err;
	/* Its seccomp filter or vm.unprivileged_userfaultfd may say no: then it is copied whole every round. */
	if (remote < 0) {
		pr_warn("pid %d: userfaultfd() in the task: %s: its writes are not tracked, every round copies it whole",
			pid, strerror((int)-remote));
		return 1;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		err = pr_errno(-errno, "pid %d: pidfd_open", pid);
	else if ((fd = syscall(SYS_pidfd_getfd, pidfd, (int)remote, 0)) < 0)
		err = pr_errno(-errno, "pid %d: pidfd_getfd of its userfaultfd %ld", pid, remote);
	/* Whatever happened: the task's copy goes. */
	if (infect_syscall(ctl, __NR_close, &closed, remote, 0, 0, 0, 0, 0) || closed)
		return pr_errno(-EIO, "pid %d: closing its userfaultfd %ld", pid, remote);
	if (!err)
		err = cr_fail_point("track-uffd");
	if (err)
		return err;
	if (ioctl(fd, UFFDIO_API, &api) < 0)
		return pr_errno(-errno, "pid %d: UFFDIO_API with WP_ASYNC and WP_UNPOPULATED", pid);
	if ((api.features & TRACK_FEATURES) != TRACK_FEATURES)
		return pr_errno(-EOPNOTSUPP, "pid %d: this kernel's userfaultfd has no WP_ASYNC/WP_UNPOPULATED", pid);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Registers every trackable VMA; one that cannot be (hugetlb, another uffd's) stays untracked. */
static void register_vmas(struct mem_track_task *tt, const MmEntry *mm)
{
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct uffdio_register reg = {
			.range = { .start = v->start, .len = v->end - v->start }, .mode = UFFDIO_REGISTER_MODE_WP,
		};

		if (!vma_trackable(v))
			continue;
		if (ioctl(tt->uffd, UFFDIO_REGISTER, &reg) < 0)
			pr_info("pid %d: VMA %lx-%lx not tracked (UFFDIO_REGISTER: %s): copied whole every round",
				tt->pid, (unsigned long)v->start, (unsigned long)v->end, strerror(errno));
	}
}

/* [lowest, highest) address of the trackable VMAs; 0, 0 if none. */
static void trackable_span(const MmEntry *mm, uint64_t *ret_lo, uint64_t *ret_hi)
{
	uint64_t lo = 0, hi = 0;

	for (size_t i = 0; i < mm->n_vmas; i++)
		if (vma_trackable(mm->vmas[i])) {
			if (!hi)
				lo = mm->vmas[i]->start;
			hi = mm->vmas[i]->end;
		}
	*ret_lo = lo;
	*ret_hi = hi;
}

int mem_track_task_begin(struct parasite_ctl *ctl, pid_t pid, const MmEntry *mm, int uffd, bool trust_parent,
			 struct mem_track_task **ret)
{
	_cleanup_close_ int pm_fd = -EBADF;
	struct mem_track_task *tt;
	struct ranges reprotected = { 0 };
	uint64_t lo, hi;
	int err = 0;

	tt = xzalloc(sizeof(*tt));
	if (!tt) {
		if (uffd >= 0)
			close(uffd);
		return -ENOMEM;
	}
	tt->pid = pid;
	tt->uffd = uffd;
	pm_fd = proc_pagemap_open(pid);
	if (pm_fd < 0)
		err = pm_fd;
	trackable_span(mm, &lo, &hi);
	/* 1. What the uffd tracked since the last round. */
	if (!err && tt->uffd >= 0 && trust_parent && hi)
		err = scan(pm_fd, pid, lo, hi, 0, PAGE_IS_WPALLOWED, &tt->tracked);
	if (!err && tt->uffd < 0) {
		err = uffd_make(ctl, pid, &tt->uffd);
		if (err == 1) {
			*ret = tt;	/* nothing tracked, nothing unchanged */
			return 0;
		}
	}
	/* 2. New VMAs join; 3. what was written is protected again, atomically with finding it. */
	if (!err)
		register_vmas(tt, mm);
	if (!err)
		err = cr_fail_point("track-scan");
	if (!err && hi)
		err = scan(pm_fd, pid, lo, hi, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED,
			   &reprotected);
	tt->written = reprotected;
	if (err) {
		mem_track_task_free(tt);
		return err;
	}
	tt->nr_tracked = ranges_pages(&tt->tracked);
	tt->nr_written = ranges_pages(&tt->written);
	pr_info("pid %d: %lu pages tracked since the last round, %lu pages written in tracked or new VMAs", pid,
		(unsigned long)tt->nr_tracked, (unsigned long)tt->nr_written);
	*ret = tt;
	return 0;
}

bool mem_track_unchanged(struct mem_track_task *tt, uint64_t addr)
{
	return ranges_hold(&tt->tracked, addr) && !ranges_hold(&tt->written, addr);
}

int mem_track_task_take_uffd(struct mem_track_task *tt)
{
	return TAKE_FD(tt->uffd);
}

void mem_track_task_stats(const struct mem_track_task *tt, uint64_t *ret_written, uint64_t *ret_tracked)
{
	*ret_written = tt->nr_written;
	*ret_tracked = tt->nr_tracked;
}

void mem_track_task_free(struct mem_track_task *tt)
{
	if (!tt)
		return;
	if (tt->uffd >= 0)
		close(tt->uffd);
	free(tt->tracked.r);
	free(tt->written.r);
	free(tt);
}

/* ---- what this kernel can do -------------------------------------------- */

/* A uffd of cr's own with the features, and PAGEMAP_SCAN on cr's pagemap. */
static bool probe_uffd_wp(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = TRACK_FEATURES };
	_cleanup_close_ int uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	_cleanup_close_ int pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	void *p;
	bool ok;

	if (uffd < 0 || pm_fd < 0 || ioctl(uffd, UFFDIO_API, &api) < 0 ||
	    (api.features & TRACK_FEATURES) != TRACK_FEATURES)
		return false;
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	{
		struct uffdio_register reg = { .range = { (uintptr_t)p, PAGE_SIZE }, .mode = UFFDIO_REGISTER_MODE_WP };
		struct page_region vec[1];
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = (uintptr_t)p, .end = (uintptr_t)p + PAGE_SIZE,
			.vec = (uintptr_t)vec, .vec_len = 1, .category_mask = PAGE_IS_WPALLOWED,
			.return_mask = PAGE_IS_WPALLOWED,
		};

		ok = ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 && ioctl(pm_fd, PAGEMAP_SCAN, &a) == 1;
	}
	munmap(p, PAGE_SIZE);
	return ok;
}

enum mem_track_method mem_track_method(void)
{
	static int method = -1;

	if (method < 0)
		method = probe_uffd_wp() ? MEM_TRACK_UFFD_WP : MEM_TRACK_NONE;
	return method;
}

const char *mem_track_method_name(enum mem_track_method m)
{
	return m == MEM_TRACK_UFFD_WP ? "userfaultfd write-protect (WP_ASYNC) + PAGEMAP_SCAN" : "none";
}

#define PME_SOFT_DIRTY		(1ULL << 55)
#define CLEAR_REFS_SOFT_DIRTY	"4"

/* As criu's kerndat: clear the bits of cr's own pages, write one, see whether pagemap marks it. */
bool mem_track_soft_dirty(void)
{
	_cleanup_close_ int cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	_cleanup_close_ int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	volatile char *p;
	uint64_t pme = 0;

	if (cr < 0 || pm < 0)
		return false;
	p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	p[0] = 1;
	if (write(cr, CLEAR_REFS_SOFT_DIRTY, 1) == 1) {
		p[0] = 2;
		if (pread(pm, &pme, sizeof(pme), ((uintptr_t)p / PAGE_SIZE) * 8) != sizeof(pme))
			pme = 0;
	}
	munmap((void *)p, PAGE_SIZE);
	return pme & PME_SOFT_DIRTY;
}
