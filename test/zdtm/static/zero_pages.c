/*
 * Anonymous memory that was only read maps the kernel's zero page: it
 * reads as zeros after restore without becoming resident memory, while
 * the few pages written keep their data.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "zdtm.h"

#define AREA		(128UL << 20)
#define MAX_RSS_KB	(48 * 1024)	/* far below the 128 MiB that was read */

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		fail_errno("status");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	volatile unsigned char *p;
	unsigned long sum = 0;

	test_init(argc, argv);
	p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail_errno("mmap");
	madvise((void *)p, AREA, MADV_NOHUGEPAGE);	/* 4 KiB zero pages, not a huge one */
	for (unsigned long off = 0; off < AREA; off += 4096)
		sum += p[off];
	p[0] = 1;
	p[AREA / 2] = 2;
	p[AREA - 1] = 3;
	if (sum)
		fail("fresh memory is not zero");
	test_ready();
	test_wait_checkpoint();

	if (p[0] != 1 || p[AREA / 2] != 2 || p[AREA - 1] != 3)
		fail("written bytes lost");
	for (unsigned long off = 4096; off < AREA / 2; off += 4096)
		if (p[off])
			fail("byte at %#lx is %d, expected 0", off, p[off]);
	if (rss_kb() > MAX_RSS_KB)
		fail("RSS %ld kB after restore: read-only zero pages became resident", rss_kb());
	pass();
}
