/*
 * A MAP_SHARED file mapping stays shared with the file: writes made before
 * the dump are in the file, and after restore writes through the mapping
 * reach the file and writes to the file show in the mapping.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define FNAME	"zdtm_file_shared.dat"
#define PG	4096
#define NPAGES	4

static void fill(unsigned char *buf, int page, int gen)
{
	for (int i = 0; i < PG; i++)
		buf[i] = (unsigned char)(page * 13 + i * 3 + gen * 0x40);
}

static void check_file(int fd, int page, int gen, const char *what)
{
	unsigned char buf[PG], exp[PG];

	fill(exp, page, gen);
	if (pread(fd, buf, PG, page * PG) != PG)
		fail_errno("pread");
	if (memcmp(buf, exp, PG))
		fail("file page %d: %s", page, what);
}

int main(int argc, char **argv)
{
	unsigned char buf[PG], *p;
	int fd;

	test_init(argc, argv);

	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_errno("open");
	for (int pg = 0; pg < NPAGES; pg++) {
		fill(buf, pg, 0);
		if (pwrite(fd, buf, PG, pg * PG) != PG)
			fail_errno("pwrite");
	}
	p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		fail_errno("mmap");
	close(fd);

	fill(p + 0 * PG, 0, 1);	/* written before the dump */

	test_ready();
	test_wait_checkpoint();

	fd = open(FNAME, O_RDWR);
	if (fd < 0)
		fail_errno("reopen");
	check_file(fd, 0, 1, "write before the dump is missing");
	check_file(fd, 1, 0, "untouched page changed");

	fill(p + 2 * PG, 2, 2);	/* after restore, through the mapping */
	check_file(fd, 2, 2, "write through the mapping after restore did not reach the file");

	fill(buf, 3, 3);	/* after restore, through the file */
	if (pwrite(fd, buf, PG, 3 * PG) != PG)
		fail_errno("pwrite");
	if (memcmp(p + 3 * PG, buf, PG))
		fail("write to the file after restore does not show in the mapping");
	close(fd);
	pass();
}
