/*
 * Mappings of files that were deleted while mapped:
 *   SHARED: MAP_SHARED read-write at an offset, the file also open as an
 *       fd (O_RDWR), and mapped in a forked child too;
 *   PRIVATE: MAP_PRIVATE at an offset, some pages written (copies), its
 *       fd closed;
 *   RO: MAP_SHARED read-only of an O_RDONLY fd, closed;
 *   REPLACED: MAP_PRIVATE of a file whose name now names another file
 *       (it lives on under a second hard link, which cr does not use).
 * After restore every mapping has its range, offset and permissions, the
 * maps line still names the deleted file (the replaced one: a deleted
 * file), the bytes are the same (private copies and the file's own), no
 * name came back into the work dir, and SHARED is one file: writes
 * through the mapping, the fd and the child's mapping are seen by all.
 * With ZDTM_DM_SHARED_REPLACED set (a negative case of the runner): one
 * more file mapped shared and writable whose name then goes to another
 * file, the file living on under a second link, which cr refuses to dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define PG		4096
#define FLEN		(16 * PG)
#define MOFF		(2 * PG)		/* every mapping starts at page 2 of its file */
#define MLEN		(8 * PG)
#define SEED(i)		(0xde1e000000000000ULL + ((uint64_t)(i) << 32))
#define COW_SEED	0xde1e0000ffff0000ULL

struct map {
	const char *name;
	int oflags, prot, flags;
	char *addr;
	struct vma_info vma;
};

enum { SHARED, PRIVATE, RO, REPLACED, NR };

static struct map maps[NR] = {
	[SHARED] = { "zdtm_dm.shared", O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED },
	[PRIVATE] = { "zdtm_dm.private", O_RDWR, PROT_READ | PROT_WRITE, MAP_PRIVATE },
	[RO] = { "zdtm_dm.ro", O_RDONLY, PROT_READ, MAP_SHARED },
	[REPLACED] = { "zdtm_dm.replaced", O_RDONLY, PROT_READ | PROT_WRITE, MAP_PRIVATE },
};

static char buf[FLEN];

static int make(int i)
{
	int fd = open(maps[i].name, O_RDWR | O_CREAT | O_TRUNC, 0640);

	if (fd < 0)
		fail_errno("create %s", maps[i].name);
	pattern_fill(buf, FLEN, SEED(i));
	write_full(fd, buf, FLEN);
	if (maps[i].oflags != O_RDWR) {
		close(fd);
		fd = open(maps[i].name, maps[i].oflags);
		if (fd < 0)
			fail_errno("reopen %s", maps[i].name);
	}
	maps[i].addr = mmap(NULL, MLEN, maps[i].prot, maps[i].flags, fd, MOFF);
	if (maps[i].addr == MAP_FAILED)
		fail_errno("mmap %s", maps[i].name);
	return fd;
}

/* Page k of mapping i: the file's bytes, or PRIVATE's own copy at odd pages. */
static uint64_t page_seed(int i, int k)
{
	if (i == PRIVATE && k % 2)
		return COW_SEED + k * (PG / 8);
	return SEED(i) + (MOFF + k * PG) / 8;
}

static void check_map(int i)
{
	struct map *m = &maps[i];
	struct vma_info now;

	if (vma_find(m->addr, &now))
		fail("%s: mapping gone", m->name);
	if (now.start != m->vma.start || now.end != m->vma.end || now.pgoff != m->vma.pgoff ||
	    strcmp(now.perms, m->vma.perms) || (i != REPLACED && strcmp(now.path, m->vma.path)) ||
	    !strstr(now.path, " (deleted)"))
		fail("%s: maps shows %lx-%lx %s %lx %s, was %lx-%lx %s %lx %s", m->name, now.start, now.end,
		     now.perms, now.pgoff, now.path, m->vma.start, m->vma.end, m->vma.perms, m->vma.pgoff,
		     m->vma.path);
	for (int k = 0; k < MLEN / PG; k++)
		if (pattern_check(m->addr + k * PG, PG, page_seed(i, k)) >= 0)
			fail("%s: page %d of the mapping differs", m->name, k);
	if (access(m->name, F_OK) == 0 && i != REPLACED)
		fail("%s: has a name again", m->name);
}

int main(int argc, char **argv)
{
	int fd, r, kid_ok;
	struct stat st;
	pid_t kid;

	test_init(argc, argv);
	tree_init();
	fd = make(SHARED);
	for (int i = PRIVATE; i < NR; i++)
		close(make(i));
	for (int k = 1; k < MLEN / PG; k += 2)
		pattern_fill(maps[PRIVATE].addr + k * PG, PG, COW_SEED + k * (PG / 8));
	/* REPLACED lives on as zdtm_dm.keep; its name now is another file's. */
	if (link(maps[REPLACED].name, "zdtm_dm.keep") || unlink(maps[REPLACED].name))
		fail_errno("link/unlink %s", maps[REPLACED].name);
	close(open(maps[REPLACED].name, O_RDWR | O_CREAT | O_EXCL, 0600));
	for (int i = SHARED; i < REPLACED; i++)
		if (unlink(maps[i].name))
			fail_errno("unlink %s", maps[i].name);
	if (getenv("ZDTM_DM_SHARED_REPLACED")) {
		struct map m = { .name = "zdtm_dm.shrepl", .prot = PROT_READ | PROT_WRITE, .flags = MAP_SHARED };
		int sfd = open(m.name, O_RDWR | O_CREAT | O_TRUNC, 0600);

		if (sfd < 0 || ftruncate(sfd, FLEN) ||
		    mmap(NULL, MLEN, m.prot, m.flags, sfd, MOFF) == MAP_FAILED ||
		    link(m.name, "zdtm_dm.shrepl.keep") || unlink(m.name))
			fail_errno("%s", m.name);
		close(sfd);
		close(open(m.name, O_RDWR | O_CREAT | O_EXCL, 0600));
	}
	for (int i = 0; i < NR; i++)
		if (vma_find(maps[i].addr, &maps[i].vma))
			fail("%s: not in maps", maps[i].name);

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		tree_send(tree_root, 1);
		test_wait_checkpoint();
		check_map(SHARED);
		tree_send(tree_root, 3);	/* checked: the parent may write */
		tree_recv(tree_root);		/* the parent wrote 0x5a at byte 100 */
		if (maps[SHARED].addr[100] != 0x5a)
			fail("child: the parent's write is not in its mapping");
		maps[SHARED].addr[200] = 0x6b;
		tree_send(tree_root, 2);
		tree_exit(0);
	}
	tree_recv(kid);
	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	for (int i = 0; i < NR; i++)
		check_map(i);
	if (fstat(fd, &st) || st.st_nlink != 0 || st.st_size != FLEN)
		fail("shared: the fd's file has %lu links, %ld bytes", (unsigned long)st.st_nlink, (long)st.st_size);
	if (stat("zdtm_dm.keep", &st) || st.st_size != FLEN)
		fail("the replaced file's other name is gone or changed");
	if (tree_recv(kid) != 3)
		fail("the child did not check its mapping");
	/* One file: the mapping's write is read through the fd, the fd's write is in the mapping. */
	maps[SHARED].addr[50] = 0x33;
	if (pread(fd, buf, 1, MOFF + 50) != 1 || buf[0] != 0x33)
		fail("shared: the mapping's write is not in the fd's file");
	buf[0] = 0x44;
	if (pwrite(fd, buf, 1, MOFF + 60) != 1 || maps[SHARED].addr[60] != 0x44)
		fail("shared: the fd's write is not in the mapping");
	maps[SHARED].addr[100] = 0x5a;
	tree_send(kid, 1);
	r = tree_recv(kid);
	kid_ok = r == 2 && maps[SHARED].addr[200] == 0x6b;
	if (!kid_ok)
		fail("shared: the child's write is not in the parent's mapping");
	/* zdtm_dm.keep stays: with --leave-running the dumped test checks it too. */
	tree_exit(tree_collect(&kid, 1));
}
