/*
 * bench-mem MiB READY-FILE: the benchmark's target. Maps MiB of anonymous
 * memory, writes every page with non-zero data (so no page is a zero page
 * a dumper could skip), creates READY-FILE and waits. On SIGUSR1 it checks
 * every page and writes "ok" or "bad" to READY-FILE.check, so the bench
 * can tell a fast restore from a wrong one.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096UL
#define PAGE_MAGIC	0x62656e63686d656dULL	/* "benchmem" */

static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static unsigned char page_byte(size_t i)
{
	return (unsigned char)(i * 131 + 7) | 1;	/* never zero */
}

static void fill(unsigned char *mem, size_t pages)
{
	for (size_t i = 0; i < pages; i++) {
		unsigned char *p = mem + i * PAGE;

		memset(p, page_byte(i), PAGE);
		*(uint64_t *)p = PAGE_MAGIC ^ i;
	}
}

static int verify(const unsigned char *mem, size_t pages)
{
	for (size_t i = 0; i < pages; i++) {
		const unsigned char *p = mem + i * PAGE;

		if (*(const uint64_t *)p != (PAGE_MAGIC ^ i) ||
		    p[PAGE - 1] != page_byte(i) || p[PAGE / 2] != page_byte(i))
			return -1;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -1;
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t usr1, waitmask;
	unsigned char *mem = NULL;
	char check_path[4096];
	size_t pages;
	char *end;
	long mib;

	if (argc != 3 || (mib = strtol(argv[1], &end, 10)) < 0 || *end) {
		fprintf(stderr, "usage: bench-mem MiB READY-FILE\n");
		return 2;
	}
	snprintf(check_path, sizeof(check_path), "%s.check", argv[2]);
	/* Only stdio may stay open: cr does not dump pipes yet. */
	close_range(3, ~0U, 0);

	pages = (size_t)mib * (1 << 20) / PAGE;
	if (pages) {
		mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("bench-mem: mmap");
			return 1;
		}
		fill(mem, pages);
	}
	/* SIGUSR1 only arrives inside sigsuspend(): no request is lost. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		perror("bench-mem: sigaction");
		return 1;
	}
	if (write_file(argv[2], "ready\n")) {
		perror("bench-mem: ready file");
		return 1;
	}
	for (;;) {
		sigsuspend(&waitmask);
		if (check_requested) {
			check_requested = 0;
			write_file(check_path, verify(mem, pages) ? "bad\n" : "ok\n");
		}
	}
}
