#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes", size);
	return p;
}

void *xzalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		pr_err("out of memory allocating %zu bytes", size);
	return p;
}

void *xrealloc(void *old, size_t size)
{
	void *p = realloc(old, size ? size : 1);

	if (!p)
		pr_err("out of memory reallocating %zu bytes", size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		pr_err("out of memory copying a string");
	return p;
}
