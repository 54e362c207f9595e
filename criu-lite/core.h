#ifndef CR_CORE_H
#define CR_CORE_H

#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "infect.h"
#include "seccomp.h"

struct img;
struct parasite_ctl;
struct proc_stat;
struct restorer_args;
struct region;
struct thread_dump;

/* What ptrace reads while the task is stopped, before the parasite runs. */
struct core_pending {
	void *priv, *shared;		/* pending signals: 128-byte siginfo records */
	unsigned nr_priv, nr_shared;
	struct infect_rseq rseq;
	struct seccomp_chain seccomp;	/* the main thread's filters */
};
int core_collect_pending(pid_t pid, struct core_pending *ret);
void core_pending_free(struct core_pending *p);

/*
 * Dump: the task's CPU, signal and per-process state into core-PID.img.
 * Asks the parasite for what only the task can read (sigactions,
 * itimers, umask, brk, sigaltstack); *ret_brk gets the current brk.
 * @threads: from thread_dump(), the main thread's extras first, then
 * every other thread whole.
 */
int core_dump(pid_t pid, struct parasite_ctl *ctl, const struct proc_stat *st,
	      const struct core_pending *pending, struct thread_dump *threads, unsigned nr_threads,
	      struct img *img, uint64_t *ret_brk);

/*
 * Restore: checks that this CPU can load the image's xsave state, then
 * fills the restorer's arguments (sigactions, itimers, rlimits, pending
 * signals, TLS bases, and the rt_sigframe with the registers), taking
 * room for arrays from @rg. Returns 0 or -errno.
 */
/* Restore, from cr: the oom_score_adj of the new task @pid (warns if it may not be lowered). */
int core_restore_oom_score_adj(const CoreEntry *core, pid_t pid);

/*
 * Restore: core-@pid.img describes @pid: its main thread is @pid and no
 * other thread has that id. Returns 0 or -EBADMSG (logged).
 */
int core_check_ids(const CoreEntry *core, pid_t pid);

int core_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			 struct region *rg);

#endif
