#ifndef CR_SHOW_H
#define CR_SHOW_H

#include <stdio.h>

/*
 * cr show's JSON helpers (show.c), for show-pages.c: @s as a JSON string,
 * any byte that is not valid UTF-8 as the code point of its value.
 */
void show_json_str(FILE *f, const char *s);

#endif
