/*
 * Copy-on-write sharing survives the restore. The root fills 64 MiB of
 * private anonymous memory and writes 64 pages of a private file mapping,
 * then forks 8 children (the first of them forks a grandchild first);
 * each child rewrites a few pages, one drops a page (MADV_DONTNEED), the
 * root rewrites a few after the forks. After restore every process checks its
 * content page by page, and that it shares what it shared before: in
 * /proc/self/smaps the areas are almost all Shared_*, and (where pagemap
 * shows page frames: not in a user namespace) every page neither it nor
 * its parent wrote since the fork is its parent's page frame.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define PAGE		4096UL
#define NR_PAGES	16384UL		/* 64 MiB */
#define FILE_PAGES	256UL
#define FILE_DIRTY	64UL		/* the root's writes to the file mapping, before the forks */
#define NR_KIDS		8
#define NR_DIRTY	4		/* pages each writer rewrites */
#define DROP_KID	3
#define DROP_PAGE	5000UL
#define SEED		0xc0e50000ULL
#define FILE_SEED	0xf11e0000ULL
#define DIRTY_SEED	0xd1e70000ULL
#define SLACK_PAGES	64		/* private pages a process may have in an area */

/* Writers: 0 the root, 1..NR_KIDS its children, NR_KIDS + 1 the grandchild (child 1's). */
#define GRANDKID	(NR_KIDS + 1)
#define NR_PROCS	(NR_KIDS + 2)

static uint8_t *area, *farea;

static unsigned long first_page(int w)
{
	return w == 0 ? 100 : w == GRANDKID ? 12000 : 1000UL * w;
}

static uint64_t seed_of(int w)
{
	return 0xa0000000ULL + (uint64_t)w * 0x100000ULL;
}

static bool wrote(int w, unsigned long pg)
{
	return pg >= first_page(w) && pg < first_page(w) + NR_DIRTY;
}

static void rewrite(int w)
{
	pattern_fill(area + first_page(w) * PAGE, NR_DIRTY * PAGE, seed_of(w));
	/* The file mapping: page 100 + w, each its own. */
	pattern_fill(farea + (100 + w) * PAGE, PAGE, seed_of(w));
}

static int check_area(int me)
{
	for (unsigned long pg = 0; pg < NR_PAGES; pg++) {
		const uint8_t *p = area + pg * PAGE;
		long off;

		if (me == DROP_KID && pg == DROP_PAGE) {
			for (unsigned long i = 0; i < PAGE; i++)
				if (p[i]) {
					test_msg("FAIL: dropped page %lu holds data at %lu", pg, i);
					return 1;
				}
			continue;
		}
		if (wrote(me, pg))
			off = pattern_check(p, PAGE, seed_of(me) + (pg - first_page(me)) * PAGE / 8);
		else
			off = pattern_check(p, PAGE, SEED + pg * PAGE / 8);
		if (off >= 0) {
			test_msg("FAIL: page %lu differs at %+ld (%s)", pg, off,
				 wrote(me, pg) ? "its own write" : "the root's content from before the forks");
			return 1;
		}
	}
	for (unsigned long pg = 0; pg < FILE_PAGES; pg++) {
		const uint8_t *p = farea + pg * PAGE;
		long off;

		if (pg == 100 + (unsigned long)me)
			off = pattern_check(p, PAGE, seed_of(me));
		else if (pg < FILE_DIRTY)
			off = pattern_check(p, PAGE, DIRTY_SEED + pg * PAGE / 8);
		else
			off = pattern_check(p, PAGE, FILE_SEED + pg * PAGE / 8);
		if (off >= 0) {
			test_msg("FAIL: page %lu of the file mapping differs at %+ld", pg, off);
			return 1;
		}
	}
	return 0;
}

/*
 * Shared_Dirty and Private_Dirty of the smaps entry starting at @addr, in
 * pages: anonymous pages are dirty, the file's page cache here is clean
 * (and shared by whoever read it last).
 */
static int smaps_counts(const void *addr, long *ret_shared, long *ret_private)
{
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false, found = false;
	unsigned long start, end;
	long kb, shared = 0, priv = 0;

	if (!f)
		fail_errno("open /proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = start == (unsigned long)addr;
			found |= in;
			continue;
		}
		if (in && sscanf(line, "Shared_Dirty: %ld kB", &kb) == 1)
			shared += kb;
		else if (in && sscanf(line, "Private_Dirty: %ld kB", &kb) == 1)
			priv += kb;
	}
	fclose(f);
	if (!found) {
		test_msg("FAIL: no smaps entry at %p", addr);
		return 1;
	}
	*ret_shared = shared * 1024 / PAGE;
	*ret_private = priv * 1024 / PAGE;
	return 0;
}

static int check_smaps(const char *what, const void *addr, long want_shared)
{
	long shared, priv;

	if (smaps_counts(addr, &shared, &priv))
		return 1;
	if (shared < want_shared - SLACK_PAGES || priv > SLACK_PAGES) {
		test_msg("FAIL: %s: %ld pages shared, %ld private; want %ld shared, at most %d private", what, shared,
			 priv, want_shared, SLACK_PAGES);
		return 1;
	}
	return 0;
}

/* pagemap entries of [p, p + n pages) of @pid; 0 when pagemap shows no frames. */
static int read_pfns(pid_t pid, const void *p, unsigned long n, uint64_t *out)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_errno("open %s", path);
	if (pread(fd, out, n * 8, (uintptr_t)p / PAGE * 8) != (ssize_t)(n * 8))
		fail_errno("read %s", path);
	close(fd);
	for (unsigned long i = 0; i < n; i++)
		out[i] &= (1ULL << 55) - 1;
	return 0;
}

/*
 * Every page of [@p, +@n pages) neither @me nor its parent @pw wrote since
 * the fork (@wrote_since) is its parent's page frame.
 */
static int check_frames(const char *what, const uint8_t *p, unsigned long n, int me, int pw,
			bool (*wrote_since)(int me, int pw, unsigned long pg))
{
	static uint64_t mine[NR_PAGES], theirs[NR_PAGES];
	unsigned long same = 0, differ = 0, first = 0;

	read_pfns(getpid(), p, n, mine);
	read_pfns(getppid(), p, n, theirs);
	for (unsigned long pg = 0; pg < n; pg++) {
		if (wrote_since(me, pw, pg))
			continue;
		if (!mine[pg]) {
			static bool said;

			if (!said)
				test_msg("pagemap shows no page frames here (a user namespace?): frames not compared");
			said = true;
			return 0;
		}
		if (mine[pg] == theirs[pg])
			same++;
		else if (!differ++)
			first = pg;
	}
	if (differ) {
		test_msg("FAIL: %s: %lu pages are not the parent's frames (the first: page %lu), %lu are", what,
			 differ, first, same);
		return 1;
	}
	return 0;
}

static bool area_wrote(int me, int pw, unsigned long pg)
{
	return wrote(me, pg) || wrote(pw, pg) || (me == DROP_KID && pg == DROP_PAGE);
}

/* Only the pages the root wrote before the forks are anonymous: those. */
static bool farea_wrote(int me, int pw, unsigned long pg)
{
	(void)me;
	(void)pw;
	return pg >= FILE_DIRTY;
}

static int check_sharing(int me, int parent)
{
	int bad = check_smaps("the anonymous area", area, NR_PAGES);

	bad += check_smaps("the file mapping", farea, FILE_DIRTY);
	if (me) {
		bad += check_frames("the anonymous area", area, NR_PAGES, me, parent, area_wrote);
		bad += check_frames("the file mapping", farea, FILE_PAGES, me, parent, farea_wrote);
	}
	return bad;
}

static pid_t kids[NR_KIDS], grandkid;

__attribute__((noreturn))
static void child(int me, int parent)
{
	struct tree_ids ids;
	int bad;

	tree_ids_get(&ids);
	if (me == 1) {
		grandkid = fork();
		if (grandkid < 0)
			fail_errno("fork");
		if (grandkid == 0)
			child(GRANDKID, 1);
		tree_recv(grandkid);
	}
	rewrite(me);
	if (me == DROP_KID && madvise(area + DROP_PAGE * PAGE, PAGE, MADV_DONTNEED))
		fail_errno("MADV_DONTNEED");
	bad = check_area(me);
	if (bad)
		fail("wrong content before the checkpoint");
	tree_send(getppid(), 0);
	test_wait_checkpoint();

	bad = tree_ids_check(&ids) + check_sharing(me, parent) + check_area(me);
	if (me == 1) {
		tree_forward(&grandkid, 1);
		bad += tree_collect(&grandkid, 1);
	}
	tree_exit(bad);
}

/* Neither merged with a neighbour: a PROT_NONE page on each side. */
static uint8_t *map_fenced(unsigned long pages, int fd)
{
	uint8_t *p = mmap(NULL, (pages + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail_errno("mmap");
	p += PAGE;
	if (mmap(p, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0), fd,
		 0) == MAP_FAILED)
		fail_errno("mmap");
	return p;
}

int main(int argc, char **argv)
{
	static uint8_t buf[FILE_PAGES * PAGE];
	struct tree_ids ids;
	int fd, bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	fd = open("cow_shared.data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fail_errno("open cow_shared.data");
	pattern_fill(buf, sizeof(buf), FILE_SEED);
	write_full(fd, buf, sizeof(buf));
	area = map_fenced(NR_PAGES, -1);
	farea = map_fenced(FILE_PAGES, fd);
	close(fd);
	pattern_fill(area, NR_PAGES * PAGE, SEED);
	pattern_fill(farea, FILE_DIRTY * PAGE, DIRTY_SEED);
	for (int i = 0; i < NR_KIDS; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0)
			child(i + 1, 0);
		tree_recv(kids[i]);
	}
	rewrite(0);
	if (check_area(0) || check_sharing(0, -1))
		fail("the test's own setup is not as it expects, before the checkpoint");
	test_ready();
	test_wait_checkpoint();

	/* Before the children go: they share with it. */
	bad = tree_ids_check(&ids) + check_sharing(0, -1) + check_area(0);
	tree_forward(kids, NR_KIDS);
	bad += tree_collect(kids, NR_KIDS);
	tree_exit(bad);
}
