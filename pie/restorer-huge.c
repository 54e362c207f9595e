/* The restorer's transparent huge pages (see criu-lite/mem-huge.c). */
#include "pie-lib.h"
#include "restorer-huge.h"

#define MADV_COLLAPSE_		25	/* Linux 6.1 */

void restorer_thp_collapse(const struct restorer_thp *thp, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		long r = sys_madvise(thp[i].start, thp[i].len, MADV_COLLAPSE_);

		if (r < 0)
			pie_info("MADV_COLLAPSE of %lx-%lx: %ld; those pages stay small", thp[i].start,
				 thp[i].start + thp[i].len, r);
	}
}
