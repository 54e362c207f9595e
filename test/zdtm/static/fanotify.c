/*
 * A fanotify group (FAN_CLASS_NOTIF, O_RDWR event fds) with an inode
 * mark (FAN_MODIFY) on a file, a mount mark (FAN_OPEN) on a tmpfs the
 * test mounted, a filesystem mark (FAN_CLOSE_WRITE) on that tmpfs and an
 * inode mark ignoring FAN_CLOSE_WRITE (FAN_MARK_IGNORED_MASK, surviving
 * modification) on one of its files. In the flavor h (no mount of the
 * test's own: it would be cr's, and outlive a test the runner kills) the
 * "tmpfs" is a directory, and an inode mark (FAN_OPEN | FAN_CLOSE_WRITE)
 * on its loud file stands for the mount and filesystem marks.
 *
 * After restore: the same group flags and mark masks in fdinfo, an empty
 * queue, and for each step exactly the events of the marked objects:
 * a write to the marked file FAN_MODIFY (and nothing for a write to
 * another file beside it), an open of a tmpfs file FAN_OPEN, its close
 * after a write FAN_CLOSE_WRITE, none of that for the ignoring file but
 * FAN_OPEN (in h: nothing). Each event's fd is of the object (same inode).
 *
 * zdtm: flavors: h ns -uns (a group made in a user namespace is an unprivileged one: refused, see README)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define MNT		"zdtm_fanotify.tmpfs"
#define MARKED		"zdtm_fanotify.marked"
#define OTHER		"zdtm_fanotify.other"
#define LOUD		MNT "/loud"
#define QUIET		MNT "/quiet"

static int fan;
static bool mounted;

static void umount_all(void)
{
	if (mounted)
		umount2(MNT, MNT_DETACH);
}

/* Every event queued now, as OR'ed masks of the inode @path names; fails on another inode. */
static uint64_t events_of(const char *path)
{
	char buf[4096] __attribute__((aligned(8)));
	uint64_t mask = 0;
	struct stat want, st;
	ssize_t n;

	if (stat(path, &want))
		fail_errno("stat %s", path);
	while ((n = read(fan, buf, sizeof(buf))) > 0) {
		struct fanotify_event_metadata *m = (void *)buf;

		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd < 0 || fstat(m->fd, &st))
				fail_errno("event mask %#llx without a usable fd %d", (unsigned long long)m->mask, m->fd);
			if (st.st_ino != want.st_ino || st.st_dev != want.st_dev)
				fail("event mask %#llx for inode %lu, expected only %s's", (unsigned long long)m->mask,
				     (unsigned long)st.st_ino, path);
			mask |= m->mask;
			close(m->fd);
		}
	}
	if (n < 0 && errno != EAGAIN)
		fail_errno("read fanotify");
	return mask;
}

static void expect(const char *path, uint64_t want)
{
	uint64_t got = events_of(path);

	if (got != want)
		fail("events %#llx for %s, expected %#llx", (unsigned long long)got, path, (unsigned long long)want);
}

/*
 * The group's flags line, then each mark's flags and masks (sorted),
 * without inodes, mount ids and devices: a restore may change them.
 */
static void group_lines(char *out, size_t len)
{
	char all[2048];
	size_t at;

	fdinfo_lines(fan, "fanotify flags:", "", out, len);
	fdinfo_lines(fan, "fanotify ", "", all, sizeof(all));
	for (char *l = all; *l; l = strchr(l, '\n') + 1) {
		char *m = strstr(l, "mflags:"), *end = strchr(l, '\n'), *f = strstr(l, " fhandle-bytes:");

		at = strlen(out);
		if (m && m < end)
			snprintf(out + at, len - at, "%.*s\n", (int)((f && f < end ? f : end) - m), m);
	}
}

static void write_file(const char *path)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		fail_errno("writing %s", path);
}

int main(int argc, char **argv)
{
	bool ns = getpid() == 1;	/* the init of the ns flavor's pid namespace */
	char lines[2048], now[2048];
	int fd;

	test_init(argc, argv);
	atexit(umount_all);
	if (mkdir(MNT, 0700) || close(open(MARKED, O_CREAT | O_WRONLY, 0600)) ||
	    close(open(OTHER, O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating files");
	if (ns && mount("zdtm", MNT, "tmpfs", 0, "size=1m"))
		fail_errno("mount tmpfs on %s", MNT);
	mounted = ns;
	if (close(open(LOUD, O_CREAT | O_WRONLY, 0600)) || close(open(QUIET, O_CREAT | O_WRONLY, 0600)))
		fail_errno("creating files on the tmpfs");
	fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDWR);
	if (fan < 0)
		fail_errno("fanotify_init");
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, MARKED) ||
	    (ns && fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD, MNT)) ||
	    (ns && fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CLOSE_WRITE, AT_FDCWD, MNT)) ||
	    (!ns && fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN | FAN_CLOSE_WRITE, AT_FDCWD, LOUD)) ||
	    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
			  FAN_CLOSE_WRITE, AT_FDCWD, QUIET))
		fail_errno("fanotify_mark");
	group_lines(now, sizeof(now));

	test_ready();
	test_wait_checkpoint();

	group_lines(lines, sizeof(lines));
	if (strcmp(now, lines))
		fail("group after restore:\n%sexpected:\n%s", lines, now);
	expect(MARKED, 0);	/* the queue is empty */
	write_file(MARKED);
	expect(MARKED, FAN_MODIFY);
	write_file(OTHER);
	expect(OTHER, 0);
	write_file(LOUD);
	expect(LOUD, FAN_OPEN | FAN_CLOSE_WRITE);
	write_file(QUIET);
	expect(QUIET, ns ? FAN_OPEN : 0);
	fd = open(LOUD, O_RDONLY);
	if (fd < 0 || close(fd))
		fail_errno("open %s", LOUD);
	expect(LOUD, FAN_OPEN);
	pass();
}
