/*
 * Memory written all the time, while cr copies it in rounds (the runner's
 * predump mode: pre-dump, pre-dump, dump from the last, restore): pages of
 * an anonymous area get new generations, a second area moves (mremap, so
 * it is a VMA the tracking has not seen), pages of a third are dropped
 * (MADV_DONTNEED: they must come back empty, not as the parent's copy),
 * a private file mapping gets copy-on-write pages, and an area is touched
 * only at every 16th page: its holes must stay holes (not resident after
 * the restore; the tracking marks them, a dump must not take them for
 * pages). Each page says which
 * generation it holds; a table says which it must hold. The table is
 * shared memory, which every round copies whole (only private memory is
 * tracked): after the restore it is the current one, and a page restored
 * from a stale round does not match it.
 *
 * zdtm: maps-change (the moving area moves while it runs)
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtm.h"

#define PG		4096UL
#define A_PAGES		2048		/* 8 MiB */
#define B_PAGES		256
#define C_PAGES		256
#define D_PAGES		256
#define NR_PAGES	(A_PAGES + B_PAGES + C_PAGES + D_PAGES)
#define E_PAGES		1024		/* sparse: every 16th page written */
#define E_STRIDE	16

struct table {
	volatile long cur;		/* the page being written: may lag one generation */
	uint64_t rec[NR_PAGES];		/* per page: its generation, 0: must be zero (C) */
};
static struct table *tb;
#define rec	(tb->rec)
#define cur	(tb->cur)
static char *area[4], *sparse;
static const unsigned pages[4] = { A_PAGES, B_PAGES, C_PAGES, D_PAGES };

static uint64_t mark(unsigned idx, uint64_t gen)
{
	return (idx * 0x9e3779b97f4a7c15ULL) ^ (gen << 20) ^ gen;
}

static char *page_of(unsigned idx)
{
	for (unsigned a = 0; a < 4; a++) {
		if (idx < pages[a])
			return area[a] + idx * PG;
		idx -= pages[a];
	}
	return NULL;
}

static void put(unsigned idx, uint64_t gen)
{
	uint64_t *p = (uint64_t *)page_of(idx);

	cur = idx;
	rec[idx] = gen;
	for (unsigned w = 0; w < 8; w++)
		p[w * (PG / 8 / 8)] = mark(idx, gen) + w;
}

static void check(unsigned idx)
{
	const uint64_t *p = (const uint64_t *)page_of(idx);
	uint64_t g = rec[idx];

	if (idx >= A_PAGES + B_PAGES && idx < A_PAGES + B_PAGES + C_PAGES && !g) {
		if ((long)idx == cur)
			return;		/* maybe not dropped yet */
		for (unsigned w = 0; w < PG / 8; w++)
			if (p[w])
				fail("page %u was dropped, holds %#lx at word %u", idx, (unsigned long)p[w], w);
		return;
	}
	for (unsigned w = 0; w < 8; w++) {
		uint64_t v = p[w * (PG / 8 / 8)];

		if (v == mark(idx, g) + w)
			continue;
		if ((long)idx == cur && v == mark(idx, g - 1) + w)
			continue;
		fail("page %u holds %#lx at word %u, generation %lu wants %#lx", idx, (unsigned long)v, w,
		     (unsigned long)g, (unsigned long)(mark(idx, g) + w));
	}
}

int main(int argc, char **argv)
{
	uint64_t step = 0;
	int fd;

	test_init(argc, argv);
	tb = mmap(NULL, sizeof(*tb), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (unsigned a = 0; a < 3; a++)
		area[a] = mmap(NULL, pages[a] * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open("mem_dirty_track.data", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, D_PAGES * PG))
		fail_errno("data file");
	area[3] = mmap(NULL, D_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	sparse = mmap(NULL, E_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sparse == MAP_FAILED)
		fail_errno("mmap");
	for (unsigned i = 0; i < E_PAGES; i += E_STRIDE)
		sparse[i * PG] = (char)(i + 1);
	if (tb == MAP_FAILED || area[0] == MAP_FAILED || area[1] == MAP_FAILED || area[2] == MAP_FAILED ||
	    area[3] == MAP_FAILED)
		fail_errno("mmap");
	cur = -1;
	for (unsigned i = 0; i < NR_PAGES; i++)
		put(i, 1);

	test_ready();
	while (!zdtm_sigterm_seen) {
		unsigned idx = (step * 7919) % NR_PAGES;
		unsigned c = (step * 31) % C_PAGES;

		put(idx, rec[idx] + 1);
		/* Every 4096 steps: the moving area goes elsewhere, a dropped page comes and goes. */
		if (step % 4096 == 0) {
			/* Into a place of its own: a reservation, of which the rest goes. */
			char *r = mmap(NULL, 2 * B_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			char *n = r == MAP_FAILED ? MAP_FAILED
						  : mremap(area[1], B_PAGES * PG, B_PAGES * PG, MREMAP_MAYMOVE | MREMAP_FIXED, r);

			if (n == MAP_FAILED || munmap(r + B_PAGES * PG, B_PAGES * PG))
				fail_errno("mremap");
			area[1] = n;
		}
		if (step % 512 == 0) {
			char *p = area[2] + c * PG;

			cur = A_PAGES + B_PAGES + c;
			rec[cur] = 0;
			if (madvise(p, PG, MADV_DONTNEED))
				fail_errno("madvise");
		}
		if (step % 64 == 0)
			usleep(1000);
		step++;
	}
	for (unsigned i = 0; i < NR_PAGES; i++)
		check(i);
	{
		unsigned char vec[E_PAGES];
		unsigned resident = 0;

		if (mincore(sparse, E_PAGES * PG, vec))
			fail_errno("mincore");
		for (unsigned i = 0; i < E_PAGES; i++) {
			if (i % E_STRIDE == 0 && sparse[i * PG] != (char)(i + 1))
				fail("sparse page %u holds %d", i, sparse[i * PG]);
			if (i % E_STRIDE && (vec[i] & 1))
				resident++;
		}
		if (resident)
			fail("%u holes of the sparse area are resident after the restore", resident);
	}
	test_msg("%lu steps", (unsigned long)step);
	pass();
}
