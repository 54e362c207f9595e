/*
 * A log: a file opened write-only with O_APPEND, written before the dump,
 * and a file opened O_RDWR | O_APPEND. After restore each fd's position
 * is its file's end, and a write lands there: the log holds what was
 * written before, then whatever others appended while the tree was
 * away (the runner's append_grown case adds a line after a
 * --leave-running dump: a restore accepts that growth of a write-only
 * O_APPEND file, with a warning), then the line written after restore.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define LOG		"zdtm_append.log"
#define RDWR		"zdtm_append.rdwr"
#define BEFORE		"before the dump\n"
#define GROWN		"grown\n"	/* the runner's, or nothing */
#define AFTER		"after restore\n"

static int check(int fd, const char *path, int may_grow)
{
	char buf[256];
	struct stat st;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	size_t n, lb = strlen(BEFORE), lg = strlen(GROWN), la = strlen(AFTER);
	int rfd;

	if (fstat(fd, &st) || pos != st.st_size) {
		test_msg("FAIL: %s: position %ld, the file is %ld bytes", path, (long)pos, (long)st.st_size);
		return 1;
	}
	write_full(fd, AFTER, la);
	rfd = open(path, O_RDONLY);
	if (rfd < 0)
		fail_errno("open %s", path);
	n = read_full(rfd, buf, sizeof(buf));
	close(rfd);
	if (n < lb + la || memcmp(buf, BEFORE, lb) || memcmp(buf + n - la, AFTER, la) ||
	    (n != lb + la && !(may_grow && n == lb + lg + la && !memcmp(buf + lb, GROWN, lg)))) {
		test_msg("FAIL: %s holds %zu bytes: '%.*s'", path, n, (int)n, buf);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int log, rdwr, bad;

	test_init(argc, argv);
	log = open(LOG, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, 0644);
	rdwr = open(RDWR, O_RDWR | O_APPEND | O_CREAT | O_TRUNC, 0644);
	if (log < 0 || rdwr < 0)
		fail_errno("open");
	write_full(log, BEFORE, strlen(BEFORE));
	write_full(rdwr, BEFORE, strlen(BEFORE));

	test_ready();
	test_wait_checkpoint();

	bad = check(log, LOG, 1) + check(rdwr, RDWR, 0);
	if (bad)
		fail("%d files differ", bad);
	pass();
}
