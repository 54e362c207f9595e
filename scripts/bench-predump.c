/*
 * bench-predump's writer: MIB MiB of private memory, every page touched,
 * then RATE MiB per second written spread over all of it (a page every
 * few hundred, in 10 ms ticks), until killed. Prints "ready" once the
 * memory is touched.
 *
 *   bench-predump MIB RATE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG	4096UL
#define TICK_NS	10000000L

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t rate = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
	size_t pages = mib << 8, per_tick = (rate << 8) / (1000000000L / TICK_NS), k = 0;
	struct timespec next;
	char *m;

	m = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return perror("mmap"), 1;
	for (size_t i = 0; i < pages; i++)
		m[i * PG] = (char)i;
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t x = 88172645463325252ULL;;) {
		for (size_t i = 0; i < per_tick; i++, k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* xorshift: spread over the memory */
			m[(x % pages) * PG + (k % PG)] = (char)k;
		}
		next.tv_nsec += TICK_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}
