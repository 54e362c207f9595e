/*
 * Whole reads and writes for the zdtm tests. A signal that interrupts
 * them (the runner's SIGTERM: test_init() sets no SA_RESTART) restarts
 * them; any other error fails the test.
 */
#include <errno.h>
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
