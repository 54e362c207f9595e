/*
 * The restorer: runs in the task being restored, from the region cr
 * mapped, after cr's own memory is no longer needed. It replaces the
 * address space with the dumped one, loads the pages, sets the
 * process-wide state, waits for cr's go, and rt_sigreturns into the
 * dumped registers. No libc: only sys_*() and the region.
 */
#include <linux/mman.h>
#include <linux/futex.h>
#include <linux/fcntl.h>
#include <linux/sched.h>
#include <linux/prctl.h>
#include <linux/errno.h>
#include <asm/signal.h>

#include "pie-lib.h"
#include "restorer-abi.h"
#include "restorer-aio.h"
#include "restorer-huge.h"
#include "restorer-uffd.h"
#include "asm/pie-arch.h"

#define MREMAP_MAYMOVE_	1
#define MREMAP_FIXED_	2
#define IOV_BATCH	1024	/* IOV_MAX */
#define SIGINFO_SIZE	128

static struct restorer_args *A;

static __noreturn void fail(u32 step, long err)
{
	pie_err("restore of pid %d failed at step %u: %d", A->pid, step, (int)err);
	A->err = (int)err;
	A->step = step;
	__atomic_store_n(&A->status, RESTORER_FAILED, __ATOMIC_SEQ_CST);
	sys_futex((void *)&A->status, FUTEX_WAKE, 1, 0, 0, 0);
	sys_exit_group(1);
	for (;;)
		;
}

#define CHECK(step, expr) ({ long __r = (expr); if (__r < 0) fail(step, __r); __r; })

/*
 * The kernel's vdso/vvar first wait inside the region while the layout
 * changes (@to_dumped = 0), then move to their dumped addresses (1).
 */
static void move_specials(int to_dumped)
{
	u32 i;

	for (i = 0; i < A->nr_special; i++) {
		struct restorer_special *s = &A->special[i];
		u64 from = to_dumped ? s->park : s->cur_start;
		u64 to = to_dumped ? s->dumped_start : s->park;

		if (from == to)
			continue;
		CHECK(to_dumped ? RSTEP_MOVE_VDSO : RSTEP_PARK_VDSO,
		      sys_mremap(from, s->size, s->size, MREMAP_MAYMOVE_ | MREMAP_FIXED_, to));
	}
}

/* Everything but the region and the premapped VMAs; [vsyscall] lies above task_size. */
static void unmap_old(void)
{
	const struct restorer_iov *keep = (const void *)A->keep;
	u64 from = 0;

	for (u32 i = 0; i < A->nr_keep; i++) {
		if (keep[i].base > from)
			CHECK(RSTEP_UNMAP, sys_munmap(from, keep[i].base - from));
		from = keep[i].base + keep[i].len;
	}
	if (from < A->task_size)
		CHECK(RSTEP_UNMAP, sys_munmap(from, A->task_size - from));
}

#define SHM_RDONLY_	010000
#define SHM_REMAP_	040000
#define SHM_EXEC_	0100000

/* A SysV segment is attached, not mapped: shmdt() and shm_nattch must work. */
static void map_sysv(const struct restorer_vma *v)
{
	int flags = SHM_REMAP_ | (v->prot & PROT_WRITE ? 0 : SHM_RDONLY_) | (v->prot & PROT_EXEC ? SHM_EXEC_ : 0);
	long addr = sys_shmat(v->sysv_id, v->start, flags);

	if (addr < 0 || (u64)addr != v->start) {
		pie_err("shmat %d at %lx: %ld", v->sysv_id, v->start, addr);
		fail(RSTEP_MAP_VMAS, addr < 0 ? addr : -22);
	}
	if (v->prot != (PROT_READ | (v->prot & (PROT_WRITE | PROT_EXEC))))
		CHECK(RSTEP_MAP_VMAS, sys_mprotect(v->start, v->end - v->start, v->prot));
}

static void map_vmas(void)
{
	struct restorer_vma *v = (void *)A->vmas;
	u32 i;

	for (i = 0; i < A->nr_vmas; i++, v++) {
		u64 prot = v->prot, flags = v->flags | MAP_FIXED;
		long addr;

		if (v->sysv_id >= 0) {
			map_sysv(v);
			continue;
		}
		/* Its pages are in already, some shared copy-on-write with the parent's. */
		if (v->premap) {
			addr = sys_mremap(v->premap, v->end - v->start, v->end - v->start,
					  MREMAP_MAYMOVE_ | MREMAP_FIXED_, v->start);
			if (addr < 0 || (u64)addr != v->start) {
				pie_err("mremap %lx to %lx-%lx: %ld", v->premap, v->start, v->end, addr);
				fail(RSTEP_MAP_VMAS, addr < 0 ? addr : -22);
			}
			continue;
		}
		/* Pages are read in through write permission, fixed later. */
		if (v->has_pages)
			prot |= PROT_READ | PROT_WRITE;
		addr = sys_mmap(v->start, v->end - v->start, prot, flags,
				v->fd, v->fd >= 0 ? v->pgoff : 0);
		if (addr < 0 || (u64)addr != v->start) {
			pie_err("mmap %lx-%lx prot %x flags %x fd %d: %ld", v->start, v->end,
				(unsigned)prot, (unsigned)flags, v->fd, addr);
			fail(RSTEP_MAP_VMAS, addr < 0 ? addr : -22);
		}
	}
}

static void madvise_vmas(void)
{
	struct restorer_vma *v = (void *)A->vmas;
	u32 i, j;

	for (i = 0; i < A->nr_vmas; i++, v++)
		for (j = 0; j < v->nr_madv; j++)
			CHECK(RSTEP_MADVISE, sys_madvise(v->start, v->end - v->start, v->madv[j]));
}

/*
 * Last, on the final VMAs: while the pages are read, neighbours that differ
 * only in protection are one VMA, and a guard would flag them all "gu".
 */
static void install_guards(void)
{
	struct restorer_guard *g = (void *)A->guards;

	for (u32 i = 0; i < A->nr_guards; i++) {
		CHECK(RSTEP_GUARDS, sys_madvise(g[i].start, g[i].len, RESTORER_MADV_GUARD_INSTALL));
		if (g[i].flag_only)
			CHECK(RSTEP_GUARDS, sys_madvise(g[i].start, g[i].len, RESTORER_MADV_GUARD_REMOVE));
	}
}

static void read_pages(void)
{
	struct restorer_iov *iov = (void *)A->iovs;
	u64 *offs = (void *)A->iov_offs;
	const u8 *srcs = (const void *)A->iov_srcs;
	u32 done = 0;

	while (done < A->nr_iovs) {
		u64 off = offs[done], want = iov[done].len;
		int fd = srcs[done] ? A->parent_fds[srcs[done] - 1] : A->pages_fd;
		u32 n = 1;
		long r;

		/* One preadv for the runs stored back to back in one image. */
		while (done + n < A->nr_iovs && n < IOV_BATCH && offs[done + n] == off + want &&
		       srcs[done + n] == srcs[done]) {
			want += iov[done + n].len;
			n++;
		}
		r = CHECK(RSTEP_READ_PAGES, sys_preadv(fd, &iov[done], n, off));
		A->bytes_read += r;
		if ((u64)r != want) {
			/* Short read: advance through the iovs and go on. */
			u64 left = r;

			if (!r)
				fail(RSTEP_READ_PAGES, -5);
			while (left >= iov[done].len) {
				left -= iov[done].len;
				done++;
			}
			iov[done].base += left;
			iov[done].len -= left;
			offs[done] += left;
			continue;
		}
		done += n;
	}
}

static void protect_vmas(void)
{
	struct restorer_vma *v = (void *)A->vmas;
	u32 i;

	for (i = 0; i < A->nr_vmas; i++, v++)
		if (v->has_pages && v->prot != (PROT_READ | PROT_WRITE))
			CHECK(RSTEP_PROTECT, sys_mprotect(v->start, v->end - v->start, v->prot));
}

/* With their final protections: mlock2() fills what it locks (unless MLOCK_ONFAULT). */
static void lock_vmas(void)
{
	struct restorer_vma *v = (void *)A->vmas;

	for (u32 i = 0; i < A->nr_vmas; i++, v++)
		if (v->locked)
			CHECK(RSTEP_MLOCK, sys_mlock2(v->start, v->end - v->start, v->lock_flags));
}

/*
 * Setting SIG_IGN first drops whatever is pending (the SIGCHLDs of the
 * helpers and zombies of the restore): afterwards only the signals the
 * image lists are pending, queued by restore_signals().
 */
static void restore_sigactions(void)
{
	struct restorer_sigaction ign = { .handler = (u64)SIG_IGN };
	int i;

	for (i = 1; i <= RESTORER_NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		CHECK(RSTEP_SIGACTIONS, sys_rt_sigaction(i, &ign, 0, 8));
		if (A->sa_valid[i - 1])
			CHECK(RSTEP_SIGACTIONS, sys_rt_sigaction(i, &A->sa[i - 1], 0, 8));
	}
}

static void restore_itimers(void)
{
	int i;

	for (i = 0; i < 3; i++)
		CHECK(RSTEP_ITIMERS, sys_setitimer(i, A->itimers[i], 0));
}

#define PR_TIMER_CREATE_RESTORE_IDS_	77

struct ksigevent {
	u64 value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

/*
 * POSIX record locks belong to the process and go when it closes any fd
 * of the file, so they are taken after cr's fds are closed.
 */
static void restore_posix_locks(void)
{
	const struct restorer_lock *l = (const void *)A->locks;

	for (u32 i = 0; i < A->nr_locks; i++) {
		struct flock fl = {
			.l_type = l[i].type, .l_whence = 0 /* SEEK_SET */,
			.l_start = l[i].start, .l_len = l[i].len,
		};

		CHECK(RSTEP_FILE_LOCKS, sys_fcntl(l[i].fd, F_SETLK, &fl));
	}
}

static void restore_posix_timers(void)
{
	struct restorer_timer *t = (void *)A->timers;
	u32 i;

	if (!A->nr_timers)
		return;
	/* timer_create() then takes the id to use from its third argument. */
	CHECK(RSTEP_POSIX_TIMERS, sys_prctl(PR_TIMER_CREATE_RESTORE_IDS_, 1, 0, 0, 0));
	for (i = 0; i < A->nr_timers; i++, t++) {
		struct ksigevent sev = { t->sigval, t->signo, t->notify, t->tid, { 0 } };
		int id = t->id;

		CHECK(RSTEP_POSIX_TIMERS, sys_timer_create(t->clock, &sev, &id));
		if (id != t->id)
			fail(RSTEP_POSIX_TIMERS, -17);
	}
	CHECK(RSTEP_POSIX_TIMERS, sys_prctl(PR_TIMER_CREATE_RESTORE_IDS_, 0, 0, 0, 0));
	t = (void *)A->timers;
	for (i = 0; i < A->nr_timers; i++, t++)
		if (t->its[2] || t->its[3])	/* armed: relative time left */
			CHECK(RSTEP_POSIX_TIMERS, sys_timer_settime(t->id, 0, t->its, 0));
}

static void restore_rlimits(void)
{
	u32 i;

	for (i = 0; i < A->nr_rlimits; i++) {
		struct restorer_rlimit *r = &A->rlimits[i];
		long ret = sys_prlimit64(0, r->resource, &r->cur, 0);

		/*
		 * Raising a hard limit needs CAP_SYS_RESOURCE, which this
		 * machine's root lacks: say so and keep the current one.
		 */
		if (ret < 0)
			pie_printf(2, "Warn: pid %d: rlimit %u (%lu/%lu) not restored: %ld",
				   A->pid, r->resource, r->cur, r->max, ret);
	}
}

/* Queued while everything is blocked; the sigframes' masks decide. */
static void queue_signals(int tid, u64 infos, u32 nr)
{
	unsigned char *info = (void *)infos;
	u32 i;

	for (i = 0; i < nr; i++, info += SIGINFO_SIZE) {
		int sig = *(int *)info;

		if (tid)
			CHECK(RSTEP_SIGNALS, sys_rt_tgsigqueueinfo(A->pid, tid, sig, info));
		else
			CHECK(RSTEP_SIGNALS, sys_rt_sigqueueinfo(A->pid, sig, info));
	}
}

#define PR_SET_SECUREBITS_	28
#define SECBIT_NO_SETUID_FIXUP_	(1 << 2)
#define SECBIT_KEEP_CAPS_	(1 << 4)
#define CAP_VERSION_3		0x20080522
#define CAP_SETPCAP_		8

struct cap_header {
	u32 version;
	int pid;
};

struct cap_data {
	u32 effective, permitted, inheritable;
};

#define CAP_SYS_ADMIN_	21

/*
 * A filter goes in last (install_seccomp()); without no_new_privs that
 * needs CAP_SYS_ADMIN, which the dumped task may no longer have: a
 * runtime installs the filter of a container without noNewPrivileges
 * before it drops the capabilities (runc's standard_init, podman's
 * default). Such a task keeps CAP_SYS_ADMIN (permitted and effective)
 * until its filters are in, and drops it right after them.
 */
static u64 seccomp_admin(void)
{
	const struct restorer_creds *c = &A->creds;

	if (!A->has_creds || !A->has_filters || c->no_new_privs)
		return 0;
	return (1ULL << CAP_SYS_ADMIN_) & ~c->cap_eff;
}

/* The dumped capability sets, with @extra added to permitted and effective. */
static void set_caps(u64 extra)
{
	const struct restorer_creds *c = &A->creds;
	u64 eff = c->cap_eff | extra, prm = c->cap_prm | extra;
	struct cap_header hdr = { CAP_VERSION_3, 0 };
	struct cap_data data[2] = {
		{ (u32)eff, (u32)prm, (u32)c->cap_inh },
		{ (u32)(eff >> 32), (u32)(prm >> 32), (u32)(c->cap_inh >> 32) },
	};

	CHECK(RSTEP_CREDS, sys_capset(&hdr, data));
}

/*
 * Becomes the dumped user. The order is forced by what each step needs:
 * dropping from the bounding set needs CAP_SETPCAP, so it comes first;
 * NO_SETUID_FIXUP keeps all capabilities through the uid change, so
 * setting the dumped securebits (CAP_SETPCAP again) still works after
 * it; capset() then narrows to the dumped sets (all but seccomp_admin()'s),
 * ambient ones need those sets in place, and no_new_privs can only ever
 * be set, so it is last.
 */
static void restore_creds(void)
{
	struct restorer_creds *c = &A->creds;
	u32 cap;

	for (cap = 0; cap <= c->last_cap; cap++)
		if (!(c->cap_bnd & (1ULL << cap)))
			CHECK(RSTEP_CREDS, sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
	CHECK(RSTEP_CREDS, sys_prctl(PR_SET_SECUREBITS_, SECBIT_NO_SETUID_FIXUP_ | SECBIT_KEEP_CAPS_, 0, 0, 0));
	if (!c->keep_groups)
		CHECK(RSTEP_CREDS, sys_setgroups(c->nr_groups, (void *)c->groups));
	CHECK(RSTEP_CREDS, sys_setresgid(c->gid, c->egid, c->sgid));
	sys_setfsgid(c->fsgid);		/* returns the old fsgid, never fails */
	CHECK(RSTEP_CREDS, sys_setresuid(c->uid, c->euid, c->suid));
	sys_setfsuid(c->fsuid);
	CHECK(RSTEP_CREDS, sys_prctl(PR_SET_SECUREBITS_, c->secbits, 0, 0, 0));
	set_caps(seccomp_admin());
	CHECK(RSTEP_CREDS, sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
	for (cap = 0; cap <= c->last_cap; cap++)
		if (c->cap_amb & (1ULL << cap))
			CHECK(RSTEP_CREDS, sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0));
	if (c->no_new_privs)
		CHECK(RSTEP_CREDS, sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	/* Changing creds resets the dumpable flag: set it last. */
	CHECK(RSTEP_CREDS, sys_prctl(PR_SET_DUMPABLE, c->dumpable, 0, 0, 0));
}

#define SECCOMP_SET_MODE_STRICT_	0
#define SECCOMP_SET_MODE_FILTER_	1
#define SECCOMP_FILTER_FLAG_TSYNC_	1
#define SECCOMP_WAIT_NS			(10 * 1000)

struct sock_fprog_ {
	unsigned short len;
	unsigned short pad[3];
	u64 filter;
};

/* Filters [from, to) of @f, each with its flags and @extra. */
static void install_filters(const struct restorer_filter *f, u32 from, u32 to, u64 extra)
{
	for (u32 i = from; i < to; i++) {
		struct sock_fprog_ prog = { .len = (unsigned short)f[i].len, .filter = f[i].insns };
		long r = sys_seccomp(SECCOMP_SET_MODE_FILTER_, f[i].flags | extra, &prog);

		/* TSYNC answers with the tid of a thread it could not sync. */
		if (r)
			fail(RSTEP_SECCOMP, r > 0 ? -ESRCH : r);
	}
}

/*
 * The filters all threads share go in once, from the main thread with
 * TSYNC, while the others wait for it spinning: a filter judges every
 * syscall made after it is in, and theirs are done.
 */
static void install_shared_filters(const struct restorer_thread *th, int is_main)
{
	struct { long sec, nsec; } nap = { 0, SECCOMP_WAIT_NS };

	if (!A->nr_filters_shared)
		return;
	if (!is_main) {
		__atomic_add_fetch(&A->seccomp_waiting, 1, __ATOMIC_SEQ_CST);
		while (!__atomic_load_n(&A->seccomp_synced, __ATOMIC_SEQ_CST))
			;
		return;
	}
	while (__atomic_load_n(&A->seccomp_waiting, __ATOMIC_SEQ_CST) < A->nr_threads - 1)
		sys_nanosleep(&nap, 0);
	install_filters((void *)th->filters, 0, A->nr_filters_shared, SECCOMP_FILTER_FLAG_TSYNC_);
	__atomic_store_n(&A->seccomp_synced, 1, __ATOMIC_SEQ_CST);
}

/*
 * Last of all, right before rt_sigreturn: a filter judges every syscall
 * after it, and the restore's own must not be refused. Installing needs
 * no_new_privs or CAP_SYS_ADMIN, as it did for the task.
 */
static void install_seccomp(const struct restorer_thread *th, int is_main)
{
	install_shared_filters(th, is_main);
	install_filters((void *)th->filters, A->nr_filters_shared, th->nr_filters, 0);
	/*
	 * The borrowed CAP_SYS_ADMIN goes; the filter judges this capset(),
	 * as it judged the runtime's own drop after it installed the filter.
	 */
	if (seccomp_admin())
		set_caps(0);
	/* Then only read, write, exit and the rt_sigreturn that follows. */
	if (th->seccomp_strict)
		CHECK(RSTEP_SECCOMP, sys_seccomp(SECCOMP_SET_MODE_STRICT_, 0, 0));
}

/*
 * A process has the large AMX xstate only once it asked for it; without,
 * the kernel would take the sigframes' xstate for x87/SSE only. Process
 * wide, so once, before any thread goes through rt_sigreturn.
 */
static void request_xfeatures(void)
{
	for (u32 bit = 0; bit < 64; bit++)
		if (A->xfeatures_req & (1ULL << bit))
			CHECK(RSTEP_TASK_MISC, sys_arch_prctl(ARCH_REQ_XCOMP_PERM, bit));
}

/* What every thread restores for itself, the main one included. */
static void thread_setup(struct restorer_thread *th)
{
	if (th->has_sched) {
		long r = sys_sched_setattr(0, &th->sched, 0);

		/* A realtime or deadline policy may be refused here (limits, admission). */
		if (r < 0)
			pie_printf(2, "Warn: tid %d: scheduling policy %u not restored: %ld",
				   th->tid, th->sched.policy, r);
	}
	CHECK(RSTEP_THREAD_STATE, sys_prctl(PR_SET_NAME, (unsigned long)th->comm, 0, 0, 0));
	sys_set_tid_address(th->clear_tid);	/* returns the tid, cannot fail */
	if (th->robust_head)
		CHECK(RSTEP_THREAD_STATE, sys_set_robust_list(th->robust_head, th->robust_len));
	queue_signals(th->tid, th->siginfos, th->nr_sigs);
	arch_xfeatures_touch(th->xfeatures);
	CHECK(RSTEP_TLS, sys_arch_prctl(ARCH_SET_FS, th->fs_base));
	CHECK(RSTEP_TLS, sys_arch_prctl(ARCH_SET_GS, th->gs_base));
	if (th->rseq_ptr)
		CHECK(RSTEP_RSEQ, sys_rseq(th->rseq_ptr, th->rseq_size, 0, th->rseq_sig));
	/* Credentials belong to each thread. */
	if (A->has_creds)
		restore_creds();
}

#define POLLIN_		0x001
#define POLLHUP_	0x010
#define POLLERR_	0x008
#define POLLNVAL_	0x020

/*
 * Waits for cr's go. A tree cr left before it let it go must not live on
 * half restored: every task leaves as soon as the pipe says cr is gone.
 */
static void wait_go(void)
{
	for (;;) {
		struct { int fd; short events, revents; } p = { A->go_fd, POLLIN_, 0 };
		long r = sys_ppoll(&p, 1, 0, 0, 8);

		if (r > 0 && (p.revents & POLLIN_))
			return;
		if (r > 0 || (r < 0 && r != -4 /* EINTR */)) {
			pie_debug("pid %d: cr is gone before the go: leaving", A->pid);
			sys_exit_group(1);
		}
	}
}

#define SHARERS_SLICE_NS	(50 * 1000 * 1000)

/*
 * A task of a shared fd table, before cr's fds in it close: the owner
 * waits until cr saw every other sharer done with them (they use the
 * page image, the executable and mapped files until then), a sharer
 * until the owner closed them (its POSIX locks come after). A cr gone
 * meanwhile shows on the go pipe.
 */
static void wait_sharers(void)
{
	struct { long sec, nsec; } slice = { 0, SHARERS_SLICE_NS }, now = { 0, 0 };

	__atomic_store_n(&A->status, RESTORER_SHARERS_WAIT, __ATOMIC_SEQ_CST);
	sys_futex((void *)&A->status, FUTEX_WAKE, 1, 0, 0, 0);
	while (!__atomic_load_n(&A->sharers_ready, __ATOMIC_SEQ_CST)) {
		struct { int fd; short events, revents; } p = { A->go_fd, POLLIN_, 0 };

		sys_futex((void *)&A->sharers_ready, FUTEX_WAIT, 0, &slice, 0, 0);
		if (sys_ppoll(&p, 1, &now, 0, 8) > 0 && !(p.revents & POLLIN_)) {
			pie_debug("pid %d: cr is gone before its fd table was ready: leaving", A->pid);
			sys_exit_group(1);
		}
	}
}

#define SOL_TCP_		6
#define TCP_REPAIR_	19
#define FINISH_POLL_NS	(100 * 1000)
#define FINISH_MAX_POLLS	50000	/* 5 s: then nobody is left to finish them */

/*
 * The go came before cr took the connections out of repair mode: a task
 * using one before would get EPERM. Wait for it (cr does it at once; a
 * guard after cr died, a moment later).
 */
static void wait_finished(void)
{
	const int *fds = (const int *)A->finish_fds;
	struct { long sec, nsec; } nap = { 0, FINISH_POLL_NS };

	for (u32 i = 0; i < A->nr_finish_fds && !__atomic_load_n(&A->finished, __ATOMIC_ACQUIRE); i++)
		for (u32 k = 0; k < FINISH_MAX_POLLS; k++) {
			int in_repair = 0;
			unsigned len = sizeof(in_repair);

			if (sys_getsockopt(fds[i], SOL_TCP_, TCP_REPAIR_, &in_repair, &len) < 0 || !in_repair)
				break;
			sys_nanosleep(&nap, 0);
		}
}

/* A process dumped stopped stops again, each thread before it leaves the restorer. */
static void stop_again(int tid)
{
	if (A->stopped)
		CHECK(RSTEP_SIGNALS, sys_tgkill(A->pid, tid, SIGSTOP));
}

static __noreturn void thread_main(void *arg)
{
	struct restorer_thread *th = arg;

	thread_setup(th);
	/* Before the go: from here cr's death is told by the go pipe. */
	sys_prctl(PR_SET_PDEATHSIG, th->pdeath_sig, 0, 0, 0);
	__atomic_add_fetch(&A->threads_ready, 1, __ATOMIC_SEQ_CST);
	sys_futex((void *)&A->threads_ready, FUTEX_WAKE, 1, 0, 0, 0);
	wait_go();
	wait_finished();
	__atomic_add_fetch(&A->threads_gone, 1, __ATOMIC_SEQ_CST);
	sys_futex((void *)&A->threads_gone, FUTEX_WAKE, 1, 0, 0, 0);
	stop_again(th->tid);
	install_seccomp(th, 0);
	arch_rt_sigreturn(ARCH_SIGFRAME_SP(th->sigframe));
}

#define CLONE_THREAD_FLAGS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | \
				 CLONE_THREAD | CLONE_SYSVSEM)

struct clone_args_ {
	u64 flags, pidfd, child_tid, parent_tid, exit_signal;
	u64 stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* Each thread gets its TID; before the creds change, which may drop CAP_CHECKPOINT_RESTORE. */
static void clone_threads(void)
{
	struct restorer_thread *th = (void *)A->threads;
	u32 i, ready;

	for (i = 1; i < A->nr_threads; i++) {
		int tid = th[i].tid;
		struct clone_args_ ca = {
			.flags = CLONE_THREAD_FLAGS,
			.stack = th[i].stack_top - RESTORER_THREAD_STACK,
			.stack_size = RESTORER_THREAD_STACK,
			.set_tid = (u64)&tid, .set_tid_size = 1,
		};

		if (th[i].set_tid_size) {
			ca.set_tid = (u64)th[i].set_tid;
			ca.set_tid_size = th[i].set_tid_size;
		}
		long r = arch_clone_thread(&ca, sizeof(ca), thread_main, &th[i]);

		if (r == -EEXIST && th[i].set_tid_size > th[i].set_tid_min) {
			ca.set_tid_size = th[i].set_tid_min;
			r = arch_clone_thread(&ca, sizeof(ca), thread_main, &th[i]);
		}
		if (r < 0) {
			pie_err("clone3 of thread %d: %ld", tid, r);
			fail(RSTEP_THREADS, r);
		}
	}
	thread_setup(&th[0]);
	while ((ready = __atomic_load_n(&A->threads_ready, __ATOMIC_SEQ_CST)) < A->nr_threads - 1)
		sys_futex((void *)&A->threads_ready, FUTEX_WAIT, ready, 0, 0, 0);
}

int blob_main(struct restorer_args *args)
{
	struct restorer_thread *main_thread;

	A = args;
	main_thread = (void *)A->threads;
	pie_log_init(A->log_fd, A->log_level, "restorer: ");
	pie_debug("pid %d: restorer running", A->pid);

	move_specials(0);
	unmap_old();
	map_vmas();
	madvise_vmas();
	CHECK(RSTEP_LAZY, restorer_uffd_setup((void *)A->vmas, A->nr_vmas, A->lazy_sk, A->lazy_img_pid));
	read_pages();
	protect_vmas();
	/* Guards first: the kernel takes none in a locked VMA. */
	install_guards();
	lock_vmas();
	CHECK(RSTEP_AIO, restorer_aio_rings((void *)A->aios, A->nr_aios, A->pages_fd));
	restorer_thp_collapse((void *)A->thp, A->nr_thp);
	move_specials(1);
	CHECK(RSTEP_MM_MAP, sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&A->mm_map,
				      sizeof(A->mm_map), 0));
	restore_sigactions();
	restore_itimers();
	restore_rlimits();
	CHECK(RSTEP_TASK_MISC, sys_personality(A->personality));
	CHECK(RSTEP_TASK_MISC, sys_prctl(PR_SET_CHILD_SUBREAPER, A->child_subreaper, 0, 0, 0));
	queue_signals(0, A->siginfos, A->nr_sigs_shared);
	request_xfeatures();
	clone_threads();
	/* A timer may signal one thread (SIGEV_THREAD_ID): all exist now. */
	restore_posix_timers();
	/* Only mappings made from now on are locked by it: after every dumped one. */
	if (A->mcl_future)
		CHECK(RSTEP_MLOCK, sys_mlockall(A->mcl_future));

	pie_debug("pid %d: ready", A->pid);
	if (A->fd_table != RESTORER_FDT_OWN)
		wait_sharers();
	/* cr's fds (page image, mapped files, the log) go before we go live; the go pipe last. */
	if (A->fd_table != RESTORER_FDT_SHARER) {
		sys_close_range(A->helper_fd_from, A->go_fd - 1, 0);
		sys_close_range(A->go_fd + 1, ~0U, 0);
	}
	restore_posix_locks();
	/*
	 * cr was the parent only while restoring: now the dumped death signal.
	 * A cr that dies from here on is seen through the go pipe.
	 */
	sys_prctl(PR_SET_PDEATHSIG, A->pdeath_sig, 0, 0, 0);
	__atomic_store_n(&A->status, RESTORER_READY, __ATOMIC_SEQ_CST);
	sys_futex((void *)&A->status, FUTEX_WAKE, 1, 0, 0, 0);
	wait_go();
	wait_finished();
	/* Every thread has seen the go before its pipe closes. */
	for (u32 gone; (gone = __atomic_load_n(&A->threads_gone, __ATOMIC_SEQ_CST)) < A->nr_threads - 1;)
		sys_futex((void *)&A->threads_gone, FUTEX_WAIT, gone, 0, 0, 0);
	/* In a shared table the other sharers' threads may not have seen it yet: cr closes it. */
	if (A->fd_table == RESTORER_FDT_OWN)
		sys_close(A->go_fd);
	stop_again(main_thread->tid);
	install_seccomp(main_thread, 1);
	arch_rt_sigreturn(ARCH_SIGFRAME_SP(main_thread->sigframe));
}
