/*
 * The process test/stats/run dumps: one anonymous mapping of
 * WRITTEN + READ + UNTOUCHED pages, whose first WRITTEN pages it writes
 * (a pattern it can check), the next READ it only reads (the zero page)
 * and the rest it never touches.
 *
 * usage: stats-target WRITTEN READ UNTOUCHED RESULT_FILE
 * RESULT_FILE gets "ready ADDR" (the mapping's start, hex) once the
 * memory is set up; on SIGUSR1 the target checks every page and writes
 * "ok" or "FAIL why" there; on SIGUSR2 it rewrites its first page (a
 * change for a dump after a pre-dump). SIGTERM ends it.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE	4096UL

static volatile sig_atomic_t check_asked, change_asked;

static void on_usr1(int sig)
{
	(void)sig;
	check_asked = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	change_asked = 1;
}

static uint64_t word(uint64_t p, uint64_t j, uint64_t gen)
{
	return (p * 0x9E3779B97F4A7C15ULL) ^ (j << 20) ^ gen;
}

static void result(const char *path, const char *fmt, const void *arg)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		exit(2);
	fprintf(f, fmt, arg);
	fclose(f);
	rename(tmp, path);
}

int main(int argc, char **argv)
{
	unsigned long written, readonly, untouched, gen0 = 1;
	volatile uint64_t *m;
	uint64_t sum = 0;
	char why[128];

	if (argc != 5)
		return 2;
	written = strtoul(argv[1], NULL, 10);
	readonly = strtoul(argv[2], NULL, 10);
	untouched = strtoul(argv[3], NULL, 10);
	m = mmap(NULL, (written + readonly + untouched) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (m == MAP_FAILED)
		return 2;
	/* Small pages only: a huge page would make the counts the kernel's choice. */
	madvise((void *)m, (written + readonly + untouched) * PAGE, MADV_NOHUGEPAGE);
	for (uint64_t p = 0; p < written; p++)
		for (uint64_t j = 0; j < PAGE / 8; j++)
			m[p * PAGE / 8 + j] = word(p, j, 0);
	for (uint64_t p = written; p < written + readonly; p++)
		sum += m[p * PAGE / 8];
	if (sum)
		return 2;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	result(argv[4], "ready %p\n", (void *)m);
	for (;;) {
		pause();
		if (change_asked) {
			change_asked = 0;
			for (uint64_t j = 0; j < PAGE / 8; j++)
				m[j] = word(0, j, gen0);
			gen0++;
		}
		if (!check_asked)
			continue;
		check_asked = 0;
		why[0] = 0;
		for (uint64_t p = 0; p < written && !why[0]; p++)
			for (uint64_t j = 0; j < PAGE / 8 && !why[0]; j++)
				if (m[p * PAGE / 8 + j] != word(p, j, p ? 0 : gen0 - 1))
					snprintf(why, sizeof(why), "page %lu word %lu differs", (unsigned long)p,
						 (unsigned long)j);
		for (uint64_t p = written; p < written + readonly + untouched && !why[0]; p++)
			if (m[p * PAGE / 8])
				snprintf(why, sizeof(why), "page %lu is not zero", (unsigned long)p);
		if (why[0])
			result(argv[4], "FAIL %s\n", why);
		else
			result(argv[4], "ok%s\n", "");
	}
}
