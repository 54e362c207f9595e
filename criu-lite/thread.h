#ifndef CR_THREAD_H
#define CR_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "infect.h"
#include "seccomp.h"

struct region;
struct restorer_thread;

/*
 * One thread's state, dump side. For the main thread only what core.c
 * does not read itself: clear_child_tid, robust list, scheduling and
 * name. For the others everything: registers, FPU state, signal mask,
 * private pending signals, sigaltstack, rseq as well.
 */
struct thread_dump {
	ThreadCoreEntry te;
	UserRegsEntry ur;
	SchedEntry sched;
	struct infect_regs regs;
	void *sigs;			/* 128-byte siginfo records */
	unsigned nr_sigs;
	char name[32];
	struct seccomp_chain seccomp;	/* not the main thread: its own filters, if not the main one's */
};

/*
 * @nr 128-byte siginfo records as image bytes fields pointing into
 * @infos (a thread's private queue, or the process-wide one).
 */
/*
 * Drops the SIGSTOPs of @nr siginfo records (compacting them), returns
 * how many are left. One still pending once the tree is settled
 * (pstree.c took any other) was sent to a stopped process again: the
 * SIGCONT that continues it drops it (the kernel flushes pending stop
 * signals then), and restored it would stop the restorer.
 */
unsigned thread_drop_sigstop(void *infos, unsigned nr);
int thread_siginfos_to_pb(const void *infos, unsigned nr, ProtobufCBinaryData **ret, size_t *ret_n);

/*
 * Reads thread @tid of process @pid (seized and stopped). A thread other
 * than the main one runs a few syscalls through the engine's trampoline
 * at @place (see infect_prepare()), answering into the data area of the
 * parasite @main_ctl runs in the main thread; the thread is put back.
 */
struct parasite_ctl;
int thread_dump(pid_t pid, pid_t tid, uint64_t place, struct parasite_ctl *main_ctl, struct thread_dump *td);
void thread_dump_free(struct thread_dump *td);

/*
 * Restore: fills @th for the restorer from @te: TLS bases, rseq, robust
 * list, clear_child_tid, scheduling, name, private signals and the
 * rt_sigframe that becomes the thread's registers, mask and altstack
 * (a syscall it was in restarts, or returns -EINTR where a pending
 * signal's handler runs first; @core: the process's sigactions and
 * pending signals, which the kernel offers @main_thread first).
 * Room comes from @rg. Returns 0 or -errno (logged, naming @pid).
 */
int thread_prepare_restore(const ThreadCoreEntry *te, const CoreEntry *core, bool main_thread, pid_t pid,
			   struct restorer_thread *th, struct region *rg);


#endif
