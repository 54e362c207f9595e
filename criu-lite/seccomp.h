#ifndef CR_SECCOMP_H
#define CR_SECCOMP_H

/*
 * Seccomp filters, dump and restore (seccomp.c). Filters belong to each
 * thread: a thread's chain is the filters it inherited when it was
 * cloned (shared with the thread that cloned it), those a TSYNC install
 * gave every thread, and its own on top.
 */
#include <stdbool.h>
#include <sys/types.h>

#include "core.pb-c.h"

struct region;
struct restorer_args;
struct restorer_thread;

/* A thread's filters, oldest first, as core.proto stores them. */
struct seccomp_chain {
	bool strict;			/* SECCOMP_MODE_STRICT: no filters */
	unsigned nr;
	SeccompFilterEntry *filters;
	SeccompFilterEntry **ptrs;
};

/*
 * Dump: thread @tid's filters (seized, stopped), or its strict mode (the
 * parasite runs in it all the same: cr seizes with
 * PTRACE_O_SUSPEND_SECCOMP). Refuses (-EOPNOTSUPP,
 * logged) a filter that can hand a syscall to a user-space listener.
 * The flags to install each with: LOG as the kernel reports it,
 * SPEC_ALLOW unless the thread's speculation is force-mitigated.
 */
int seccomp_collect(pid_t tid, struct seccomp_chain *ret);
void seccomp_chain_free(struct seccomp_chain *c);

/*
 * Dump, a thread @tid other than the main one: its chain into @own and
 * @te when it is not @main_chain (otherwise @te says nothing: the main
 * thread's, as images without per-thread filters had it).
 */
int seccomp_dump_thread(pid_t tid, const struct seccomp_chain *main_chain, struct seccomp_chain *own,
			ThreadCoreEntry *te);

/*
 * Restore: every thread's filters for the restorer (@th: the main one
 * first, @a->nr_threads of them), from @rg. The filters every thread has
 * at the bottom of its chain go in once with TSYNC, shared as they were.
 */
int seccomp_prepare_restore(const CoreEntry *core, pid_t pid, struct restorer_args *a,
			    struct restorer_thread *th, struct region *rg);

#endif
