/*
 * The restorer region of one task: the blob, its arguments and arrays,
 * its stack and the parking place of the vdso, mapped MAP_SHARED in cr
 * at an address that is free in cr and in the task's dumped layout. Its
 * size is measured by filling a scratch region first: the same code fills
 * both, so there is no second formula to keep in step.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "files.h"
#include "lazy.h"
#include "log.h"
#include "mem.h"
#include "mem-cow.h"
#include "proc-parse.h"
#include "restore.h"
#include "restorer-abi.h"
#include "restorer-blob.h"

#define REGION_LOW		0x10000000ULL	/* search for room above 256 MiB */
/* Address space (not memory) for the measuring pass: thousands of threads. */
#define REGION_SCRATCH_SIZE	(1ULL << 30)

struct span {
	uint64_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int region_find_free(const MmEntry *const *mms, unsigned nr_mms, const struct proc_maps *self, size_t size,
		     uint64_t *ret)
{
	size_t n = self->nr, i, k = 0;
	_cleanup_free_ struct span *s = NULL;
	uint64_t cand = REGION_LOW;

	for (unsigned m = 0; m < nr_mms; m++)
		n += mms[m] ? mms[m]->n_vmas : 0;
	s = xmalloc(sizeof(*s) * (n ? n : 1));
	if (!s)
		return -ENOMEM;
	for (unsigned m = 0; m < nr_mms; m++)
		for (i = 0; mms[m] && i < mms[m]->n_vmas; i++)
			s[k++] = (struct span){ mms[m]->vmas[i]->start, mms[m]->vmas[i]->end };
	for (i = 0; i < self->nr; i++)
		s[k++] = (struct span){ self->vmas[i].start, self->vmas[i].end };
	qsort(s, k, sizeof(*s), cmp_span);
	for (i = 0; i < k; i++) {
		if (cand + size + PAGE_SIZE <= s[i].start)
			break;
		if (s[i].end + PAGE_SIZE > cand)
			cand = s[i].end + PAGE_SIZE;
	}
	if (cand + size > ARCH_TASK_SIZE)
		return -ENOMEM;
	*ret = cand;
	return 0;
}

/* An address range free in cr's layout and in the dumped one. */
static int find_region(const MmEntry *mm, const struct proc_maps *self, size_t size, uint64_t *ret)
{
	int err = region_find_free(&mm, 1, self, size, ret);

	if (err == -ENOMEM)
		return pr_errno(err, "no free address range of %zu bytes for the restorer", size);
	return err;
}

static const char *const special_names[RESTORER_NR_SPECIAL] = { "[vvar_vclock]", "[vvar]", "[vdso]" };
static const VmaKind special_kinds[RESTORER_NR_SPECIAL] = {
	VMA_KIND__VMA_VVAR_VCLOCK, VMA_KIND__VMA_VVAR, VMA_KIND__VMA_VDSO,
};

/*
 * Our own vdso and vvar pages become the task's: the restorer parks them
 * in the region, then moves each to its dumped address. Same kernel, same
 * sizes; a different layout means the image comes from another kernel.
 */
static int plan_specials(struct rst_task *r, const struct proc_maps *self, uint64_t park_base)
{
	struct restorer_args *a = r->args;
	uint64_t lo = UINT64_MAX;
	unsigned i;
	size_t j;

	for (j = 0; j < self->nr; j++)
		for (i = 0; i < RESTORER_NR_SPECIAL; i++)
			if (self->vmas[j].path && !strcmp(self->vmas[j].path, special_names[i]) &&
			    self->vmas[j].start < lo)
				lo = self->vmas[j].start;

	for (i = 0; i < RESTORER_NR_SPECIAL; i++) {
		const struct proc_vma *own = NULL;
		const VmaEntry *dumped = NULL;
		struct restorer_special *s;

		for (j = 0; j < self->nr; j++)
			if (self->vmas[j].path && !strcmp(self->vmas[j].path, special_names[i]))
				own = &self->vmas[j];
		for (j = 0; j < r->mm->n_vmas; j++)
			if (r->mm->vmas[j]->kind == special_kinds[i])
				dumped = r->mm->vmas[j];
		if (!own && !dumped)
			continue;
		if (!own || (dumped && dumped->end - dumped->start != own->end - own->start))
			return pr_errno(-EOPNOTSUPP, "mm-%d.img: its %s does not match this kernel's (dumped on another kernel?)",
					r->pid, special_names[i]);
		s = &a->special[a->nr_special++];
		s->cur_start = own->start;
		s->size = own->end - own->start;
		s->park = park_base + (own->start - lo);
		s->dumped_start = dumped ? dumped->start : s->park;
	}
	return 0;
}

static size_t specials_span(const struct proc_maps *self)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t j;
	unsigned i;

	for (j = 0; j < self->nr; j++)
		for (i = 0; i < RESTORER_NR_SPECIAL; i++)
			if (self->vmas[j].path && !strcmp(self->vmas[j].path, special_names[i])) {
				lo = min(lo, self->vmas[j].start);
				hi = max(hi, self->vmas[j].end);
			}
	return hi > lo ? hi - lo : 0;
}

/* Moves @fd to a number >= @from, where the task's own fds cannot be. */
int move_fd_high(int *fd, int from)
{
	int nfd;

	if (*fd < 0 || *fd >= from)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, from);
	if (nfd < 0)
		return pr_errno(-errno, "moving fd %d above %d", *fd, from);
	close(*fd);
	*fd = nfd;
	return 0;
}

/* VMF_* bits of the image to the madvise() calls that set them. */
static const struct {
	uint32_t vmf;
	uint32_t advice;
} madv_map[] = {
	{ VMF_DONTDUMP, MADV_DONTDUMP }, { VMF_DONTCOPY, MADV_DONTFORK },
	{ VMF_WIPEONFORK, MADV_WIPEONFORK }, { VMF_HUGEPAGE, MADV_HUGEPAGE },
	{ VMF_NOHUGEPAGE, MADV_NOHUGEPAGE }, { VMF_MERGEABLE, MADV_MERGEABLE },
	{ VMF_SEQ_READ, MADV_SEQUENTIAL }, { VMF_RAND_READ, MADV_RANDOM },
};
BUILD_BUG_ON(ARRAY_SIZE(madv_map) > RESTORER_MAX_MADV);

static void fill_madv(struct restorer_vma *v, uint32_t vmf)
{
	for (unsigned i = 0; i < ARRAY_SIZE(madv_map); i++)
		if (vmf & madv_map[i].vmf)
			v->madv[v->nr_madv++] = madv_map[i].advice;
}

static int fill_guards(struct rst_task *r)
{
	unsigned nr = mem_guard_ops(r->mm, &r->mem, NULL);
	struct restorer_guard *g;

	if (!nr)
		return 0;
	g = region_alloc(&r->rg, sizeof(*g) * nr, 8);
	if (!g)
		return -ENOMEM;
	mem_guard_ops(r->mm, &r->mem, g);
	r->args->guards = (uint64_t)g;
	r->args->nr_guards = nr;
	return 0;
}

static int fill_vmas(struct rst_task *r, int keep_from)
{
	struct restorer_args *a = r->args;
	struct restorer_vma *v;
	struct restorer_iov *iov;
	uint64_t *offs;
	uint8_t *srcs;
	size_t i;
	unsigned k = 0;
	int err;

	v = region_alloc(&r->rg, sizeof(*v) * (r->mm->n_vmas + 1), 8);
	iov = region_alloc(&r->rg, sizeof(*iov) * (r->mem.nr_runs + 1), 8);
	offs = region_alloc(&r->rg, sizeof(*offs) * (r->mem.nr_runs + 1), 8);
	srcs = region_alloc(&r->rg, sizeof(*srcs) * (r->mem.nr_runs + 1), 8);
	if (!v || !iov || !offs || !srcs)
		return -ENOMEM;
	for (i = 0; i < r->mm->n_vmas; i++) {
		const VmaEntry *e = r->mm->vmas[i];

		if (e->kind == VMA_KIND__VMA_VDSO || e->kind == VMA_KIND__VMA_VVAR ||
		    e->kind == VMA_KIND__VMA_VVAR_VCLOCK || e->kind == VMA_KIND__VMA_VSYSCALL ||
		    e->kind == VMA_KIND__VMA_AIO_RING)	/* io_setup() makes it: mem-aio.c */
			continue;
		err = move_fd_high(&r->mem.vma_fds[i], keep_from);
		if (err)
			return err;
		v[k] = (struct restorer_vma){
			.start = e->start, .end = e->end, .pgoff = e->pgoff, .prot = e->prot,
			.flags = r->mem.vma_fds[i] >= 0 ? e->flags & ~MAP_ANONYMOUS : e->flags,
			.fd = r->mem.vma_fds[i], .has_pages = mem_vma_has_pages(e),
			.sysv_id = r->mem.vma_sysv[i],
			.locked = !!(e->mlock & VMF_LOCKED),
			.lock_flags = (e->mlock & VMF_LOCKONFAULT) ? MLOCK_ONFAULT : 0,
			.premap = cow_vma_slot(r, i),
			.lazy = r->lazy && lazy_vma(e),
		};
		fill_madv(&v[k], e->madv);
		k++;
	}
	a->vmas = (uint64_t)v;
	a->nr_vmas = k;
	a->nr_iovs = 0;
	for (i = 0; i < r->mem.nr_runs; i++) {
		if (cow_run_premapped(r, i) || r->mem.runs[i].lazy)
			continue;	/* in place before the fork, or the lazy-pages daemon's */
		iov[a->nr_iovs] = (struct restorer_iov){ r->mem.runs[i].vaddr, r->mem.runs[i].len };
		srcs[a->nr_iovs] = r->mem.runs[i].src;
		offs[a->nr_iovs++] = r->mem.runs[i].off;
	}
	a->iovs = (uint64_t)iov;
	a->iov_offs = (uint64_t)offs;
	a->iov_srcs = (uint64_t)srcs;
	return fill_guards(r);
}

static int fill_mm(struct rst_task *r)
{
	struct restorer_args *a = r->args;
	const MmEntry *mm = r->mm;
	uint64_t *auxv;

	auxv = region_alloc(&r->rg, sizeof(uint64_t) * (mm->n_auxv + 2), 8);
	if (!auxv)
		return -ENOMEM;
	memcpy(auxv, mm->auxv, sizeof(uint64_t) * mm->n_auxv);
	a->mm_map = (struct restorer_mm_map){
		.start_code = mm->start_code, .end_code = mm->end_code,
		.start_data = mm->start_data, .end_data = mm->end_data,
		.start_brk = mm->start_brk, .brk = mm->brk, .start_stack = mm->start_stack,
		.arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
		.auxv = (uint64_t)auxv, .auxv_size = sizeof(uint64_t) * mm->n_auxv,
		.exe_fd = r->exe_fd,
	};
	return 0;
}

/* The fds the restorer waits for after the go (connections cr takes out of repair mode). */
static int fill_finish_fds(struct rst_task *r)
{
	unsigned nr = files_plan_finish_fds(r->files, NULL, 0);
	int *fds;

	if (!nr)
		return 0;
	fds = region_alloc(&r->rg, sizeof(*fds) * nr, 8);
	if (!fds)
		return -ENOMEM;
	files_plan_finish_fds(r->files, fds, nr);
	r->args->finish_fds = (uint64_t)fds;
	r->args->nr_finish_fds = nr;
	return 0;
}

/* The task's POSIX locks go to its restorer. */
static int fill_posix_locks(struct rst_task *r)
{
	const struct restorer_lock *locks;
	unsigned nr = files_posix_locks(r->files, &locks);
	struct restorer_lock *l;

	if (!nr)
		return 0;
	l = region_alloc(&r->rg, sizeof(*l) * nr, 8);
	if (!l)
		return -ENOMEM;
	memcpy(l, locks, sizeof(*l) * nr);
	r->args->locks = (uint64_t)l;
	r->args->nr_locks = nr;
	return 0;
}

/*
 * Everything the restorer reads, into r->rg from its start; the region
 * ends up at @addr with @size bytes (the measuring pass: anywhere, 0).
 */
static int fill_region(struct rst_task *r, const struct proc_maps *self, uint64_t addr, size_t size,
		       size_t park, int keep_from)
{
	int err;

	if (addr)	/* the measuring pass needs only the room */
		memcpy(r->rg.base, restorer_blob, sizeof(restorer_blob));
	r->rg.used = sizeof(restorer_blob);
	r->args = region_alloc(&r->rg, sizeof(*r->args), 64);
	if (!r->args)
		return -ENOMEM;
	memset(r->args, 0, sizeof(*r->args));
	r->args->region_start = addr;
	r->args->region_size = size;
	r->args->task_size = ARCH_TASK_SIZE;
	r->args->pid = r->pid;

	err = plan_specials(r, self, addr + size - ALIGN_UP(park, PAGE_SIZE));
	if (!err)
		err = cow_fill_keep(r, addr, size);
	if (!err)
		err = fill_vmas(r, keep_from);
	if (!err)
		err = fill_mm(r);
	if (!err)
		err = core_prepare_restore(r->core, r->pid, r->args, &r->rg);
	if (!err)
		err = fill_posix_locks(r);
	if (!err)
		err = fill_finish_fds(r);
	if (!err)
		err = mem_aio_fill_args(r->mm, &r->rg, r->args);
	/* Not into memory the daemon fills: khugepaged leaves userfaultfd VMAs alone. */
	if (!err && !r->lazy)
		err = mem_thp_fill_args(r->mm, &r->rg, r->args);
	return err;
}

/* What the region must hold: filled once in scratch memory, measured. */
static int measure_region(struct rst_task *r, const struct proc_maps *self, size_t park, int keep_from,
			  size_t *ret_size)
{
	int err = region_map_scratch(&r->rg, REGION_SCRATCH_SIZE);

	if (err)
		return err;
	err = fill_region(r, self, 0, 0, park, keep_from);
	if (!err)
		*ret_size = ALIGN_UP(ALIGN_UP(r->rg.used, PAGE_SIZE) + RESTORER_STACK_SIZE, PAGE_SIZE) +
			    ALIGN_UP(park, PAGE_SIZE);
	region_unmap(&r->rg);
	r->args = NULL;
	return err;
}

/* Maps the region and fills everything the restorer needs. */
int region_build(struct rst_task *r, int keep_from)
{
	struct proc_maps self = { 0 };
	size_t park, size = 0;
	uint64_t addr;
	void *p;
	int err;

	err = proc_parse_maps(getpid(), &self);
	if (err)
		return err;
	park = specials_span(&self);
	err = measure_region(r, &self, park, keep_from, &size);
	if (!err)
		err = find_region(r->mm, &self, size, &addr);
	if (err)
		goto out;
	p = mmap((void *)addr, size, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED) {
		err = pr_errno(-errno, "mapping the restorer region at %lx", (unsigned long)addr);
		goto out;
	}
	r->rg = (struct region){ .base = p, .size = size - ALIGN_UP(park, PAGE_SIZE) - RESTORER_STACK_SIZE };
	err = fill_region(r, &self, addr, size, park, keep_from);
out:
	proc_maps_free(&self);
	return err;
}

/* Binary search: the restorer's VMAs are in address order. */
static struct restorer_vma *find_rvma(struct restorer_args *a, uint64_t start)
{
	struct restorer_vma *v = (void *)a->vmas;
	size_t lo = 0, hi = a->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->nr_vmas && v[lo].start == start ? &v[lo] : NULL;
}

int region_bind_files(struct rst_task *r, struct files_rst *rf, int keep_from)
{
	for (size_t i = 0; i < r->mm->n_vmas; i++) {
		const VmaEntry *e = r->mm->vmas[i];
		bool rw = e->kind == VMA_KIND__VMA_FILE_SHARED && e->file_writable;
		struct restorer_vma *v;
		char p[64];
		int fd, err;

		if (!e->has_file_id)
			continue;
		v = find_rvma(r->args, e->start);
		fd = files_rst_mapped_fd(rf, e->file_id);
		if (fd < 0)
			return fd;
		if (!v || (e->kind != VMA_KIND__VMA_FILE_PRIVATE && e->kind != VMA_KIND__VMA_FILE_SHARED))
			return pr_errno(-EBADMSG, "mm-%d.img: mapping at %lx names file id %u but is no file mapping",
					r->pid, (unsigned long)e->start, e->file_id);
		/* A description of its own, opened as the mapping needs. */
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		r->mem.vma_fds[i] = open(p, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (r->mem.vma_fds[i] < 0)
			return pr_errno(-errno, "pid %d: deleted file %s (file id %u) for the mapping at %lx",
					r->pid, e->path, e->file_id, (unsigned long)e->start);
		err = move_fd_high(&r->mem.vma_fds[i], keep_from);
		if (err)
			return err;
		v->fd = r->mem.vma_fds[i];
	}
	return 0;
}

void region_free(struct rst_task *r)
{
	if (r->args)
		munmap(r->rg.base, r->args->region_size);
	r->args = NULL;
	r->rg = (struct region){ 0 };
}
