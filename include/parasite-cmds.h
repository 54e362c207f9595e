#ifndef CR_PARASITE_CMDS_H
#define CR_PARASITE_CMDS_H

/*
 * cr's commands to its parasite (pie/parasite.c) and their data, on top
 * of the engine's channel (parasite/infect-abi.h): arguments and results
 * live in the command data area, PARASITE_DATA_SIZE bytes that cr asks
 * infect_start_blob() for.
 */

#include "compiler.h"
#include "infect-abi.h"
#include "asm/regs.h"

#define PARASITE_DATA_SIZE	(256 * 1024)

enum parasite_cmd {
	PARASITE_CMD_DUMP_PAGES = PARASITE_USER_CMDS,	/* pipe fd via SCM_RIGHTS, iovs in data */
	PARASITE_CMD_DUMP_MISC,		/* sigactions, itimers, brk, umask, ... */
	PARASITE_CMD_MAX,
};

/* PARASITE_CMD_DUMP_PAGES: iovs of present pages, in address order. */
struct parasite_page_iov {
	u64 addr;
	u32 nr_pages;
	u32 prot;			/* VMA prot: the parasite adds PROT_READ if needed */
	u32 crc;			/* filled by the parasite: CRC32C of the run */
	u32 __pad;
};

/* PARASITE_CMD_DUMP_PAGES flags */
#define PARASITE_PAGES_NO_CRC	(1u << 0)	/* signed dumps: cr MACs the runs, no CRC32C wanted */

struct parasite_dump_pages {
	u32 nr_iovs;
	u32 flags;			/* PARASITE_PAGES_* */
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
	int thp_disable;		/* PR_GET_THP_DISABLE */
	int membarrier;			/* MEMBARRIER_CMD_GET_REGISTRATIONS, or -errno (before 6.3) */
	u32 mcl_future;			/* MCL_FUTURE [| MCL_ONFAULT] as mlockall() set it, or 0 */
	u32 nr_timers;			/* in */
	struct parasite_timer timers[PARASITE_MAX_TIMERS];
};
BUILD_BUG_ON(sizeof(struct parasite_dump_misc) > PARASITE_DATA_SIZE);

#endif
