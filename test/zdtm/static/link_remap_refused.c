/*
 * A file renamed over while open, with a second hard link left, dumped
 * without --link-remap: not kept. The dump is refused naming the option,
 * and the test checks after it that its fd is still of the file KEEP
 * names, with its content and position, and that NAME still names the
 * file renamed over it.
 *
 * zdtm: refused: --link-remap
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define NAME	"zdtm_link_remap_refused.name"
#define KEEP	"zdtm_link_remap_refused.keep"
#define NEW	"zdtm_link_remap_refused.new"
#define LEN	4096
#define POS	100
#define SEED	0x11e5000000000001ULL

int main(int argc, char **argv)
{
	static char buf[LEN];
	struct stat a, b, over, now;
	int fd;

	test_init(argc, argv);
	file_pattern_create(NAME, LEN, SEED, 0644);
	file_pattern_create(NEW, 10, SEED, 0644);
	fd = open(NAME, O_RDWR);
	if (fd < 0 || link(NAME, KEEP) || lseek(fd, POS, SEEK_SET) != POS || rename(NEW, NAME) ||
	    stat(NAME, &over))
		fail_errno("setting up %s", NAME);

	test_ready();
	test_wait_checkpoint();

	if (fstat(fd, &a) || stat(KEEP, &b) || stat(NAME, &now))
		fail_errno("stat");
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		fail("the fd is not of the file %s names", KEEP);
	if (now.st_ino != over.st_ino)
		fail("%s names another file", NAME);
	if (lseek(fd, 0, SEEK_CUR) != POS || pread(fd, buf, LEN, 0) != LEN || pattern_check(buf, LEN, SEED) >= 0)
		fail("the fd's position or content changed");
	pass();
}
