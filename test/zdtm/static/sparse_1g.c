/*
 * A 1 GiB MAP_NORESERVE area with 16 touched pages far apart: the touched
 * pages keep their data, the rest still reads as zero, and the restore did
 * not populate the whole area (the dump must skip pages never touched).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define AREA_SIZE	(1UL << 30)
#define NR_TOUCHED	16
#define STRIDE		(AREA_SIZE / NR_TOUCHED)
#define PG		4096UL
/* Anything near the full area means the restore populated it. */
#define MAX_RSS_KB	(128UL << 10)

/* Not page-aligned within the stride, so offsets are not all 64M-aligned. */
static unsigned long touched_off(int i)
{
	return i * STRIDE + (i * 7 % 13) * PG;
}

static uint64_t pattern(unsigned long off)
{
	return off * 0x100000001b3ULL + 0x243f6a8885a308d3ULL;
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		fail_errno("open /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int is_touched(unsigned long off)
{
	for (int i = 0; i < NR_TOUCHED; i++)
		if (off == touched_off(i))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *p;
	unsigned long off, j;
	long rss;

	test_init(argc, argv);

	p = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		fail_errno("mmap");
	for (int i = 0; i < NR_TOUCHED; i++) {
		uint64_t *w = (uint64_t *)(p + touched_off(i));

		for (j = 0; j < PG / sizeof(*w); j++)
			w[j] = pattern(touched_off(i) + j * sizeof(*w));
	}

	test_ready();
	test_wait_checkpoint();

	/* Before reading anything: reading zero pages maps the shared zero
	 * page, which does not count in RSS anyway, but stay conservative. */
	rss = rss_kb();
	if (rss > (long)MAX_RSS_KB)
		fail("RSS after restore is %ld kB: the sparse area got populated", rss);

	for (int i = 0; i < NR_TOUCHED; i++) {
		uint64_t *w = (uint64_t *)(p + touched_off(i));

		for (j = 0; j < PG / sizeof(*w); j++)
			if (w[j] != pattern(touched_off(i) + j * sizeof(*w)))
				fail("touched page %d word %lu: %#lx", i, j, w[j]);
	}

	/* Every other page: first and last words are zero; the neighbours
	 * of touched pages are checked in full (an off-by-one page shift
	 * would land there). */
	for (off = 0; off < AREA_SIZE; off += PG) {
		const uint64_t *w = (const uint64_t *)(p + off);

		if (is_touched(off))
			continue;
		if (w[0] || w[PG / sizeof(*w) - 1])
			fail("untouched page at offset %#lx is not zero", off);
		if (is_touched(off + PG) || (off >= PG && is_touched(off - PG)))
			for (j = 0; j < PG / sizeof(*w); j++)
				if (w[j])
					fail("page next to a touched one, offset %#lx word %lu, not zero",
					     off, j);
	}
	pass();
}
