#ifndef CR_REGION_H
#define CR_REGION_H

#include <stddef.h>
#include <stdint.h>

/* A bump allocator over the restorer's region (mapped at the same address
 * in cr and in the task being restored). */
struct region {
	char *base;
	size_t size, used;
};

/* Returns room for @size bytes aligned to @align, or NULL (logged). */
void *region_alloc(struct region *rg, size_t size, size_t align);

#endif
