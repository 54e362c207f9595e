/*
 * 8 MiB of private anonymous memory filled by the root and inherited by 3
 * children, copy-on-write. Before the checkpoint child 2 rewrites a few
 * pages (they differ at dump time); after restore the root rewrites one
 * page, then child 1 rewrites a few, then everyone checks its own view:
 * its own writes are there, nobody else's are.
 * zdtm: lazy
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN		(8UL << 20)
#define PAGE		4096UL
#define NR_KIDS		3
#define NR_DIRTY	4	/* pages each writer rewrites */
#define SEED		0xc0c00000ULL

/* Who rewrites which pages, and when. */
enum { W_ROOT, W_KID1, W_KID2, NR_WRITERS };
static const unsigned long first_page[NR_WRITERS] = { 500, 200, 100 };
static const uint64_t seed_of[NR_WRITERS] = { 0xc0c00001ULL, 0xc0c00002ULL, 0xc0c00003ULL };

static uint8_t *area;

static void rewrite(int w)
{
	unsigned long off = first_page[w] * PAGE;

	pattern_fill(area + off, NR_DIRTY * PAGE, seed_of[w]);
}

/* The whole area as process ME (-1 = a process that wrote nothing) must
 * see it: the original pattern except its own rewritten pages. */
static int check_view(int me)
{
	for (unsigned long pg = 0; pg < LEN / PAGE; pg++) {
		int w = -1;
		long off;

		for (int i = 0; i < NR_WRITERS; i++)
			if (pg >= first_page[i] && pg < first_page[i] + NR_DIRTY)
				w = i;
		if (w >= 0 && w == me)
			off = pattern_check(area + pg * PAGE, PAGE,
					    seed_of[w] + (pg - first_page[w]) * PAGE / 8);
		else
			off = pattern_check(area + pg * PAGE, PAGE, SEED + pg * PAGE / 8);
		if (off >= 0) {
			test_msg("FAIL: page %lu differs at %+ld: %s", pg, off,
				 w < 0 ? "never rewritten" : w == me ? "my own write is lost" :
				 "another process's write shows here");
			return 1;
		}
	}
	return 0;
}

__attribute__((noreturn))
static void child(int n)
{
	int me = n == 1 ? W_KID1 : n == 2 ? W_KID2 : -1;
	struct tree_ids ids;
	int bad;

	tree_ids_get(&ids);
	if (me == W_KID2)
		rewrite(W_KID2);
	tree_send(getppid(), 0);
	test_wait_checkpoint();

	bad = tree_ids_check(&ids);
	if (me == W_KID1)
		rewrite(W_KID1);
	bad += check_view(me);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	struct tree_ids ids;
	pid_t kids[NR_KIDS];
	int bad;

	test_init(argc, argv);
	tree_init();
	tree_ids_get(&ids);
	area = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail_errno("mmap");
	pattern_fill(area, LEN, SEED);
	for (int i = 0; i < NR_KIDS; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail_errno("fork");
		if (kids[i] == 0)
			child(i);
		tree_recv(kids[i]);
	}
	test_ready();
	test_wait_checkpoint();

	/* Root's write first, then child 1's, then the other checks. */
	rewrite(W_ROOT);
	tree_forward(&kids[1], 1);
	bad = tree_collect(&kids[1], 1);
	tree_forward(&kids[0], 1);
	tree_forward(&kids[2], 1);
	bad += tree_ids_check(&ids);
	bad += check_view(W_ROOT);
	bad += tree_collect(&kids[0], 1);
	bad += tree_collect(&kids[2], 1);
	tree_exit(bad);
}
