/*
 * inotify watches on files of mounts the test made: a file on a tmpfs
 * (in the ns flavors a mount the restore makes anew: the watch goes by
 * its path there), and a file hidden by a tmpfs mounted over its
 * directory after the watch was added (no path leads to it: the restore
 * reaches it through its own mount).
 *
 * After restore: the same watch descriptors, an empty queue, and a write
 * to each file gives IN_MODIFY on its own watch only (the hidden file is
 * reached through an fd of its directory kept from before the mount).
 *
 * zdtm: flavors: ns (not h: its mounts would be cr's, and outlive a test the runner kills)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define MNT		"zdtm_inotify_mounts.tmpfs"
#define HID		"zdtm_inotify_mounts.hidden"

static int in;
static bool mounted_mnt, mounted_hid;

static void umount_all(void)
{
	if (mounted_hid)
		umount2(HID, MNT_DETACH);
	if (mounted_mnt)
		umount2(MNT, MNT_DETACH);
}

static void expect_modify(int wd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0)
		fail_errno("no event for wd %d", wd);
	if (e->wd != wd || e->mask != IN_MODIFY || (size_t)n != sizeof(*e) + e->len)
		fail("event wd %d mask %#x (%zd bytes), expected only wd %d IN_MODIFY", e->wd, e->mask, n, wd);
}

static void write_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY);

	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		fail_errno("writing %s", name);
}

int main(int argc, char **argv)
{
	int wd_mnt, wd_hid, hid;
	char now[1024], watches[1024];

	test_init(argc, argv);
	atexit(umount_all);
	if (mkdir(MNT, 0700) || mkdir(HID, 0700) || close(open(HID "/f", O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating files");
	if (mount("zdtm", MNT, "tmpfs", 0, "size=1m"))
		fail_errno("mount tmpfs on %s", MNT);
	mounted_mnt = true;
	if (close(open(MNT "/f", O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating %s/f", MNT);
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0)
		fail_errno("inotify_init1");
	wd_mnt = inotify_add_watch(in, MNT "/f", IN_MODIFY);
	wd_hid = inotify_add_watch(in, HID "/f", IN_MODIFY);
	if (wd_mnt != 1 || wd_hid != 2)
		fail("watch descriptors %d and %d, expected 1 and 2", wd_mnt, wd_hid);
	hid = open(HID, O_PATH | O_DIRECTORY);
	if (hid < 0)
		fail_errno("open %s", HID);
	if (mount("zdtm", HID, "tmpfs", 0, "size=1m"))
		fail_errno("mount tmpfs on %s", HID);
	mounted_hid = true;
	fdinfo_lines(in, "inotify wd:", " ino:", watches, sizeof(watches));

	test_ready();
	test_wait_checkpoint();

	fdinfo_lines(in, "inotify wd:", " ino:", now, sizeof(now));
	if (strcmp(now, watches))
		fail("watches after restore:\n%sexpected:\n%s", now, watches);
	if (read(in, now, sizeof(now)) >= 0 || errno != EAGAIN)
		fail("an event in the queue right after restore");
	write_at(AT_FDCWD, MNT "/f");
	expect_modify(wd_mnt);
	write_at(hid, "f");
	expect_modify(wd_hid);
	pass();
}
