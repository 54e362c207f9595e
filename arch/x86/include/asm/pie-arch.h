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

/* clone3() a thread running @fn(@arg) on @ca's stack; head.S. */
long arch_clone_thread(void *ca, unsigned long size, void (*fn)(void *), void *arg);

#define ARCH_SET_GS	0x1001
#define ARCH_SET_FS	0x1002

#endif
