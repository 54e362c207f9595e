#ifndef CR_ASM_ARCH_H
#define CR_ASM_ARCH_H

#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "asm/regs.h"

/* The ptrace regset of the extended register state (xsave, user format). */
#define ARCH_NT_XSTATE		NT_X86_XSTATE

/* Bytes of one xsave area for the features this CPU/kernel enable. */
uint32_t arch_xsave_size(void);
/* XCR0: the xsave features in use. */
uint64_t arch_xfeatures(void);
/*
 * The XCR0 features the kernel gives a process only on request
 * (arch_prctl ARCH_REQ_XCOMP_PERM): AMX tile data. A process that did not
 * ask has a smaller xstate, and rt_sigreturn ignores the whole extended
 * state of a frame that claims more than that (it restores x87/SSE only).
 */
uint64_t arch_xfeatures_dynamic(void);
/* Bytes of a standard-format xsave area that holds @features. */
uint32_t arch_xsave_user_size(uint64_t features);
/*
 * The features a sigframe may claim for a task whose xsave image is
 * @xsave: every static one, plus the dynamic ones it uses or was
 * @permitted (the permission must be in place before rt_sigreturn).
 */
uint64_t arch_sigframe_xfeatures(const void *xsave, uint64_t permitted);
/*
 * Describes the CPU's xsave support ("size N bytes, XCR0 0x..: x87 sse ...")
 * into @buf; -ENOTSUP with the reason in @buf when it has none.
 */
int arch_cpu_describe(char *buf, size_t len);
/* 1 if the stopped task runs 64-bit code. */
static inline int arch_task_is_64bit(const struct user_regs *r)
{
	return r->cs == USER_CS_64;
}

/* Switches to @sp and jumps to @entry with @arg as its first argument. */
static inline __attribute__((noreturn)) void arch_jump_to_blob(uint64_t entry, uint64_t sp, uint64_t arg)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "movq %2, %%rdi\n\t"
			 "jmpq *%1"
			 :
			 : "r"(sp), "r"(entry), "r"(arg)
			 : "memory");
	__builtin_unreachable();
}

/* Highest user address + 1 with 4-level paging. */
#define ARCH_TASK_SIZE		((1ULL << 47) - 4096)
#define ARCH_NR_RT_SIGRETURN	15

#endif
