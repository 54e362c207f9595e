/*
 * Socket filters of every socket kind that has them (inet, unix): a
 * classic BPF program attached with SO_ATTACH_FILTER, read back at dump
 * with SO_GET_FILTER, and whether SO_LOCK_FILTER locked it. Restore
 * attaches it again once the socket's queue is refilled (the filter
 * judged those packets already), then locks it. An eBPF program
 * (SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_*) cannot be read back: refused.
 */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "sk-filter.h"

/* BPF_MAXINSNS: what SO_ATTACH_FILTER takes at most. */
#define FILTER_MAX	4096

int sk_filter_dump(const struct fd_dump *d, SkFilter **ret)
{
	socklen_t n = 0, len = sizeof(int);
	int locked = 0;
	SkFilter *f;

	*ret = NULL;
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_GET_FILTER, NULL, &n) < 0) {
		if (errno == EACCES)
			return files_refuse(d, "a socket", "its filter is an eBPF program, which cannot be read back");
		return pr_errno(-errno, "pid %d: fd %d (%s): SO_GET_FILTER", d->pid, d->fd, d->link);
	}
	if (!n)
		return 0;
	if (n > FILTER_MAX)
		return pr_errno(-E2BIG, "pid %d: fd %d (%s): a socket filter of %u instructions", d->pid, d->fd,
				d->link, n);
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_LOCK_FILTER, &locked, &len) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): SO_LOCK_FILTER", d->pid, d->fd, d->link);
	f = xmalloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	sk_filter__init(f);
	f->insns.data = xmalloc(n * sizeof(struct sock_filter));
	if (!f->insns.data) {
		free(f);
		return -ENOMEM;
	}
	/* The tree is frozen: the program cannot grow in between. */
	if (getsockopt(d->cr_fd, SOL_SOCKET, SO_GET_FILTER, f->insns.data, &n) < 0) {
		int err = pr_errno(-errno, "pid %d: fd %d (%s): SO_GET_FILTER", d->pid, d->fd, d->link);

		sk_filter_free(f);
		return err;
	}
	f->insns.len = n * sizeof(struct sock_filter);
	f->locked = locked;
	*ret = f;
	return 0;
}

void sk_filter_free(SkFilter *f)
{
	if (!f)
		return;
	free(f->insns.data);
	free(f);
}

int sk_filter_check(const SkFilter *f)
{
	if (!f)
		return 0;
	if (!f->insns.len || f->insns.len % sizeof(struct sock_filter) ||
	    f->insns.len / sizeof(struct sock_filter) > FILTER_MAX)
		return -EBADMSG;
	return 0;
}

int sk_filter_restore(int fd, const SkFilter *f, const char *what)
{
	struct sock_fprog fp;
	int one = 1;

	if (!f)
		return 0;
	fp.len = f->insns.len / sizeof(struct sock_filter);
	fp.filter = (struct sock_filter *)f->insns.data;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0)
		return pr_errno(-errno, "%s: attaching its socket filter (%u instructions)", what, fp.len);
	if (f->locked && setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0)
		return pr_errno(-errno, "%s: SO_LOCK_FILTER", what);
	return 0;
}
