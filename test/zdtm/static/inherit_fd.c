/*
 * A file the caller hands over: the test holds fd 3 on inherit_fd.log in
 * its work dir (O_WRONLY|O_APPEND) and writes "before\n" to it. After the
 * checkpoint it writes "after\n" to fd 3.
 *
 * In the three modes fd 3 is the same file again, which then holds both
 * lines. The runner's inherit-fd case restores with
 * --inherit-fd fd[N]:<path of inherit_fd.log> after deleting the file: cr's
 * fd N (another file) takes its place, "after\n" lands there, and the
 * test only checks that its write went through.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define NAME	"inherit_fd.log"
#define FD	3

int main(int argc, char **argv)
{
	struct stat a, b;
	char buf[64];
	int fd;

	test_init(argc, argv);
	fd = open(NAME, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (fd != FD && (dup2(fd, FD) < 0 || close(fd))))
		fail_errno("open %s as fd %d", NAME, FD);
	if (write(FD, "before\n", 7) != 7)
		fail_errno("write before");
	test_ready();

	test_wait_checkpoint();
	if (write(FD, "after\n", 6) != 6)
		fail_errno("write after");
	/* Our own file still: it holds both lines. Handed over: the runner checks. */
	if (fstat(FD, &a) == 0 && stat(NAME, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
		int r = open(NAME, O_RDONLY);
		ssize_t n = r < 0 ? -1 : read(r, buf, sizeof(buf));

		if (n != 13 || memcmp(buf, "before\nafter\n", 13))
			fail("%s holds %zd bytes, not 'before\\nafter\\n'", NAME, n);
	}
	pass();
}
