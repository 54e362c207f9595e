/*
 * An inotify instance with an event queued and not read when the dump
 * comes. Not supported: reading the events would take them from the
 * task, and a new instance cannot be given them, so the dump is refused
 * and the tree runs on. Then the event is still there, with its watch
 * descriptor and name.
 *
 * zdtm: refused: unread
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "zdtm.h"

#define DIR_W		"zdtm_inotify_queued.dir"

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e = (struct inotify_event *)buf;
	int in, wd;
	ssize_t n;

	test_init(argc, argv);
	in = inotify_init1(IN_NONBLOCK);
	if (in < 0 || mkdir(DIR_W, 0700))
		fail_errno("inotify_init1 or mkdir");
	wd = inotify_add_watch(in, DIR_W, IN_CREATE);
	if (wd < 0 || close(open(DIR_W "/new", O_CREAT | O_WRONLY, 0600)))
		fail_errno("watch or create");

	test_ready();
	test_wait_checkpoint();

	n = read(in, buf, sizeof(buf));
	if (n < 0)
		fail_errno("the queued event is gone");
	if (e->wd != wd || e->mask != IN_CREATE || !e->len || strcmp(e->name, "new") ||
	    (size_t)n != sizeof(*e) + e->len)
		fail("event wd %d mask %#x (%zd bytes), expected wd %d IN_CREATE 'new' alone", e->wd, e->mask, n, wd);
	pass();
}
