/*
 * --external TYPE[NAME]:VALUE, criu's way to name what lies outside the
 * tree (a mount, the host end of a veth): main.c checks the syntax, the
 * kinds look their names up here.
 */
#include <string.h>

#include "cr.h"

const char *cr_external_lookup(const struct cr_options *o, const char *type, const char *name)
{
	size_t tlen = strlen(type);

	for (unsigned i = 0; i < o->nr_externals; i++) {
		const char *e = o->externals[i], *rb;

		if (strncmp(e, type, tlen) || e[tlen] != '[')
			continue;
		rb = strchr(e + tlen + 1, ']');
		if (!rb)
			continue;
		if (!name || (strlen(name) == (size_t)(rb - e - tlen - 1) &&
			      !strncmp(e + tlen + 1, name, rb - e - tlen - 1)))
			return rb + 2;
	}
	return NULL;
}
