/*
 * A memfd of 100 bytes mapped MAP_SHARED (one page) and held as an fd,
 * as a SysV segment smaller than a page: only its bytes are read at
 * dump. After restore the mapping is one shared page of the memfd, which
 * is 100 bytes long, holds the pattern, and is the fd's (a write in the
 * mapping is read through the fd).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define LEN	100
#define PAGE	4096UL
#define SEED	0x6d656d6664313030ULL

int main(int argc, char **argv)
{
	struct vma_info v;
	struct stat st;
	char *map, b;
	int fd;

	test_init(argc, argv);
	fd = memfd_create("zdtm_small", 0);
	if (fd < 0 || ftruncate(fd, LEN) < 0)
		fail_errno("memfd");
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail_errno("mmap");
	pattern_fill(map, LEN / 8 * 8, SEED);

	test_ready();
	test_wait_checkpoint();

	if (vma_find(map, &v) || v.start != (unsigned long)map || v.end - v.start != PAGE || v.perms[3] != 's' ||
	    !strstr(v.path, "memfd:zdtm_small"))
		fail("the memfd is no longer one shared page at %p", (void *)map);
	if (fstat(fd, &st) || st.st_size != LEN)
		fail("the memfd is %ld bytes, expected %d", (long)st.st_size, LEN);
	if (pattern_check(map, LEN / 8 * 8, SEED) >= 0)
		fail("the memfd's bytes differ");
	map[LEN - 1] = 'z';
	if (pread(fd, &b, 1, LEN - 1) != 1 || b != 'z')
		fail("a write in the mapping is not read through the fd");
	pass();
}
