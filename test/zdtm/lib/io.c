/*
 * Whole reads and writes for the zdtm tests. A signal that interrupts
 * them (the runner's SIGTERM: test_init() sets no SA_RESTART) restarts
 * them; any other error fails the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

#define COPY_CHUNK	65536

size_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail_errno("read fd %d", fd);
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

void write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_errno("write %zu bytes to fd %d", len - done, fd);
		done += n;
	}
}

size_t copy_fd(int in, int out, size_t len)
{
	char buf[COPY_CHUNK];
	size_t done = 0;

	while (done < len) {
		size_t want = len - done < sizeof(buf) ? len - done : sizeof(buf);
		size_t n = read_full(in, buf, want);

		write_full(out, buf, n);
		done += n;
		if (n < want)
			break;	/* EOF */
	}
	return done;
}

void file_pattern_create(const char *path, size_t len, uint64_t seed, int mode)
{
	char *buf = malloc(len ? len : 1);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, mode);

	if (!buf || fd < 0)
		fail_errno("create %s", path);
	pattern_fill(buf, len, seed);
	write_full(fd, buf, len);
	close(fd);
	free(buf);
}

void file_put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(val, f) < 0 || fclose(f))
		fail_errno("writing %s to %s", val, path);
}

int file_line_check(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");

	if (!f) {
		test_msg("FAIL: %s: %m", path);
		return 1;
	}
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	if (strcmp(buf, want)) {
		test_msg("FAIL: %s is '%s', expected '%s'", path, buf, want);
		return 1;
	}
	return 0;
}
