/* Per-task CPU, signal and process state: dump and restore side. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "asm/arch.h"
#include "cleanup.h"
#include "core.h"
#include "files-ghost.h"
#include "image.h"
#include "infect.h"
#include "log.h"
#include "parasite-cmds.h"
#include "proc-parse.h"
#include "region.h"
#include "regs-pb.h"
#include "restorer-abi.h"
#include "seccomp.h"
#include "task-misc.h"
#include "thread.h"
#include "timers.h"

#define SIGINFO_SIZE	128

/* A number from /proc/PID/@name, in @base. */
static int read_proc_number(pid_t pid, const char *name, int base, long *ret)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	return read_number_file(path, base, ret);
}

int core_restore_oom_score_adj(const CoreEntry *core, pid_t pid)
{
	char path[64], val[16];
	_cleanup_close_ int fd = -EBADF;
	int n;

	if (!core->has_oom_score_adj)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
	n = snprintf(val, sizeof(val), "%d", core->oom_score_adj);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_errno(-errno, "open %s", path);
	/*
	 * Going below the current value needs CAP_SYS_RESOURCE, which this
	 * machine's root lacks: say so, keep the inherited value.
	 */
	if (write(fd, val, n) != n) {
		if (errno == EACCES || errno == EPERM) {
			pr_warn("pid %d: oom_score_adj %d not restored: %s", pid, core->oom_score_adj,
				strerror(errno));
			return 0;
		}
		return pr_errno(-errno, "write %s", path);
	}
	return 0;
}

struct core_bufs {
	struct timers_dump timers;
	CredsEntry creds;
	uint32_t *groups;
	SigactionEntry *sa;
	SigactionEntry **sap;
	ItimerEntry it[3];
	ItimerEntry *itp[3];
	RlimitEntry rl[RLIM_NLIMITS];
	RlimitEntry *rlp[RLIM_NLIMITS];
};

static void core_bufs_free(struct core_bufs *b, CoreEntry *c)
{
	timers_dump_free(&b->timers);
	free(b->groups);
	free(b->sa);
	free(b->sap);
	free(c->thread->pending_sigs);
	free(c->shared_pending_sigs);
	free(c->cwd);
	free(c->root);
	ghost_attrs_free(c->cwd_deleted);
	ghost_attrs_free(c->root_deleted);
}

int core_collect_pending(pid_t pid, struct core_pending *ret)
{
	struct core_pending p = { 0 };
	int err;

	err = infect_peek_siginfo(pid, 0, &p.priv, &p.nr_priv);
	if (!err)
		err = infect_peek_siginfo(pid, 1, &p.shared, &p.nr_shared);
	if (!err) {
		p.nr_priv = thread_drop_sigstop(p.priv, p.nr_priv);
		p.nr_shared = thread_drop_sigstop(p.shared, p.nr_shared);
	}
	if (!err)
		err = infect_get_rseq(pid, &p.rseq);
	if (!err)
		err = seccomp_collect(pid, &p.seccomp);
	if (err) {
		core_pending_free(&p);
		return err;
	}
	*ret = p;
	return 0;
}

void core_pending_free(struct core_pending *p)
{
	seccomp_chain_free(&p->seccomp);
	free(p->priv);
	free(p->shared);
	p->priv = p->shared = NULL;
}

static int dump_signals(struct parasite_ctl *ctl, const struct parasite_dump_misc *m,
			const struct core_pending *p, CoreEntry *c, struct core_bufs *b)
{
	unsigned i, n = 0;
	int err;

	err = thread_siginfos_to_pb(p->priv, p->nr_priv, &c->thread->pending_sigs, &c->thread->n_pending_sigs);
	if (!err)
		err = thread_siginfos_to_pb(p->shared, p->nr_shared, &c->shared_pending_sigs, &c->n_shared_pending_sigs);
	if (err)
		return err;
	c->thread->blk_sigset = infect_orig_sigmask(ctl);

	b->sa = xzalloc(sizeof(*b->sa) * PARASITE_NSIG);
	b->sap = xzalloc(sizeof(*b->sap) * PARASITE_NSIG);
	if (!b->sa || !b->sap)
		return -ENOMEM;
	for (i = 1; i <= PARASITE_NSIG; i++) {
		if (i == SIGKILL || i == SIGSTOP)
			continue;
		sigaction_entry__init(&b->sa[n]);
		b->sa[n].sig = i;
		b->sa[n].handler = m->sa[i - 1].handler;
		b->sa[n].flags = m->sa[i - 1].flags;
		b->sa[n].restorer = m->sa[i - 1].restorer;
		b->sa[n].mask = m->sa[i - 1].mask;
		b->sap[n] = &b->sa[n];
		n++;
	}
	c->sigactions = b->sap;
	c->n_sigactions = n;

	for (i = 0; i < 3; i++) {
		itimer_entry__init(&b->it[i]);
		b->it[i].which = i;
		b->it[i].isec = m->itimers[i].isec;
		b->it[i].iusec = m->itimers[i].iusec;
		b->it[i].vsec = m->itimers[i].vsec;
		b->it[i].vusec = m->itimers[i].vusec;
		b->itp[i] = &b->it[i];
	}
	c->itimers = b->itp;
	c->n_itimers = 3;
	return 0;
}

static int dump_creds(pid_t pid, const struct parasite_dump_misc *m, CoreEntry *c,
		      struct core_bufs *b)
{
	_cleanup_free_ struct proc_status *st = xzalloc(sizeof(*st));
	CredsEntry *cr = &b->creds;
	int err;

	if (!st)
		return -ENOMEM;
	err = proc_parse_status(pid, st);
	if (err)
		return err;
	creds_entry__init(cr);
	cr->uid = st->uid[0]; cr->euid = st->uid[1]; cr->suid = st->uid[2]; cr->fsuid = st->uid[3];
	cr->gid = st->gid[0]; cr->egid = st->gid[1]; cr->sgid = st->gid[2]; cr->fsgid = st->gid[3];
	if (st->nr_groups) {
		b->groups = xmalloc(sizeof(uint32_t) * st->nr_groups);
		if (!b->groups)
			return -ENOMEM;
		memcpy(b->groups, st->groups, sizeof(uint32_t) * st->nr_groups);
	}
	cr->groups = b->groups;
	cr->n_groups = st->nr_groups;
	cr->cap_inh = st->cap_inh;
	cr->cap_prm = st->cap_prm;
	cr->cap_eff = st->cap_eff;
	cr->cap_bnd = st->cap_bnd;
	cr->cap_amb = st->cap_amb;
	cr->secbits = m->secbits;
	cr->no_new_privs = st->no_new_privs;
	cr->dumpable = m->dumpable;
	c->creds = cr;
	return 0;
}

static void dump_rlimits(const struct parasite_dump_misc *m, CoreEntry *c, struct core_bufs *b)
{
	int i;

	BUILD_BUG_ON(PARASITE_NR_RLIMITS != RLIM_NLIMITS);
	for (i = 0; i < RLIM_NLIMITS; i++) {
		rlimit_entry__init(&b->rl[i]);
		b->rl[i].resource = i;
		b->rl[i].cur = m->rlimits[i][0];
		b->rl[i].max = m->rlimits[i][1];
		b->rlp[i] = &b->rl[i];
	}
	c->rlimits = b->rlp;
	c->n_rlimits = RLIM_NLIMITS;
}

int core_dump(pid_t pid, struct parasite_ctl *ctl, const struct proc_stat *st,
	      const struct core_pending *pending, struct thread_dump *threads, unsigned nr_threads,
	      struct img *img, uint64_t *ret_brk)
{
	_cleanup_free_ ThreadCoreEntry **others = NULL;
	const struct infect_regs *regs = infect_orig_regs(ctl);
	const struct parasite_dump_misc *m = infect_data(ctl);
	CoreEntry c = CORE_ENTRY__INIT;
	ThreadCoreEntry t = THREAD_CORE_ENTRY__INIT;
	UserRegsEntry ur = USER_REGS_ENTRY__INIT;
	TaskMiscEntry misc = TASK_MISC_ENTRY__INIT;
	struct core_bufs b = { 0 };
	long num = 0;
	int err;

	c.thread = &t;
	t.regs = &ur;
	err = timers_collect(pid, &b.timers, infect_data(ctl));
	if (!err)
		err = infect_cmd(ctl, PARASITE_CMD_DUMP_MISC, -1);
	if (err) {
		timers_dump_free(&b.timers);
		return err;
	}
	timers_to_core(&b.timers, m, &c);

	c.comm = (char *)st->comm;
	c.exit_signal = st->exit_signal;
	c.umask = m->umask;
	c.has_pdeath_sig = c.has_child_subreaper = c.has_oom_score_adj = true;
	c.pdeath_sig = m->pdeath_sig;
	c.child_subreaper = m->child_subreaper;
	c.has_xfeatures_perm = true;
	c.xfeatures_perm = m->xfeatures_perm;
	t.tid = pid;
	regs_to_pb(&regs->gpr, &ur);
	t.xsave.data = regs->xsave;
	t.xsave.len = regs->xsave_size;
	t.has_sas_sp = t.has_sas_size = t.has_sas_flags = true;
	t.sas_sp = m->sigaltstack.ss_sp;
	t.sas_size = m->sigaltstack.ss_size;
	t.sas_flags = m->sigaltstack.ss_flags;
	t.has_rseq_ptr = t.has_rseq_size = t.has_rseq_sig = true;
	t.rseq_ptr = pending->rseq.ptr;
	t.rseq_size = pending->rseq.size;
	t.rseq_sig = pending->rseq.sig;
	c.seccomp_filters = pending->seccomp.ptrs;
	c.n_seccomp_filters = pending->seccomp.nr;
	t.has_seccomp_strict = t.seccomp_strict = pending->seccomp.strict;
	/* threads[0] holds the main thread's extras, the others are whole. */
	t.has_clear_tid_addr = t.has_robust_list = t.has_robust_len = true;
	t.clear_tid_addr = m->clear_tid;
	t.robust_list = threads[0].te.robust_list;
	t.robust_len = threads[0].te.robust_len;
	t.sched = threads[0].te.sched;
	t.name = threads[0].te.name;
	if (nr_threads > 1) {
		others = xmalloc(sizeof(*others) * (nr_threads - 1));
		if (!others) {
			core_bufs_free(&b, &c);
			return -ENOMEM;
		}
		for (unsigned i = 1; i < nr_threads; i++)
			others[i - 1] = &threads[i].te;
		c.threads = others;
		c.n_threads = nr_threads - 1;
	}

	err = read_proc_number(pid, "personality", 16, &num);
	c.personality = num;
	if (!err)
		err = read_proc_number(pid, "oom_score_adj", 10, &num);
	c.oom_score_adj = num;
	if (!err)
		err = ghost_task_dir_dump(pid, "cwd", &c.cwd, &c.cwd_deleted);
	if (!err)
		err = ghost_task_dir_dump(pid, "root", &c.root, &c.root_deleted);
	if (!err)
		err = dump_signals(ctl, m, pending, &c, &b);
	if (!err)
		dump_rlimits(m, &c, &b);
	if (!err)
		err = dump_creds(pid, m, &c, &b);
	if (!err)
		err = task_misc_dump(pid, m, &misc);
	c.misc = &misc;
	if (!err)
		err = pb_write_one(img, &c, PB_CORE);
	if (!err)
		*ret_brk = m->brk;
	core_bufs_free(&b, &c);
	return err;
}

#define CAP_LAST_CAP_FILE	"/proc/sys/kernel/cap_last_cap"

static int prepare_creds(const CredsEntry *cr, pid_t pid, struct restorer_args *a,
			 struct region *rg)
{
	struct restorer_creds *c = &a->creds;
	_cleanup_free_ char *last = NULL;
	uint32_t *groups;
	int err;

	err = read_file_at(AT_FDCWD, CAP_LAST_CAP_FILE, &last, NULL);
	if (err)
		return err;
	c->last_cap = atoi(last);
	/* Capabilities this kernel does not know cannot be given back. */
	if (c->last_cap < 63 && (cr->cap_prm | cr->cap_inh | cr->cap_amb) >> (c->last_cap + 1))
		return pr_err("core-%d.img: capabilities beyond this kernel's last (%u)", pid, c->last_cap),
		       -EOPNOTSUPP;
	groups = region_alloc(rg, sizeof(uint32_t) * (cr->n_groups + 1), 8);
	if (!groups)
		return -ENOMEM;
	memcpy(groups, cr->groups, sizeof(uint32_t) * cr->n_groups);
	*c = (struct restorer_creds){
		.uid = cr->uid, .euid = cr->euid, .suid = cr->suid, .fsuid = cr->fsuid,
		.gid = cr->gid, .egid = cr->egid, .sgid = cr->sgid, .fsgid = cr->fsgid,
		.cap_inh = cr->cap_inh, .cap_prm = cr->cap_prm, .cap_eff = cr->cap_eff,
		.cap_bnd = cr->cap_bnd, .cap_amb = cr->cap_amb, .secbits = cr->secbits,
		.no_new_privs = cr->no_new_privs, .dumpable = cr->dumpable,
		.last_cap = c->last_cap, .nr_groups = cr->n_groups, .groups = (uint64_t)groups,
	};
	a->has_creds = 1;
	return 0;
}

int core_check_ids(const CoreEntry *core, pid_t pid)
{
	if (!core->thread)
		return pr_errno(-EBADMSG, "core-%d.img: no main thread", pid);
	if (core->thread->tid != (uint32_t)pid)
		return pr_errno(-EBADMSG, "core-%d.img: describes pid %u", pid, core->thread->tid);
	for (size_t i = 0; i < core->n_threads; i++)
		if (core->threads[i]->tid == (uint32_t)pid)
			return pr_errno(-EBADMSG, "core-%d.img: thread %zu has the main thread's id %d",
					pid, i + 1, pid);
	return 0;
}

int core_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			 struct region *rg)
{
	struct restorer_thread *th;
	unsigned char *infos;
	size_t i;
	int err;

	err = core_check_ids(core, pid);
	if (err)
		return err;
	for (i = 0; i < core->n_sigactions; i++) {
		const SigactionEntry *s = core->sigactions[i];

		if (s->sig < 1 || s->sig > RESTORER_NSIG)
			return pr_errno(-EBADMSG, "core-%d.img: bad signal number %u", pid, s->sig);
		a->sa_valid[s->sig - 1] = 1;
		a->sa[s->sig - 1] = (struct restorer_sigaction){ s->handler, s->flags, s->restorer, s->mask };
	}
	for (i = 0; i < core->n_itimers && i < 3; i++) {
		const ItimerEntry *it = core->itimers[i];

		if (it->which > 2)
			return pr_errno(-EBADMSG, "core-%d.img: bad itimer %u", pid, it->which);
		a->itimers[it->which][0] = it->isec;
		a->itimers[it->which][1] = it->iusec;
		a->itimers[it->which][2] = it->vsec;
		a->itimers[it->which][3] = it->vusec;
		/*
		 * A periodic ITIMER_REAL that fired while the task was frozen
		 * waits for its SIGALRM to be dequeued to rearm and reads 0
		 * left; set with 0 it would be disarmed. One interval it is.
		 */
		if (!it->vsec && !it->vusec && (it->isec || it->iusec)) {
			a->itimers[it->which][2] = it->isec;
			a->itimers[it->which][3] = it->iusec;
		}
	}
	for (i = 0; i < core->n_rlimits && i < RESTORER_NR_RLIMITS; i++) {
		a->rlimits[i] = (struct restorer_rlimit){ core->rlimits[i]->cur, core->rlimits[i]->max,
							  core->rlimits[i]->resource, 1 };
	}
	a->nr_rlimits = i;
	if (core->creds) {
		err = prepare_creds(core->creds, pid, a, rg);
		if (err)
			return err;
	}
	err = timers_prepare_restore(core, pid, a, rg);
	if (err)
		return err;
	err = task_misc_check(pid, core->misc);
	if (err)
		return err;
	task_misc_prepare(core->misc, a);
	a->personality = core->personality;
	a->pdeath_sig = core->pdeath_sig;
	a->child_subreaper = core->child_subreaper;

	a->nr_sigs_shared = core->n_shared_pending_sigs;
	infos = region_alloc(rg, SIGINFO_SIZE * (a->nr_sigs_shared + 1), 8);
	if (!infos)
		return -ENOMEM;
	for (i = 0; i < core->n_shared_pending_sigs; i++) {
		const ProtobufCBinaryData *d = &core->shared_pending_sigs[i];

		if (d->len != SIGINFO_SIZE)
			return pr_errno(-EBADMSG, "core-%d.img: pending signal record of %zu bytes", pid, d->len);
		memcpy(infos + i * SIGINFO_SIZE, d->data, SIGINFO_SIZE);
	}
	a->siginfos = (uint64_t)infos;

	th = region_alloc(rg, sizeof(*th) * (core->n_threads + 1), 64);
	if (!th)
		return -ENOMEM;
	memset(th, 0, sizeof(*th) * (core->n_threads + 1));
	a->xfeatures_req = core->xfeatures_perm & arch_xfeatures_dynamic();
	err = thread_prepare_restore(core->thread, core, true, pid, &th[0], rg);
	if (!th[0].comm[0])
		snprintf(th[0].comm, sizeof(th[0].comm), "%s", core->comm);
	for (i = 0; i < core->n_threads && !err; i++) {
		char *stack = region_alloc(rg, RESTORER_THREAD_STACK, 64);

		err = stack ? thread_prepare_restore(core->threads[i], core, false, pid, &th[i + 1], rg)
			    : -ENOMEM;
		if (!err)
			th[i + 1].stack_top = (uint64_t)stack + RESTORER_THREAD_STACK;
	}
	a->threads = (uint64_t)th;
	a->nr_threads = core->n_threads + 1;
	return err ? err : seccomp_prepare_restore(core, pid, a, th, rg);
}
