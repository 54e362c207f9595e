/*
 * MADV_GUARD_INSTALL guard regions (Linux 6.13; file-backed and shared
 * mappings since 6.15) survive restore: the same pages of each area are
 * guards afterwards (pagemap bit 58) and only those, in anonymous private
 * memory (also at an area's first and last page and in PROT_NONE memory),
 * in a private file mapping, in MAP_SHARED anonymous memory and in a
 * shared memfd mapping. The other pages keep their contents, and touching
 * a guard page still raises SIGSEGV.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif
#define PM_GUARD_REGION		(1ULL << 58)
#define PG			4096
#define NPAGES			32
#define FNAME			"zdtm_guard.dat"

struct area {
	const char *what;
	int prot, flags;
	int fd;				/* -2: the data file, -3: a memfd */
	unsigned guards[6];		/* first page, number of pages; 0, 0 ends */
	char *addr;
	uint64_t guard_mask;		/* bit k: page k is a guard */
};

static struct area areas[] = {
	{ .what = "anon", .prot = PROT_READ | PROT_WRITE, .flags = MAP_PRIVATE | MAP_ANONYMOUS, .fd = -1,
	  .guards = { 0, 1, 5, 3, 31, 1 } },
	{ .what = "anon-none", .prot = PROT_NONE, .flags = MAP_PRIVATE | MAP_ANONYMOUS, .fd = -1,
	  .guards = { 8, 8 } },
	{ .what = "file-private", .prot = PROT_READ | PROT_WRITE, .flags = MAP_PRIVATE, .fd = -2,
	  .guards = { 2, 2, 20, 1 } },
	{ .what = "anon-shared", .prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED | MAP_ANONYMOUS, .fd = -1,
	  .guards = { 10, 4 } },
	{ .what = "memfd-shared", .prot = PROT_READ, .flags = MAP_SHARED, .fd = -3, .guards = { 1, 1, 30, 2 } },
};

static int pagemap_fd;
static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static uint64_t guard_bits(const struct area *a)
{
	uint64_t pme[NPAGES], mask = 0;

	if (pread(pagemap_fd, pme, sizeof(pme), ((uintptr_t)a->addr / PG) * 8) != sizeof(pme))
		fail_errno("%s: pagemap", a->what);
	for (int k = 0; k < NPAGES; k++)
		if (pme[k] & PM_GUARD_REGION)
			mask |= 1ULL << k;
	return mask;
}

static uint64_t seed(unsigned i, int k)
{
	return 0x6a00000000000000ULL + i * 0x10000 + k * (PG / 8);
}

static int open_backing(int kind)
{
	int fd = kind == -2 ? open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0600) : memfd_create("zdtm_guard", 0);
	char page[PG];

	if (fd < 0)
		fail_errno("open the backing file");
	for (int k = 0; k < NPAGES; k++) {
		pattern_fill(page, PG, seed(kind == -2 ? 2 : 4, k));
		write_full(fd, page, PG);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_segv, .sa_flags = SA_NODEFER };
	unsigned i;

	test_init(argc, argv);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		fail_errno("open pagemap");
	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		struct area *a = &areas[i];
		int fd = a->fd < -1 ? open_backing(a->fd) : -1;

		/* One page of gap on each side keeps the kernel from merging areas. */
		a->addr = mmap(NULL, (NPAGES + 2) * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a->addr == MAP_FAILED)
			fail_errno("mmap a hole for %s", a->what);
		munmap(a->addr, PG);
		a->addr += PG;
		munmap(a->addr + NPAGES * PG, PG);
		if (mmap(a->addr, NPAGES * PG, a->prot, a->flags | MAP_FIXED, fd, 0) == MAP_FAILED)
			fail_errno("mmap %s", a->what);
		if (fd >= 0)
			close(fd);
		if ((a->prot & PROT_WRITE) && a->fd == -1)
			for (int k = 0; k < NPAGES; k++)
				pattern_fill(a->addr + k * PG, PG, seed(i, k));
		else if (a->prot & PROT_WRITE)	/* COW copies of a few pages */
			for (int k = 0; k < NPAGES; k += 3)
				pattern_fill(a->addr + k * PG, PG, seed(i, k) ^ 1);
		for (unsigned g = 0; g < 6 && a->guards[g + 1]; g += 2) {
			if (madvise(a->addr + a->guards[g] * PG, a->guards[g + 1] * PG, MADV_GUARD_INSTALL))
				fail_errno("%s: MADV_GUARD_INSTALL", a->what);
			for (unsigned k = 0; k < a->guards[g + 1]; k++)
				a->guard_mask |= 1ULL << (a->guards[g] + k);
		}
		if (guard_bits(a) != a->guard_mask)
			fail("%s: pagemap shows guards %#llx, installed %#llx", a->what,
			     (unsigned long long)guard_bits(a), (unsigned long long)a->guard_mask);
	}
	if (sigaction(SIGSEGV, &sa, NULL))
		fail_errno("sigaction");

	test_ready();
	test_wait_checkpoint();

	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		struct area *a = &areas[i];
		uint64_t now = guard_bits(a);

		if (now != a->guard_mask)
			fail("%s: guard pages were %#llx, now %#llx", a->what,
			     (unsigned long long)a->guard_mask, (unsigned long long)now);
		for (int k = 0; k < NPAGES; k++) {
			bool guard = a->guard_mask & (1ULL << k);
			volatile char *p = a->addr + k * PG;
			uint64_t s = seed(i, k) ^ (a->fd == -2 && k % 3 == 0);

			if (!guard && (a->prot & PROT_READ) && pattern_check(a->addr + k * PG, PG, s) >= 0)
				fail("%s: page %d lost its contents", a->what, k);
			if (!guard)
				continue;
			if (!sigsetjmp(jb, 1)) {
				(void)*p;
				fail("%s: guard page %d can be read", a->what, k);
			}
		}
	}
	pass();
}
