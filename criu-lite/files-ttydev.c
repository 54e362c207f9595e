/*
 * /dev/tty and /dev/console held by the tree, opened again by their path.
 *
 * /dev/tty (5:0) is an alias of the opener's controlling terminal at
 * open: the holder opens it itself once the tree exists (open_in_task),
 * after its session and controlling terminal are back. A holder without
 * a controlling terminal at dump (its session lost it: the fd is hung
 * up) is refused. Several holders of one description each open their
 * own (they share no position or status flags afterwards).
 *
 * /dev/console (5:1) is a device opened by path, O_NOCTTY: it never
 * becomes the controlling terminal of a restored task.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "files-kind.h"
#include "log.h"
#include "proc-parse.h"

#define TTYAUX_MAJOR		5
#define TTY_ALIAS_MINOR		0	/* /dev/tty */
#define CONSOLE_MINOR		1	/* /dev/console */

static const char *ttydev_path(unsigned minor)
{
	return minor == TTY_ALIAS_MINOR ? "/dev/tty" : minor == CONSOLE_MINOR ? "/dev/console" : NULL;
}

static bool ttydev_match(const struct fd_dump *d)
{
	return S_ISCHR(d->st.st_mode) && !(d->fdi.flags & O_PATH) && major(d->st.st_rdev) == TTYAUX_MAJOR &&
	       ttydev_path(minor(d->st.st_rdev));
}

static int ttydev_dump(struct fd_dump *d, FileEntry *fe)
{
	TtydevEntry *t = xmalloc(sizeof(*t));
	struct proc_stat st;
	int err;

	if (!t)
		return -ENOMEM;
	ttydev_entry__init(t);
	fe->ttydev = t;
	t->minor = minor(d->st.st_rdev);
	if (t->minor != TTY_ALIAS_MINOR)
		return 0;
	err = proc_parse_stat(d->pid, &st);
	if (err)
		return pr_errno(err, "pid %d: reading its controlling terminal", d->pid);
	if (!st.tty_nr)
		err = files_refuse(d, "/dev/tty", "the task has no controlling terminal any more (the fd is hung up)");
	return err;
}

static void ttydev_free_entry(FileEntry *fe)
{
	free(fe->ttydev);
	fe->ttydev = NULL;
}

static int ttydev_check(struct files_rst *rf, const FileEntry *fe)
{
	(void)rf;
	if (!fe->ttydev || !ttydev_path(fe->ttydev->minor))
		return pr_errno(-EBADMSG, "files.img: file id %u: not a valid /dev/tty or /dev/console entry", fe->id);
	return 0;
}

static int ttydev_open(struct files_rst *rf, const FileEntry *fe)
{
	const char *p = ttydev_path(fe->ttydev->minor);
	int flags = (fe->flags & (O_ACCMODE | O_APPEND | O_NONBLOCK)) | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	int fd;

	(void)rf;
	fd = open(p, flags);
	if (fd < 0)
		return pr_errno(-errno, "file id %u: opening %s%s", fe->id, p,
				fe->ttydev->minor == TTY_ALIAS_MINOR && errno == ENXIO ?
				" (the task has no controlling terminal)" : "");
	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(TTYAUX_MAJOR, fe->ttydev->minor)) {
		close(fd);
		return pr_errno(-ENODEV, "file id %u: %s is not device %u:%u here", fe->id, p, TTYAUX_MAJOR,
				fe->ttydev->minor);
	}
	return fd;
}

static bool ttydev_open_in_task(const FileEntry *fe)
{
	return fe->ttydev && fe->ttydev->minor == TTY_ALIAS_MINOR;
}

const struct fd_kind fd_kind_ttydev = {
	.kind = FILE_KIND__FILE_TTYDEV, .name = "terminal device",
	.match = ttydev_match, .dump = ttydev_dump, .free_entry = ttydev_free_entry,
	.check = ttydev_check, .open = ttydev_open, .open_in_task = ttydev_open_in_task,
};
