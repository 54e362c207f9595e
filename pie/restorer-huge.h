#ifndef CR_PIE_RESTORER_HUGE_H
#define CR_PIE_RESTORER_HUGE_H

#include "restorer-abi.h"

/*
 * MADV_COLLAPSE of the @n ranges of @thp (pie/restorer-huge.c), once the
 * pages are in: they were transparent huge pages. Where the kernel has no
 * huge page to give now, they stay small (said in the log): the task sees
 * the same bytes either way.
 */
void restorer_thp_collapse(const struct restorer_thp *thp, u32 n);

#endif
