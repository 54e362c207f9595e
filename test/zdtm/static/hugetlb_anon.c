/*
 * MAP_HUGETLB memory of 2 MiB pages: a private anonymous mapping (pages
 * 0 and 2 written, page 1 never touched) and a shared anonymous one that
 * a child shares. After restore each is still hugetlb memory of 2 MiB
 * pages (smaps KernelPageSize, "/anon_hugepage" in maps) with its bytes, the untouched page still holds no huge page, and what the child
 * writes in the shared mapping after restore shows in the root.
 * The runner reserves the huge pages (nr_hugepages) for the case.
 * zdtm: hugepages: 16
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define HPAGE		(2UL << 20)
#define HPAGE_KB	2048
#define PRIV_LEN	(3 * HPAGE)
#define SHARED_LEN	(2 * HPAGE)
#define SEED_PRIV	0x48550001ULL
#define SEED_SHARED	0x48550002ULL
#define CHILD_MARK	0xc0ffee11ULL
#define MAP_HUGE_2MB_	(21 << 26)	/* MAP_HUGE_SHIFT */

static uint8_t *priv, *shared;

static int check_vma(const char *what, const void *addr, unsigned long len, const char *path, char share)
{
	struct vma_info v;
	long kps;

	if (vma_find(addr, &v) || v.start != (unsigned long)addr || v.end - v.start != len ||
	    v.perms[3] != share || strncmp(v.path, path, strlen(path))) {
		test_msg("FAIL: %s at %p is no longer a %c mapping of %s of %lu bytes", what, addr, share, path, len);
		return 1;
	}
	kps = vma_smaps_kb(addr, "KernelPageSize");
	if (kps != HPAGE_KB) {
		test_msg("FAIL: %s at %p: KernelPageSize %ld kB, expected %d kB", what, addr, kps, HPAGE_KB);
		return 1;
	}
	return 0;
}

static int check_bytes(const char *what, const uint8_t *p, unsigned long len, uint64_t seed)
{
	long off = pattern_check(p, len, seed);

	if (off < 0)
		return 0;
	test_msg("FAIL: %s: the pattern differs at offset %#lx", what, off);
	return 1;
}

static int check_shared(void)
{
	return check_vma("shared", shared, SHARED_LEN, "/anon_hugepage", 's') +
	       check_bytes("shared", shared + 8, SHARED_LEN - 8, SEED_SHARED + 1);
}

__attribute__((noreturn))
static void child(void)
{
	int bad;

	tree_send(getppid(), 0);
	test_wait_checkpoint();
	bad = check_shared();
	__atomic_store_n((uint64_t *)shared, CHILD_MARK, __ATOMIC_RELEASE);
	tree_exit(bad);
}

int main(int argc, char **argv)
{
	long priv_kb;
	pid_t kid;
	int bad;

	test_init(argc, argv);
	tree_init();
	shared = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB_,
		      -1, 0);
	if (shared == MAP_FAILED)
		fail_errno("mmap of shared huge pages (are huge pages reserved?)");
	pattern_fill(shared, SHARED_LEN, SEED_SHARED);
	kid = tree_fork(child);
	tree_recv(kid);

	priv = mmap(NULL, PRIV_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB_,
		    -1, 0);
	if (priv == MAP_FAILED)
		fail_errno("mmap of private huge pages");
	pattern_fill(priv, HPAGE, SEED_PRIV);
	pattern_fill(priv + 2 * HPAGE, HPAGE, SEED_PRIV + 2 * HPAGE / 8);
	priv_kb = vma_smaps_kb(priv, "Private_Hugetlb");
	if (priv_kb != 2 * HPAGE_KB)
		fail("setup: Private_Hugetlb of the private mapping is %ld kB, expected %d", priv_kb, 2 * HPAGE_KB);

	test_ready();
	test_wait_checkpoint();

	tree_forward(&kid, 1);
	bad = check_vma("private", priv, PRIV_LEN, "/anon_hugepage", 'p');
	bad += check_bytes("private page 0", priv, HPAGE, SEED_PRIV);
	bad += check_bytes("private page 2", priv + 2 * HPAGE, HPAGE, SEED_PRIV + 2 * HPAGE / 8);
	priv_kb = vma_smaps_kb(priv, "Private_Hugetlb");
	if (priv_kb != 2 * HPAGE_KB) {
		test_msg("FAIL: Private_Hugetlb of the private mapping is %ld kB after restore, expected %d", priv_kb,
			 2 * HPAGE_KB);
		bad++;
	}
	bad += tree_collect(&kid, 1);
	if (__atomic_load_n((uint64_t *)shared, __ATOMIC_ACQUIRE) != CHILD_MARK) {
		test_msg("FAIL: the child's write after restore is not visible in the root");
		bad++;
	}
	bad += check_bytes("shared", shared + 8, SHARED_LEN - 8, SEED_SHARED + 1);
	for (unsigned long off = HPAGE; off < 2 * HPAGE; off += 4096)
		if (priv[off]) {
			test_msg("FAIL: the untouched huge page reads %d at %#lx", priv[off], off);
			bad++;
			break;
		}
	tree_exit(bad);
}
