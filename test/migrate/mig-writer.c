/*
 * The process test/migrate/run migrates: MIB MiB of anonymous memory
 * under steady writes, whose every byte it can check.
 *
 * usage: mig-writer MIB RESULT_FILE
 * Page p holds its generation g (how many times it was written) in its
 * first word and word(p, j, g) in every other; each step rewrites one
 * page with g + 1 and counts the steps. RESULT_FILE gets "ready" once
 * the memory is filled; on SIGUSR1 the writer checks every page and that
 * the generations add up to the steps, and writes "ok STEPS" or
 * "FAIL why" there. SIGTERM ends it.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define WORDS		(PAGE / sizeof(uint64_t))
#define STEPS_PER_NAP	16		/* 16 pages per millisecond at most */

static volatile sig_atomic_t check_asked;

static void on_usr1(int sig)
{
	(void)sig;
	check_asked = 1;
}

static uint64_t word(uint64_t p, uint64_t j, uint64_t g)
{
	return (p * 0x9E3779B97F4A7C15ULL) ^ (g * 0xC2B2AE3D27D4EB4FULL) ^ (j << 32 | j);
}

static void fill(uint64_t *page, uint64_t p, uint64_t g)
{
	page[0] = g;
	for (uint64_t j = 1; j < WORDS; j++)
		page[j] = word(p, j, g);
}

static void report(const char *path, const char *line)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(line, f);
		fclose(f);
	}
}

static void check(const uint64_t *mem, uint64_t npages, uint64_t steps, const char *path)
{
	uint64_t sum = 0;
	char line[160];

	for (uint64_t p = 0; p < npages; p++) {
		const uint64_t *page = mem + p * WORDS;

		for (uint64_t j = 1; j < WORDS; j++)
			if (page[j] != word(p, j, page[0])) {
				snprintf(line, sizeof(line), "FAIL page %lu word %lu: %lx, generation %lu\n",
					 (unsigned long)p, (unsigned long)j, (unsigned long)page[j],
					 (unsigned long)page[0]);
				report(path, line);
				return;
			}
		sum += page[0];
	}
	if (sum != steps)
		snprintf(line, sizeof(line), "FAIL generations add up to %lu, %lu steps were made\n",
			 (unsigned long)sum, (unsigned long)steps);
	else
		snprintf(line, sizeof(line), "ok %lu\n", (unsigned long)steps);
	report(path, line);
}

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 1000000 };
	uint64_t npages, steps = 0, *mem;

	if (argc != 3 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: %s MIB RESULT_FILE\n", argv[0]);
		return 2;
	}
	npages = (uint64_t)atoi(argv[1]) << 20 >> 12;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	signal(SIGUSR1, on_usr1);
	for (uint64_t p = 0; p < npages; p++)
		fill(mem + p * WORDS, p, 0);
	report(argv[2], "ready\n");
	for (;;) {
		/* A stride that visits every page: spread over the memory. */
		uint64_t p = (steps * 2654435761ULL) % npages;

		fill(mem + p * WORDS, p, mem[p * WORDS] + 1);
		steps++;
		if (check_asked) {
			check_asked = 0;
			check(mem, npages, steps, argv[2]);
		}
		if (steps % STEPS_PER_NAP == 0)
			nanosleep(&nap, NULL);
	}
}
