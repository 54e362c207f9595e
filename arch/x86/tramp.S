/*
 * The trampoline: a few bytes cr copies into a task it works in (into
 * the unused end of the task's vdso where there is room), so that the
 * task can always find its way back on its own. cr points the task's
 * %rip at one of its entries before it changes anything else; if cr dies
 * at any instant after that, the kernel lets the task go and it runs:
 *
 *   tramp_sys:  the syscall cr set up (harmless on its own), then restore;
 *   tramp_map:  the mmap of cr's shared area, its munmap, then restore;
 *   restore:    the saved signal mask, flags and general registers, and a
 *               jump to the saved %rip: the task's own state, untouched
 *               FPU, altstack and restart block (no rt_sigreturn).
 *
 * The parasite leaves through tramp_sys as well, with a munmap of its own
 * area: code outside the area is the only way to unmap it.
 * Data (struct arch_tramp_data) follows the code; it is read
 * %rip-relative, so the bytes work wherever they are copied.
 */
#define NR_munmap		11
#define NR_rt_sigprocmask	14
#define SIG_SETMASK		2

	.section .rodata, "a"
	.balign	64
	.globl	arch_tramp_start, arch_tramp_sys, arch_tramp_map, arch_tramp_restore
	.globl	arch_tramp_data, arch_tramp_end
	.hidden	arch_tramp_start, arch_tramp_sys, arch_tramp_map, arch_tramp_restore
	.hidden	arch_tramp_data, arch_tramp_end
arch_tramp_start:
arch_tramp_sys:
	syscall
	jmp	arch_tramp_restore
arch_tramp_map:
	syscall
	movq	%rax, %rdi		/* what mmap gave (or -errno: munmap refuses) */
	movl	$NR_munmap, %eax	/* %rsi still holds the length */
	syscall
arch_tramp_restore:
	/* Flags first, from a "stack" of one word in the data: mov keeps them. */
	leaq	d_flags(%rip), %rsp
	popfq
	movq	d_sp(%rip), %rsp
	/*
	 * Signals the mask lets through are delivered right here, on the
	 * task's own stack; their handler returns to the next instruction.
	 */
	movl	$NR_rt_sigprocmask, %eax
	movl	$SIG_SETMASK, %edi
	leaq	d_mask(%rip), %rsi
	movl	$0, %edx
	movl	$8, %r10d
	syscall
	movq	d_ax(%rip), %rax
	movq	d_bx(%rip), %rbx
	movq	d_cx(%rip), %rcx
	movq	d_dx(%rip), %rdx
	movq	d_si(%rip), %rsi
	movq	d_di(%rip), %rdi
	movq	d_bp(%rip), %rbp
	movq	d_r8(%rip), %r8
	movq	d_r9(%rip), %r9
	movq	d_r10(%rip), %r10
	movq	d_r11(%rip), %r11
	movq	d_r12(%rip), %r12
	movq	d_r13(%rip), %r13
	movq	d_r14(%rip), %r14
	movq	d_r15(%rip), %r15
	jmpq	*d_ip(%rip)

	/* struct arch_tramp_data: keep the order in asm/tramp.h */
	.balign	8
arch_tramp_data:
d_ip:	.quad	0
d_sp:	.quad	0
d_flags: .quad	0
d_mask:	.quad	0
d_ax:	.quad	0
d_bx:	.quad	0
d_cx:	.quad	0
d_dx:	.quad	0
d_si:	.quad	0
d_di:	.quad	0
d_bp:	.quad	0
d_r8:	.quad	0
d_r9:	.quad	0
d_r10:	.quad	0
d_r11:	.quad	0
d_r12:	.quad	0
d_r13:	.quad	0
d_r14:	.quad	0
d_r15:	.quad	0
arch_tramp_end:

	.section .note.GNU-stack, "", @progbits
