/*
 * The owner of an open file description (F_SETOWN_EX: who gets SIGIO or
 * its F_SETSIG signal) and that signal. Dumped with the description;
 * restored once every task of the tree exists, since the owner is one.
 */
#include <errno.h>
#include <fcntl.h>

#include "log.h"
#include "files-priv.h"
#include "pstree.h"

/* The owner (F_SETOWN_EX) and signal (F_SETSIG) of the description. */
int files_fown_dump(const struct fd_dump *d, FileEntry *fe, FownEntry *fown)
{
	struct f_owner_ex ex;
	int sig;

	if (fcntl(d->cr_fd, F_GETOWN_EX, &ex) < 0)
		return pr_errno(-errno, "pid %d: fd %d: F_GETOWN_EX", d->pid, d->fd);
	sig = fcntl(d->cr_fd, F_GETSIG);
	if (sig < 0)
		return pr_errno(-errno, "pid %d: fd %d: F_GETSIG", d->pid, d->fd);
	if (!ex.pid && !sig)
		return 0;
	fown_entry__init(fown);
	fown->type = ex.type;
	fown->pid = ex.pid;
	fown->signum = sig;
	fe->fown = fown;
	return 0;
}

int files_fown_async_at(const struct rst_file *f, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	/* F_SETFL calls the file's fasync() only when O_ASYNC changes. */
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_ASYNC) < 0 || fcntl(fd, F_SETFL, fl | O_ASYNC) < 0)
		return pr_errno(-errno, "fd %d: file id %u (%s): setting O_ASYNC at this number",
				fd, f->fe->id, f->kind->name);
	return 0;
}

int files_restore_owners(struct files_rst *rf, const struct pstree *tree)
{
	for (size_t i = 0; i < rf->nr; i++) {
		const FownEntry *o = rf->f[i].fe->fown;
		struct f_owner_ex ex;

		if (!o || rf->f[i].fd < 0 || rf->f[i].inherit_fd >= 0)
			continue;
		if (o->signum && fcntl(rf->f[i].fd, F_SETSIG, o->signum) < 0)
			return pr_errno(-errno, "file id %u: F_SETSIG %u", rf->f[i].fe->id, o->signum);
		if (!o->pid)
			continue;
		ex.type = o->type;
		ex.pid = pstree_new_pid(tree, o->pid);
		if (fcntl(rf->f[i].fd, F_SETOWN_EX, &ex) < 0) {
			if (errno != ESRCH)
				return pr_errno(-errno, "file id %u: F_SETOWN_EX %d", rf->f[i].fe->id, o->pid);
			pr_warn("file id %u: its owner %d is not in the restored tree; it has none now",
				rf->f[i].fe->id, o->pid);
		}
	}
	return 0;
}
