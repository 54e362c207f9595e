/*
 * A virtual console (/dev/tty1, opened O_RDONLY|O_NOCTTY) held by the
 * test. Not supported yet: cr keeps a virtual console only as the
 * terminal it runs on (--shell-job), its VT and keyboard state unsaved
 * (zdtm: refused: virtual ); the dump is refused and the tree runs on:
 * the fd is still that console.
 *
 * zdtm: flavors: h ns -uns (/dev/tty1 is root's of the initial user namespace only)
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "zdtm.h"

#define VC_PATH		"/dev/tty1"

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	test_init(argc, argv);
	fd = open(VC_PATH, O_RDONLY | O_NOCTTY);
	if (fd < 0)
		fail_errno("open %s (no virtual console on this machine?)", VC_PATH);

	test_ready();
	test_wait_checkpoint();

	if (fstat(fd, &st) || major(st.st_rdev) != 4 || minor(st.st_rdev) != 1)
		fail("the fd is no longer %s", VC_PATH);
	pass();
}
