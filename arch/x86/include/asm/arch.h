#ifndef CR_ASM_ARCH_H
#define CR_ASM_ARCH_H

#include <stdint.h>

struct infect_regs;

/* Bytes of one xsave area for the features this CPU/kernel enable. */
uint32_t arch_xsave_size(void);
/* XCR0: the xsave features in use. */
uint64_t arch_xfeatures(void);
/* 1 if the stopped task runs 64-bit code. */
int arch_task_is_64bit(const struct infect_regs *r);

#endif
