/*
 * Memory that keeps changing shape while it is restored lazily: 64 slots
 * of 2 MiB, each filled with a pattern of its own generation, and a loop
 * that runs before the dump and on right after the restore (while the
 * lazy-pages daemon still fills the memory): it forks a child that checks
 * a slot, mremap()s a slot elsewhere, MADV_DONTNEEDs one (it must read
 * zeros: no old bytes may come back) and munmap()s and maps one anew,
 * writing a new generation each time. After SIGTERM every slot is checked
 * whole, and every child's verdict counts.
 * zdtm: lazy
 * zdtm: tree-changes (a child it forks may be caught by the dump)
 * zdtm: maps-change
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define NR_SLOTS	64
#define SLOT		(2UL << 20)
#define WORDS		(SLOT / sizeof(uint64_t))

static uint64_t *slot[NR_SLOTS];
static uint64_t gen[NR_SLOTS];
static uint64_t *spare[NR_SLOTS];	/* the other place a slot moves to */

static uint64_t pattern(unsigned k, uint64_t g, uint64_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)k << 48) ^ (g << 32) ^ 0x5a5a5a5a5a5a5a5aULL;
}

static void fill(unsigned k)
{
	for (uint64_t i = 0; i < WORDS; i++)
		slot[k][i] = pattern(k, gen[k], i);
}

/* The first bad word of slot @k, or -1. */
static long check(unsigned k)
{
	for (uint64_t i = 0; i < WORDS; i++)
		if (slot[k][i] != pattern(k, gen[k], i))
			return (long)i;
	return -1;
}

static uint64_t *map_slot(void *where)
{
	uint64_t *p = mmap(where, SLOT, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | (where ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED)
		fail_errno("mmap");
	return p;
}

static int bad_children;

static void op_fork(unsigned k)
{
	int status;
	pid_t pid = fork(), r;

	if (pid < 0)
		fail_errno("fork");
	if (pid == 0)
		_exit(check(k) >= 0 || check((k + 1) % NR_SLOTS) >= 0);
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;	/* SIGTERM */
	if (r != pid)
		fail_errno("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		bad_children++;
}

static void op_mremap(unsigned k)
{
	uint64_t *to = spare[k];
	void *p = mremap(slot[k], SLOT, SLOT, MREMAP_MAYMOVE | MREMAP_FIXED, to);

	if (p == MAP_FAILED)
		fail_errno("mremap");
	spare[k] = slot[k];
	slot[k] = p;
	/* The old place is a hole now: keep it reserved for the way back. */
	map_slot(spare[k]);
}

static void op_dontneed(unsigned k)
{
	if (madvise(slot[k], SLOT, MADV_DONTNEED))
		fail_errno("madvise");
	for (uint64_t i = 0; i < WORDS; i += 512)
		if (slot[k][i])
			fail("slot %u word %lu: %#lx after MADV_DONTNEED, not zero", k, i, slot[k][i]);
	gen[k]++;
	fill(k);
}

static void op_remap_new(unsigned k)
{
	void *at = slot[k];

	if (munmap(at, SLOT))
		fail_errno("munmap");
	slot[k] = map_slot(at);
	gen[k]++;
	fill(k);
}

int main(int argc, char **argv)
{
	uint64_t iter = 0;
	long bad;

	test_init(argc, argv);
	for (unsigned k = 0; k < NR_SLOTS; k++) {
		slot[k] = map_slot(NULL);
		spare[k] = map_slot(NULL);
		fill(k);
	}
	test_ready();
	while (!zdtm_sigterm_seen) {
		unsigned k = (unsigned)(iter * 7 % NR_SLOTS);

		switch (iter++ % 4) {
		case 0: op_fork(k); break;
		case 1: op_mremap(k); break;
		case 2: op_dontneed(k); break;
		case 3: op_remap_new(k); break;
		}
	}
	for (unsigned k = 0; k < NR_SLOTS; k++)
		if ((bad = check(k)) >= 0)
			fail("slot %u (generation %lu) word %ld: %#lx, expected %#lx", k, gen[k], bad,
			     slot[k][bad], pattern(k, gen[k], bad));
	if (bad_children)
		fail("%d children found a bad slot", bad_children);
	test_msg("%lu operations", iter);
	pass();
}
