/*
 * Restore in each task. files_prepare() reads the task's fdinfo-PID.img
 * into a plan (which entry at which number, close-on-exec, its POSIX
 * locks) before the fork; in the new task files_restore() puts the
 * task's files at their numbers and closes every other number below
 * cr's own fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "files-priv.h"
#include "image.h"

unsigned files_plan_finish_fds(const struct files_plan *plan, int *fds, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; plan && i < plan->nr; i++)
		if (plan->fds[i].finish) {
			if (n < max)
				fds[n] = plan->fds[i].fd;
			n++;
		}
	return n;
}

void files_plan_free(struct files_plan *plan)
{
	if (!plan)
		return;
	free(plan->fds);
	free(plan->locks);
	free(plan);
}

static void files_plan_freep(struct files_plan **p)
{
	files_plan_free(*p);
}

static int cmp_plan_fd(const void *a, const void *b)
{
	const struct files_plan_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

int files_prepare(struct files_rst *rf, pid_t pid, struct files_plan **ret)
{
	_cleanup_(files_plan_freep) struct files_plan *plan = xzalloc(sizeof(*plan));
	_cleanup_img_ struct img *img = NULL;
	size_t cap = 0;
	int err;

	if (!plan)
		return -ENOMEM;
	plan->pid = pid;
	err = img_open(rf->dfd, IMG_FDINFO, pid, O_RDONLY, &img);
	if (err)
		return err;
	for (;;) {
		FdinfoEntry *fdi;
		void *msg;
		long idx;

		err = pb_read_one(img, &msg, PB_FDINFO);
		if (err <= 0)
			break;
		err = 0;
		fdi = msg;
		idx = files_rst_index(rf, fdi->id);
		if (idx < 0)
			err = pr_errno(-EBADMSG, "pid %d: fd %u refers to file id %u, which files.img lacks",
				       pid, fdi->fd, fdi->id);
		else if (fdi->fd > INT_MAX)
			err = pr_errno(-EBADMSG, "pid %d: fd %u in the image is out of range", pid, fdi->fd);
		if (!err && plan->nr == cap) {
			struct files_plan_fd *n;

			cap = cap ? cap * 2 : 64;
			n = xrealloc(plan->fds, cap * sizeof(*n));
			if (!n)
				err = -ENOMEM;
			else
				plan->fds = n;
		}
		if (!err)
			plan->fds[plan->nr++] = (struct files_plan_fd){ fdi->fd, idx, fdi->cloexec, false };
		if (!err && fdi->n_posix_locks)
			err = files_plan_add_locks(plan, fdi);
		pb_free(msg, PB_FDINFO);
		if (err)
			return err;
	}
	if (err < 0)
		return err;

	qsort(plan->fds, plan->nr, sizeof(*plan->fds), cmp_plan_fd);
	for (unsigned i = 0; i < plan->nr; i++) {
		struct rst_file *f = &rf->f[plan->fds[i].idx];

		if (i && plan->fds[i].fd == plan->fds[i - 1].fd)
			return pr_errno(-EBADMSG, "pid %d: fd %d appears twice in %s", pid,
					plan->fds[i].fd, img->name);
		if (f->want_fd < 0) {
			f->want_fd = plan->fds[i].fd;
			f->owner = pid;
		}
		if (f->last_table != pid || !f->nr_tables) {
			f->nr_tables++;
			f->last_table = pid;
		}
		plan->fds[i].finish = f->kind->finish != NULL;
	}
	pr_info("pid %d: %u file descriptors to restore", pid, plan->nr);
	*ret = TAKE_PTR(plan);
	return 0;
}

int files_max_fd(const struct files_plan *plan)
{
	if (!plan || !plan->nr)
		return -1;
	return plan->fds[plan->nr - 1].fd;
}

/* Closes every number below @keep_from the plan does not name. */
static int close_unplanned(const struct files_plan *plan, int keep_from)
{
	unsigned next = 0;

	for (unsigned i = 0; i <= plan->nr; i++) {
		unsigned end = i < plan->nr ? (unsigned)plan->fds[i].fd : (unsigned)keep_from;

		if (end > next && close_range(next, end - 1, 0) < 0)
			return pr_errno(-errno, "pid %d: can't close fds %u..%u", plan->pid, next, end - 1);
		next = end + 1;
	}
	return 0;
}

/*
 * In the new task: every file of the tree is open at cr's numbers (see
 * place_file()); put this task's at their numbers. A number that holds
 * another file this task still needs is moved out of the way first.
 * Works on the task's own copy of @rf (copy-on-write after fork).
 */
int files_restore(const struct files_plan *plan, struct files_rst *rf)
{
	int keep_from = rf->keep_from, err;

	if (files_max_fd(plan) >= keep_from)
		return pr_errno(-EINVAL, "pid %d: fd %d collides with cr's own fds (from %d up)",
				plan->pid, files_max_fd(plan), keep_from);

	for (unsigned i = 0; i < plan->nr; i++) {
		const struct files_plan_fd *pf = &plan->fds[i];
		struct rst_file *f = &rf->f[pf->idx];
		int t = pf->fd, occ = rf->at[t] - 1, made = -1;

		if (f->fd < 0 && f->by_owner) {
			/* Made here (any free number), then placed like the others. */
			err = files_rst_open_by_owner(rf, f);
			if (err)
				return err;
			made = f->fd;
		} else if (f->fd < 0 && files_rst_in_task(f)) {
			/* Opened here, now that every task exists; placed like the others. */
			int fd = f->kind->open(rf, f->fe);

			if (fd < 0)
				return fd;
			f->fd = fcntl(fd, F_DUPFD_CLOEXEC, keep_from);
			close(fd);
			if (f->fd < 0)
				return pr_errno(-errno, "pid %d: fd %d: moving file id %u", plan->pid, t, f->fe->id);
			err = files_rst_set_flags(f);
			if (err)
				return err;
		}

		if (occ >= 0 && occ != (int)pf->idx && rf->f[occ].fd == t) {
			int n = fcntl(t, F_DUPFD_CLOEXEC, keep_from);

			if (n < 0)
				return pr_errno(-errno, "pid %d: moving a file out of fd %d", plan->pid, t);
			rf->f[occ].fd = n;
		}
		if (f->fd == t)
			err = fcntl(t, F_SETFD, pf->cloexec ? FD_CLOEXEC : 0);
		else
			err = dup3(f->fd, t, pf->cloexec ? O_CLOEXEC : 0);
		if (err < 0) {
			err = pr_errno(-errno, "pid %d: fd %d: placing file id %u (%s) there",
				       plan->pid, t, f->fe->id, f->kind->name);
			if (made >= 0 && made != t)
				close(made);
			return err;
		}
		/* Its only copy is at its number now (no fd of cr's above keep_from for it). */
		if (made >= 0 && made != t)
			close(made);
		f->fd = t;
		rf->at[t] = pf->idx + 1;
	}
	err = close_unplanned(plan, keep_from);
	for (unsigned i = 0; i < plan->nr && !err; i++) {
		const struct rst_file *f = &rf->f[plan->fds[i].idx];

		if (f->kind->task_setup && f->inherit_fd < 0)
			err = f->kind->task_setup(f->fe, plan->fds[i].fd);
		/* The first user's number: what its SIGIO's si_fd was most likely. */
		if (!err && (f->fe->flags & O_ASYNC) && f->inherit_fd < 0 && plan->fds[i].fd == f->want_fd)
			err = files_fown_async_at(f, plan->fds[i].fd);
		if (!err && f->fe->n_locks && f->inherit_fd < 0 && plan->fds[i].fd == f->want_fd)
			err = files_lease_at(f, plan->fds[i].fd);
	}
	return err;
}
