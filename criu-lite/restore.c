/*
 * cr restore: read and verify every image, then create the task with its
 * PID, let the restorer blob rebuild it, and release it when it is
 * complete. A failure at any step kills what was created.
 */
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "cr.h"
#include "files.h"
#include "image.h"
#include "infect.h"
#include "inventory.pb-c.h"
#include "log.h"
#include "mem.h"
#include "proc-parse.h"
#include "pstree.pb-c.h"
#include "region.h"
#include "restorer-abi.h"
#include "restorer-blob.h"

#define READY_TIMEOUT_MS	30000
/* glibc registers its rseq area with the original 32-byte ABI length
 * even where __rseq_size reports the smaller feature size. */
#define RSEQ_REG_LEN		(__rseq_size > 32 ? __rseq_size : 32)

/* The kernel's struct ptrace_syscall_info, the parts we read. */
#define GET_SYSCALL_INFO	0x420e
#define SYSCALL_INFO_ENTRY	1
#define SYSCALL_INFO_EXIT	2
struct syscall_info {
	uint8_t op;
	uint8_t pad[3];
	uint32_t arch;
	uint64_t ip, sp;
	union {
		struct { uint64_t nr, args[6]; } entry;
		struct { int64_t rval; uint8_t is_error; } exit;
	};
};
#define REGION_LOW		0x10000000ULL	/* search for room above 256 MiB */

static const char *const step_names[RSTEP_MAX] = {
	[RSTEP_CHILD_SETUP] = "setting up the new process (session, cwd, files)",
	[RSTEP_PARK_VDSO] = "moving the vdso aside",
	[RSTEP_UNMAP] = "unmapping cr's memory",
	[RSTEP_MAP_VMAS] = "mapping the dumped memory",
	[RSTEP_MADVISE] = "madvise() of the dumped memory",
	[RSTEP_READ_PAGES] = "reading pages",
	[RSTEP_PROTECT] = "setting memory protections",
	[RSTEP_MOVE_VDSO] = "moving the vdso into place",
	[RSTEP_MM_MAP] = "PR_SET_MM_MAP",
	[RSTEP_SIGACTIONS] = "signal actions",
	[RSTEP_ITIMERS] = "interval timers",
	[RSTEP_POSIX_TIMERS] = "POSIX timers (PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.15)",
	[RSTEP_RLIMITS] = "resource limits",
	[RSTEP_TASK_MISC] = "personality and name",
	[RSTEP_SIGNALS] = "queueing pending signals",
	[RSTEP_TLS] = "TLS base registers",
	[RSTEP_RSEQ] = "registering rseq",
	[RSTEP_CREDS] = "credentials (uids, gids, groups, capabilities)",
	[RSTEP_SECCOMP] = "installing seccomp filters",
	[RSTEP_WAIT] = "waiting to go live",
};

struct page_verifier {
	pthread_t thread;
	bool started;
	int pages_fd;
	const struct mem_plan *plan;
	unsigned bad;
	int ret;
};

struct restore_ctx {
	int dfd;
	struct page_verifier verifier;
	InventoryEntry *inv;
	PstreeEntry *pst;
	CoreEntry *core;
	MmEntry *mm;
	struct img *pages;
	struct mem_plan mem;
	struct files_plan *files;
	int exe_fd;
	struct region rg;
	struct restorer_args *args;
	pid_t pid;
};

void *region_alloc(struct region *rg, size_t size, size_t align)
{
	size_t off = ALIGN_UP(rg->used, align);

	if (off + size > rg->size) {
		pr_err("restorer region too small (%zu + %zu > %zu)", off, size, rg->size);
		return NULL;
	}
	rg->used = off + size;
	return rg->base + off;
}

static int read_one_image(int dfd, enum img_type type, unsigned id, enum pb_type pb, void **ret)
{
	_cleanup_img_ struct img *img = NULL;
	int err = img_open(dfd, type, id, O_RDONLY, &img);

	return err ? err : pb_read_one_required(img, ret, pb);
}

static int read_images(struct restore_ctx *r)
{
	_cleanup_img_ struct img *img = NULL;
	void *extra;
	int err;

	err = read_one_image(r->dfd, IMG_INVENTORY, 0, PB_INVENTORY, (void **)&r->inv);
	if (err)
		return err;
	if (r->inv->img_version != IMG_FORMAT_VERSION)
		return pr_errno(-EBADMSG, "inventory.img: image format version %u, this cr reads version %u",
				r->inv->img_version, IMG_FORMAT_VERSION);
	if (r->inv->xfeatures & ~arch_xfeatures())
		return pr_errno(-EOPNOTSUPP, "inventory.img: dumped on a CPU with features 0x%llx, this one has 0x%llx",
				(unsigned long long)r->inv->xfeatures,
				(unsigned long long)arch_xfeatures());

	err = img_open(r->dfd, IMG_PSTREE, 0, O_RDONLY, &img);
	if (!err)
		err = pb_read_one_required(img, (void **)&r->pst, PB_PSTREE);
	if (err)
		return err;
	err = pb_read_one(img, &extra, PB_PSTREE);
	if (err > 0) {
		pb_free(extra, PB_PSTREE);
		return pr_errno(-EOPNOTSUPP, "pstree.img: holds a process tree; only single processes are supported yet");
	}
	if (err < 0)
		return err;
	r->pid = r->pst->pid;
	if (r->pid <= 0 || r->pid != (pid_t)r->inv->root_pid)
		return pr_errno(-EBADMSG, "pstree.img: pid %d does not match inventory.img (%u)", r->pid,
				r->inv->root_pid);

	err = read_one_image(r->dfd, IMG_CORE, r->pid, PB_CORE, (void **)&r->core);
	if (!err)
		err = read_one_image(r->dfd, IMG_MM, r->pid, PB_MM, (void **)&r->mm);
	if (!err)
		err = img_open(r->dfd, IMG_PAGES, r->inv->pages_id, O_RDONLY, &r->pages);
	if (!err)
		err = mem_prepare(r->dfd, r->pid, r->mm, r->pages->fd, &r->mem);
	if (!err)
		err = files_prepare(r->dfd, r->pid, &r->files);
	if (err)
		return err;
	r->exe_fd = open(r->mm->exe, O_RDONLY | O_CLOEXEC);
	if (r->exe_fd < 0)
		return pr_errno(-errno, "executable %s", r->mm->exe);
	return 0;
}

static int check_pid_free(pid_t pid)
{
	char path[32];
	_cleanup_free_ char *comm = NULL;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK) == 0) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		if (read_file_at(AT_FDCWD, path, &comm, NULL))
			return pr_errno(-EEXIST, "pid %d is in use; it must be free to restore", pid);
		comm[strcspn(comm, "\n")] = 0;
		return pr_errno(-EEXIST, "pid %d is in use (by %s); it must be free to restore", pid, comm);
	}
	return 0;
}

struct span {
	uint64_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* An address range free in cr's layout and in the dumped one. */
static int find_region(const MmEntry *mm, const struct proc_maps *self, size_t size, uint64_t *ret)
{
	size_t n = mm->n_vmas + self->nr, i, k = 0;
	_cleanup_free_ struct span *s = xmalloc(sizeof(*s) * (n ? n : 1));
	uint64_t cand = REGION_LOW;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < mm->n_vmas; i++)
		s[k++] = (struct span){ mm->vmas[i]->start, mm->vmas[i]->end };
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
		return pr_errno(-ENOMEM, "no free address range of %zu bytes for the restorer", size);
	*ret = cand;
	return 0;
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
static int plan_specials(struct restore_ctx *r, const struct proc_maps *self, uint64_t park_base)
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
static int move_fd_high(int *fd, int from)
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

static int fill_vmas(struct restore_ctx *r, int keep_from)
{
	struct restorer_args *a = r->args;
	struct restorer_vma *v;
	struct restorer_iov *iov;
	size_t i;
	unsigned k = 0;
	int err;

	v = region_alloc(&r->rg, sizeof(*v) * (r->mm->n_vmas + 1), 8);
	iov = region_alloc(&r->rg, sizeof(*iov) * (r->mem.nr_runs + 1), 8);
	if (!v || !iov)
		return -ENOMEM;
	for (i = 0; i < r->mm->n_vmas; i++) {
		const VmaEntry *e = r->mm->vmas[i];

		if (e->kind == VMA_KIND__VMA_VDSO || e->kind == VMA_KIND__VMA_VVAR ||
		    e->kind == VMA_KIND__VMA_VVAR_VCLOCK || e->kind == VMA_KIND__VMA_VSYSCALL)
			continue;
		err = move_fd_high(&r->mem.vma_fds[i], keep_from);
		if (err)
			return err;
		v[k] = (struct restorer_vma){
			.start = e->start, .end = e->end, .pgoff = e->pgoff, .prot = e->prot,
			.flags = e->flags, .fd = r->mem.vma_fds[i],
			.has_pages = e->kind != VMA_KIND__VMA_FILE_SHARED,
		};
		fill_madv(&v[k], e->madv);
		k++;
	}
	a->vmas = (uint64_t)v;
	a->nr_vmas = k;
	for (i = 0; i < r->mem.nr_runs; i++)
		iov[i] = (struct restorer_iov){ r->mem.runs[i].vaddr, r->mem.runs[i].len };
	a->iovs = (uint64_t)iov;
	a->nr_iovs = r->mem.nr_runs;
	a->pages_off = r->mem.pages_off;
	return 0;
}

static int fill_mm(struct restore_ctx *r)
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

static size_t region_size(const struct restore_ctx *r, size_t park)
{
	size_t s = ALIGN_UP(sizeof(restorer_blob), 64) + sizeof(struct restorer_args) + 64;

	s += sizeof(struct restorer_vma) * (r->mm->n_vmas + 1) + 64;
	s += sizeof(struct restorer_iov) * (r->mem.nr_runs + 1) + 64;
	s += sizeof(uint64_t) * (r->mm->n_auxv + 2) + 64;
	s += 128 * (r->core->thread->n_pending_sigs + r->core->n_shared_pending_sigs + 1) + 64;
	s += ARCH_SIGFRAME_SIZE(arch_xsave_size()) + 128;
	s = ALIGN_UP(s, PAGE_SIZE) + RESTORER_STACK_SIZE;
	return ALIGN_UP(s, PAGE_SIZE) + ALIGN_UP(park, PAGE_SIZE);
}

/* Maps the region and fills everything the restorer needs. */
static int build_region(struct restore_ctx *r, int keep_from)
{
	struct proc_maps self = { 0 };
	size_t park, size;
	uint64_t addr;
	void *p;
	int err;

	err = proc_parse_maps(getpid(), &self);
	if (err)
		return err;
	park = specials_span(&self);
	size = region_size(r, park);
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
	memcpy(p, restorer_blob, sizeof(restorer_blob));
	r->rg.used = sizeof(restorer_blob);
	r->args = region_alloc(&r->rg, sizeof(*r->args), 64);
	if (!r->args) {
		err = -ENOMEM;
		goto out;
	}
	r->args->region_start = addr;
	r->args->region_size = size;
	r->args->task_size = ARCH_TASK_SIZE;
	r->args->pid = r->pid;

	err = plan_specials(r, &self, addr + size - ALIGN_UP(park, PAGE_SIZE));
	if (!err)
		err = fill_vmas(r, keep_from);
	if (!err)
		err = fill_mm(r);
	if (!err)
		err = core_prepare_restore(r->core, r->pid, r->args, &r->rg);
out:
	proc_maps_free(&self);
	return err;
}

/* In the child, still in cr's code: what needs libc, then the blob. */
static __noreturn void child_main(struct restore_ctx *r, int keep_from)
{
	struct restorer_args *a = r->args;
	const CoreEntry *c = r->core;
	uint64_t stack_top = a->region_start + r->rg.size + RESTORER_STACK_SIZE - 64;
	int err = 0;

	sigset_t all;

	/*
	 * Nothing may be delivered until rt_sigreturn installs the dumped
	 * mask: the restorer sets handlers and queues signals meanwhile.
	 */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* cr's log fd may be one of the numbers the task's files take. */
	log_use_fd(a->log_fd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (r->pst->sid == (uint32_t)r->pid) {
		if (setsid() < 0)
			err = pr_errno(-errno, "pid %d: setsid", r->pid);
	} else if (r->pst->pgid == (uint32_t)r->pid) {
		if (setpgid(0, 0))
			err = pr_errno(-errno, "pid %d: setpgid", r->pid);
	}
	umask(c->umask);
	if (!err && strcmp(c->root, "/") && chroot(c->root))
		err = pr_errno(-errno, "pid %d: chroot %s", r->pid, c->root);
	if (!err && chdir(c->cwd))
		err = pr_errno(-errno, "pid %d: chdir %s", r->pid, c->cwd);
	if (!err)
		err = files_restore(r->files, keep_from);
	/*
	 * glibc registered an rseq area in cr's TLS; the restorer unmaps it,
	 * and the kernel would then kill us with SIGSEGV on the next return
	 * to user space that updates it. Unregister it first.
	 */
	if (!err && __rseq_size &&
	    syscall(SYS_rseq, (char *)__builtin_thread_pointer() + __rseq_offset, RSEQ_REG_LEN,
		    RSEQ_FLAG_UNREGISTER, RSEQ_SIG))
		err = pr_errno(-errno, "pid %d: unregistering cr's rseq area", r->pid);
	if (err) {
		a->err = err;
		a->step = RSTEP_CHILD_SETUP;
		__atomic_store_n(&a->status, RESTORER_FAILED, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &a->status, FUTEX_WAKE, 1, NULL, NULL, 0);
		_exit(1);
	}
	arch_jump_to_blob(a->region_start + restorer_blob_offset__blob_start, stack_top, (uint64_t)a);
}

static pid_t clone_with_pid(pid_t pid)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t tid = pid;

	ca.set_tid = (uint64_t)&tid;
	ca.set_tid_size = 1;
	return syscall(SYS_clone3, &ca, sizeof(ca));
}

/* Waits for the restorer to report; 0 when ready, -errno (logged) else. */
static int wait_ready(struct restore_ctx *r)
{
	struct restorer_args *a = r->args;
	int waited = 0;

	while (waited < READY_TIMEOUT_MS) {
		struct timespec ts = { 0, 100 * 1000000 };
		uint32_t st = __atomic_load_n(&a->status, __ATOMIC_SEQ_CST);
		int status;

		if (st == RESTORER_READY)
			return 0;
		if (st == RESTORER_FAILED) {
			const char *step = a->step < RSTEP_MAX && step_names[a->step] ? step_names[a->step] : "?";
			return pr_errno(a->err, "restore of pid %d failed at: %s", r->pid, step);
		}
		syscall(SYS_futex, &a->status, FUTEX_WAIT, st, &ts, NULL, 0);
		waited += 100;
		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			if (WIFSIGNALED(status))
				return pr_errno(-ECHILD, "restore of pid %d failed: it was killed by signal %d (%s)",
						r->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
			return pr_errno(-ECHILD, "restore of pid %d failed: it exited with %d",
					r->pid, WEXITSTATUS(status));
		}
	}
	return pr_errno(-ETIMEDOUT, "restore of pid %d: the restorer did not finish", r->pid);
}

/*
 * The task waits on the go futex. Seize it, let it run up to the end of
 * its rt_sigreturn (it is then in its dumped state), unmap the region
 * from the inside, and let it go.
 */
static int release_task(struct restore_ctx *r)
{
	struct restorer_args *a = r->args;
	struct parasite_ctl *ctl = NULL;
	pid_t pid = r->pid;
	long nr = -1, ret;
	int err, status;

	err = infect_seize(pid);
	if (err)
		return err;
	__atomic_store_n(&a->go, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &a->go, FUTEX_WAKE, 1, NULL, NULL, 0);

	for (;;) {
		struct syscall_info info;

		if (ptrace(PTRACE_SYSCALL, pid, 0, 0))
			return pr_errno(-errno, "pid %d: PTRACE_SYSCALL", pid);
		if (waitpid(pid, &status, __WALL) != pid)
			return pr_errno(-errno, "pid %d: waitpid", pid);
		if (!WIFSTOPPED(status))
			return pr_errno(-ECHILD, "pid %d: died going live (status 0x%x)", pid, status);
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			siginfo_t si = { 0 };
			struct infect_regs rr = { 0 };

			ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
			if (!infect_get_regs(pid, &rr))
				pr_err("pid %d: signal %d addr %p at ip %llx sp %llx", pid, si.si_signo, si.si_addr,
				       rr.gpr.ip, rr.gpr.sp);
			infect_regs_free(&rr);
			return pr_errno(-EIO, "pid %d: unexpected stop 0x%x going live", pid, status);
		}
		if (ptrace(GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0)
			return pr_errno(-errno, "pid %d: PTRACE_GET_SYSCALL_INFO", pid);
		pr_debug("pid %d: going live: syscall %s %ld ip %lx", pid,
			 info.op == SYSCALL_INFO_ENTRY ? "entry" : "exit",
			 info.op == SYSCALL_INFO_ENTRY ? (long)info.entry.nr : (long)info.exit.rval,
			 (unsigned long)info.ip);
		if (info.op == SYSCALL_INFO_ENTRY)
			nr = info.entry.nr;
		else if (info.op == SYSCALL_INFO_EXIT && nr == ARCH_NR_RT_SIGRETURN)
			break;
	}

	err = infect_prepare(pid, a->region_start + restorer_blob_offset__syscall_insn, &ctl);
	if (err)
		return err;
	err = infect_syscall(ctl, __NR_munmap, &ret, a->region_start, a->region_size, 0, 0, 0, 0);
	if (!err && ret)
		err = pr_errno((int)ret, "pid %d: unmapping the restorer", pid);
	if (!err)
		err = infect_cure(ctl);
	else
		infect_cure(ctl);
	if (!err)
		err = infect_detach(pid);
	return err;
}

static void *verify_thread(void *arg)
{
	struct page_verifier *v = arg;

	v->ret = mem_verify_pages(v->pages_fd, v->plan, &v->bad);
	return NULL;
}

/*
 * Page checksums are checked on the second core while the restorer reads
 * the same pages into place: a full pass before the fork would cost as
 * much again as the restore itself. The task cannot go live before the
 * check passed (release_task runs after verifier_join), and a mismatch
 * kills it, so a corrupted page never runs.
 */
static int verifier_start(struct restore_ctx *r)
{
	struct page_verifier *v = &r->verifier;
	int err;

	v->pages_fd = r->pages->fd;
	v->plan = &r->mem;
	err = pthread_create(&v->thread, NULL, verify_thread, v);
	if (err)
		return pr_errno(-err, "starting the page checksum thread");
	v->started = true;
	return 0;
}

static int verifier_join(struct restore_ctx *r)
{
	struct page_verifier *v = &r->verifier;

	if (!v->started)
		return 0;
	pthread_join(v->thread, NULL);
	v->started = false;
	if (v->ret == -EBADMSG)
		mem_log_bad_run(v->plan, v->bad);
	else if (v->ret)
		pr_errno(v->ret, "pages-%u.img: reading for the checksum check", v->plan->pages_id);
	return v->ret;
}

static void restore_ctx_release(struct restore_ctx *r)
{
	verifier_join(r);
	if (r->args)
		munmap(r->rg.base, r->args->region_size);
	if (r->exe_fd >= 0)
		close(r->exe_fd);
	files_plan_free(r->files);
	mem_plan_free(&r->mem);
	img_close(r->pages);
	if (r->core)
		pb_free(r->core, PB_CORE);
	if (r->mm)
		pb_free(r->mm, PB_MM);
	if (r->pst)
		pb_free(r->pst, PB_PSTREE);
	if (r->inv)
		pb_free(r->inv, PB_INVENTORY);
	if (r->dfd >= 0)
		close(r->dfd);
}

static int write_pidfile(pid_t pid)
{
	_cleanup_fclose_ FILE *f = NULL;

	if (!opts.pidfile)
		return 0;
	f = fopen(opts.pidfile, "we");
	if (!f || fprintf(f, "%d", pid) < 0)
		return pr_errno(-errno, "pidfile %s", opts.pidfile);
	return 0;
}

int cr_restore(void)
{
	struct restore_ctx r = { .dfd = -1, .exe_fd = -1 };
	int err, keep_from, log_fd;
	pid_t child = -1;

	infect_set_logger(log_line);
	r.dfd = open(opts.images_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.dfd < 0) {
		err = pr_errno(-errno, "image directory %s", opts.images_dir);
		goto out;
	}
	err = read_images(&r);
	if (!err)
		err = check_pid_free(r.pid);
	if (err)
		goto out;

	/* cr's own fds in the new task sit above all of the task's. */
	keep_from = max(files_max_fd(r.files) + 1, 3);
	log_fd = log_get_fd();
	err = move_fd_high(&r.pages->fd, keep_from);
	if (!err)
		err = move_fd_high(&r.exe_fd, keep_from);
	if (!err)
		err = build_region(&r, keep_from);
	if (err)
		goto out;
	r.args->pages_fd = r.pages->fd;
	r.args->mm_map.exe_fd = r.exe_fd;
	r.args->helper_fd_from = keep_from;
	r.args->log_level = log_get_level();
	r.args->log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, keep_from);
	err = cr_fail_point("fork");
	if (!err)
		err = verifier_start(&r);
	if (err)
		goto out;

	child = clone_with_pid(r.pid);
	if (child < 0) {
		err = -errno;
		if (err == -EEXIST)
			err = pr_errno(err, "pid %d is in use; it must be free to restore", r.pid);
		else
			err = pr_errno(err, "clone3 with pid %d", r.pid);
		goto out;
	}
	if (child == 0)
		child_main(&r, keep_from);
	if (r.args->log_fd >= 0)
		close(r.args->log_fd);

	err = wait_ready(&r);
	if (!err)
		err = verifier_join(&r);
	if (!err)
		err = core_restore_oom_score_adj(r.core, r.pid);
	if (!err)
		err = cr_fail_point("restorer");
	if (!err)
		err = release_task(&r);
	if (err) {
		kill(child, SIGKILL);
		waitpid(child, NULL, __WALL);
		goto out;
	}
	pr_info("pid %d: restored", r.pid);
	err = write_pidfile(r.pid);
	if (!err && !opts.restore_detached) {
		int status;

		restore_ctx_release(&r);
		if (waitpid(child, &status, 0) != child)
			return pr_errno(-errno, "waiting for pid %d", child);
		opts.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		return 0;
	}
out:
	restore_ctx_release(&r);
	return err;
}
