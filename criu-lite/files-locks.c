/*
 * File locks: flock() and OFD locks belong to an open file description
 * and are kept in its files.img entry; POSIX locks belong to a task and
 * are kept in its fdinfo-PID.img, then taken by the restorer once cr's
 * copies of the files are closed (a close drops a task's POSIX locks).
 * Leases (F_SETLEASE) belong to the description too: cr takes them again
 * on its copy and each task once more at its own fd number (the number
 * the break signal's si_fd names). A lease being broken, a delegation,
 * mandatory locks and POSIX locks of a live process outside the tree
 * that shares the fd's table (CLONE_FILES) are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "cleanup.h"
#include "log.h"
#include "files-priv.h"
#include "pstree.h"
#include "restorer-abi.h"

/* ==== dump ============================================================== */

void files_lock_list_free(struct lock_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->nr = 0;
}

/* ---- locks: "lock:\t1: POSIX  ADVISORY  WRITE 1234 00:2a:5678 10 EOF" ---- */

/*
 * A lease line: "lock:\t1: LEASE  ACTIVE    READ 1234 00:2a:5678 0 EOF".
 * BREAKING is a lease an open of the file waits for (it then reads as the
 * type it breaks to): that opener, blocked in the original's kernel, is
 * not part of the image, and starting a new break at restore would signal
 * the holder a second time and give it a new break time; refused.
 */
static int lease_check(const struct fd_dump *d, const char *kind, const char *state)
{
	if (strcmp(kind, "LEASE"))
		return files_refuse(d, "a file with a delegation", kind);
	if (!strcmp(state, "BREAKING"))
		return files_refuse(d, "a file with a lease being broken",
				    "another open of the file waits for the lease holder to release it");
	if (strcmp(state, "ACTIVE"))
		return pr_errno(-EINVAL, "pid %d: fd %d (%s): lease in an unknown state %s",
				d->pid, d->fd, d->link, state);
	return 0;
}

/*
 * A POSIX lock belongs to an fd table, and its pid is the process that
 * took it: another pid is a process that shares the task's table
 * (clone(CLONE_FILES)) and took the lock, alive or gone since. A live
 * sharer of the tree has it in its own image (@ret_skip: not this
 * task's), and its restorer takes it again (pstree-share.c); one
 * outside the tree is refused. The lock of a gone one is the task's own
 * now: it comes back with the task's pid, which F_GETLK shows.
 */
static int foreign_posix_lock(const struct fd_dump *d, int pid, bool *ret_skip)
{
	*ret_skip = false;
	if (pid > 0 && syscall(SYS_kcmp, d->pid, pid, KCMP_FILES, 0, 0) == 0) {
		if (d->df && d->df->tree && pstree_find(d->df->tree, pid)) {
			*ret_skip = true;
			return 0;
		}
		return files_refuse(d, "a file with a POSIX lock of another process",
				    "that process shares the fd table (CLONE_FILES) and is not in the tree");
	}
	pr_warn("pid %d: fd %d (%s): a POSIX lock taken by pid %d, gone, which shared the fd table: "
		"restored as pid %d's (F_GETLK names that pid now)", d->pid, d->fd, d->link, pid, d->pid);
	return 0;
}

/*
 * Collects the locks in @d's fdinfo: flock, OFD locks and leases when
 * @posix is false, POSIX locks when it is true.
 */
static int parse_locks(const struct fd_dump *d, bool posix, struct lock_list *out)
{
	for (const char *line = d->fdinfo; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char kind[16], adv[16], type[16], end[32];
		long long start;
		int pid, n;
		FileLock *l, **v;
		LockKind k;

		if (strncmp(line, "lock:", 5))
			continue;
		n = sscanf(line, "lock:%*[ \t]%*d:%15s %15s %15s %d %*s %lld %31s",
			   kind, adv, type, &pid, &start, end);
		if (n != 6)
			return pr_errno(-EINVAL, "pid %d: fd %d: unexpected lock line in fdinfo: %.80s",
					d->pid, d->fd, line);
		if (!strcmp(kind, "POSIX"))
			k = LOCK_KIND__LOCK_POSIX;
		else if (!strcmp(kind, "FLOCK"))
			k = LOCK_KIND__LOCK_FLOCK;
		else if (!strcmp(kind, "OFDLCK"))
			k = LOCK_KIND__LOCK_OFD;
		else
			k = LOCK_KIND__LOCK_LEASE;
		if ((k == LOCK_KIND__LOCK_POSIX) != posix)
			continue;
		if (k == LOCK_KIND__LOCK_LEASE) {
			int err = lease_check(d, kind, adv);

			if (err)
				return err;
		} else if (strcmp(adv, "ADVISORY"))
			return files_refuse(d, "a file with a mandatory lock", NULL);
		if (k == LOCK_KIND__LOCK_POSIX && pid != d->pid) {
			bool skip;
			int err = foreign_posix_lock(d, pid, &skip);

			if (err)
				return err;
			if (skip)
				continue;
		}

		l = xmalloc(sizeof(*l));
		v = l ? xrealloc(out->v, (out->nr + 1) * sizeof(*v)) : NULL;
		if (!v) {
			free(l);
			return -ENOMEM;
		}
		out->v = v;
		file_lock__init(l);
		l->kind = k;
		l->type = !strcmp(type, "WRITE") ? F_WRLCK : F_RDLCK;
		l->start = k == LOCK_KIND__LOCK_LEASE ? 0 : start;
		l->len = k == LOCK_KIND__LOCK_LEASE || !strcmp(end, "EOF") ? 0 : strtoll(end, NULL, 10) - start + 1;
		out->v[out->nr++] = l;
	}
	return 0;
}

int files_locks_dump(const struct fd_dump *d, struct lock_list *out)
{
	return parse_locks(d, false, out);
}

/* The task's POSIX locks taken through description @id, unless an earlier fd of it had them. */
int files_posix_locks_dump(const struct fd_dump *d, uint32_t id, struct locked_files *seen,
			   struct lock_list *pl)
{
	uint32_t *n;
	int err;

	for (size_t i = 0; i < seen->nr; i++)
		if (seen->v[i] == id)
			return 0;
	err = parse_locks(d, true, pl);
	if (err || !pl->nr)
		return err;
	n = xrealloc(seen->v, (seen->nr + 1) * sizeof(*seen->v));
	if (!n)
		return -ENOMEM;
	seen->v = n;
	seen->v[seen->nr++] = id;
	return 0;
}

/* ==== restore =========================================================== */

static const char *lock_name(LockKind k)
{
	return k == LOCK_KIND__LOCK_FLOCK ? "flock" : k == LOCK_KIND__LOCK_OFD ? "OFD" : "lease";
}

/* flock() and OFD locks, and leases of a description. */
int files_locks_restore(const struct rst_file *f)
{
	for (size_t i = 0; i < f->fe->n_locks; i++) {
		const FileLock *l = f->fe->locks[i];
		struct flock fl = {
			.l_type = l->type, .l_whence = SEEK_SET, .l_start = l->start, .l_len = l->len,
		};
		int err = 0;

		if (l->type != F_RDLCK && l->type != F_WRLCK)
			return pr_errno(-EBADMSG, "file id %u: invalid lock type %u in the image",
					f->fe->id, l->type);
		if (l->kind == LOCK_KIND__LOCK_FLOCK)
			err = flock(f->fd, (l->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else if (l->kind == LOCK_KIND__LOCK_OFD)
			err = fcntl(f->fd, F_OFD_SETLK, &fl);
		else if (l->kind == LOCK_KIND__LOCK_LEASE)
			err = fcntl(f->fd, F_SETLEASE, l->type);
		else
			return pr_errno(-EBADMSG, "file id %u: a POSIX lock in a file's lock list",
					f->fe->id);
		if (err < 0)
			return pr_errno(-errno, "file id %u (%s): taking its %s lock again (does someone else hold it now?)",
					f->fe->id, f->kind->name, lock_name(l->kind));
	}
	return 0;
}

/*
 * F_SETLEASE wants the file's owner as fsuid or CAP_LEASE of the initial
 * user namespace: a task of a user namespace of its own, which has
 * neither yet, takes it as the owner (CAP_SETUID of its namespace).
 */
static int setlease_as_owner(int fd, unsigned type)
{
	struct stat st;
	int err, prev;

	if (!fcntl(fd, F_SETLEASE, type))
		return 0;
	if (errno != EACCES || fstat(fd, &st))
		return -errno;
	prev = setfsuid(st.st_uid);
	err = fcntl(fd, F_SETLEASE, type) ? -errno : 0;
	setfsuid(prev);
	return err;
}

int files_lease_at(const struct rst_file *f, int fd)
{
	for (size_t i = 0; i < f->fe->n_locks; i++) {
		const FileLock *l = f->fe->locks[i];
		int err;

		/*
		 * The same type again on the same description changes nothing
		 * but the fd its break signal names (and the owner, set after
		 * by files_restore_owners()).
		 */
		if (l->kind != LOCK_KIND__LOCK_LEASE)
			continue;
		err = setlease_as_owner(fd, l->type);
		if (err)
			return pr_errno(err, "fd %d: file id %u (%s): taking its lease at this number",
					fd, f->fe->id, f->kind->name);
	}
	return 0;
}

int files_plan_add_locks(struct files_plan *plan, const FdinfoEntry *fdi)
{
	struct restorer_lock *n = xrealloc(plan->locks,
					   (plan->nr_locks + fdi->n_posix_locks) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	plan->locks = n;
	for (size_t i = 0; i < fdi->n_posix_locks; i++) {
		const FileLock *l = fdi->posix_locks[i];

		if (l->kind != LOCK_KIND__LOCK_POSIX || (l->type != F_RDLCK && l->type != F_WRLCK))
			return pr_errno(-EBADMSG, "pid %d: fd %u: invalid POSIX lock in the image",
					plan->pid, fdi->fd);
		plan->locks[plan->nr_locks++] = (struct restorer_lock){
			.fd = fdi->fd, .type = l->type, .start = l->start, .len = l->len,
		};
	}
	return 0;
}

unsigned files_posix_locks(const struct files_plan *plan, const struct restorer_lock **ret)
{
	*ret = plan ? plan->locks : NULL;
	return plan ? plan->nr_locks : 0;
}
