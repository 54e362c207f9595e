#ifndef CR_INFECT_ABI_H
#define CR_INFECT_ABI_H

/*
 * The engine's contract with any blob it loads (infect_start_blob()), for
 * the host and for the blob alike: no libc here. The shared area (shared
 * anonymous memory, mapped by both) is laid out as:
 *	[ blob code | struct parasite_args | command data | stack ]
 * Commands travel over a SOCK_SEQPACKET unix socket as struct
 * parasite_msg; bulk arguments and results live in the command data;
 * fds travel with SCM_RIGHTS. The blob answers every command with one
 * PARASITE_CMD_ACK. Which commands there are is the blob's and its
 * host's business: their ids start at PARASITE_USER_CMDS.
 */

#include "compiler.h"
#include "asm/regs.h"

#define PARASITE_STACK_SIZE	(64 * 1024)
#define PARASITE_SUN_PATH_MAX	108

#define PARASITE_CMD_ACK	1	/* the reply: ret is 0 or -errno */
#define PARASITE_USER_CMDS	2	/* the first id of a blob's own commands */

struct parasite_msg {
	u32 cmd;
	int ret;			/* reply: 0 or -errno */
	u64 arg;
};
BUILD_BUG_ON(sizeof(struct parasite_msg) != 16);

/* Written by the engine before the blob starts; the blob gets its address. */
struct parasite_args {
	u16 sun_len;			/* bytes of sun_path used (abstract name) */
	char sun_path[PARASITE_SUN_PATH_MAX];
	u64 log_level;
	/*
	 * When the channel closes (the host is done, or died), the blob
	 * unmaps its area with a munmap issued at the trampoline's syscall
	 * entry (asm/tramp.h, asm/pie-arch.h's arch_tramp_leave()), which
	 * then puts the task's state back. infect_cure() waits for that
	 * munmap.
	 */
	u64 tramp_sys;
	u64 area_start, area_size;
	u64 data;			/* address of the command data area */
	/*
	 * The thread's rseq registration: the kernel rewrites that area
	 * whenever the blob is preempted or migrated, which would change
	 * pages a blob reads (cr's parasite checksums them). A blob may
	 * unregister it while it runs and register it again on the way out.
	 */
	u64 rseq_ptr;			/* 0: none */
	u32 rseq_size, rseq_sig;
	/*
	 * The blob could not reach the host's socket (-errno): it writes it
	 * here and leaves (as it would if the host had died: it may have).
	 * The host stops waiting for the connection at once, and its cure
	 * finds the task gone on with its own code, or still on its way out.
	 * The socket's abstract name lives in a network namespace: the
	 * host's must be the task's.
	 */
	int conn_err;
	u32 pad;
};
BUILD_BUG_ON(sizeof(struct parasite_args) != 176);

#endif
