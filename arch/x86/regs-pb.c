/* x86-64 registers <-> the user_regs_entry image message. */
#include "asm/arch.h"
#include "asm/regs.h"
#include "core.pb-c.h"

#define REGS(X) X(r15) X(r14) X(r13) X(r12) X(bp) X(bx) X(r11) X(r10) X(r9) X(r8) \
	X(ax) X(cx) X(dx) X(si) X(di) X(orig_ax) X(ip) X(cs) X(flags) X(sp) X(ss) \
	X(fs_base) X(gs_base) X(ds) X(es) X(fs) X(gs)

void arch_regs_to_pb(const struct user_regs *r, UserRegsEntry *e)
{
#define TO(f) e->f = r->f;
	REGS(TO)
#undef TO
}

void arch_regs_from_pb(const UserRegsEntry *e, struct user_regs *r)
{
#define FROM(f) r->f = e->f;
	REGS(FROM)
#undef FROM
}
