/*
 * A SHM_HUGETLB System V segment with a key, never removed (IPC_RMID):
 * 2 MiB pages, 2 of them, the second never touched, attached once. The
 * dump that kills the tree removes it (its only user was the tree, it
 * holds what the images hold) so that the restore can make it again;
 * a segment left (after a --leave-running dump, or a dump killed before
 * it removed it) is reused by the restore when its bytes are the
 * images'. After restore the key finds the mapped segment, of huge
 * pages, with its size, mode and bytes; the test removes it when it ends.
 * zdtm: hugepages: 4
 * zdtm: flavors: h ns -uns (a user namespace of its own may not make SHM_HUGETLB segments: CAP_IPC_LOCK of the initial one)
 */
#include <stdint.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include "zdtm.h"

#define HPAGE		(2UL << 20)
#define HPAGE_KB	2048
#define LEN		(2 * HPAGE)
#define SEED		0x4b485547ULL
#define MODE		0640

int main(int argc, char **argv)
{
	struct shmid_ds ds;
	struct vma_info v;
	uint8_t *area;
	key_t key;
	int id, bad = 0;

	test_init(argc, argv);
	/* The work dir is the test's own: so is the key. */
	key = ftok(".", 'k');
	if (key == -1)
		fail_errno("ftok");
	id = shmget(key, LEN, IPC_CREAT | IPC_EXCL | SHM_HUGETLB | MODE);
	if (id < 0)
		fail_errno("shmget SHM_HUGETLB of key %#x (are huge pages reserved?)", key);
	area = shmat(id, NULL, 0);
	if (area == (void *)-1) {
		shmctl(id, IPC_RMID, NULL);
		fail_errno("shmat");
	}
	pattern_fill(area, HPAGE, SEED);

	test_ready();
	test_wait_checkpoint();

	id = shmget(key, 0, 0);
	if (vma_find(area, &v) || v.start != (unsigned long)area || v.end - v.start != LEN ||
	    strncmp(v.path, "/SYSV", 5)) {
		test_msg("FAIL: the segment at %p is no longer one /SYSV mapping of %lu bytes", (void *)area, LEN);
		bad++;
	} else if (id < 0 || (unsigned long)id != v.inode) {
		test_msg("FAIL: key %#x finds segment %d, the mapping is of segment %lu", key, id, v.inode);
		bad++;
	} else if (vma_smaps_kb(area, "KernelPageSize") != HPAGE_KB) {
		test_msg("FAIL: the segment's KernelPageSize is %ld kB, expected %d",
			 vma_smaps_kb(area, "KernelPageSize"), HPAGE_KB);
		bad++;
	} else if (shmctl(id, IPC_STAT, &ds) || ds.shm_segsz != LEN || (ds.shm_perm.mode & 0777) != MODE ||
		   ds.shm_nattch != 1) {
		test_msg("FAIL: segment %d: size %zu, mode 0%o, %lu attached; expected %lu, 0%o, 1", id,
			 (size_t)ds.shm_segsz, ds.shm_perm.mode, (unsigned long)ds.shm_nattch, LEN, MODE);
		bad++;
	} else if (pattern_check(area, HPAGE, SEED) >= 0) {
		test_msg("FAIL: the segment's bytes differ");
		bad++;
	} else {
		for (unsigned long off = HPAGE; off < LEN && !bad; off += 4096)
			if (area[off]) {
				test_msg("FAIL: the huge page never touched is not zeros at %lu", off);
				bad++;
			}
	}
	if (id >= 0 && shmctl(id, IPC_RMID, NULL)) {
		test_msg("FAIL: removing the segment of key %#x: %m", key);
		bad++;
	}
	if (bad)
		fail("%d check(s) failed", bad);
	pass();
}
