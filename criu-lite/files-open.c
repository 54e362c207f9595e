/*
 * Restore in cr: files.img read and checked before anything is created,
 * then every open file description created once, before the first fork,
 * preferably at the fd number of its first user (see files-place.c), so
 * each task inherits them all and whatever was shared is shared again.
 * A kind may create an entry it needs first (a socket's peer) through
 * files_rst_get(), or several at once through files_rst_set().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "files-priv.h"
#include "image.h"
#include "pstree.h"
#include "task-fd.h"

/* Status flags F_SETFL can change (fs/fcntl.c SETFL_MASK). */
#define SETFL_MASK	(O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME | O_ASYNC)

long files_rst_index(const struct files_rst *rf, uint32_t id)
{
	size_t lo = 0, hi = rf->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (rf->f[mid].fe->id == id)
			return mid;
		if (rf->f[mid].fe->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const FileEntry *files_rst_entry(const struct files_rst *rf, uint32_t id)
{
	long i = files_rst_index(rf, id);

	return i < 0 ? NULL : rf->f[i].fe;
}

static int cmp_rst_file(const void *a, const void *b)
{
	uint32_t x = ((const struct rst_file *)a)->fe->id, y = ((const struct rst_file *)b)->fe->id;

	return (x > y) - (x < y);
}

void files_rst_free(struct files_rst *rf, bool failed)
{
	if (!rf)
		return;
	for (size_t i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];

		if (failed && f->fd >= 0 && f->kind && f->kind->abort && f->inherit_fd < 0)
			f->kind->abort(rf, f->fe);
		if (f->fd >= 0)
			close(f->fd);
		pb_free(f->fe, PB_FILE);
	}
	free(rf->f);
	free(rf->at);
	for (size_t i = 0; i < rf->nr_owners; i++)
		if (rf->owners[i].pidfd >= 0)
			close(rf->owners[i].pidfd);
	free(rf->owners);
	if (rf->fdata_fd >= 0)
		close(rf->fdata_fd);
	free(rf);
}

static int rst_read_table(struct files_rst *rf)
{
	_cleanup_img_ struct img *img = NULL;
	size_t cap = 0;
	int err;

	err = img_open(rf->dfd, IMG_FILES, 0, O_RDONLY, &img);
	if (err)
		return err;
	for (;;) {
		FileEntry *fe;
		void *msg;

		err = pb_read_one(img, &msg, PB_FILE);
		if (err <= 0)
			break;
		fe = msg;
		if (rf->nr == cap) {
			struct rst_file *n;

			cap = cap ? cap * 2 : 64;
			n = xrealloc(rf->f, cap * sizeof(*n));
			if (!n) {
				pb_free(msg, PB_FILE);
				return -ENOMEM;
			}
			rf->f = n;
		}
		rf->f[rf->nr++] = (struct rst_file){ .fe = fe, .fd = -1, .want_fd = -1, .inherit_fd = -1 };
		rf->f[rf->nr - 1].kind = files_kind_of(fe->kind);
		if (!rf->f[rf->nr - 1].kind)
			return pr_errno(-EBADMSG, "files.img: file id %u is of kind %d, which this cr does not know",
					fe->id, fe->kind);
	}
	if (err < 0)
		return err;
	qsort(rf->f, rf->nr, sizeof(*rf->f), cmp_rst_file);
	for (size_t i = 1; i < rf->nr; i++)
		if (rf->f[i].fe->id == rf->f[i - 1].fe->id)
			return pr_errno(-EBADMSG, "files.img: file id %u appears twice", rf->f[i].fe->id);
	return 0;
}

const struct shmem_table *files_rst_shmem(const struct files_rst *rf)
{
	return rf->shm;
}

const struct cr_options *files_rst_opts(const struct files_rst *rf)
{
	return rf->opts;
}

int files_rst_load(int dfd, const struct shmem_table *shm, const struct cr_options *o, struct files_rst **ret)
{
	struct files_rst *rf = xzalloc(sizeof(*rf));
	int err;

	if (!rf)
		return -ENOMEM;
	rf->opts = o ? o : &files_no_options;
	rf->dfd = dfd;
	rf->shm = shm;
	rf->fdata_fd = -1;
	err = rst_read_table(rf);
	if (!err)
		err = fdata_rst_open(rf);
	if (!err)
		err = files_inherit_match(rf);
	if (err) {
		files_rst_free(rf, false);
		return err;
	}
	*ret = rf;
	return 0;
}

int files_rst_check(struct files_rst *rf)
{
	int err = 0;

	for (size_t i = 0; i < rf->nr && !err; i++)
		if (rf->f[i].kind->check && rf->f[i].inherit_fd < 0)
			err = rf->f[i].kind->check(rf, rf->f[i].fe);
	return err;
}

int files_rst_read(int dfd, const struct shmem_table *shm, const struct cr_options *o, struct files_rst **ret)
{
	struct files_rst *rf = NULL;
	int err = files_rst_load(dfd, shm, o, &rf);

	if (err)
		return err;
	err = files_rst_check(rf);
	if (err) {
		files_rst_free(rf, false);
		return err;
	}
	*ret = rf;
	return 0;
}

/*
 * Moves a new description @fd of file @idx to the number of its first
 * user if cr has that number free, else above keep_from.
 */
static int place_file(struct files_rst *rf, size_t idx, int fd)
{
	struct rst_file *f = &rf->f[idx];
	int want = f->want_fd, nfd;

	if (want >= 0 && want < rf->keep_from && !rf->at[want] &&
	    fcntl(want, F_GETFD) < 0 && errno == EBADF) {
		nfd = fd == want ? fd : dup3(fd, want, O_CLOEXEC);
		if (nfd >= 0)
			rf->at[want] = idx + 1;
	} else {
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, rf->keep_from);
	}
	if (nfd < 0) {
		int err = -errno;

		close(fd);
		if (err == -EMFILE)
			return pr_errno(err, "file id %u: cr ran out of fd numbers (RLIMIT_NOFILE %d is too low for this tree)",
					f->fe->id, (int)sysconf(_SC_OPEN_MAX));
		return pr_errno(err, "file id %u: moving it to its fd number", f->fe->id);
	}
	if (nfd != fd)
		close(fd);
	f->fd = nfd;
	return 0;
}

int files_rst_set(struct files_rst *rf, uint32_t id, int fd)
{
	long idx = files_rst_index(rf, id);

	if (idx < 0) {
		close(fd);
		return pr_errno(-EBADMSG, "files.img: no file id %u", id);
	}
	if (rf->f[idx].fd >= 0) {
		close(fd);
		return pr_errno(-EBADMSG, "files.img: file id %u is created twice", id);
	}
	return place_file(rf, idx, fd);
}

/* The generic part: status flags F_SETFL can set. */
int files_rst_set_flags(const struct rst_file *f)
{
	int cur, want = f->fe->flags & SETFL_MASK;

	if (f->fe->flags & O_PATH)
		return 0;
	cur = fcntl(f->fd, F_GETFL);
	if (cur < 0)
		return pr_errno(-errno, "file id %u: F_GETFL", f->fe->id);
	if ((cur & SETFL_MASK) == want)
		return 0;
	if (fcntl(f->fd, F_SETFL, (cur & ~SETFL_MASK) | want) < 0)
		return pr_errno(-errno, "file id %u (%s): setting status flags 0%o",
				f->fe->id, f->kind->name, want);
	return 0;
}

bool files_rst_in_task(const struct rst_file *f)
{
	/* An inherited file is cr's fd: made before the fork like the rest. */
	return f->inherit_fd < 0 && f->kind->open_in_task && f->kind->open_in_task(f->fe);
}

static int rst_open_idx(struct files_rst *rf, size_t idx)
{
	struct rst_file *f = &rf->f[idx];
	int fd, err;

	if (f->fd >= 0)
		return f->fd;
	if (f->opening)
		return pr_errno(-ELOOP, "file id %u (%s) depends on itself", f->fe->id, f->kind->name);
	f->opening = true;
	/* Another entry needs it in cr: not its task's to make after all. */
	f->by_owner = false;
	fd = f->inherit_fd >= 0 ? files_inherit_dup(f) : f->kind->open(rf, f->fe);
	f->opening = false;
	if (fd < 0)
		return fd;
	if (f->fd >= 0) {		/* the kind set it through files_rst_set() */
		/* ... while opening another entry it needs: it returns that fd. */
		if (fd == f->fd)
			return fd;
		close(fd);
		return pr_errno(-EBADMSG, "file id %u (%s) was created twice", f->fe->id, f->kind->name);
	}
	err = place_file(rf, idx, fd);
	return err ? err : f->fd;
}

int files_rst_get(struct files_rst *rf, uint32_t id)
{
	long idx = files_rst_index(rf, id);

	if (idx < 0)
		return pr_errno(-EBADMSG, "files.img: no file id %u", id);
	return rst_open_idx(rf, idx);
}

/* Whether @f is left to the one task that has it (fd_kind.open_by_owner). */
static bool by_owner(struct files_rst *rf, const struct rst_file *f)
{
	return f->inherit_fd < 0 && f->kind->open_by_owner && f->nr_tables == 1 && !f->fe->fown &&
	       !f->fe->n_locks && f->kind->open_by_owner(rf, f->fe);
}

static int post_open(struct files_rst *rf, struct rst_file *f)
{
	int err = f->kind->post_open ? f->kind->post_open(rf, f->fe, f->fd) : 0;

	if (!err)
		err = files_rst_set_flags(f);
	f->post_opened = true;
	return err;
}

int files_rst_open_by_owner(struct files_rst *rf, struct rst_file *f)
{
	int fd = f->kind->open(rf, f->fe), err;

	if (fd < 0)
		return fd;
	f->fd = fd;
	err = post_open(rf, f);
	if (err) {
		close(fd);
		f->fd = -1;
	}
	return err;
}

int files_open_all(struct files_rst *rf, int keep_from, bool by_tasks)
{
	size_t nr_by_owner = 0;
	bool again = true;
	int err = 0;

	rf->keep_from = keep_from;
	rf->at = xzalloc(sizeof(*rf->at) * (keep_from + 1));
	if (!rf->at)
		return -ENOMEM;
	/* Out of the way of the numbers the tasks place their files at: they read it too (by_owner). */
	if (rf->fdata_fd >= 0 && rf->fdata_fd < keep_from) {
		int fd = fcntl(rf->fdata_fd, F_DUPFD_CLOEXEC, keep_from);

		if (fd < 0)
			return pr_errno(-errno, "moving fdata.img's fd above %d", keep_from);
		close(rf->fdata_fd);
		rf->fdata_fd = fd;
	}
	for (size_t i = 0; i < rf->nr; i++)
		rf->f[i].by_owner = by_tasks && by_owner(rf, &rf->f[i]);
	for (size_t i = 0; i < rf->nr && !err; i++) {
		int fd = files_rst_in_task(&rf->f[i]) || rf->f[i].by_owner ? 0 : rst_open_idx(rf, i);

		err = fd < 0 ? fd : 0;
	}
	/* Again for what a post_open() made meanwhile (an epoll's target its task would have made). */
	while (again && !err) {
		again = false;
		for (size_t i = 0; i < rf->nr && !err; i++) {
			struct rst_file *f = &rf->f[i];

			/* An inherited file is the caller's as it is: flags, locks and all. */
			if (f->fd < 0 || f->post_opened || files_rst_in_task(f) || f->inherit_fd >= 0)
				continue;
			err = post_open(rf, f);
			if (!err)
				err = files_locks_restore(f);
			again = true;
		}
	}
	/* What a task makes after all (another entry needed it) is counted as cr's. */
	for (size_t i = 0; i < rf->nr; i++)
		nr_by_owner += rf->f[i].by_owner;
	if (!err)
		pr_info("%zu open files created, %zu more left to their tasks", rf->nr - nr_by_owner, nr_by_owner);
	return err;
}

static int cmp_owner(const void *a, const void *b)
{
	pid_t x = ((const struct rst_owner *)a)->pid, y = ((const struct rst_owner *)b)->pid;

	return (x > y) - (x < y);
}

int files_restore_owner_pidfds(struct files_rst *rf, const struct pstree *tree)
{
	size_t n = 0;

	for (size_t i = 0; i < rf->nr; i++)
		n += rf->f[i].by_owner && rf->f[i].kind->finish;
	if (!n)
		return 0;
	rf->owners = xmalloc(n * sizeof(*rf->owners));
	if (!rf->owners)
		return -ENOMEM;
	for (size_t i = 0; i < rf->nr; i++)
		if (rf->f[i].by_owner && rf->f[i].kind->finish)
			rf->owners[rf->nr_owners++] = (struct rst_owner){ rf->f[i].owner, -1 };
	qsort(rf->owners, rf->nr_owners, sizeof(*rf->owners), cmp_owner);
	n = 0;
	for (size_t i = 0; i < rf->nr_owners; i++)
		if (!n || rf->owners[n - 1].pid != rf->owners[i].pid)
			rf->owners[n++] = rf->owners[i];
	rf->nr_owners = n;
	for (size_t i = 0; i < rf->nr_owners; i++) {
		pid_t pid = pstree_new_pid(tree, rf->owners[i].pid);

		rf->owners[i].pidfd = syscall(SYS_pidfd_open, pid, 0);
		if (rf->owners[i].pidfd < 0)
			return pr_errno(-errno, "pid %d: pidfd_open, for the connections it made", pid);
	}
	return 0;
}

int files_rst_owner_copy(const struct files_rst *rf, const struct rst_file *f)
{
	struct rst_owner key = { .pid = f->owner };
	const struct rst_owner *o = bsearch(&key, rf->owners, rf->nr_owners, sizeof(key), cmp_owner);
	int fd = o ? task_fd_copy_pidfd(o->pidfd, f->want_fd, 0) : -ENOENT;

	if (fd < 0)
		return pr_errno(fd, "file id %u (%s): a copy of pid %d's fd %d, which made it", f->fe->id,
				f->kind->name, f->owner, f->want_fd);
	return fd;
}

void files_close_all(struct files_rst *rf)
{
	for (size_t i = 0; rf && i < rf->nr; i++) {
		if (rf->f[i].fd >= 0)
			close(rf->f[i].fd);
		rf->f[i].fd = -1;
	}
}
