/*
 * bench-mem MiB READY-FILE [--mix]: the benchmark's target. Maps MiB of
 * anonymous memory, writes every page with non-zero data (so no page is a
 * zero page a dumper could skip), creates READY-FILE and waits. On SIGUSR1
 * it checks every page and writes "ok" or "bad" to READY-FILE.check, so
 * the bench can tell a fast restore from a wrong one.
 * --mix (scripts/bench-compress): typical program memory instead, in
 * thirds: pages written with zeros, text-like pages (words of a
 * vocabulary, the common ones more often), random pages; each page made
 * from its index alone, and checked whole.
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

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define VOCAB		4096
static char vocab[VOCAB][12];

static void vocab_make(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < VOCAB; i++) {
		int len = 2 + xorshift(&s) % 9;

		for (int k = 0; k < len; k++)
			vocab[i][k] = 'a' + xorshift(&s) % 26;
		vocab[i][len] = (xorshift(&s) % 8) ? ' ' : '\n';
		vocab[i][len + 1] = 0;
	}
}

/* Page @i of @pages in --mix: zeros, text or random by thirds. */
static void mix_page(size_t i, size_t pages, unsigned char *p)
{
	uint64_t s = (i + 1) * 0x2545f4914f6cdd1dULL;
	size_t n = 0;

	if (i < pages / 3) {
		memset(p, 0, PAGE);
	} else if (i < pages / 3 * 2) {
		while (n < PAGE) {
			/* The product of two draws: small indices (common words) come up most. */
			uint64_t r = xorshift(&s);
			const char *w = vocab[((r & 0xffff) * ((r >> 16) & 0xffff)) >> 20];

			for (; *w && n < PAGE; w++)
				p[n++] = *w;
		}
	} else {
		for (; n < PAGE; n += 8)
			*(uint64_t *)(p + n) = xorshift(&s);
	}
}

static int mix;

static void fill_mix(unsigned char *mem, size_t pages)
{
	vocab_make();
	for (size_t i = 0; i < pages; i++)
		mix_page(i, pages, mem + i * PAGE);
}

static int verify_mix(const unsigned char *mem, size_t pages)
{
	unsigned char want[PAGE];

	for (size_t i = 0; i < pages; i++) {
		mix_page(i, pages, want);
		if (memcmp(mem + i * PAGE, want, PAGE))
			return -1;
	}
	return 0;
}

static int verify(const unsigned char *mem, size_t pages)
{
	if (mix)
		return verify_mix(mem, pages);
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

	mix = argc == 4 && !strcmp(argv[3], "--mix");
	if ((argc != 3 && !mix) || (mib = strtol(argv[1], &end, 10)) < 0 || *end) {
		fprintf(stderr, "usage: bench-mem MiB READY-FILE [--mix]\n");
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
		if (mix)
			fill_mix(mem, pages);
		else
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
