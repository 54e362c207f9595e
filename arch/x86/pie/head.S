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

	.section .note.GNU-stack, "", @progbits
