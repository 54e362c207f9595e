#ifndef CR_ASM_PIE_ARCH_H
#define CR_ASM_PIE_ARCH_H

#include <asm/unistd.h>

/* Switch to the frame and let the kernel load it: never returns. */
static inline __attribute__((noreturn)) void arch_rt_sigreturn(unsigned long sp)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "movl %1, %%eax\n\t"
			 "syscall\n\t"
			 "ud2"
			 :
			 : "r"(sp), "i"(__NR_rt_sigreturn)
			 : "memory");
	__builtin_unreachable();
}

/*
 * Jumps to the trampoline's syscall entry (asm/tramp.h) with syscall @nr
 * and two arguments: the syscall runs outside the blob, then the
 * trampoline restores the task. Never returns.
 */
static inline __attribute__((noreturn)) void arch_tramp_leave(unsigned long tramp_sys, unsigned long nr,
							       unsigned long a1, unsigned long a2)
{
	__asm__ volatile("jmp *%0" : : "r"(tramp_sys), "a"(nr), "D"(a1), "S"(a2) : "memory");
	__builtin_unreachable();
}

/* clone3() a thread running @fn(@arg) on @ca's stack; head.S. */
long arch_clone_thread(void *ca, unsigned long size, void (*fn)(void *), void *arg);

#define ARCH_SET_GS	0x1001
#define ARCH_SET_FS	0x1002
/* Dynamic xstate features (AMX): what the process may use, and asking for more. */
#define ARCH_GET_XCOMP_PERM	0x1022
#define ARCH_REQ_XCOMP_PERM	0x1023
#define XFEATURE_XTILEDATA	18

/*
 * The permission alone does not grow a thread's xstate: the kernel does
 * that at the thread's first instruction that touches tile data (an XFD
 * #NM trap), and until then rt_sigreturn takes a frame with tile data
 * for x87/SSE only. TILERELEASE and LDTILECFG do not count (measured on
 * 6.18): configure one tile, zero it, release all.
 */
static inline void arch_xfeatures_touch(unsigned long long features)
{
	/* palette 1, tile 0: 1 row of 64 bytes */
	unsigned char cfg[64] __attribute__((aligned(64))) = { [0] = 1, [16] = 64, [48] = 1 };

	if (features & (1ULL << XFEATURE_XTILEDATA))
		__asm__ volatile("ldtilecfg %0\n\t"
				 "tilezero %%tmm0\n\t"
				 "tilerelease"
				 : : "m"(cfg) : "memory");
}

#endif
