/*
 * A task's general registers <-> their image message (user_regs_entry).
 * arch/ knows no images and the tool names no register (STYLE: register
 * names live in arch/), so the conversion is the tool's and walks the
 * arch's list of fields, ARCH_USER_REGS; the message names its fields
 * as the arch does.
 */
#include "asm/regs.h"
#include "regs-pb.h"

void regs_to_pb(const struct user_regs *r, UserRegsEntry *e)
{
#define TO(f) e->f = r->f;
	ARCH_USER_REGS(TO)
#undef TO
}

void regs_from_pb(const UserRegsEntry *e, struct user_regs *r)
{
#define FROM(f) r->f = e->f;
	ARCH_USER_REGS(FROM)
#undef FROM
}
