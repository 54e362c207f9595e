/*
 * 64 MiB of private anonymous memory, every word depending on its offset.
 * anon_256m.c builds this with a larger AREA_SIZE.
 * zdtm: lazy
 */
#include <stdint.h>
#include <sys/mman.h>
#include "zdtm.h"

#ifndef AREA_SIZE
#define AREA_SIZE	(64UL << 20)
#endif

static uint64_t pattern(uint64_t off)
{
	/* Differs per word and per page, so a page restored at the wrong
	 * address or offset is caught, not only a missing one. */
	return (off * 0x9e3779b97f4a7c15ULL) ^ (off >> 12) ^ 0xa5a5a5a5deadbeefULL;
}

int main(int argc, char **argv)
{
	uint64_t *p, i, n = AREA_SIZE / sizeof(uint64_t);

	test_init(argc, argv);

	p = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail_errno("mmap");
	for (i = 0; i < n; i++)
		p[i] = pattern(i * sizeof(uint64_t));

	test_ready();
	test_wait_checkpoint();

	for (i = 0; i < n; i++)
		if (p[i] != pattern(i * sizeof(uint64_t)))
			fail("mismatch at offset %#lx: %#lx != %#lx",
			     i * sizeof(uint64_t), p[i], pattern(i * sizeof(uint64_t)));
	pass();
}
