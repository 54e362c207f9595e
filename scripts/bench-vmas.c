/*
 * bench-vmas N READY-FILE: the target of scripts/bench-vmas. Maps N
 * one-page private anonymous mappings of alternating protection
 * (read-write, read-only: N VMAs, none merged), writes 64 bytes unique
 * to each page, creates READY-FILE and waits. On SIGUSR1 it checks every
 * page's bytes and protection and writes "ok" or what differs to
 * READY-FILE.check.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG	4096

static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static void fill(char *p, long k)
{
	for (int i = 0; i < 64; i++)
		p[i] = (char)(k * 131 + i);
}

/* The first page whose bytes or VMA differ, or -1. */
static long check(char *base, long n)
{
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");
	long vmas = 0;

	for (long k = 0; k < n; k++)
		for (int i = 0; i < 64; i++)
			if (base[k * PG + i] != (char)(k * 131 + i))
				return k;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s >= (unsigned long)base &&
		    e <= (unsigned long)base + n * PG) {
			long k = (s - (unsigned long)base) / PG;

			if (e - s != PG || strcmp(perms, k % 2 ? "r--p" : "rw-p"))
				return k;
			vmas++;
		}
	}
	fclose(f);
	return vmas == n ? -1 : n;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char path[4096];
	sigset_t none;
	long n;
	char *base;
	FILE *f;

	if (argc != 3 || (n = atol(argv[1])) < 1) {
		fprintf(stderr, "usage: bench-vmas N READY-FILE\n");
		return 2;
	}
	base = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (long k = 0; k < n; k++)
		fill(base + k * PG, k);
	for (long k = 1; k < n; k += 2)
		if (mprotect(base + k * PG, PG, PROT_READ)) {
			perror("mprotect (vm.max_map_count?)");
			return 1;
		}
	sigaction(SIGUSR1, &sa, NULL);
	setsid();
	f = fopen(argv[2], "w");
	if (!f || fclose(f))
		return 1;
	sigemptyset(&none);
	for (;;) {
		long bad;

		while (!check_requested)
			sigsuspend(&none);
		check_requested = 0;
		bad = check(base, n);
		snprintf(path, sizeof(path), "%s.check", argv[2]);
		f = fopen(path, "w");
		if (!f)
			return 1;
		if (bad < 0)
			fprintf(f, "ok\n");
		else
			fprintf(f, "page %ld differs\n", bad);
		fclose(f);
	}
}
