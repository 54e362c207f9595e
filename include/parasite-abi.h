#ifndef CR_PARASITE_ABI_H
#define CR_PARASITE_ABI_H

/*
 * The contract between cr and the parasite blob. The shared area (shared
 * anonymous memory, mapped by both) is laid out as:
 *	[ blob code | struct parasite_args | command data | stack ]
 * Commands travel over a SOCK_SEQPACKET unix socket as struct
 * parasite_msg; bulk arguments and results live in the shared area; fds
 * travel with SCM_RIGHTS.
 */

#include "compiler.h"
#include "asm/regs.h"

#define PARASITE_STACK_SIZE	(64 * 1024)
#define PARASITE_DATA_SIZE	(256 * 1024)
#define PARASITE_SUN_PATH_MAX	108

enum parasite_cmd {
	PARASITE_CMD_ACK = 1,		/* reply */
	PARASITE_CMD_DUMP_PAGES,	/* pipe fd via SCM_RIGHTS, iovs in data */
	PARASITE_CMD_DUMP_MISC,		/* sigactions, itimers, brk, umask, ... */
	PARASITE_CMD_MAX,
};

struct parasite_msg {
	u32 cmd;
	int ret;			/* reply: 0 or -errno */
	u64 arg;
};

/* Written by cr before the parasite starts. */
struct parasite_args {
	u16 sun_len;			/* bytes of sun_path used (abstract name) */
	char sun_path[PARASITE_SUN_PATH_MAX];
	u64 log_level;
	/*
	 * When the channel to cr closes (cr is done, or died), the parasite
	 * unmaps its area with a munmap issued at the trampoline's syscall
	 * entry (asm/tramp.h), which then puts the task's state back.
	 */
	u64 tramp_sys;
	u64 area_start, area_size;
	u64 data;			/* address of the command data area */
	/*
	 * The thread's rseq registration: the kernel rewrites that area
	 * whenever the parasite is preempted or migrated, which would
	 * change pages between their checksum and their copy. The parasite
	 * unregisters it while it runs and registers it again on the way out.
	 */
	u64 rseq_ptr;			/* 0: none */
	u32 rseq_size, rseq_sig;
};

/* PARASITE_CMD_DUMP_PAGES: iovs of present pages, in address order. */
struct parasite_page_iov {
	u64 addr;
	u32 nr_pages;
	u32 prot;			/* VMA prot: the parasite adds PROT_READ if needed */
	u32 crc;			/* filled by the parasite: CRC32C of the run */
	u32 __pad;
};

struct parasite_dump_pages {
	u32 nr_iovs;
	u32 __pad;
	struct parasite_page_iov iovs[];
};
#define PARASITE_MAX_IOVS \
	((PARASITE_DATA_SIZE - sizeof(struct parasite_dump_pages)) / sizeof(struct parasite_page_iov))

#define PARASITE_NSIG		64
/*
 * RLIM_NLIMITS. Read from inside: prlimit() on another process with other
 * uids needs CAP_SYS_RESOURCE, which cr may not have.
 */
#define PARASITE_NR_RLIMITS	16

struct parasite_sigaction {
	u64 handler, flags, restorer, mask;
};

struct parasite_itimerval {
	u64 isec, iusec, vsec, vusec;
};

#define PARASITE_MAX_TIMERS	512

struct parasite_timer {
	int id;				/* in: from /proc/PID/timers */
	int __pad;
	u64 isec, insec, vsec, vnsec;	/* out: timer_gettime() */
};

/* PARASITE_CMD_DUMP_MISC result. */
struct parasite_dump_misc {
	struct parasite_sigaction sa[PARASITE_NSIG];	/* index = signo - 1 */
	struct parasite_itimerval itimers[3];		/* REAL, VIRTUAL, PROF */
	u64 brk;
	u32 umask;
	u64 rlimits[PARASITE_NR_RLIMITS][2];	/* cur, max */
	u32 secbits;			/* PR_GET_SECUREBITS */
	u32 dumpable;			/* PR_GET_DUMPABLE */
	int pdeath_sig;			/* PR_GET_PDEATHSIG */
	int child_subreaper;		/* PR_GET_CHILD_SUBREAPER */
	u64 xfeatures_perm;		/* ARCH_GET_XCOMP_PERM, 0 if unknown */
	u64 clear_tid;			/* PR_GET_TID_ADDRESS */
	int pid;
	struct arch_stack sigaltstack;
	u32 nr_timers;			/* in */
	struct parasite_timer timers[PARASITE_MAX_TIMERS];
};
BUILD_BUG_ON(sizeof(struct parasite_dump_misc) > PARASITE_DATA_SIZE);

#endif
