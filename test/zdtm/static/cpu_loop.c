/*
 * Registers survive a checkpoint taken in the middle of a busy loop.
 *
 * The loop lives in one asm block so the compiler cannot spill anything:
 * rbx and r12-r15 (callee-saved) hold constants, r8-r11 evolve every
 * iteration. After SIGTERM the final values are compared with a replay of
 * the same recurrence in C, so a single corrupted register at restore
 * shows up as a mismatch.
 */
#include <stdint.h>
#include "zdtm.h"

/* Plain hex (no ULL) so the same token works in asm text and in C. */
#define K_RBX	0x0123456789abcdef
#define K_R12	0xfedcba9876543210
#define K_R13	0x5555aaaa5555aaaa
#define K_R14	0x0f0f0f0ff0f0f0f0
#define K_R15	0x8000000000000001
#define STR_(x)	#x
#define STR(x)	STR_(x)
#define LCG_MUL	6364136223846793005ULL

int main(int argc, char **argv)
{
	uint64_t n, sum, lcg, mix, rbx, r12, r13, r14, r15;
	uint64_t e_sum = 0, e_lcg = 1, e_mix = 0x9e3779b97f4a7c15ULL, i;

	test_init(argc, argv);
	test_ready();

	asm volatile(
		"movabs $" STR(K_RBX) ", %%rbx\n\t"
		"movabs $" STR(K_R12) ", %%r12\n\t"
		"movabs $" STR(K_R13) ", %%r13\n\t"
		"movabs $" STR(K_R14) ", %%r14\n\t"
		"movabs $" STR(K_R15) ", %%r15\n\t"
		"xor %%r8d, %%r8d\n\t"		/* iteration count */
		"xor %%r9d, %%r9d\n\t"		/* sum of counts */
		"mov $1, %%r10\n\t"		/* lcg */
		"mov $0x9e3779b97f4a7c15, %%r11\n\t" /* rotate-xor mix */
		"1:\n\t"
		"inc %%r8\n\t"
		"add %%r8, %%r9\n\t"
		"imul %[mul], %%r10\n\t"
		"add %%r8, %%r10\n\t"
		"rol $7, %%r11\n\t"
		"xor %%r8, %%r11\n\t"
		"pause\n\t"
		"cmpl $0, (%[flag])\n\t"
		"je 1b\n\t"
		"mov %%r8, %[n]\n\t"
		"mov %%r9, %[sum]\n\t"
		"mov %%r10, %[lcg]\n\t"
		"mov %%r11, %[mix]\n\t"
		"mov %%rbx, %[rbx]\n\t"
		"mov %%r12, %[r12]\n\t"
		"mov %%r13, %[r13]\n\t"
		"mov %%r14, %[r14]\n\t"
		"mov %%r15, %[r15]\n\t"
		: [n] "=m"(n), [sum] "=m"(sum), [lcg] "=m"(lcg), [mix] "=m"(mix),
		  [rbx] "=m"(rbx), [r12] "=m"(r12), [r13] "=m"(r13),
		  [r14] "=m"(r14), [r15] "=m"(r15)
		: [flag] "r"(&zdtm_sigterm_seen), [mul] "r"(LCG_MUL)
		: "rbx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
		  "cc", "memory");

	for (i = 1; i <= n; i++) {
		e_sum += i;
		e_lcg = e_lcg * LCG_MUL + i;
		e_mix = ((e_mix << 7) | (e_mix >> 57)) ^ i;
	}
	test_msg("%llu iterations", (unsigned long long)n);

	if (rbx != K_RBX || r12 != K_R12 || r13 != K_R13 || r14 != K_R14 || r15 != K_R15)
		fail("callee-saved regs changed: rbx %#lx r12 %#lx r13 %#lx r14 %#lx r15 %#lx",
		     rbx, r12, r13, r14, r15);
	if (sum != e_sum || lcg != e_lcg || mix != e_mix)
		fail("loop state mismatch after %lu iterations: sum %#lx/%#lx lcg %#lx/%#lx mix %#lx/%#lx",
		     n, sum, e_sum, lcg, e_lcg, mix, e_mix);
	pass();
}
