#ifndef CR_REGION_H
#define CR_REGION_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bump allocator over the restorer's region (mapped at the same address
 * in cr and in the task being restored), or over scratch memory: the
 * code that fills a region fills a scratch one first, and what it used
 * is the size of the real one.
 */
struct region {
	char *base;
	size_t size, used;
};

/* Returns room for @size bytes aligned to @align, or NULL (logged). */
void *region_alloc(struct region *rg, size_t size, size_t align);
/* Scratch memory of @size bytes (reserved, not committed). Returns 0 or -errno. */
int region_map_scratch(struct region *rg, size_t size);
void region_unmap(struct region *rg);

#endif
