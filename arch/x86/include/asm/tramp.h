#ifndef CR_ASM_TRAMP_H
#define CR_ASM_TRAMP_H

/*
 * The trampoline of arch/x86/tramp.S: code and data cr copies into a task
 * so that the task gets back to its own state by itself, whenever cr stops
 * being there. See tramp.S for what each entry does.
 */
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "asm/regs.h"

/* Laid out as at the end of tramp.S. */
struct arch_tramp_data {
	uint64_t ip, sp, flags, mask;
	uint64_t ax, bx, cx, dx, si, di, bp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

extern const unsigned char arch_tramp_start[], arch_tramp_sys[], arch_tramp_map[],
	arch_tramp_restore[], arch_tramp_data[], arch_tramp_end[];

#define ARCH_TRAMP_SIZE		((size_t)(arch_tramp_end - arch_tramp_start))
/* Room for one copy: a task has two at once, its main thread's and another's. */
#define ARCH_TRAMP_SLOT		ALIGN_UP(ARCH_TRAMP_SIZE, 64)
#define ARCH_TRAMP_SLOTS	2
#define ARCH_TRAMP_OFF(sym)	((uint64_t)((sym) - arch_tramp_start))

/*
 * Fills the data part of @buf (a copy of the trampoline) with the state
 * @r (restart already fixed up) and the signal mask @mask to go back to.
 */
static inline void arch_tramp_fill(unsigned char *buf, const struct user_regs *r, uint64_t mask)
{
	struct arch_tramp_data *d = (void *)(buf + ARCH_TRAMP_OFF(arch_tramp_data));

	*d = (struct arch_tramp_data){
		.ip = r->ip, .sp = r->sp, .flags = r->flags, .mask = mask,
		.ax = r->ax, .bx = r->bx, .cx = r->cx, .dx = r->dx, .si = r->si, .di = r->di,
		.bp = r->bp, .r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
	};
}

#endif
