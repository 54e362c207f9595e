#ifndef CR_PIE_RESTORER_UFFD_H
#define CR_PIE_RESTORER_UFFD_H

#include "restorer-abi.h"

/*
 * --lazy-pages (criu-lite/lazy.c): registers the @nr_vmas VMAs of @vmas
 * marked lazy with a new userfaultfd (missing pages; fork, mremap,
 * munmap and MADV_DONTNEED reported as events) and sends it with a pidfd
 * of the task over @sk to the lazy-pages daemon, which fills them; then
 * closes its own copies. Nothing to do when @sk < 0. 0 or -errno.
 */
long restorer_uffd_setup(const struct restorer_vma *vmas, u32 nr_vmas, int sk, int pid);

#endif
