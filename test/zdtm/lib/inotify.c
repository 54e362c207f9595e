/* Reading an inotify instance's events one by one (zdtm.h). */
#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include "zdtm.h"

struct inotify_event *inotify_next(int in)
{
	static char buf[4096] __attribute__((aligned(8)));
	static ssize_t len, off;
	struct inotify_event *e;

	if (off >= len) {
		len = read(in, buf, sizeof(buf));
		off = 0;
		if (len < 0 && errno == EAGAIN)
			return NULL;
		if (len <= 0)
			fail_errno("read inotify");
	}
	e = (struct inotify_event *)(buf + off);
	off += sizeof(*e) + e->len;
	return e;
}

void inotify_expect(int in, int wd, uint32_t mask, const char *name)
{
	struct inotify_event *e = inotify_next(in);

	if (!e)
		fail("no event, expected wd %d mask %#x %s", wd, mask, name ? name : "");
	if (e->wd != wd || e->mask != mask || (name && (!e->len || strcmp(e->name, name))))
		fail("event wd %d mask %#x name '%s', expected wd %d mask %#x '%s'", e->wd, e->mask,
		     e->len ? e->name : "", wd, mask, name ? name : "");
}
