/*
 * A bump allocator over one mapping: the restorer's region, or a scratch
 * mapping of the same layout that measures what a region needs.
 */
#include <errno.h>
#include <sys/mman.h>

#include "compiler.h"
#include "log.h"
#include "region.h"

void *region_alloc(struct region *rg, size_t size, size_t align)
{
	size_t off = ALIGN_UP(rg->used, align);

	if (off + size > rg->size) {
		pr_err("restorer region too small (%zu + %zu > %zu)", off, size, rg->size);
		return NULL;
	}
	rg->used = off + size;
	return rg->base + off;
}

int region_map_scratch(struct region *rg, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return pr_errno(-errno, "mapping %zu bytes of scratch memory", size);
	*rg = (struct region){ .base = p, .size = size };
	return 0;
}

void region_unmap(struct region *rg)
{
	if (rg->base)
		munmap(rg->base, rg->size);
	*rg = (struct region){ 0 };
}
