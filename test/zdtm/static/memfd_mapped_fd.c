/*
 * One memfd held as an fd AND mapped MAP_SHARED (and the fd shared with a
 * forked child) stays one object after restore: a write through the fd is
 * seen in the mapping, a write in the mapping is read through the fd, in
 * the parent and in the child. Content, size and position are kept.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN	(256 * 1024)
#define POS	8192
#define SEED	0x7a11000000000001ULL

int main(int argc, char **argv)
{
	char *map, b;
	pid_t kid;
	int fd;

	test_init(argc, argv);
	tree_init();
	fd = memfd_create("zdtm_mapped", 0);
	if (fd < 0 || ftruncate(fd, LEN) < 0)
		fail_errno("memfd");
	map = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail_errno("mmap");
	pattern_fill(map, LEN, SEED);
	if (lseek(fd, POS, SEEK_SET) != POS)
		fail_errno("lseek");

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0) {
		char v = 0;

		tree_send(tree_root, 1);
		test_wait_checkpoint();
		/* The parent wrote 0x5a through its mapping at offset 100. */
		tree_recv(tree_root);
		if (pread(fd, &v, 1, 100) != 1 || v != 0x5a)
			fail("child: the parent's write through the mapping is not in the memfd (got %#x)", v);
		b = 0x6b;
		if (pwrite(fd, &b, 1, 200) != 1)
			fail_errno("child: pwrite");
		tree_send(tree_root, 2);
		tree_exit(0);
	}
	tree_recv(kid);
	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	if (pattern_check(map, LEN, SEED) >= 0)
		fail("the mapping's content changed");
	if (lseek(fd, 0, SEEK_CUR) != POS)
		fail("position %ld, expected %d", (long)lseek(fd, 0, SEEK_CUR), POS);
	b = 0x33;
	if (pwrite(fd, &b, 1, 50) != 1)
		fail_errno("pwrite");
	if (map[50] != 0x33)
		fail("a write through the fd is not seen in the mapping: fd and mapping are two objects");
	map[100] = 0x5a;
	tree_send(kid, 1);
	tree_recv(kid);
	if (map[200] != 0x6b)
		fail("the child's write through its fd is not seen in the parent's mapping");
	tree_exit(tree_collect(&kid, 1));
}
