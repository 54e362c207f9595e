/*
 * MAP_PRIVATE mappings of shared memory objects: of a memfd (also held as
 * an fd and mapped MAP_SHARED), of MAP_SHARED anonymous memory (mapped
 * privately again through /proc/self/map_files: "/dev/zero (deleted)"),
 * and of /dev/zero itself (anonymous memory that maps names /dev/zero).
 * After restore each private mapping keeps the pages it wrote (copies),
 * still shows the object's current bytes where it wrote nothing (one
 * object: a write through the fd or the shared mapping is seen there),
 * and its maps line names the same object, privately mapped, at the same
 * offset. (Flavor uns: no map_files, so no private mapping of shared
 * anonymous memory.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define PG		4096
#define NPAGES		8
#define LEN		(NPAGES * PG)
#define OFF_PAGES	2		/* the private mappings start at this page of the object */
#define PLEN		((NPAGES - OFF_PAGES) * PG)
#define OBJ_SEED	0x5e7a000000000001ULL
#define COW_SEED	0x5e7a000000000002ULL
#define ZERO_SEED	0x5e7a000000000003ULL

struct obj {
	const char *what;
	char *shared;			/* the object, MAP_SHARED */
	char *priv;			/* MAP_PRIVATE at OFF_PAGES */
	struct vma_info vma;
};

static struct obj memfd = { .what = "memfd" }, anon = { .what = "shared anonymous memory" };

/* Pages 0 and 3 of the private mapping were written: they are copies. */
static bool is_cow(int k)
{
	return k == 0 || k == 3;
}

static void setup(struct obj *o, int fd)
{
	pattern_fill(o->shared, LEN, OBJ_SEED);
	o->priv = mmap(NULL, PLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, OFF_PAGES * PG);
	if (o->priv == MAP_FAILED)
		fail_errno("%s: MAP_PRIVATE", o->what);
	for (int k = 0; k < NPAGES - OFF_PAGES; k++)
		if (is_cow(k))
			pattern_fill(o->priv + k * PG, PG, COW_SEED + k * (PG / 8));
	if (vma_find(o->priv, &o->vma))
		fail("%s: private mapping not in maps", o->what);
}

static void check(struct obj *o)
{
	struct vma_info now;

	if (vma_find(o->priv, &now))
		fail("%s: private mapping gone", o->what);
	if (strcmp(now.perms, o->vma.perms) || strcmp(now.path, o->vma.path) || now.pgoff != o->vma.pgoff ||
	    now.start != o->vma.start || now.end != o->vma.end)
		fail("%s: maps shows %lx-%lx %s %lx %s, was %lx-%lx %s %lx %s", o->what, now.start, now.end,
		     now.perms, now.pgoff, now.path, o->vma.start, o->vma.end, o->vma.perms, o->vma.pgoff,
		     o->vma.path);
	if (pattern_check(o->shared, LEN, OBJ_SEED) >= 0)
		fail("%s: the object's content differs", o->what);
	for (int k = 0; k < NPAGES - OFF_PAGES; k++) {
		uint64_t seed = is_cow(k) ? COW_SEED + k * (PG / 8) : OBJ_SEED + (k + OFF_PAGES) * (PG / 8);

		if (pattern_check(o->priv + k * PG, PG, seed) >= 0)
			fail("%s: private page %d differs (%s)", o->what, k, is_cow(k) ? "its own copy" : "the object's");
	}
	/* A write to the object after restore: seen where the private mapping has no copy. */
	for (int k = 0; k < NPAGES; k++)
		o->shared[k * PG + 8] ^= 0x5a;
	for (int k = 0; k < NPAGES - OFF_PAGES; k++) {
		bool follows = o->priv[k * PG + 8] == o->shared[(k + OFF_PAGES) * PG + 8];

		if (follows == is_cow(k))
			fail("%s: private page %d %s the object's write", o->what, k, follows ? "sees" : "misses");
	}
	/* Writes to the private mapping stay there. */
	o->priv[PG + 100] = 0x11;
	if (o->shared[(1 + OFF_PAGES) * PG + 100] == 0x11)
		fail("%s: a write to the private mapping reached the object", o->what);
}

int main(int argc, char **argv)
{
	struct vma_info zvma, znow;
	char path[96], *zero;
	int fd, afd, zfd;

	test_init(argc, argv);

	fd = memfd_create("zdtm_shmem_private", 0);
	if (fd < 0 || ftruncate(fd, LEN))
		fail_errno("memfd");
	memfd.shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (memfd.shared == MAP_FAILED)
		fail_errno("memfd: MAP_SHARED");
	setup(&memfd, fd);

	anon.shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon.shared == MAP_FAILED)
		fail_errno("MAP_SHARED|MAP_ANONYMOUS");
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)anon.shared,
		 (unsigned long)anon.shared + LEN);
	/* map_files needs CAP_SYS_ADMIN of the first user namespace (not in flavor uns). */
	afd = open(path, O_RDWR);
	if (afd < 0 && errno != EPERM)
		fail_errno("open %s", path);
	if (afd >= 0) {
		setup(&anon, afd);
		close(afd);
	} else {
		test_msg("no map_files here: shared anonymous memory is not mapped privately");
	}

	zfd = open("/dev/zero", O_RDWR);
	if (zfd < 0)
		fail_errno("open /dev/zero");
	zero = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, zfd, 0);
	if (zero == MAP_FAILED)
		fail_errno("mmap /dev/zero");
	close(zfd);
	pattern_fill(zero, LEN / 2, ZERO_SEED);
	if (vma_find(zero, &zvma))
		fail("/dev/zero mapping not in maps");

	test_ready();
	test_wait_checkpoint();

	check(&memfd);
	if (anon.priv)
		check(&anon);
	if (pread(fd, path, 1, 8) != 1 || path[0] != memfd.shared[8])
		fail("memfd: the fd and the shared mapping are two objects");

	if (vma_find(zero, &znow) || strcmp(znow.path, zvma.path) || strcmp(znow.perms, zvma.perms) ||
	    znow.end != zvma.end)
		fail("/dev/zero mapping: maps shows %s %s, was %s %s", znow.perms, znow.path, zvma.perms, zvma.path);
	if (pattern_check(zero, LEN / 2, ZERO_SEED) >= 0)
		fail("/dev/zero mapping: written half differs");
	for (int i = LEN / 2; i < LEN; i++)
		if (zero[i])
			fail("/dev/zero mapping: byte %d is %#x, not 0", i, zero[i]);
	pass();
}
