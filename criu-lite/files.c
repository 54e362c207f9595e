/*
 * The fd framework: which open file descriptions the tree has, which fds
 * name them, and how each task gets them back at the same numbers.
 *
 * Dump: every fd of every task is looked up by (device, inode) and then
 * ordered with kcmp(KCMP_FILE), so one open file description seen from
 * several fds or tasks gets one id in files.img; the kind's dump() runs
 * once per id, on a copy of the description in cr (pidfd_getfd).
 *
 * Restore: cr creates every description once, before the first fork,
 * preferably at the fd number of its first user. Each task inherits all
 * of them and moves its own to their numbers (files_restore()).
 *
 * This file holds the kinds table, the dump's walk over each task's fds
 * and the kinds' hooks that run over every entry; files-priv.h lists the
 * other parts of the framework.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "compiler.h"
#include "cr.h"
#include "log.h"
#include "files-priv.h"
#include "image.h"
#include "namespaces.h"
#include "proc-parse.h"
#include "pstree.h"
#include "task-fd.h"

/* The kernel's O_LARGEFILE (asm-generic/fcntl.h); glibc's is 0 on 64-bit. */
#define KERNEL_O_LARGEFILE	0100000

/*
 * The tty kinds come before chr (whose short list of devices excludes ttys
 * anyway); mqueue before reg (a queue is a regular file with a path).
 */
static const struct fd_kind *const kinds[] = {
	&fd_kind_mqueue, &fd_kind_reg, &fd_kind_dir, &fd_kind_tty, &fd_kind_ptmx, &fd_kind_ttydev, &fd_kind_chr,
	/* inet first: its match is one getxattr, unix's may re-read unix_diag. */
	&fd_kind_inet_sk, &fd_kind_netlink, &fd_kind_packet, &fd_kind_unix,
	&fd_kind_pipe, &fd_kind_fifo,
	&fd_kind_eventfd, &fd_kind_signalfd, &fd_kind_timerfd, &fd_kind_epoll,
	&fd_kind_inotify, &fd_kind_fanotify, &fd_kind_pidfd, &fd_kind_nsfile,
};

const struct fd_kind *files_kind_of(FileKind k)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->kind == k)
			return kinds[i];
	return NULL;
}

/* ==== dump ============================================================== */

/* A description whose kind dumps once the whole tree is seen. */
struct fd_deferred {
	struct fd_dump d;
	const struct fd_kind *kind;
	FileEntry fe;
	FownEntry fown;
	struct lock_list locks;
};

const struct pstree *files_dump_tree(const struct files_dump *df)
{
	return df->tree;
}

bool files_dump_pid_in_tree(const struct files_dump *df, pid_t pid)
{
	return df->tree && pstree_find(df->tree, pid);
}

pid_t files_dump_ns_id(const struct files_dump *df, pid_t id)
{
	return df->tree ? pstree_ns_id(df->tree, id) : id;
}

int files_fdinfo_u64(const struct fd_dump *d, const char *key, int base, uint64_t *ret)
{
	size_t klen = strlen(key);

	for (const char *l = d->fdinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *end;

		if (strncmp(l, key, klen))
			continue;
		errno = 0;
		*ret = strtoull(l + klen, &end, base);
		if (errno || end == l + klen || (*end && *end != '\n'))
			break;
		return 0;
	}
	return pr_errno(-EBADMSG, "pid %d: fd %d (%s): no valid '%s' line in its fdinfo",
			d->pid, d->fd, d->link, key);
}

bool files_dump_proc_pid_in_tree(const struct files_dump *df, pid_t viewer, pid_t pid)
{
	return df->tree && ns_proc_pid_in_tree(df->tree, viewer, pid);
}

void files_dump_set_guard(struct files_dump *df, struct guard *g)
{
	df->guard = g;
}

struct guard *files_dump_guard(const struct files_dump *df)
{
	return df->guard;
}

const struct cr_options files_no_options;

const struct cr_options *files_dump_opts(const struct files_dump *df)
{
	return df->opts;
}

int files_dump_begin(int dfd, const struct pstree *tree, const struct cr_options *o, struct files_dump **ret)
{
	struct files_dump *df = xzalloc(sizeof(*df));
	int err;

	if (!df)
		return -ENOMEM;
	df->opts = o ? o : &files_no_options;
	df->tree = tree;
	err = files_ident_new(&df->ident);
	if (!err)
		err = img_open(dfd, IMG_FILES, 0, O_WRONLY, &df->files);
	if (!err)
		err = img_open(dfd, IMG_FDATA, 0, O_WRONLY, &df->fdata);
	if (err) {
		files_dump_free(df);
		return err;
	}
	*ret = df;
	return 0;
}

void files_fd_release(struct fd_dump *d)
{
	if (d->cr_fd >= 0)
		close(d->cr_fd);
	d->cr_fd = -1;
	free(d->link);
	free(d->fdinfo);
	d->link = d->fdinfo = NULL;
}

void files_dump_free(struct files_dump *df)
{
	if (!df)
		return;
	img_close(df->files);
	img_close(df->fdata);
	fdata_macs_free(df);
	files_ident_free(df->ident);
	for (size_t i = 0; i < df->nr_held; i++)
		close(df->held[i]);
	free(df->held);
	free(df->fdata_buf);
	for (size_t i = 0; i < df->nr_deferred; i++) {
		files_fd_release(&df->deferred[i]->d);
		files_lock_list_free(&df->deferred[i]->locks);
		free(df->deferred[i]);
	}
	free(df->deferred);
	free(df);
}

/* Reads the fd numbers of /proc/PID/fd, sorted; returns the count or -errno. */
static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int list_fds(pid_t pid, int **ret_fds)
{
	_cleanup_closedir_ DIR *d = NULL;
	_cleanup_free_ int *fds = NULL;
	char dpath[64];
	size_t nr = 0, cap = 0;
	struct dirent *de;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", pid);
	d = opendir(dpath);
	if (!d)
		return pr_errno(-errno, "pid %d: can't open %s", pid, dpath);
	for (;;) {
		char *end;
		long fd;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				return pr_errno(-errno, "pid %d: can't read %s", pid, dpath);
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		fd = strtol(de->d_name, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX) {
			pr_err("pid %d: unexpected entry %s in %s", pid, de->d_name, dpath);
			return -EINVAL;
		}
		if (nr == cap) {
			int *n;

			cap = cap ? cap * 2 : 64;
			n = xrealloc(fds, cap * sizeof(*fds));
			if (!n)
				return -ENOMEM;
			fds = n;
		}
		fds[nr++] = fd;
	}
	qsort(fds, nr, sizeof(*fds), cmp_int);
	*ret_fds = TAKE_PTR(fds);
	return nr;
}

int files_probe_fd(pid_t pid, int fd, struct fd_dump *d)
{
	char lpath[64], buf[PATH_MAX + 1];
	ssize_t n;
	int err;

	d->pid = pid;
	d->fd = fd;
	d->cr_fd = -1;
	snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%d", pid, fd);
	n = readlink(lpath, buf, sizeof(buf));
	if (n < 0)
		return pr_errno(-errno, "pid %d: fd %d: readlink %s", pid, fd, lpath);
	if ((size_t)n >= sizeof(buf))
		return pr_errno(-ENAMETOOLONG, "pid %d: fd %d: link target is longer than PATH_MAX", pid, fd);
	buf[n] = '\0';
	d->link = xstrdup(buf);
	if (!d->link)
		return -ENOMEM;
	/* stat() follows the magic link to the open file itself. */
	if (stat(lpath, &d->st) < 0)
		return pr_errno(-errno, "pid %d: fd %d (%s): stat %s", pid, fd, d->link, lpath);
	snprintf(lpath, sizeof(lpath), "/proc/%d/fdinfo/%d", pid, fd);
	err = read_file_at(AT_FDCWD, lpath, &d->fdinfo, NULL);
	if (!err)
		err = parse_fdinfo_buf(d->fdinfo, &d->fdi);
	if (err)
		return pr_errno(err, "pid %d: fd %d: %s", pid, fd, lpath);
	return 0;
}

static const struct fd_kind *classify(const struct fd_dump *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->match && kinds[i]->match(d))
			return kinds[i];
	return NULL;
}

static int write_entry(struct files_dump *df, const struct fd_kind *k, struct fd_dump *d,
		       FileEntry *fe)
{
	int err = k->dump(d, fe);

	if (!err)
		err = pb_write_one(df->files, fe, PB_FILE);
	if (k->free_entry)
		k->free_entry(fe);
	if (!err)
		pr_debug("pid %d: fd %d -> file id %u: %s %s flags 0%o", d->pid, d->fd, fe->id,
			 k->name, d->link, fe->flags);
	return err;
}

/* @d's copy in cr (d->cr_fd), from its task @pidfd. */
static int take_copy(struct fd_dump *d, int pidfd)
{
	if (d->fdi.flags & O_PATH) {
		/* pidfd_getfd() refuses O_PATH files; a new O_PATH open is as good. */
		char p[64];

		snprintf(p, sizeof(p), "/proc/%d/fd/%d", d->pid, d->fd);
		d->cr_fd = open(p, O_PATH | O_CLOEXEC);
		if (d->cr_fd < 0)
			d->cr_fd = -errno;
	} else {
		/* The tree is frozen: the number is still the file probed. */
		d->cr_fd = task_fd_copy_pidfd(pidfd, d->fd, 0);
	}
	if (d->cr_fd < 0) {
		int err = d->cr_fd;

		d->cr_fd = -1;
		return pr_errno(err, "pid %d: fd %d (%s): getting a copy of it", d->pid, d->fd, d->link);
	}
	return 0;
}

/* A deferred description's copy again (its task's fd stays put while the tree is frozen). */
static int take_copy_again(struct fd_dump *d, struct task_fds *tasks)
{
	int err = 0;

	if (tasks->pid != d->pid || tasks->pidfd < 0) {
		int pidfd = syscall(SYS_pidfd_open, d->pid, 0);

		if (pidfd < 0)
			return pr_errno(-errno, "pid %d: pidfd_open", d->pid);
		task_fds_close(tasks);
		*tasks = (struct task_fds){ .pid = d->pid, .pidfd = pidfd };
	}
	if (d->cr_fd < 0)
		err = take_copy(d, tasks->pidfd);
	return err;
}

int files_dump_new(struct files_dump *df, int pidfd, struct fd_dump *d, uint32_t id)
{
	_cleanup_free_ struct fd_deferred *def = NULL;
	const struct fd_kind *k;
	int err;

	/* First: the kinds' match() may look at the copy (a socket's protocol). */
	err = take_copy(d, pidfd);
	if (err)
		return err;
	k = classify(d);
	if (!k)
		return files_refuse_unknown(d);

	def = xzalloc(sizeof(*def));
	if (!def)
		return -ENOMEM;
	file_entry__init(&def->fe);
	def->fe.id = id;
	def->fe.kind = k->kind;
	/* O_CLOEXEC belongs to the fd; O_LARGEFILE is forced on 64-bit. */
	def->fe.flags = d->fdi.flags & ~(O_CLOEXEC | KERNEL_O_LARGEFILE);
	/* An O_PATH file has no owner (fcntl refuses F_GETOWN_EX on it). */
	err = d->fdi.flags & O_PATH ? 0 : files_fown_dump(d, &def->fe, &def->fown);
	if (err)
		return err;
	if (!err)
		err = files_locks_dump(d, &def->locks);
	def->fe.locks = def->locks.v;
	def->fe.n_locks = def->locks.nr;
	if (!k->deferred || err) {
		if (!err)
			err = write_entry(df, k, d, &def->fe);
		files_lock_list_free(&def->locks);
		return err;
	}

	if (df->nr_deferred == df->cap_deferred) {
		size_t cap = df->cap_deferred ? df->cap_deferred * 2 : 16;
		struct fd_deferred **n = xrealloc(df->deferred, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		df->deferred = n;
		df->cap_deferred = cap;
	}
	def->kind = k;
	def->d = *d;
	if (def->fe.fown)
		def->fe.fown = &def->fown;
	/*
	 * The copy owns link now; fdinfo is copied, the caller still reads
	 * the task's POSIX locks from it. cr_fd is closed: taken again when
	 * the entry is dumped, so cr never holds every socket of a tree at
	 * once (10,000 connections are 20,000 of them).
	 */
	def->d.fdinfo = xstrdup(d->fdinfo);
	if (!def->d.fdinfo)
		return -ENOMEM;
	d->link = NULL;
	close(d->cr_fd);
	d->cr_fd = def->d.cr_fd = -1;
	df->deferred[df->nr_deferred++] = TAKE_PTR(def);
	return 0;
}

/* Looks @d up among the tree's open files; returns its id, new or known. */
static int dump_one_fd(struct files_dump *df, int pidfd, struct fd_dump *d, uint32_t *ret_id)
{
	int err = files_ident_get(df->ident, d, ret_id);

	return err == 1 ? files_dump_new(df, pidfd, d, *ret_id) : err;
}

int files_dump(struct files_dump *df, pid_t pid, struct img *fdinfo_img)
{
	struct locked_files seen = { 0 };
	_cleanup_free_ int *fds = NULL;
	_cleanup_close_ int pidfd = -EBADF;
	int nr, err = 0;

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		err = kinds[k]->dump_task ? kinds[k]->dump_task(df, pid) : 0;
		if (err)
			return err;
	}
	nr = list_fds(pid, &fds);
	if (nr < 0)
		return nr;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return pr_errno(-errno, "pid %d: pidfd_open", pid);

	for (int i = 0; i < nr && !err; i++) {
		struct fd_dump d = { .df = df, .cr_fd = -1 };
		FdinfoEntry fdi = FDINFO_ENTRY__INIT;
		struct lock_list pl = { 0 };

		err = files_probe_fd(pid, fds[i], &d);
		if (!err)
			err = dump_one_fd(df, pidfd, &d, &fdi.id);
		/* A deferred description took d.fdinfo along (no locks on those kinds). */
		if (!err && d.fdinfo && strstr(d.fdinfo, "lock:"))
			err = files_posix_locks_dump(&d, fdi.id, &seen, &pl);
		if (!err) {
			fdi.fd = fds[i];
			fdi.cloexec = !!(d.fdi.flags & O_CLOEXEC);
			fdi.posix_locks = pl.v;
			fdi.n_posix_locks = pl.nr;
			err = pb_write_one(fdinfo_img, &fdi, PB_FDINFO);
		}
		files_lock_list_free(&pl);
		files_fd_release(&d);
	}
	free(seen.v);
	if (!err)
		pr_info("pid %d: dumped %d file descriptors", pid, nr);
	return err;
}

/* Closes cr's copy of @d's file. */
static void drop_copy(struct fd_dump *d)
{
	if (d->cr_fd >= 0)
		close(d->cr_fd);
	d->cr_fd = -1;
}

int files_dump_finish(struct files_dump *df)
{
	struct task_fds tasks = TASK_FDS_INIT;
	int err = 0;

	/* First every file in flight (the list grows with those that carry files too). */
	for (size_t i = 0; i < df->nr_deferred && !err; i++) {
		struct fd_deferred *def = df->deferred[i];

		if (!def->kind->dump_flight)
			continue;
		err = take_copy_again(&def->d, &tasks);
		if (!err)
			err = def->kind->dump_flight(&def->d);
		drop_copy(&def->d);
	}
	for (size_t i = 0; i < df->nr_deferred && !err; i++) {
		struct fd_deferred *def = df->deferred[i];

		err = take_copy_again(&def->d, &tasks);
		if (!err)
			err = write_entry(df, def->kind, &def->d, &def->fe);
		drop_copy(&def->d);
	}
	task_fds_close(&tasks);
	for (size_t k = 0; k < ARRAY_SIZE(kinds) && !err; k++)
		if (kinds[k]->dump_finish)
			err = kinds[k]->dump_finish(df);
	if (!err)
		err = img_close(TAKE_PTR(df->files));
	if (!err)
		err = fdata_dump_flush(df);
	if (!err)
		err = img_close(TAKE_PTR(df->fdata));
	return err;
}

void files_dump_end(bool tree_killed)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i]->dump_end)
			kinds[i]->dump_end(tree_killed);
}

/* ==== restore: the kinds' hooks over every entry ======================== */

unsigned files_restore_finish_fds(const struct files_rst *rf, int *fds, unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < rf->nr && n < max; i++)
		if (rf->f[i].fd >= 0 && rf->f[i].kind->finish) {
			if (fds)
				fds[n] = rf->f[i].fd;
			n++;
		}
	/* Those the tasks made are copied from them, through these. */
	for (size_t i = 0; i < rf->nr_owners && n < max; i++) {
		if (fds)
			fds[n] = rf->owners[i].pidfd;
		n++;
	}
	return n;
}

int files_restore_finish(struct files_rst *rf)
{
	for (size_t i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];
		int err, fd = f->fd;

		if (!f->kind->finish || (fd < 0 && !f->by_owner))
			continue;
		/* Made by its task: one copy at a time, so cr never holds them all. */
		if (fd < 0 && (fd = files_rst_owner_copy(rf, f)) < 0)
			return fd;
		err = f->kind->finish(rf, f->fe, fd);
		if (fd != f->fd)
			close(fd);
		if (err)
			return err;
	}
	return 0;
}

static int session_hook(struct files_rst *rf, bool joined)
{
	for (size_t i = 0; i < rf->nr; i++) {
		const struct rst_file *f = &rf->f[i];
		int (*hook)(const FileEntry *, int) = joined ? f->kind->session_joined : f->kind->session_new;
		int err;

		if (!hook || f->fd < 0 || f->inherit_fd >= 0)
			continue;
		err = hook(f->fe, f->fd);
		if (err)
			return err;
	}
	return 0;
}

int files_session_new(struct files_rst *rf)
{
	return session_hook(rf, false);
}

int files_session_joined(struct files_rst *rf)
{
	return session_hook(rf, true);
}
