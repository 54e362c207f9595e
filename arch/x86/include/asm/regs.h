#ifndef CR_ASM_REGS_H
#define CR_ASM_REGS_H

/*
 * x86-64 register sets and the rt_sigframe layout. Shared by the host and
 * the PIE blobs: no libc types here.
 */

#include <asm/unistd.h>

#include "compiler.h"

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* The kernel's struct user_regs_struct (NT_PRSTATUS), field for field. */
struct user_regs {
	u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	u64 ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
	u64 fs_base, gs_base, ds, es, fs, gs;
};
BUILD_BUG_ON(sizeof(struct user_regs) != 27 * 8);

/*
 * The fields of struct user_regs in their order, X(name) for each: a
 * plain description for code that handles every register alike without
 * naming one (cr's conversion to and from its image message).
 */
#define ARCH_USER_REGS(X) X(r15) X(r14) X(r13) X(r12) X(bp) X(bx) X(r11) X(r10) X(r9) X(r8) \
	X(ax) X(cx) X(dx) X(si) X(di) X(orig_ax) X(ip) X(cs) X(flags) X(sp) X(ss) \
	X(fs_base) X(gs_base) X(ds) X(es) X(fs) X(gs)
#define ARCH_USER_REG_COUNT_(f) + 1
BUILD_BUG_ON(sizeof(struct user_regs) != (0 ARCH_USER_REGS(ARCH_USER_REG_COUNT_)) * sizeof(u64));

#define USER_CS_64		0x33
#define USER_DS			0x2b

/* Offsets in the (non-compacted, user ABI) xsave area. */
#define XSAVE_SW_BYTES_OFF	464
#define XSAVE_HDR_OFF		512
#define ARCH_FP_XSTATE_MAGIC1	0x46505853u
#define ARCH_FP_XSTATE_MAGIC2	0x46505845u
#define ARCH_FP_XSTATE_MAGIC2_SIZE	4
#define XSAVE_MAX_SIZE		(16 * 1024)
#define XFEATURE_MASK_FPSSE	0x3ull

struct fpx_sw_bytes {
	u32 magic1;
	u32 extended_size;
	u64 xfeatures;
	u32 xstate_size;
	u32 padding[7];
};
BUILD_BUG_ON(sizeof(struct fpx_sw_bytes) != 48);

/* Kernel sigcontext / ucontext / rt_sigframe for 64-bit tasks. */
struct arch_sigcontext {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	u16 cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate;
	u64 reserved1[8];
};
BUILD_BUG_ON(sizeof(struct arch_sigcontext) != 256);

struct arch_stack {
	u64 ss_sp;
	int ss_flags;
	int __pad;
	u64 ss_size;
};

struct arch_ucontext {
	u64 uc_flags;
	u64 uc_link;
	struct arch_stack uc_stack;
	struct arch_sigcontext uc_mcontext;
	u64 uc_sigmask;
};

#define ARCH_UC_FP_XSTATE		0x1
#define ARCH_UC_SIGCONTEXT_SS	0x2
#define ARCH_UC_STRICT_RESTORE_SS	0x4
#define ARCH_SS_DISABLE		2

struct arch_rt_sigframe {
	u64 pretcode;		/* popped: rt_sigreturn finds the frame at sp - 8 */
	struct arch_ucontext uc;
	unsigned char info[128];
	/* then, 64-byte aligned, the xsave area (uc.uc_mcontext.fpstate) */
};

/*
 * Size of a complete frame with an xsave area of @xsave_size bytes, and
 * where rt_sigreturn wants the stack pointer for a frame at @frame.
 */
#define ARCH_SIGFRAME_XSAVE_OFF	ALIGN_UP(sizeof(struct arch_rt_sigframe), 64)
#define ARCH_SIGFRAME_SIZE(xsave_size) \
	(ARCH_SIGFRAME_XSAVE_OFF + (xsave_size) + ARCH_FP_XSTATE_MAGIC2_SIZE)
#define ARCH_SIGFRAME_SP(frame)	((u64)(frame) + 8)

/* -ERESTART* codes a task stopped in a syscall may have in rax. */
#define ERESTARTSYS_		512
#define ERESTARTNOINTR_		513
#define ERESTARTNOHAND_		514
#define ERESTART_RESTARTBLOCK_	516
#define EINTR_			4

/*
 * A task stopped inside a syscall shows orig_ax >= 0 and one of the
 * -ERESTART* codes in ax. Rewrites @r so that resuming at r->ip behaves as
 * the kernel would after a signal without a handler: the syscall is
 * re-executed. A restart_block syscall (nanosleep, poll...) continues via
 * restart_syscall when @same_task (its kernel state is still there, as
 * when a dump puts a task back), else returns -EINTR (a restored task:
 * that state is lost). Then orig_ax = -1 so nothing restarts twice.
 */
static inline void arch_fixup_restart(struct user_regs *r, int same_task)
{
	if ((long long)r->orig_ax >= 0) {
		switch ((long long)r->ax) {
		case -ERESTARTSYS_:
		case -ERESTARTNOINTR_:
		case -ERESTARTNOHAND_:
			r->ax = r->orig_ax;
			r->ip -= 2;	/* length of the syscall instruction */
			break;
		case -ERESTART_RESTARTBLOCK_:
			if (same_task) {
				r->ax = __NR_restart_syscall;
				r->ip -= 2;
			} else {
				r->ax = (u64)-EINTR_;
			}
			break;
		}
	}
	r->orig_ax = (u64)-1;
}

/*
 * As arch_fixup_restart(), for a task whose next step is a handler of a
 * pending signal (a stopped task's signal that came meanwhile): what the
 * kernel decides on that delivery. -ERESTARTNOHAND and a restart_block
 * return -EINTR; -ERESTARTSYS too unless the handler has SA_RESTART
 * (@sa_restart); -ERESTARTNOINTR is re-executed. Re-executing a
 * sigsuspend() after its handler would sleep for a signal already taken.
 */
static inline void arch_fixup_restart_handler(struct user_regs *r, int sa_restart)
{
	if ((long long)r->orig_ax >= 0) {
		long long ax = (long long)r->ax;

		if (ax == -ERESTARTNOHAND_ || ax == -ERESTART_RESTARTBLOCK_ ||
		    (ax == -ERESTARTSYS_ && !sa_restart)) {
			r->ax = (u64)-EINTR_;
			r->orig_ax = (u64)-1;
		}
	}
	arch_fixup_restart(r, 0);
}

/*
 * Fills a complete rt_sigframe at @frame (room: ARCH_SIGFRAME_SIZE) that
 * rt_sigreturn turns into @r (restart already fixed up), the xsave image
 * @xsave (user format, as PTRACE_GETREGSET NT_X86_XSTATE gives it) for the
 * components in @xfeatures, the first @xsave_size bytes of it (the
 * standard-format size of @xfeatures, which must not exceed the task's
 * own xstate size), the blocked mask @sigmask and the alternate stack @ss.
 * @frame is where it is built, @frame_addr where the task will see it
 * (they differ when built through a shared mapping); both 64-byte
 * aligned. Used by the host (restore) and by the parasite (self-cure), so
 * it is header-only and libc-free.
 */
static inline void arch_build_sigframe(void *frame, u64 frame_addr, const struct user_regs *r,
				       const void *xsave, u32 xsave_size, u64 xfeatures, u64 sigmask,
				       const struct arch_stack *ss)
{
	struct arch_rt_sigframe *f = frame;
	struct arch_sigcontext *sc = &f->uc.uc_mcontext;
	unsigned char *fp = (unsigned char *)frame + ARCH_SIGFRAME_XSAVE_OFF;
	struct fpx_sw_bytes *sw = (struct fpx_sw_bytes *)(fp + XSAVE_SW_BYTES_OFF);
	const unsigned char *src = xsave;
	u32 i;

	for (i = 0; i < sizeof(*f); i++)
		((unsigned char *)f)[i] = 0;
	for (i = 0; i < xsave_size; i++)
		fp[i] = src[i];
	/* Components past the copied size must not be claimed as in use. */
	*(u64 *)(fp + XSAVE_HDR_OFF) &= xfeatures | XFEATURE_MASK_FPSSE;

	f->uc.uc_flags = ARCH_UC_FP_XSTATE | ARCH_UC_SIGCONTEXT_SS | ARCH_UC_STRICT_RESTORE_SS;
	f->uc.uc_stack = *ss;
	f->uc.uc_sigmask = sigmask;
	sc->r8 = r->r8; sc->r9 = r->r9; sc->r10 = r->r10; sc->r11 = r->r11;
	sc->r12 = r->r12; sc->r13 = r->r13; sc->r14 = r->r14; sc->r15 = r->r15;
	sc->di = r->di; sc->si = r->si; sc->bp = r->bp; sc->bx = r->bx;
	sc->dx = r->dx; sc->ax = r->ax; sc->cx = r->cx; sc->sp = r->sp;
	sc->ip = r->ip; sc->flags = r->flags;
	sc->cs = (u16)r->cs; sc->ss = (u16)r->ss;
	sc->gs = 0; sc->fs = 0;
	sc->fpstate = frame_addr + ARCH_SIGFRAME_XSAVE_OFF;

	/*
	 * Tell the kernel the frame holds an xsave image. PTRACE_GETREGSET puts
	 * XCR0 where these software bytes go (for core files), so they are
	 * always written here. The kernel falls back to x87/SSE only when
	 * xstate_size exceeds the task's xstate (Linux 5.16+, AMX).
	 */
	sw->magic1 = ARCH_FP_XSTATE_MAGIC1;
	sw->xfeatures = xfeatures | XFEATURE_MASK_FPSSE;
	sw->xstate_size = xsave_size;
	sw->extended_size = xsave_size + ARCH_FP_XSTATE_MAGIC2_SIZE;
	for (i = 0; i < sizeof(sw->padding) / sizeof(sw->padding[0]); i++)
		sw->padding[i] = 0;
	*(u32 *)(fp + xsave_size) = ARCH_FP_XSTATE_MAGIC2;
}

#endif
