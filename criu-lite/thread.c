/*
 * Threads: what each thread has of its own, dump and restore side.
 * core.c handles the process-wide state and the main thread's
 * registers; this file the rest of every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "log.h"
#include "proc-parse.h"
#include "region.h"
#include "regs-pb.h"
#include "restorer-abi.h"
#include "thread.h"

#define SIGINFO_SIZE		128
#define SCHED_DEADLINE_		6

/* The kernel's struct sched_attr (first version, 48 bytes) + utilization. */
struct sched_attr_ {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
	uint32_t util_min, util_max;
};

/* The kernel's stack_t. */
struct sas_ {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

/*
 * clear_child_tid, the parent-death signal and the sigaltstack can only
 * be asked by the thread itself: run the syscalls in it, with the answers
 * written to the parasite's data area in the main thread (never to the
 * thread's stack: below a goroutine's stack pointer may be live memory).
 */
static int remote_get(struct parasite_ctl *ctl, pid_t tid, const char *what, long nr, long a1, long a2)
{
	long ret;
	int err = infect_syscall(ctl, nr, &ret, a1, a2, 0, 0, 0, 0);

	if (!err && ret)
		err = pr_errno((int)ret, "tid %d: %s", tid, what);
	return err;
}

struct remote_answers {
	uint64_t clear_tid;
	int32_t pdeath;
	int32_t __pad;
	struct sas_ sas;
};

static int remote_state(pid_t tid, uint64_t place, struct parasite_ctl *main_ctl, struct thread_dump *td)
{
	struct remote_answers *ans = infect_data(main_ctl);
	uint64_t at = infect_remote_data(main_ctl);
	struct parasite_ctl *ctl = NULL;
	int err, e;

	err = infect_prepare(tid, place, &ctl);
	if (err)
		return err;
	memset(ans, 0, sizeof(*ans));
	err = remote_get(ctl, tid, "PR_GET_TID_ADDRESS", __NR_prctl, PR_GET_TID_ADDRESS,
			 at + offsetof(struct remote_answers, clear_tid));
	if (!err)
		err = remote_get(ctl, tid, "PR_GET_PDEATHSIG", __NR_prctl, PR_GET_PDEATHSIG,
				 at + offsetof(struct remote_answers, pdeath));
	if (!err)
		err = remote_get(ctl, tid, "sigaltstack", __NR_sigaltstack, 0,
				 at + offsetof(struct remote_answers, sas));
	e = infect_cure(ctl);
	if (!err)
		err = e;
	if (err)
		return err;
	td->te.has_clear_tid_addr = true;
	td->te.clear_tid_addr = ans->clear_tid;
	td->te.has_sas_sp = td->te.has_sas_size = td->te.has_sas_flags = true;
	td->te.sas_sp = ans->sas.sp;
	td->te.sas_size = ans->sas.size;
	td->te.sas_flags = ans->sas.flags;
	td->te.has_pdeath_sig = true;
	td->te.pdeath_sig = ans->pdeath;
	return 0;
}

/* What another process may read of a thread: robust list, scheduling, name. */
static int plain_state(pid_t pid, pid_t tid, struct thread_dump *td)
{
	struct sched_attr_ sa = { 0 };
	_cleanup_free_ char *comm = NULL;
	uint64_t head = 0;
	size_t len = 0;
	char path[64];
	int err;

	if (syscall(SYS_get_robust_list, tid, &head, &len))
		return pr_errno(-errno, "tid %d: get_robust_list", tid);
	td->te.has_robust_list = td->te.has_robust_len = true;
	td->te.robust_list = head;
	td->te.robust_len = len;

	if (syscall(SYS_sched_getattr, tid, &sa, sizeof(sa), 0))
		return pr_errno(-errno, "tid %d: sched_getattr", tid);
	sched_entry__init(&td->sched);
	td->sched.policy = sa.policy;
	td->sched.flags = sa.flags;
	td->sched.nice = sa.nice;
	td->sched.priority = sa.priority;
	if (sa.policy == SCHED_DEADLINE_) {
		td->sched.has_runtime = td->sched.has_deadline = td->sched.has_period = true;
		td->sched.runtime = sa.runtime;
		td->sched.deadline = sa.deadline;
		td->sched.period = sa.period;
	}
	td->te.sched = &td->sched;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	err = read_file_at(AT_FDCWD, path, &comm, NULL);
	if (err)
		return err;
	comm[strcspn(comm, "\n")] = 0;
	snprintf(td->name, sizeof(td->name), "%s", comm);
	td->te.name = td->name;
	return 0;
}

unsigned thread_drop_sigstop(void *infos, unsigned nr)
{
	unsigned char *b = infos;
	unsigned kept = 0;

	for (unsigned i = 0; i < nr; i++) {
		int sig;

		memcpy(&sig, b + (size_t)i * SIGINFO_SIZE, sizeof(sig));
		if (sig == SIGSTOP)
			continue;
		if (kept != i)
			memmove(b + (size_t)kept * SIGINFO_SIZE, b + (size_t)i * SIGINFO_SIZE, SIGINFO_SIZE);
		kept++;
	}
	return kept;
}

int thread_siginfos_to_pb(const void *infos, unsigned nr, ProtobufCBinaryData **ret, size_t *ret_n)
{
	ProtobufCBinaryData *b;
	unsigned i;

	*ret_n = 0;
	if (!nr)
		return 0;
	b = xzalloc(sizeof(*b) * nr);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		b[i].len = SIGINFO_SIZE;
		b[i].data = (uint8_t *)infos + (size_t)i * SIGINFO_SIZE;
	}
	*ret = b;
	*ret_n = nr;
	return 0;
}

/* Registers, mask, signals and rseq of a thread other than the main one. */
static int cpu_state(pid_t tid, struct thread_dump *td)
{
	struct infect_rseq rseq;
	int err;

	err = infect_get_regs(tid, &td->regs);
	if (!err && td->regs.gpr.cs != USER_CS_64)
		err = pr_errno(-EOPNOTSUPP, "tid %d: runs 32-bit code, which cr does not support", tid);
	if (!err)
		err = infect_get_sigmask(tid, &td->te.blk_sigset);
	if (!err)
		err = infect_peek_siginfo(tid, 0, &td->sigs, &td->nr_sigs);
	if (!err)
		td->nr_sigs = thread_drop_sigstop(td->sigs, td->nr_sigs);
	if (!err)
		err = infect_get_rseq(tid, &rseq);
	if (err)
		return err;
	td->te.regs = &td->ur;
	regs_to_pb(&td->regs.gpr, &td->ur);
	td->te.xsave.data = td->regs.xsave;
	td->te.xsave.len = td->regs.xsave_size;
	td->te.has_rseq_ptr = td->te.has_rseq_size = td->te.has_rseq_sig = true;
	td->te.rseq_ptr = rseq.ptr;
	td->te.rseq_size = rseq.size;
	td->te.rseq_sig = rseq.sig;
	return thread_siginfos_to_pb(td->sigs, td->nr_sigs, &td->te.pending_sigs, &td->te.n_pending_sigs);
}

int thread_dump(pid_t pid, pid_t tid, uint64_t place, struct parasite_ctl *main_ctl, struct thread_dump *td)
{
	bool main_thread = tid == pid;
	int err;

	memset(td, 0, sizeof(*td));
	thread_core_entry__init(&td->te);
	user_regs_entry__init(&td->ur);
	td->te.tid = tid;
	/* Registers first: the remote syscalls below change them for a moment. */
	err = main_thread ? 0 : cpu_state(tid, td);
	if (!err)
		err = plain_state(pid, tid, td);
	/* The main thread's are the parasite's to ask (PARASITE_CMD_DUMP_MISC). */
	if (!err && !main_thread)
		err = remote_state(tid, place, main_ctl, td);
	return err;
}

void thread_dump_free(struct thread_dump *td)
{
	infect_regs_free(&td->regs);
	free(td->sigs);
	free(td->te.pending_sigs);
	seccomp_chain_free(&td->seccomp);
	td->sigs = NULL;
	td->te.pending_sigs = NULL;
}

/* ---- restore ---------------------------------------------------------------- */

#define SIG_DFL_	0
#define SIG_IGN_	1

/* The lowest signal of @infos (siginfo records) that @blocked lets through; 0: none. */
static int first_unblocked(const ProtobufCBinaryData *infos, size_t nr, uint64_t blocked)
{
	int first = 0;

	for (size_t i = 0; i < nr; i++) {
		int sig;

		if (infos[i].len < sizeof(int))
			continue;
		memcpy(&sig, infos[i].data, sizeof(sig));
		if (sig > 0 && sig <= 64 && !(blocked & (1ULL << (sig - 1))) && (!first || sig < first))
			first = sig;
	}
	return first;
}

/*
 * Whether the thread's next step is a handler of a pending signal (its
 * own, or the process's for the main thread, where the kernel offers it
 * first), and that handler's SA_RESTART: 0 none, 1 without, 2 with.
 */
static int pending_handler(const ThreadCoreEntry *te, const CoreEntry *core, bool main_thread)
{
	int sig = first_unblocked(te->pending_sigs, te->n_pending_sigs, te->blk_sigset);
	int shared = main_thread ? first_unblocked(core->shared_pending_sigs, core->n_shared_pending_sigs,
						   te->blk_sigset) : 0;

	if (!sig || (shared && shared < sig))
		sig = shared;
	for (size_t i = 0; sig && i < core->n_sigactions; i++) {
		const SigactionEntry *sa = core->sigactions[i];

		if ((int)sa->sig == sig)
			return sa->handler == SIG_DFL_ || sa->handler == SIG_IGN_ ? 0 : sa->flags & SA_RESTART ? 2 : 1;
	}
	return 0;
}

int thread_prepare_restore(const ThreadCoreEntry *te, const CoreEntry *core, bool main_thread, pid_t pid,
			   struct restorer_thread *th, struct region *rg)
{
	uint64_t xfeatures_perm = core->xfeatures_perm;
	int handler;
	struct arch_stack ss = { .ss_flags = ARCH_SS_DISABLE };
	uint32_t xsize = arch_xsave_size();
	unsigned char *infos, *frame;
	uint64_t img_xfeatures, features;
	struct user_regs r;
	size_t i;

	/* The xsave image must fit this CPU: same size, no unknown features. */
	if (te->xsave.len < 576 || te->xsave.len > XSAVE_MAX_SIZE)
		return pr_errno(-EBADMSG, "core-%d.img: tid %u: xsave area of %zu bytes is invalid", pid, te->tid,
				te->xsave.len);
	img_xfeatures = *(const uint64_t *)(te->xsave.data + XSAVE_HDR_OFF);
	if (img_xfeatures & ~arch_xfeatures())
		return pr_errno(-EOPNOTSUPP, "core-%d.img: uses CPU state features 0x%llx this CPU lacks (has 0x%llx)",
				pid, (unsigned long long)img_xfeatures, (unsigned long long)arch_xfeatures());
	if (te->xsave.len != xsize)
		return pr_errno(-EOPNOTSUPP, "core-%d.img: xsave area is %zu bytes, this CPU uses %u",
				pid, te->xsave.len, xsize);

	th->tid = te->tid;
	th->rseq_ptr = te->rseq_ptr;
	th->rseq_size = te->rseq_size;
	th->rseq_sig = te->rseq_sig;
	th->clear_tid = te->clear_tid_addr;
	th->robust_head = te->robust_list;
	th->robust_len = te->robust_len;
	th->pdeath_sig = te->pdeath_sig;
	if (te->sched) {
		th->has_sched = 1;
		th->sched = (struct restorer_sched){
			.size = sizeof(th->sched), .policy = te->sched->policy, .flags = te->sched->flags,
			.nice = te->sched->nice, .priority = te->sched->priority,
			.runtime = te->sched->runtime, .deadline = te->sched->deadline,
			.period = te->sched->period,
		};
	}
	if (te->name)
		snprintf(th->comm, sizeof(th->comm), "%s", te->name);

	th->nr_sigs = te->n_pending_sigs;
	infos = region_alloc(rg, SIGINFO_SIZE * (te->n_pending_sigs + 1), 8);
	if (!infos)
		return -ENOMEM;
	for (i = 0; i < te->n_pending_sigs; i++) {
		if (te->pending_sigs[i].len != SIGINFO_SIZE)
			return pr_errno(-EBADMSG, "core-%d.img: tid %u: pending signal record of %zu bytes", pid,
					te->tid, te->pending_sigs[i].len);
		memcpy(infos + i * SIGINFO_SIZE, te->pending_sigs[i].data, SIGINFO_SIZE);
	}
	th->siginfos = (uint64_t)infos;

	regs_from_pb(te->regs, &r);
	if (r.cs != USER_CS_64)
		return pr_errno(-EOPNOTSUPP, "core-%d.img: tid %u: not a 64-bit thread", pid, te->tid);
	th->fs_base = r.fs_base;
	th->gs_base = r.gs_base;
	handler = pending_handler(te, core, main_thread);
	if (handler)
		arch_fixup_restart_handler(&r, handler == 2);
	else
		arch_fixup_restart(&r, 0);
	if (te->has_sas_sp) {
		ss.ss_sp = te->sas_sp;
		ss.ss_size = te->sas_size;
		ss.ss_flags = te->sas_flags;
	}
	features = arch_sigframe_xfeatures(te->xsave.data, xfeatures_perm);
	frame = region_alloc(rg, ARCH_SIGFRAME_SIZE(xsize), 64);
	if (!frame)
		return -ENOMEM;
	arch_build_sigframe(frame, (uint64_t)frame, &r, te->xsave.data, arch_xsave_user_size(features),
			    features, te->blk_sigset, &ss);
	th->sigframe = (uint64_t)frame;
	th->xfeatures = features;
	return 0;
}
