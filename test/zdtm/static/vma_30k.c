/*
 * A process with tens of thousands of VMAs: 30000 one-page mappings of
 * alternating protection (read-write, read-only), every page holding
 * its own bytes. After restore each page has its protection (a VMA of
 * its own, as maps shows) and its contents. scripts/bench-vmas times the
 * same layout's dump and restore.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define PG	4096
#define NR	30000
#define SEED	0x7a30000000000000ULL

static int count_vmas(char *base)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;

	if (!f)
		fail_errno("open maps");
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) != 3)
			continue;
		if (s < (unsigned long)base || e > (unsigned long)base + (unsigned long)NR * PG)
			continue;
		if (e - s != PG)
			fail("mapping %lx-%lx (%s) is not one page", s, e, perms);
		if (strcmp(perms, (s - (unsigned long)base) / PG % 2 ? "r--p" : "rw-p"))
			fail("page %lu has protection %s", (s - (unsigned long)base) / PG, perms);
		n++;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	char *base;
	int n;

	test_init(argc, argv);
	base = mmap(NULL, (size_t)NR * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		fail_errno("mmap");
	for (int k = 0; k < NR; k++)
		pattern_fill(base + (size_t)k * PG, 64, SEED + k * 8);
	for (int k = 1; k < NR; k += 2)
		if (mprotect(base + (size_t)k * PG, PG, PROT_READ))
			fail_errno("mprotect page %d", k);
	n = count_vmas(base);
	if (n != NR)
		fail("%d VMAs before the checkpoint, expected %d", n, NR);

	test_ready();
	test_wait_checkpoint();

	n = count_vmas(base);
	if (n != NR)
		fail("%d VMAs after restore, expected %d", n, NR);
	for (int k = 0; k < NR; k++)
		if (pattern_check(base + (size_t)k * PG, 64, SEED + k * 8) >= 0)
			fail("page %d lost its contents", k);
	pass();
}
