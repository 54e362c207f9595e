/*
 * inotify watches on a file (IN_MODIFY | IN_CLOSE_WRITE) and on a
 * directory (IN_CREATE | IN_DELETE | IN_ONESHOT), with watch descriptors
 * 2 and 3: watch 1 was added and removed first. The instance is shared
 * with a child.
 *
 * After restore the instance's watches (wd, inode, mask) are the ones
 * recorded before, its queue is empty (no stray IN_IGNORED), a write to
 * the file by the child and a file created in the directory give events
 * with the old watch descriptors and the name, in order, and a second
 * creation gives none (IN_ONESHOT). A new watch gets wd 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define DIR_W		"zdtm_inotify.dir"
#define FILE_W		"zdtm_inotify.file"
#define OTHER		"zdtm_inotify.other"
#define NEW1		DIR_W "/new1"
#define NEW2		DIR_W "/new2"

static int in, wd_file, wd_dir;
static char watches[1024];

/* The "inotify wd:..." lines, sorted, without the file handle (another
 * encoding of the same inode). */
static void inotify_watches(char *out, size_t len)
{
	fdinfo_lines(in, "inotify wd:", " fhandle-bytes:", out, len);
}

static void expect(int wd, uint32_t mask, const char *name)
{
	inotify_expect(in, wd, mask, name);
}

__attribute__((noreturn))
static void child(void)
{
	pid_t parent = getppid();
	int fd;

	tree_send(parent, 0);
	test_wait_checkpoint();
	tree_recv(parent);
	fd = open(FILE_W, O_WRONLY);
	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		fail_errno("writing %s", FILE_W);
	tree_send(parent, 0);
	tree_exit(0);
}

int main(int argc, char **argv)
{
	char now[1024];
	pid_t kid;
	int fd, wd;

	test_init(argc, argv);
	tree_init();

	if (mkdir(DIR_W, 0700))
		fail_errno("mkdir");
	fd = open(FILE_W, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || close(fd) || (fd = open(OTHER, O_CREAT | O_WRONLY, 0600)) < 0 || close(fd))
		fail_errno("creating files");
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		fail_errno("inotify_init1");
	wd = inotify_add_watch(in, OTHER, IN_ACCESS);
	if (wd != 1 || inotify_rm_watch(in, wd))
		fail_errno("watch 1 (got %d)", wd);
	expect(1, IN_IGNORED, NULL);
	wd_file = inotify_add_watch(in, FILE_W, IN_MODIFY | IN_CLOSE_WRITE);
	wd_dir = inotify_add_watch(in, DIR_W, IN_CREATE | IN_DELETE | IN_ONESHOT);
	if (wd_file != 2 || wd_dir != 3)
		fail("watch descriptors %d and %d, expected 2 and 3", wd_file, wd_dir);
	if (inotify_next(in))
		fail("an event before the checkpoint");
	inotify_watches(watches, sizeof(watches));

	kid = fork();
	if (kid < 0)
		fail_errno("fork");
	if (kid == 0)
		child();
	tree_recv(kid);

	test_ready();
	test_wait_checkpoint();
	tree_forward(&kid, 1);

	inotify_watches(now, sizeof(now));
	if (strcmp(now, watches))
		fail("watches after restore:\n%sexpected:\n%s", now, watches);
	if (inotify_next(in))
		fail("an event in the queue right after restore");

	tree_send(kid, 0);
	tree_recv(kid);		/* the child wrote the file */
	expect(wd_file, IN_MODIFY, NULL);
	expect(wd_file, IN_CLOSE_WRITE, NULL);
	fd = open(NEW1, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || close(fd))
		fail_errno("create %s", NEW1);
	expect(wd_dir, IN_CREATE, "new1");
	expect(wd_dir, IN_IGNORED, NULL);	/* IN_ONESHOT: the watch is gone */
	fd = open(NEW2, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || close(fd))
		fail_errno("create %s", NEW2);
	if (inotify_next(in))
		fail("an event from the IN_ONESHOT watch after it fired");
	wd = inotify_add_watch(in, OTHER, IN_ACCESS);
	if (wd != 4)
		fail("a new watch got wd %d, expected 4", wd);
	tree_exit(tree_collect(&kid, 1));
}
