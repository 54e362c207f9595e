/*
 * A MAP_PRIVATE file mapping with modified (COW) pages: after restore the
 * mapping still shows the modifications, unmodified pages still show the
 * file, the file itself is unchanged, and the VMA is still backed by the
 * file (not turned into anonymous memory).
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "zdtm.h"

#define FNAME	"zdtm_file_private.dat"
#define PG	4096
#define NPAGES	4

static void fill(unsigned char *buf, int page, int modified)
{
	for (int i = 0; i < PG; i++)
		buf[i] = (unsigned char)(page * 31 + i * 7 + (modified ? 0x55 : 0));
}

static int mapping_backed_by(void *addr, const char *path)
{
	char line[PATH_MAX + 256], want[32];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		fail_errno("open maps");
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		line[strcspn(line, "\n")] = 0;
		found = strstr(line, path) != NULL;
		if (!found)
			test_msg("maps line: %s", line);
		break;
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	unsigned char buf[PG], exp[PG], *p;
	char path[PATH_MAX];
	int fd;

	test_init(argc, argv);
	if (!getcwd(path, sizeof(path) - sizeof(FNAME) - 1))
		fail_errno("getcwd");
	strcat(path, "/" FNAME);

	fd = open(FNAME, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_errno("open");
	for (int pg = 0; pg < NPAGES; pg++) {
		fill(buf, pg, 0);
		if (pwrite(fd, buf, PG, pg * PG) != PG)
			fail_errno("pwrite");
	}
	p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		fail_errno("mmap");
	/* Close the fd: the mapping alone must carry the file. */
	close(fd);

	fill(p + 1 * PG, 1, 1);
	fill(p + 3 * PG, 3, 1);
	/* Page 2 is read (faulted in from the file) but not written. */
	if (p[2 * PG] != (unsigned char)(2 * 31))
		fail("page 2 not read from the file");

	test_ready();
	test_wait_checkpoint();

	for (int pg = 0; pg < NPAGES; pg++) {
		int modified = pg == 1 || pg == 3;

		fill(exp, pg, modified);
		if (memcmp(p + pg * PG, exp, PG))
			fail("mapping page %d (%s) differs", pg,
			     modified ? "modified" : "file-backed");
	}

	fd = open(FNAME, O_RDONLY);
	if (fd < 0)
		fail_errno("reopen");
	for (int pg = 0; pg < NPAGES; pg++) {
		fill(exp, pg, 0);
		if (pread(fd, buf, PG, pg * PG) != PG)
			fail_errno("pread");
		if (memcmp(buf, exp, PG))
			fail("file page %d was changed by the private mapping", pg);
	}
	if (!mapping_backed_by(p, path))
		fail("mapping at %p is no longer backed by %s", (void *)p, path);

	/* Still private: a write after restore stays out of the file. */
	p[0] = 0xee;
	if (pread(fd, buf, 1, 0) != 1 || buf[0] == 0xee)
		fail("write to the private mapping reached the file");
	close(fd);
	pass();
}
