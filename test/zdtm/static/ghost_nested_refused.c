/*
 * A file deleted while open whose directory was deleted after it: cr
 * would make the file again in its directory, which is gone too, and
 * refuses the dump naming it. The test checks after the refused dump
 * that its fd still reads the data and is still unlinked.
 *
 * zdtm: refused: too
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define DIR	"zdtm_ghost_nested.dir"
#define FILE_	DIR "/file"
#define LEN	8192
#define SEED	0x9e57000000000001ULL

int main(int argc, char **argv)
{
	static char buf[LEN];
	struct stat st;
	int fd;

	test_init(argc, argv);
	if (mkdir(DIR, 0755))
		fail_errno("mkdir %s", DIR);
	file_pattern_create(FILE_, LEN, SEED, 0600);
	fd = open(FILE_, O_RDONLY);
	if (fd < 0 || unlink(FILE_) || rmdir(DIR))
		fail_errno("setting up %s", FILE_);

	test_ready();
	test_wait_checkpoint();

	if (fstat(fd, &st) || st.st_nlink != 0 || pread(fd, buf, LEN, 0) != LEN ||
	    pattern_check(buf, LEN, SEED) >= 0)
		fail("%s: not the unlinked file with its data any more", FILE_);
	pass();
}
