/*
 * inotify watches the restore cannot add by the dumped path: on a file
 * deleted while the test still holds it open (the kernel keeps the watch
 * until the last close: then IN_CLOSE_WRITE, IN_DELETE_SELF, IN_IGNORED),
 * and on a directory renamed after it was watched.
 *
 * After restore: the same watch descriptors; a write through the fd of
 * the deleted file gives IN_MODIFY on its watch, a file created in the
 * renamed directory IN_CREATE with its name, and closing the deleted
 * file IN_CLOSE_WRITE, IN_DELETE_SELF and IN_IGNORED on its watch; the
 * queue is empty right after restore; a new watch gets the next number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define GONE		"zdtm_inotify_deleted.gone"
#define DIR1		"zdtm_inotify_deleted.dir1"
#define DIR2		"zdtm_inotify_deleted.dir2"
#define OTHER		"zdtm_inotify_deleted.other"

static int in;

static void expect(int wd, uint32_t mask, const char *name)
{
	inotify_expect(in, wd, mask, name);
}

int main(int argc, char **argv)
{
	int fd, wd_gone, wd_dir, wd;

	test_init(argc, argv);
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		fail_errno("inotify_init1");
	fd = open(GONE, O_CREAT | O_RDWR, 0600);
	if (fd < 0 || mkdir(DIR1, 0700) || close(open(OTHER, O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating files");
	wd_gone = inotify_add_watch(in, GONE, IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_ATTRIB);
	wd_dir = inotify_add_watch(in, DIR1, IN_CREATE);
	if (wd_gone != 1 || wd_dir != 2)
		fail("watch descriptors %d and %d, expected 1 and 2", wd_gone, wd_dir);
	if (unlink(GONE) || rename(DIR1, DIR2))
		fail_errno("unlink or rename");
	expect(wd_gone, IN_ATTRIB, NULL);	/* its link count */
	if (inotify_next(in))
		fail("an event before the checkpoint");

	test_ready();
	test_wait_checkpoint();

	if (inotify_next(in))
		fail("an event in the queue right after restore");
	if (write(fd, "x", 1) != 1)
		fail_errno("write to the deleted file");
	expect(wd_gone, IN_MODIFY, NULL);
	/* Made anew: images restored a second time (the fault suite) find it from the first. */
	if ((unlink(DIR2 "/new") && errno != ENOENT) || close(open(DIR2 "/new", O_CREAT | O_WRONLY, 0600)))
		fail_errno("create in %s", DIR2);
	expect(wd_dir, IN_CREATE, "new");
	if (close(fd))
		fail_errno("close");
	expect(wd_gone, IN_CLOSE_WRITE, NULL);
	expect(wd_gone, IN_DELETE_SELF, NULL);
	expect(wd_gone, IN_IGNORED, NULL);
	if (inotify_next(in))
		fail("an unexpected event");
	wd = inotify_add_watch(in, OTHER, IN_ACCESS);
	if (wd != 3)
		fail("a new watch got wd %d, expected 3", wd);
	pass();
}
