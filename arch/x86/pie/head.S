/*
 * Entry of both blobs. The host jumps here with %rsp at the top of the
 * blob's stack and %rdi pointing at the blob's arguments. blob_main()
 * returning ends in int3, a trap the tracer (cr) waits for.
 */
	.section .head.text, "ax"
	.globl	__export_blob_start
__export_blob_start:
	andq	$-16, %rsp
	call	blob_main
	int3

/* A syscall instruction the host can point %rip at for remote syscalls. */
	.globl	__export_syscall_insn
__export_syscall_insn:
	syscall
	int3

/*
 * long arch_clone_thread(struct clone_args *ca, size_t size,
 *			  void (*fn)(void *), void *arg)
 * clone3() a thread that starts on ca->stack in fn(arg), which never
 * returns. The parent gets the TID or -errno. The child's registers are
 * the parent's but %rax and %rsp, so fn and arg travel in %r12, %r13.
 */
	.text
	.globl	arch_clone_thread
	.hidden	arch_clone_thread
arch_clone_thread:
	pushq	%r12
	pushq	%r13
	movq	%rdx, %r12
	movq	%rcx, %r13
	movl	$435, %eax		/* __NR_clone3 */
	syscall
	testq	%rax, %rax
	jnz	1f
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	andq	$-16, %rsp
	callq	*%r12
	ud2
1:	popq	%r13
	popq	%r12
	ret

	.section .note.GNU-stack, "", @progbits
