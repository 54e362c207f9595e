/*
 * bench-prefork CHILDREN GRANDCHILDREN MIB OWN READY-FILE: a pre-fork
 * server for scripts/bench-prefork. The root fills MIB of private
 * anonymous memory, then forks CHILDREN children, which fork GRANDCHILDREN
 * grandchildren in all (spread evenly); after its forks every process
 * rewrites OWN pages of the area with content of its own, so the tree
 * shares all but those copy-on-write. The root creates READY-FILE once
 * every process is there, then all wait in pause() until killed.
 *
 * bench-prefork warm MIB: touches MIB of fresh memory and exits (the VM
 * hands idle memory back to its host; see scripts/bench).
 *
 * Readiness travels over a pipe every process closes before READY-FILE
 * exists: the tree holds no fd but 0-2 when it is dumped. A process that
 * fails kills the whole tree (its process group).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE	4096UL

static unsigned char *area;
static size_t pages;

static __attribute__((noreturn)) void die(const char *what)
{
	perror(what);
	kill(0, SIGKILL);
	exit(1);
}

static void write_own(unsigned long idx, unsigned long own)
{
	for (unsigned long i = 0; i < own && pages; i++)
		memset(area + ((idx * 977 + i * 131) % pages) * PAGE, (int)(idx % 251) + 1, PAGE);
}

/* Tells the root it is there, then waits for ever. */
static __attribute__((noreturn)) void wait_forever(int ready_w)
{
	if (write(ready_w, "r", 1) != 1)
		die("ready pipe");
	close(ready_w);
	for (;;)
		pause();
}

/* Process @idx, with @kids children of its own numbered from @first_kid. */
static pid_t spawn(unsigned long idx, unsigned long own, unsigned long kids, unsigned long first_kid, int ready_r,
		   int ready_w)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid)
		return pid;
	close(ready_r);
	for (unsigned long k = 0; k < kids; k++)
		spawn(first_kid + k, own, 0, 0, -1, ready_w);
	write_own(idx, own);
	wait_forever(ready_w);
}

int main(int argc, char **argv)
{
	unsigned long children, grand, own, next, total;
	int p[2], fd;
	char c;

	if (argc == 3 && !strcmp(argv[1], "warm")) {
		size_t len = strtoul(argv[2], NULL, 0) << 20;
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			die("mmap");
		for (size_t i = 0; i < len; i += PAGE)
			m[i] = 1;
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: bench-prefork CHILDREN GRANDCHILDREN MIB OWN READY-FILE | warm MIB\n");
		return 2;
	}
	children = strtoul(argv[1], NULL, 0);
	grand = strtoul(argv[2], NULL, 0);
	pages = (strtoul(argv[3], NULL, 0) << 20) / PAGE;
	own = strtoul(argv[4], NULL, 0);
	total = children + grand;
	if (grand && !children) {
		fprintf(stderr, "bench-prefork: grandchildren need children\n");
		return 2;
	}
	area = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		die("mmap");
	for (size_t i = 0; i < pages; i++)
		memset(area + i * PAGE, (int)(i % 255) + 1, PAGE);
	if (pipe(p))
		die("pipe");
	next = children + 1;
	for (unsigned long k = 0; k < children; k++) {
		unsigned long kids = grand / children + (k < grand % children);

		spawn(k + 1, own, kids, next, p[0], p[1]);
		next += kids;
	}
	close(p[1]);
	write_own(0, own);
	for (unsigned long n = 0; n < total; n++)
		if (read(p[0], &c, 1) != 1)
			die("a process of the tree did not start");
	close(p[0]);
	fd = open(argv[5], O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		die(argv[5]);
	close(fd);
	for (;;)
		pause();
}
