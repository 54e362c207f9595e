#ifndef CR_INFECT_H
#define CR_INFECT_H

/*
 * The injection engine, libinfect.a (parasite/ and arch/): seize a task,
 * run syscalls inside it, load a blob into it and talk to that blob, then
 * put everything back. It knows ptrace, registers and the blob ABI
 * (infect-abi.h); nothing about images, nothing of the tool that links
 * it. This header is its API, with the arch headers it includes and
 * asm/tramp.h (the room infect_prepare() needs). It never prints: it logs
 * through the callback installed with infect_set_logger(). It never
 * aborts: a failed allocation is -ENOMEM. Not thread-safe: one thread
 * drives it.
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "infect-abi.h"
#include "asm/regs.h"

/*
 * @level: 1 error, 2 warning, 4 debug (cr's -v levels); @file:@line in
 * the engine. No callback: the engine is silent.
 */
typedef void (*infect_log_fn)(int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void infect_set_logger(infect_log_fn fn);

/*
 * Fault injection for tests: the engine calls @fn at named points of its
 * work in a task ("infect-parked", "infect-masked", "infect-syscall",
 * "infect-mapped", "blob-started", "cure-stopped", "cure-unmapped",
 * "cure-unmasked", "cure-regs"); a non-zero return is an error there.
 */
typedef int (*infect_fault_fn)(const char *point);
void infect_set_fault_hook(infect_fault_fn fn);

/* The complete CPU state of a stopped thread. */
struct infect_regs {
	struct user_regs gpr;
	uint32_t xsave_size;
	unsigned char *xsave;		/* xsave_size bytes, user (standard) format */
};
/* Frees what infect_get_regs() allocated (not @r itself). */
void infect_regs_free(struct infect_regs *r);

/*
 * Seizes @pid (PTRACE_SEIZE + PTRACE_INTERRUPT) and waits until it is
 * stopped. -ESRCH: no such task; -EPERM: not allowed or already traced.
 */
int __must_check infect_seize(pid_t pid);
/*
 * The two halves of infect_seize(), for a task that cannot stop yet (in
 * a frozen cgroup): SEIZE + INTERRUPT now, the wait for the stop later.
 */
int __must_check infect_seize_nowait(pid_t pid);
int __must_check infect_seize_wait(pid_t pid);
/*
 * Job control of a seized task at a PTRACE_EVENT_STOP. infect_stop_sig():
 * *ret_sig is the stop signal when the stop is the task's part of a group
 * stop (it was stopped, or a group stop is in progress), 0 for a plain
 * interrupt stop. infect_join_group_stop(): resumes a thread that a group
 * stop is pending for (a SIGSTOP queued or dequeued, another thread
 * stopped already) until it reports its group stop; it runs no user code
 * meanwhile. A thread nothing stops would run: -ETIMEDOUT after 10 s
 * (interrupted again). A detached thread of a stopped group stops again
 * by itself (state T).
 */
int __must_check infect_stop_sig(pid_t pid, int *ret_sig);
int __must_check infect_join_group_stop(pid_t pid);
/* Detaches (the task runs on) or kills it. Returns 0 or -errno. */
int infect_detach(pid_t pid);

int __must_check infect_get_regs(pid_t pid, struct infect_regs *ret);
int __must_check infect_set_regs(pid_t pid, const struct infect_regs *r);
int __must_check infect_get_sigmask(pid_t pid, uint64_t *ret_mask);
int __must_check infect_set_sigmask(pid_t pid, uint64_t mask);

/*
 * Pending signals of @pid's private (shared=0) or process-wide (shared=1)
 * queue, as an array of 128-byte siginfo records (free()). Peeked, not
 * dequeued.
 */
int __must_check infect_peek_siginfo(pid_t pid, int shared, void **ret_infos, unsigned *ret_nr);

/* The task's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION). */
struct infect_rseq {
	uint64_t ptr;			/* 0: none registered */
	uint32_t size, sig;
};
int __must_check infect_get_rseq(pid_t pid, struct infect_rseq *ret);

/*
 * Seccomp filter @index of @pid (0: the newest) as classic BPF: returns 1
 * with the instructions (8 bytes each, free()) and SECCOMP_FILTER_FLAG_*,
 * 0 when there is no such filter, -errno on failure.
 */
int __must_check infect_seccomp_filter(pid_t pid, unsigned index, void **ret_insns,
				       unsigned *ret_len, uint64_t *ret_flags);

struct parasite_ctl;

/*
 * Takes the seized, stopped @pid in hand: saves its registers and mask,
 * copies the trampoline (asm/tramp.h) to @place, points the task at it
 * and then blocks all its signals. @place: ARCH_TRAMP_SIZE bytes of an
 * executable mapping of the task that nothing runs meanwhile (the unused
 * end of its vdso); what was there is put back by infect_cure(). From
 * this call until infect_cure() returns, a task that the caller leaves
 * (it dies) finds its way back to its own state by itself.
 */
int __must_check infect_prepare(pid_t pid, uint64_t place, struct parasite_ctl **ret_ctl);
const struct infect_regs *infect_orig_regs(const struct parasite_ctl *ctl);
uint64_t infect_orig_sigmask(const struct parasite_ctl *ctl);

/*
 * Runs syscall @nr with up to six arguments inside the task; *ret gets
 * its result (-errno from the kernel is a result, not a failure of the
 * call). The syscall must be harmless if the task runs it alone (the
 * caller dies first): it does.
 */
int __must_check infect_syscall(struct parasite_ctl *ctl, long nr, long *ret,
				long a1, long a2, long a3, long a4, long a5, long a6);

/*
 * Resumes the stopped @pid syscall by syscall until the exit of syscall
 * @nr (issued from the instruction before @ip, 0: anywhere), at most
 * @max_stops stops; *ret (if not NULL) gets its result. -EIO if it stops
 * for anything else, -ESRCH if it dies.
 */
int __must_check infect_run_to_syscall_exit(pid_t pid, long nr, uint64_t ip, unsigned max_stops,
					    long *ret);
/*
 * The same for the @n stopped threads @tids at once, which may wait for
 * each other on the way; @ip is not checked. On failure some may still
 * run: the caller kills them.
 */
int __must_check infect_run_all_to_syscall_exit(const pid_t *tids, unsigned n, long nr, unsigned max_stops);

/*
 * Maps a shared area in the task and in the caller, copies the blob
 * there, starts it at @entry_off and accepts its connection. The blob
 * gets struct parasite_args (infect-abi.h); @data_size bytes of command
 * data follow it. On failure, infect_cure() undoes what was done.
 */
int __must_check infect_start_blob(struct parasite_ctl *ctl, const void *blob, size_t blob_size,
				   size_t entry_off, size_t data_size);

/*
 * The caller's view of the command data area, and where the task sees
 * it: remote syscalls of the task's other threads may write answers there.
 */
void *infect_data(struct parasite_ctl *ctl);
uint64_t infect_remote_data(const struct parasite_ctl *ctl);

/*
 * Sends @cmd (PARASITE_USER_CMDS and up; and @fd when >= 0) and waits for
 * the blob's reply: 0, the -errno it answered, or -errno of the channel.
 */
int __must_check infect_cmd(struct parasite_ctl *ctl, unsigned cmd, int fd);

/*
 * Lets the blob leave (it unmaps its area), or unmaps the area itself if
 * the blob cannot; restores the signal mask and the registers, puts back
 * the trampoline's place and frees @ctl. After it the task is as it was
 * at infect_prepare(), still seized and stopped. Works at any stage (also
 * after a failed command). Returns 0 or -errno.
 */
int infect_cure(struct parasite_ctl *ctl);

/* The two halves of infect_cmd(), for commands the caller feeds while they run. */
int __must_check infect_cmd_send(struct parasite_ctl *ctl, unsigned cmd, int fd);
int __must_check infect_cmd_wait(struct parasite_ctl *ctl, unsigned cmd);
#endif
