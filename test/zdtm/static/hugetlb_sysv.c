/*
 * A SysV segment made with SHM_HUGETLB (2 MiB pages, 3 of them, the
 * middle one never touched), removed while attached: after restore it is
 * still attached hugetlb memory of 2 MiB pages (smaps KernelPageSize)
 * holding the same bytes, the untouched page still not allocated (the
 * segment's rss in /proc/sysvipc/shm grows with its huge pages, by a
 * factor that differs between kernels: it must be what it was).
 * The runner reserves the huge pages (nr_hugepages) for the case.
 * zdtm: hugepages: 8
 * zdtm: flavors: h ns -uns (a user namespace of its own may not make SHM_HUGETLB segments: CAP_IPC_LOCK of the initial one)
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include "zdtm.h"

#define HPAGE		(2UL << 20)
#define HPAGE_KB	2048
#define LEN		(3 * HPAGE)
#define SEED		0x48550003ULL

/* The rss column of segment @id in /proc/sysvipc/shm (bytes), or -1. */
static long seg_rss(int id)
{
	char line[512];
	long rss = -1;
	int sid;
	FILE *f = fopen("/proc/sysvipc/shm", "re");

	if (!f)
		fail_errno("/proc/sysvipc/shm");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*d %d %*o %*u %*d %*d %*u %*u %*u %*u %*u %*u %*u %*u %ld", &sid, &rss) == 2 &&
		    sid == id)
			break;
		else
			rss = -1;
	fclose(f);
	return rss;
}

int main(int argc, char **argv)
{
	struct vma_info v;
	uint8_t *p;
	long rss;
	int id;

	test_init(argc, argv);
	id = shmget(IPC_PRIVATE, LEN, IPC_CREAT | SHM_HUGETLB | 0600);
	if (id < 0)
		fail_errno("shmget SHM_HUGETLB (are huge pages reserved?)");
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		fail_errno("shmat");
	if (shmctl(id, IPC_RMID, NULL))
		fail_errno("IPC_RMID");
	pattern_fill(p, HPAGE, SEED);
	pattern_fill(p + 2 * HPAGE, HPAGE, SEED + 2 * HPAGE / 8);
	rss = seg_rss(id);
	if (rss <= 0)
		fail("setup: segment %d has rss %ld in /proc/sysvipc/shm", id, rss);

	test_ready();
	test_wait_checkpoint();

	if (vma_find(p, &v) || v.start != (unsigned long)p || v.end - v.start != LEN || v.perms[3] != 's' ||
	    strncmp(v.path, "/SYSV", 5))
		fail("the segment at %p is no longer a shared /SYSV mapping of %lu bytes", p, LEN);
	if (vma_smaps_kb(p, "KernelPageSize") != HPAGE_KB)
		fail("the segment's KernelPageSize is %ld kB, expected %d", vma_smaps_kb(p, "KernelPageSize"), HPAGE_KB);
	id = (int)v.inode;	/* a segment's inode number is its id */
	if (seg_rss(id) != rss)
		fail("segment %d has rss %ld after restore, %ld before: not the same huge pages", id, seg_rss(id), rss);
	if (pattern_check(p, HPAGE, SEED) >= 0 || pattern_check(p + 2 * HPAGE, HPAGE, SEED + 2 * HPAGE / 8) >= 0)
		fail("the segment's bytes differ after restore");
	for (unsigned long off = HPAGE; off < 2 * HPAGE; off += 4096)
		if (p[off])
			fail("the untouched huge page reads %d at %#lx", p[off], off);
	pass();
}
