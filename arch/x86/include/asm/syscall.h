#ifndef CR_ASM_SYSCALL_H
#define CR_ASM_SYSCALL_H

/* Raw x86-64 syscalls: return the kernel's value, -errno on failure. */

#include <asm/unistd.h>

static inline long __syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define __sc(nr, a1, a2, a3, a4, a5, a6) \
	__syscall6(nr, (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))

/* The bytes of "syscall; int3", used to run syscalls inside a stopped task. */
#define ARCH_SYSCALL_INSN	0x0f, 0x05
#define ARCH_SYSCALL_INSN_LEN	2
#define ARCH_TRAP_INSN		0xcc

#endif
