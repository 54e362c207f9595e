/*
 * x86 register helpers: the restart fixup applied to a task stopped in a
 * syscall, and the rt_sigframe the restorer and the parasite return
 * through.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "asm/arch.h"
#include "asm/regs.h"
#include "unit.h"

static struct user_regs in_syscall(long nr, long ret)
{
	struct user_regs r = { 0 };

	r.orig_ax = nr;
	r.ax = ret;
	r.ip = 0x1000;
	return r;
}

static void test_restart_codes(void)
{
	static const long codes[] = { -ERESTARTSYS_, -ERESTARTNOINTR_, -ERESTARTNOHAND_ };

	for (unsigned i = 0; i < 3; i++) {
		struct user_regs r = in_syscall(7, codes[i]);

		arch_fixup_restart(&r, 0);
		CU_ASSERT_EQUAL(r.ax, 7);
		CU_ASSERT_EQUAL(r.ip, 0x1000 - 2);
		CU_ASSERT_EQUAL((long)r.orig_ax, -1);
	}
}

static void test_restart_block(void)
{
	struct user_regs r = in_syscall(35, -ERESTART_RESTARTBLOCK_);

	/* A restored task lost the kernel's restart state: -EINTR. */
	arch_fixup_restart(&r, 0);
	CU_ASSERT_EQUAL((long)r.ax, -EINTR_);
	CU_ASSERT_EQUAL(r.ip, 0x1000);

	/* The same task put back after a dump continues via restart_syscall. */
	r = in_syscall(35, -ERESTART_RESTARTBLOCK_);
	arch_fixup_restart(&r, 1);
	CU_ASSERT_EQUAL(r.ax, __NR_restart_syscall);
	CU_ASSERT_EQUAL(r.ip, 0x1000 - 2);
}

static void test_restart_handler(void)
{
	struct user_regs r = in_syscall(130, -ERESTARTNOHAND_);	/* rt_sigsuspend */

	/* A handler runs first: what it interrupted returns -EINTR. */
	arch_fixup_restart_handler(&r, 0);
	CU_ASSERT_EQUAL((long)r.ax, -EINTR_);
	CU_ASSERT_EQUAL(r.ip, 0x1000);
	CU_ASSERT_EQUAL((long)r.orig_ax, -1);

	r = in_syscall(0, -ERESTARTSYS_);
	arch_fixup_restart_handler(&r, 0);
	CU_ASSERT_EQUAL((long)r.ax, -EINTR_);

	/* SA_RESTART, or a syscall that always restarts: re-executed. */
	r = in_syscall(0, -ERESTARTSYS_);
	arch_fixup_restart_handler(&r, 1);
	CU_ASSERT_EQUAL(r.ax, 0);
	CU_ASSERT_EQUAL(r.ip, 0x1000 - 2);
	r = in_syscall(7, -ERESTARTNOINTR_);
	arch_fixup_restart_handler(&r, 0);
	CU_ASSERT_EQUAL(r.ax, 7);
	CU_ASSERT_EQUAL(r.ip, 0x1000 - 2);
}

static void test_no_syscall(void)
{
	struct user_regs r = in_syscall(-1, -ERESTARTSYS_);

	/* Not in a syscall: a value that looks like a restart code stays. */
	arch_fixup_restart(&r, 0);
	CU_ASSERT_EQUAL((long)r.ax, -ERESTARTSYS_);
	CU_ASSERT_EQUAL(r.ip, 0x1000);

	r = in_syscall(0, 42);		/* a syscall that completed */
	arch_fixup_restart(&r, 0);
	CU_ASSERT_EQUAL(r.ax, 42);
	CU_ASSERT_EQUAL(r.ip, 0x1000);
}

static void test_sigframe(void)
{
	const uint32_t xsize = 2696;
	unsigned char *xs = calloc(1, xsize), *frame = aligned_alloc(64, ALIGN_UP(ARCH_SIGFRAME_SIZE(xsize), 64));
	struct arch_stack ss = { .ss_flags = ARCH_SS_DISABLE };
	struct user_regs r = { .ip = 0x401000, .sp = 0x7ffc0000, .ax = 5, .r15 = 15,
			       .cs = USER_CS_64, .ss = USER_DS, .flags = 0x246 };
	struct arch_rt_sigframe *f = (void *)frame;
	struct fpx_sw_bytes *sw;
	uint64_t at = 0x7f0000000000ULL;

	*(uint64_t *)(xs + XSAVE_HDR_OFF) = 0xe7;	/* x87 SSE AVX AVX-512 */
	xs[24] = 0x80;				/* MXCSR low byte */
	/* PTRACE_GETREGSET puts XCR0 where the software bytes go: overwritten. */
	*(uint64_t *)(xs + XSAVE_SW_BYTES_OFF) = 0x600e7;
	arch_build_sigframe(frame, at, &r, xs, xsize, 0xe7, 0x1234, &ss);

	CU_ASSERT_EQUAL(f->uc.uc_mcontext.ip, 0x401000);
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.sp, 0x7ffc0000);
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.ax, 5);
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.r15, 15);
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.cs, USER_CS_64);
	CU_ASSERT_EQUAL(f->uc.uc_sigmask, 0x1234);
	CU_ASSERT_EQUAL(f->uc.uc_stack.ss_flags, ARCH_SS_DISABLE);
	/* The fpstate pointer is where the task sees the frame, 64-aligned. */
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.fpstate, at + ARCH_SIGFRAME_XSAVE_OFF);
	CU_ASSERT_EQUAL(f->uc.uc_mcontext.fpstate % 64, 0);
	CU_ASSERT_EQUAL(frame[ARCH_SIGFRAME_XSAVE_OFF + 24], 0x80);

	sw = (void *)(frame + ARCH_SIGFRAME_XSAVE_OFF + XSAVE_SW_BYTES_OFF);
	CU_ASSERT_EQUAL(sw->magic1, ARCH_FP_XSTATE_MAGIC1);
	CU_ASSERT_EQUAL(sw->xstate_size, xsize);
	CU_ASSERT_EQUAL(sw->extended_size, xsize + ARCH_FP_XSTATE_MAGIC2_SIZE);
	CU_ASSERT_EQUAL(sw->xfeatures, 0xe7);
	CU_ASSERT_EQUAL(*(uint32_t *)(frame + ARCH_SIGFRAME_XSAVE_OFF + xsize), ARCH_FP_XSTATE_MAGIC2);
	CU_ASSERT_EQUAL(ARCH_SIGFRAME_SP(at), at + 8);
	free(xs);
	free(frame);
}

/*
 * A task that did not ask for AMX has a smaller xstate than CPUID's
 * XCR0 size; a frame claiming more makes rt_sigreturn drop AVX and up.
 */
static void test_sigframe_features(void)
{
	uint64_t dyn = arch_xfeatures_dynamic(), xcr0 = arch_xfeatures();
	unsigned char *xs = calloc(1, arch_xsave_size());
	uint64_t f;

	CU_ASSERT_EQUAL(dyn & ~xcr0, 0);
	CU_ASSERT_EQUAL(arch_xsave_user_size(xcr0), arch_xsave_size());
	CU_ASSERT_EQUAL(arch_xsave_user_size(XFEATURE_MASK_FPSSE), 576);
	*(uint64_t *)(xs + XSAVE_HDR_OFF) = 0x7;
	f = arch_sigframe_xfeatures(xs, 0);
	CU_ASSERT_EQUAL(f, xcr0 & ~dyn);
	CU_ASSERT_EQUAL(arch_sigframe_xfeatures(xs, dyn), xcr0);
	if (dyn) {
		CU_ASSERT(arch_xsave_user_size(f) < arch_xsave_size());
		/* Dynamic state in use counts as permitted. */
		*(uint64_t *)(xs + XSAVE_HDR_OFF) |= dyn;
		CU_ASSERT_EQUAL(arch_sigframe_xfeatures(xs, 0), xcr0);
	}
	free(xs);
}

int unit_register_arch(void)
{
	CU_pSuite s = CU_add_suite("arch-x86", NULL, NULL);

	if (!s || !CU_add_test(s, "restart codes re-run the syscall", test_restart_codes) ||
	    !CU_add_test(s, "restart_block: -EINTR or restart_syscall", test_restart_block) ||
	    !CU_add_test(s, "restart before a pending handler", test_restart_handler) ||
	    !CU_add_test(s, "no syscall, no change", test_no_syscall) ||
	    !CU_add_test(s, "rt_sigframe layout and xstate magics", test_sigframe) ||
	    !CU_add_test(s, "sigframe claims only the task's xstate", test_sigframe_features))
		return CU_get_error();
	return 0;
}
