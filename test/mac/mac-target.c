/*
 * mac-target MIB READY-FILE: the process test/mac/run dumps signed. It
 * holds MIB MiB of private anonymous memory (pages-N.img), 1 MiB of
 * MAP_SHARED anonymous memory (shmem runs) and a pipe with 4000 bytes
 * unread (fdata.img), each filled with a known pattern; it creates
 * READY-FILE and waits. On SIGUSR1 it checks all of it and writes "ok"
 * or "bad: WHAT" to READY-FILE.check (and puts the pipe's bytes back).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE		4096UL
#define SHARED_LEN	(1UL << 20)
#define PIPE_BYTES	4000

static volatile sig_atomic_t check_requested;

static void on_usr1(int sig)
{
	(void)sig;
	check_requested = 1;
}

static unsigned char pattern(size_t i, unsigned salt)
{
	return (unsigned char)(i * 131 + (i >> 12) * 7 + salt);
}

static void fill(unsigned char *p, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i, salt);
}

static int same(const unsigned char *p, size_t len, unsigned salt)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i, salt))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	size_t len = argc == 3 ? strtoul(argv[1], NULL, 10) << 20 : 0;
	unsigned char *priv, *shared, buf[PIPE_BYTES], got[PIPE_BYTES];
	const char *what = NULL;
	char path[4096];
	int p[2], fd;
	FILE *f;

	if (argc != 3 || !len || pipe2(p, O_NONBLOCK)) {
		fprintf(stderr, "usage: mac-target MIB READY-FILE\n");
		return 2;
	}
	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, SHARED_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED)
		return 1;
	fill(priv, len, 1);
	fill(shared, SHARED_LEN, 2);
	fill(buf, sizeof(buf), 3);
	if (write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	signal(SIGUSR1, on_usr1);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 1;
	close(fd);
again:
	while (!check_requested)
		pause();
	check_requested = 0;
	if (!same(priv, len, 1))
		what = "private memory";
	else if (!same(shared, SHARED_LEN, 2))
		what = "shared memory";
	else if (read(p[0], got, sizeof(got)) != (ssize_t)sizeof(got) || memcmp(got, buf, sizeof(got)))
		what = "pipe data";
	snprintf(path, sizeof(path), "%s.check", argv[2]);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, what ? "bad: %s\n" : "ok\n", what);
	fclose(f);
	/* The pipe as it was, for the next dump and check. */
	if (!what && write(p[1], buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return 1;
	goto again;
}
