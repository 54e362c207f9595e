#ifndef CR_REGS_PB_H
#define CR_REGS_PB_H

#include "asm/regs.h"
#include "core.pb-c.h"

/* A task's general registers to and from their image message. */
void regs_to_pb(const struct user_regs *r, UserRegsEntry *e);
void regs_from_pb(const UserRegsEntry *e, struct user_regs *r);

#endif
