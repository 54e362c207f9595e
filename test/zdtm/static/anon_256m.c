/*
 * anon_64m with 256 MiB: every page dirty and non-zero, checked word by
 * word after restore. The fault suite (test/zdtm/fault) kills cr while it
 * drains or restores this much memory.
 */
#define AREA_SIZE	(256UL << 20)
#include "anon_64m.c"
