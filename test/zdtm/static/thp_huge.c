/*
 * Transparent huge pages: an area advised MADV_HUGEPAGE and written whole
 * is backed by huge pages (AnonHugePages in smaps) and is so again after
 * restore; one advised MADV_HUGEPAGE and only read maps the kernel's huge
 * zero page, which holds nothing: after restore it reads as zeros and is
 * still not resident memory (a dump that stored it would fill it); one
 * advised MADV_NOHUGEPAGE stays without huge pages. An area without
 * advice made huge with MADV_COLLAPSE is huge again, where another one
 * written whole but not collapsed stays of small pages (THP "madvise").
 * The advice ("hg", "nh" in VmFlags) is kept. Needs THP "always" or "madvise" (this VM's
 * /sys/kernel/mm/transparent_hugepage/enabled); nothing global is set.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define HPAGE		(2UL << 20)
#define HUGE_LEN	(8 * HPAGE)
#define ZERO_LEN	(16 * HPAGE)
#define NOHUGE_LEN	(2 * HPAGE)
#define COLLAPSE_LEN	(4 * HPAGE)
#define PLAIN_LEN	(2 * HPAGE)
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#define SEED_HUGE	0x54480001ULL
#define SEED_NOHUGE	0x54480002ULL
#define SEED_COLLAPSE	0x54480003ULL
#define SEED_PLAIN	0x54480004ULL
#define ZERO_RSS_MAX_KB	(2 * 1024)	/* far below the 32 MiB read */

/*
 * An anonymous private area of @len bytes starting at a huge page
 * boundary, between two PROT_NONE mappings that keep it from merging
 * with its neighbours (smaps must show it as one mapping).
 */
static uint8_t *map_aligned(size_t len, int advice)
{
	uint8_t *p = mmap(NULL, len + 2 * HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		fail_errno("mmap");
	a = ((uintptr_t)p + 4096 + HPAGE - 1) & ~(HPAGE - 1);
	if (mprotect(p, a - (uintptr_t)p, PROT_NONE) ||
	    mprotect((uint8_t *)a + len, (uintptr_t)p + len + 2 * HPAGE - (a + len), PROT_NONE))
		fail_errno("mprotect");
	if (advice >= 0 && madvise((void *)a, len, advice))
		fail_errno("madvise %d", advice);
	return (uint8_t *)a;
}

/* Whether smaps lists @flag in the VmFlags of the mapping at @addr. */
static int has_flag(const void *addr, const char *flag)
{
	char line[512], want[8];

	snprintf(want, sizeof(want), " %s", flag);
	return !vma_smaps_line(addr, "VmFlags:", line, sizeof(line)) && strstr(line, want);
}

int main(int argc, char **argv)
{
	uint8_t *huge, *zero, *nohuge, *collapse, *plain;
	long huge_kb, collapse_kb, plain_kb, sum = 0;
	int bad = 0;

	test_init(argc, argv);
	huge = map_aligned(HUGE_LEN, MADV_HUGEPAGE);
	zero = map_aligned(ZERO_LEN, MADV_HUGEPAGE);
	nohuge = map_aligned(NOHUGE_LEN, MADV_NOHUGEPAGE);
	collapse = map_aligned(COLLAPSE_LEN, -1);
	plain = map_aligned(PLAIN_LEN, -1);
	pattern_fill(huge, HUGE_LEN, SEED_HUGE);
	pattern_fill(collapse, COLLAPSE_LEN, SEED_COLLAPSE);
	pattern_fill(plain, PLAIN_LEN, SEED_PLAIN);
	if (madvise(collapse, COLLAPSE_LEN, MADV_COLLAPSE))
		fail_errno("setup: MADV_COLLAPSE (Linux 6.1)");
	collapse_kb = vma_smaps_kb(collapse, "AnonHugePages");
	plain_kb = vma_smaps_kb(plain, "AnonHugePages");
	pattern_fill(nohuge, NOHUGE_LEN, SEED_NOHUGE);
	for (unsigned long off = 0; off < ZERO_LEN; off += HPAGE)
		sum += ((volatile uint8_t *)zero)[off];
	huge_kb = vma_smaps_kb(huge, "AnonHugePages");
	if (sum || huge_kb <= 0 || collapse_kb <= 0 || plain_kb < 0 || vma_smaps_kb(zero, "Rss") > ZERO_RSS_MAX_KB)
		fail("setup: no huge pages here (AnonHugePages %ld kB, collapsed %ld kB, Rss of the read area %ld kB): "
		     "is THP enabled?", huge_kb, collapse_kb, vma_smaps_kb(zero, "Rss"));

	test_ready();
	test_wait_checkpoint();

	if (vma_smaps_kb(huge, "AnonHugePages") < huge_kb) {
		test_msg("FAIL: the written area has %ld kB of huge pages after restore, %ld before",
			 vma_smaps_kb(huge, "AnonHugePages"), huge_kb);
		bad++;
	}
	if (vma_smaps_kb(collapse, "AnonHugePages") < collapse_kb) {
		test_msg("FAIL: the area made huge with MADV_COLLAPSE has %ld kB of huge pages after restore, %ld "
			 "before", vma_smaps_kb(collapse, "AnonHugePages"), collapse_kb);
		bad++;
	}
	if (vma_smaps_kb(plain, "AnonHugePages") != plain_kb) {
		test_msg("FAIL: the area without advice has %ld kB of huge pages after restore, %ld before",
			 vma_smaps_kb(plain, "AnonHugePages"), plain_kb);
		bad++;
	}
	if (vma_smaps_kb(zero, "Rss") > ZERO_RSS_MAX_KB) {
		test_msg("FAIL: the area that was only read has Rss %ld kB after restore: its huge zero pages were "
			 "stored", vma_smaps_kb(zero, "Rss"));
		bad++;
	}
	if (vma_smaps_kb(nohuge, "AnonHugePages") != 0) {
		test_msg("FAIL: the MADV_NOHUGEPAGE area has huge pages after restore");
		bad++;
	}
	if (!has_flag(huge, "hg") || !has_flag(zero, "hg") || !has_flag(nohuge, "nh")) {
		test_msg("FAIL: the advice (hg, nh) is lost");
		bad++;
	}
	if (pattern_check(huge, HUGE_LEN, SEED_HUGE) >= 0 || pattern_check(nohuge, NOHUGE_LEN, SEED_NOHUGE) >= 0 ||
	    pattern_check(collapse, COLLAPSE_LEN, SEED_COLLAPSE) >= 0 || pattern_check(plain, PLAIN_LEN, SEED_PLAIN) >= 0) {
		test_msg("FAIL: the written bytes differ after restore");
		bad++;
	}
	for (unsigned long off = 0; off < ZERO_LEN; off += 4096)
		if (zero[off]) {
			test_msg("FAIL: the area that was only read holds %d at %#lx", zero[off], off);
			bad++;
			break;
		}
	if (bad)
		fail("%d check(s) failed", bad);
	pass();
}
