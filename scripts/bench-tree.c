/*
 * bench-tree CHILDREN GRANDCHILDREN MIB READY-FILE: the benchmark's process
 * tree. The root forks CHILDREN children, and the children fork
 * GRANDCHILDREN grandchildren in all, spread as evenly as possible (the
 * first GRANDCHILDREN % CHILDREN children get one more), so the tree has
 * 1 + C + G processes in three levels (scripts/bench uses 9 and 90 for 100
 * processes, 19 and 180 for 200). Every process maps MIB of private
 * anonymous memory and writes every page with non-zero content unique to
 * the process and the page.
 *
 * The root creates READY-FILE once every process exists and has written
 * its memory, then all of them wait in sigsuspend(). On SIGUSR1 a process
 * checks its pages and writes "ok" or "bad" to READY-FILE.check.INDEX
 * (0 is the root, 1..C the children, then the grandchildren of child 1,
 * of child 2, ...), so the bench
 * can tell a fast restore from a wrong one.
 *
 * Readiness travels over a pipe that every process closes before the root
 * publishes READY-FILE: the tree holds no fd but 0-2 when it is dumped.
 * If any process fails to start, the root kills the whole tree (its own
 * process group) and exits non-zero without creating READY-FILE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096UL
#define PAGE_MAGIC	0x62656e6368747265ULL	/* "benchtre" */
#define MAX_FANOUT	1000	/* children, and grandchildren in all */

static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static unsigned char page_byte(unsigned long idx, size_t i)
{
	return (unsigned char)(idx * 61 + i * 131 + 7) | 1;	/* never zero */
}

static uint64_t page_tag(unsigned long idx, size_t i)
{
	return PAGE_MAGIC ^ ((uint64_t)idx << 32) ^ i;
}

static void fill(unsigned char *mem, size_t pages, unsigned long idx)
{
	for (size_t i = 0; i < pages; i++) {
		unsigned char *p = mem + i * PAGE;

		memset(p, page_byte(idx, i), PAGE);
		*(uint64_t *)p = page_tag(idx, i);
	}
}

static int verify(const unsigned char *mem, size_t pages, unsigned long idx)
{
	for (size_t i = 0; i < pages; i++) {
		const unsigned char *p = mem + i * PAGE;

		if (*(const uint64_t *)p != page_tag(idx, i) ||
		    p[PAGE - 1] != page_byte(idx, i) || p[PAGE / 2] != page_byte(idx, i))
			return -1;
	}
	return 0;
}

/* Written under a temporary name and renamed: a reader never sees it half done. */
static int write_file(const char *path, const char *tmp, const char *text)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		ret = -1;
	if (close(fd))
		ret = -1;
	if (!ret && rename(tmp, path))
		ret = -1;
	return ret;
}

static long parse_num(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	return v;
}

/* Reads one byte per non-root process; returns how many arrived before EOF. */
static long count_ready(int rfd, long want)
{
	long got = 0;
	char buf[256];

	while (got < want) {
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/*
 * The life of every process in the tree once it exists: map and fill its
 * memory, then report over the pipe. The root (index 0) instead waits for
 * one byte from each of the other WANT processes and creates READY-FILE.
 * Everyone closes the pipe first, then answers check requests forever.
 */
static int live(unsigned long idx, size_t pages, const char *ready,
		int rfd, int wfd, long want)
{
	char check[4096], tmp[4096];
	unsigned char *mem = NULL;
	sigset_t waitmask;

	snprintf(check, sizeof(check), "%s.check.%lu", ready, idx);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%lu", ready, idx);
	if (pages) {
		mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED) {
			perror("bench-tree: mmap");
			return 1;
		}
		fill(mem, pages, idx);
	}
	if (idx) {
		if (write(wfd, "r", 1) != 1) {
			perror("bench-tree: readiness pipe");
			return 1;
		}
		close(wfd);
		close(rfd);
	} else {
		close(wfd);
		if (count_ready(rfd, want) != want) {
			fprintf(stderr, "bench-tree: not all %ld processes got ready\n", want + 1);
			kill(0, SIGKILL);	/* the whole tree is our process group */
			return 1;
		}
		close(rfd);
		if (write_file(ready, tmp, "ready\n")) {
			perror("bench-tree: ready file");
			kill(0, SIGKILL);
			return 1;
		}
	}

	/* SIGUSR1 is blocked since before the first fork: none is lost. */
	sigprocmask(SIG_SETMASK, NULL, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	for (;;) {
		sigsuspend(&waitmask);
		if (check_requested) {
			check_requested = 0;
			write_file(check, tmp, verify(mem, pages, idx) ? "bad\n" : "ok\n");
		}
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	long children, grandchildren, mib, want;
	sigset_t usr1;
	size_t pages;
	int pfd[2];

	if (argc != 5 || (children = parse_num(argv[1], MAX_FANOUT)) < 0 ||
	    (grandchildren = parse_num(argv[2], MAX_FANOUT)) < 0 ||
	    (mib = parse_num(argv[3], 1L << 20)) < 0) {
		fprintf(stderr, "usage: bench-tree CHILDREN GRANDCHILDREN MIB READY-FILE\n");
		return 2;
	}
	/* Only stdio may stay open: cr does not dump pipes. */
	close_range(3, ~0U, 0);
	/* The tree is its own session and process group, as zdtm tests are. */
	if (setsid() < 0) {
		perror("bench-tree: setsid");
		return 1;
	}
	pages = (size_t)mib * (1 << 20) / PAGE;
	if (grandchildren && !children) {
		fprintf(stderr, "bench-tree: grandchildren need children\n");
		return 2;
	}
	want = children + grandchildren;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		perror("bench-tree: sigaction");
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		perror("bench-tree: pipe");
		return 1;
	}

	for (long c = 0; c < children; c++) {
		/* Child c's share of the grandchildren, and the index of its first. */
		long mine = grandchildren / children + (c < grandchildren % children);
		long first = children + 1 + c * (grandchildren / children) +
			     (c < grandchildren % children ? c : grandchildren % children);
		pid_t pid = fork();

		if (pid < 0) {
			perror("bench-tree: fork");
			break;
		}
		if (pid)
			continue;
		/* A child: its grandchildren first, so they inherit the pipe. */
		for (long g = 0; g < mine; g++) {
			unsigned long idx = first + g;

			pid = fork();
			if (pid < 0) {
				perror("bench-tree: fork");
				break;
			}
			if (pid == 0)
				return live(idx, pages, argv[4], pfd[0], pfd[1], 0);
		}
		return live(c + 1, pages, argv[4], pfd[0], pfd[1], 0);
	}

	/* A failed fork above shows as a missing byte: live() kills the tree. */
	return live(0, pages, argv[4], pfd[0], pfd[1], want);
}
