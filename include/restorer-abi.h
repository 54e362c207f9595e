#ifndef CR_RESTORER_ABI_H
#define CR_RESTORER_ABI_H

/*
 * The contract between cr restore and the restorer blob. cr builds one
 * region, mapped MAP_SHARED at an address free both in its own layout and
 * in the dumped one, before it clones the task, so cr and the restorer
 * see the same bytes at the same address:
 *	[ blob | struct restorer_args | arrays | sigframe | stack | park ]
 * Pointers in here are plain addresses valid in both.
 */

#include "compiler.h"
#include "asm/regs.h"
#include <linux/userfaultfd.h>

#define RESTORER_STACK_SIZE	(64 * 1024)
#define RESTORER_NSIG		64
#define RESTORER_NR_RLIMITS	16
#define RESTORER_NR_SPECIAL	3	/* vvar_vclock, vvar, vdso */
#define RESTORER_MAX_MADV	8
#define RESTORER_MADV_GUARD_INSTALL	102	/* Linux 6.13; libc headers may lack it */
#define RESTORER_MADV_GUARD_REMOVE	103
#define RESTORER_THREAD_STACK	(16 * 1024)

enum restorer_status {
	RESTORER_RUNNING = 0,
	RESTORER_READY,			/* all done, waiting for go */
	RESTORER_FAILED,		/* err and step say why */
	RESTORER_SHARERS_WAIT,		/* a shared fd table's task: waits for sharers_ready */
};

/*
 * An fd table shared by processes (CLONE_FILES) holds cr's fds once for
 * all of them. Every sharer waits (RESTORER_SHARERS_WAIT) when it no
 * longer needs them; once all do, cr lets the owner on, which closes
 * them and takes its POSIX locks, then (the owner ready) the other
 * sharers, which take theirs (a close drops the table's locks on the
 * file). The go pipe stays open in a shared table: cr closes it with a
 * remote syscall once every sharer is out of its restorer.
 */
enum restorer_fd_table {
	RESTORER_FDT_OWN = 0,		/* a table of its own */
	RESTORER_FDT_OWNER,		/* the table's owner, which restored its fds */
	RESTORER_FDT_SHARER,		/* shares the owner's table */
};

struct restorer_vma {
	u64 start, end, pgoff;
	u32 prot, flags;		/* final prot; MAP_* */
	int fd;				/* file, or -1 */
	int sysv_id;			/* SysV segment to shmat(), or -1 */
	u32 has_pages;
	u32 nr_madv;
	u32 madv[RESTORER_MAX_MADV];	/* MADV_* advice to apply */
	u32 locked;			/* mlock2() it, with lock_flags (MLOCK_ONFAULT) */
	u32 lock_flags;
	u64 premap;			/* filled there before the fork (mem-cow.c): moved, not mapped; or 0 */
	u32 lazy;			/* --lazy-pages: registered with the userfaultfd, not filled (restorer-uffd.c) */
	u32 __pad_lazy;
};

#define RESTORER_MAX_PARENTS	16	/* MEM_MAX_PARENTS */

struct restorer_iov {			/* matches struct iovec */
	u64 base, len;
};

/*
 * MADV_GUARD_INSTALL on [start, start + len), once the VMAs have their
 * final shape (a guard sets the sticky "gu" flag of the whole VMA it is
 * in). With flag_only, removed again: a VMA that had the flag and no
 * guard left gets the flag, at a page that holds nothing.
 */
struct restorer_guard {
	u64 start, len;
	u32 flag_only;
	u32 __pad;
};

/* An AIO context: made with io_setup(nr_req), its ring moved to start, head and tail set. */
struct restorer_aio {
	u64 start, len;
	u32 nr_req;
	u32 nr;				/* events of the ring io_setup() must make */
	u32 head, tail;
	u64 events;			/* struct io_event[]: the unreaped ones, head to tail */
};

/* Transparent huge pages to MADV_COLLAPSE once the pages are in. */
struct restorer_thp {
	u64 start, len;
};

struct restorer_special {
	u64 cur_start;			/* where the kernel put ours */
	u64 size;
	u64 park;			/* where it waits inside the region */
	u64 dumped_start;		/* where the image wants it */
};

struct restorer_sigaction {
	u64 handler, flags, restorer, mask;
};

struct restorer_rlimit {
	u64 cur, max;
	u32 resource, set;
};

/* The kernel's struct prctl_mm_map. */
struct restorer_mm_map {
	u64 start_code, end_code, start_data, end_data;
	u64 start_brk, brk, start_stack;
	u64 arg_start, arg_end, env_start, env_end;
	u64 auxv;
	u32 auxv_size;
	u32 exe_fd;
};

struct restorer_creds {
	u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
	u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	u32 secbits, no_new_privs, dumpable, last_cap;
	u32 nr_groups;
	u32 keep_groups;		/* setgroups denied in its user namespace: the groups it has */
	u64 groups;			/* u32[] */
};

struct restorer_timer {
	int id, clock, signo, notify, tid;
	int __pad;
	u64 sigval;
	u64 its[4];			/* struct itimerspec: interval, value */
};

struct restorer_filter {		/* a struct sock_fprog */
	u32 len;			/* instructions */
	u32 __pad;
	u64 insns;
	u64 flags;			/* SECCOMP_FILTER_FLAG_* */
};

struct restorer_sched {			/* the kernel's struct sched_attr */
	u32 size, policy;
	u64 flags;
	int nice;
	u32 priority;
	u64 runtime, deadline, period;
};

#define RST_MAX_PID_LEVELS	9	/* cr's pid namespace and 8 below it */

/* Per thread; the main thread is threads[0]. */
struct restorer_thread {
	int tid;			/* as the task's own pid namespace sees it */
	/*
	 * clone3's set_tid: the tid at every level, the innermost first (0:
	 * just tid). If that is in use, the first set_tid_min entries do
	 * (the outer ones were only wished for).
	 */
	u32 set_tid_size, set_tid_min;
	int set_tid[RST_MAX_PID_LEVELS];
	u32 has_sched;
	u64 fs_base, gs_base;
	u64 sigframe;			/* complete rt_sigframe */
	u64 rseq_ptr;			/* re-register at the same address */
	u32 rseq_size, rseq_sig;
	u64 clear_tid;			/* set_tid_address() */
	u64 robust_head, robust_len;	/* set_robust_list() */
	int pdeath_sig;			/* not the main thread: see pdeath_sig */
	u64 xfeatures;			/* what its sigframe holds */
	int __pad;
	struct restorer_sched sched;
	char comm[16];
	u32 nr_sigs;
	u64 siginfos;			/* private pending: 128-byte records */
	u64 stack_top;			/* not the main thread: its stack */
	u32 nr_filters;			/* its seccomp chain (seccomp.c) */
	u32 seccomp_strict;		/* enters SECCOMP_MODE_STRICT last */
	u64 filters;			/* struct restorer_filter[], oldest first */
};

/*
 * A POSIX record lock, taken by the restorer once cr's fds are closed:
 * closing any fd of a file drops the process's POSIX locks on it.
 */
struct restorer_lock {
	int fd;
	u32 type;			/* F_RDLCK, F_WRLCK */
	long long start, len;
};

struct restorer_args {
	/* progress, read by cr */
	volatile u32 status;
	volatile int err;
	volatile u32 step;		/* enum restorer_step where it failed */
	volatile u64 bytes_read;	/* of the iovs, read into place so far (cr's progress line) */
	/*
	 * The go pipe's read end, shared by the whole tree; cr holds the only
	 * write end. A byte in it: go live. End of file without one: cr
	 * died before it let the tree go, and every task exits.
	 */
	int go_fd;
	volatile u32 threads_gone;	/* futex: threads past the go */

	int log_fd, log_level;
	int helper_fd_from;		/* cr's fds in the task start here */
	int pages_fd;

	u64 region_start, region_size;
	u64 task_size;

	u32 nr_vmas;
	u64 vmas;			/* struct restorer_vma[] */
	u32 nr_iovs;
	u64 iovs;			/* struct restorer_iov[] */
	u64 iov_offs;			/* u64[]: each iov's offset in the page image */
	u64 iov_srcs;			/* u8[]: each iov's page image: 0 pages_fd, N parent_fds[N - 1] */
	int parent_fds[RESTORER_MAX_PARENTS];	/* pre-copy: the parent images' pages */
	u32 nr_keep;
	u64 keep;			/* struct restorer_iov[], address order: what unmap_old() leaves (the region, premaps) */

	u32 nr_special;
	struct restorer_special special[RESTORER_NR_SPECIAL];

	struct restorer_mm_map mm_map;
	u32 sa_valid[RESTORER_NSIG];
	struct restorer_sigaction sa[RESTORER_NSIG];	/* index signo - 1 */
	u64 itimers[3][4];		/* isec iusec vsec vusec */
	u32 nr_rlimits;
	struct restorer_rlimit rlimits[RESTORER_NR_RLIMITS];
	u32 personality;
	u64 xfeatures_req;		/* dynamic xstate features to ask for (AMX) */
	int pdeath_sig;
	u32 child_subreaper;
	u32 mcl_future;			/* mlockall() flags, once the mappings are made; 0: none */

	u32 nr_sigs_shared;
	u64 siginfos;			/* process-wide pending: 128-byte records */
	int pid;

	u32 nr_timers;
	u64 timers;			/* struct restorer_timer[] */
	/*
	 * Seccomp: the first nr_filters_shared filters of every thread's
	 * chain are the same; the main thread installs them with TSYNC once
	 * the others wait for it without a syscall (seccomp_waiting), then
	 * lets them on (seccomp_synced) to install the rest of theirs.
	 */
	u32 has_filters;		/* any thread has some */
	u32 nr_filters_shared;
	volatile u32 seccomp_waiting;
	volatile u32 seccomp_synced;
	u32 has_creds;
	struct restorer_creds creds;
	u32 nr_threads;
	u64 threads;			/* struct restorer_thread[], main first */
	u32 nr_locks;
	u64 locks;			/* struct restorer_lock[]: POSIX record locks */
	/*
	 * After the go, cr (or its guard) takes these fds' connections out of
	 * TCP repair mode; every thread waits for that before it goes live.
	 */
	u32 nr_finish_fds;
	u64 finish_fds;			/* int[] */
	/*
	 * Set by cr (or its guard) once all of them are: the threads then
	 * check none (each check would be two ptrace stops while cr runs
	 * them out of the restorer: seconds for 10,000 connections).
	 */
	volatile u32 finished;
	volatile u32 threads_ready;	/* futex: threads done with their setup */
	u32 nr_guards;
	u64 guards;			/* struct restorer_guard[] */
	/*
	 * Dumped stopped by job control: every thread sends itself SIGSTOP
	 * right before its rt_sigreturn and stops there (cr's tracing lets
	 * it on to the rt_sigreturn; detached, it stops again).
	 */
	u32 stopped;
	u32 nr_aios;
	u64 aios;			/* struct restorer_aio[] */
	u32 nr_thp;
	u64 thp;			/* struct restorer_thp[] */
	u32 fd_table;			/* enum restorer_fd_table */
	volatile u32 sharers_ready;	/* futex: the owner: the others wait; a sharer: the owner closed */
	/*
	 * --lazy-pages (pie/restorer-uffd.c): the VMAs marked lazy are
	 * registered with a userfaultfd, which goes with a pidfd of the task
	 * and struct restorer_lazy_hello over lazy_sk (SCM_RIGHTS) to the
	 * lazy-pages daemon, which fills them. -1: no lazy VMA.
	 */
	int lazy_sk;
	int lazy_img_pid;		/* whose images (pid may be the one in its own pid namespace) */
};

/* The userfaultfd events the daemon follows (fork, mremap, munmap, MADV_DONTNEED). */
#define RESTORER_LAZY_FEATURES	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | \
				 UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)

/* What the restorer sends with its userfaultfd and pidfd. */
#define RESTORER_LAZY_MAGIC	0x4c415a59	/* "LAZY" */
struct restorer_lazy_hello {
	u32 magic;
	int pid;			/* lazy_img_pid: its images */
};

/* Steps, so cr can say where a restore failed. */
enum restorer_step {
	RSTEP_CHILD_SETUP = 1,		/* in cr's code, before the blob */
	RSTEP_PARK_VDSO,
	RSTEP_UNMAP,
	RSTEP_MAP_VMAS,
	RSTEP_MADVISE,
	RSTEP_READ_PAGES,
	RSTEP_PROTECT,
	RSTEP_MOVE_VDSO,
	RSTEP_MM_MAP,
	RSTEP_SIGACTIONS,
	RSTEP_ITIMERS,
	RSTEP_POSIX_TIMERS,
	RSTEP_RLIMITS,
	RSTEP_TASK_MISC,
	RSTEP_SIGNALS,
	RSTEP_TLS,
	RSTEP_RSEQ,
	RSTEP_THREADS,
	RSTEP_THREAD_STATE,
	RSTEP_CREDS,
	RSTEP_SECCOMP,
	RSTEP_WAIT,
	RSTEP_FILE_LOCKS,
	RSTEP_MLOCK,
	RSTEP_GUARDS,
	RSTEP_AIO,
	RSTEP_LAZY,
	RSTEP_MAX,
};

#endif
