/*
 * Kernel objects processes of the tree share as clone() made them share:
 * the fd table (CLONE_FILES) and the fs info, cwd, root and umask
 * (CLONE_FS). kcmp() orders tasks by the object they hold, so one sort
 * groups the sharers. A task that shares its fs info with its parent is
 * restored as its parent's CLONE_FS child; anything else is refused.
 */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "cr.h"
#include "log.h"
#include "pstree.h"

struct share_sort {
	const struct pstree *t;
	int type;
	int err;
};

/* kcmp's answer: 0 the same object, 1 less, 2 greater, 3 different but unordered. */
static int kcmp_cmp(const void *a, const void *b, void *arg)
{
	struct share_sort *s = arg;
	pid_t x = s->t->tasks[*(const unsigned *)a].pid, y = s->t->tasks[*(const unsigned *)b].pid;
	long r = syscall(SYS_kcmp, x, y, s->type, 0, 0);

	if (r < 0 && !s->err)
		s->err = pr_errno(-errno, "kcmp of pids %d and %d", x, y);
	return r == 1 ? -1 : r == 2 || r == 3 ? 1 : 0;
}

static bool same(const struct pstree *t, unsigned a, unsigned b, int type)
{
	return syscall(SYS_kcmp, t->tasks[a].pid, t->tasks[b].pid, type, 0, 0) == 0;
}

/*
 * The alive tasks sorted so that those sharing a @type object are next
 * to each other; *ret_nr of them.
 */
static int sorted_alive(const struct pstree *t, int type, unsigned **ret, unsigned *ret_nr)
{
	_cleanup_free_ unsigned *idx = xmalloc(sizeof(*idx) * (t->nr ? t->nr : 1));
	struct share_sort s = { .t = t, .type = type };
	unsigned nr = 0;

	if (!idx)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nr; i++)
		if (t->tasks[i].kind == TASK_ALIVE)
			idx[nr++] = i;
	qsort_r(idx, nr, sizeof(*idx), kcmp_cmp, &s);
	if (s.err)
		return s.err;
	*ret = TAKE_PTR(idx);
	*ret_nr = nr;
	return 0;
}

static int check_files(const struct pstree *t)
{
	_cleanup_free_ unsigned *idx = NULL;
	unsigned nr;
	int err = sorted_alive(t, KCMP_FILES, &idx, &nr);

	for (unsigned i = 1; !err && i < nr; i++)
		if (same(t, idx[i - 1], idx[i], KCMP_FILES))
			err = pr_errno(-EOPNOTSUPP, "pid %d shares its fd table with pid %d (clone with CLONE_FILES); "
				       "a shared fd table between processes is not supported yet",
				       t->tasks[idx[i]].pid, t->tasks[idx[i - 1]].pid);
	return err;
}

static int mark_fs(struct pstree *t)
{
	_cleanup_free_ unsigned *idx = NULL;
	unsigned nr;
	int err = sorted_alive(t, KCMP_FS, &idx, &nr);

	for (unsigned i = 0; !err && i < nr; i++) {
		struct pstree_task *k = &t->tasks[idx[i]];
		bool prev = i > 0 && same(t, idx[i - 1], idx[i], KCMP_FS);
		bool next = i + 1 < nr && same(t, idx[i], idx[i + 1], KCMP_FS);

		if (!prev && !next)
			continue;
		if (k->parent >= 0 && t->tasks[k->parent].kind == TASK_ALIVE && same(t, k->parent, idx[i], KCMP_FS)) {
			k->shares_fs = true;
			pr_debug("pid %d shares its fs info (cwd, root, umask) with its parent %d", k->pid,
				 t->tasks[k->parent].pid);
		}
	}
	/* In each group all but one share with their parent: the one at the top made the others. */
	for (unsigned i = 0, top = 0; !err && i < nr; i++) {
		if (i == 0 || !same(t, idx[i - 1], idx[i], KCMP_FS))
			top = 0;
		if (!t->tasks[idx[i]].shares_fs && top++)
			err = pr_errno(-EOPNOTSUPP, "pid %d shares its fs info (cwd, root, umask) with another "
				       "process than its parent (clone with CLONE_FS); not supported yet",
				       t->tasks[idx[i]].pid);
	}
	return err;
}

int pstree_dump_sharing(struct pstree *t)
{
	int err = check_files(t);

	return err ? err : mark_fs(t);
}
