/*
 * Kernel objects processes of the tree share as clone() made them share:
 * the fd table (CLONE_FILES) and the fs info, cwd, root and umask
 * (CLONE_FS). kcmp() orders tasks by the object they hold, so one sort
 * groups the sharers. A task that shares one with its parent is restored
 * as its parent's CLONE_FILES (CLONE_FS) child, so the sharers of one
 * object must form a subtree: its top, the owner, restores the object
 * and every other sharer's parent shares it too. Anything else is
 * refused: a sibling made with CLONE_PARENT, an orphan reparented to a
 * process that does not share it, the root sharing with its parent
 * outside the tree.
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

/* What is shared, as the refusals name it. */
struct share_kind {
	int type;			/* KCMP_* */
	const char *what, *flag;
};

static const struct share_kind share_files = { KCMP_FILES, "fd table", "CLONE_FILES" };
static const struct share_kind share_fs = { KCMP_FS, "fs info (cwd, root, umask)", "CLONE_FS" };

static bool *share_flag(struct pstree_task *k, const struct share_kind *sk)
{
	return sk->type == KCMP_FILES ? &k->shares_files : &k->shares_fs;
}

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

static bool same_pid(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

static bool same(const struct pstree *t, unsigned a, unsigned b, int type)
{
	return same_pid(t->tasks[a].pid, t->tasks[b].pid, type);
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

/* The root's parent is outside the tree: nothing restored can share with it. */
static int check_root(const struct pstree *t, const struct share_kind *sk)
{
	const struct pstree_task *root = &t->tasks[0];

	if (root->ppid > 0 && same_pid(root->pid, root->ppid, sk->type))
		return pr_errno(-EOPNOTSUPP, "pid %d shares its %s with its parent %d, which is not in the tree "
				"(clone with %s); not supported", root->pid, sk->what, root->ppid, sk->flag);
	return 0;
}

static int mark_shared(struct pstree *t, const struct share_kind *sk)
{
	_cleanup_free_ unsigned *idx = NULL;
	unsigned nr;
	int err = sorted_alive(t, sk->type, &idx, &nr);

	if (!err)
		err = check_root(t, sk);
	for (unsigned i = 0; !err && i < nr; i++) {
		struct pstree_task *k = &t->tasks[idx[i]];
		bool prev = i > 0 && same(t, idx[i - 1], idx[i], sk->type);
		bool next = i + 1 < nr && same(t, idx[i], idx[i + 1], sk->type);

		if (!prev && !next)
			continue;
		if (k->parent >= 0 && t->tasks[k->parent].kind == TASK_ALIVE && same(t, k->parent, idx[i], sk->type)) {
			*share_flag(k, sk) = true;
			pr_debug("pid %d shares its %s with its parent %d", k->pid, sk->what,
				 t->tasks[k->parent].pid);
		}
	}
	/* In each group all but one share with their parent: the one at the top made the others. */
	for (unsigned i = 0, top = 0; !err && i < nr; i++) {
		struct pstree_task *k = &t->tasks[idx[i]];
		bool group_start = i == 0 || !same(t, idx[i - 1], idx[i], sk->type);

		if (group_start)
			top = nr;	/* not found yet */
		if (*share_flag(k, sk))
			continue;
		if (top == nr)
			top = i;
		else
			err = pr_errno(-EOPNOTSUPP, "pid %d shares its %s with pid %d, which is not its parent "
				       "(clone with %s and CLONE_PARENT, or its parent is gone); not supported yet",
				       k->pid, sk->what, t->tasks[idx[top]].pid, sk->flag);
	}
	return err;
}

int pstree_dump_sharing(struct pstree *t)
{
	int err = mark_shared(t, &share_files);

	return err ? err : mark_shared(t, &share_fs);
}

unsigned pstree_files_owner(const struct pstree *t, unsigned idx)
{
	while (t->tasks[idx].shares_files)
		idx = t->tasks[idx].parent;
	return idx;
}

/* How many alive tasks share task @idx's fd table, the last of them in tree order into *ret_last. */
static unsigned files_sharers(const struct pstree *t, unsigned idx, unsigned *ret_last)
{
	unsigned owner = pstree_files_owner(t, idx), nr = 0;

	/* Parents come before their children: the sharers follow their owner. */
	for (unsigned i = owner; i < t->nr; i++)
		if (t->tasks[i].kind == TASK_ALIVE && pstree_files_owner(t, i) == owner) {
			nr++;
			*ret_last = i;
		}
	return nr;
}

bool pstree_files_shared(const struct pstree *t, unsigned idx)
{
	unsigned last;

	return files_sharers(t, idx, &last) > 1;
}

bool pstree_files_last_sharer(const struct pstree *t, unsigned idx)
{
	unsigned last;

	return files_sharers(t, idx, &last) > 1 && last == idx;
}
