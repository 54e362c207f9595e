/*
 * Raw baselines for scripts/bench, measured in the same run as cr:
 *
 *   bench-baseline --warm MiB            touch and free MiB of memory
 *   bench-baseline dump MiB FILE         time write() of MiB touched memory to FILE
 *   bench-baseline restore MiB FILE      time read() of FILE into fresh memory
 *
 * dump/restore print the seconds on stdout. The timed part of "restore"
 * includes mapping the memory and faulting it in, as a restore must;
 * "dump" touches its source memory before the clock starts, as the
 * dumped process already has.
 *
 * --warm exists because this VM gives idle free memory back to its host,
 * and memory touched for the first time after that is several times
 * slower: the bench warms about twice the working size before every timed
 * step so cr and the baselines start from the same state.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1UL << 20)
#define CHUNK		(64 * MIB)	/* per syscall: large, but well under 2 GiB */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *map_mib(size_t mib)
{
	void *p = mmap(NULL, mib * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("bench-baseline: mmap");
		return NULL;
	}
	return p;
}

static int warm(size_t mib)
{
	char *p;

	if (!mib)
		return 0;
	p = map_mib(mib);
	if (!p)
		return 1;
	memset(p, 0x5a, mib * MIB);
	munmap(p, mib * MIB);
	return 0;
}

static int dump(size_t mib, const char *path)
{
	size_t len = mib * MIB, done = 0;
	char *p = map_mib(mib);
	double t;
	int fd;

	if (!p)
		return 1;
	memset(p, 0xa5, len);	/* the target's memory is resident before a dump */
	/* A fresh file each time, like a fresh image directory. */
	unlink(path);

	t = now();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("bench-baseline: open");
		return 1;
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done < CHUNK ? len - done : CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("bench-baseline: write");
			return 1;
		}
		done += n;
	}
	close(fd);
	printf("%.6f\n", now() - t);
	return 0;
}

static int restore(size_t mib, const char *path)
{
	size_t len = mib * MIB, done = 0;
	double t;
	char *p;
	int fd;

	t = now();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("bench-baseline: open");
		return 1;
	}
	p = map_mib(mib);
	if (!p)
		return 1;
	while (done < len) {
		ssize_t n = pread(fd, p + done, len - done < CHUNK ? len - done : CHUNK, done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "bench-baseline: read %s: %s\n", path,
				n < 0 ? strerror(errno) : "file too short");
			return 1;
		}
		done += n;
	}
	close(fd);
	printf("%.6f\n", now() - t);
	return 0;
}

static int parse_mib(const char *s, size_t *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0) {
		fprintf(stderr, "bench-baseline: '%s' is not a size in MiB\n", s);
		return -1;
	}
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib;

	if (argc == 3 && !strcmp(argv[1], "--warm"))
		return parse_mib(argv[2], &mib) ? 2 : warm(mib);
	if (argc == 4 && !strcmp(argv[1], "dump"))
		return parse_mib(argv[2], &mib) ? 2 : dump(mib, argv[3]);
	if (argc == 4 && !strcmp(argv[1], "restore"))
		return parse_mib(argv[2], &mib) ? 2 : restore(mib, argv[3]);
	fprintf(stderr, "usage: bench-baseline --warm MiB | dump MiB FILE | restore MiB FILE\n");
	return 2;
}
